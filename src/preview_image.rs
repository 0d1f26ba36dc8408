//! The picture a chat or social site shows beside a pasted CV link (`og:image`): 1200×630, the
//! person's name and label and the page's address, in the theme's colours. Drawn as an SVG we
//! write ourselves and rasterised by resvg, in process: no browser, no network, no file but the
//! system's fonts (Debian's DejaVu, which every Debian desktop and Chromium install brings).
//!
//! Every text is XML-escaped into the SVG, and the SVG has no element that loads anything, so a
//! name written as markup is drawn as the characters it is.

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use resvg::{tiny_skia, usvg};

use crate::domain::resume::Theme;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;

/// The left and right margin, and so the width a line may take.
const MARGIN: f32 = 96.0;
/// The name's size when it fits, and the smallest it is shrunk to before it is cut.
const NAME_SIZE: f32 = 84.0;
const MIN_NAME_SIZE: f32 = 48.0;
const LABEL_SIZE: f32 = 42.0;
const ADDRESS_SIZE: f32 = 30.0;
/// A DejaVu glyph's mean advance, in ems, for the letters names are made of (bold is wider):
/// what decides the size a line is drawn at, and where a too-long one is cut.
const BOLD_ADVANCE: f32 = 0.66;
const REGULAR_ADVANCE: f32 = 0.58;

/// What the card says.
pub struct PreviewCard<'a> {
    pub name: &'a str,
    pub label: &'a str,
    /// The page's address without its scheme, e.g. `ada.txtcv.dev`.
    pub address: &'a str,
    pub theme: Theme,
}

/// The theme's colours, as its stylesheet (`static/themes/*.css`) defines them.
struct Palette {
    paper: &'static str,
    ink: &'static str,
    muted: &'static str,
    accent: &'static str,
    font: &'static str,
}

impl Palette {
    fn of(theme: Theme) -> Self {
        match theme {
            Theme::Classic => Self {
                paper: "#fffdf9",
                ink: "#1d1d1f",
                muted: "#5b5b60",
                accent: "#1f4e8c",
                font: "DejaVu Serif, Liberation Serif, serif",
            },
            Theme::Modern => Self {
                paper: "#ffffff",
                ink: "#17202a",
                muted: "#5d6b7a",
                accent: "#0f766e",
                font: "DejaVu Sans, Liberation Sans, sans-serif",
            },
        }
    }
}

/// The system's fonts, read once: scanning them takes longer than drawing a card.
static FONTS: LazyLock<Arc<usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_system_fonts();
    if fonts.is_empty() {
        tracing::warn!("no system fonts: link preview images will have no text");
    }
    Arc::new(fonts)
});

impl PreviewCard<'_> {
    /// The card as a PNG.
    pub fn png(&self) -> anyhow::Result<Vec<u8>> {
        let options = usvg::Options {
            fontdb: FONTS.clone(),
            // Nothing of ours refers to a file; should anything, it is not read.
            resources_dir: None,
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&self.svg(), &options).context("the card's SVG")?;
        let mut pixmap =
            tiny_skia::Pixmap::new(WIDTH, HEIGHT).context("a pixmap of the card's size")?;
        resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
        pixmap.encode_png().context("the card as PNG")
    }

    /// The card as SVG source.
    pub fn svg(&self) -> String {
        let palette = Palette::of(self.theme);
        let room = WIDTH as f32 - 2.0 * MARGIN;
        let (name, name_size) = fitted(self.name, room, NAME_SIZE, BOLD_ADVANCE);
        let (label, _) = fitted(self.label, room, LABEL_SIZE, REGULAR_ADVANCE);
        let (address, _) = fitted(self.address, room, ADDRESS_SIZE, REGULAR_ADVANCE);
        let Palette {
            paper,
            ink,
            muted,
            accent,
            font,
        } = palette;
        let (width, height) = (WIDTH, HEIGHT);
        let label_line = if label.is_empty() {
            String::new()
        } else {
            format!(
                r#"<text x="{MARGIN}" y="372" font-size="{LABEL_SIZE}" fill="{muted}">{}</text>"#,
                escape(&label)
            )
        };
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
<rect width="{width}" height="{height}" fill="{paper}"/>
<rect width="{width}" height="18" fill="{accent}"/>
<rect x="{MARGIN}" y="190" width="120" height="8" fill="{accent}"/>
<g font-family="{font}">
<text x="{MARGIN}" y="300" font-size="{name_size}" font-weight="bold" fill="{ink}">{name}</text>
{label_line}
<text x="{MARGIN}" y="548" font-size="{ADDRESS_SIZE}" fill="{accent}">{address}</text>
</g>
</svg>"#,
            name = escape(&name),
            address = escape(&address),
        )
    }
}

/// `text` on one line of `room` pixels: at `size` when it fits, shrunk (down to
/// [`MIN_NAME_SIZE`] for large text) when it nearly does, else cut at a word with an ellipsis.
/// Answers the line and its size.
fn fitted(text: &str, room: f32, size: f32, advance: f32) -> (String, f32) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = text.chars().count() as f32;
    let fits = |size: f32| chars * size * advance <= room + 0.5;
    if fits(size) {
        return (text, size);
    }
    let shrunk = (room / (chars * advance)).max(size.min(MIN_NAME_SIZE));
    if fits(shrunk) {
        return (text, shrunk);
    }
    let max = (room / (shrunk * advance)).floor() as usize;
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    (format!("{}…", at_word.trim_end()), shrunk)
}

/// `text` as XML character data.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Saved CVs carry none, but XML could not hold them.
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card<'a>(name: &'a str, label: &'a str) -> PreviewCard<'a> {
        PreviewCard {
            name,
            label,
            address: "ada.txtcv.dev",
            theme: Theme::Modern,
        }
    }

    #[test]
    fn markup_in_a_name_is_drawn_as_text() {
        let svg = card("<script>x</script>&\"A\"", "</text><image href='x'/>").svg();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<image"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;x&lt;/script&gt;&amp;&quot;A&quot;"),
            "{svg}"
        );
        assert!(usvg::Tree::from_str(&svg, &usvg::Options::default()).is_ok());
    }

    #[test]
    fn a_long_name_is_shrunk_then_cut_at_a_word() {
        let room = WIDTH as f32 - 2.0 * MARGIN;
        let (short, size) = fitted("Ada Lovelace", room, NAME_SIZE, BOLD_ADVANCE);
        assert_eq!((short.as_str(), size), ("Ada Lovelace", NAME_SIZE));

        let (longer, size) = fitted("Augusta Ada King, Countess", room, NAME_SIZE, BOLD_ADVANCE);
        assert_eq!(longer, "Augusta Ada King, Countess");
        assert!((MIN_NAME_SIZE..NAME_SIZE).contains(&size));

        let very_long = "Augusta Ada King, Countess of Lovelace, née Byron, of Ockham Park";
        let (cut, size) = fitted(very_long, room, NAME_SIZE, BOLD_ADVANCE);
        assert_eq!(size, MIN_NAME_SIZE);
        assert!(cut.ends_with('…') && cut.len() < very_long.len(), "{cut}");
        assert!(very_long.starts_with(cut.trim_end_matches('…')));
    }

    #[test]
    fn the_card_is_a_png_of_the_preview_size() {
        let png = card("Ada Lovelace", "Analyst").png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (WIDTH, HEIGHT));
    }
}
