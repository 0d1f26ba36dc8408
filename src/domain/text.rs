//! The rule every piece of text a person sends obeys before anything keeps it: no control
//! characters, except a tab, and line breaks in fields that have lines. PostgreSQL cannot store
//! a NUL in `text` at all, and the other control characters only garble pages, logs and mails,
//! so every domain type that carries free text checks this first, and nothing that slipped past
//! a form reaches the database.

use std::fmt;

/// Whether a field holds one line (a title, a name) or many (a description, a note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The first character `input` may not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlCharacter {
    found: char,
    lines: Lines,
}

impl std::error::Error for ControlCharacter {}

impl fmt::Display for ControlCharacter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = u32::from(self.found);
        match (self.found, self.lines) {
            ('\n' | '\r', Lines::One) => f.write_str("Please keep this to one line."),
            _ => write!(
                f,
                "This contains an invisible control character (U+{code:04X}); please remove it."
            ),
        }
    }
}

/// Checks `input` against the rule, for a field of `lines`.
pub fn refuse_control_characters(input: &str, lines: Lines) -> Result<(), ControlCharacter> {
    let allowed = |c: char| match c {
        '\t' => true,
        '\n' | '\r' => lines == Lines::Many,
        c => !c.is_control(),
    };
    match input.chars().find(|&c| !allowed(c)) {
        Some(found) => Err(ControlCharacter { found, lines }),
        None => Ok(()),
    }
}

/// One line of 1 to `MAX` characters after trimming, without control characters: what a
/// person calls something (a passkey, a private link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<const MAX: usize>(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("Please use 1 to {0} characters.")]
    Length(usize),
    #[error(transparent)]
    ControlCharacter(#[from] ControlCharacter),
}

impl<const MAX: usize> Line<MAX> {
    pub fn parse(input: &str) -> Result<Self, LineError> {
        let line = input.trim();
        refuse_control_characters(line, Lines::One)?;
        if (1..=MAX).contains(&line.chars().count()) {
            Ok(Self(line.to_owned()))
        } else {
            Err(LineError::Length(MAX))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Display for Line<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_trimmed_short_and_single() {
        assert_eq!(Line::<10>::parse("  MacBook ").unwrap().as_str(), "MacBook");
        assert_eq!(Line::<10>::parse(" ").unwrap_err(), LineError::Length(10));
        assert!(Line::<10>::parse(&"x".repeat(11)).is_err());
        assert!(Line::<10>::parse("two\nlines").is_err());
    }

    #[test]
    fn ordinary_text_passes() {
        for text in [
            "Ada Lovelace",
            "tab\tseparated",
            "Zoë – “quoted” 日本語 🚀",
            "",
        ] {
            assert_eq!(refuse_control_characters(text, Lines::One), Ok(()));
        }
        assert_eq!(
            refuse_control_characters("two\nlines\r\n", Lines::Many),
            Ok(())
        );
    }

    #[test]
    fn control_characters_are_named() {
        for (text, code) in [
            ("a\0b", "U+0000"),
            ("\u{1b}[31m", "U+001B"),
            ("\u{7f}", "U+007F"),
            ("\u{85}", "U+0085"),
        ] {
            let error = refuse_control_characters(text, Lines::Many).unwrap_err();
            assert!(error.to_string().contains(code), "{text:?}: {error}");
        }
    }

    #[test]
    fn line_breaks_belong_only_to_fields_with_lines() {
        for text in ["one\ntwo", "one\rtwo"] {
            let error = refuse_control_characters(text, Lines::One).unwrap_err();
            assert_eq!(error.to_string(), "Please keep this to one line.");
        }
    }
}
