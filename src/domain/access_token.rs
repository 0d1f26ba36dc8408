//! Personal access tokens: the secret a user hands to curl, CI or the txtcv CLI, and what it may
//! do.

use std::fmt;

use sha2::{Digest, Sha256};

/// The prefix every secret starts with, so secret scanners (and people) recognise a leaked one.
pub const SECRET_PREFIX: &str = "txtcv_pat_";

/// Random bytes in a secret: 256 bits, far beyond guessing.
const SECRET_BYTES: usize = 32;

/// A token's secret, as shown to its owner once. Its `Debug` hides it, so it cannot reach a log by
/// accident.
pub struct TokenSecret(String);

impl TokenSecret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("{SECRET_PREFIX}{hex}"))
    }

    /// A secret as a client sent it; only its shape is checked here, the database decides
    /// whether it is one of ours.
    pub fn parse(input: &str) -> Option<Self> {
        let hex = input.strip_prefix(SECRET_PREFIX)?;
        (hex.len() == SECRET_BYTES * 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps. SHA-256 suffices for a 256-bit random secret: there is nothing to
    /// brute-force, and a fast hash lets each request find its token by an index lookup.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
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
