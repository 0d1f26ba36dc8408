//! A cover letter's lifecycle and the details a user gives for one.

use super::{
    account::UnknownValue,
    text::{Lines, refuse_control_characters},
};

/// Where a letter is in its life: `Pending → Running → Successful | Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverLetterStatus {
    Pending,
    Running,
    Successful,
    Failed,
}

impl CoverLetterStatus {
    /// Whether the letter will change no more (until the owner asks for a retry). Pages poll
    /// only while this is false.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Successful | Self::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Successful => "successful",
            Self::Failed => "failed",
        }
    }

    /// What the page calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting",
            Self::Running => "Writing",
            Self::Successful => "Ready",
            Self::Failed => "Failed",
        }
    }
}

impl TryFrom<String> for CoverLetterStatus {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        [Self::Pending, Self::Running, Self::Successful, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| UnknownValue::new("cover letter status", value))
    }
}

pub const MAX_JOB_DESCRIPTION_CHARS: usize = 20_000;
const MAX_NAME_CHARS: usize = 200;

/// What a letter is for: the job description (required) and, optionally, the company and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterDetails {
    pub job_description: String,
    pub company: Option<String>,
    pub job_title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LetterDetailsErrors {
    pub job_description: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
}

impl LetterDetails {
    pub fn parse(
        job_description: &str,
        company: &str,
        job_title: &str,
    ) -> Result<Self, LetterDetailsErrors> {
        let description = job_description.trim();
        let mut errors = LetterDetailsErrors::default();
        if let Err(error) = refuse_control_characters(description, Lines::Many) {
            errors.job_description = Some(error.to_string());
        } else if description.is_empty() {
            errors.job_description =
                Some("Paste the job description, so the letter can answer it.".into());
        } else if description.chars().count() > MAX_JOB_DESCRIPTION_CHARS {
            errors.job_description = Some(format!(
                "Job descriptions can be at most {MAX_JOB_DESCRIPTION_CHARS} characters; please shorten it."
            ));
        }
        let optional = |value: &str, error: &mut Option<String>| {
            let value = value.trim();
            if let Err(control) = refuse_control_characters(value, Lines::One) {
                *error = Some(control.to_string());
            } else if value.chars().count() > MAX_NAME_CHARS {
                *error = Some(format!("At most {MAX_NAME_CHARS} characters."));
            }
            (!value.is_empty()).then(|| value.to_owned())
        };
        let company = optional(company, &mut errors.company);
        let job_title = optional(job_title, &mut errors.job_title);
        if errors != LetterDetailsErrors::default() {
            return Err(errors);
        }
        Ok(Self {
            job_description: description.to_owned(),
            company,
            job_title,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_successful_and_failed_are_final() {
        assert!(!CoverLetterStatus::Pending.is_final());
        assert!(!CoverLetterStatus::Running.is_final());
        assert!(CoverLetterStatus::Successful.is_final());
        assert!(CoverLetterStatus::Failed.is_final());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for name in ["pending", "running", "successful", "failed"] {
            assert_eq!(
                CoverLetterStatus::try_from(name.to_owned())
                    .unwrap()
                    .as_str(),
                name
            );
        }
        assert!(CoverLetterStatus::try_from("done".to_owned()).is_err());
    }

    #[test]
    fn details_are_trimmed_and_blanks_become_none() {
        let details = LetterDetails::parse("  Rust engineer wanted ", " ", " Acme ").unwrap();
        assert_eq!(details.job_description, "Rust engineer wanted");
        assert_eq!(details.company, None);
        assert_eq!(details.job_title.as_deref(), Some("Acme"));
    }

    #[test]
    fn a_missing_or_huge_description_is_refused() {
        assert!(
            LetterDetails::parse("   ", "", "")
                .unwrap_err()
                .job_description
                .is_some()
        );
        let huge = "x".repeat(MAX_JOB_DESCRIPTION_CHARS + 1);
        assert!(
            LetterDetails::parse(&huge, "", "")
                .unwrap_err()
                .job_description
                .is_some()
        );
    }
}
