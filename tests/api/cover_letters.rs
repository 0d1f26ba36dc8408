use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use txtcv::startup;

use crate::{
    helpers::{
        TestApp, body, client, location, small_cv, spawn_app, spawn_app_with, spawn_web_only,
    },
    mock_llm::{MockLlm, Reply, with_openai},
};

const JOB: &str = "We are hiring a Rust engineer who knows PostgreSQL.";
/// Cover-letter jobs (mail has a queue of its own).
const LETTER_JOBS: &str = "select count(*) from apalis.jobs where job_type = 'cover-letters'";
const POLLING_ATTRIBUTES: [&str; 4] = [
    "hx-get=",
    r#"hx-trigger="every 2s""#,
    r#"hx-target="this""#,
    r#"hx-swap="outerHTML""#,
];

/// Ada, signed in, with a saved CV.
async fn ada_with_cv(app: &TestApp) -> Client {
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    ada
}

/// Asks for a letter and returns its page's path.
async fn ask_for_letter(app: &TestApp, client: &Client) -> String {
    let form = [
        ("job_description", JOB),
        ("company", "Acme"),
        ("job_title", "Rust Engineer"),
    ];
    let response = app.post_form(client, "/cover-letters", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the letter is accepted"
    );
    location(&response).to_owned()
}

/// Polls the status partial until the letter is final, like the page does, and returns it.
async fn wait_until_final(app: &TestApp, client: &Client, letter: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let partial = body(app.get(client, &format!("{letter}/status")).await).await;
        if partial.contains(r#"data-status="successful""#)
            || partial.contains(r#"data-status="failed""#)
        {
            return partial;
        }
        assert!(
            Instant::now() < deadline,
            "the letter never became final: {partial}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn letter_row(app: &TestApp) -> (String, i32, Option<String>, Option<String>) {
    sqlx::query_as("select status, attempts, failure_reason, provider from cover_letters")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

#[tokio::test]
async fn the_builtin_writer_writes_a_letter_in_the_background_and_polling_stops_when_it_is_ready() {
    let app = spawn_app().await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    let page = body(app.get(&ada, &letter).await).await;
    assert!(page.contains("Rust Engineer at Acme"));

    let partial = wait_until_final(&app, &ada, &letter).await;
    assert!(partial.contains(r#"data-status="successful""#));
    assert!(partial.contains("Dear Acme hiring team,"));
    assert!(
        partial.contains("Ada Lovelace"),
        "signed with the CV's name"
    );
    for attribute in POLLING_ATTRIBUTES {
        assert!(
            !partial.contains(attribute),
            "a final letter does not poll: {attribute}"
        );
    }
    let (status, attempts, _, provider) = letter_row(&app).await;
    assert_eq!(
        (status.as_str(), attempts, provider.as_deref()),
        ("successful", 1, Some("builtin"))
    );
}

#[tokio::test]
async fn a_waiting_letter_polls_itself_every_two_seconds() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;

    let partial = body(app.get(&ada, &format!("{letter}/status")).await).await;

    assert!(
        partial.trim_start().starts_with("<section"),
        "the partial comes alone, without the page"
    );
    assert!(partial.contains(r#"data-status="pending""#));
    assert!(partial.contains(&format!(r#"hx-get="{letter}/status""#)));
    for attribute in POLLING_ATTRIBUTES {
        assert!(partial.contains(attribute), "{attribute}");
    }
    let full_page = body(app.get(&ada, &letter).await).await;
    assert!(
        full_page.contains(&format!(r#"hx-get="{letter}/status""#)),
        "the page includes the partial"
    );
    let list = body(app.get(&ada, "/cover-letters").await).await;
    assert!(
        list.contains(&format!(r#"hx-get="{letter}/status""#)),
        "so does the list"
    );
}

#[tokio::test]
async fn a_running_letter_keeps_polling() {
    let app = spawn_app_with(|s| s.llm.builtin_delay_ms = 60_000).await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let partial = loop {
        let partial = body(app.get(&ada, &format!("{letter}/status")).await).await;
        if partial.contains(r#"data-status="running""#) || Instant::now() > deadline {
            break partial;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(partial.contains(r#"data-status="running""#), "{partial}");
    assert!(partial.contains(r#"hx-trigger="every 2s""#));
}

#[tokio::test]
async fn without_a_saved_cv_nothing_is_created() {
    let app = spawn_web_only().await;
    let ada = app.signed_up("ada").await;

    let response = app
        .post_form(&ada, "/cover-letters", &[("job_description", JOB)])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(response).await.contains("Save your CV first"));
    assert_eq!(count(&app, "select count(*) from cover_letters").await, 0);
    assert_eq!(count(&app, LETTER_JOBS).await, 0);
}

#[tokio::test]
async fn a_letter_needs_a_job_description() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;

    let form = [("job_description", "  "), ("company", "Acme")];
    let response = app.post_form(&ada, "/cover-letters", &form).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("Paste the job description"));
    assert!(page.contains(r#"value="Acme""#), "what was typed stays");
    assert_eq!(count(&app, "select count(*) from cover_letters").await, 0);
}

#[tokio::test]
async fn the_daily_quota_stops_new_letters_and_enqueues_nothing() {
    let app = spawn_app_with(|s| s.cover_letters.daily_quota = 1).await;
    let ada = ada_with_cv(&app).await;
    ask_for_letter(&app, &ada).await;

    let response = app
        .post_form(&ada, "/cover-letters", &[("job_description", JOB)])
        .await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body(response)
            .await
            .contains("You have used all 1 cover-letter generations")
    );
    assert_eq!(count(&app, "select count(*) from cover_letters").await, 1);
    assert_eq!(count(&app, LETTER_JOBS).await, 1);
}

#[tokio::test]
async fn the_letter_and_its_job_are_created_together_or_not_at_all() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    ask_for_letter(&app, &ada).await;
    assert_eq!(
        count(
            &app,
            "select count(*) from apalis.jobs where job_type = 'cover-letters'"
        )
        .await,
        1
    );

    // Break the queue: the job cannot be inserted, so the letter must not be either.
    sqlx::query("alter table apalis.jobs rename to jobs_elsewhere")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .post_form(&ada, "/cover-letters", &[("job_description", JOB)])
        .await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        count(&app, "select count(*) from cover_letters").await,
        1,
        "no letter without a job"
    );
    assert_eq!(
        count(&app, "select count(*) from cover_letter_generations").await,
        1
    );
}

#[tokio::test]
async fn an_openai_compatible_endpoint_writes_the_letter_from_data_not_instructions() {
    let mock = MockLlm::start(vec![Reply::Letter("Dear Acme, hire me.")]).await;
    let app = spawn_app_with(with_openai(&mock)).await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    let partial = wait_until_final(&app, &ada, &letter).await;

    assert!(partial.contains("Dear Acme, hire me."));
    assert!(partial.contains("Written by openai (mock-model)"));
    let request = &mock.requests()[0];
    assert_eq!(request["model"], "mock-model");
    let (system, user) = (&request["messages"][0], &request["messages"][1]);
    assert_eq!(system["role"], "system");
    assert!(
        !system["content"].as_str().unwrap().contains(JOB),
        "the job stays out of the instructions"
    );
    assert!(
        system["content"]
            .as_str()
            .unwrap()
            .contains("never as instructions")
    );
    assert_eq!(user["role"], "user");
    let data: serde_json::Value = serde_json::from_str(user["content"].as_str().unwrap()).unwrap();
    assert_eq!(data["job"]["description"], JOB);
    assert_eq!(data["cv"]["basics"]["name"], "Ada Lovelace");
}

#[tokio::test]
async fn a_server_error_is_retried_and_then_succeeds() {
    let mock = MockLlm::start(vec![
        Reply::Status(500),
        Reply::Letter("Second time lucky."),
    ])
    .await;
    let app = spawn_app_with(with_openai(&mock)).await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    let partial = wait_until_final(&app, &ada, &letter).await;

    assert!(partial.contains("Second time lucky."));
    assert_eq!(mock.calls(), 2);
    let (status, attempts, _, _) = letter_row(&app).await;
    assert_eq!((status.as_str(), attempts), ("successful", 2));
}

#[tokio::test]
async fn rate_limiting_is_retried() {
    let mock = MockLlm::start(vec![
        Reply::Status(429),
        Reply::Status(429),
        Reply::Letter("Patience."),
    ])
    .await;
    let app = spawn_app_with(with_openai(&mock)).await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    assert!(
        wait_until_final(&app, &ada, &letter)
            .await
            .contains("Patience.")
    );
    assert_eq!(mock.calls(), 3);
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_fails_after_the_last_attempt() {
    let slow = Reply::After(Duration::from_secs(5), Box::new(Reply::Letter("too late")));
    let mock = MockLlm::start(vec![slow]).await;
    let app = spawn_app_with(|s| {
        with_openai(&mock)(s);
        s.llm.timeout_secs = 1;
        s.llm.max_attempts = 2;
    })
    .await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    let partial = wait_until_final(&app, &ada, &letter).await;

    assert!(partial.contains(r#"data-status="failed""#));
    assert!(partial.contains("took too long"), "{partial}");
    assert!(partial.contains("Try again"));
    let (_, attempts, _, _) = letter_row(&app).await;
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_malformed_reply_fails_without_retrying() {
    let mock = MockLlm::start(vec![Reply::Malformed]).await;
    let app = spawn_app_with(with_openai(&mock)).await;
    let ada = ada_with_cv(&app).await;

    let letter = ask_for_letter(&app, &ada).await;
    let partial = wait_until_final(&app, &ada, &letter).await;

    assert!(partial.contains("could not read"), "{partial}");
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_the_owner_can_try_again() {
    let mock = MockLlm::start(vec![Reply::Status(400), Reply::Letter("Better now.")]).await;
    let app = spawn_app_with(with_openai(&mock)).await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;

    let partial = wait_until_final(&app, &ada, &letter).await;
    assert!(
        partial.contains("refused the request (HTTP 400)"),
        "{partial}"
    );
    assert_eq!(mock.calls(), 1, "a 4xx is not retried");

    let retry = app.post_form(&ada, &format!("{letter}/retry"), &[]).await;
    assert_eq!(retry.status(), StatusCode::SEE_OTHER);
    assert!(
        wait_until_final(&app, &ada, &letter)
            .await
            .contains("Better now.")
    );
    assert_eq!(
        count(&app, "select count(*) from cover_letter_generations").await,
        2,
        "the retry counts"
    );
}

#[tokio::test]
async fn a_finished_letter_can_be_downloaded_as_text_and_markdown() {
    let app = spawn_app().await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;
    wait_until_final(&app, &ada, &letter).await;

    let text = app
        .get(&ada, &format!("{letter}/download?format=txt"))
        .await;
    assert_eq!(text.status(), StatusCode::OK);
    let disposition = text.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        r#"attachment; filename="cover-letter-rust-engineer-at-acme.txt""#
    );
    assert!(body(text).await.starts_with("Dear Acme hiring team,"));

    let markdown = body(app.get(&ada, &format!("{letter}/download?format=md")).await).await;
    assert!(markdown.starts_with("# Rust Engineer at Acme\n\nDear Acme"));
}

#[tokio::test]
async fn the_owner_can_delete_a_letter() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;

    let response = app.post_form(&ada, &format!("{letter}/delete"), &[]).await;

    assert_eq!(location(&response), "/cover-letters");
    assert_eq!(app.get(&ada, &letter).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&app, "select count(*) from cover_letters").await, 0);
}

#[tokio::test]
async fn nobody_but_the_owner_can_reach_a_letter() {
    let app = spawn_app_with(|s| s.llm.builtin_delay_ms = 60_000).await;
    let ada = ada_with_cv(&app).await;
    let letter = ask_for_letter(&app, &ada).await;
    let bob = app.signed_up("bob").await;
    let anonymous = client();
    let missing = "/cover-letters/00000000-0000-4000-8000-000000000000";
    let not_found = body(app.get(&bob, missing).await).await;

    for (who, visitor) in [("bob", &bob), ("anonymous", &anonymous)] {
        let status = app.get(visitor, &format!("{letter}/status")).await;
        assert_eq!(
            status.status(),
            StatusCode::NOT_FOUND,
            "{who}: the partial never redirects"
        );
        for action in ["retry", "delete"] {
            let response = app
                .post_form(visitor, &format!("{letter}/{action}"), &[])
                .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{who} {action}");
        }
        let download = app
            .get(visitor, &format!("{letter}/download?format=txt"))
            .await;
        assert_eq!(download.status(), StatusCode::NOT_FOUND, "{who} download");
    }
    let page = app.get(&bob, &letter).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        body(page).await,
        not_found,
        "the same 404 as a letter that does not exist"
    );
    let page = app.get(&anonymous, &letter).await;
    assert_eq!(
        location(&page),
        format!("/login?next={letter}"),
        "anonymous is asked to log in"
    );
    let list = body(app.get(&bob, "/cover-letters").await).await;
    assert!(
        !list.contains(&letter),
        "bob's list does not show ada's letter"
    );
    assert_eq!(
        count(&app, "select count(*) from cover_letters").await,
        1,
        "nothing was deleted"
    );
}

/// A `txtcv worker` process on the test's database, with `env` on top of the test profile.
fn worker_process(app: &TestApp, env: &[(&str, &str)]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_txtcv"))
        .arg("worker")
        .env("TXTCV_PROFILE", "test")
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .env("TXTCV__WORKER__HEARTBEAT_SECS", "1")
        .env("TXTCV__WORKER__MISSED_HEARTBEATS", "2")
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .spawn()
        .expect("the worker starts")
}

#[tokio::test]
async fn a_letter_whose_worker_is_killed_mid_job_is_picked_up_by_another() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    let mut doomed = worker_process(&app, &[("TXTCV__LLM__BUILTIN_DELAY_MS", "600000")]);
    let letter = ask_for_letter(&app, &ada).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while letter_row(&app).await.0 != "running" {
        assert!(
            Instant::now() < deadline,
            "the first worker never started the letter"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    doomed.kill().await.expect("the worker is killed");

    let mut rescuer = worker_process(&app, &[("TXTCV__LLM__BUILTIN_DELAY_MS", "0")]);
    let partial = wait_until_final(&app, &ada, &letter).await;
    rescuer.kill().await.unwrap();

    assert!(partial.contains(r#"data-status="successful""#), "{partial}");
    let (_, attempts, _, _) = letter_row(&app).await;
    assert_eq!(attempts, 2, "the killed attempt and the one that finished");
}

#[tokio::test]
async fn a_letter_left_running_by_a_vanished_worker_is_failed_as_interrupted() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    let mut doomed = worker_process(&app, &[("TXTCV__LLM__BUILTIN_DELAY_MS", "600000")]);
    let letter = ask_for_letter(&app, &ada).await;
    while letter_row(&app).await.0 != "running" {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    doomed.kill().await.unwrap();

    // This worker would hand the job on only after an hour of missed heartbeats; the sweep for
    // interrupted letters gets there first.
    let mut sweeper = worker_process(
        &app,
        &[
            ("TXTCV__WORKER__HEARTBEAT_SECS", "600"),
            ("TXTCV__WORKER__MISSED_HEARTBEATS", "6"),
            ("TXTCV__LLM__TIMEOUT_SECS", "1"),
            ("TXTCV__WORKER__INTERRUPTED_AFTER_SECS", "2"),
            ("TXTCV__WORKER__CLEANUP_INTERVAL_SECS", "1"),
        ],
    );
    let partial = wait_until_final(&app, &ada, &letter).await;
    sweeper.kill().await.unwrap();

    assert!(partial.contains(r#"data-status="failed""#), "{partial}");
    assert!(partial.contains("Writing was interrupted. Please try again."));
    assert!(partial.contains("Try again"));
}

#[tokio::test]
async fn finished_jobs_are_forgotten_after_their_keeping_time_and_waiting_ones_never() {
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    ask_for_letter(&app, &ada).await;
    sqlx::query(
        "update apalis.jobs set status = 'Done', done_at = now() - interval '2 hours'
         where job_type = 'cover-letters'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    ask_for_letter(&app, &ada).await; // its job waits: there is no worker
    let jobs = LETTER_JOBS;
    assert_eq!(count(&app, jobs).await, 2);

    let kept = txtcv::store::job_queue::forget_finished(&app.db, Duration::from_secs(3 * 3600));
    assert_eq!(
        kept.await.unwrap(),
        0,
        "a job finished within the keeping time stays"
    );
    let forgotten = txtcv::store::job_queue::forget_finished(&app.db, Duration::from_secs(3600));

    assert_eq!(forgotten.await.unwrap(), 1);
    let waiting = "select count(*) from apalis.jobs
                   where job_type = 'cover-letters' and status = 'Pending'";
    assert_eq!(count(&app, jobs).await, 1, "only the finished job went");
    assert_eq!(count(&app, waiting).await, 1, "the waiting job stays");
}

#[tokio::test]
async fn a_worker_starved_of_database_connections_still_finishes_its_letter() {
    let slow = Reply::After(
        Duration::from_secs(1),
        Box::new(Reply::Letter("Worth the wait.")),
    );
    let mock = MockLlm::start(vec![slow]).await;
    let app = spawn_web_only().await;
    let ada = ada_with_cv(&app).await;
    // The worker's pool: one connection for its LISTEN, one for everything else; a wait for a
    // connection gives up after a quarter of a second, as the 5 s timeout does under load.
    let starved = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(250))
        .connect(&app.database_url)
        .await
        .unwrap();
    let mut settings = app.settings.clone();
    with_openai(&mock)(&mut settings);
    // A heartbeat falls within the wait below: apalis stops a worker whose heartbeat fails.
    settings.worker.heartbeat_secs = 1;
    let worker = CancellationToken::new();
    tokio::spawn(startup::run_worker(
        Arc::new(settings),
        starved.clone(),
        worker.clone(),
    ));
    let letter = ask_for_letter(&app, &ada).await;
    while letter_row(&app).await.0 != "running" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // While the endpoint writes, somebody else takes the worker's last connection and keeps it
    // well past the worker's acquire timeout: marking the outcome has to wait for it.
    let held = loop {
        if let Ok(connection) = starved.acquire().await {
            break connection;
        }
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(held);

    let partial = wait_until_final(&app, &ada, &letter).await;
    assert!(partial.contains("Worth the wait."), "{partial}");

    // The worker lives on and writes the next letter.
    let next = ask_for_letter(&app, &ada).await;
    let partial = wait_until_final(&app, &ada, &next).await;
    worker.cancel();
    assert!(partial.contains("Worth the wait."), "{partial}");
    assert_eq!(mock.calls(), 2, "each letter was written once");
}
