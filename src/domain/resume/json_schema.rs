//! What [`ResumeDocument::parse`](super::ResumeDocument::parse) accepts, as JSON Schemas for the
//! API's OpenAPI document: the JSON Resume schema itself, and our rules (text without control
//! characters, sizes, links and dates) spelled out so that a document valid under them is saved.
//! Only the size of the whole CV (`resume.max_bytes`, after pretty-printing) is left out: no
//! schema keyword measures it.

use serde_json::{Value, json};

use super::{
    document::SCHEMA,
    rules::{DATE_KEYS, MAX_ARRAY_ITEMS, MAX_STRING_CHARS},
};

/// Where the schemas are put in the OpenAPI document.
const COMPONENTS: &str = "#/components/schemas/";

/// A string of text: no control characters but tab and line breaks (`refuse_control_characters`
/// with `Lines::Many`: `char::is_control` is U+0000–U+001F and U+007F–U+009F).
const TEXT: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// Rust's `char::is_whitespace` (Unicode White_Space), spelled out: `\s` means something else in
/// each regex dialect.
pub const WHITESPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// `rules::is_web_address`, or empty for "no link".
fn url_pattern() -> String {
    format!(r"^(?:|[Hh][Tt][Tt][Pp][Ss]?://[^/?#{WHITESPACE}][^{WHITESPACE}]*)$")
}

/// `rules::partial_date`: YYYY, YYYY-MM or YYYY-MM-DD of a day that exists.
const DATE: &str = concat!(
    r"^(?:[0-9]{4}(?:-(?:0[1-9]|1[0-2]))?",
    r"|[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))",
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)$"
);

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{COMPONENTS}{name}") })
}

/// The named schemas; `CvContents` is the one a request's `contents` follows.
pub fn components() -> Vec<(&'static str, Value)> {
    let mut resume: Value = serde_json::from_str(SCHEMA).expect("the shipped schema is JSON");
    let definitions = resume
        .as_object_mut()
        .and_then(|schema| {
            schema.remove("$schema");
            schema.remove("$id");
            schema.remove("definitions")
        })
        .expect("the shipped schema has definitions");
    let iso8601 = definitions["iso8601"].clone();
    rewrite_references(&mut resume);

    // Every value in a CV, at any depth; the keywords of each type apply to that type only.
    let dated: serde_json::Map<String, Value> = DATE_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), reference("CvDate")))
        .chain([("url".to_owned(), reference("CvUrl"))])
        .collect();
    let value = json!({
        "description": "Any value in a CV: text of at most 10,000 characters without control \
                        characters (tab and line breaks aside), lists of at most 500 entries; a \
                        `url` anywhere is a web address (or empty), and a `date`, `startDate`, \
                        `endDate` or `releaseDate` a day that exists.",
        "maxLength": MAX_STRING_CHARS,
        "pattern": TEXT,
        "maxItems": MAX_ARRAY_ITEMS,
        "items": reference("CvValue"),
        "properties": dated,
        "additionalProperties": reference("CvValue"),
    });
    let url = json!({
        "allOf": [reference("CvValue"), {"pattern": url_pattern()}],
    });
    let date = json!({
        "allOf": [reference("CvValue"), {"pattern": DATE}],
    });
    let contents = json!({
        "description": "A JSON Resume document (https://jsonresume.org/schema) that also follows \
                        txtcv's rules for text, links and dates.",
        "type": "object",
        "allOf": [
            reference("JsonResume"),
            reference("CvValue"),
            {"properties": {"basics": {"properties": {"image": reference("CvUrl")}}}},
        ],
    });
    vec![
        ("JsonResume", resume),
        ("ResumeIso8601", iso8601),
        ("CvValue", value),
        ("CvUrl", url),
        ("CvDate", date),
        ("CvContents", contents),
    ]
}

/// `#/definitions/x` becomes the component it is moved to.
fn rewrite_references(schema: &mut Value) {
    match schema {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = field
                {
                    assert_eq!(target, "#/definitions/iso8601", "the only definition");
                    *target = format!("{COMPONENTS}ResumeIso8601");
                } else {
                    rewrite_references(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_references),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::resume::ResumeDocument;

    fn validator() -> jsonschema::Validator {
        let schemas: serde_json::Map<String, Value> = components()
            .into_iter()
            .map(|(name, schema)| (name.to_owned(), schema))
            .collect();
        let root = json!({
            "$ref": format!("{COMPONENTS}CvContents"),
            "components": {"schemas": schemas},
        });
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .expect("the schemas compile")
    }

    /// The schema and the parser agree, one way and the other.
    #[test]
    fn the_schema_accepts_what_the_parser_accepts() {
        let validator = validator();
        let long = "x".repeat(MAX_STRING_CHARS + 1);
        let many: Vec<u32> = (0..=500).collect();
        for document in [
            json!({}),
            json!({"basics": {"name": "Ada", "url": "https://ada.dev", "image": ""}}),
            json!({"work": [{"startDate": "2024-02-29", "endDate": "2025"}]}),
            json!({"custom": {"date": "2000-02-29", "url": "HTTP://x?y", "n": [1, null, true]}}),
            json!({"basics": {"summary": "tab\tand\r\nlines"}}),
            json!({"x": {"date": 5, "url": {"deep": "text"}}}),
            json!({"a\u{1}key": "keys may hold anything"}),
            json!({"basics": {"name": 5}}),
            json!({"basics": {"image": "javascript:alert(1)"}}),
            json!({"basics": {"url": "https://ex ample.org"}}),
            json!({"x": {"url": "http:///nohost"}}),
            json!({"x": {"url": "https://"}}),
            json!({"x": {"date": "1900-02-29"}}),
            json!({"x": {"date": "2023-04-31"}}),
            json!({"x": {"date": "2023-00"}}),
            json!({"x": {"date": "2023-1-01"}}),
            json!({"x": {"date": "2024\n"}}),
            json!({"x": [{"s": "bell\u{7}"}]}),
            json!({"x": "next line\u{85}"}),
            json!({"x": long}),
            json!({"x": many}),
            json!([]),
        ] {
            let parsed = ResumeDocument::parse(&document.to_string(), 1 << 20).is_ok();
            assert_eq!(
                validator.is_valid(&document),
                parsed,
                "{document}: the parser says {parsed}"
            );
        }
    }
}
