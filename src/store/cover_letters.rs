//! Cover letters. Every query is scoped by the owner, so one account can never reach another's.
//! Every change to a letter is announced in its transaction (`evictions::announce`), as processes
//! keep unfinished letters for their status polls; a new letter is nobody's yet.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::evictions::{self, Eviction};
use crate::domain::{CoverLetterStatus, LetterDetails};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CoverLetter {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub cv_id: Uuid,
    pub cv_version: i32,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub job_description: String,
    #[sqlx(try_from = "String")]
    pub status: CoverLetterStatus,
    pub content: Option<String>,
    pub failure_reason: Option<String>,
    pub attempts: i32,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub latency_ms: Option<i32>,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub attempted_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

pub struct NewLetter<'a> {
    pub owner_id: Uuid,
    pub cv_id: Uuid,
    pub cv_version: i32,
    pub details: &'a LetterDetails,
}

pub async fn insert(db: &mut PgConnection, new: NewLetter<'_>) -> sqlx::Result<CoverLetter> {
    sqlx::query_as(
        "insert into cover_letters (owner_id, id, cv_id, cv_version, company, job_title, job_description)
         values ($1, $2, $3, $4, $5, $6, $7) returning *",
    )
    .bind(new.owner_id)
    .bind(Uuid::new_v4())
    .bind(new.cv_id)
    .bind(new.cv_version)
    .bind(&new.details.company)
    .bind(&new.details.job_title)
    .bind(&new.details.job_description)
    .fetch_one(db)
    .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<CoverLetter>> {
    sqlx::query_as("select * from cover_letters where owner_id = $1 and id = $2")
        .bind(owner_id)
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn list(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<CoverLetter>> {
    sqlx::query_as(
        "select * from cover_letters where owner_id = $1 order by created_at desc limit 100",
    )
    .bind(owner_id)
    .fetch_all(db)
    .await
}

/// Whether a letter was deleted.
pub async fn delete(db: &PgPool, owner_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("delete from cover_letters where owner_id = $1 and id = $2")
        .bind(owner_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    evictions::announce(&mut *tx, &[Eviction::Letter(owner_id, id)]).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a generation against the owner's quota.
pub async fn record_generation(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("insert into cover_letter_generations (owner_id) values ($1)")
        .bind(owner_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Generations the owner asked for within `window`.
pub async fn generations_within(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    window: Duration,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from cover_letter_generations where owner_id = $1 and requested_at > $2",
    )
    .bind(owner_id)
    .bind(OffsetDateTime::now_utc() - window)
    .fetch_one(db)
    .await
}

/// Starts an attempt: the letter becomes `running` and its attempt count goes up. `None` when the
/// letter is gone or already final (a duplicate or late job), so the caller does nothing; also
/// when its owner is suspended: the letter stays pending, and unsuspending enqueues it again.
pub async fn start_attempt(
    db: &PgPool,
    owner_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<CoverLetter>> {
    let mut tx = db.begin().await?;
    // The time is a parameter: Citus refuses now() beside a column (coalesce) in an UPDATE.
    let started = sqlx::query_as(
        "update cover_letters
         set status = 'running', attempts = attempts + 1, attempted_at = $3,
             started_at = coalesce(started_at, $3)
         where owner_id = $1 and id = $2 and status in ('pending', 'running')
           and exists (select 1 from users where id = $1 and status = 'active')
         returning *",
    )
    .bind(owner_id)
    .bind(id)
    .bind(OffsetDateTime::now_utc())
    .fetch_optional(&mut *tx)
    .await?;
    if started.is_some() {
        evictions::announce(&mut *tx, &[Eviction::Letter(owner_id, id)]).await?;
    }
    tx.commit().await?;
    Ok(started)
}

#[derive(Clone, Copy)]
pub struct Written<'a> {
    pub content: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub latency: Duration,
}

pub async fn mark_successful(
    db: &PgPool,
    owner_id: Uuid,
    id: Uuid,
    written: Written<'_>,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update cover_letters
         set status = 'successful', content = $3, provider = $4, model = $5, latency_ms = $6,
             failure_reason = null, finished_at = now()
         where owner_id = $1 and id = $2 and status = 'running'",
    )
    .bind(owner_id)
    .bind(id)
    .bind(written.content)
    .bind(written.provider)
    .bind(written.model)
    .bind(i32::try_from(written.latency.as_millis()).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    evictions::announce(&mut *tx, &[Eviction::Letter(owner_id, id)]).await?;
    tx.commit().await
}

pub async fn mark_failed(db: &PgPool, owner_id: Uuid, id: Uuid, reason: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update cover_letters set status = 'failed', failure_reason = $3, finished_at = now()
         where owner_id = $1 and id = $2 and status in ('pending', 'running')",
    )
    .bind(owner_id)
    .bind(id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    evictions::announce(&mut *tx, &[Eviction::Letter(owner_id, id)]).await?;
    tx.commit().await
}

/// Puts a failed letter back in the queue's hands. `false` when it was not failed. Run it in a
/// transaction.
pub async fn reset_for_retry(
    db: &mut PgConnection,
    owner_id: Uuid,
    id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update cover_letters
         set status = 'pending', attempts = 0, failure_reason = null, content = null,
             started_at = null, attempted_at = null, finished_at = null
         where owner_id = $1 and id = $2 and status = 'failed'",
    )
    .bind(owner_id)
    .bind(id)
    .execute(&mut *db)
    .await?;
    evictions::announce(db, &[Eviction::Letter(owner_id, id)]).await?;
    Ok(done.rows_affected() == 1)
}

/// Fails letters whose current attempt began longer ago than any live attempt can last: their
/// worker died. Returns how many.
pub async fn fail_interrupted(
    db: &PgPool,
    older_than: Duration,
    reason: &str,
) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let failed: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "update cover_letters set status = 'failed', failure_reason = $2, finished_at = now()
         where status = 'running' and attempted_at < $1
         returning owner_id, id",
    )
    .bind(OffsetDateTime::now_utc() - older_than)
    .bind(reason)
    .fetch_all(&mut *tx)
    .await?;
    let announced: Vec<Eviction> = failed
        .iter()
        .map(|&(owner_id, id)| Eviction::Letter(owner_id, id))
        .collect();
    evictions::announce(&mut *tx, &announced).await?;
    tx.commit().await?;
    Ok(failed.len() as u64)
}

impl CoverLetter {
    /// "Senior Engineer at Acme", or as much of it as is known.
    pub fn headline(&self) -> String {
        match (&self.job_title, &self.company) {
            (Some(title), Some(company)) => format!("{title} at {company}"),
            (Some(title), None) => title.clone(),
            (None, Some(company)) => format!("Letter to {company}"),
            (None, None) => "Cover letter".to_owned(),
        }
    }
}
