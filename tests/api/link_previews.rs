//! What a chat or social site shows for a pasted CV link: OpenGraph and Twitter card tags naming
//! `/og.png`, a 1200×630 picture of the name and label in the theme's colours, drawn once per
//! version and served like the page.

use reqwest::{StatusCode, header};
use resvg::tiny_skia::Pixmap;
use scraper::{Html, Selector};
use serde_json::json;

use crate::helpers::{TestApp, body, header_text, sample_resume, small_cv, spawn_app};

/// The picture at `path` on `username`'s host, decoded.
async fn preview(app: &TestApp, username: &str, path: &str) -> (Pixmap, Vec<u8>) {
    let response = app.get_cv(username, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(header_text(&response, "content-type"), "image/png");
    let png = response.bytes().await.unwrap().to_vec();
    let image = Pixmap::decode_png(&png).expect("a PNG");
    (image, png)
}

/// The pixel at (x, y) as `#rrggbb`.
fn colour_at(image: &Pixmap, x: u32, y: u32) -> String {
    let pixel = image.pixel(x, y).unwrap().demultiply();
    format!(
        "#{:02x}{:02x}{:02x}",
        pixel.red(),
        pixel.green(),
        pixel.blue()
    )
}

/// Pixels much darker than the paper: the drawn text.
fn dark_pixels(image: &Pixmap) -> usize {
    image
        .pixels()
        .iter()
        .filter(|p| u16::from(p.red()) + u16::from(p.green()) + u16::from(p.blue()) < 300)
        .count()
}

fn meta(page: &str, css: &str) -> String {
    let page = Html::parse_document(page);
    let selector = Selector::parse(css).unwrap();
    let element = page.select(&selector).next();
    let element = element.unwrap_or_else(|| panic!("{css} is on the page"));
    element.value().attr("content").unwrap().to_owned()
}

#[tokio::test]
async fn a_pasted_link_previews_the_name_drawn_in_the_themes_colours() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let page = body(app.get_cv("richard", "/").await).await;
    let image_url = format!("http://{}/og.png", app.cv_host("richard"));
    assert_eq!(meta(&page, r#"meta[property="og:image"]"#), image_url);
    assert_eq!(meta(&page, r#"meta[name="twitter:image"]"#), image_url);
    assert_eq!(
        meta(&page, r#"meta[name="twitter:card"]"#),
        "summary_large_image"
    );
    assert_eq!(meta(&page, r#"meta[property="og:image:width"]"#), "1200");

    let (image, png) = preview(&app, "richard", "/og.png").await;
    assert_eq!((image.width(), image.height()), (1200, 630));
    assert_eq!(colour_at(&image, 5, 5), "#1f4e8c", "the classic accent");
    assert_eq!(colour_at(&image, 600, 100), "#fffdf9", "the classic paper");
    assert!(
        dark_pixels(&image) > 2_000,
        "the name is drawn: {} dark pixels",
        dark_pixels(&image)
    );

    app.set_cv_publication("richard", true, "modern", &[]).await;
    let (modern, _) = preview(&app, "richard", "/og.png").await;
    assert_eq!(colour_at(&modern, 5, 5), "#0f766e", "the modern accent");
    assert_ne!(modern.data(), image.data());

    app.set_cv_publication("richard", true, "classic", &[])
        .await;
    let (_, again) = preview(&app, "richard", "/og.png").await;
    assert_eq!(again, png, "the same version and theme: the same bytes");
}

#[tokio::test]
async fn the_picture_is_kept_and_revalidated_like_the_page() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada Lovelace")).await;

    let first = app.get_cv("ada", "/og.png").await;
    let etag = header_text(&first, "etag").to_owned();
    assert!(etag.contains("png"), "{etag}");
    assert_eq!(header_text(&first, "x-robots-tag"), "noindex");
    assert!(first.headers().get(header::CONTENT_ENCODING).is_none());
    let revalidated = app
        .cv_request("ada", "/og.png")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    let gzip = app
        .cv_request("ada", "/og.png")
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert!(
        gzip.headers().get(header::CONTENT_ENCODING).is_none(),
        "a PNG is not compressed again"
    );

    app.save_cv_directly("ada", &small_cv("Ada King")).await;
    let saved = app.get_cv("ada", "/og.png").await;
    assert_ne!(header_text(&saved, "etag"), etag, "a save draws anew");
}

#[tokio::test]
async fn markup_in_the_name_and_label_is_only_drawn() {
    let app = spawn_app().await;
    let name = "<script>alert(1)</script>";
    let label = "\"><img src=x onerror=alert(2)>";
    let document = json!({"basics": {"name": name, "label": label, "summary": "</script><b>"}});
    app.published_user("mallory", &document).await;

    let (image, _) = preview(&app, "mallory", "/og.png").await;
    assert!(dark_pixels(&image) > 1_000, "the characters are drawn");
    let page = body(app.get_cv("mallory", "/").await).await;
    assert_eq!(
        meta(&page, r#"meta[property="og:title"]"#),
        format!("{name} — {label}")
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains("<img src=x"));
}

#[tokio::test]
async fn another_cvs_picture_is_at_its_slug_and_a_cv_not_shown_has_none() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    app.create_cv(&ada, "Talks", "talks").await;
    let talks = app.cv_id("ada", "talks").await;
    let document = small_cv("Ada, speaking").to_string();
    app.post_form(&ada, &format!("/cvs/{talks}"), &[("json", &document)])
        .await;
    app.post_form(&ada, &format!("/cvs/{talks}/publish"), &[])
        .await;

    let page = body(app.get_cv("ada", "/talks").await).await;
    let image_url = format!("http://{}/talks/og.png", app.cv_host("ada"));
    assert_eq!(meta(&page, r#"meta[property="og:image"]"#), image_url);
    preview(&app, "ada", "/talks/og.png").await;

    let not_found = body(app.get_cv("nobody", "/").await).await;
    for (username, path) in [
        ("ada", "/og.png"),
        ("nobody", "/og.png"),
        ("ada", "/x/og.png"),
    ] {
        let answer = app.get_cv(username, path).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{username}{path}");
        assert_eq!(body(answer).await, not_found);
    }
}
