//! A CV as its owner writes it: a JSON Resume document that parsed, passed the official schema
//! and our own rules, kept as the pretty-printed text we store and show.

use std::{fmt, sync::LazyLock};

use jsonschema::{
    JsonType, ValidationError, Validator,
    error::{TypeKind, ValidationErrorKind},
};
use serde_json::Value;

use super::rules;

/// The JSON Resume schema 1.3.1 (draft-07), as published by @jsonresume/schema.
pub(super) const SCHEMA: &str = include_str!("schema.json");

/// Compiled once: compiling takes far longer than validating a CV.
static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the shipped schema is JSON");
    jsonschema::draft7::new(&schema).expect("the shipped schema compiles")
});

/// The message for a date in the wrong shape, from the schema and from our own rules alike, so
/// one mistake is reported once.
pub(super) const DATE_SHAPE: &str = "Dates are written as YYYY, YYYY-MM or YYYY-MM-DD.";

/// A valid CV. [`ResumeDocument::parse`] is the only way to make one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeDocument {
    value: Value,
    text: String,
}

/// Where a problem is: a place in the text for syntax errors, a JSON pointer (`/work/2/startDate`,
/// empty for the whole document) for everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Text { line: usize, column: usize },
    Pointer(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { line, column } => write!(f, "line {line}, column {column}"),
            Self::Pointer(pointer) if pointer.is_empty() => f.write_str("the whole document"),
            Self::Pointer(pointer) => f.write_str(pointer),
        }
    }
}

/// One thing wrong with a CV, in words its owner can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: Place,
    pub message: String,
}

impl Problem {
    pub fn at(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            place: Place::Pointer(pointer.into()),
            message: message.into(),
        }
    }
}

impl ResumeDocument {
    /// Parses `text` and checks it against the schema and our rules; the error lists every
    /// problem found. `max_bytes` bounds both the text as sent and the text as stored.
    pub fn parse(text: &str, max_bytes: usize) -> Result<Self, Vec<Problem>> {
        if text.len() > max_bytes {
            return Err(vec![too_large(text.len(), max_bytes)]);
        }
        let value: Value = serde_json::from_str(text).map_err(|error| {
            vec![Problem {
                place: Place::Text {
                    line: error.line(),
                    column: error.column(),
                },
                message: syntax_message(&error),
            }]
        })?;
        if !value.is_object() {
            return Err(vec![Problem::at(
                "",
                "A CV is a JSON object: it starts with { and ends with }.",
            )]);
        }
        let mut problems: Vec<Problem> = VALIDATOR.iter_errors(&value).map(plain).collect();
        for problem in rules::check(&value) {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
        if text.len() > max_bytes {
            return Err(vec![too_large(text.len(), max_bytes)]);
        }
        Ok(Self { value, text })
    }

    /// A small valid CV for a new account, with what we already know about its owner.
    pub fn starter(username: &str, email: &str) -> Self {
        let value = serde_json::json!({
            "basics": {
                "name": username,
                "label": "",
                "email": email,
                "summary": "",
                "location": {"city": "", "countryCode": ""},
                "profiles": []
            },
            "work": [{
                "name": "",
                "position": "",
                "startDate": "2020-01",
                "summary": "",
                "highlights": []
            }],
            "education": [],
            "skills": [{"name": "", "keywords": []}],
            "languages": [],
            "projects": []
        });
        let text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
        Self { value, text }
    }

    /// The pretty-printed text: what is stored, compared and shown.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn value(&self) -> &Value {
        &self.value
    }
}

fn too_large(bytes: usize, max_bytes: usize) -> Problem {
    Problem::at(
        "",
        format!(
            "This CV is {} KB; the limit is {} KB. Shorten some descriptions or remove old entries.",
            bytes.div_ceil(1024),
            max_bytes / 1024
        ),
    )
}

/// serde_json's message in plain words, without its trailing "at line 3 column 5": the place is
/// shown apart.
fn syntax_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(words, _)| words);
    let plain = match message {
        _ if error.is_eof() => "The text ends too early: a closing }, ] or \" is missing.",
        "trailing comma" => "JSON allows no comma before a closing } or ].",
        "expected ident" | "expected value" => {
            "Expected a value here: text goes in double quotes, and true, false and null are \
             lowercase."
        }
        "key must be a string" => "Keys are written in double quotes, like \"name\".",
        "expected `,` or `}`" => "Expected a comma or a closing } here.",
        "expected `,` or `]`" => "Expected a comma or a closing ] here.",
        "expected `:`" => "Expected a colon between a key and its value.",
        "trailing characters" => "There is more text after the closing }.",
        other => return format!("Not valid JSON: {other}."),
    };
    plain.to_owned()
}

/// The schema validator's error in plain words, where we know better ones.
fn plain(error: ValidationError<'_>) -> Problem {
    let message = match error.kind() {
        ValidationErrorKind::Pattern { pattern } if pattern.contains("[1-2][0-9]{3}") => {
            DATE_SHAPE.to_owned()
        }
        ValidationErrorKind::Type {
            kind: TypeKind::Single(expected),
        } => format!("This should be {}.", type_in_words(*expected)),
        ValidationErrorKind::Format { format } if format == "email" => {
            "This is not a valid email address.".to_owned()
        }
        ValidationErrorKind::Format { format } if format == "uri" => {
            "This is not a valid web address; write it in full, starting with https://.".to_owned()
        }
        // The masked form says "value" instead of quoting the whole offending value.
        _ => format!("{}.", error.masked()),
    };
    Problem::at(error.instance_path().as_str(), message)
}

fn type_in_words(kind: JsonType) -> &'static str {
    match kind {
        JsonType::Array => "a list ([ … ])",
        JsonType::Object => "an object ({ … })",
        JsonType::String => "text in double quotes",
        JsonType::Number | JsonType::Integer => "a number",
        JsonType::Boolean => "true or false",
        JsonType::Null => "null",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const LIMIT: usize = 262_144;

    fn problems(text: &str) -> Vec<Problem> {
        ResumeDocument::parse(text, LIMIT).expect_err("the CV is refused")
    }

    #[test]
    fn the_official_sample_is_valid() {
        let sample = include_str!("../../../tests/fixtures/sample.resume.json");
        assert!(ResumeDocument::parse(sample, LIMIT).is_ok());
    }

    #[test]
    fn the_starter_document_is_valid_and_stable() {
        let starter = ResumeDocument::starter("ada", "ada@example.org");
        let parsed = ResumeDocument::parse(starter.text(), LIMIT).expect("the starter is valid");
        assert_eq!(parsed, starter);
        assert_eq!(starter.value()["basics"]["email"], "ada@example.org");
    }

    #[test]
    fn the_canonical_text_is_pretty_and_keeps_key_order() {
        let document =
            ResumeDocument::parse(r#"{"work":[],"basics":{"name":"Ada"}}"#, LIMIT).expect("valid");
        assert_eq!(
            document.text(),
            "{\n  \"work\": [],\n  \"basics\": {\n    \"name\": \"Ada\"\n  }\n}"
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let found = problems("{\n  \"basics\": {\n    \"name\": \"Ada\",\n  }\n}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].place, Place::Text { line: 4, column: 3 });
        assert_eq!(
            found[0].message,
            "JSON allows no comma before a closing } or ]."
        );
    }

    #[test]
    fn a_document_must_be_an_object() {
        for text in ["[]", "\"cv\"", "42", "null"] {
            let found = problems(text);
            assert_eq!(found.len(), 1, "{text}");
            assert_eq!(found[0].place, Place::Pointer(String::new()));
            assert!(found[0].message.contains("JSON object"), "{text}");
        }
    }

    #[test]
    fn schema_errors_name_their_pointer_in_plain_words() {
        let found = problems(r#"{"basics": {"name": 42}, "work": [{"startDate": "June 2020"}]}"#);
        assert!(found.contains(&Problem::at(
            "/basics/name",
            "This should be text in double quotes."
        )));
        assert!(found.contains(&Problem::at("/work/0/startDate", DATE_SHAPE)));
        assert_eq!(found.len(), 2, "a bad date is reported once: {found:?}");
    }

    #[test]
    fn a_cut_off_document_says_so() {
        let found = problems("{\"basics\": {");
        assert!(found[0].message.starts_with("The text ends too early"));
    }

    #[test]
    fn unknown_keys_are_allowed() {
        let text = json!({"basics": {"name": "Ada", "pronouns": "she/her"}, "x-extra": [1]});
        assert!(ResumeDocument::parse(&text.to_string(), LIMIT).is_ok());
    }

    #[test]
    fn every_problem_is_reported() {
        let text = json!({
            "basics": {"url": "javascript:alert(1)", "image": "ftp://example.org/me.png"},
            "work": [{"startDate": "2020-13"}, {"endDate": "2021-02-30"}],
            "awards": [{"date": "yesterday"}]
        });
        let found = problems(&text.to_string());
        let places: Vec<String> = found.iter().map(|p| p.place.to_string()).collect();
        for pointer in [
            "/basics/url",
            "/basics/image",
            "/work/0/startDate",
            "/work/1/endDate",
            "/awards/0/date",
        ] {
            assert!(
                places.contains(&pointer.to_owned()),
                "{pointer} in {places:?}"
            );
        }
    }

    #[test]
    fn oversized_documents_are_refused_before_parsing() {
        let text = json!({"basics": {"summary": "x".repeat(2_000)}}).to_string();
        let found = ResumeDocument::parse(&text, 1_024).expect_err("too large");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("the limit is 1 KB"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn the_stored_text_must_fit_too() {
        // Compact text that only outgrows the limit once pretty-printed.
        let text = json!({"skills": vec![json!({"name": "x"}); 40]}).to_string();
        assert!(text.len() < 1_024);
        assert!(ResumeDocument::parse(&text, 1_024).is_err());
    }
}
