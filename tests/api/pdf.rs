//! `resume.pdf`: the public page printed by headless Chromium, checked with poppler's tools.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::future::join_all;
use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use serde_json::json;

use crate::helpers::{
    TestApp, body, header_text, sample_resume, small_cv, spawn_app, spawn_app_with,
};

/// The output of a poppler tool on `pdf`, the file named before `after`.
fn poppler(tool: &str, pdf: &[u8], after: &[&str]) -> String {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), pdf).expect("the PDF is written");
    let output = Command::new(tool)
        .arg(file.path())
        .args(after)
        .output()
        .unwrap_or_else(|error| {
            panic!("{tool} cannot run ({error}): run `make test`, which installs poppler-utils")
        });
    assert!(output.status.success(), "{tool} fails: {output:?}");
    String::from_utf8(output.stdout).expect("the output is text")
}

/// The PDF's text, each run of white space one space.
fn pdf_text(pdf: &[u8]) -> String {
    let text = poppler("pdftotext", pdf, &["-"]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of one `pdfinfo` field, such as `Title` or `Page size`.
fn pdf_info(pdf: &[u8], field: &str) -> String {
    poppler("pdfinfo", pdf, &[])
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_owned())
        .unwrap_or_default()
}

async fn download(app: &TestApp, username: &str, path: &str) -> Vec<u8> {
    let response = app.get_cv(username, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(header_text(&response, "content-type"), "application/pdf");
    response.bytes().await.expect("a body").to_vec()
}

/// The page's name, section headings and jobs, in the document's order.
async fn page_outline(app: &TestApp, username: &str) -> Vec<String> {
    let page = Html::parse_document(&body(app.get_cv(username, "/").await).await);
    let selector = Selector::parse("h1, h2, #work h3").expect("a valid selector");
    page.select(&selector)
        .map(|e| e.text().collect::<String>())
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Lower case without white space: headings are upper-cased and letter-spaced by the theme,
/// which pdftotext reads as "V O L U N T E E R I N G".
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[tokio::test]
async fn the_sample_prints_its_name_sections_and_jobs_in_the_pages_order() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let pdf = download(&app, "richard", "/resume.pdf").await;

    // As the classic page shows them: its stylesheet puts References last (`order: 1`).
    let shown = [
        "Richard Hendriks",
        "About",
        "Work experience",
        "CEO/President, Pied Piper",
        "Projects",
        "Volunteering",
        "Education",
        "Awards",
        "Publications",
        "Skills",
        "Languages",
        "Interests",
        "References",
    ];
    let mut outline = page_outline(&app, "richard").await;
    outline.sort();
    let mut expected = shown.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(outline, expected, "the page's headings");
    let text = squeezed(&pdf_text(&pdf));
    let mut from = 0;
    for heading in shown.map(squeezed) {
        let found = text[from..].find(heading.as_str());
        let at = found.unwrap_or_else(|| panic!("{heading:?} after {from} in: {text}"));
        from += at + heading.len();
    }
    assert_eq!(pdf_info(&pdf, "Title"), "Richard Hendriks");
    assert!(pdf_info(&pdf, "Page size").ends_with("(A4)"));
}

#[tokio::test]
async fn letter_paper_is_asked_for_and_other_papers_are_refused() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada Lovelace")).await;

    let letter = download(&app, "ada", "/resume.pdf?paper=letter").await;
    assert!(pdf_info(&letter, "Page size").ends_with("(letter)"));

    let legal = app.get_cv("ada", "/resume.pdf?paper=legal").await;
    assert_eq!(legal.status(), StatusCode::BAD_REQUEST);
}

/// A server that counts the connections it is sent, and answers none.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (address, connections)
}

#[tokio::test]
async fn printing_fetches_nothing_the_cv_links_to() {
    let app = spawn_app().await;
    let (server, connections) = counting_server().await;
    let cv = json!({
        "basics": {"name": "Ada Lovelace", "image": format!("{server}/photo.jpg"),
                   "url": format!("{server}/home"),
                   "profiles": [{"network": "Web", "url": format!("{server}/profile")}]},
        "work": [{"name": "Engines", "position": "Engineer", "url": format!("{server}/work")}],
        "projects": [{"name": "Notes", "url": format!("{server}/notes")}]
    });
    app.published_user("ada", &cv).await;
    let page = body(app.get_cv("ada", "/").await).await;
    assert!(
        page.contains(&format!(r#"src="{server}/photo.jpg""#)),
        "a browser would fetch it"
    );

    let pdf = download(&app, "ada", "/resume.pdf").await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no connection to {server}"
    );
    assert!(pdf_text(&pdf).contains("Ada Lovelace"));
}

async fn kept_pdfs(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from cv_pdfs")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_repeat_download_is_the_kept_pdf_not_a_new_print() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada Lovelace")).await;

    let started = Instant::now();
    let first = download(&app, "ada", "/resume.pdf").await;
    let printed_in = started.elapsed();
    let started = Instant::now();
    let second = download(&app, "ada", "/resume.pdf").await;
    let kept_in = started.elapsed();

    eprintln!("first PDF in {printed_in:?}, repeat in {kept_in:?}");
    assert_eq!(first, second, "byte for byte");
    assert_eq!(kept_pdfs(&app).await, 1, "printed once");

    app.save_cv_directly("ada", &small_cv("Ada King")).await;
    let renamed = download(&app, "ada", "/resume.pdf").await;
    assert!(
        pdf_text(&renamed).contains("Ada King"),
        "a save prints anew"
    );
    assert_eq!(
        kept_pdfs(&app).await,
        1,
        "the old version's PDF is replaced"
    );
}

#[tokio::test]
async fn the_pdf_has_the_pages_headers_and_validators() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada Lovelace")).await;

    let response = app
        .cv_request("ada", "/resume.pdf")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_text(&response, "content-disposition"),
        r#"inline; filename="ada.pdf""#
    );
    assert_eq!(header_text(&response, "x-robots-tag"), "noindex");
    assert_eq!(
        header_text(&response, "content-encoding"),
        "",
        "a PDF is compressed inside"
    );
    let etag = header_text(&response, "etag").to_owned();
    assert!(!header_text(&response, "last-modified").is_empty());

    let again = app
        .cv_request("ada", "/resume.pdf")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_text(&again, "x-robots-tag"), "noindex");

    let letter = app.get_cv("ada", "/resume.pdf?paper=letter").await;
    assert_ne!(
        header_text(&letter, "etag"),
        etag,
        "each paper is its own file"
    );
}

#[tokio::test]
async fn unknown_unpublished_and_suspended_cvs_are_the_pages_404() {
    let app = spawn_app().await;
    app.signed_up("draft").await;
    app.save_cv_directly("draft", &sample_resume()).await;
    app.published_user("gone", &sample_resume()).await;
    sqlx::query("update users set status = 'suspended' where username = 'gone'")
        .execute(&app.db)
        .await
        .unwrap();

    for username in ["nobody", "draft", "gone"] {
        let page = app.get_cv(username, "/").await;
        let pdf = app.get_cv(username, "/resume.pdf?paper=letter").await;
        assert_eq!(pdf.status(), StatusCode::NOT_FOUND, "{username}");
        assert_eq!(body(pdf).await, body(page).await, "{username}");
    }
    assert_eq!(kept_pdfs(&app).await, 0);
}

#[tokio::test]
async fn a_burst_of_first_downloads_is_printed_or_asked_to_wait() {
    let app = spawn_app_with(|settings| settings.auth.max_signups = 100).await;
    for i in 0..20 {
        let username = format!("user{i}");
        app.published_user(&username, &small_cv(&username)).await;
    }

    let downloads = (0..20).map(|i| {
        let request = app.cv_request(&format!("user{i}"), "/resume.pdf");
        async move { request.send().await.expect("an answer") }
    });
    let answers = tokio::time::timeout(Duration::from_secs(120), join_all(downloads))
        .await
        .expect("no download hangs");

    let mut printed = 0;
    for answer in &answers {
        match answer.status() {
            StatusCode::OK => printed += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(header_text(answer, "retry-after"), "5");
            }
            other => panic!("{other}"),
        }
    }
    assert!(printed >= 2, "{printed} printed");
}

async fn pdf_downloads_today(app: &TestApp) -> i64 {
    sqlx::query_scalar("select coalesce(sum(pdf_downloads), 0)::bigint from cv_daily_views")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn downloads_are_counted_for_the_owner_but_not_the_bots() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.publish_cv_directly("ada", &small_cv("Ada Lovelace"), "classic", &[])
        .await;
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    for agent in [
        firefox,
        firefox,
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    ] {
        let answer = app
            .cv_request("ada", "/resume.pdf")
            .header(header::USER_AGENT, agent)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }

    // Counts are written in batches, a few times a second.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pdf_downloads_today(&app).await < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pdf_downloads_today(&app).await, 2);
    let dashboard = body(app.get(&ada, "/dashboard").await).await;
    assert!(
        dashboard.contains("<strong>2</strong> PDF downloads in the last 30 days"),
        "{dashboard}"
    );
}

#[tokio::test]
async fn a_printer_that_cannot_start_asks_the_visitor_to_come_back() {
    let app = spawn_app_with(|settings| {
        settings.pdf.chromium = "/nonexistent/chromium".into();
    })
    .await;
    app.published_user("ada", &small_cv("Ada Lovelace")).await;

    let answer = app.get_cv("ada", "/resume.pdf").await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header_text(&answer, "retry-after"), "5");
    assert!(
        body(answer).await.contains("try again"),
        "a page that says what to do"
    );
    assert_eq!(kept_pdfs(&app).await, 0, "nothing kept");
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::OK);
}
