//! The cover-letter job: mark it running, ask the writer (retrying what may pass), store the
//! outcome. Idempotent: a job for a letter that is gone or already final does nothing.

use std::{sync::Arc, time::Instant};

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

pub async fn write(
    job: WriteCoverLetter,
    context: Data<Arc<JobContext>>,
) -> Result<(), BoxDynError> {
    let context: &JobContext = &context;
    let (owner, id) = (job.owner_id, job.letter_id);
    loop {
        let Some(letter) = cover_letters::start_attempt(&context.db, owner, id).await? else {
            tracing::debug!(%id, "letter gone, final or its owner suspended; nothing to do");
            return Ok(());
        };
        match attempt(context, &letter).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() && attempts_left(context, &letter) => {
                let wait =
                    context.retry_backoff * 2u32.saturating_pow(letter.attempts.unsigned_abs() - 1);
                tracing::info!(%id, attempt = letter.attempts, ?wait, reason = %error, "retrying a letter");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                cover_letters::mark_failed(&context.db, owner, id, &error.to_string()).await?;
                tracing::info!(%id, attempts = letter.attempts, reason = %error, "letter failed");
                return Ok(());
            }
        }
    }
}

fn attempts_left(context: &JobContext, letter: &CoverLetter) -> bool {
    letter.attempts.unsigned_abs() < context.max_attempts
}

async fn attempt(context: &JobContext, letter: &CoverLetter) -> Result<(), WriteError> {
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
    let written = Written {
        content: &content,
        provider: context.writer.provider(),
        model: context.writer.model(),
        latency: started.elapsed(),
    };
    cover_letters::mark_successful(&context.db, letter.owner_id, letter.id, written)
        .await
        .map_err(database)
}

/// Our own database failing is worth another try too.
fn database(error: sqlx::Error) -> WriteError {
    tracing::warn!(%error, "database error while writing a letter");
    WriteError::Transient("A temporary problem on our side.".into())
}
