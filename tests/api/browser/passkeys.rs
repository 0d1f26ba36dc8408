//! Passkeys in a real browser, with Chromium's virtual authenticator (a software authenticator
//! driven over WebDriver's WebAuthn extension): a member adds a passkey in settings, logs out,
//! and signs back in with it and nothing else. Then the same key, made to claim another
//! account's user handle, is refused: a passkey of one account never opens another.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use fantoccini::{Client, Locator, error::CmdError, wd::WebDriverCompatibleCommand};
use reqwest::Method;
use serde_json::{Value, json};
use url::{ParseError, Url};

use super::{appearing, fill, in_browser, sign_up, submit, wait_for_path};
use crate::helpers::{TestApp, spawn_app};

#[tokio::test]
async fn in_a_browser_a_member_adds_a_passkey_and_signs_in_with_it_alone() {
    let app = spawn_app().await;
    in_browser("txtcv-passkeys.png", |browser| story(app, browser)).await;
}

async fn story(app: TestApp, browser: Client) -> Result<(), CmdError> {
    let authenticator = VirtualAuthenticator::add(&browser).await?;
    sign_up(&app, &browser, "ada").await?;
    add_passkey(&app, &browser, "Laptop").await?;
    submit(&browser, "/logout").await?;
    wait_for_path(&browser, |path| path == "/").await?;

    sign_in_with_passkey(&app, &browser).await?;
    let landed = wait_for_path(&browser, |path| path == "/dashboard").await?;
    assert_eq!(
        landed, "/dashboard",
        "the passkey alone signs in, from the login page"
    );
    let heading = browser.find(Locator::Css("h1")).await?.text().await?;
    assert_eq!(heading, "Hello, ada");

    another_accounts_handle_is_refused(&app, &browser, &authenticator).await
}

/// Adds a passkey named `name` from the settings page, the browser's authenticator creating it.
async fn add_passkey(app: &TestApp, browser: &Client, name: &str) -> Result<(), CmdError> {
    browser.goto(&app.url("/settings/passkeys")).await?;
    fill(browser, "name", name).await?;
    submit(browser, "/settings/passkeys/new").await?;
    appearing(browser, r#"form[data-passkey="create"]"#).await?;
    submit(browser, "/settings/passkeys/register").await?;
    wait_for_path(browser, |path| path == "/settings/passkeys").await?;
    let flash = appearing(browser, ".flash").await?.text().await?;
    assert!(
        flash.contains(&format!("Passkey “{name}” is added")),
        "{flash}"
    );
    let listed = browser
        .find(Locator::Css("table input[name=name]"))
        .await?
        .prop("value")
        .await?;
    assert_eq!(listed.as_deref(), Some(name));
    Ok(())
}

/// Opens the login page and lets the browser's autofill offer the passkey. Chromium's virtual
/// authenticator answers a conditional request at once, as a person picking the passkey from
/// the username field's suggestions would.
async fn sign_in_with_passkey(app: &TestApp, browser: &Client) -> Result<(), CmdError> {
    browser.goto(&app.url("/login")).await?;
    wait_for_path(browser, |path| path != "/login").await?;
    Ok(())
}

/// Ada's key, copied into a credential that claims to be Bob's (his user handle, her key and
/// credential id): the server looks the credential up under Bob, finds nothing, and refuses.
async fn another_accounts_handle_is_refused(
    app: &TestApp,
    browser: &Client,
    authenticator: &VirtualAuthenticator,
) -> Result<(), CmdError> {
    submit(browser, "/logout").await?;
    wait_for_path(browser, |path| path == "/").await?;
    sign_up(app, browser, "bob").await?;
    submit(browser, "/logout").await?;
    wait_for_path(browser, |path| path == "/").await?;

    let credentials = authenticator.credentials(browser).await?;
    let adas = credentials
        .as_array()
        .and_then(|list| list.first())
        .cloned();
    let adas = adas.expect("the authenticator holds Ada's passkey");
    let bob = app.user_id("bob").await;
    let mut forged = adas.clone();
    forged["userHandle"] = Value::String(URL_SAFE_NO_PAD.encode(bob.as_bytes()));
    authenticator.remove_all(browser).await?;
    authenticator.add_credential(browser, forged).await?;

    sign_in_with_passkey(app, browser).await?;
    let error = appearing(browser, ".flash-error").await?.text().await?;
    assert!(error.contains("not for that account"), "{error}");
    // The page says so and offers the button (no autofill after a failed try): it fails again.
    submit(browser, "/login/passkey").await?;
    let error = appearing(browser, ".flash-error").await?.text().await?;
    assert!(error.contains("not for that account"), "{error}");
    // Signed in to nothing: the dashboard sends the browser to log in (whose autofill may try,
    // and fail, again: either way a login page).
    browser.goto(&app.url("/dashboard")).await?;
    let path = wait_for_path(browser, |path| path.starts_with("/login")).await?;
    assert!(path.starts_with("/login"), "nobody is signed in: {path}");
    Ok(())
}

/// A software authenticator inside Chromium (WebDriver's WebAuthn extension): it holds
/// discoverable credentials and verifies the user without asking.
struct VirtualAuthenticator {
    id: String,
}

impl VirtualAuthenticator {
    async fn add(browser: &Client) -> Result<Self, CmdError> {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        let id = browser
            .issue_cmd(WebAuthn::post("webauthn/authenticator", options))
            .await?;
        let id = id.as_str().expect("an authenticator id").to_owned();
        Ok(Self { id })
    }

    async fn credentials(&self, browser: &Client) -> Result<Value, CmdError> {
        let path = format!("webauthn/authenticator/{}/credentials", self.id);
        browser.issue_cmd(WebAuthn::get(path)).await
    }

    async fn remove_all(&self, browser: &Client) -> Result<(), CmdError> {
        let path = format!("webauthn/authenticator/{}/credentials", self.id);
        browser.issue_cmd(WebAuthn::delete(path)).await?;
        Ok(())
    }

    async fn add_credential(&self, browser: &Client, credential: Value) -> Result<(), CmdError> {
        let path = format!("webauthn/authenticator/{}/credential", self.id);
        browser.issue_cmd(WebAuthn::post(path, credential)).await?;
        Ok(())
    }
}

/// One command of WebDriver's WebAuthn extension, under the session.
#[derive(Debug)]
struct WebAuthn {
    path: String,
    method: Method,
    body: Option<Value>,
}

impl WebAuthn {
    fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            path: path.into(),
            method: Method::POST,
            body: Some(body),
        }
    }

    fn get(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            method: Method::GET,
            body: None,
        }
    }

    fn delete(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            method: Method::DELETE,
            body: None,
        }
    }
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}
