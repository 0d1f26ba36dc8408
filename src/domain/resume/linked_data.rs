//! What machines read of a public CV besides the page: schema.org JSON-LD for search engines
//! and link previews, and a vCard for address books. Both are made from the view of the
//! document the page shows, so a hidden field, absent from it, is absent from them too.

use serde_json::{Map, Value, json};

use super::view::{Resume, is_web_url};

/// A `ProfilePage` about its `Person` (schema.org), for `page_url`.
pub fn json_ld(resume: &Resume, name: &str, page_url: &str) -> Value {
    let basics = &resume.basics;
    let mut person = Map::new();
    person.insert("@type".into(), "Person".into());
    person.insert("name".into(), name.into());
    insert_text(&mut person, "jobTitle", basics.label.as_str());
    insert_text(&mut person, "email", basics.email.as_str());
    insert_text(&mut person, "description", basics.summary.as_str());
    let employer = resume
        .work
        .iter()
        .find(|work| work.end_date.is_empty() && !work.name.is_empty());
    if let Some(work) = employer {
        person.insert(
            "worksFor".into(),
            json!({"@type": "Organization", "name": work.name.as_str()}),
        );
    }
    let schools: Vec<Value> = resume
        .education
        .iter()
        .filter(|school| !school.institution.is_empty())
        .map(|school| json!({"@type": "EducationalOrganization", "name": school.institution.as_str()}))
        .collect();
    insert_list(&mut person, "alumniOf", schools);
    let skills: Vec<Value> = resume
        .skills
        .iter()
        .filter(|skill| !skill.name.is_empty())
        .map(|skill| skill.name.as_str().into())
        .collect();
    insert_list(&mut person, "knowsAbout", skills);
    let profiles: Vec<Value> = resume
        .basics
        .profiles
        .iter()
        .map(|profile| profile.url.as_str())
        .chain(std::iter::once(basics.url.as_str()))
        .filter(|url| is_web_url(url))
        .map(Value::from)
        .collect();
    insert_list(&mut person, "sameAs", profiles);
    json!({
        "@context": "https://schema.org",
        "@type": "ProfilePage",
        "url": page_url,
        "mainEntity": person,
    })
}

fn insert_text(object: &mut Map<String, Value>, key: &str, text: &str) {
    if !text.is_empty() {
        object.insert(key.into(), text.into());
    }
}

fn insert_list(object: &mut Map<String, Value>, key: &str, list: Vec<Value>) {
    if !list.is_empty() {
        object.insert(key.into(), Value::Array(list));
    }
}

/// JSON for inside a `<script>` element: a `<` could end the element early (`</script>`), so it
/// is written as the escape JSON allows for it.
pub fn for_script(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// A vCard 4.0 (RFC 6350) of the CV's owner.
pub fn vcard(resume: &Resume, name: &str, page_url: &str) -> String {
    let basics = &resume.basics;
    let mut lines = vec![
        "BEGIN:VCARD".to_owned(),
        "VERSION:4.0".to_owned(),
        format!("FN:{}", escape(name)),
    ];
    let mut property = |key: &str, value: &str| {
        if !value.is_empty() {
            lines.push(format!("{key}:{}", escape(value)));
        }
    };
    property("TITLE", basics.label.as_str());
    property("EMAIL", basics.email.as_str());
    property("TEL", basics.phone.as_str());
    if let Some(work) = resume.work.iter().find(|work| work.end_date.is_empty()) {
        property("ORG", work.name.as_str());
    }
    let location = &basics.location;
    if !(location.city.is_empty() && location.country_code.is_empty()) {
        // ADR: post office box; extended; street; locality; region; code; country.
        lines.push(format!(
            "ADR:;;{};{};{};{};{}",
            escape(location.address.as_str()),
            escape(location.city.as_str()),
            escape(location.region.as_str()),
            escape(location.postal_code.as_str()),
            escape(location.country_code.as_str()),
        ));
    }
    lines.push(format!("URL:{page_url}"));
    for profile in basics.profiles.iter() {
        if is_web_url(profile.url.as_str()) {
            lines.push(format!("URL:{}", escape(profile.url.as_str())));
        }
    }
    lines.push("END:VCARD".to_owned());
    // Lines end in CRLF (RFC 6350, 3.2).
    lines.iter().map(|line| format!("{line}\r\n")).collect()
}

/// A value as RFC 6350 writes text: backslash, comma, semicolon and line breaks escaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ',' => escaped.push_str("\\,"),
            ';' => escaped.push_str("\\;"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(document: Value) -> Resume {
        Resume::from_document(&document)
    }

    #[test]
    fn the_person_carries_title_employer_schools_skills_and_profiles() {
        let cv = resume(json!({
            "basics": {"name": "Ada", "label": "Engineer",
                       "profiles": [{"url": "https://github.com/ada"}, {"url": "javascript:x"}]},
            "work": [{"name": "Old Co", "endDate": "2020"}, {"name": "Acme"}],
            "education": [{"institution": "Cambridge"}],
            "skills": [{"name": "Rust"}]
        }));
        let ld = json_ld(&cv, "Ada", "https://ada.txtcv.dev/");
        let person = &ld["mainEntity"];
        assert_eq!(person["jobTitle"], "Engineer");
        assert_eq!(person["worksFor"]["name"], "Acme");
        assert_eq!(person["alumniOf"][0]["name"], "Cambridge");
        assert_eq!(person["knowsAbout"], json!(["Rust"]));
        assert_eq!(person["sameAs"], json!(["https://github.com/ada"]));
    }

    #[test]
    fn script_text_cannot_close_its_element() {
        let ld = json!({"name": "</script><script>alert(1)</script>"});
        assert!(!for_script(&ld).contains('<'));
    }

    #[test]
    fn vcard_values_are_escaped_and_lines_end_in_crlf() {
        let cv = resume(json!({"basics": {"label": "Rust, Go; and\nmore"}}));
        let card = vcard(&cv, "Ada", "https://ada.txtcv.dev/");
        assert!(
            card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\n"),
            "{card}"
        );
        assert!(
            card.contains("TITLE:Rust\\, Go\\; and\\nmore\r\n"),
            "{card}"
        );
        assert!(card.ends_with("END:VCARD\r\n"));
    }
}
