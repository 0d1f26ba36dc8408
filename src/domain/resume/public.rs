//! What the public sees of a published CV: its theme, and the fields its owner keeps private.

use serde_json::Value;

/// The fields an owner may hide from the public page and `resume.json`, as JSON pointers, with
/// the words the settings page shows for them.
pub const HIDEABLE_FIELDS: &[(&str, &str)] = &[
    ("/basics/email", "Email address"),
    ("/basics/phone", "Phone number"),
    ("/basics/location/address", "Street address"),
];

/// A copy of `document` without the fields at `hidden` (pointers from [`HIDEABLE_FIELDS`]).
pub fn without_hidden_fields(document: &Value, hidden: &[String]) -> Value {
    let mut copy = document.clone();
    for pointer in hidden {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            continue;
        };
        if let Some(Value::Object(object)) = copy.pointer_mut(parent) {
            object.remove(key);
        }
    }
    copy
}

/// The look of a public CV page. Both print cleanly to A4 and Letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Theme {
    /// Serif headings, a single column: a traditional paper CV.
    #[default]
    Classic,
    /// Sans-serif, an accent colour and a sidebar of skills on wide screens.
    Modern,
}

impl Theme {
    pub const ALL: [Theme; 2] = [Theme::Classic, Theme::Modern];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|theme| theme.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Modern => "modern",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Classic => "Classic",
            Self::Modern => "Modern",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hidden_fields_are_removed_and_the_rest_kept() {
        let document = json!({"basics": {"name": "Ada", "email": "ada@example.org",
            "location": {"address": "1 Analytical Way", "city": "London"}}});
        let hidden = [
            "/basics/email".to_owned(),
            "/basics/location/address".to_owned(),
        ];
        assert_eq!(
            without_hidden_fields(&document, &hidden),
            json!({"basics": {"name": "Ada", "location": {"city": "London"}}})
        );
    }

    #[test]
    fn themes_round_trip_by_name() {
        for theme in Theme::ALL {
            assert_eq!(Theme::parse(theme.as_str()), Some(theme));
        }
        assert_eq!(Theme::parse("comic-sans"), None);
    }
}
