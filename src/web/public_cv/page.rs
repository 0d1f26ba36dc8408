//! The public CV page, as the visitor, the PDF printer and link previews see it.

use askama::Template;

use super::visit::Address;
use crate::{
    domain::resume::{Theme, linked_data, view::Resume},
    web::host::PublicUrls,
};

#[derive(Template)]
#[template(path = "public/cv.html")]
pub struct CvPage<'a> {
    resume: &'a Resume,
    theme: Theme,
    title: String,
    description: String,
    page_url: String,
    app_url: String,
    /// The report form, for a page at its public address.
    report_url: Option<String>,
    /// Where this CV's public files are (resume.json, contact.vcf): empty for the primary,
    /// `/<slug>` for another, none behind a private link.
    files: Option<String>,
    /// This page printed: beside the public files, or behind the private link.
    pdf_url: String,
    /// The link preview's picture (`og:image`), an absolute address as the tag wants.
    image_url: String,
    /// schema.org `ProfilePage` JSON-LD, safe inside its `<script>` element.
    json_ld: String,
    /// For the PDF printer: the theme's stylesheet, inlined because the printed page may load
    /// nothing (see `crate::pdf`).
    print_css: Option<String>,
}

/// The name a CV goes by: its owner's as written in it, else their username.
pub fn display_name(resume: &Resume, username: &str) -> String {
    match resume.basics.name.as_str() {
        "" => username.to_owned(),
        name => name.to_owned(),
    }
}

impl<'a> CvPage<'a> {
    pub fn new(
        resume: &'a Resume,
        theme: Theme,
        username: &str,
        address: &Address,
        links: &PublicUrls<'_>,
    ) -> Self {
        let basics = &resume.basics;
        let name = display_name(resume, username);
        let title = if basics.label.is_empty() {
            name.clone()
        } else {
            format!("{name} — {}", basics.label)
        };
        let description = if basics.summary.is_empty() {
            format!("The CV of {name}.")
        } else {
            truncate_words(basics.summary.as_str(), 160)
        };
        let app_url = links.app();
        let page_url = address.page_url(username, links);
        let (files, report_url) = match address {
            Address::Public { slug } => (
                Some(address.path_prefix()),
                Some(match slug {
                    None => format!("{app_url}report/{username}"),
                    Some(slug) => format!("{app_url}report/{username}/{slug}"),
                }),
            ),
            // A private link's CV may be unpublished: no public files or report form to link.
            Address::Shared { .. } => (None, None),
        };
        Self {
            resume,
            theme,
            title,
            description,
            json_ld: linked_data::for_script(&linked_data::json_ld(resume, &name, &page_url)),
            files,
            pdf_url: format!("{}/resume.pdf", address.path_prefix()),
            image_url: address.file_url(username, links, "og.png"),
            page_url,
            report_url,
            app_url,
            print_css: None,
        }
    }

    /// The same page for the PDF printer: styles inline, and titled with the name alone, which
    /// Chromium makes the PDF's Title.
    pub fn for_print(mut self, username: &str, css: String) -> Self {
        self.title = display_name(self.resume, username);
        self.print_css = Some(css);
        self
    }
}

/// At most `max` characters, cut at a word and marked with an ellipsis when cut.
fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at_word = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let summary = "word ".repeat(50);
        let cut = truncate_words(&summary, 160);
        assert!(cut.chars().count() <= 160);
        assert!(cut.ends_with("word…"), "{cut}");
        assert_eq!(truncate_words("Short.", 160), "Short.");
    }
}
