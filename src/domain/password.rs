use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Passwords people pick most often; refused whatever their length. Shipped with the code.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 256;

/// A password someone chose for their account: long enough, not absurdly long, not a common one.
/// Its `Debug` hides it, so it cannot end up in a log.
#[derive(Clone)]
pub struct NewPassword(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Passwords need at least {MIN_CHARS} characters.")]
    TooShort,
    #[error("Passwords can have at most {MAX_CHARS} characters.")]
    TooLong,
    #[error(
        "That password is one of the most common ones, and would be guessed quickly. Please choose another."
    )]
    Common,
}

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let lowered = input.to_lowercase();
        if COMMON_PASSWORDS.lines().any(|common| common == lowered) {
            return Err(PasswordError::Common);
        }
        Ok(Self(SecretString::from(input)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_long_uncommon_password() {
        assert!(NewPassword::parse("correct horse battery staple").is_ok());
    }

    #[test]
    fn refuses_short_long_and_common_passwords() {
        assert_eq!(
            NewPassword::parse("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(257)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            NewPassword::parse("Password123").unwrap_err(),
            PasswordError::Common
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = NewPassword::parse("correct horse battery staple").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
