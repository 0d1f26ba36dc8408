//! The words of moderation: why an admin acted, what a visitor reports, and how a report ends.

use std::fmt;

use super::text::{ControlCharacter, Lines, refuse_control_characters};

/// Free text a person wrote for the record: trimmed, not empty, at most `MAX_TEXT` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

pub const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("Please say why; this field cannot be empty.")]
    Empty,
    #[error("Please keep it under {MAX_TEXT} characters.")]
    TooLong,
    #[error(transparent)]
    ControlCharacter(#[from] ControlCharacter),
}

impl Text {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let text = input.trim();
        refuse_control_characters(text, Lines::Many)?;
        if text.is_empty() {
            Err(TextError::Empty)
        } else if text.chars().count() > MAX_TEXT {
            Err(TextError::TooLong)
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// An optional note: empty input is no note, anything else must be valid text.
    pub fn parse_optional(input: &str) -> Result<Option<Self>, TextError> {
        match Self::parse(input) {
            Err(TextError::Empty) => Ok(None),
            other => other.map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a visitor says is wrong with a public CV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportCategory {
    Spam,
    Impersonation,
    Harassment,
    Illegal,
    Other,
}

impl ReportCategory {
    pub const ALL: [Self; 5] = [
        Self::Spam,
        Self::Impersonation,
        Self::Harassment,
        Self::Illegal,
        Self::Other,
    ];

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Impersonation => "impersonation",
            Self::Harassment => "harassment",
            Self::Illegal => "illegal",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Spam => "Spam or advertising",
            Self::Impersonation => "Pretends to be someone else",
            Self::Harassment => "Harassment or hate",
            Self::Illegal => "Illegal content",
            Self::Other => "Something else",
        }
    }
}

/// How an admin answers a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Nothing wrong: the report is closed, the account untouched.
    Dismiss,
    Unpublish,
    Suspend,
}

impl Resolution {
    pub fn parse(input: &str) -> Option<Self> {
        [Self::Dismiss, Self::Unpublish, Self::Suspend]
            .into_iter()
            .find(|r| r.as_str() == input)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dismiss => "dismiss",
            Self::Unpublish => "unpublish",
            Self::Suspend => "suspend",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(Text::parse("  spam  ").unwrap().as_str(), "spam");
        assert_eq!(Text::parse(" \n "), Err(TextError::Empty));
        assert_eq!(
            Text::parse(&"x".repeat(MAX_TEXT + 1)),
            Err(TextError::TooLong)
        );
        assert_eq!(Text::parse_optional(""), Ok(None));
    }

    #[test]
    fn categories_and_resolutions_read_back_what_they_write() {
        for category in ReportCategory::ALL {
            assert_eq!(ReportCategory::parse(category.as_str()), Some(category));
        }
        assert_eq!(ReportCategory::parse("nonsense"), None);
        assert_eq!(Resolution::parse("suspend"), Some(Resolution::Suspend));
        assert_eq!(Resolution::parse("delete"), None);
    }
}
