//! The audit log: every moderation action, appended and never changed (a trigger refuses
//! updates and deletes). Names are kept as text so entries outlive the accounts they name.

use sqlx::PgExecutor;

use super::paging::Counted;
use time::OffsetDateTime;
use uuid::Uuid;

/// What was done. Stored as its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Unsuspend,
    Unpublish,
    Delete,
    DismissReport,
    GrantAdmin,
    RevokeAdmin,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::Unpublish => "unpublish",
            Self::Delete => "delete",
            Self::DismissReport => "dismiss-report",
            Self::GrantAdmin => "grant-admin",
            Self::RevokeAdmin => "revoke-admin",
        }
    }
}

/// Who acted: an admin account, or the operator at the command line.
pub struct Actor<'a> {
    pub id: Option<Uuid>,
    pub username: &'a str,
}

/// The name the command line signs its entries with.
pub const COMMAND_LINE: &str = "(command line)";

pub struct Entry<'a> {
    pub actor: Actor<'a>,
    pub action: Action,
    pub target_id: Option<Uuid>,
    pub target_username: &'a str,
    pub reason: Option<&'a str>,
    pub report_id: Option<Uuid>,
}

pub async fn record(db: impl PgExecutor<'_>, entry: Entry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log
             (admin_id, admin_username, action, target_id, target_username, reason, report_id)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.actor.id)
    .bind(entry.actor.username)
    .bind(entry.action.as_str())
    .bind(entry.target_id)
    .bind(entry.target_username)
    .bind(entry.reason)
    .bind(entry.report_id)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoggedAction {
    pub admin_username: String,
    pub action: String,
    pub target_username: String,
    pub reason: Option<String>,
    pub report_id: Option<Uuid>,
    pub at: OffsetDateTime,
}

/// Which entries to list: exact usernames, either may be left out.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub admin: Option<&'a str>,
    pub target: Option<&'a str>,
}

/// One page of entries, newest first, and how many match in all.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<LoggedAction>, i64)> {
    let rows: Vec<Counted<LoggedAction>> = sqlx::query_as(
        "select count(*) over () as total, admin_username, action, target_username, reason,
                report_id, at
         from audit_log
         where ($1::text is null or admin_username = lower($1))
           and ($2::text is null or target_username = lower($2))
         order by at desc, id desc
         limit $3 offset $4",
    )
    .bind(filter.admin)
    .bind(filter.target)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(Counted::split(rows))
}

/// All entries about one account, newest first.
pub async fn about(db: impl PgExecutor<'_>, username: &str) -> sqlx::Result<Vec<LoggedAction>> {
    sqlx::query_as(
        "select admin_username, action, target_username, reason, report_id, at
         from audit_log where target_username = $1 order by at desc, id desc limit 200",
    )
    .bind(username)
    .fetch_all(db)
    .await
}
