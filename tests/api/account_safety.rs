//! Accounts people can trust: an email change that waits for the new address, re-authentication
//! before sensitive changes, the sessions a member can see and end, and the security log.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Client, StatusCode};

use crate::{
    helpers::{PASSWORD, TestApp, body, client, location, spawn_app, texts_of},
    mail::app_with_mail,
    smtp::SmtpServer,
};

const NEW_ADDRESS: &str = "Confirm your new email address for txtcv";
const CHANGE_NOTICE: &str = "A change of your txtcv email address was asked for";

/// Moves the server's clock past the five minutes in which a sign-in spares re-authentication.
fn later(app: &TestApp) {
    app.clock.advance(Duration::from_secs(6 * 60));
}

async fn email_of(app: &TestApp, username: &str) -> String {
    sqlx::query_scalar("select email from users where username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .expect("the account exists")
}

/// The handles the sessions page offers to end, in its order.
async fn end_buttons(app: &TestApp, member: &Client) -> Vec<String> {
    let page = body(app.get(member, "/settings/sessions").await).await;
    let html = scraper::Html::parse_document(&page);
    let forms = scraper::Selector::parse("form[action$='/end']").unwrap();
    html.select(&forms)
        .filter_map(|form| form.value().attr("action"))
        .filter(|action| !action.contains("/others/"))
        .map(str::to_owned)
        .collect()
}

async fn signed_in(app: &TestApp, member: &Client) -> bool {
    app.get(member, "/dashboard").await.status() == StatusCode::OK
}

async fn log_kinds(app: &TestApp, member: &Client) -> Vec<String> {
    let page = body(app.get(member, "/settings/security").await).await;
    texts_of(&page, "tbody tr td:nth-child(2)")
}

#[tokio::test]
async fn a_new_address_replaces_the_old_only_once_its_link_is_followed() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;

    let asked = app
        .post_form(&ada, "/settings/email", &[("email", "ada@new.example")])
        .await;
    assert_eq!(location(&asked), "/settings");
    assert_eq!(email_of(&app, "ada").await, "ada@example.org", "not yet");
    let settings = body(app.get(&ada, "/settings").await).await;
    assert!(settings.contains("We sent a link to ada@new.example"));
    assert!(settings.contains("You asked to change it to <strong>ada@new.example"));

    let notice = smtp.last_to("ada@example.org", CHANGE_NOTICE).await;
    assert!(notice.data.contains("ada@new.example"));
    assert!(
        notice.link("/email/confirm/").is_none(),
        "the old address gets no link"
    );
    let mail = smtp.last_to("ada@new.example", NEW_ADDRESS).await;
    let link = mail.link("/email/confirm/").expect("a link");

    let changed = app.get(&client(), &link).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(body(changed).await.contains("Your address is changed"));
    assert_eq!(email_of(&app, "ada").await, "ada@new.example");
    let settings = body(app.get(&ada, "/settings").await).await;
    assert!(
        settings.contains("ada@new.example</strong> (confirmed)"),
        "{settings}"
    );
    assert_eq!(
        app.get(&client(), &link).await.status(),
        StatusCode::NOT_FOUND
    );

    let kinds = log_kinds(&app, &ada).await;
    assert_eq!(kinds[0], "Email address changed");
    assert!(kinds.contains(&"Email change asked for".to_owned()));
}

#[tokio::test]
async fn an_address_in_use_or_unchanged_is_refused_with_the_typed_value_kept() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.signed_up("bob").await;

    for (typed, problem) in [
        (
            "bob@example.org",
            "Another account already uses this email.",
        ),
        ("ADA@example.org", "That is your address already."),
        ("not an address", "email"),
        ("ada\0@example.org", "email"),
    ] {
        let refused = app
            .post_form(&ada, "/settings/email", &[("email", typed)])
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed:?}"
        );
        let page = body(refused).await;
        assert!(page.contains(problem), "{typed:?}: {page}");
        assert!(page.contains("field-error"));
    }
    assert_eq!(email_of(&app, "ada").await, "ada@example.org");
}

#[tokio::test]
async fn an_address_taken_before_its_link_is_followed_is_not_changed_to() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;
    app.post_form(&ada, "/settings/email", &[("email", "shared@example.org")])
        .await;
    let link = smtp
        .last_to("shared@example.org", NEW_ADDRESS)
        .await
        .link("/email/confirm/")
        .unwrap();
    let bob = client();
    app.signup(&bob, "bob", "shared@example.org", PASSWORD)
        .await;

    let taken = app.get(&ada, &link).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(body(taken).await.contains("That address is in use now"));
    assert_eq!(email_of(&app, "ada").await, "ada@example.org");
}

#[tokio::test]
async fn after_five_minutes_a_sensitive_change_asks_for_the_password_again() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let fresh = body(app.get(&ada, "/settings/tokens").await).await;
    assert!(
        !fresh.contains("token-password"),
        "just signed in: not asked"
    );

    later(&app);
    let page = body(app.get(&ada, "/settings/tokens").await).await;
    assert!(page.contains("id=\"token-password\""), "{page}");
    let token = [("name", "CI"), ("scope", "write"), ("expires_in_days", "")];
    let refused = app.post_form(&ada, "/settings/tokens", &token).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(refused).await;
    assert!(page.contains("That is not your password."));
    assert!(page.contains("value=\"CI\""), "the name typed is kept");
    assert_eq!(tokens_of(&app, "ada").await, 0);

    let mut with_password = token.to_vec();
    with_password.push(("password", PASSWORD));
    let created = app
        .post_form(&ada, "/settings/tokens", &with_password)
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(
        created.headers()["cache-control"],
        "no-store",
        "the page shows the secret"
    );
    assert_eq!(tokens_of(&app, "ada").await, 1);

    // Confirmed: the next five minutes ask nothing.
    let email = app
        .post_form(&ada, "/settings/email", &[("email", "ada@new.example")])
        .await;
    assert_eq!(email.status(), StatusCode::SEE_OTHER);
    let kinds = log_kinds(&app, &ada).await;
    assert!(kinds.contains(&"Confirmed it was you".to_owned()));
    assert!(kinds.contains(&"Failed sign-in".to_owned()));
    assert!(kinds.contains(&"Access token created".to_owned()));
}

async fn tokens_of(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from access_tokens t join users u on u.id = t.owner_id
         where u.username = $1",
    )
    .bind(username)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn with_two_factor_on_a_change_asks_for_a_code_too() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let keys = app.enable_two_factor(&ada).await;
    later(&app);

    let page = body(app.get(&ada, "/settings").await).await;
    assert!(page.contains("id=\"email-code\""));
    assert!(
        page.contains("id=\"password-code\""),
        "the password form too"
    );
    let password_only = app
        .post_form(
            &ada,
            "/settings/email",
            &[("email", "ada@new.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(password_only.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body(password_only)
            .await
            .contains("value=\"ada@new.example\"")
    );

    let code = app.next_code_for(&keys.secret);
    let confirmed = app
        .post_form(
            &ada,
            "/settings/email",
            &[
                ("email", "ada@new.example"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_member_sees_their_sessions_and_ends_one_from_another() {
    let app = spawn_app().await;
    let laptop = app.signed_up("ada").await;
    let phone = client();
    let signed = phone
        .post(app.url("/login"))
        .header(
            "user-agent",
            "Mozilla/5.0 (Linux; Android 14) Chrome/131.0.0.0 Mobile",
        )
        .form(&[("login", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&signed), "/dashboard");

    let page = body(app.get(&laptop, "/settings/sessions").await).await;
    let rows = texts_of(&page, "tbody tr");
    assert_eq!(rows.len(), 2, "{page}");
    assert!(rows[0].contains("this session"), "the current one first");
    assert!(page.contains("Chrome on Android"));
    assert!(page.contains("127.0.0.1"));
    let ends = end_buttons(&app, &laptop).await;
    assert_eq!(ends.len(), 1, "the current session has no End button");

    let ended = app.post_form(&laptop, &ends[0], &[]).await;
    assert_eq!(location(&ended), "/settings/sessions");
    assert!(!signed_in(&app, &phone).await, "the phone is signed out");
    assert!(signed_in(&app, &laptop).await);
    assert_eq!(
        app.post_form(&laptop, &ends[0], &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        log_kinds(&app, &laptop)
            .await
            .contains(&"Session ended".to_owned())
    );
}

#[tokio::test]
async fn every_other_session_can_be_ended_at_once() {
    let app = spawn_app().await;
    let here = app.signed_up("ada").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let other = client();
        app.login(&other, "ada", PASSWORD).await;
        others.push(other);
    }
    let ended = app
        .post_form(&here, "/settings/sessions/others/end", &[])
        .await;
    assert_eq!(location(&ended), "/settings/sessions");
    let page = body(app.get(&here, "/settings/sessions").await).await;
    assert!(page.contains("The 3 other sessions are ended."));
    for other in &others {
        assert!(!signed_in(&app, other).await);
    }
    assert!(signed_in(&app, &here).await);
}

#[tokio::test]
async fn nobody_else_sees_or_ends_a_members_sessions() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let ada_elsewhere = client();
    app.login(&ada_elsewhere, "ada", PASSWORD).await;
    let handle = end_buttons(&app, &ada).await.remove(0);
    let bob = app.signed_up("bob").await;

    let page = body(app.get(&bob, "/settings/sessions").await).await;
    assert_eq!(
        texts_of(&page, "tbody tr").len(),
        1,
        "bob sees his own alone"
    );
    assert_eq!(
        app.post_form(&bob, &handle, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(signed_in(&app, &ada_elsewhere).await);

    let anonymous = client();
    for path in ["/settings/sessions", "/settings/security"] {
        let refused = app.get(&anonymous, path).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&refused).starts_with("/login"));
    }
    for path in [handle.as_str(), "/settings/sessions/others/end"] {
        let refused = app.post_form(&anonymous, path, &[]).await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&refused).starts_with("/login"));
    }
    for path in ["/settings/sessions/%00/end", "/settings/sessions/x%FFy/end"] {
        let refused = app.post_form(&ada, path, &[]).await.status();
        assert!(refused.is_client_error(), "{path}: {refused}");
    }
    assert!(signed_in(&app, &ada_elsewhere).await);
}

#[tokio::test]
async fn a_session_ended_by_twenty_requests_at_once_is_ended_once() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let other = client();
    app.login(&other, "ada", PASSWORD).await;
    let handle = end_buttons(&app, &ada).await.remove(0);

    let burst = (0..20).map(|_| app.post_form(&ada, &handle, &[]));
    let statuses: Vec<StatusCode> = join_all(burst).await.iter().map(|r| r.status()).collect();
    let ended = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(ended, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::NOT_FOUND)
    );
    let logged: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'session-ended'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn the_security_log_records_sign_ins_failures_and_changes_without_secrets() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.login(&client(), "ada", "not my password").await;
    app.login(&client(), "ada@example.org", PASSWORD).await;
    let changed = app
        .post_form(
            &ada,
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);

    let page = body(app.get(&ada, "/settings/security").await).await;
    let kinds = texts_of(&page, "tbody tr td:nth-child(2)");
    assert_eq!(
        kinds,
        [
            "Password changed",
            "Signed in",
            "Failed sign-in",
            "Signed in"
        ],
        "newest first"
    );
    assert!(page.contains("with the password"));
    assert!(page.contains("a wrong password"));
    assert!(!page.contains(PASSWORD) && !page.contains("not my password"));

    let admin = app.admin("boss").await;
    let account = body(app.get(&admin, "/admin/accounts/ada").await).await;
    assert!(account.contains("Security log"));
    assert!(account.contains("Failed sign-in"));
}
