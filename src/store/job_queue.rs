//! apalis's own table of jobs (schema `apalis`), for housekeeping it does not do itself.

use std::time::Duration;

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// Deletes jobs that finished (done, or killed) longer than `older_than` ago; apalis keeps every
/// job and its result forever otherwise. Pending, running and retrying jobs are never touched.
pub async fn forget_finished(db: impl PgExecutor<'_>, older_than: Duration) -> sqlx::Result<u64> {
    let done =
        sqlx::query("delete from apalis.jobs where status in ('Done', 'Killed') and done_at < $1")
            .bind(OffsetDateTime::now_utc() - older_than)
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}
