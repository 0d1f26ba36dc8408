//! Mail, received by a real SMTP server: confirming an address, resetting a forgotten password,
//! and what happens when the server is down or refuses.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;

use crate::{
    helpers::{PASSWORD, TestApp, body, client, location, spawn_app_with},
    smtp::{Answer, SmtpServer},
};

const NEW_PASSWORD: &str = "a brand new passphrase";
pub const CONFIRM: &str = "Confirm your email address for txtcv";
const RESET: &str = "Reset your txtcv password";
const CHANGED: &str = "Your txtcv password was changed";

pub async fn app_with_mail(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |settings| {
        settings.mail.smtp_url = Some(url.into());
        settings.mail.retry_backoff_ms = 100;
    })
    .await
}

#[tokio::test]
async fn signing_up_mails_a_link_that_confirms_the_address() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;
    let dashboard = body(app.get(&ada, "/dashboard").await).await;
    assert!(
        dashboard.contains("Please confirm your address"),
        "{dashboard}"
    );

    let mail = smtp.last_to("ada@example.org", CONFIRM).await;
    assert!(mail.data.contains("Hello ada"));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    assert!(!mail.data.contains(PASSWORD));
    let link = mail.link("/email/confirm/").expect("a link");

    // Opened on another device, signed out.
    let confirmed = app.get(&client(), &link).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(
        body(confirmed)
            .await
            .contains("ada@example.org</strong> is confirmed")
    );
    let dashboard = body(app.get(&ada, "/dashboard").await).await;
    assert!(!dashboard.contains("Please confirm your address"));

    let again = app.get(&client(), &link).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a link works once");
    assert!(body(again).await.contains("This link does not work"));
}

#[tokio::test]
async fn the_confirmation_can_be_sent_again_a_few_times_and_only_the_newest_works() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;
    let first = smtp.last_to("ada@example.org", CONFIRM).await;

    let again = app.post_form(&ada, "/email/confirm", &[]).await;
    assert_eq!(location(&again), "/dashboard");
    let second = smtp.wait_for(2).await.pop().unwrap();
    let prefix = "/email/confirm/";
    let (old, new) = (first.link(prefix).unwrap(), second.link(prefix).unwrap());
    assert_ne!(old, new);
    assert_eq!(app.get(&ada, &old).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&ada, &new).await.status(), StatusCode::OK);

    let limit = app.settings.auth.max_confirmation_mails as usize;
    let bursts = (0..limit + 3).map(|_| app.post_form(&ada, "/email/confirm", &[]));
    let statuses: Vec<StatusCode> = join_all(bursts).await.iter().map(|r| r.status()).collect();
    // Confirmed now: asking again changes nothing and sends nothing.
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2);
}

#[tokio::test]
async fn asking_again_is_throttled_per_account() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;
    let limit = app.settings.auth.max_confirmation_mails as usize;

    let asks = (0..limit + 4).map(|_| app.post_form(&ada, "/email/confirm", &[]));
    let statuses: Vec<StatusCode> = join_all(asks).await.iter().map(|r| r.status()).collect();

    let sent = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(sent, limit, "{statuses:?}");
    assert_eq!(smtp.wait_for(1 + limit).await.len(), 1 + limit);
}

async fn ask_for_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_form(&client(), "/password/forgot", &[("email", email)])
        .await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_link_that_works_once() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let ada = app.signed_up("ada").await;
    let login = body(app.get(&client(), "/login").await).await;
    assert!(login.contains(r#"href="/password/forgot""#));

    let asked = ask_for_reset(&app, "ADA@example.org").await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(
        body(asked)
            .await
            .contains("If an account uses that address")
    );
    let mail = smtp.last_to("ada@example.org", RESET).await;
    let path = mail.link("/password/reset/").expect("a link");

    let form = app.get(&client(), &path).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(body(form).await.contains("Choose a new password"));
    let weak = app
        .post_form(&client(), &path, &[("new_password", "short")])
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(weak).await.contains("new_password-error"));

    let done = app
        .post_form(&client(), &path, &[("new_password", NEW_PASSWORD)])
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(body(done).await.contains("Your password is changed"));
    assert_eq!(
        app.get(&ada, "/dashboard").await.status(),
        StatusCode::SEE_OTHER,
        "every session ended"
    );
    let reused = app
        .post_form(
            &client(),
            &path,
            &[("new_password", "another new passphrase")],
        )
        .await;
    assert_eq!(
        reused.status(),
        StatusCode::NOT_FOUND,
        "the link works once"
    );
    assert_eq!(
        app.get(&client(), &path).await.status(),
        StatusCode::NOT_FOUND
    );

    let old = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new = app.login(&client(), "ada", NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    let notice = smtp.last_to("ada@example.org", CHANGED).await;
    assert!(notice.data.contains("/password/forgot"));
    for mail in smtp.received() {
        assert!(!mail.data.contains(NEW_PASSWORD) && !mail.data.contains(PASSWORD));
    }
    let confirmed: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select email_confirmed_at from users where username = 'ada'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(confirmed.is_some(), "the reset link proved the address");
}

#[tokio::test]
async fn a_reset_link_stops_working_after_ten_minutes() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    app.signed_up("ada").await;
    ask_for_reset(&app, "ada@example.org").await;
    let mail = smtp.last_to("ada@example.org", RESET).await;
    let link = mail.link("/password/reset/").unwrap();

    app.clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(app.get(&client(), &link).await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(2 * 60));
    let expired = app.get(&client(), &link).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert!(body(expired).await.contains("Ask for a new reset link"));
    let set = app
        .post_form(&client(), &link, &[("new_password", NEW_PASSWORD)])
        .await;
    assert_eq!(set.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.login(&client(), "ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forgot_answers_alike_and_as_fast_for_known_and_unknown_addresses() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |settings| {
        settings.mail.smtp_url = Some(url.into());
        settings.auth.max_reset_requests = 1000;
    })
    .await;
    app.signed_up("ada").await;
    // Timing is noisy on a busy machine: a real oracle shows in every try, a load spike in one.
    let mut gaps = Vec::new();
    for _ in 0..3 {
        let (known, unknown) = reset_medians(&app).await;
        let gap = known.abs_diff(unknown);
        if gap < Duration::from_millis(25) {
            return;
        }
        gaps.push(format!("known {known:?} and unknown {unknown:?}"));
    }
    panic!("known and unknown addresses answer in about the same time: {gaps:?}");
}

/// The median answer times of 20 forgotten-password requests for a known and an unknown
/// address, asked in turn; every answer is the same page.
async fn reset_medians(app: &TestApp) -> (Duration, Duration) {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut pages = Vec::new();
    for round in 0..20 {
        for (email, times) in [
            ("ada@example.org", &mut known),
            ("nobody@example.org", &mut unknown),
        ] {
            let started = Instant::now();
            let response = ask_for_reset(app, email).await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::OK, "round {round}");
            pages.push(body(response).await.replace(email, "EMAIL"));
        }
    }
    assert!(
        pages.windows(2).all(|pair| pair[0] == pair[1]),
        "the same page"
    );
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    (median(&mut known), median(&mut unknown))
}

#[tokio::test]
async fn forgot_is_throttled_per_address_and_per_email() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let limit = app.settings.auth.max_reset_requests as usize;

    let asks =
        (0..limit + 5).map(|i| ask_for_reset(&app, if i % 2 == 0 { "a@x.org" } else { "b@x.org" }));
    let statuses: Vec<StatusCode> = join_all(asks).await.iter().map(|r| r.status()).collect();
    let answered = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(answered, limit, "{statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        5
    );
}

#[tokio::test]
async fn odd_reset_and_confirmation_addresses_get_the_unusable_link_page() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    for path in [
        "/password/reset/nonsense",
        "/password/reset/%00",
        &format!("/password/reset/{}", "a".repeat(64)),
        "/email/confirm/%00",
        &format!("/email/confirm/{}", "b".repeat(64)),
    ] {
        let response = app.get(&client(), path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let posted = app
        .post_form(
            &client(),
            "/password/reset/%00",
            &[("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    let nul = ask_for_reset(&app, "ada\0@example.org").await;
    assert_eq!(nul.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_mail_waits_while_the_server_is_down_and_goes_once_it_is_back() {
    let port = SmtpServer::free_port().await;
    let app = spawn_app_with(move |settings| {
        settings.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        settings.mail.retry_backoff_ms = 200;
    })
    .await;
    let signup = app
        .signup(&client(), "ada", "ada@example.org", PASSWORD)
        .await;
    assert_eq!(
        signup.status(),
        StatusCode::SEE_OTHER,
        "the request does not wait"
    );

    tokio::time::sleep(Duration::from_millis(700)).await;
    let smtp = SmtpServer::start_on(port).await;
    smtp.last_to("ada@example.org", CONFIRM).await;
    let (attempts, sent): (i32, bool) = sqlx::query_as(
        "select attempts, sent_at is not null from outgoing_mails where kind = 'confirm-email'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(attempts > 1 && sent, "{attempts} attempts");
}

#[tokio::test]
async fn a_busy_server_is_tried_again_and_a_refusal_is_final() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    smtp.answer_with(Answer::Busy);
    app.signed_up("ada").await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    smtp.answer_with(Answer::Accept);
    smtp.last_to("ada@example.org", CONFIRM).await;

    smtp.answer_with(Answer::Refuse);
    app.signed_up("bob").await;
    let failure = async {
        for _ in 0..100 {
            let row: Option<(i32, String)> = sqlx::query_as(
                "select m.attempts, m.failure from outgoing_mails m join users u on u.id = m.owner_id
                 where u.username = 'bob' and m.failed_at is not null",
            )
            .fetch_optional(&app.db)
            .await
            .unwrap();
            if let Some(row) = row {
                return row;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("bob's mail was not given up");
    };
    let (attempts, reason) = failure.await;
    assert_eq!(attempts, 1, "a 5xx is not tried again");
    assert!(reason.contains("550"), "{reason}");
    let body: Option<String> =
        sqlx::query_scalar("select text_body from outgoing_mails where failed_at is not null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(body.is_none(), "a given-up mail keeps no link");
}

#[tokio::test]
async fn without_an_smtp_server_mail_is_written_to_a_folder() {
    let app = spawn_app_with(|_| {}).await;
    app.signed_up("ada").await;
    let folder = app.settings.mail.folder.clone();
    let mut found = None;
    for _ in 0..100 {
        if let Ok(mut entries) = std::fs::read_dir(&folder)
            && let Some(Ok(entry)) = entries.next()
        {
            found = Some(std::fs::read_to_string(entry.path()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = found.expect("an .eml file is written");
    assert!(mail.contains("Subject: Confirm your email address for txtcv"));
    assert!(mail.contains("/email/confirm/"));
}
