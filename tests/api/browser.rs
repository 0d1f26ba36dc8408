//! Stories in a real browser: headless Chromium, driven over WebDriver. This module holds the
//! harness the stories share and the cover-letter story, which proves what the HTTP tests can only
//! infer from markup — that htmx really polls the letter's status, swaps the answer in without
//! reloading the page, and stops polling once the letter is final. Its submodules sign in with two
//! factors and with a passkey, and run axe-core on every kind of page.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use fantoccini::{
    Client, ClientBuilder, Locator,
    elements::Element,
    error::CmdError,
    wd::{Capabilities, WebDriverCompatibleCommand},
};
use reqwest::Method;
use serde_json::json;
use url::{ParseError, Url};
use uuid::Uuid;

use crate::{
    helpers::{PASSWORD, TestApp, small_cv, spawn_app_with},
    mock_llm::{MockLlm, Reply, with_openai},
};

mod accessibility;
mod passkeys;
mod two_factor;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the mock endpoint takes to write: long enough for the page to poll at least twice
/// (every 2 s) before the letter is ready, even if the page loads a little late.
const WRITING_TIME: Duration = Duration::from_secs(6);
const LETTER: &str = "Dear Acme team,\n\nI would like to build your analytical engines.\n\nAda";
/// Generous, for a busy machine: the browser and the server share two cores with other builds.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long the page is watched after the final status, to be sure no poll is still scheduled.
const QUIET_PERIOD: Duration = Duration::from_millis(5500);

#[tokio::test]
async fn in_a_browser_a_letter_appears_without_a_reload_and_then_the_page_stops_polling() {
    let mock = MockLlm::start(vec![Reply::After(
        WRITING_TIME,
        Box::new(Reply::Letter(LETTER)),
    )])
    .await;
    let app = spawn_app_with(with_openai(&mock)).await;
    in_browser("txtcv-cover-letter.png", |browser| story(app, browser)).await;
    assert_eq!(mock.calls(), 1, "the letter was written once");
}

/// Runs `story` in a fresh browser, then saves what the browser shows (as `screenshot`, in the
/// temporary folder) and shuts it down, whether the story passed or not.
async fn in_browser<S, F>(screenshot: &str, story: S)
where
    S: FnOnce(Client) -> F,
    F: Future<Output = Result<(), CmdError>> + Send + 'static,
{
    let browser = Browser::start().await;
    // In a task of its own, so that a failed assertion still lets the browser be shut down.
    let outcome = tokio::spawn(story(browser.client.clone())).await;
    browser
        .save_screenshot(&std::env::temp_dir().join(screenshot))
        .await;
    browser.stop().await;
    match outcome {
        Ok(result) => result.expect("the browser carries out every command"),
        Err(failure) => std::panic::resume_unwind(failure.into_panic()),
    }
}

async fn story(app: TestApp, browser: Client) -> Result<(), CmdError> {
    sign_up(&app, &browser, "ada").await?;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    let id = ask_for_a_letter(&app, &browser).await?;
    // A mark on this document: it survives only if the page is never reloaded.
    browser
        .execute("window.__sameDocument = 'yes'", vec![])
        .await?;
    let htmx = browser.execute("return typeof window.htmx", vec![]).await?;
    assert_eq!(htmx, json!("object"), "htmx is loaded on the letter's page");
    let letter = format!("#letter-{id}");
    let status_url = format!("/cover-letters/{id}/status");

    wait_for_status(&browser, &letter, "running").await?;
    wait_for_status(&browser, &letter, "successful").await?;
    let polls_until_final = status_requests(&browser, &status_url).await?;

    assert!(
        polls_until_final >= 3,
        "the page polled at least twice before the poll that brought the letter, \
         but made only {polls_until_final} status requests in all"
    );
    let text = browser
        .find(Locator::Css(&format!("#letter-text-{id}")))
        .await?;
    assert!(text.is_displayed().await?, "the letter is visible");
    assert!(
        text.text().await?.starts_with("Dear Acme team,"),
        "the letter's text is on the page: {:?}",
        text.text().await?
    );
    let mark = browser
        .execute("return window.__sameDocument", vec![])
        .await?;
    assert_eq!(
        mark,
        json!("yes"),
        "the status changed without reloading the page"
    );
    let card = browser.find(Locator::Css(&letter)).await?;
    for attribute in ["hx-get", "hx-trigger"] {
        assert_eq!(
            card.attr(attribute).await?,
            None,
            "a final letter has no {attribute}"
        );
    }

    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(
        status_requests(&browser, &status_url).await?,
        polls_until_final,
        "no status request after the final status"
    );
    assert_eq!(
        console_csp_violations(&browser).await?,
        Vec::<String>::new(),
        "htmx and the page's scripts run under the Content-Security-Policy"
    );
    Ok(())
}

/// Signs up through the form and lands on the dashboard.
async fn sign_up(app: &TestApp, browser: &Client, username: &str) -> Result<(), CmdError> {
    browser.goto(&app.url("/signup")).await?;
    fill(browser, "username", username).await?;
    fill(browser, "email", &format!("{username}@example.org")).await?;
    fill(browser, "password", PASSWORD).await?;
    submit(browser, "/signup").await?;
    let landed = wait_for_path(browser, |path| path == "/dashboard").await?;
    assert_eq!(landed, "/dashboard", "signing up leads to the dashboard");
    Ok(())
}

/// Asks for a letter through the form and returns its id, read from the page it lands on.
async fn ask_for_a_letter(app: &TestApp, browser: &Client) -> Result<Uuid, CmdError> {
    browser.goto(&app.url("/cover-letters")).await?;
    fill(browser, "job_title", "Rust Engineer").await?;
    fill(browser, "company", "Acme").await?;
    fill(
        browser,
        "job_description",
        "We are hiring a Rust engineer who knows PostgreSQL.",
    )
    .await?;
    submit(browser, "/cover-letters").await?;
    let path = wait_for_path(browser, |path| letter_id(path).is_some()).await?;
    let id = letter_id(&path).unwrap_or_else(|| panic!("the form leads to a letter, not {path}"));
    browser.find(Locator::Css(&format!("#letter-{id}"))).await?;
    Ok(id)
}

/// The id in a letter's page path, `/cover-letters/{id}`.
fn letter_id(path: &str) -> Option<Uuid> {
    path.strip_prefix("/cover-letters/")?.parse().ok()
}

async fn fill(browser: &Client, id: &str, value: &str) -> Result<(), CmdError> {
    let field = browser.find(Locator::Id(id)).await?;
    field.send_keys(value).await
}

/// Clicks the submit button of the form that posts to `action`.
async fn submit(browser: &Client, action: &str) -> Result<(), CmdError> {
    let button = format!(r#"form[action="{action}"] button[type="submit"]"#);
    browser.find(Locator::Css(&button)).await?.click().await
}

/// The element `css` selects, once the page shows it.
async fn appearing(browser: &Client, css: &str) -> Result<Element, CmdError> {
    browser
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
}

/// Waits until the browser is on a path that `arrived` accepts, and returns it.
async fn wait_for_path(
    browser: &Client,
    arrived: impl Fn(&str) -> bool,
) -> Result<String, CmdError> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let path = browser.current_url().await?.path().to_owned();
        if arrived(&path) || Instant::now() > deadline {
            return Ok(path);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the element `selector` has `data-status="{wanted}"`, read through the browser.
async fn wait_for_status(browser: &Client, selector: &str, wanted: &str) -> Result<(), CmdError> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        match browser.find(Locator::Css(selector)).await {
            Ok(element) => match element.attr("data-status").await {
                Ok(status) => {
                    let status = status.unwrap_or_default();
                    if status == wanted {
                        return Ok(());
                    }
                    assert_ne!(
                        status,
                        "failed",
                        "the letter failed: {}",
                        element.text().await?
                    );
                    if seen.last() != Some(&status) {
                        seen.push(status);
                    }
                }
                // htmx swapped the element out between the find and the read.
                Err(error) if error.is_stale_element_reference() => {}
                Err(error) => return Err(error),
            },
            Err(error) if error.is_no_such_element() => {}
            Err(error) => return Err(error),
        }
        assert!(
            Instant::now() < deadline,
            "{selector} never became {wanted}; statuses seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many requests the page has made to `status_url`, by the browser's own resource timings.
async fn status_requests(browser: &Client, status_url: &str) -> Result<u64, CmdError> {
    let count = browser
        .execute(
            "return performance.getEntriesByType('resource')
                .filter(entry => new URL(entry.name).pathname === arguments[0]).length",
            vec![json!(status_url)],
        )
        .await?;
    Ok(count.as_u64().expect("a count"))
}

/// The console messages that report a Content-Security-Policy violation.
async fn console_csp_violations(browser: &Client) -> Result<Vec<String>, CmdError> {
    let entries = browser.issue_cmd(BrowserConsole).await?;
    let messages = entries.as_array().cloned().unwrap_or_default();
    Ok(messages
        .iter()
        .filter_map(|entry| entry["message"].as_str())
        .filter(|message| message.contains("Content Security Policy"))
        .map(str::to_owned)
        .collect())
}

/// ChromeDriver's "get log" command (outside W3C WebDriver): what the pages wrote to the console
/// since the last call, kept because the session asks for it in `goog:loggingPrefs`.
#[derive(Debug)]
struct BrowserConsole;

impl WebDriverCompatibleCommand for BrowserConsole {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/se/log"))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// Headless Chromium in a fresh profile, driven through a chromedriver that this test started.
struct Browser {
    client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
}

impl Browser {
    async fn start() -> Self {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "the browser test needs {CHROMEDRIVER} and {CHROMIUM}: run `make test`, which installs \
             the Debian packages chromium and chromium-driver"
        );
        let port = free_port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let address = format!("http://127.0.0.1:{port}");
        wait_until_answering(&format!("{address}/status")).await;
        let profile = std::env::temp_dir().join(format!("txtcv-chromium-{}", Uuid::new_v4()));
        let client = ClientBuilder::native()
            .capabilities(chromium_capabilities(&profile))
            .connect(&address)
            .await
            .expect("chromedriver opens a Chromium session");
        Self {
            client,
            driver,
            profile,
        }
    }

    /// The page as the browser shows it now, for a person to look at; not asserted.
    async fn save_screenshot(&self, path: &Path) {
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(path, png).expect("the screenshot is written"),
            Err(error) => eprintln!("no screenshot: {error}"),
        }
    }

    /// Ends the session, which quits Chromium, then chromedriver, and removes the profile.
    async fn stop(mut self) {
        // Best effort: the test's outcome is already decided, and a session that is already
        // gone is no reason to leave chromedriver behind.
        if let Err(error) = self.client.close().await {
            eprintln!("closing the WebDriver session: {error}");
        }
        if let Err(error) = self.driver.kill().await {
            eprintln!("stopping chromedriver: {error}");
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn chromium_capabilities(profile: &Path) -> Capabilities {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    capabilities
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

async fn wait_until_answering(status_url: &str) {
    let deadline = Instant::now() + DEADLINE;
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(status_url).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver never answered at {status_url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
