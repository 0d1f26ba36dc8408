//! Passkeys over HTTP: who may reach them, and what a broken or missing ceremony gets. The
//! ceremonies themselves run in a real browser with a software authenticator
//! (`browser::passkeys`).

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, body, client, location, spawn_app};

/// A passkey row for `username`, as a registration leaves it (the credential is not read by the
/// routes tested here).
async fn passkey_of(app: &TestApp, username: &str, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into passkeys (owner_id, id, credential_id, name, credential)
         values ($1, $2, $3, $4, '{}')",
    )
    .bind(app.user_id(username).await)
    .bind(id)
    .bind(id.as_bytes().as_slice())
    .bind(name)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

async fn name_of(app: &TestApp, id: Uuid) -> Option<String> {
    sqlx::query_scalar("select name from passkeys where id = $1")
        .bind(id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_log_in() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let id = passkey_of(&app, "ada", "Laptop").await;
    let visitor = client();
    let answer = app.get(&visitor, "/settings/passkeys").await;
    assert!(location(&answer).starts_with("/login"));
    for path in [
        "/settings/passkeys/new".to_owned(),
        "/settings/passkeys/register".to_owned(),
        format!("/settings/passkeys/{id}/rename"),
        format!("/settings/passkeys/{id}/remove"),
    ] {
        let answer = app.post_form(&visitor, &path, &[("name", "Mine")]).await;
        assert!(location(&answer).starts_with("/login"), "{path}");
    }
    assert_eq!(name_of(&app, id).await.as_deref(), Some("Laptop"));
}

#[tokio::test]
async fn another_members_passkey_can_be_neither_seen_renamed_nor_removed() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let id = passkey_of(&app, "ada", "Ada's laptop").await;
    let bob = app.signed_up("bob").await;

    assert!(
        !body(app.get(&bob, "/settings/passkeys").await)
            .await
            .contains("Ada's laptop")
    );
    let rename = format!("/settings/passkeys/{id}/rename");
    let renamed = app.post_form(&bob, &rename, &[("name", "Bob's now")]).await;
    assert_eq!(renamed.status(), StatusCode::NOT_FOUND);
    let remove = format!("/settings/passkeys/{id}/remove");
    let removed = app
        .post_form(&bob, &remove, &[("password", PASSWORD)])
        .await;
    assert_eq!(removed.status(), StatusCode::NOT_FOUND);
    assert_eq!(name_of(&app, id).await.as_deref(), Some("Ada's laptop"));
}

#[tokio::test]
async fn a_member_renames_and_removes_a_passkey_on_the_record() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let id = passkey_of(&app, "ada", "Laptop").await;

    let bad = format!("/settings/passkeys/{id}/rename");
    app.post_form(&ada, &bad, &[("name", "two\nlines")]).await;
    assert_eq!(
        name_of(&app, id).await.as_deref(),
        Some("Laptop"),
        "refused"
    );
    app.post_form(&ada, &bad, &[("name", " Work laptop ")])
        .await;
    assert_eq!(name_of(&app, id).await.as_deref(), Some("Work laptop"));

    let remove = format!("/settings/passkeys/{id}/remove");
    let removed = app.post_form(&ada, &remove, &[]).await;
    assert_eq!(location(&removed), "/settings/passkeys");
    assert_eq!(name_of(&app, id).await, None);
    let log = body(app.get(&ada, "/settings/security").await).await;
    assert!(
        log.contains("Passkey removed") && log.contains("Work laptop"),
        "{log}"
    );
}

#[tokio::test]
async fn adding_a_passkey_asks_for_the_password_after_five_minutes() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.clock.advance(std::time::Duration::from_secs(6 * 60));

    let refused = app
        .post_form(&ada, "/settings/passkeys/new", &[("name", "Laptop")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = app
        .post_form(
            &ada,
            "/settings/passkeys/new",
            &[("name", "Laptop"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = body(page).await;
    assert!(page.contains("data-passkey-options"), "{page}");
    assert!(
        page.contains(r#""residentKey":"required""#),
        "discoverable: {page}"
    );
    assert!(
        page.contains(r#""id":"localhost""#),
        "the relying party is the base domain"
    );
}

#[tokio::test]
async fn a_sign_in_answer_without_a_ceremony_or_that_cannot_be_read_is_refused_clearly() {
    let app = spawn_app().await;
    let browser = client();
    let early = app
        .post_form(&browser, "/login/passkey", &[("credential", "{}")])
        .await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    assert!(
        body(early)
            .await
            .contains("took too long, or was finished already")
    );

    for garbage in ["", "{}", "not json", "{\"id\": \"\\u0000\"}", "[1, 2]"] {
        assert_eq!(
            app.get(&browser, "/login/passkey").await.status(),
            StatusCode::OK
        );
        let answer = app
            .post_form(&browser, "/login/passkey", &[("credential", garbage)])
            .await;
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{garbage}"
        );
        assert!(
            body(answer).await.contains("could not be read"),
            "{garbage}"
        );
    }
    let registering = app
        .post_form(
            &app.signed_up("ada").await,
            "/settings/passkeys/register",
            &[("credential", "{}")],
        )
        .await;
    assert_eq!(location(&registering), "/settings/passkeys");
}

/// An account whose only ways in are two passkeys, both removed at the same moment: one stays.
#[tokio::test]
async fn removing_every_way_in_at_once_leaves_one() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let first = passkey_of(&app, "ada", "Laptop").await;
    let second = passkey_of(&app, "ada", "Phone").await;
    sqlx::query("update users set password_hash = null where username = 'ada'")
        .execute(&app.db)
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::ZERO);

    let removals = [first, second, first, second].map(|id| {
        let (app, ada) = (&app, &ada);
        async move {
            let path = format!("/settings/passkeys/{id}/remove");
            app.post_form(ada, &path, &[]).await.status()
        }
    });
    futures::future::join_all(removals).await;

    let left: i64 = sqlx::query_scalar("select count(*) from passkeys")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1, "the last way in is kept");
}

/// The login page offers passkeys through the browser's autofill without starting a ceremony
/// for every view: the options come from a fragment fetched only by a browser that can use them.
#[tokio::test]
async fn viewing_the_login_page_starts_no_ceremony_and_the_autofill_fetches_one() {
    let app = spawn_app().await;
    let visitor = client();
    let login = app.get(&visitor, "/login").await;
    assert!(
        login.headers().get("set-cookie").is_none(),
        "no session for a view"
    );
    let page = body(login).await;
    assert!(page.contains(r#"autocomplete="username webauthn""#));
    assert!(page.contains(r#"data-passkey-options-url="/login/passkey/options""#));

    let fragment = app
        .get(&visitor, "/login/passkey/options?next=/settings")
        .await;
    assert_eq!(fragment.status(), StatusCode::OK);
    assert_eq!(fragment.headers().get("cache-control").unwrap(), "no-store");
    assert!(body(fragment).await.contains("data-passkey-options"));
}
