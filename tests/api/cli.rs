//! The `txtcv` binary as an operator meets it.

use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

use crate::helpers::{PASSWORD, spawn_web_only};

fn txtcv(args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_txtcv"));
    command
        .args(args)
        .env("TXTCV_PROFILE", "test")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    command
}

async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    txtcv(args, env).output().await.expect("txtcv runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn every_command_explains_itself() {
    for command in [
        vec![],
        vec!["serve"],
        vec!["worker"],
        vec!["migrate"],
        vec!["admin", "create"],
        vec!["admin", "grant"],
        vec!["admin", "revoke"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let output = run(&args, &[]).await;
        assert!(output.status.success(), "{command:?} --help");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: txtcv"),
            "{command:?}"
        );
    }
    let serve = run(&["serve", "--help"], &[]).await;
    assert!(String::from_utf8_lossy(&serve.stdout).contains("--no-worker"));
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_and_names_its_key() {
    let output = run(&["migrate"], &[("TXTCV__SERVER__PORT", "eighty")]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("server.port"),
        "{}",
        stderr(&output)
    );

    let output = run(&["migrate"], &[("TXTCV__SERVER__PUBLIC_SCHEME", "ftp")]).await;
    assert!(
        stderr(&output).contains("server.public_scheme"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn production_refuses_to_start_without_an_smtp_server() {
    let output = run(
        &["serve"],
        &[
            ("TXTCV_PROFILE", "production"),
            ("DATABASE_URL", "postgres://txtcv@127.0.0.1:1/txtcv"),
        ],
    )
    .await;
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("mail.smtp_url"), "{message}");
    assert!(message.contains("TXTCV__MAIL__SMTP_URL"), "{message}");
}

#[tokio::test]
async fn an_unreachable_database_is_reported_plainly() {
    let output = run(
        &["migrate"],
        &[("DATABASE_URL", "postgres://txtcv:secret@127.0.0.1:1/txtcv")],
    )
    .await;
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("cannot reach PostgreSQL at 127.0.0.1:1/txtcv"),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(
        !message.contains("secret"),
        "the password stays out of the message"
    );
}

#[tokio::test]
async fn an_administrator_is_created_with_the_password_from_stdin() {
    let app = spawn_web_only().await;
    let mut child = txtcv(
        &[
            "admin",
            "create",
            "--username",
            "Root-Admin",
            "--email",
            "root@example.org",
        ],
        &[],
    )
    .env("DATABASE_URL", &app.database_url)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    let output = child.wait_with_output().await.unwrap();

    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("created administrator root-admin"));
    assert!(printed.contains(
        "root-admin must turn on two-factor sign-in at /settings/two-factor before using /admin"
    ));
    let role: String = sqlx::query_scalar("select role from users where username = 'root-admin'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(role, "admin");
    let login = app
        .login(&crate::helpers::client(), "root@example.org", PASSWORD)
        .await;
    assert_eq!(
        login.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the admin can log in"
    );
}

#[tokio::test]
async fn serve_shuts_down_cleanly_on_sigterm() {
    let app = spawn_web_only().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = txtcv(&["serve"], &[("TXTCV__SERVER__PORT", &port.to_string())])
        .env("DATABASE_URL", &app.database_url)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let health = format!("http://127.0.0.1:{port}/healthz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::get(&health).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let pid = server.id().unwrap().to_string();
    let signal = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(signal.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(15), server.wait()).await;

    let status = exit.expect("the server stops within 15 s").unwrap();
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
}

async fn role_of(app: &crate::helpers::TestApp, username: &str) -> String {
    sqlx::query_scalar("select role from users where username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn grant_and_revoke_change_the_role_and_the_last_admin_stays() {
    let app = spawn_web_only().await;
    app.signed_up("ada").await;
    app.signed_up("bob").await;
    let db = [("DATABASE_URL", app.database_url.as_str())];

    let granted = run(&["admin", "grant", "ada"], &db).await;
    assert!(granted.status.success(), "{}", stderr(&granted));
    let printed = String::from_utf8_lossy(&granted.stdout);
    assert!(printed.contains("ada is an administrator now"));
    assert!(printed.contains("ada must turn on two-factor sign-in at /settings/two-factor"));
    assert_eq!(role_of(&app, "ada").await, "admin");

    let last = run(&["admin", "revoke", "ada"], &db).await;
    assert!(!last.status.success());
    assert!(
        stderr(&last).contains("only administrator"),
        "{}",
        stderr(&last)
    );
    assert_eq!(role_of(&app, "ada").await, "admin");

    assert!(run(&["admin", "grant", "bob"], &db).await.status.success());
    let revoked = run(&["admin", "revoke", "ada"], &db).await;
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(role_of(&app, "ada").await, "member");

    let unknown = run(&["admin", "grant", "nobody"], &db).await;
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no account named `nobody`"));
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where admin_username = '(command line)'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(logged, 3, "grant, grant and revoke are on the record");
}
