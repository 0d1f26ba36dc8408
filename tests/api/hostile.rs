//! A hostile client's traffic: the same request fired in parallel, a stolen cookie kept busy
//! while its session is ended, forged proxy headers. Each check here held one request at a time
//! before it held under these.

use std::net::IpAddr;

use futures::future::join_all;
use reqwest::{Client, StatusCode, header};
use txtcv::startup::Application;

use crate::helpers::{
    PASSWORD, TestApp, client, cookie_pair, location, session_cookie, spawn_app, spawn_app_with,
};

/// Trials per race: each one lost before the fixes in most of five.
const TRIALS: usize = 5;

/// A client without a cookie jar: the cookie goes by hand, as a thief would send it.
fn bare_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs `username` in from a fresh browser and returns its session cookie (`name=value`).
async fn session_of(app: &TestApp, username: &str, password: &str) -> String {
    let response = app.login(&client(), username, password).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{username} signs in"
    );
    cookie_pair(&session_cookie(&response).expect("login sets a cookie")).to_owned()
}

async fn dashboard_with(app: &TestApp, cookie: &str) -> StatusCode {
    bare_client()
        .get(app.url("/dashboard"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// Keeps `cookie` busy on the dashboard from five tasks while `end` runs, then asks once more.
async fn busy_while(app: &TestApp, cookie: &str, end: impl Future<Output = ()>) -> StatusCode {
    let loads = (0..5).map(|_| async {
        for _ in 0..6 {
            dashboard_with(app, cookie).await;
        }
    });
    tokio::join!(join_all(loads), end);
    dashboard_with(app, cookie).await
}

#[tokio::test]
async fn a_session_ended_while_its_cookie_is_busy_stays_ended() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    for trial in 0..TRIALS {
        let cookie = session_of(&app, "ada", PASSWORD).await;
        let logout = async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let response = bare_client()
                .post(app.url("/logout"))
                .header(header::COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        };
        let after = busy_while(&app, &cookie, logout).await;
        assert_eq!(after, StatusCode::SEE_OTHER, "trial {trial}: logged out");
    }
}

#[tokio::test]
async fn a_suspension_ends_a_busy_session_for_good() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.signed_up("ada").await;
    for trial in 0..TRIALS {
        let cookie = session_of(&app, "ada", PASSWORD).await;
        let suspend = async {
            let response = app
                .post_form(
                    &root,
                    "/admin/accounts/ada/suspend",
                    &[("reason", "checking")],
                )
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        };
        busy_while(&app, &cookie, suspend).await;
        app.post_form(&root, "/admin/accounts/ada/unsuspend", &[])
            .await;
        let after = dashboard_with(&app, &cookie).await;
        assert_eq!(
            after,
            StatusCode::SEE_OTHER,
            "trial {trial}: the old cookie needs a new login after unsuspending"
        );
    }
}

#[tokio::test]
async fn a_password_change_ends_other_busy_sessions_and_keeps_its_own() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let mut password = PASSWORD.to_owned();
    for trial in 0..TRIALS {
        let thief = session_of(&app, "ada", &password).await;
        let owner = client();
        app.login(&owner, "ada", &password).await;
        let new_password = format!("{PASSWORD} {trial}");
        let change = async {
            let response = app
                .post_form(
                    &owner,
                    "/settings/password",
                    &[
                        ("current_password", &password),
                        ("new_password", &new_password),
                    ],
                )
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        };
        let after = busy_while(&app, &thief, change).await;
        assert_eq!(after, StatusCode::SEE_OTHER, "trial {trial}: thief is out");
        let own = app.get(&owner, "/dashboard").await.status();
        assert_eq!(own, StatusCode::OK, "trial {trial}: the owner stays in");
        password = new_password;
    }
}

#[tokio::test]
async fn a_page_view_that_changes_nothing_writes_no_session() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.get(&ada, "/dashboard").await;
    // Every session row with its version (xmin changes with every write): a write, insert or
    // delete shows at once. (pg_stat_user_tables' counters can arrive seconds late: a backend
    // reports them at most once a second, and an idle one only after a timeout.)
    let writes = || async {
        let rows: String = sqlx::query_scalar(
            "select coalesce(string_agg(id || ':' || xmin::text, ',' order by id), '')
             from sessions",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        rows
    };
    let before = writes().await;
    for _ in 0..5 {
        let response = app.get(&ada, "/dashboard").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(session_cookie(&response).is_none(), "no cookie is re-set");
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(writes().await, before, "the page views wrote nothing");
}

/// A second web process on the same database, with caches of its own.
async fn second_web_process(app: &TestApp) -> String {
    let second = Application::build(app.settings.clone(), app.db.clone())
        .await
        .expect("a second web process builds");
    let address = format!("http://localhost:{}", second.port());
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(second.run_until_stopped(shutdown.child_token()));
    std::mem::forget(shutdown);
    address
}

#[tokio::test]
async fn a_password_change_on_one_process_keeps_the_session_on_the_other() {
    let app = spawn_app().await;
    let other = second_web_process(&app).await;
    app.signed_up("ada").await;
    let mut password = PASSWORD.to_owned();
    for trial in 0..3 {
        let cookie = session_of(&app, "ada", &password).await;
        // Both processes have read the session and the account into memory.
        assert_eq!(dashboard_with(&app, &cookie).await, StatusCode::OK);
        let on_other = || {
            bare_client()
                .get(format!("{other}/dashboard"))
                .header(header::COOKIE, &cookie)
                .send()
        };
        assert_eq!(on_other().await.unwrap().status(), StatusCode::OK);

        let new_password = format!("{PASSWORD} {trial}");
        let response = bare_client()
            .post(app.url("/settings/password"))
            .header(header::COOKIE, &cookie)
            .form(&[
                ("current_password", password.as_str()),
                ("new_password", &new_password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        for _ in 0..5 {
            let status = on_other().await.unwrap().status();
            assert_eq!(status, StatusCode::OK, "trial {trial}: still signed in");
        }
        password = new_password;
    }
}

/// Fires `count` login attempts for `login` at once, each with `password` and the headers
/// `headers_for(i)` adds; answers how many got each status.
async fn login_burst(
    app: &TestApp,
    count: usize,
    login: &str,
    password: &str,
    headers_for: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Vec<StatusCode> {
    let attempts = (0..count).map(|i| {
        let mut request = bare_client()
            .post(app.url("/login"))
            .form(&[("login", login), ("password", password)]);
        for (name, value) in headers_for(i) {
            request = request.header(name, value);
        }
        async move { request.send().await.unwrap().status() }
    });
    join_all(attempts).await
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == wanted).count()
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let limit = app.settings.auth.max_login_failures as usize;

    let statuses = login_burst(&app, 60, "ada", "wrong password", |_| vec![]).await;

    assert_eq!(count(&statuses, StatusCode::UNPROCESSABLE_ENTITY), limit);
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 60 - limit);
}

fn behind_proxy(settings: &mut txtcv::config::Settings) {
    settings.server.trust_forwarded_for = true;
    settings.server.trusted_proxy_hops = 1;
}

/// What our proxy appends after whatever the client wrote.
fn forwarded(client_wrote: &str, proxy_saw: &str) -> Vec<(&'static str, String)> {
    vec![("x-forwarded-for", format!("{client_wrote}, {proxy_saw}"))]
}

#[tokio::test]
async fn forged_forwarded_for_entries_do_not_escape_the_login_throttle() {
    let app = spawn_app_with(behind_proxy).await;
    app.signed_up("ada").await;
    let limit = app.settings.auth.max_login_failures as usize;

    let statuses = login_burst(&app, 30, "nobody", "wrong", |i| {
        forwarded(&format!("10.0.0.{i}"), "198.51.100.7")
    })
    .await;

    assert_eq!(count(&statuses, StatusCode::UNPROCESSABLE_ENTITY), limit);
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 30 - limit);
}

#[tokio::test]
async fn forged_forwarded_for_entries_do_not_escape_the_signup_throttle() {
    let app = spawn_app_with(behind_proxy).await;
    let limit = app.settings.auth.max_signups as usize;
    let signups = (0..20).map(|i| {
        let username = format!("user{i}");
        let email = format!("user{i}@example.org");
        let request = bare_client()
            .post(app.url("/signup"))
            .header(
                "x-forwarded-for",
                format!("192.0.2.{i}, 198.51.100.7").as_str(),
            )
            .form(&[
                ("username", username.as_str()),
                ("email", &email),
                ("password", PASSWORD),
            ]);
        async move { request.send().await.unwrap().status() }
    });
    let statuses = join_all(signups).await;
    assert_eq!(count(&statuses, StatusCode::SEE_OTHER), limit);
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 20 - limit);
}

#[tokio::test]
async fn a_strangers_wrong_passwords_do_not_lock_the_owner_out() {
    let app = spawn_app_with(behind_proxy).await;
    app.signed_up("ada").await;
    let limit = app.settings.auth.max_login_failures as usize;
    let attacker: IpAddr = "198.51.100.66".parse().unwrap();

    let statuses = login_burst(&app, limit + 5, "ada", "guess", |_| {
        forwarded("1.1.1.1", &attacker.to_string())
    })
    .await;
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 5);

    let owner = login_burst(&app, 1, "ada", PASSWORD, |_| {
        forwarded("1.1.1.1", "203.0.113.20")
    })
    .await;
    assert_eq!(owner, [StatusCode::SEE_OTHER], "the owner gets in");

    // A guesser spread over fresh addresses gets one check from each, not ten.
    let fresh = login_burst(&app, 3, "ada", "guess", |_| {
        forwarded("1.1.1.1", "203.0.113.99")
    })
    .await;
    assert_eq!(count(&fresh, StatusCode::UNPROCESSABLE_ENTITY), 1);
    assert_eq!(count(&fresh, StatusCode::TOO_MANY_REQUESTS), 2);
}

#[tokio::test]
async fn settings_password_checks_are_throttled_like_login() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let limit = app.settings.auth.max_login_failures as usize;

    let guesses = (0..40).map(|i| {
        let (path, form): (&str, Vec<(&str, String)>) = if i % 2 == 0 {
            (
                "/settings/password",
                vec![
                    ("current_password", format!("guess {i}")),
                    ("new_password", format!("{PASSWORD} new")),
                ],
            )
        } else {
            ("/settings/delete", vec![("password", format!("guess {i}"))])
        };
        let request = ada.post(app.url(path)).form(&form);
        async move { request.send().await.unwrap().status() }
    });
    let statuses = join_all(guesses).await;

    assert_eq!(count(&statuses, StatusCode::UNPROCESSABLE_ENTITY), limit);
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 40 - limit);
    assert_eq!(app.get(&ada, "/dashboard").await.status(), StatusCode::OK);
    let login = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(
        login.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the same budget as login, from the same address"
    );
    assert!(location(&login).is_empty());
}

#[tokio::test]
async fn a_nul_byte_in_a_login_is_a_wrong_login_not_an_error() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    for login in ["ada\0", "\0", "ada@example.org\0x"] {
        let response = app.login(&client(), login, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{login:?}"
        );
    }
}
