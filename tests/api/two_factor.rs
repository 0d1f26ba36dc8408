//! Two-factor sign-in: enrolling an app, logging in with its codes or a recovery code, turning it
//! off, and administrators who must use it.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Client, StatusCode};

use crate::{
    helpers::{
        PASSWORD, TestApp, TwoFactorKeys, body, client, element_text, header_text, location,
        spawn_app, texts_of,
    },
    mail::app_with_mail,
    smtp::SmtpServer,
};

/// A code that is surely not the one `right` (the app's current one).
fn wrong(right: &str) -> String {
    right
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 5) % 10))
        .collect()
}

/// A new account `username` with two-factor sign-in on, and its keys.
async fn member_with_two_factor(app: &TestApp, username: &str) -> (Client, TwoFactorKeys) {
    let member = app.signed_up(username).await;
    let keys = app.enable_two_factor(&member).await;
    (member, keys)
}

/// A fresh browser that gave `username`'s password and now waits for the code.
async fn awaiting_code(app: &TestApp, username: &str, password: &str) -> Client {
    let browser = client();
    let login = app.login(&browser, username, password).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&login), "/login/two-factor");
    browser
}

async fn give_code(app: &TestApp, browser: &Client, code: &str) -> reqwest::Response {
    app.post_form(browser, "/login/two-factor", &[("code", code)])
        .await
}

async fn is_on(app: &TestApp, username: &str) -> bool {
    sqlx::query_scalar(
        "select exists (select 1 from two_factor t join users u on u.id = t.owner_id
                        where u.username = $1 and t.enabled_at is not null)",
    )
    .bind(username)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn enrolling_shows_the_secret_and_turns_on_only_after_a_right_code() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let settings = body(app.get(&ada, "/settings").await).await;
    assert!(settings.contains(r#"href="/settings/two-factor""#));
    let intro = body(app.get(&ada, "/settings/two-factor").await).await;
    assert!(intro.contains("Set up two-factor sign-in"));

    let secret = app.start_two_factor(&ada).await;
    assert_eq!(secret.replace(' ', "").len(), 32, "160 bits in base32");
    let enrolling = app.get(&ada, "/settings/two-factor").await;
    assert_eq!(header_text(&enrolling, "cache-control"), "no-store");
    let page = body(enrolling).await;
    let qr = texts_of(&page, "img.qr-code");
    assert_eq!(qr.len(), 1, "one QR code");
    assert!(
        page.contains(r#"src="data:image/svg+xml,%3C"#),
        "drawn here"
    );

    let right = app.code_for(&secret);
    for (typed, problem) in [
        (wrong(&right), "That code is not right"),
        (String::new(), "Enter the 6-digit code"),
        ("\0".to_owned(), "That is not a code"),
        ("12345a".to_owned(), "That is not a code"),
        ("7".repeat(100_000), "That is not a code"),
    ] {
        let refused = app
            .post_form(&ada, "/settings/two-factor/confirm", &[("code", &typed)])
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = body(refused).await;
        assert!(page.contains(problem), "{typed:.10?}: {page}");
        assert_eq!(
            element_text(&page, "two-factor-secret"),
            Some(secret.clone())
        );
    }
    assert!(!is_on(&app, "ada").await, "a wrong code turns nothing on");
    let login = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(location(&login), "/dashboard", "no code asked yet");

    let confirmed = app
        .post_form(&ada, "/settings/two-factor/confirm", &[("code", &right)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(header_text(&confirmed, "cache-control"), "no-store");
    let codes = texts_of(&body(confirmed).await, "#recovery-codes li");
    assert_eq!(codes.len(), 10);
    assert!(is_on(&app, "ada").await);

    let on = body(app.get(&ada, "/settings/two-factor").await).await;
    assert!(on.contains("Two-factor sign-in is on"));
    assert!(on.contains("10 unused recovery codes"));
    assert!(!on.contains(&secret), "the secret is not shown again");
    assert!(!on.contains(&codes[0]), "nor are the recovery codes");
}

#[tokio::test]
async fn turning_it_on_signs_out_every_other_browser() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let laptop = client();
    app.login(&laptop, "ada", PASSWORD).await;
    app.enable_two_factor(&ada).await;
    assert_eq!(app.get(&ada, "/dashboard").await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&laptop, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_login_asks_for_a_code_that_works_once() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;

    let browser = awaiting_code(&app, "ada", PASSWORD).await;
    for path in ["/dashboard", "/settings", "/settings/two-factor", "/admin"] {
        let response = app.get(&browser, path).await;
        assert_ne!(response.status(), StatusCode::OK, "{path} before the code");
    }
    let asked = app.get(&browser, "/login/two-factor").await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(
        body(asked)
            .await
            .contains("code from your authenticator app")
    );

    for typed in ["", "\0", "12345", "abc", &"1".repeat(100_000)] {
        let refused = give_code(&app, &browser, typed).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body(refused).await.contains("field-error"));
    }

    let code = app.next_code_for(&keys.secret);
    let before = app.get(&browser, "/login/two-factor").await;
    let pending_cookie = crate::helpers::session_cookie(&before);
    let signed_in = give_code(&app, &browser, &code).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/dashboard");
    assert_ne!(
        crate::helpers::session_cookie(&signed_in),
        pending_cookie,
        "signing in gives a new session id"
    );
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::OK
    );

    let again = awaiting_code(&app, "ada", PASSWORD).await;
    let replayed = give_code(&app, &again, &code).await;
    assert_eq!(replayed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(replayed).await.contains("used already"));
    assert_eq!(
        app.get(&again, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );

    let next = app.next_code_for(&keys.secret);
    assert_eq!(
        give_code(&app, &again, &next).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get(&again, "/dashboard").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_login_goes_where_it_was_going_after_the_code() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;
    let browser = client();
    let login = app
        .post_form(
            &browser,
            "/login",
            &[
                ("login", "ada"),
                ("password", PASSWORD),
                ("next", "/cover-letters"),
            ],
        )
        .await;
    assert_eq!(location(&login), "/login/two-factor");
    let code = app.next_code_for(&keys.secret);
    assert_eq!(
        location(&give_code(&app, &browser, &code).await),
        "/cover-letters"
    );
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;
    let recovery = keys.recovery_codes[3].to_uppercase();

    let first = awaiting_code(&app, "ada", PASSWORD).await;
    assert_eq!(
        give_code(&app, &first, &recovery).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get(&first, "/dashboard").await.status(), StatusCode::OK);
    let left = body(app.get(&first, "/settings/two-factor").await).await;
    assert!(left.contains("9 unused recovery codes"), "{left}");

    let second = awaiting_code(&app, "ada", PASSWORD).await;
    let reused = give_code(&app, &second, &recovery).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&second, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_code_must_come_within_five_minutes_of_the_password() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;

    let browser = awaiting_code(&app, "ada", PASSWORD).await;
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    let code = app.code_for(&keys.secret);
    let late = give_code(&app, &browser, &code).await;
    assert_eq!(late.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&late), "/login");
    let login = body(app.get(&browser, "/login").await).await;
    assert!(login.contains("waited more than five minutes"));
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        location(&app.get(&browser, "/login/two-factor").await),
        "/login",
        "nothing waits any more"
    );
}

#[tokio::test]
async fn a_burst_of_wrong_codes_gets_no_more_checks_than_the_login_limit() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;
    let browser = awaiting_code(&app, "ada", PASSWORD).await;
    let right = app.next_code_for(&keys.secret);
    let wrong = wrong(&right);

    let burst = (0..20).map(|_| give_code(&app, &browser, &wrong));
    let statuses: Vec<StatusCode> = join_all(burst)
        .await
        .iter()
        .map(|response| response.status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let limit = app.settings.auth.max_login_failures as usize;
    assert_eq!(checked, limit, "{statuses:?}");
    assert_eq!(refused, 20 - limit, "{statuses:?}");

    let throttled = give_code(&app, &browser, &right).await;
    assert_eq!(
        throttled.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "not even the right code is checked now"
    );
    assert!(throttled.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_a_current_code() {
    let app = spawn_app().await;
    let (ada, keys) = member_with_two_factor(&app, "ada").await;
    // Past the five minutes in which a sign-in spares confirming again.
    app.clock.advance(Duration::from_secs(6 * 60));
    let code = app.next_code_for(&keys.secret);

    let wrong_password = app
        .post_form(
            &ada,
            "/settings/two-factor/disable",
            &[("password", "not my password"), ("code", &code)],
        )
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(wrong_password).await;
    assert!(page.contains("That is not your password."));
    assert!(!page.contains(&code), "the code is not written back");

    for typed in [
        wrong(&code),
        String::new(),
        "\0".into(),
        "x".repeat(100_000),
    ] {
        let refused = app
            .post_form(
                &ada,
                "/settings/two-factor/disable",
                &[("password", PASSWORD), ("code", &typed)],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body(refused).await.contains("field-error"));
    }
    assert!(is_on(&app, "ada").await);

    let off = app
        .post_form(
            &ada,
            "/settings/two-factor/disable",
            &[("password", PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert!(!is_on(&app, "ada").await);
    let login = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(location(&login), "/dashboard", "the password alone again");
}

#[tokio::test]
async fn new_recovery_codes_take_the_password_and_a_code_and_replace_the_old_ones() {
    let app = spawn_app().await;
    let (ada, keys) = member_with_two_factor(&app, "ada").await;
    // Past the five minutes in which a sign-in spares confirming again.
    app.clock.advance(Duration::from_secs(6 * 60));

    let refused = app
        .post_form(
            &ada,
            "/settings/two-factor/recovery-codes",
            &[("password", PASSWORD), ("code", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let code = app.next_code_for(&keys.secret);
    let renewed = app
        .post_form(
            &ada,
            "/settings/two-factor/recovery-codes",
            &[("password", PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let fresh = texts_of(&body(renewed).await, "#recovery-codes li");
    assert_eq!(fresh.len(), 10);

    let old = awaiting_code(&app, "ada", PASSWORD).await;
    assert_eq!(
        give_code(&app, &old, &keys.recovery_codes[0])
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        give_code(&app, &old, &fresh[0]).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn nobody_else_reaches_or_changes_an_accounts_second_factor() {
    let app = spawn_app().await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;
    let code = app.next_code_for(&keys.secret);
    let forms = [
        ("/settings/two-factor/start", vec![]),
        (
            "/settings/two-factor/confirm",
            vec![("code", code.as_str())],
        ),
        (
            "/settings/two-factor/recovery-codes",
            vec![("password", PASSWORD), ("code", code.as_str())],
        ),
        (
            "/settings/two-factor/disable",
            vec![("password", PASSWORD), ("code", code.as_str())],
        ),
    ];

    // An anonymous visitor, and a browser that gave ada's password but not yet her code.
    let pending = awaiting_code(&app, "ada", PASSWORD).await;
    for browser in [client(), pending] {
        let page = app.get(&browser, "/settings/two-factor").await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        assert!(location(&page).starts_with("/login?next="));
        for (path, form) in &forms {
            let response = app.post_form(&browser, path, form).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert!(location(&response).starts_with("/login?next="), "{path}");
        }
    }
    let stranger = give_code(&app, &client(), &code).await;
    assert_eq!(
        location(&stranger),
        "/login",
        "no login waits in a new browser"
    );

    // Another member acts on their own account only, whatever they send.
    let bob = app.signed_up("bob").await;
    for (path, form) in &forms[1..] {
        app.post_form(&bob, path, form).await;
    }
    let own = body(app.get(&bob, "/settings/two-factor").await).await;
    assert!(own.contains("Set up two-factor sign-in"));
    assert!(is_on(&app, "ada").await);
    let ada = awaiting_code(&app, "ada", PASSWORD).await;
    assert_eq!(
        location(&give_code(&app, &ada, &code).await),
        "/dashboard",
        "ada's code was not used up by anyone else"
    );
}

#[tokio::test]
async fn an_admin_without_two_factor_is_sent_to_set_it_up() {
    let app = spawn_app().await;
    let grace = app.signed_up("grace").await;
    app.signed_up("ada").await;
    sqlx::query("update users set role = 'admin' where username = 'grace'")
        .execute(&app.db)
        .await
        .unwrap();

    for path in [
        "/admin",
        "/admin/accounts",
        "/admin/accounts/ada",
        "/admin/nope",
    ] {
        let response = app.get(&grace, path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let page = body(response).await;
        assert!(page.contains(r#"href="/settings/two-factor""#), "{path}");
        assert!(!page.contains("ada@example.org"), "{path}");
    }
    let suspend = app
        .post_form(&grace, "/admin/accounts/ada/suspend", &[("reason", "spam")])
        .await;
    assert_eq!(suspend.status(), StatusCode::FORBIDDEN);
    let status: String = sqlx::query_scalar("select status from users where username = 'ada'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "active", "nothing was done");

    app.enable_two_factor(&grace).await;
    assert_eq!(
        app.get(&grace, "/admin/accounts").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_reset_still_asks_for_the_code() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let (_, keys) = member_with_two_factor(&app, "ada").await;
    let new_password = "a brand new passphrase";
    let waiting_since_before = awaiting_code(&app, "ada", PASSWORD).await;

    app.post_form(
        &client(),
        "/password/forgot",
        &[("email", "ada@example.org")],
    )
    .await;
    let mail = smtp
        .last_to("ada@example.org", "Reset your txtcv password")
        .await;
    let link = mail.link("/password/reset/").expect("a link");
    let reset = app
        .post_form(&client(), &link, &[("new_password", new_password)])
        .await;
    assert_eq!(reset.status(), StatusCode::OK);

    let browser = awaiting_code(&app, "ada", new_password).await;
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
    let code = app.next_code_for(&keys.secret);
    let stale = give_code(&app, &waiting_since_before, &code).await;
    assert_eq!(
        location(&stale),
        "/login",
        "a login begun with the old password cannot be finished"
    );
    assert_eq!(
        location(&give_code(&app, &browser, &code).await),
        "/dashboard"
    );
}
