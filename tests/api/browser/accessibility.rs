//! axe-core in a real browser: the pages a visitor and a member see have no serious or critical
//! accessibility violation. `make browser` fetches the pinned axe-core this reads.

use std::path::PathBuf;

use fantoccini::{Client, Locator, error::CmdError};
use serde_json::Value;
use txtcv::domain::resume::Theme;

use super::{appearing, ask_for_a_letter, in_browser, sign_up, submit, wait_for_status};
use crate::{
    helpers::{TestApp, sample_resume, spawn_app_with},
    mock_llm::{MockLlm, Reply, with_openai},
};

/// Where `make browser` says axe-core is; without it, where it puts it by default.
const AXE_CORE_JS: &str = "TXTCV_AXE_CORE_JS";
const DEFAULT_AXE_CORE_JS: &str = ".cache/txtcv-axe/node_modules/axe-core/axe.min.js";
/// The impacts a page must not have; "minor" and "moderate" ones are reported by axe, not here.
const FORBIDDEN_IMPACTS: [&str; 2] = ["serious", "critical"];
const USERNAME: &str = "ada";

/// Runs axe on the page and answers with its violations, or with the error it threw.
const RUN_AXE: &str = "
    const done = arguments[arguments.length - 1];
    axe.run(document, {resultTypes: ['violations']})
        .then(results => done({violations: results.violations}))
        .catch(error => done({error: String(error)}));";

#[tokio::test]
async fn in_a_browser_every_kind_of_page_passes_axe_core_without_serious_violations() {
    let axe = axe_core();
    let mock = MockLlm::start(vec![Reply::Letter("Dear Acme team,\n\nAda")]).await;
    let app = spawn_app_with(with_openai(&mock)).await;
    in_browser("txtcv-accessibility.png", |browser| {
        story(app, Audit::new(axe), browser)
    })
    .await;
}

/// Pages anyone sees, with the start of their main heading (to know it is the right page).
const VISITOR_PAGES: [(&str, &str); 6] = [
    ("/", "Your CV, as plaintext."),
    ("/signup", "Create your account"),
    ("/login", "Log in"),
    ("/login/passkey", "Sign in with a passkey"),
    ("/password/forgot", "Forgot your password?"),
    ("/no-such-page", "Page not found"),
];
/// Pages a member sees, as above, after a letter's page; the last is where enrolling starts.
const MEMBER_PAGES: [(&str, &str); 11] = [
    ("/dashboard", "Hello, ada"),
    ("/resume", "My CV"),
    ("/resume/versions", "Versions of"),
    ("/cvs", "Your CVs"),
    ("/cover-letters", "Cover letters"),
    ("/settings", "Settings"),
    ("/settings/tokens", "Access tokens"),
    ("/settings/sessions", "Your sessions"),
    ("/settings/security", "Security log"),
    ("/settings/passkeys", "Passkeys"),
    ("/settings/two-factor", "Two-factor sign-in"),
];

async fn story(app: TestApp, mut audit: Audit, browser: Client) -> Result<(), CmdError> {
    for (path, heading) in VISITOR_PAGES {
        audit.page(&browser, &app.url(path), heading).await?;
    }
    sign_up(&app, &browser, USERNAME).await?;
    let cv = sample_resume();
    app.publish_cv_directly(USERNAME, &cv, Theme::default().as_str(), &[])
        .await;
    let letter = ask_for_a_letter(&app, &browser).await?;
    wait_for_status(&browser, &format!("#letter-{letter}"), "successful").await?;
    let letter_page = format!("/cover-letters/{letter}");
    let letter_then_the_rest = [(&*letter_page, "Cover letter")]
        .into_iter()
        .chain(MEMBER_PAGES);
    for (path, heading) in letter_then_the_rest {
        audit.page(&browser, &app.url(path), heading).await?;
    }
    // The page that shows the secret and its QR code, one step on from /settings/two-factor.
    submit(&browser, "/settings/two-factor/start").await?;
    appearing(&browser, "#two-factor-secret").await?;
    audit
        .current_page(&browser, "/settings/two-factor (enrolling)")
        .await?;

    let name = cv["basics"]["name"]
        .as_str()
        .expect("the sample has a name");
    for theme in Theme::ALL {
        app.set_cv_publication(USERNAME, true, theme.as_str(), &[])
            .await;
        // Chromium resolves every `*.localhost` name to this machine.
        let public = format!("http://{}/", app.cv_host(USERNAME));
        audit.page(&browser, &public, name).await?;
    }
    audit.assert_clean();
    Ok(())
}

/// axe-core's source, as `make browser` fetched it.
fn axe_core() -> String {
    let path = std::env::var_os(AXE_CORE_JS).map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(DEFAULT_AXE_CORE_JS)
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "the accessibility test needs axe-core at {} ({error}): run `make browser` (or \
             `make test`), which fetches it, or point {AXE_CORE_JS} at an axe.min.js",
            path.display()
        )
    })
}

/// axe-core run on page after page, keeping every serious or critical violation it finds.
struct Audit {
    axe: String,
    found: Vec<String>,
    pages: usize,
}

impl Audit {
    fn new(axe: String) -> Self {
        Self {
            axe,
            found: Vec::new(),
            pages: 0,
        }
    }

    /// Opens `url` and audits it, once sure the page has a main heading that starts with
    /// `heading` (an error page, or the browser's own, would pass for the wrong reason).
    async fn page(&mut self, browser: &Client, url: &str, heading: &str) -> Result<(), CmdError> {
        browser.goto(url).await?;
        let shown = browser.find(Locator::Css("h1")).await?.text().await?;
        assert!(
            shown.starts_with(heading),
            "{url} is not the page to check: its heading is {shown:?}"
        );
        self.current_page(browser, url).await
    }

    /// Audits the page the browser shows now, naming it `name` in the report.
    async fn current_page(&mut self, browser: &Client, name: &str) -> Result<(), CmdError> {
        // Injected by WebDriver, which the page's Content-Security-Policy does not restrict.
        browser.execute(&self.axe, vec![]).await?;
        let outcome = browser.execute_async(RUN_AXE, vec![]).await?;
        assert!(
            outcome["error"].is_null(),
            "axe-core fails on {name}: {}",
            outcome["error"]
        );
        let violations = outcome["violations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        self.found
            .extend(violations.iter().filter_map(|v| forbidden(name, v)));
        self.pages += 1;
        Ok(())
    }

    fn assert_clean(&self) {
        assert!(
            self.found.is_empty(),
            "axe-core finds {} serious or critical violations on {} pages:\n{}",
            self.found.len(),
            self.pages,
            self.found.join("\n")
        );
    }
}

/// One line about `violation` on `page` if its impact is one a page must not have: the rule, what
/// it asks, and the elements that break it.
fn forbidden(page: &str, violation: &Value) -> Option<String> {
    let impact = violation["impact"].as_str().unwrap_or_default();
    if !FORBIDDEN_IMPACTS.contains(&impact) {
        return None;
    }
    let nodes: Vec<String> = violation["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(node_failure)
        .collect();
    Some(format!(
        "{page}: {} ({impact}): {}\n    {}",
        violation["id"].as_str().unwrap_or_default(),
        violation["help"].as_str().unwrap_or_default(),
        nodes.join("\n    ")
    ))
}

/// An element that breaks a rule, and how (axe's summary without its "Fix any of the following"
/// headings), which often holds the numbers: a contrast ratio and its colours.
fn node_failure(node: &Value) -> String {
    let summary = node["failureSummary"].as_str().unwrap_or_default();
    let how: Vec<&str> = summary
        .lines()
        .filter(|line| line.starts_with(' '))
        .map(str::trim)
        .collect();
    format!("{}: {}", node["target"], how.join("; "))
}
