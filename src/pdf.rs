//! PDFs of public CVs, printed by headless Chromium from the HTML we give it: the same page the
//! visitor sees, with the theme's print styles. Chromium is the engine because it lays out that
//! page exactly as a browser's "Print to PDF" would, keeps links clickable and writes a tagged
//! PDF with an outline; we drive it over the DevTools protocol (chromiumoxide).
//!
//! The printer never touches the network: a CV's URLs are someone else's, and our server must not
//! fetch them. The HTML is handed over from memory, and every request the page would make is
//! failed before it leaves Chromium (`Fetch.enable` on `*`, each paused request failed); the
//! process also has a dead proxy for anything else, and the page forbids all loads by CSP.
//!
//! One browser process is shared, started at the first print and again if it died. Prints run
//! [`MAX_PRINTS`] at a time with at most [`MAX_WAITING`] queued: past that, or when a print fails,
//! the caller is told to come back later rather than wait or fail.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chromiumoxide::{
    Browser, BrowserConfig, Page,
    cdp::browser_protocol::{
        fetch::{self, EventRequestPaused, FailRequestParams, RequestPattern},
        network::ErrorReason,
        page::PrintToPdfParams,
    },
};
use futures::StreamExt;
use tokio::{
    sync::{Mutex, Semaphore},
    task::JoinHandle,
};

/// Prints at once: each is a renderer process and a core's worth of work for a moment.
pub const MAX_PRINTS: usize = 2;
/// Prints queued behind those: a burst waits a little, a flood is turned away.
pub const MAX_WAITING: usize = 8;
/// The longest a print waits for its turn before the visitor is asked to come back.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Chromium starts in a second or two; one that does not within this is not coming.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A print that takes longer is stuck: it is given up and its tab closed.
const PRINT_TIMEOUT: Duration = Duration::from_secs(15);
/// The visitor has an answer within this, PDF or 503, well inside the server's request timeout.
const ANSWER_WITHIN: Duration = Duration::from_secs(25);

/// The paper a PDF is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl Paper {
    /// A4 unless asked otherwise; `None` for a paper we do not print on.
    pub fn parse(name: Option<&str>) -> Option<Self> {
        match name.map(str::to_ascii_lowercase).as_deref() {
            None | Some("a4") => Some(Self::A4),
            Some("letter") => Some(Self::Letter),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A4 => "a4",
            Self::Letter => "letter",
        }
    }

    /// Width and height in inches, as the DevTools protocol takes them.
    fn inches(self) -> (f64, f64) {
        match self {
            Self::A4 => (210.0 / 25.4, 297.0 / 25.4),
            Self::Letter => (8.5, 11.0),
        }
    }
}

/// Why there is no PDF now: either way the visitor may try again shortly.
#[derive(Debug)]
pub enum PrintError {
    /// Every print and queue slot is taken.
    Busy,
    /// Chromium could not be started or did not print; logged by the caller.
    Failed(anyhow::Error),
}

/// The shared printer; cheap to clone.
#[derive(Clone)]
pub struct Printer(Arc<Shared>);

struct Shared {
    /// The Chromium to start (`pdf.chromium`).
    chromium: PathBuf,
    /// The running browser, if any. A mutex rather than a once-cell: a browser that died must be
    /// replaced, and only one request may start it.
    browser: Mutex<Option<Running>>,
    prints: Semaphore,
    /// Prints running or waiting for a permit.
    in_flight: AtomicUsize,
}

impl Printer {
    pub fn new(chromium: PathBuf) -> Self {
        Self(Arc::new(Shared {
            chromium,
            browser: Mutex::default(),
            prints: Semaphore::new(MAX_PRINTS),
            in_flight: AtomicUsize::new(0),
        }))
    }
}

/// A started Chromium: the protocol connection's task ends when the process does. Dropping it
/// kills the process (chromiumoxide spawns it kill-on-drop) and removes its profile.
struct Running {
    browser: Arc<Browser>,
    connection: JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// One place in the queue, given back when the print ends however it ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Printer {
    /// `html` printed on `paper`, with no request leaving the page. The print runs as a task of
    /// its own, so a visitor who leaves, or an answer given up at [`ANSWER_WITHIN`], does not cut
    /// it short and leave its tab open; its own timeouts bound it.
    pub async fn print(&self, html: String, paper: Paper) -> Result<Vec<u8>, PrintError> {
        let slot = self.slot()?;
        let printer = self.clone();
        let job = tokio::spawn(async move {
            let _slot = slot;
            printer.print_now(&html, paper).await
        });
        match tokio::time::timeout(ANSWER_WITHIN, job).await {
            Ok(Ok(printed)) => printed,
            Ok(Err(error)) => Err(PrintError::Failed(error.into())),
            Err(_) => Err(PrintError::Failed(anyhow::anyhow!(
                "no PDF within {ANSWER_WITHIN:?}"
            ))),
        }
    }

    fn slot(&self) -> Result<Slot, PrintError> {
        let before = self.0.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(self.0.clone());
        if before >= MAX_PRINTS + MAX_WAITING {
            return Err(PrintError::Busy);
        }
        Ok(slot)
    }

    async fn print_now(&self, html: &str, paper: Paper) -> Result<Vec<u8>, PrintError> {
        let permit = tokio::time::timeout(MAX_WAIT, self.0.prints.acquire()).await;
        let Ok(Ok(_permit)) = permit else {
            return Err(PrintError::Busy);
        };
        let started = Instant::now();
        let browser = self.browser().await.map_err(PrintError::Failed)?;
        let pdf = print_page(&browser, html, paper)
            .await
            .map_err(PrintError::Failed)?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis(),
            bytes = pdf.len(),
            "printed a CV"
        );
        Ok(pdf)
    }

    /// The running browser, started now if there is none or it died.
    async fn browser(&self) -> anyhow::Result<Arc<Browser>> {
        let mut running = self.0.browser.lock().await;
        if let Some(alive) = running.as_ref().filter(|r| !r.connection.is_finished()) {
            return Ok(alive.browser.clone());
        }
        if running.take().is_some() {
            tracing::warn!("the PDF printer's Chromium died; starting another");
        }
        let started = launch(&self.0.chromium).await?;
        let browser = started.browser.clone();
        *running = Some(started);
        Ok(browser)
    }
}

async fn launch(chromium: &Path) -> anyhow::Result<Running> {
    let profile = tempfile::Builder::new()
        .prefix("txtcv-chromium-")
        .tempdir()
        .context("cannot make Chromium's profile folder")?;
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .user_data_dir(profile.path())
        .no_sandbox()
        .launch_timeout(LAUNCH_TIMEOUT)
        // Every page starts with its requests paused for us to fail (see `block_requests`).
        .enable_request_intercept()
        .args([
            "disable-gpu",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
            "no-first-run",
            "dns-prefetch-disable",
        ])
        // Should a request ever get past the interception, it goes to a proxy that is not there,
        // loopback included (the default bypasses it).
        .arg(("proxy-server", "http://127.0.0.1:9"))
        .arg(("proxy-bypass-list", "<-loopback>"))
        .build()
        .map_err(anyhow::Error::msg)?;
    let (browser, mut handler) = Browser::launch(config)
        .await
        .with_context(|| format!("cannot start {} (run make browser)", chromium.display()))?;
    let connection = tokio::spawn(async move { while let Some(Ok(())) = handler.next().await {} });
    Ok(Running {
        browser: Arc::new(browser),
        connection,
        _profile: profile,
    })
}

/// Prints in a tab of its own, closed afterwards even when printing failed or hung.
async fn print_page(browser: &Browser, html: &str, paper: Paper) -> anyhow::Result<Vec<u8>> {
    let page = browser.new_page("about:blank").await?;
    let printed = tokio::time::timeout(PRINT_TIMEOUT, print_on(&page, html, paper)).await;
    if let Err(error) = page.close().await {
        tracing::warn!(%error, "cannot close the PDF printer's tab");
    }
    printed.context("printing timed out")?
}

async fn print_on(page: &Page, html: &str, paper: Paper) -> anyhow::Result<Vec<u8>> {
    let _blocker = block_requests(page).await?;
    page.set_content(html).await?;
    let (width, height) = paper.inches();
    let params = PrintToPdfParams {
        paper_width: Some(width),
        paper_height: Some(height),
        print_background: Some(true),
        generate_tagged_pdf: Some(true),
        generate_document_outline: Some(true),
        ..PrintToPdfParams::default()
    };
    Ok(page.pdf(params).await?)
}

/// The task failing a tab's requests, stopped with the print however it ends.
struct Blocker(JoinHandle<()>);

impl Drop for Blocker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fails every request the page makes (images, fonts, stylesheets, anything) before it is sent.
async fn block_requests(page: &Page) -> anyhow::Result<Blocker> {
    let mut paused = page.event_listener::<EventRequestPaused>().await?;
    let everything = RequestPattern::builder().url_pattern("*").build();
    page.execute(fetch::EnableParams::builder().pattern(everything).build())
        .await?;
    let page = page.clone();
    Ok(Blocker(tokio::spawn(async move {
        while let Some(request) = paused.next().await {
            let fail =
                FailRequestParams::new(request.request_id.clone(), ErrorReason::BlockedByClient);
            if let Err(error) = page.execute(fail).await {
                tracing::warn!(%error, "cannot fail a request of the PDF printer");
            }
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_prints_and_the_queue_the_printer_is_busy() {
        let printer = Printer::new("/usr/bin/chromium".into());
        let taken: Vec<_> = (0..MAX_PRINTS + MAX_WAITING)
            .map(|_| printer.slot().expect("a slot"))
            .collect();
        assert!(matches!(printer.slot(), Err(PrintError::Busy)));
        drop(taken);
        assert!(printer.slot().is_ok(), "slots are given back");
    }

    #[test]
    fn a4_is_the_default_and_only_a4_and_letter_are_printed() {
        assert_eq!(Paper::parse(None), Some(Paper::A4));
        assert_eq!(Paper::parse(Some("Letter")), Some(Paper::Letter));
        assert_eq!(Paper::parse(Some("legal")), None);
    }
}
