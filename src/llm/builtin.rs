//! An offline writer: a plain, honest letter assembled from what the CV says. It invents nothing:
//! every claim comes from the CV, and skills are mentioned only when the job description names
//! them too.

use std::{collections::BTreeSet, time::Duration};

use async_trait::async_trait;
use serde_json::Value;

use super::{LetterRequest, LetterWriter, WriteError};

pub struct BuiltinWriter {
    /// A pause before answering, so people can watch a letter's status change.
    delay: Duration,
}

impl BuiltinWriter {
    pub fn new(delay_ms: u64) -> Self {
        Self {
            delay: Duration::from_millis(delay_ms),
        }
    }
}

#[async_trait]
impl LetterWriter for BuiltinWriter {
    fn provider(&self) -> &'static str {
        "builtin"
    }

    fn model(&self) -> &str {
        "txtcv-template-1"
    }

    async fn write(&self, request: &LetterRequest) -> Result<String, WriteError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(compose(request))
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn compose(request: &LetterRequest) -> String {
    let cv = &request.cv;
    let name = text(cv, "/basics/name");
    let role = request.job_title.as_deref().unwrap_or("this role");
    let company = request.company.as_deref();
    let mut paragraphs = vec![match company {
        Some(company) => format!("Dear {company} hiring team,"),
        None => "Dear hiring team,".to_owned(),
    }];

    let mut opening = match company {
        Some(company) => format!("I am writing to apply for {role} at {company}."),
        None => format!("I am writing to apply for {role}."),
    };
    if let Some(label) = text(cv, "/basics/label") {
        opening.push_str(&format!(" I work as {}.", with_article(label)));
    }
    paragraphs.push(opening);

    let roles = recent_roles(cv);
    if !roles.is_empty() {
        paragraphs.push(format!("Most recently, {}.", join_words(&roles)));
    }

    let matching = matching_skills(cv, &request.job_description);
    if !matching.is_empty() {
        paragraphs.push(format!(
            "Your description asks for {}, which {} part of my everyday work.",
            join_words(&matching),
            if matching.len() == 1 { "is" } else { "are" }
        ));
    }

    if let Some(highlight) = text(cv, "/work/0/highlights/0") {
        paragraphs.push(format!("One thing I am proud of: {}", sentence(highlight)));
    }

    paragraphs.push(
        "I would welcome the chance to talk about how I can help your team. Thank you for your time \
         and consideration."
            .to_owned(),
    );
    paragraphs.push(match name {
        Some(name) => format!("Kind regards,\n{name}"),
        None => "Kind regards".to_owned(),
    });
    paragraphs.join("\n\n")
}

/// "I have been a Senior Engineer at Acme since 2021-03" style phrases for the two latest roles.
fn recent_roles(cv: &Value) -> Vec<String> {
    let Some(work) = cv.get("work").and_then(Value::as_array) else {
        return Vec::new();
    };
    work.iter()
        .take(2)
        .enumerate()
        .filter_map(|(index, job)| {
            let position = text(job, "/position");
            let company = text(job, "/name");
            let current = index == 0 && text(job, "/endDate").is_none();
            let verb = if current { "I work" } else { "I worked" };
            match (position, company) {
                (Some(p), Some(c)) => Some(format!("{verb} as {} at {c}", with_article(p))),
                (Some(p), None) => Some(format!("{verb} as {}", with_article(p))),
                (None, Some(c)) => Some(format!("{verb} at {c}")),
                (None, None) => None,
            }
        })
        .collect()
}

/// The CV's skills (names and keywords) that the job description mentions, in CV order.
fn matching_skills(cv: &Value, job_description: &str) -> Vec<String> {
    let wanted: BTreeSet<String> = words(job_description).collect();
    let mut seen = BTreeSet::new();
    let skills = cv
        .get("skills")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    skills
        .flat_map(|skill| {
            let name = skill.get("name").into_iter();
            let keywords = skill
                .get("keywords")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            name.chain(keywords).filter_map(Value::as_str)
        })
        .filter(|skill| {
            let mut skill_words = words(skill).peekable();
            skill_words.peek().is_some() && skill_words.all(|w| wanted.contains(&w))
        })
        .filter(|skill| seen.insert(skill.to_lowercase()))
        .take(5)
        .map(str::to_owned)
        .collect()
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '+' || c == '#'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn with_article(noun: &str) -> String {
    let vowel = noun
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(job_description: &str) -> LetterRequest {
        LetterRequest {
            cv: json!({
                "basics": {"name": "Ada Lovelace", "label": "Engineer"},
                "work": [
                    {"name": "Analytical Engines", "position": "Lead Engineer", "startDate": "2021",
                     "highlights": ["Wrote the first published algorithm"]},
                    {"name": "Babbage & Co", "position": "Engineer", "endDate": "2020"}
                ],
                "skills": [{"name": "Rust", "keywords": ["PostgreSQL", "Distributed systems"]},
                           {"name": "COBOL"}]
            }),
            job_description: job_description.to_owned(),
            company: Some("Acme".into()),
            job_title: Some("Senior Rust Developer".into()),
        }
    }

    #[test]
    fn the_letter_is_grounded_in_the_cv_and_the_job() {
        let letter = compose(&request(
            "We use Rust and PostgreSQL for distributed systems.",
        ));
        assert!(letter.starts_with("Dear Acme hiring team,"));
        assert!(letter.contains("apply for Senior Rust Developer at Acme"));
        assert!(letter.contains("I work as a Lead Engineer at Analytical Engines"));
        assert!(letter.contains("I worked as an Engineer at Babbage & Co"));
        assert!(letter.contains("Rust, PostgreSQL and Distributed systems"));
        assert!(letter.contains("Wrote the first published algorithm."));
        assert!(letter.ends_with("Kind regards,\nAda Lovelace"));
    }

    #[test]
    fn skills_the_job_does_not_ask_for_are_not_claimed() {
        let letter = compose(&request("We need COBOL."));
        assert!(letter.contains("asks for COBOL, which is"));
        assert!(!letter.contains("Rust,"));
    }

    #[test]
    fn an_empty_cv_still_gives_a_polite_letter_without_invented_facts() {
        let mut bare = request("Anything");
        bare.cv = json!({});
        bare.company = None;
        let letter = compose(&bare);
        assert!(letter.starts_with("Dear hiring team,"));
        assert!(!letter.contains("Most recently"));
        assert!(letter.ends_with("Kind regards"));
    }
}
