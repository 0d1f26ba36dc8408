use axum::{extract::Request, http::header};

/// The CV a request is for, if its host is `<label>.<base domain>`: the label, as typed. Every
/// other host is the app itself.
pub fn cv_label(request: &Request, base_domain: &str) -> Option<String> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    label_of(host, base_domain)
}

fn label_of(host: &str, base_domain: &str) -> Option<String> {
    let host = host
        .rsplit_once(':')
        .map_or(host, |(name, _port)| name)
        .to_ascii_lowercase();
    let label = host.strip_suffix(base_domain)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then(|| label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_label_below_the_base_domain_is_a_cv() {
        assert_eq!(
            label_of("alice.txtcv.dev", "txtcv.dev"),
            Some("alice".into())
        );
        assert_eq!(
            label_of("Alice.TXTCV.dev:8080", "txtcv.dev"),
            Some("alice".into())
        );
    }

    #[test]
    fn everything_else_is_the_app() {
        for host in [
            "txtcv.dev",
            "txtcv.dev:443",
            "a.b.txtcv.dev",
            "eviltxtcv.dev",
            "127.0.0.1:8080",
            "",
        ] {
            assert_eq!(label_of(host, "txtcv.dev"), None, "{host}");
        }
    }
}
