//! What keeps the hot paths cheap and small: public pages gzipped once, not per request; pages
//! compressed when it pays; the status partial that thousands of browsers poll kept tiny.

use std::io::Read;

use reqwest::{StatusCode, header};

use crate::helpers::{
    body, header_text, location, sample_resume, small_cv, spawn_app, spawn_web_only,
};

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip stream");
    text
}

#[tokio::test]
async fn a_public_page_is_sent_gzipped_to_browsers_that_accept_it() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;
    let plain = body(app.get_cv("richard", "/").await).await;

    let gzipped = app
        .cv_request("richard", "/")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .unwrap();

    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(header_text(&gzipped, "content-encoding"), "gzip");
    assert_eq!(header_text(&gzipped, "vary"), "accept-encoding");
    let bytes = gzipped.bytes().await.unwrap();
    assert!(
        bytes.len() * 2 < plain.len(),
        "compressed to less than half"
    );
    assert_eq!(gunzip(&bytes), plain);
}

#[tokio::test]
async fn a_public_page_is_plain_for_clients_that_do_not_accept_gzip() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let refused = app
        .cv_request("richard", "/")
        .header(header::ACCEPT_ENCODING, "gzip;q=0, identity")
        .send()
        .await
        .unwrap();

    assert_eq!(header_text(&refused, "content-encoding"), "");
    assert!(body(refused).await.contains("Richard Hendriks"));
}

#[tokio::test]
async fn app_pages_are_compressed_for_browsers_that_accept_it() {
    let app = spawn_app().await;

    let page = reqwest::Client::new()
        .get(app.url("/login"))
        .header(header::ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header_text(&page, "content-encoding"), "br");
}

#[tokio::test]
async fn the_status_partial_is_small_and_sent_as_is() {
    let app = spawn_web_only().await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    let form = [("job_description", "We are hiring a Rust engineer.")];
    let created = app.post_form(&ada, "/cover-letters", &form).await;
    let letter = location(&created).to_owned();

    let partial = ada
        .get(app.url(&format!("{letter}/status")))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();

    assert_eq!(partial.status(), StatusCode::OK);
    assert_eq!(header_text(&partial, "content-encoding"), "");
    let html = body(partial).await;
    assert!(html.contains(r#"data-status="pending""#), "{html}");
    assert!(html.len() < 2048, "{} bytes", html.len());
}
