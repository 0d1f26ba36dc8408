//! Private links to a CV, one per company: made on the CV's page, they show the CV even while it
//! is unpublished, count their opens (not the bots'), are never indexed, and stop working when
//! they expire or are revoked, with the same 404 as a link that never was.

use std::time::Duration;

use reqwest::{StatusCode, header};
use uuid::Uuid;

use crate::helpers::{TestApp, body, client, header_text, location, sample_resume, spawn_app};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Makes a link for `label` on `username`'s primary CV and returns its path on the CV host.
async fn share(
    app: &TestApp,
    owner: &reqwest::Client,
    cv: Uuid,
    label: &str,
    days: &str,
) -> String {
    let path = format!("/cvs/{cv}/share-links");
    let made = app
        .post_form(owner, &path, &[("label", label), ("expires_in_days", days)])
        .await;
    assert_eq!(location(&made), format!("/cvs/{cv}/details"));
    let page = body(app.get(owner, &format!("/cvs/{cv}/details")).await).await;
    let urls = crate::helpers::texts_of(&page, "td a.mono");
    let url = urls
        .first()
        .unwrap_or_else(|| panic!("a link is listed: {page}"));
    let path = url.split_once("localhost").map(|(_, rest)| rest).unwrap();
    let path = path
        .split_once('/')
        .map(|(_, rest)| format!("/{rest}"))
        .unwrap();
    assert!(path.starts_with("/s/") && path.len() == 3 + 64, "{path}");
    path
}

async fn open(app: &TestApp, username: &str, path: &str, agent: &str) -> reqwest::Response {
    app.cv_request(username, path)
        .header(header::USER_AGENT, agent)
        .send()
        .await
        .unwrap()
}

/// The id of the link made for `label`.
async fn link_id(app: &TestApp, label: &str) -> Uuid {
    sqlx::query_scalar("select id from share_links where label = $1")
        .bind(label)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn opens(app: &TestApp) -> Vec<i32> {
    sqlx::query_scalar("select opens from share_links order by created_at")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_private_link_shows_an_unpublished_cv_counts_people_and_is_never_indexed() {
    let app = spawn_app().await;
    let richard = app.signed_up("richard").await;
    app.save_cv_directly("richard", &sample_resume()).await;
    let cv = app.primary_cv_id("richard").await;
    assert_eq!(
        app.get_cv("richard", "/").await.status(),
        StatusCode::NOT_FOUND
    );

    let link = share(&app, &richard, cv, "Acme, backend role", "").await;
    let shown = open(&app, "richard", &link, FIREFOX).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(header_text(&shown, "x-robots-tag"), "noindex");
    let page = body(shown).await;
    assert!(page.contains("Richard Hendriks"));
    assert!(
        !page.contains("resume.json"),
        "no public files behind a private link"
    );
    open(&app, "richard", &link, "Slackbot-LinkExpanding 1.0").await;
    open(&app, "richard", &link, FIREFOX).await;

    assert_eq!(
        opens(&app).await,
        vec![2],
        "people counted, the preview bot not"
    );
    let details = body(app.get(&richard, &format!("/cvs/{cv}/details")).await).await;
    assert!(details.contains("Acme, backend role") && details.contains("<td>2</td>"));
    let qr = crate::helpers::texts_of(&details, "img.qr");
    assert_eq!(
        qr.len(),
        1,
        "a QR code of the public address, for paper CVs"
    );
    assert!(details.contains(r#"src="data:image/svg+xml,"#));
    assert!(details.contains(&format!("http://richard.localhost:{}/", app.port)));
    assert_eq!(
        app.get_cv("richard", "/").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_expired_a_revoked_and_an_unknown_link_are_the_same_404() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &sample_resume()).await;
    let cv = app.primary_cv_id("ada").await;
    let expiring = share(&app, &ada, cv, "Expiring", "1").await;
    assert_eq!(
        open(&app, "ada", &expiring, FIREFOX).await.status(),
        StatusCode::OK
    );

    let unknown = body(open(&app, "ada", &format!("/s/{}", "0".repeat(64)), FIREFOX).await).await;
    app.clock.advance(Duration::from_secs(25 * 3600));
    let expired = open(&app, "ada", &expiring, FIREFOX).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(expired).await, unknown);

    let revoked_link = share(&app, &ada, cv, "Revoked", "").await;
    let id = link_id(&app, "Revoked").await;
    let revoke = format!("/cvs/{cv}/share-links/{id}/revoke");
    assert_eq!(
        location(&app.post_form(&ada, &revoke, &[]).await),
        format!("/cvs/{cv}/details")
    );
    let revoked = open(&app, "ada", &revoked_link, FIREFOX).await;
    assert_eq!(revoked.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(revoked).await, unknown);
    for garbage in ["/s/x", "/s/%00", "/s/ZZ"] {
        assert_eq!(
            open(&app, "ada", garbage, FIREFOX).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn another_member_and_a_visitor_cannot_make_or_revoke_links_and_a_link_opens_only_its_host() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &sample_resume()).await;
    let cv = app.primary_cv_id("ada").await;
    let link = share(&app, &ada, cv, "Acme", "").await;
    let id = link_id(&app, "Acme").await;
    let bob = app.signed_up("bob").await;

    let make = format!("/cvs/{cv}/share-links");
    let revoke = format!("/cvs/{cv}/share-links/{id}/revoke");
    for path in [&make, &revoke] {
        let answer = app.post_form(&bob, path, &[("label", "Mine")]).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        let answer = app.post_form(&client(), path, &[("label", "Mine")]).await;
        assert!(location(&answer).starts_with("/login"), "{path}");
    }
    assert_eq!(opens(&app).await.len(), 1, "no link was made");
    assert_eq!(
        open(&app, "bob", &link, FIREFOX).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        open(&app, "ada", &link, FIREFOX).await.status(),
        StatusCode::OK,
        "not revoked"
    );
}

#[tokio::test]
async fn a_bad_label_or_expiry_makes_no_link_and_says_why() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let cv = app.primary_cv_id("ada").await;
    let path = format!("/cvs/{cv}/share-links");
    for (label, days, why) in [
        ("", "", "the label"),
        ("a\0b", "", "control character"),
        ("Acme", "abc", "1 to 365 days"),
        ("Acme", "9999", "1 to 365 days"),
    ] {
        app.post_form(&ada, &path, &[("label", label), ("expires_in_days", days)])
            .await;
        let page = body(app.get(&ada, &format!("/cvs/{cv}/details")).await).await;
        assert!(
            page.contains("No link was made") && page.contains(why),
            "{label:?} {days:?}"
        );
    }
    assert!(opens(&app).await.is_empty());
}

#[tokio::test]
async fn a_private_link_has_its_pdf_and_picture_and_counts_each_download() {
    let app = spawn_app().await;
    let richard = app.signed_up("richard").await;
    app.save_cv_directly("richard", &sample_resume()).await;
    let cv = app.primary_cv_id("richard").await;
    let link = share(&app, &richard, cv, "Acme, backend role", "").await;

    let page = body(open(&app, "richard", &link, FIREFOX).await).await;
    let pdf_path = format!("{link}/resume.pdf");
    assert!(page.contains(&format!(r#"href="{pdf_path}""#)), "{page}");
    let image_url = format!("http://{}{link}/og.png", app.cv_host("richard"));
    assert!(page.contains(&format!(r#"content="{image_url}""#)));

    let pdf = open(&app, "richard", &pdf_path, FIREFOX).await;
    assert_eq!(pdf.status(), StatusCode::OK, "printed while unpublished");
    assert_eq!(header_text(&pdf, "content-type"), "application/pdf");
    assert_eq!(header_text(&pdf, "x-robots-tag"), "noindex");
    open(&app, "richard", &pdf_path, "Googlebot/2.1").await;
    let image = open(&app, "richard", &format!("{link}/og.png"), FIREFOX).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(header_text(&image, "content-type"), "image/png");

    let (opens, downloads): (i32, i32) =
        sqlx::query_as("select opens, pdf_downloads from share_links")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((opens, downloads), (1, 1), "people counted, bots not");
    let details = body(app.get(&richard, &format!("/cvs/{cv}/details")).await).await;
    assert!(details.contains("PDF downloads"));
    let dashboard = body(app.get(&richard, "/dashboard").await).await;
    assert!(
        dashboard
            .contains("<tr><td>Acme, backend role</td><td>no expiry</td><td>1</td><td>1</td></tr>"),
        "{dashboard}"
    );

    let id = link_id(&app, "Acme, backend role").await;
    app.post_form(&richard, &format!("/cvs/{cv}/share-links/{id}/revoke"), &[])
        .await;
    for file in ["/resume.pdf", "/og.png"] {
        let answer = open(&app, "richard", &format!("{link}{file}"), FIREFOX).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{file}");
    }
    let bob_host = open(&app, "bob", &pdf_path, FIREFOX).await;
    assert_eq!(bob_host.status(), StatusCode::NOT_FOUND);
}
