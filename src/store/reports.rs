//! Abuse reports about public CVs, kept with the reported account.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::paging::Counted;
use crate::domain::moderation::{ReportCategory, Resolution, Text};

/// A report about the CV `cv_id` of the account `target_id`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    target_id: Uuid,
    cv_id: Uuid,
    category: ReportCategory,
    details: &Text,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "insert into abuse_reports (target_id, id, cv_id, category, details)
         values ($1, $2, $3, $4, $5)
         returning id",
    )
    .bind(target_id)
    .bind(Uuid::new_v4())
    .bind(cv_id)
    .bind(category.as_str())
    .bind(details.as_str())
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    pub id: Uuid,
    pub target_id: Uuid,
    pub target_username: String,
    /// The CV reported; `None` for reports made before reports named one.
    pub cv_id: Option<Uuid>,
    /// The reported CV as it is now; `None` when it has been deleted since.
    pub cv_title: Option<String>,
    pub cv_slug: Option<String>,
    pub cv_is_primary: Option<bool>,
    pub category: String,
    pub details: String,
    pub created_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub resolution_note: Option<String>,
}

const COLUMNS: &str = "r.id, r.target_id, u.username as target_username, r.cv_id,
    c.title as cv_title, c.slug as cv_slug, c.is_primary as cv_is_primary, r.category, r.details,
    r.created_at, r.resolved_at, r.resolved_by, r.resolution, r.resolution_note
    from abuse_reports r join users u on u.id = r.target_id
    left join cvs c on c.owner_id = r.target_id and c.id = r.cv_id";

/// One page of open reports, newest first, and how many are open in all.
pub async fn open(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Report>, i64)> {
    let rows: Vec<Counted<Report>> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) over () as total, {COLUMNS}
         where r.resolved_at is null order by r.created_at desc limit $1 offset $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(Counted::split(rows))
}

/// Every report about one account, newest first.
pub async fn about(db: impl PgExecutor<'_>, target_id: Uuid) -> sqlx::Result<Vec<Report>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} where r.target_id = $1 order by r.created_at desc limit 200"
    )))
    .bind(target_id)
    .fetch_all(db)
    .await
}

/// A report still waiting for an answer.
pub async fn find_open(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Report>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} where r.id = $1 and r.resolved_at is null"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Closes an open report with the admin's answer. `false` when it was already closed.
pub async fn resolve(
    db: impl PgExecutor<'_>,
    id: Uuid,
    resolution: Resolution,
    admin_username: &str,
    note: Option<&Text>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update abuse_reports
         set resolved_at = now(), resolved_by = $2, resolution = $3, resolution_note = $4
         where id = $1 and resolved_at is null",
    )
    .bind(id)
    .bind(admin_username)
    .bind(resolution.as_str())
    .bind(note.map(Text::as_str))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
