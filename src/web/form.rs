//! Small helpers for forms and the addresses they carry.

/// Percent-encodes `value` for a query string, leaving `/` readable (`?next=/dashboard`).
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `next` if it is a path on this site, so a login link cannot send people elsewhere
/// (`//evil.example` and `/\evil.example` are other sites to a browser).
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_safe_characters() {
        assert_eq!(
            url_encode("/cover-letters?id=1&x=a b"),
            "/cover-letters%3Fid%3D1%26x%3Da%20b"
        );
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/dashboard?x=1"), Some("/dashboard?x=1"));
        for outside in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "dashboard",
            "/a\nb",
        ] {
            assert_eq!(local_path(outside), None, "{outside:?}");
        }
    }
}
