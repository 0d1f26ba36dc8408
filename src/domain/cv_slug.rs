use std::fmt;

use super::text::{ControlCharacter, Lines, refuse_control_characters};

/// Path segments the CV host serves itself or keeps for later: no CV may take them.
pub const RESERVED: &[&str] = &[
    "api",
    "contact.vcf",
    "healthz",
    "readyz",
    "resume.json",
    "s",
    "static",
];

/// The part of a CV's public address after the owner's host: `ada.txtcv.dev/<slug>`. 1–40
/// characters of `a-z`, `0-9` and `-`, unique per account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvSlugError {
    #[error("A slug is 1 to 40 characters long.")]
    Length,
    #[error("A slug may contain only lowercase letters a–z, digits and hyphens.")]
    Characters,
    #[error("That slug is reserved. Please choose another.")]
    Reserved,
}

impl CvSlug {
    pub fn parse(input: &str) -> Result<Self, CvSlugError> {
        let slug = input.trim();
        if !(1..=40).contains(&slug.chars().count()) {
            return Err(CvSlugError::Length);
        }
        if !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(CvSlugError::Characters);
        }
        if RESERVED.contains(&slug) {
            return Err(CvSlugError::Reserved);
        }
        Ok(Self(slug.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CvSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CV's title: what its owner calls it in lists. 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvTitle(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvTitleError {
    #[error("A title is 1 to 100 characters long.")]
    Length,
    #[error(transparent)]
    ControlCharacter(#[from] ControlCharacter),
}

impl CvTitle {
    pub fn parse(input: &str) -> Result<Self, CvTitleError> {
        let title = input.trim();
        refuse_control_characters(title, Lines::One)?;
        if (1..=100).contains(&title.chars().count()) {
            Ok(Self(title.to_owned()))
        } else {
            Err(CvTitleError::Length)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_slugs_pass() {
        for slug in ["a", "research", "cv-de-2026", &"x".repeat(40)] {
            assert_eq!(CvSlug::parse(slug).unwrap().as_str(), slug);
        }
    }

    #[test]
    fn bad_slugs_say_why() {
        assert_eq!(CvSlug::parse(""), Err(CvSlugError::Length));
        assert_eq!(CvSlug::parse(&"x".repeat(41)), Err(CvSlugError::Length));
        assert_eq!(CvSlug::parse("Research"), Err(CvSlugError::Characters));
        assert_eq!(CvSlug::parse("a/b"), Err(CvSlugError::Characters));
        assert_eq!(CvSlug::parse("static"), Err(CvSlugError::Reserved));
        assert_eq!(CvSlug::parse("resume.json"), Err(CvSlugError::Characters));
        assert_eq!(CvSlug::parse("api"), Err(CvSlugError::Reserved));
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(CvTitle::parse("  Research ").unwrap().as_str(), "Research");
        assert!(CvTitle::parse("   ").is_err());
        assert!(CvTitle::parse(&"x".repeat(101)).is_err());
    }
}
