//! A JSON Resume document as a reader sees it: typed, forgiving of odd values (a number where a
//! string belongs, a string where a list belongs), with dates in words and only safe links.
//!
//! The editor validates documents against the schema, but a page must never fail because of
//! what is inside one: whatever does not fit is left out, and the rest is shown.

use std::fmt;

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Resume {
    #[serde(deserialize_with = "or_default")]
    pub basics: Basics,
    pub work: List<Work>,
    pub volunteer: List<Volunteer>,
    pub education: List<Education>,
    pub awards: List<Award>,
    pub certificates: List<Certificate>,
    pub publications: List<Publication>,
    pub skills: List<Skill>,
    pub languages: List<Language>,
    pub interests: List<Interest>,
    pub references: List<Reference>,
    pub projects: List<Project>,
}

impl Resume {
    /// The view of `document`; anything but an object is an empty CV.
    pub fn from_document(document: &Value) -> Self {
        Self::deserialize(document).unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Basics {
    pub name: Text,
    pub label: Text,
    pub image: Text,
    pub email: Text,
    pub phone: Text,
    pub url: Text,
    pub summary: Text,
    #[serde(deserialize_with = "or_default")]
    pub location: Location,
    pub profiles: List<Profile>,
}

impl Basics {
    /// The photo's address, if it is a web address.
    pub fn image_src(&self) -> Option<&str> {
        is_web_url(self.image.as_str()).then(|| self.image.as_str())
    }

    pub fn email_link(&self) -> Link {
        let email = self.email.as_str();
        let looks_like_address = email.contains('@') && !email.contains(char::is_whitespace);
        Link {
            href: looks_like_address.then(|| format!("mailto:{email}")),
            text: email.to_owned(),
        }
    }

    /// A `tel:` link of the number's digits, keeping its written form as the text.
    pub fn phone_link(&self) -> Link {
        let dialable: String = self
            .phone
            .as_str()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        Link {
            href: (dialable.chars().filter(char::is_ascii_digit).count() >= 3)
                .then(|| format!("tel:{dialable}")),
            text: self.phone.to_string(),
        }
    }

    pub fn url_link(&self) -> Link {
        Link::to(&self.url, &self.url)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Location {
    pub address: Text,
    pub postal_code: Text,
    pub city: Text,
    pub country_code: Text,
    pub region: Text,
}

impl Location {
    /// "2712 Broadway St, CA 94115 San Francisco, California, US": the parts there are.
    pub fn in_words(&self) -> String {
        let town = join(&[&self.postal_code, &self.city], " ");
        let parts = [
            self.address.to_string(),
            town,
            self.region.to_string(),
            self.country_code.to_string(),
        ];
        let present: Vec<&str> = parts
            .iter()
            .map(String::as_str)
            .filter(|p| !p.is_empty())
            .collect();
        present.join(", ")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub network: Text,
    pub username: Text,
    pub url: Text,
}

impl Profile {
    pub fn link(&self) -> Link {
        let text = if self.username.is_empty() {
            &self.url
        } else {
            &self.username
        };
        Link::to(text, &self.url)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Work {
    pub name: Text,
    pub position: Text,
    pub location: Text,
    pub description: Text,
    pub url: Text,
    pub start_date: Text,
    pub end_date: Text,
    pub summary: Text,
    pub highlights: Words,
}

impl Work {
    pub fn link(&self) -> Link {
        Link::to(&self.name, &self.url)
    }

    pub fn period(&self) -> Period {
        Period::new(&self.start_date, &self.end_date)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Volunteer {
    pub organization: Text,
    pub position: Text,
    pub url: Text,
    pub start_date: Text,
    pub end_date: Text,
    pub summary: Text,
    pub highlights: Words,
}

impl Volunteer {
    pub fn link(&self) -> Link {
        Link::to(&self.organization, &self.url)
    }

    pub fn period(&self) -> Period {
        Period::new(&self.start_date, &self.end_date)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Education {
    pub institution: Text,
    pub url: Text,
    pub area: Text,
    pub study_type: Text,
    pub start_date: Text,
    pub end_date: Text,
    pub score: Text,
    pub courses: Words,
}

impl Education {
    pub fn link(&self) -> Link {
        Link::to(&self.institution, &self.url)
    }

    pub fn period(&self) -> Period {
        Period::new(&self.start_date, &self.end_date)
    }

    /// "Bachelor, Information Technology".
    pub fn degree(&self) -> String {
        join(&[&self.study_type, &self.area], ", ")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Award {
    pub title: Text,
    pub date: Text,
    pub awarder: Text,
    pub summary: Text,
}

impl Award {
    pub fn date(&self) -> Option<DateText> {
        DateText::parse(&self.date)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Certificate {
    pub name: Text,
    pub date: Text,
    pub issuer: Text,
    pub url: Text,
}

impl Certificate {
    pub fn link(&self) -> Link {
        Link::to(&self.name, &self.url)
    }

    pub fn date(&self) -> Option<DateText> {
        DateText::parse(&self.date)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Publication {
    pub name: Text,
    pub publisher: Text,
    pub release_date: Text,
    pub url: Text,
    pub summary: Text,
}

impl Publication {
    pub fn link(&self) -> Link {
        Link::to(&self.name, &self.url)
    }

    pub fn date(&self) -> Option<DateText> {
        DateText::parse(&self.release_date)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Skill {
    pub name: Text,
    pub level: Text,
    pub keywords: Words,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Language {
    pub language: Text,
    pub fluency: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Interest {
    pub name: Text,
    pub keywords: Words,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub name: Text,
    pub reference: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Project {
    pub name: Text,
    pub description: Text,
    pub highlights: Words,
    pub keywords: Words,
    pub start_date: Text,
    pub end_date: Text,
    pub url: Text,
    pub roles: Words,
    pub entity: Text,
    #[serde(rename = "type")]
    pub kind: Text,
}

impl Project {
    pub fn link(&self) -> Link {
        Link::to(&self.name, &self.url)
    }

    pub fn period(&self) -> Period {
        Period::new(&self.start_date, &self.end_date)
    }
}

/// A text field: a string as written (trimmed), a number or boolean in its usual spelling,
/// anything else empty.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(deserializer)? {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
        }))
    }
}

/// A list of short texts (highlights, keywords, courses, roles): the non-empty ones. A lone
/// string counts as a list of one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Words(Vec<String>);

impl Words {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = match Value::deserialize(deserializer)? {
            Value::Array(items) => items,
            single => vec![single],
        };
        Ok(Self(
            items
                .into_iter()
                .filter_map(|item| Text::deserialize(item).ok())
                .filter(|text| !text.is_empty())
                .map(|text| text.0)
                .collect(),
        ))
    }
}

/// The entries of a section: those that are objects. Anything but an array is no entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> List<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Value::Array(items) = Value::deserialize(deserializer)? else {
            return Ok(Self::default());
        };
        Ok(Self(
            items
                .into_iter()
                .filter(Value::is_object)
                .filter_map(|item| T::deserialize(item).ok())
                .collect(),
        ))
    }
}

/// An object field that is not an object is left empty rather than failing its parent.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).unwrap_or_default())
}

fn join(parts: &[&Text], separator: &str) -> String {
    let present: Vec<&str> = parts
        .iter()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .collect();
    present.join(separator)
}

/// Text that links to `href` when it is a web or mail address; otherwise just the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub href: Option<String>,
    pub text: String,
}

impl Link {
    fn to(text: &Text, url: &Text) -> Self {
        let text = if text.is_empty() { url } else { text };
        let url = url.as_str();
        Self {
            href: (is_web_url(url) || has_scheme(url, "mailto:")).then(|| url.to_owned()),
            text: text.to_string(),
        }
    }

    /// Whether the link's text is not its web address, so print should spell the address out.
    /// (A mail address is its own text already.)
    pub fn hides_its_address(&self) -> bool {
        self.href
            .as_deref()
            .is_some_and(|href| is_web_url(href) && href != self.text)
    }
}

/// `http://` and `https://` addresses: the only ones a CV may point a browser at (no
/// `javascript:`, `data:` or relative tricks).
pub(super) fn is_web_url(url: &str) -> bool {
    (has_scheme(url, "http://") || has_scheme(url, "https://"))
        && !url.contains(char::is_whitespace)
}

fn has_scheme(url: &str, scheme: &str) -> bool {
    url.get(..scheme.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        && url.len() > scheme.len()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date as written in a CV: `2021`, `2021-03` or `2021-03-14`, shown as "2021" or "Mar 2021".
/// `datetime` is set only for those forms, so `<time>` gets a valid value; anything else is
/// shown as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateText {
    pub datetime: Option<String>,
    pub words: String,
}

impl DateText {
    pub fn parse(text: &Text) -> Option<Self> {
        let text = text.as_str();
        if text.is_empty() {
            return None;
        }
        Some(Self::calendar(text).unwrap_or_else(|| Self {
            datetime: None,
            words: text.to_owned(),
        }))
    }

    fn calendar(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let year = parts.next().filter(|y| is_digits(y, 4))?;
        let month = match parts.next() {
            None => None,
            Some(m) if is_digits(m, 2) => {
                Some(m.parse::<usize>().ok().filter(|m| (1..=12).contains(m))?)
            }
            Some(_) => return None,
        };
        match parts.next() {
            None => {}
            Some(day) if month.is_some() && is_digits(day, 2) && day != "00" && day <= "31" => {}
            Some(_) => return None,
        }
        if parts.next().is_some() {
            return None;
        }
        let words = match month {
            Some(month) => format!("{} {year}", MONTHS[month - 1]),
            None => year.to_owned(),
        };
        Some(Self {
            datetime: Some(text.to_owned()),
            words,
        })
    }
}

fn is_digits(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|b| b.is_ascii_digit())
}

/// From a start to an end: "Mar 2021 – present" when there is no end, one date when both read
/// the same, "2019 – 2021" otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: Option<DateText>,
    pub end: Option<DateText>,
    /// Started and not ended: shown as "– present".
    pub ongoing: bool,
}

impl Period {
    fn new(start: &Text, end: &Text) -> Self {
        let start = DateText::parse(start);
        let end = DateText::parse(end);
        let ongoing = start.is_some() && end.is_none();
        let one_date = matches!((&start, &end), (Some(s), Some(e)) if s.words == e.words);
        Self {
            end: if one_date { None } else { end },
            start,
            ongoing,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    /// Whether the period has two ends to put a dash between.
    pub fn is_range(&self) -> bool {
        self.start.is_some() && (self.end.is_some() || self.ongoing)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(s: &str) -> Text {
        Text(s.to_owned())
    }

    fn words(period: &Period) -> String {
        let start = period.start.as_ref().map(|d| d.words.as_str());
        let end = period.end.as_ref().map(|d| d.words.as_str());
        match (start, end, period.ongoing) {
            (Some(s), Some(e), _) => format!("{s} – {e}"),
            (Some(s), None, true) => format!("{s} – present"),
            (Some(s), None, false) => s.to_owned(),
            (None, Some(e), _) => e.to_owned(),
            (None, None, _) => String::new(),
        }
    }

    #[test]
    fn dates_read_as_words() {
        assert_eq!(
            words(&Period::new(&text("2021-03-01"), &text(""))),
            "Mar 2021 – present"
        );
        assert_eq!(
            words(&Period::new(&text("2019"), &text("2021"))),
            "2019 – 2021"
        );
        assert_eq!(
            words(&Period::new(&text("2020-01"), &text("2020-01-31"))),
            "Jan 2020"
        );
        assert_eq!(words(&Period::new(&text(""), &text("2020-12"))), "Dec 2020");
        assert_eq!(
            words(&Period::new(&text("summer 2019"), &text("2019-13"))),
            "summer 2019 – 2019-13",
            "what is not a date is shown as written"
        );
        assert_eq!(DateText::parse(&text("2019-13")).unwrap().datetime, None);
    }

    #[test]
    fn only_web_and_mail_addresses_become_links() {
        for url in [
            "https://example.org",
            "HTTP://example.org/a",
            "mailto:a@example.org",
        ] {
            assert!(Link::to(&text("x"), &text(url)).href.is_some(), "{url}");
        }
        for url in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "//evil.example",
            "http://",
            "example.org",
            " javascript:x",
        ] {
            assert_eq!(Link::to(&text("x"), &text(url.trim())).href, None, "{url}");
        }
    }

    #[test]
    fn print_spells_out_only_web_addresses_hidden_behind_text() {
        assert!(Link::to(&text("Pied Piper"), &text("https://pp.example")).hides_its_address());
        assert!(
            !Link::to(&text("https://pp.example"), &text("https://pp.example")).hides_its_address()
        );
        assert!(!Link::to(&text("Write"), &text("mailto:a@example.org")).hides_its_address());
        let basics = Basics {
            email: text("a@example.org"),
            phone: text("+44 20 7946 0000"),
            ..Basics::default()
        };
        assert!(!basics.email_link().hides_its_address());
        assert_eq!(
            basics.phone_link().href.as_deref(),
            Some("tel:+442079460000")
        );
        assert!(!basics.phone_link().hides_its_address());
    }

    #[test]
    fn odd_values_are_tolerated_and_the_rest_shown() {
        let document = json!({
            "basics": {"name": 42, "location": "Berlin", "profiles": {"network": "x"}},
            "work": ["not an entry", {"name": ["a"], "position": "Engineer", "highlights": "Shipped"}],
            "skills": "none",
        });
        let resume = Resume::from_document(&document);
        assert_eq!(resume.basics.name.as_str(), "42");
        assert!(resume.basics.profiles.is_empty());
        let work: Vec<_> = resume.work.iter().collect();
        assert_eq!(work.len(), 1);
        assert_eq!(work[0].position.as_str(), "Engineer");
        assert!(work[0].name.is_empty());
        assert_eq!(work[0].highlights.iter().collect::<Vec<_>>(), ["Shipped"]);
        assert!(resume.skills.is_empty());
        assert!(Resume::from_document(&json!("a string")).work.is_empty());
    }
}
