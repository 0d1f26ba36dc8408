//! Random secrets we hand out once and keep only as hashes: access tokens and mailed links.

use std::fmt;

use sha2::{Digest, Sha256};

/// Random bytes in a secret: 256 bits, far beyond guessing.
pub const SECRET_BYTES: usize = 32;

/// `SECRET_BYTES` from the operating system's random source, as lowercase hex.
pub fn random_hex() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hex` has the shape [`random_hex`] gives.
pub fn is_random_hex(hex: &str) -> bool {
    hex.len() == SECRET_BYTES * 2 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the database keeps of a secret. SHA-256 suffices for 256 random bits: there is nothing
/// to brute-force, and a fast hash lets a request find its row by an index lookup.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The secret of a link we mail (confirm an address, reset a password). Its `Debug` hides it.
#[derive(Clone)]
pub struct LinkSecret(String);

impl LinkSecret {
    pub fn generate() -> Self {
        Self(random_hex())
    }

    /// A secret as it came back in a link; the database decides whether it is one of ours.
    pub fn parse(input: &str) -> Option<Self> {
        is_random_hex(input).then(|| Self(input.to_ascii_lowercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> Vec<u8> {
        hash(&self.0)
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_secrets_are_256_random_bits_and_parse_back() {
        let secret = LinkSecret::generate();
        assert_eq!(secret.expose().len(), 64);
        assert_ne!(secret.expose(), LinkSecret::generate().expose());
        let parsed = LinkSecret::parse(secret.expose()).unwrap();
        assert_eq!(parsed.hash(), secret.hash());
        assert!(LinkSecret::parse("abc").is_none());
        assert!(LinkSecret::parse(&"g".repeat(64)).is_none());
        assert_eq!(format!("{secret:?}"), "LinkSecret(…)");
    }
}
