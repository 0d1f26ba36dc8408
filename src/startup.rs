//! Putting the pieces together: the web server on its listener, and the background worker.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_sessions::ExpiredDeletion;

use crate::{
    auth::Hasher,
    cache::Caches,
    citus,
    clock::Clock,
    config::{Profile, Settings},
    cv_saves, db,
    github::GitHub,
    jobs::{self, JobContext},
    llm, mail, passkeys,
    pdf::Printer,
    state::{AppState, Shared},
    store::{
        account_links, auth_attempts, cover_letters, job_queue, security_events,
        sessions::PgSessionStore,
    },
    web::{self, PageViews, RenderedPages},
};

/// Memory kept for rendered public CV pages; a page is some tens of kilobytes.
const RENDERED_PAGES_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Connects to the configured database (starting the local one if that is what is configured)
/// and brings its schema up to date.
pub async fn prepare_database(settings: &Settings, profile: Profile) -> anyhow::Result<PgPool> {
    let url = db::resolve_url(&settings.database, profile).await?;
    let pool = db::connect(&url, &settings.database).await?;
    db::migrate(&pool).await?;
    jobs::setup(&pool).await?;
    citus::distribute(&pool).await?;
    Ok(pool)
}

/// The web server, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    clock: Clock,
}

impl Application {
    pub async fn build(settings: Settings, db: PgPool) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address} (is another server using it?)"))?;
        let caches = Caches::default();
        caches.keep_fresh(db.clone());
        let page_views = PageViews::default();
        page_views.flush_periodically(db.clone());
        let state = AppState::new(Shared {
            hasher: Hasher::new(settings.auth.max_concurrent_hashes)?,
            github: GitHub::from_settings(&settings.github)?.map(Arc::new),
            webauthn: Arc::new(passkeys::relying_party(&settings.server)?),
            printer: Printer::new(settings.pdf.chromium.clone()),
            settings: Arc::new(settings),
            db,
            rendered_pages: RenderedPages::new(RENDERED_PAGES_MAX_BYTES),
            caches,
            page_views,
            clock: Clock::default(),
        });
        Ok(Self {
            listener,
            clock: state.clock.clone(),
            router: web::router(state),
        })
    }

    /// The clock the server's links expire by, for tests to move forward.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and finishes the requests in
    /// flight.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .context("the web server stopped with an error")
    }
}

/// The background side: cover-letter jobs and housekeeping. Returns when `shutdown` is
/// cancelled and the jobs in hand are done.
pub async fn run_worker(
    settings: Arc<Settings>,
    db: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let context = JobContext {
        db: db.clone(),
        writer: llm::from_settings(&settings.llm)?,
        max_attempts: settings.llm.max_attempts,
        retry_backoff: Duration::from_millis(settings.llm.retry_backoff_ms),
    };
    let jobs = jobs::run_worker(&settings, context, shutdown.clone());
    let mail = mail::run_worker(&settings, db.clone(), shutdown.clone());
    let housekeeping = sweep_periodically(&settings, db, shutdown);
    tokio::try_join!(jobs, mail, housekeeping)?;
    Ok(())
}

/// How long an account's security log keeps an event: long enough to look back on a season's
/// sign-ins, short enough that addresses are not kept for ever.
const SECURITY_LOG_KEPT_FOR: Duration = Duration::from_secs(180 * 24 * 3600);

/// Deletes what has expired (sessions, throttle records, finished jobs, mailed links, old
/// security events) and fails
/// letters whose worker vanished, every `worker.cleanup_interval_secs`.
async fn sweep_periodically(
    settings: &Settings,
    db: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(settings.worker.cleanup_interval_secs);
    // Attempts are kept as long as the longest window that counts them.
    let forget_after = [
        Duration::from_secs(settings.auth.throttle_window_secs),
        Duration::from_secs(settings.moderation.report_window_secs),
        cv_saves::SAVE_WINDOW,
    ]
    .into_iter()
    .max()
    .unwrap_or(cv_saves::SAVE_WINDOW);
    let interrupted_after = Duration::from_secs(settings.worker.interrupted_after_secs);
    let keep_finished_jobs = Duration::from_secs(settings.worker.keep_finished_jobs_hours * 3600);
    let sessions = PgSessionStore::new(db.clone());
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        if let Err(error) = sessions.delete_expired().await {
            tracing::warn!(%error, "cannot delete expired sessions");
        }
        if let Err(error) = auth_attempts::delete_older_than(&db, forget_after).await {
            tracing::warn!(%error, "cannot delete old login attempts");
        }
        match cover_letters::fail_interrupted(&db, interrupted_after, jobs::INTERRUPTED).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "failed letters whose worker vanished"),
            Err(error) => tracing::warn!(%error, "cannot sweep interrupted letters"),
        }
        if let Err(error) = job_queue::forget_finished(&db, keep_finished_jobs).await {
            tracing::warn!(%error, "cannot delete finished jobs");
        }
        let now = time::OffsetDateTime::now_utc();
        if let Err(error) = account_links::delete_expired(&db, now).await {
            tracing::warn!(%error, "cannot delete expired account links");
        }
        let log_horizon = now - SECURITY_LOG_KEPT_FOR;
        if let Err(error) = security_events::delete_older_than(&db, log_horizon).await {
            tracing::warn!(%error, "cannot delete old security events");
        }
    }
}

/// Cancels `shutdown` on SIGINT (Ctrl-C) or SIGTERM.
pub fn cancel_on_signal(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = interrupt => tracing::info!("interrupted; shutting down"),
            _ = terminate.recv() => tracing::info!("terminated; shutting down"),
        }
        shutdown.cancel();
    });
}
