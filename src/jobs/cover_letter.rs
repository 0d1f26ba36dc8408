//! The cover-letter job: mark it running, ask the writer (retrying what may pass), store the
//! outcome. Idempotent: a job for a letter that is gone or already final does nothing.
//!
//! Every way out either ends the letter (successful, or failed with a reason the owner reads) or
//! returns an error with the letter still pending or running: apalis then runs the job again
//! (it fetches a failed job anew until its `max_attempts`, 25 by default).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::{BoxDynError, Data};

use super::{JobContext, WriteCoverLetter};
use crate::{
    llm::{LetterRequest, WriteError},
    store::{
        cover_letters::{self, CoverLetter, Written},
        cvs,
    },
};

/// What the owner reads when a worker died mid-letter.
pub const INTERRUPTED: &str = "Writing was interrupted. Please try again.";

/// How long a job keeps trying to record a letter's start or outcome while the database will not
/// take it (every pooled connection busy under load, a restart). An attempt thus lasts at most
/// `llm.timeout_secs` plus this, within `worker.interrupted_after_secs`.
const STORE_PATIENCE: Duration = Duration::from_secs(60);
const FIRST_STORE_RETRY: Duration = Duration::from_millis(100);
const LONGEST_STORE_RETRY: Duration = Duration::from_secs(5);

pub async fn write(
    job: WriteCoverLetter,
    context: Data<Arc<JobContext>>,
) -> Result<(), BoxDynError> {
    let context = Arc::clone(&context);
    // apalis stops its worker at the first fetch, heartbeat or acknowledgement that fails (a pool
    // timeout is enough) and drops the jobs in hand with it. In a task of its own, the letter is
    // finished all the same.
    Ok(tokio::spawn(async move { write_letter(&context, job).await }).await??)
}

async fn write_letter(context: &JobContext, job: WriteCoverLetter) -> sqlx::Result<()> {
    let (owner, id) = (job.owner_id, job.letter_id);
    loop {
        let start = || cover_letters::start_attempt(&context.db, owner, id);
        let Some(letter) = patiently(start).await? else {
            tracing::debug!(%id, "letter gone, final or its owner suspended; nothing to do");
            return Ok(());
        };
        match attempt(context, &letter).await {
            Ok((content, latency)) => {
                let written = Written {
                    content: &content,
                    provider: context.writer.provider(),
                    model: context.writer.model(),
                    latency,
                };
                patiently(|| cover_letters::mark_successful(&context.db, owner, id, written))
                    .await?;
                return Ok(());
            }
            Err(error) if error.is_transient() && attempts_left(context, &letter) => {
                let wait =
                    context.retry_backoff * 2u32.saturating_pow(letter.attempts.unsigned_abs() - 1);
                tracing::info!(%id, attempt = letter.attempts, ?wait, reason = %error, "retrying a letter");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                let reason = error.to_string();
                patiently(|| cover_letters::mark_failed(&context.db, owner, id, &reason)).await?;
                tracing::info!(%id, attempts = letter.attempts, %reason, "letter failed");
                return Ok(());
            }
        }
    }
}

fn attempts_left(context: &JobContext, letter: &CoverLetter) -> bool {
    letter.attempts.unsigned_abs() < context.max_attempts
}

/// The letter, and how long the writer took to write it.
async fn attempt(
    context: &JobContext,
    letter: &CoverLetter,
) -> Result<(String, Duration), WriteError> {
    let version = cvs::version(
        &context.db,
        letter.owner_id,
        letter.cv_id,
        letter.cv_version,
    )
    .await
    .map_err(database)?
    .ok_or_else(|| WriteError::Permanent("The CV this letter was written from is gone.".into()))?;
    let cv = serde_json::from_str(&version.content).map_err(|_| {
        WriteError::Permanent("The CV this letter was written from cannot be read.".into())
    })?;
    let request = LetterRequest {
        cv,
        job_description: letter.job_description.clone(),
        company: letter.company.clone(),
        job_title: letter.job_title.clone(),
    };
    let started = Instant::now();
    let content = context.writer.write(&request).await?;
    Ok((content, started.elapsed()))
}

/// Our own database failing is worth another try too.
fn database(error: sqlx::Error) -> WriteError {
    tracing::warn!(%error, "database error while writing a letter");
    WriteError::Transient("A temporary problem on our side.".into())
}

/// Runs `store` until it succeeds, waiting longer after each failure that may pass, for up to
/// `STORE_PATIENCE`. A letter's outcome is worth the wait: giving up leaves it running.
async fn patiently<T, Fut>(mut store: impl FnMut() -> Fut) -> sqlx::Result<T>
where
    Fut: Future<Output = sqlx::Result<T>>,
{
    let deadline = Instant::now() + STORE_PATIENCE;
    let mut wait = FIRST_STORE_RETRY;
    loop {
        match store().await {
            Err(error) if may_pass(&error) && Instant::now() + wait < deadline => {
                tracing::warn!(%error, ?wait, "cannot record a letter's progress yet; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_STORE_RETRY);
            }
            outcome => return outcome,
        }
    }
}

/// Whether another try may succeed: no connection to be had, or one that broke, or the server
/// short of resources or restarting (SQLSTATE classes 08, 53 and 57P).
fn may_pass(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| ["08", "53", "57P"].iter().any(|c| code.starts_with(c))),
        _ => false,
    }
}
