use std::fmt;

/// Names that would collide with our own hosts or pages, or mislead visitors, as a CV subdomain.
/// The one list every check uses.
const RESERVED: &[&str] = &[
    "abuse",
    "account",
    "accounts",
    "admin",
    "administrator",
    "api",
    "app",
    "assets",
    "auth",
    "billing",
    "blog",
    "cdn",
    "dashboard",
    "dev",
    "docs",
    "email",
    "ftp",
    "help",
    "hostmaster",
    "imap",
    "info",
    "login",
    "logout",
    "mail",
    "news",
    "noreply",
    "no-reply",
    "ns1",
    "ns2",
    "postmaster",
    "root",
    "security",
    "settings",
    "signup",
    "smtp",
    "staging",
    "static",
    "status",
    "support",
    "system",
    "test",
    "txtcv",
    "webmaster",
    "www",
];

/// An account name. It becomes a DNS label (`<username>.<base domain>`), so it is 3–30 characters
/// of `a-z`, `0-9` and `-`, with no leading, trailing or doubled hyphen, case-folded, and not
/// reserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("Usernames are 3 to 30 characters long.")]
    Length,
    #[error("Usernames may contain only letters a–z, digits and hyphens.")]
    Characters,
    #[error("Usernames cannot start or end with a hyphen, or contain two in a row.")]
    Hyphens,
    #[error("That username is reserved. Please choose another.")]
    Reserved,
}

impl Username {
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let name = input.trim().to_lowercase();
        if !(3..=30).contains(&name.chars().count()) {
            return Err(UsernameError::Length);
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(UsernameError::Characters);
        }
        if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
            return Err(UsernameError::Hyphens);
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(UsernameError::Reserved);
        }
        Ok(Self(name))
    }

    /// A GitHub login fitted to these rules, to propose at a first sign-in with GitHub: folded
    /// to lowercase, other characters made hyphens, at most 30 characters. It may still be
    /// taken, reserved or too short; the person can change it.
    pub fn fitted(login: &str) -> String {
        let mut fitted = String::new();
        for c in login.trim().to_lowercase().chars() {
            let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            };
            if !(c == '-' && (fitted.is_empty() || fitted.ends_with('-'))) {
                fitted.push(c);
            }
        }
        fitted.truncate(30);
        fitted.trim_end_matches('-').to_owned()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_logins_are_fitted_to_the_rules() {
        assert_eq!(Username::fitted("Octo-Cat"), "octo-cat");
        assert_eq!(Username::fitted("ada_lovelace--1815"), "ada-lovelace-1815");
        assert_eq!(Username::fitted("-x-"), "x");
        assert_eq!(Username::fitted(&"a".repeat(39)), "a".repeat(30));
        assert_eq!(
            Username::fitted(&format!("{}-b", "a".repeat(29))),
            "a".repeat(29)
        );
        assert!(Username::parse(&Username::fitted("Zoë.Dev")).is_ok());
    }

    #[test]
    fn accepts_and_case_folds_a_good_name() {
        assert_eq!(
            Username::parse("  Ada-Lovelace42 ").unwrap().as_str(),
            "ada-lovelace42"
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_dns_label() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(31)), Err(UsernameError::Length));
        assert_eq!(Username::parse("ada_l"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("adé"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("-ada"), Err(UsernameError::Hyphens));
        assert_eq!(Username::parse("ada-"), Err(UsernameError::Hyphens));
        assert_eq!(Username::parse("a--da"), Err(UsernameError::Hyphens));
    }

    #[test]
    fn refuses_reserved_names_in_any_case() {
        assert_eq!(Username::parse("WWW"), Err(UsernameError::Reserved));
        assert_eq!(Username::parse("admin"), Err(UsernameError::Reserved));
    }
}
