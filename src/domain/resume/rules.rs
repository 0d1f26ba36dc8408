//! Our own rules for a CV, on top of the JSON Resume schema: links a browser may follow safely,
//! dates that exist, sizes a page can show, and text without control characters.

use serde_json::Value;
use time::{Date, Month};

use super::document::{DATE_SHAPE, Problem};
use crate::domain::text::{Lines, refuse_control_characters};

/// Longer than any sensible summary; keeps one field from swallowing the page.
pub(super) const MAX_STRING_CHARS: usize = 10_000;
/// More entries than any CV needs in one section.
pub(super) const MAX_ARRAY_ITEMS: usize = 500;

pub(super) const DATE_KEYS: &[&str] = &["startDate", "endDate", "date", "releaseDate"];

/// Every rule broken anywhere in `document`, each at its JSON pointer.
pub fn check(document: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(document, "", None, &mut problems);
    if let Some(image) = document.pointer("/basics/image").and_then(Value::as_str) {
        check_url("/basics/image", image, &mut problems);
    }
    problems
}

fn walk(value: &Value, pointer: &str, key: Option<&str>, problems: &mut Vec<Problem>) {
    match value {
        Value::String(text) => {
            let chars = text.chars().count();
            if chars > MAX_STRING_CHARS {
                problems.push(Problem::at(
                    pointer,
                    format!(
                        "This text is {chars} characters long; the limit is {MAX_STRING_CHARS}."
                    ),
                ));
            }
            if let Err(error) = refuse_control_characters(text, Lines::Many) {
                problems.push(Problem::at(pointer, error.to_string()));
            }
            match key {
                Some("url") => check_url(pointer, text, problems),
                Some(key) if DATE_KEYS.contains(&key) => check_date(pointer, text, problems),
                _ => {}
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_ARRAY_ITEMS {
                problems.push(Problem::at(
                    pointer,
                    format!(
                        "This list has {} entries; the limit is {MAX_ARRAY_ITEMS}.",
                        items.len()
                    ),
                ));
            }
            for (index, item) in items.iter().enumerate() {
                walk(item, &format!("{pointer}/{index}"), None, problems);
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields {
                let child = format!("{pointer}/{}", escape(name));
                walk(field, &child, Some(name), problems);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A JSON pointer segment (RFC 6901): `~` and `/` are escaped.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Links end up in `href`s on the public page: only web addresses, never `javascript:` or
/// `data:`. An empty string means "no link".
fn check_url(pointer: &str, url: &str, problems: &mut Vec<Problem>) {
    if url.is_empty() || is_web_address(url) {
        return;
    }
    problems.push(Problem::at(
        pointer,
        "Links must be web addresses starting with http:// or https://.",
    ));
}

fn is_web_address(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    host.is_some_and(|host| !host.is_empty() && !url.chars().any(char::is_whitespace))
}

fn check_date(pointer: &str, text: &str, problems: &mut Vec<Problem>) {
    let message = match partial_date(text) {
        Ok(()) => return,
        Err(DateError::Shape) => DATE_SHAPE.to_owned(),
        Err(DateError::Month) => format!("{text} has no such month; months run from 01 to 12."),
        Err(DateError::Day) => format!("{text} is not a day of that month."),
    };
    problems.push(Problem::at(pointer, message));
}

enum DateError {
    Shape,
    Month,
    Day,
}

/// An ISO 8601 date of which the month and day may be left out: `2024`, `2024-03`, `2024-03-31`.
fn partial_date(text: &str) -> Result<(), DateError> {
    let parts: Vec<&str> = text.split('-').collect();
    let widths_ok = matches!(parts.as_slice(), [y] | [y, _] | [y, _, _] if y.len() == 4)
        && parts[1..].iter().all(|part| part.len() == 2);
    if !widths_ok || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(DateError::Shape);
    }
    let number = |index: usize| parts.get(index).map(|p| p.parse::<u8>().unwrap_or(0));
    let year: i32 = parts[0].parse().map_err(|_| DateError::Shape)?;
    let Some(month) = number(1) else {
        return Ok(());
    };
    let month = Month::try_from(month).map_err(|_| DateError::Month)?;
    match number(2) {
        None => Ok(()),
        Some(day) => Date::from_calendar_date(year, month, day)
            .map(|_| ())
            .map_err(|_| DateError::Day),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages_at(document: Value, pointer: &str) -> Vec<String> {
        check(&document)
            .into_iter()
            .filter(|p| p.place.to_string() == pointer)
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn partial_dates_of_every_precision_pass() {
        for date in ["2024", "2024-02", "2024-02-29", "1999-12-31"] {
            assert!(partial_date(date).is_ok(), "{date}");
        }
    }

    #[test]
    fn dates_in_other_shapes_are_refused() {
        for date in [
            "",
            "24",
            "2024-2",
            "2024/02",
            "2024-02-1",
            "March 2024",
            "2024-02-01T10",
        ] {
            assert!(
                matches!(partial_date(date), Err(DateError::Shape)),
                "{date}"
            );
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        assert!(matches!(partial_date("2024-13"), Err(DateError::Month)));
        assert!(matches!(partial_date("2024-00-10"), Err(DateError::Month)));
        assert!(matches!(partial_date("2023-02-29"), Err(DateError::Day)));
        assert!(matches!(partial_date("2024-04-31"), Err(DateError::Day)));
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        let document = json!({"basics": {"name": "Ada\u{0}", "summary": "Two\nlines\tand a tab"}});
        let found = messages_at(document, "/basics/name");
        assert!(found[0].contains("U+0000"), "{found:?}");
        assert_eq!(
            check(&json!({"basics": {"summary": "Two\nlines\tok"}})),
            vec![]
        );
    }

    #[test]
    fn date_keys_are_checked_anywhere() {
        let document = json!({"projects": [{"startDate": "2024-13"}], "x": {"date": "soon"}});
        assert_eq!(
            messages_at(document.clone(), "/projects/0/startDate").len(),
            1
        );
        assert_eq!(
            messages_at(document, "/x/date"),
            vec![DATE_SHAPE.to_owned()]
        );
    }

    #[test]
    fn links_must_be_web_addresses() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://x.org",
            "https://",
            "www.x.org",
        ] {
            let found = messages_at(json!({"basics": {"url": bad}}), "/basics/url");
            assert_eq!(found.len(), 1, "{bad}");
        }
        for good in ["", "https://ada.example.org", "HTTP://example.org/a?b#c"] {
            assert!(
                check(&json!({"basics": {"url": good}})).is_empty(),
                "{good}"
            );
        }
    }

    #[test]
    fn the_image_and_nested_links_are_checked() {
        let document = json!({
            "basics": {"image": "javascript:x", "profiles": [{"url": "javascript:y"}]}
        });
        assert_eq!(messages_at(document.clone(), "/basics/image").len(), 1);
        assert_eq!(messages_at(document, "/basics/profiles/0/url").len(), 1);
    }

    #[test]
    fn long_texts_and_long_lists_are_refused() {
        let document = json!({
            "basics": {"summary": "x".repeat(MAX_STRING_CHARS + 1)},
            "skills": vec![json!({}); MAX_ARRAY_ITEMS + 1]
        });
        assert_eq!(messages_at(document.clone(), "/basics/summary").len(), 1);
        assert_eq!(messages_at(document, "/skills").len(), 1);
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let document = json!({"a/b": {"~c": {"url": "javascript:x"}}});
        assert_eq!(messages_at(document, "/a~1b/~0c/url").len(), 1);
    }
}
