//! The owner's side of a CV: editing, versions, import and export, publishing controls, the
//! dashboard, and that nobody else can reach any of it.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{
    body, client, location, pretty, sample_resume_text, spawn_app, spawn_app_with,
};

/// A small CV as the text someone would type (the shared `helpers::small_cv` is a JSON value).
fn small_cv_text(name: &str) -> String {
    json!({
        "basics": {"name": name, "email": "ada@example.org", "url": "https://ada.example.org"},
        "work": [{"name": "Analytical Engines", "position": "Programmer", "startDate": "1842-09"}]
    })
    .to_string()
}

/// The text of the editor's textarea, unescaped the way a browser shows it.
fn editor_text(page: &str) -> String {
    let found = texts(page, "textarea.code-editor[name=json]");
    found.into_iter().next().expect("the page has the editor")
}

/// The text of every element matching `selector`.
fn texts(page: &str, selector: &str) -> Vec<String> {
    let html = scraper::Html::parse_document(page);
    let selector = scraper::Selector::parse(selector).unwrap();
    html.select(&selector)
        .map(|element| element.text().collect())
        .collect()
}

#[tokio::test]
async fn a_valid_cv_is_saved_as_version_1_and_shown_pretty_in_the_editor() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.save_cv(&ada, &small_cv_text("Ada Lovelace")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/resume");

    let versions = app.cv_versions("ada").await;
    assert_eq!(versions, vec![(1, pretty(&small_cv_text("Ada Lovelace")))]);
    let page = body(app.get(&ada, "/resume").await).await;
    assert!(page.contains("Saved as version 1."), "a flash confirms");
    assert_eq!(editor_text(&page), pretty(&small_cv_text("Ada Lovelace")));
    assert!(page.contains("Version 1"));
}

#[tokio::test]
async fn the_official_sample_resume_is_accepted() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.save_cv(&ada, sample_resume_text()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.cv_versions("ada").await.len(), 1);
}

#[tokio::test]
async fn a_new_account_starts_from_a_valid_document_with_its_name_and_email() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let page = body(app.get(&ada, "/resume").await).await;
    let starter = editor_text(&page);
    assert!(
        starter.contains(r#""email": "ada@example.org""#),
        "{starter}"
    );
    assert!(page.contains("no CV yet"));
    assert!(page.contains(&format!("http://ada.localhost:{}/", app.port)));

    let response = app.save_cv(&ada, &starter).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the starter is valid"
    );
}

#[tokio::test]
async fn a_syntax_error_is_reported_with_its_line_and_column() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app
        .save_cv(&ada, "{\n  \"basics\": {\n    \"name\": \"Ada\",\n  }\n}")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("line 4, column 3"), "{page}");
    assert!(page.contains("JSON allows no comma before a closing } or ]."));
}

#[tokio::test]
async fn schema_and_rule_errors_name_the_json_pointer_of_each_problem() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let cv = json!({
        "basics": {"name": "Ada", "url": "javascript:alert(1)"},
        "work": [{"name": "Engines", "startDate": "September 1842"}]
    });

    let response = app.save_cv(&ada, &cv.to_string()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("2 problems"), "{page}");
    assert!(page.contains(
        "<code>/work/0/startDate</code> Dates are written as YYYY, YYYY-MM or YYYY-MM-DD."
    ));
    assert!(page.contains("<code>/basics/url</code> Links must be web addresses"));
}

#[tokio::test]
async fn a_refused_save_keeps_the_saved_version_and_the_text_as_typed() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    let typed = "{\"basics\": {\"name\": \"</textarea><script>alert(1)</script> & co\"},\n  oops";

    let response = app.save_cv(&ada, typed).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert_eq!(editor_text(&page), typed, "the text stays verbatim");
    assert!(
        page.contains("&#60;/textarea&#62;&#60;script&#62;alert(1)&#60;/script&#62; &#38; co"),
        "and escaped"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert_eq!(
        app.cv_versions("ada").await,
        vec![(1, pretty(&small_cv_text("Ada")))]
    );
}

#[tokio::test]
async fn an_oversized_body_gets_a_413_page_and_nothing_is_saved() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.save_cv(&ada, &over_the_body_limit()).await;
    assert_refused_as_too_large(response).await;
    assert!(app.cv_versions("ada").await.is_empty());
}

#[tokio::test]
async fn an_oversized_import_gets_a_413_page_and_nothing_is_saved() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.import_cv(&ada, &over_the_body_limit()).await;
    assert_refused_as_too_large(response).await;
    assert!(app.cv_versions("ada").await.is_empty());
}

/// A JSON document of 300 KB, over the server's 256 KB body limit.
fn over_the_body_limit() -> String {
    json!({"basics": {"summary": "x".repeat(300 * 1024)}}).to_string()
}

/// The 413 page that names the limit.
async fn assert_refused_as_too_large(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body(response)
            .await
            .contains("larger than the 256 KB we accept")
    );
}

#[tokio::test]
async fn an_import_without_a_file_asks_for_one_and_keeps_the_saved_cv_in_the_editor() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;

    let response = ada
        .post(app.url("/resume/import"))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("Choose a .json file to import."));
    assert_eq!(editor_text(&page), pretty(&small_cv_text("Ada")));
}

#[tokio::test]
async fn a_cv_over_the_document_limit_is_refused_with_a_clear_message() {
    let app = spawn_app_with(|settings| settings.resume.max_bytes = 2048).await;
    let ada = app.signed_up("ada").await;
    let long = json!({"basics": {"summary": "x".repeat(3000)}}).to_string();

    let response = app.save_cv(&ada, &long).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(response).await.contains("the limit is 2 KB"));
    assert!(app.cv_versions("ada").await.is_empty());
}

#[tokio::test]
async fn saving_the_same_document_again_makes_no_new_version_however_it_is_formatted() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    app.get(&ada, "/resume").await;

    let response = app.save_cv(&ada, &pretty(&small_cv_text("Ada"))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.cv_versions("ada").await.len(), 1);
    assert!(
        body(app.get(&ada, "/resume").await)
            .await
            .contains("No changes to save.")
    );
}

#[tokio::test]
async fn versions_are_listed_newest_first_with_author_size_and_the_current_one_marked() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    app.save_cv(&ada, &small_cv_text("Ada Lovelace")).await;

    let response = app.get(&ada, "/resume/versions").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body(response).await;
    let second = page.find("Version 2").expect("version 2 is listed");
    let first = page.find("Version 1").expect("version 1 is listed");
    assert!(second < first, "newest first");
    assert!(page.contains("<td>ada</td>"));
    assert!(page.contains("bytes"));
    assert_eq!(page.matches(">current<").count(), 1);
}

#[tokio::test]
async fn a_version_shows_its_content_and_its_differences_from_the_current_one() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    app.save_cv(&ada, &small_cv_text("Ada Lovelace")).await;

    let response = app.get(&ada, "/resume/versions/1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body(response).await;
    assert_eq!(
        texts(&page, ".diff .diff-del"),
        vec![r#"-     "name": "Ada Lovelace","#]
    );
    assert_eq!(
        texts(&page, ".diff .diff-add"),
        vec![r#"+     "name": "Ada","#]
    );
    assert!(!texts(&page, ".diff .diff-ctx").is_empty());
    assert!(page.contains("Restore this version"));

    let current = body(app.get(&ada, "/resume/versions/2").await).await;
    assert!(current.contains("This is the version you are editing."));
    assert!(!current.contains("diff-del"));
}

#[tokio::test]
async fn an_unknown_version_is_not_found() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    assert_eq!(
        app.get(&ada, "/resume/versions/1").await.status(),
        StatusCode::NOT_FOUND
    );

    app.save_cv(&ada, &small_cv_text("Ada")).await;
    for path in [
        "/resume/versions/2",
        "/resume/versions/0",
        "/resume/versions/x",
    ] {
        let status = app.get(&ada, path).await.status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    assert_eq!(
        app.get(&ada, "/resume/versions/2").await.status(),
        StatusCode::NOT_FOUND
    );
    let restore = app.post_form(&ada, "/resume/versions/2/restore", &[]).await;
    assert_eq!(restore.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restoring_a_version_saves_its_content_as_a_new_version() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    app.save_cv(&ada, &small_cv_text("Ada Lovelace")).await;

    let response = app.post_form(&ada, "/resume/versions/1/restore", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let versions = app.cv_versions("ada").await;
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[2], (3, pretty(&small_cv_text("Ada"))));
    assert!(
        body(app.get(&ada, "/resume").await)
            .await
            .contains("Version 1 restored as version 3.")
    );

    app.post_form(&ada, "/resume/versions/3/restore", &[]).await;
    assert_eq!(
        app.cv_versions("ada").await.len(),
        3,
        "restoring the current one is a no-op"
    );
    assert!(
        body(app.get(&ada, "/resume").await)
            .await
            .contains("already the current version")
    );
}

#[tokio::test]
async fn an_imported_file_becomes_the_next_version() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.import_cv(&ada, sample_resume_text()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.cv_versions("ada").await,
        vec![(1, pretty(sample_resume_text()))]
    );
}

#[tokio::test]
async fn an_invalid_import_shows_its_problems_with_the_file_in_the_editor() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let file = r#"{"work": [{"endDate": "2024-02-30"}]}"#;

    let response = app.import_cv(&ada, file).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("<code>/work/0/endDate</code>"), "{page}");
    assert_eq!(editor_text(&page), file);
    assert!(app.cv_versions("ada").await.is_empty());
}

#[tokio::test]
async fn the_saved_cv_is_exported_as_a_resume_json_download() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;

    let response = app.get(&ada, "/resume/export").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"resume.json\""
    );
    assert_eq!(body(response).await, pretty(&small_cv_text("Ada")));
}

#[tokio::test]
async fn exporting_before_saving_explains_there_is_nothing_yet() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.get(&ada, "/resume/export").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        body(response)
            .await
            .contains("You have not saved a CV yet.")
    );
}

#[tokio::test]
async fn publishing_is_refused_until_a_version_is_saved() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app.post_form(&ada, "/resume/publish", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        body(app.get(&ada, "/resume").await)
            .await
            .contains("Save your CV before publishing it")
    );
    assert!(
        app.cv_row("ada")
            .await
            .is_none_or(|(published, ..)| !published)
    );
}

#[tokio::test]
async fn publishing_and_unpublishing_flip_the_cv_and_bump_its_timestamp() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    let (_, _, _, saved_at) = app.cv_row("ada").await.unwrap();

    app.post_form(&ada, "/resume/publish", &[]).await;
    let (published, _, _, published_at) = app.cv_row("ada").await.unwrap();
    assert!(published);
    assert!(published_at > saved_at);
    let page = body(app.get(&ada, "/resume").await).await;
    let url = format!("http://ada.localhost:{}/", app.port);
    assert!(
        page.contains(&format!(r#"href="{url}""#)),
        "the address is a link now"
    );

    app.post_form(&ada, "/resume/unpublish", &[]).await;
    let (published, _, _, unpublished_at) = app.cv_row("ada").await.unwrap();
    assert!(!published);
    assert!(unpublished_at > published_at);
}

#[tokio::test]
async fn settings_set_the_theme_and_the_hidden_fields() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let response = app
        .post_form(
            &ada,
            "/resume/settings",
            &[
                ("theme", "modern"),
                ("hidden", "/basics/phone"),
                ("hidden", "/basics/email"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, theme, hidden, _) = app.cv_row("ada").await.unwrap();
    assert_eq!(theme, "modern");
    assert_eq!(hidden, vec!["/basics/email", "/basics/phone"]);
    let page = body(app.get(&ada, "/resume").await).await;
    assert!(page.contains(r#"<option value="modern" selected>"#));
    assert!(page.contains(r#"value="/basics/email" checked"#));

    app.post_form(&ada, "/resume/settings", &[("theme", "classic")])
        .await;
    let (_, theme, hidden, _) = app.cv_row("ada").await.unwrap();
    assert_eq!(
        (theme.as_str(), hidden.len()),
        ("classic", 0),
        "no box ticked: none hidden"
    );
}

#[tokio::test]
async fn settings_with_unknown_values_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.post_form(&ada, "/resume/settings", &[("theme", "modern")])
        .await;

    for form in [
        vec![("theme", "comic-sans")],
        vec![("theme", "classic"), ("hidden", "/basics/name")],
    ] {
        let response = app.post_form(&ada, "/resume/settings", &form).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, theme, hidden, _) = app.cv_row("ada").await.unwrap();
        assert_eq!((theme.as_str(), hidden.len()), ("modern", 0), "{form:?}");
        assert!(
            body(app.get(&ada, "/resume").await)
                .await
                .contains("nothing was changed")
        );
    }
}

#[tokio::test]
async fn the_dashboard_shows_the_cv_state_and_its_views_over_30_days() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let empty = body(app.get(&ada, "/dashboard").await).await;
    assert!(empty.contains("no CV yet"));
    assert!(empty.contains("Write your CV"));

    app.save_cv(&ada, &small_cv_text("Ada")).await;
    app.post_form(&ada, "/resume/publish", &[]).await;
    sqlx::query(
        "insert into cv_daily_views (owner_id, cv_id, day, views)
         select owner_id, id, (now() at time zone 'utc')::date - d, v
         from cvs, (values (0, 10), (1, 5), (40, 99)) as t(d, v)",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let page = body(app.get(&ada, "/dashboard").await).await;
    assert!(page.contains("badge-published"));
    assert!(page.contains(&format!(r#"href="http://ada.localhost:{}/""#, app.port)));
    assert!(page.contains("Version 1,"));
    assert!(
        page.contains("<strong>15</strong> views"),
        "a day 40 days ago is not counted"
    );
    assert_eq!(page.matches(r#"class="bar h-"#).count(), 30);
    assert!(page.contains(r#"class="bar h-10""#) && page.contains(r#"class="bar h-5""#));
    assert!(page.contains(r#"href="/resume""#));
}

#[tokio::test]
async fn another_user_only_ever_sees_and_changes_their_own_cv() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada Lovelace")).await;
    app.save_cv(&ada, &small_cv_text("Ada King")).await;
    let ada_before = (app.cv_versions("ada").await, app.cv_row("ada").await);
    let bob = app.signed_up("bob").await;

    let editor = body(app.get(&bob, "/resume").await).await;
    assert!(
        editor_text(&editor).contains("bob@example.org"),
        "bob gets his own starter"
    );
    assert!(!editor.contains("Ada"));
    assert!(
        !body(app.get(&bob, "/resume/versions").await)
            .await
            .contains("Version 1")
    );
    assert!(
        !body(app.get(&bob, "/dashboard").await)
            .await
            .contains("Version 2")
    );
    for path in ["/resume/versions/1", "/resume/versions/2", "/resume/export"] {
        assert_eq!(
            app.get(&bob, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    for (path, form) in [
        ("/resume/versions/1/restore", vec![]),
        ("/resume/publish", vec![]),
        ("/resume/unpublish", vec![]),
        (
            "/resume/settings",
            vec![("theme", "modern"), ("hidden", "/basics/email")],
        ),
        ("/resume", vec![("json", r#"{"basics": {"name": "Bob"}}"#)]),
    ] {
        app.post_form(&bob, path, &form).await;
    }
    app.import_cv(&bob, r#"{"basics": {"name": "Bob B."}}"#)
        .await;

    assert_eq!(
        (app.cv_versions("ada").await, app.cv_row("ada").await),
        ada_before
    );
    assert_eq!(
        app.cv_versions("bob").await.len(),
        2,
        "bob's saves went to bob's CV"
    );
    let page = body(app.get(&bob, "/resume").await).await;
    assert!(editor_text(&page).contains("Bob B."));
}

#[tokio::test]
async fn an_anonymous_visitor_is_sent_to_log_in_on_every_cv_route() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv_text("Ada")).await;
    let before = (app.cv_versions("ada").await, app.cv_row("ada").await);
    let anonymous = client();

    for path in [
        "/resume",
        "/resume/versions",
        "/resume/versions/1",
        "/resume/export",
    ] {
        assert_sent_to_login(&app.get(&anonymous, path).await, path);
    }
    for (path, form) in [
        ("/resume", vec![("json", "{}")]),
        ("/resume/versions/1/restore", vec![]),
        ("/resume/publish", vec![]),
        ("/resume/unpublish", vec![]),
        ("/resume/settings", vec![("theme", "modern")]),
    ] {
        assert_sent_to_login(&app.post_form(&anonymous, path, &form).await, path);
    }
    assert_sent_to_login(&app.import_cv(&anonymous, "{}").await, "import");
    assert_eq!(
        (app.cv_versions("ada").await, app.cv_row("ada").await),
        before
    );
}

/// A redirect to the login page, which will bring the visitor back; `what` names the request.
fn assert_sent_to_login(response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{what}");
    assert!(location(response).starts_with("/login?next="), "{what}");
}
