//! Scale-out, shown: two `txtcv serve --no-worker` processes and two `txtcv worker` processes on
//! one database. Sessions work on any web process, and every letter is written once by one worker
//! — or, when a worker dies holding some, again by the other, and never lost.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use tokio::process::{Child, Command};
use txtcv::{
    domain::LetterDetails,
    jobs::{self, WriteCoverLetter},
    store::{
        cover_letters::{self, NewLetter},
        cvs,
    },
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, client, location, small_cv, spawn_web_only},
    mock_llm::{MockLlm, Reply},
};

const LETTERS: usize = 1_000;
/// Letters asked for over HTTP on each web process; the rest are enqueued the way the handler
/// does it, in bulk, to keep the test short.
const THROUGH_HTTP_EACH: usize = 20;
const WORKER_CONCURRENCY: usize = 4;

/// Two web processes and two worker processes on the test's database, writing letters through
/// an OpenAI-compatible endpoint that counts its calls.
struct Cluster {
    webs: [WebProcess; 2],
    workers: [Child; 2],
    llm: MockLlm,
}

struct WebProcess {
    address: String,
    _process: Child,
}

impl WebProcess {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Cluster {
    async fn start(app: &TestApp) -> Self {
        // Each call takes a little while, so a worker holds letters when it is killed.
        let llm = MockLlm::start(vec![Reply::After(
            Duration::from_millis(10),
            Box::new(Reply::Letter("Dear hiring team, I would love to help.")),
        )])
        .await;
        let webs = [web_process(app).await, web_process(app).await];
        let workers = [worker_process(app, &llm), worker_process(app, &llm)];
        Self { webs, workers, llm }
    }
}

fn txtcv(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_txtcv"));
    command
        .args(args)
        .env("TXTCV_PROFILE", "test")
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .env("TXTCV__COVER_LETTERS__DAILY_QUOTA", "100000")
        .kill_on_drop(true);
    command
}

async fn web_process(app: &TestApp) -> WebProcess {
    let port = free_port();
    let process = txtcv(app, &["serve", "--no-worker"])
        .env("TXTCV__SERVER__PORT", port.to_string())
        .spawn()
        .expect("the web process starts");
    let address = format!("http://localhost:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client()
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "the web process never got ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    WebProcess {
        address,
        _process: process,
    }
}

fn worker_process(app: &TestApp, llm: &MockLlm) -> Child {
    txtcv(app, &["worker"])
        .env("TXTCV__LLM__PROVIDER", "openai")
        .env("TXTCV__LLM__BASE_URL", &llm.base_url)
        .env("TXTCV__LLM__MODEL", "mock-model")
        .env("TXTCV__WORKER__CONCURRENCY", WORKER_CONCURRENCY.to_string())
        .env("TXTCV__WORKER__POLL_INTERVAL_MS", "500")
        .env("TXTCV__WORKER__HEARTBEAT_SECS", "1")
        .env("TXTCV__WORKER__MISSED_HEARTBEATS", "2")
        .spawn()
        .expect("the worker starts")
}

/// A port nobody listens on right now, for a process to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Signs `username` up on `web` and saves a CV for them.
async fn signed_up_with_cv(app: &TestApp, web: &WebProcess, username: &str) -> Client {
    let client = client();
    let form = [
        ("username", username),
        ("email", &format!("{username}@example.org")),
        ("password", crate::helpers::PASSWORD),
    ];
    let response = client.post(web.url("/signup")).form(&form).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::SEE_OTHER);
    app.save_cv_directly(username, &small_cv("Ada Lovelace"))
        .await;
    client
}

async fn ask_for_letter(web: &WebProcess, client: &Client) {
    let form = [("job_description", "A Rust engineer who knows PostgreSQL.")];
    let response = client
        .post(web.url("/cover-letters"))
        .form(&form)
        .send()
        .await
        .expect("request is sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/cover-letters/"));
}

/// Enqueues `count` letters for `owner_id` as the handler does (letter and job in one
/// transaction), many per transaction.
async fn enqueue_directly(app: &TestApp, owner_id: Uuid, count: usize) {
    let mut connection = app.db.acquire().await.unwrap();
    let cv = cvs::primary(&mut *connection, owner_id)
        .await
        .unwrap()
        .unwrap();
    let version = cvs::latest_version(&mut *connection, owner_id, cv.id)
        .await
        .unwrap()
        .unwrap();
    drop(connection);
    let details = LetterDetails::parse("A Rust engineer who knows PostgreSQL.", "", "").unwrap();
    let mut left = count;
    while left > 0 {
        let batch = left.min(100);
        let mut tx = app.db.begin().await.unwrap();
        for _ in 0..batch {
            let new = NewLetter {
                owner_id,
                cv_id: version.cv_id,
                cv_version: version.number,
                details: &details,
            };
            let letter = cover_letters::insert(&mut tx, new).await.unwrap();
            let job = WriteCoverLetter {
                owner_id,
                letter_id: letter.id,
            };
            jobs::enqueue(&mut tx, &job).await.unwrap();
        }
        tx.commit().await.unwrap();
        left -= batch;
    }
}

/// 1,000 letters: some asked for over HTTP on each web process, the rest enqueued directly.
async fn enqueue_letters(app: &TestApp, cluster: &Cluster) {
    let ada = signed_up_with_cv(app, &cluster.webs[0], "ada").await;
    let grace = signed_up_with_cv(app, &cluster.webs[1], "grace").await;
    for _ in 0..THROUGH_HTTP_EACH {
        ask_for_letter(&cluster.webs[0], &ada).await;
        ask_for_letter(&cluster.webs[1], &grace).await;
    }
    let rest = LETTERS - 2 * THROUGH_HTTP_EACH;
    enqueue_directly(app, app.user_id("ada").await, rest / 2).await;
    enqueue_directly(app, app.user_id("grace").await, rest - rest / 2).await;
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

async fn successful(app: &TestApp) -> i64 {
    count(
        app,
        "select count(*) from cover_letters where status = 'successful'",
    )
    .await
}

/// Waits until every letter is final, and returns how many are successful.
async fn wait_until_all_final(app: &TestApp) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let unfinished = count(
            app,
            "select count(*) from cover_letters where status in ('pending', 'running')",
        )
        .await;
        if unfinished == 0 {
            return successful(app).await;
        }
        assert!(
            Instant::now() < deadline,
            "{unfinished} letters are still not final"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_on_one_web_process_works_on_the_other() {
    let app = spawn_web_only().await;
    let webs = [web_process(&app).await, web_process(&app).await];
    let ada = signed_up_with_cv(&app, &webs[0], "ada").await;

    let there = ada.get(webs[1].url("/cover-letters")).send().await.unwrap();
    assert_eq!(there.status(), StatusCode::OK, "signed in on the other");

    let logout = ada.post(webs[1].url("/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_signed_out_within_a_second(&ada, &webs[0]).await;
}

/// Web processes cache sessions and users; PostgreSQL tells them of a change at commit, well
/// before their entries would expire on their own (`txtcv::cache::FRESH_FOR`).
async fn assert_signed_out_within_a_second(client: &Client, web: &WebProcess) {
    assert!(txtcv::cache::FRESH_FOR > Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let response = client.get(web.url("/cover-letters")).send().await.unwrap();
        if response.status() == StatusCode::SEE_OTHER {
            return;
        }
        assert_eq!(response.status(), StatusCode::OK);
        assert!(Instant::now() < deadline, "still signed in after a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_made_elsewhere_ends_a_cached_session_within_a_second() {
    let app = spawn_web_only().await;
    let web = web_process(&app).await;
    let ada = signed_up_with_cv(&app, &web, "ada").await;
    let hot = ada.get(web.url("/cover-letters")).send().await.unwrap();
    assert_eq!(hot.status(), StatusCode::OK);

    // As an administrator's suspension does it, from another process.
    let ada_id = app.user_id("ada").await;
    sqlx::query("update users set status = 'suspended' where id = $1")
        .bind(ada_id)
        .execute(&app.db)
        .await
        .unwrap();

    assert_signed_out_within_a_second(&ada, &web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letters_enqueued_through_two_web_processes_are_each_written_exactly_once() {
    let app = spawn_web_only().await;
    let cluster = Cluster::start(&app).await;

    enqueue_letters(&app, &cluster).await;
    let done = wait_until_all_final(&app).await;

    assert_eq!(done, LETTERS as i64, "every letter is successful");
    let repeated = count(
        &app,
        "select count(*) from cover_letters where attempts <> 1",
    )
    .await;
    assert_eq!(repeated, 0, "each letter took exactly one attempt");
    assert_eq!(cluster.llm.calls(), LETTERS, "one provider call per letter");
    let by_both = count(
        &app,
        "select count(distinct lock_by) from apalis.jobs where job_type = 'cover-letters'",
    )
    .await;
    assert_eq!(by_both, 2, "both workers wrote letters");
    drop(cluster.workers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_worker_mid_run_loses_no_letter() {
    let app = spawn_web_only().await;
    let mut cluster = Cluster::start(&app).await;

    enqueue_letters(&app, &cluster).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while successful(&app).await < 100 {
        assert!(Instant::now() < deadline, "the workers never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.workers[0]
        .kill()
        .await
        .expect("the worker is killed");
    let left_when_killed = LETTERS as i64 - successful(&app).await;
    let done = wait_until_all_final(&app).await;

    assert!(left_when_killed > 0, "the worker died mid-run");
    assert_eq!(done, LETTERS as i64, "every letter is successful");
    let calls = cluster.llm.calls();
    assert!(
        (LETTERS..=LETTERS + WORKER_CONCURRENCY).contains(&calls),
        "{calls} provider calls: once per letter, plus at most the killed worker's letters in hand"
    );
    let repeated = count(
        &app,
        "select count(*) from cover_letters where attempts <> 1",
    )
    .await;
    assert!(
        repeated <= WORKER_CONCURRENCY as i64,
        "{repeated} letters were written twice"
    );
}
