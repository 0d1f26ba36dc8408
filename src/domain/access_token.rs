//! Personal access tokens: the secret a user hands to curl, CI or the txtcv CLI, and what it may
//! do.

use std::fmt;

use super::secret;

/// The prefix every secret starts with, so secret scanners (and people) recognise a leaked one.
pub const SECRET_PREFIX: &str = "txtcv_pat_";

/// A token's secret, as shown to its owner once. Its `Debug` hides it, so it cannot reach a log by
/// accident.
pub struct TokenSecret(String);

impl TokenSecret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Self {
        Self(format!("{SECRET_PREFIX}{}", secret::random_hex()))
    }

    /// A secret as a client sent it; only its shape is checked here, the database decides
    /// whether it is one of ours.
    pub fn parse(input: &str) -> Option<Self> {
        let hex = input.strip_prefix(SECRET_PREFIX)?;
        secret::is_random_hex(hex).then(|| Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps (see [`secret::hash`]).
    pub fn hash(&self) -> Vec<u8> {
        secret::hash(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

/// What a token may do: `read` looks, `write` also changes CVs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl TryFrom<String> for TokenScope {
    type Error = super::UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| super::UnknownValue::new("token scope", value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_256_bit_and_distinct() {
        let one = TokenSecret::generate();
        let two = TokenSecret::generate();
        assert!(one.expose().starts_with("txtcv_pat_"));
        assert_eq!(one.expose().len(), SECRET_PREFIX.len() + 64);
        assert_ne!(one.expose(), two.expose());
        assert!(TokenSecret::parse(one.expose()).is_some());
        assert_eq!(format!("{one:?}"), "TokenSecret(…)");
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for input in [
            "",
            "txtcv_pat_",
            "txtcv_pat_xyz",
            "ghp_0123",
            &"a".repeat(74),
        ] {
            assert!(TokenSecret::parse(input).is_none(), "{input}");
        }
    }
}
