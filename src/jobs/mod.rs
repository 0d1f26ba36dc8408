//! Background jobs on apalis with PostgreSQL: the same database, enqueued inside the caller's
//! transaction, woken by LISTEN/NOTIFY.

mod cover_letter;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{config::Settings, llm::LetterWriter};
pub use cover_letter::INTERRUPTED;

/// The apalis queue cover-letter jobs live in.
pub const COVER_LETTER_QUEUE: &str = "cover-letters";

/// Write one cover letter. The payload carries ids only; the job reads the rest, so a retried or
/// late job always sees the letter as it is now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteCoverLetter {
    pub owner_id: Uuid,
    pub letter_id: Uuid,
}

/// Creates apalis's own tables (in the `apalis` schema) if needed.
pub async fn setup(db: &PgPool) -> anyhow::Result<()> {
    PostgresStorage::setup(db)
        .await
        .context("cannot set up the job queue tables")
}

/// Enqueues `job` on `tx`: it exists exactly when the caller's transaction commits.
pub async fn enqueue(tx: &mut PgConnection, job: &WriteCoverLetter) -> anyhow::Result<()> {
    enqueue_on(tx, COVER_LETTER_QUEUE, job).await
}

/// Enqueues `job` on `queue` in `tx`.
pub async fn enqueue_on(
    tx: &mut PgConnection,
    queue: &str,
    job: &impl Serialize,
) -> anyhow::Result<()> {
    let task = TaskBuilder::new(serde_json::to_vec(job)?).build();
    apalis_postgres::queries::push_tasks(tx, queue, vec![task])
        .await
        .with_context(|| format!("cannot enqueue a job on {queue}"))
}

/// What a running job needs.
pub struct JobContext {
    pub db: PgPool,
    pub writer: Arc<dyn LetterWriter>,
    pub max_attempts: u32,
    pub retry_backoff: Duration,
}

/// A pause before a worker that stopped on an error is replaced, so an unreachable database is
/// not hammered.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// Runs cover-letter jobs until `shutdown` is cancelled, then lets the ones in hand finish.
pub async fn run_worker(
    settings: &Settings,
    context: JobContext,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_queue(
        settings,
        &context.db.clone(),
        COVER_LETTER_QUEUE,
        Arc::new(context),
        cover_letter::write,
        shutdown,
    )
    .await
}

/// Runs the jobs of `queue` with `handler` until `shutdown` is cancelled, then lets the ones in
/// hand finish.
///
/// apalis stops a worker for good at the first fetch, heartbeat or acknowledgement that fails,
/// and under load a pool timeout is enough. So a stopped worker is replaced by a new one (under a
/// new name: the old one's jobs are handed on once its heartbeat is missed) while the process
/// lives. The jobs it had in hand finish on their own (see `cover_letter::write`).
pub async fn run_queue<Job, Ctx, Handler, Done>(
    settings: &Settings,
    db: &PgPool,
    queue: &'static str,
    context: Arc<Ctx>,
    handler: Handler,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    Job: Serialize + serde::de::DeserializeOwned + Send + Sync + Unpin + 'static,
    Ctx: Send + Sync + 'static,
    Handler: Fn(Job, Data<Arc<Ctx>>) -> Done + Clone + Send + Sync + 'static,
    Done: Future<Output = Result<(), BoxDynError>> + Send + 'static,
{
    let worker_settings = &settings.worker;
    let config = Config::default()
        .queue(queue)
        .batch_size(worker_settings.concurrency)
        .heartbeat_interval(Duration::from_secs(worker_settings.heartbeat_secs))
        .missed_heartbeats(worker_settings.missed_heartbeats);
    loop {
        let backend = PostgresStorage::<Job>::new(db)
            .with_config(config.clone())
            .with_pubsub()
            .poll_with_interval(Duration::from_millis(worker_settings.poll_interval_ms));
        let name = format!("txtcv-{queue}-{}", Uuid::new_v4().simple());
        tracing::info!(worker = %name, concurrency = worker_settings.concurrency, "job worker started");
        let stop = shutdown.clone();
        let stopped = WorkerBuilder::new(name)
            .backend(backend)
            .data(Arc::clone(&context))
            .concurrency(worker_settings.concurrency)
            .build(handler.clone())
            .run_until(async move {
                stop.cancelled().await;
                Ok::<(), std::io::Error>(())
            })
            .await;
        if shutdown.is_cancelled() {
            return stopped.with_context(|| format!("the {queue} worker stopped with an error"));
        }
        let error = stopped.err().map(|error| error.to_string());
        tracing::warn!(?error, queue, "a job worker stopped; starting a new one");
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(RESTART_PAUSE) => {}
        }
    }
}
