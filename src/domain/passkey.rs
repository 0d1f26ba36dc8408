//! What a person calls one of their passkeys.

use std::fmt;

use super::text::{ControlCharacter, Lines, refuse_control_characters};

/// A passkey's name ("MacBook", "YubiKey 5"): one line of 1–60 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyNameError {
    #[error("Name the passkey in 1 to 60 characters, e.g. “MacBook” or “YubiKey”.")]
    Length,
    #[error(transparent)]
    ControlCharacter(#[from] ControlCharacter),
}

impl PasskeyName {
    pub fn parse(input: &str) -> Result<Self, PasskeyNameError> {
        let name = input.trim();
        refuse_control_characters(name, Lines::One)?;
        if (1..=60).contains(&name.chars().count()) {
            Ok(Self(name.to_owned()))
        } else {
            Err(PasskeyNameError::Length)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PasskeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(
            PasskeyName::parse("  MacBook ").unwrap().as_str(),
            "MacBook"
        );
        assert!(PasskeyName::parse(" ").is_err());
        assert!(PasskeyName::parse(&"x".repeat(61)).is_err());
        assert!(PasskeyName::parse("two\nlines").is_err());
    }
}
