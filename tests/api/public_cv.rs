//! The public CV on `<username>.<base domain>`: what a visitor without an account sees.

use std::time::Duration;

use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::helpers::{TestApp, body, client, header_text, sample_resume, spawn_app};

fn select<'a>(page: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(css).expect("a valid selector");
    page.select(&selector).collect()
}

fn visible_text(page: &Html) -> String {
    select(page, "body")
        .iter()
        .flat_map(|body| body.text())
        .collect()
}

const DATE_KEYS: [&str; 4] = ["startDate", "endDate", "date", "releaseDate"];

/// "2013-12-01" → "Dec 2013", the way the page writes dates.
fn date_in_words(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = date.split('-');
    let year = parts.next().unwrap();
    match parts.next() {
        Some(month) => format!("{} {year}", MONTHS[month.parse::<usize>().unwrap() - 1]),
        None => year.to_owned(),
    }
}

/// Every string in `value` with the key it is under, skipping `meta` and `$schema`.
fn string_leaves<'a>(key: &'a str, value: &'a Value, leaves: &mut Vec<(&'a str, &'a str)>) {
    match value {
        Value::String(text) => leaves.push((key, text)),
        Value::Array(items) => items
            .iter()
            .for_each(|item| string_leaves(key, item, leaves)),
        Value::Object(fields) => {
            for (key, value) in fields {
                if key != "meta" && key != "$schema" {
                    string_leaves(key, value, leaves);
                }
            }
        }
        _ => {}
    }
}

/// `value` with every string replaced by `payload`.
fn with_every_string(value: &Value, payload: &str) -> Value {
    match value {
        Value::String(_) => Value::String(payload.to_owned()),
        Value::Array(items) => items
            .iter()
            .map(|i| with_every_string(i, payload))
            .collect(),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), with_every_string(v, payload)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn page_of(app: &TestApp, username: &str) -> Html {
    let response = app.get_cv(username, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    Html::parse_document(&body(response).await)
}

async fn views_today(app: &TestApp, username: &str) -> i32 {
    sqlx::query_scalar(
        "select coalesce(sum(v.views), 0)::int from cv_daily_views v join users u on u.id = v.owner_id
         where u.username = $1 and v.day = (now() at time zone 'utc')::date",
    )
    .bind(username)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sample_cv_shows_every_value_with_dates_in_words_and_links_clickable() {
    let app = spawn_app().await;
    let sample = sample_resume();
    app.published_user("richard", &sample).await;

    let page = page_of(&app, "richard").await;
    let text = visible_text(&page);
    let hrefs: Vec<&str> = select(&page, "a[href]")
        .iter()
        .filter_map(|a| a.value().attr("href"))
        .collect();
    let mut leaves = Vec::new();
    string_leaves("", &sample, &mut leaves);
    assert!(leaves.len() > 60, "the walk finds the sample's strings");
    for (key, value) in leaves.into_iter().filter(|(_, v)| !v.is_empty()) {
        if DATE_KEYS.contains(&key) {
            let words = date_in_words(value);
            assert!(text.contains(&words), "{key} {value} is shown as {words}");
            assert!(
                !text.contains(value),
                "{key} {value} is not shown as written"
            );
        } else if key == "url" {
            assert!(hrefs.contains(&value), "{value} is a link");
        } else {
            assert!(text.contains(value), "{key}: {value} is on the page");
        }
    }
    assert!(hrefs.contains(&"mailto:richard.hendriks@mail.com"));
    assert!(hrefs.contains(&"tel:9125554321"));
    assert!(
        text.contains("Dec 2013 – Dec 2014"),
        "a period reads as words"
    );
    assert_eq!(
        select(&page, r#"time[datetime="2013-12-01"]"#).len(),
        1,
        "dates are machine-readable too"
    );
    for link in select(&page, "main a[href]") {
        assert_eq!(link.value().attr("rel"), Some("noopener nofollow"));
    }
}

#[tokio::test]
async fn the_page_is_semantic_and_complete_without_the_app_frame() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let page = page_of(&app, "richard").await;
    assert_eq!(select(&page, "html[lang]").len(), 1);
    assert_eq!(
        select(&page, "main header h1")[0].inner_html(),
        "Richard Hendriks"
    );
    for section in select(&page, "main section") {
        let label = section.value().attr("aria-labelledby").expect("labelled");
        assert_eq!(select(&page, &format!("h2#{label}")).len(), 1, "{label}");
    }
    assert_eq!(select(&page, "section#work article").len(), 1);
    assert_eq!(select(&page, "section#work ul.highlights li").len(), 3);
    assert_eq!(select(&page, "section#skills ul.keywords").len(), 2);
    assert!(
        select(&page, "section#certificates").is_empty(),
        "empty sections are left out"
    );
    assert!(
        select(
            &page,
            r#".site-nav, script:not([type="application/ld+json"])"#
        )
        .is_empty(),
        "no app navigation or scripts (JSON-LD is data, never run)"
    );
}

#[tokio::test]
async fn the_page_has_a_title_description_and_open_graph_tags() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let page = page_of(&app, "richard").await;
    let meta = |css: &str| {
        select(&page, css)[0]
            .value()
            .attr("content")
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        select(&page, "title")[0].inner_html(),
        "Richard Hendriks — Programmer"
    );
    let description = meta(r#"meta[name="description"]"#);
    assert!(description.starts_with("Richard hails from Tulsa."));
    assert!(description.chars().count() <= 160 && description.ends_with('…'));
    assert_eq!(
        meta(r#"meta[property="og:title"]"#),
        "Richard Hendriks — Programmer"
    );
    assert_eq!(meta(r#"meta[property="og:description"]"#), description);
    assert_eq!(meta(r#"meta[property="og:type"]"#), "profile");
    assert_eq!(
        meta(r#"meta[property="og:url"]"#),
        format!("http://{}/", app.cv_host("richard"))
    );
}

#[tokio::test]
async fn the_footer_links_to_txtcv_a_report_form_and_the_pdf() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let page = page_of(&app, "richard").await;
    let links: Vec<&str> = select(&page, "footer a")
        .iter()
        .filter_map(|a| a.value().attr("href"))
        .collect();
    let app_url = format!("http://{}:{}/", app.settings.server.base_domain, app.port);
    assert!(links.contains(&app_url.as_str()), "{links:?}");
    assert!(
        links.contains(&format!("{app_url}report/richard").as_str()),
        "{links:?}"
    );
    assert!(links.contains(&"/resume.pdf"), "{links:?}");
}

#[tokio::test]
async fn an_entry_without_an_end_is_ongoing_and_a_bare_year_stays_a_year() {
    let app = spawn_app().await;
    let document = json!({"basics": {"name": "Ada"}, "work": [
        {"name": "Analytical Engines", "position": "Engineer", "startDate": "2021-03"},
        {"name": "Babbage & Co", "position": "Intern", "startDate": "2019", "endDate": "2021"},
    ]});
    app.published_user("ada", &document).await;

    let text = visible_text(&page_of(&app, "ada").await);
    assert!(text.contains("Mar 2021 – present"), "{text}");
    assert!(text.contains("2019 – 2021"), "{text}");
    assert!(text.contains("Babbage & Co"));
}

#[tokio::test]
async fn a_document_with_odd_values_still_renders_what_it_can() {
    let app = spawn_app().await;
    let document = json!({"basics": {"name": "Ada", "location": "London", "profiles": 3},
        "work": ["oops", {"position": 7, "highlights": "Wrote the first program"}],
        "skills": {"name": "not a list"}});
    app.published_user("ada", &document).await;

    let text = visible_text(&page_of(&app, "ada").await);
    assert!(text.contains("Ada"));
    assert!(text.contains("Wrote the first program"));
}

#[tokio::test]
async fn hidden_fields_are_in_neither_the_page_nor_resume_json() {
    let app = spawn_app().await;
    app.signed_up("richard").await;
    let hidden = ["/basics/email", "/basics/phone", "/basics/location/address"];
    app.publish_cv_directly("richard", &sample_resume(), "classic", &hidden)
        .await;

    let page = body(app.get_cv("richard", "/").await).await;
    let json = body(app.get_cv("richard", "/resume.json").await).await;
    let card = body(app.get_cv("richard", "/contact.vcf").await).await;
    assert!(
        page.contains("application/ld+json"),
        "the page carries JSON-LD"
    );
    for raw in [&page, &json, &card] {
        for private in ["richard.hendriks@mail.com", "555-4321", "2712 Broadway"] {
            assert!(!raw.contains(private), "{private} is hidden");
        }
        assert!(
            raw.contains("San Francisco"),
            "the rest of the address stays"
        );
    }
}

#[tokio::test]
async fn resume_json_is_the_published_document_for_any_origin() {
    let app = spawn_app().await;
    let sample = sample_resume();
    app.published_user("richard", &sample).await;

    let response = app.get_cv("richard", "/resume.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_text(&response, "content-type").starts_with("application/json"));
    assert_eq!(header_text(&response, "access-control-allow-origin"), "*");
    let text = body(response).await;
    assert!(text.contains("\n  \"basics\": {"), "pretty-printed");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), sample);
}

#[tokio::test]
async fn unknown_unpublished_suspended_and_empty_cvs_are_the_same_404() {
    let app = spawn_app().await;
    app.signed_up("draft").await;
    app.save_cv_directly("draft", &sample_resume()).await;
    app.published_user("gone", &sample_resume()).await;
    sqlx::query("update users set status = 'suspended' where username = 'gone'")
        .execute(&app.db)
        .await
        .unwrap();
    app.signed_up("empty").await;
    app.set_cv_publication("empty", true, "classic", &[]).await;

    for path in ["/", "/resume.json", "/contact.vcf", "/resume.pdf"] {
        let mut answers = Vec::new();
        for username in ["nobody", "draft", "gone", "empty"] {
            let response = app.get_cv(username, path).await;
            answers.push((response.status(), body(response).await));
        }
        assert_eq!(answers[0].0, StatusCode::NOT_FOUND, "{path}");
        assert!(
            answers.iter().all(|a| a == &answers[0]),
            "{path}: all alike"
        );
        let page = &answers[0].1;
        assert!(page.contains("No CV here"), "{path}: {page}");
        assert!(
            !page.contains("Log in"),
            "{path}: no app navigation on a CV host"
        );
        let app_home = format!(
            r#"href="http://{}:{}/""#,
            app.settings.server.base_domain, app.port
        );
        assert!(
            page.contains(&app_home),
            "{path}: the way back goes to the app: {page}"
        );
    }
}

#[tokio::test]
async fn other_paths_and_app_routes_are_not_served_on_a_cv_host() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    for path in [
        "/login",
        "/signup",
        "/dashboard",
        "/resume.docx",
        "/richard",
    ] {
        let response = app.get_cv("richard", path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let logout = client()
        .post(app.url("/logout"))
        .header(header::HOST, app.cv_host("richard"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NOT_FOUND);
    assert!(logout.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_app_host_shows_the_landing_page_not_a_cv() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let page = body(app.get(&client(), "/").await).await;
    assert!(page.contains("Your CV, as plaintext."));
    assert!(!page.contains("Richard Hendriks"));
}

#[tokio::test]
async fn a_revalidation_with_the_etag_is_answered_not_modified() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    for path in ["/", "/resume.json"] {
        let first = app.get_cv("richard", path).await;
        assert_eq!(header_text(&first, "cache-control"), "public, max-age=60");
        let etag = header_text(&first, "etag").to_owned();
        assert!(etag.starts_with("\"v1-") && etag.ends_with('"'), "{etag}");
        let again = app
            .cv_request("richard", path)
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header_text(&again, "etag"), etag);
        assert!(body(again).await.is_empty());
        let stale = app
            .cv_request("richard", path)
            .header(header::IF_NONE_MATCH, "\"v0-other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_revalidation_by_date_is_answered_not_modified() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    for path in ["/", "/resume.json"] {
        let first = app.get_cv("richard", path).await;
        let last_modified = header_text(&first, "last-modified").to_owned();
        assert!(last_modified.ends_with(" GMT"), "{last_modified}");
        let again = app
            .cv_request("richard", path)
            .header(header::IF_MODIFIED_SINCE, &last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        let older = app
            .cv_request("richard", path)
            .header(header::IF_MODIFIED_SINCE, "Mon, 01 Jan 2001 00:00:00 GMT")
            .send()
            .await
            .unwrap();
        assert_eq!(older.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_new_version_shows_at_once_with_a_new_etag() {
    let app = spawn_app().await;
    let mut document = sample_resume();
    app.published_user("richard", &document).await;
    let before = app.get_cv("richard", "/").await;
    let etag = header_text(&before, "etag").to_owned();
    let json_etag = header_text(&app.get_cv("richard", "/resume.json").await, "etag").to_owned();

    document["basics"]["label"] = json!("Chief Compression Officer");
    app.save_cv_directly("richard", &document).await;

    let after = app
        .cv_request("richard", "/")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(header_text(&after, "etag"), etag);
    assert!(body(after).await.contains("Chief Compression Officer"));
    let json = app.get_cv("richard", "/resume.json").await;
    assert_ne!(header_text(&json, "etag"), json_etag);
    assert!(body(json).await.contains("Chief Compression Officer"));
}

#[tokio::test]
async fn a_theme_change_shows_at_once_with_a_new_etag() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;
    let classic = app.get_cv("richard", "/").await;
    let etag = header_text(&classic, "etag").to_owned();
    let page = Html::parse_document(&body(classic).await);
    assert_eq!(select(&page, r#"link[rel="stylesheet"]"#).len(), 1);
    assert_eq!(
        select(&page, r#"link[href="/static/themes/classic.css"]"#).len(),
        1
    );

    app.set_cv_publication("richard", true, "modern", &[]).await;

    let modern = app.get_cv("richard", "/").await;
    assert_ne!(header_text(&modern, "etag"), etag);
    let page = Html::parse_document(&body(modern).await);
    assert_eq!(select(&page, r#"link[rel="stylesheet"]"#).len(), 1);
    assert_eq!(
        select(&page, r#"link[href="/static/themes/modern.css"]"#).len(),
        1
    );
}

#[tokio::test]
async fn unpublishing_takes_the_page_and_json_down_at_once() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;
    assert_eq!(app.get_cv("richard", "/").await.status(), StatusCode::OK);

    app.set_cv_publication("richard", false, "classic", &[])
        .await;

    assert_eq!(
        app.get_cv("richard", "/").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_cv("richard", "/resume.json").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn script_in_any_field_is_shown_as_text_and_never_runs() {
    let app = spawn_app().await;
    app.signed_up("mallory").await;
    let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "javascript:alert(1)",
    ];
    for payload in payloads {
        let document = with_every_string(&sample_resume(), payload);
        app.publish_cv_directly("mallory", &document, "classic", &[])
            .await;

        let raw = body(app.get_cv("mallory", "/").await).await;
        let page = Html::parse_document(&raw);
        let scripts = select(&page, r#"script:not([type="application/ld+json"])"#);
        assert!(scripts.is_empty(), "{payload}");
        assert!(select(&page, "[onerror]").is_empty(), "{payload}");
        assert!(
            select(&page, "img").is_empty(),
            "{payload}: no image from a bad address"
        );
        for element in select(&page, "[href], [src]") {
            let value = element.value();
            let target = value.attr("href").or(value.attr("src")).unwrap();
            assert!(
                !target
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("javascript:"),
                "{payload}: {target}"
            );
        }
        assert!(
            !raw.contains("<script>") && !raw.contains("<img src=x"),
            "{payload}"
        );
        assert!(
            visible_text(&page).contains(payload),
            "{payload} is shown as text"
        );
    }
}

#[tokio::test]
async fn both_theme_stylesheets_have_print_rules() {
    let app = spawn_app().await;
    for theme in ["classic", "modern"] {
        let response = app
            .get_cv("richard", &format!("/static/themes/{theme}.css"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{theme}");
        let css = body(response).await;
        assert!(
            css.contains("@media print") && css.contains("@page"),
            "{theme}"
        );
        assert!(!css.contains("url("), "{theme}: no external resources");
    }
}

#[tokio::test]
async fn each_page_view_is_counted_for_the_day() {
    let app = spawn_app().await;
    app.published_user("richard", &sample_resume()).await;

    let first = app.get_cv("richard", "/").await;
    let etag = header_text(&first, "etag").to_owned();
    let revalidated = app
        .cv_request("richard", "/")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    app.get_cv("richard", "/resume.json").await;

    let mut views = 0;
    for _ in 0..50 {
        views = views_today(&app, "richard").await;
        if views >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        views_today(&app, "richard").await,
        2,
        "resume.json is not a page view"
    );
    assert_eq!(views, 2);
}

/// The JSON-LD of a public page, parsed.
fn linked_data(page: &Html) -> Value {
    let script = select(page, r#"script[type="application/ld+json"]"#);
    assert_eq!(script.len(), 1, "one JSON-LD block");
    serde_json::from_str(&script[0].text().collect::<String>()).expect("the JSON-LD parses")
}

#[tokio::test]
async fn link_previews_and_search_engines_read_the_person_from_the_page() {
    let app = spawn_app().await;
    app.signed_up("richard").await;
    app.publish_cv_directly("richard", &sample_resume(), "classic", &[])
        .await;

    let page = page_of(&app, "richard").await;
    let meta = |name: &str| {
        let css = format!(r#"meta[name="{name}"], meta[property="{name}"]"#);
        select(&page, &css)
            .first()
            .and_then(|m| m.value().attr("content"))
            .map(str::to_owned)
    };
    assert_eq!(meta("twitter:card").as_deref(), Some("summary_large_image"));
    assert!(
        meta("twitter:title")
            .unwrap()
            .starts_with("Richard Hendriks")
    );
    assert_eq!(meta("og:type").as_deref(), Some("profile"));
    let ld = linked_data(&page);
    assert_eq!(ld["@type"], "ProfilePage");
    let person = &ld["mainEntity"];
    assert_eq!(person["@type"], "Person");
    assert_eq!(person["name"], "Richard Hendriks");
    assert_eq!(person["jobTitle"], "Programmer");
    assert!(
        person["knowsAbout"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
}

#[tokio::test]
async fn script_in_the_name_and_summary_stays_inert_in_tags_and_json_ld() {
    let app = spawn_app().await;
    app.signed_up("mallory").await;
    let attack = "</script><script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let cv = json!({"basics": {"name": attack, "label": attack, "summary": attack}});
    app.publish_cv_directly("mallory", &cv, "classic", &[])
        .await;

    let raw = body(app.get_cv("mallory", "/").await).await;
    assert!(
        !raw.contains("<script>alert"),
        "no script element is injected"
    );
    assert!(!raw.contains("<img src=x"), "no element is injected");
    let page = Html::parse_document(&raw);
    assert_eq!(select(&page, "script").len(), 1, "only the JSON-LD block");
    assert_eq!(select(&page, "[onerror]").len(), 0);
    assert_eq!(
        linked_data(&page)["mainEntity"]["name"],
        attack,
        "the text survives, inert"
    );
}

#[tokio::test]
async fn a_cv_is_noindex_until_its_owner_allows_indexing() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.publish_cv_directly("ada", &sample_resume(), "classic", &[])
        .await;
    for path in ["/", "/resume.json", "/contact.vcf"] {
        let response = app.get_cv("ada", path).await;
        assert_eq!(header_text(&response, "x-robots-tag"), "noindex", "{path}");
    }

    let form = [("theme", "classic"), ("indexing", "on")];
    app.post_form(&ada, "/resume/settings", &form).await;
    for path in ["/", "/resume.json", "/contact.vcf"] {
        let response = app.get_cv("ada", path).await;
        assert!(response.headers().get("x-robots-tag").is_none(), "{path}");
    }
    let editor = body(app.get(&ada, "/resume").await).await;
    assert!(editor.contains(r#"name="indexing" value="on" checked"#));
}

#[tokio::test]
async fn the_contact_card_is_a_vcard_of_the_visible_basics() {
    let app = spawn_app().await;
    app.signed_up("richard").await;
    app.publish_cv_directly("richard", &sample_resume(), "classic", &["/basics/phone"])
        .await;

    let response = app.get_cv("richard", "/contact.vcf").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_text(&response, "content-type"),
        "text/vcard; charset=utf-8"
    );
    let card = body(response).await;
    assert!(
        card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Richard Hendriks\r\n"),
        "{card}"
    );
    assert!(card.contains("TITLE:Programmer\r\n"), "{card}");
    assert!(
        card.contains("EMAIL:richard.hendriks@mail.com\r\n"),
        "{card}"
    );
    assert!(!card.contains("555-4321"), "the hidden phone is left out");
    assert!(
        card.contains(&format!("URL:http://richard.localhost:{}/\r\n", app.port)),
        "{card}"
    );
    let page = body(app.get_cv("richard", "/").await).await;
    assert!(
        page.contains(r#"href="/contact.vcf""#),
        "the page links to it"
    );
}

#[tokio::test]
async fn the_dashboard_names_the_sites_visitors_came_from_by_host_only() {
    let app = spawn_app().await;
    let richard = app.signed_up("richard").await;
    app.publish_cv_directly("richard", &sample_resume(), "classic", &[])
        .await;
    let own_host = format!("http://bob.localhost:{}/", app.port);
    for referer in [
        "https://www.linkedin.com/in/richard?trk=secret-campaign",
        "https://www.linkedin.com/feed/",
        "https://news.ycombinator.com/item?id=1",
        own_host.as_str(),
    ] {
        let request = app
            .cv_request("richard", "/")
            .header(header::REFERER, referer);
        request.send().await.unwrap();
    }

    let mut dashboard = String::new();
    for _ in 0..50 {
        dashboard = body(app.get(&richard, "/dashboard").await).await;
        if dashboard.contains("news.ycombinator.com") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = crate::helpers::texts_of(&dashboard, "ul.referrers li");
    assert_eq!(
        listed,
        ["www.linkedin.com: 2", "news.ycombinator.com: 1"],
        "{dashboard}"
    );
    assert!(
        !dashboard.contains("secret-campaign"),
        "never the rest of the address"
    );
    let stored: Vec<String> = sqlx::query_scalar("select host from cv_daily_referrers")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(
        !stored.iter().any(|host| host.contains("localhost")),
        "our own hosts are not referrers"
    );
}
