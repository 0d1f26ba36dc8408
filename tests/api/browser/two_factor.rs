//! Two-factor sign-in in a real browser, with real mail: a member signs up, confirms the address
//! from the mailed link, turns on two-factor sign-in with codes computed as an authenticator app
//! would, logs out, and logs back in with a code.

use fantoccini::{Client, Locator, error::CmdError};

use super::{appearing, fill, in_browser, sign_up, submit, wait_for_path};
use crate::{
    helpers::{PASSWORD, TestApp},
    mail::{CONFIRM, app_with_mail},
    smtp::SmtpServer,
};

const USERNAME: &str = "ada";
const EMAIL: &str = "ada@example.org";
/// What the dashboard says until the address is confirmed.
const UNCONFIRMED: &str = "Please confirm your address";

#[tokio::test]
async fn in_a_browser_a_member_confirms_the_address_turns_on_two_factor_and_logs_in_with_a_code() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    in_browser("txtcv-two-factor.png", |browser| story(app, smtp, browser)).await;
}

async fn story(app: TestApp, smtp: SmtpServer, browser: Client) -> Result<(), CmdError> {
    sign_up(&app, &browser, USERNAME).await?;
    assert!(
        main_text(&browser).await?.contains(UNCONFIRMED),
        "a new member is asked to confirm the address"
    );
    confirm_address(&app, &smtp, &browser).await?;
    let secret = turn_on_two_factor(&app, &browser).await?;
    submit(&browser, "/logout").await?;
    let landed = wait_for_path(&browser, |path| path == "/").await?;
    assert_eq!(landed, "/", "logging out leads to the front page");
    log_in_with_code(&app, &browser, &secret).await
}

/// Follows the link in the confirmation mail, in the browser that signed up.
async fn confirm_address(
    app: &TestApp,
    smtp: &SmtpServer,
    browser: &Client,
) -> Result<(), CmdError> {
    let mail = smtp.last_to(EMAIL, CONFIRM).await;
    let link = mail
        .link("/email/confirm/")
        .expect("the mail links to the confirmation");
    browser.goto(&app.url(&link)).await?;
    let page = main_text(browser).await?;
    assert!(
        page.contains("Your address is confirmed")
            && page.contains(&format!("{EMAIL} is confirmed")),
        "the link confirms the address: {page}"
    );
    browser.goto(&app.url("/dashboard")).await?;
    let dashboard = main_text(browser).await?;
    assert!(
        dashboard.contains(&format!("Signed in as {EMAIL}")) && !dashboard.contains(UNCONFIRMED),
        "the dashboard no longer asks for the confirmation: {dashboard}"
    );
    Ok(())
}

/// Enrols as a member with an authenticator app would, and returns the secret the page showed.
async fn turn_on_two_factor(app: &TestApp, browser: &Client) -> Result<String, CmdError> {
    browser.goto(&app.url("/settings/two-factor")).await?;
    // Only asked when the session did not sign in within the last few minutes.
    if let Some(password) = browser
        .find_all(Locator::Id("start-password"))
        .await?
        .first()
    {
        password.send_keys(PASSWORD).await?;
    }
    submit(browser, "/settings/two-factor/start").await?;
    let secret = appearing(browser, "#two-factor-secret")
        .await?
        .text()
        .await?;
    assert_eq!(
        secret.replace(' ', "").len(),
        32,
        "a base32 secret: {secret:?}"
    );

    fill(browser, "code", &app.code_for(&secret)).await?;
    submit(browser, "/settings/two-factor/confirm").await?;
    appearing(browser, "#recovery-codes").await?;
    let codes = browser.find_all(Locator::Css("#recovery-codes li")).await?;
    assert_eq!(codes.len(), 10, "the recovery codes are shown");
    Ok(secret)
}

/// Logs in with the password, then with a code on the step that asks for it.
async fn log_in_with_code(app: &TestApp, browser: &Client, secret: &str) -> Result<(), CmdError> {
    browser.goto(&app.url("/login")).await?;
    fill(browser, "login", USERNAME).await?;
    fill(browser, "password", PASSWORD).await?;
    submit(browser, "/login").await?;
    let asked = wait_for_path(browser, |path| path == "/login/two-factor").await?;
    assert_eq!(
        asked, "/login/two-factor",
        "the password alone does not sign in"
    );

    // Each code works once and enrolling used this step's, so the app's next one: the server's
    // clock moves 30 seconds on rather than the test waiting for them to pass.
    fill(browser, "code", &app.next_code_for(secret)).await?;
    submit(browser, "/login/two-factor").await?;
    let landed = wait_for_path(browser, |path| path == "/dashboard").await?;
    assert_eq!(landed, "/dashboard", "the code signs in");
    let heading = browser.find(Locator::Css("h1")).await?.text().await?;
    assert_eq!(heading, format!("Hello, {USERNAME}"));
    Ok(())
}

/// What the page's `<main>` says.
async fn main_text(browser: &Client) -> Result<String, CmdError> {
    browser.find(Locator::Css("main")).await?.text().await
}
