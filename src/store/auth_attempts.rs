//! Attempts counted over a sliding window, to throttle password guessing and signup floods.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;

/// What an attempt counts against.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// A failed login, keyed by the login name typed.
    LoginAccount,
    /// A failed login, keyed by client address.
    LoginAddress,
    /// A signup, keyed by client address.
    SignupAddress,
    /// An abuse report, keyed by client address.
    ReportAddress,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::LoginAccount => "login-account",
            Self::LoginAddress => "login-address",
            Self::SignupAddress => "signup-address",
            Self::ReportAddress => "report-address",
        }
    }
}

/// When `key` may try again, if it has reached `limit` attempts within `window`.
pub async fn blocked_for(
    db: &PgPool,
    scope: Scope,
    key: &str,
    limit: u32,
    window: Duration,
) -> sqlx::Result<Option<Duration>> {
    let since = OffsetDateTime::now_utc() - window;
    let (count, oldest): (i64, Option<OffsetDateTime>) = sqlx::query_as(
        "select count(*), min(attempted_at) from auth_attempts
         where scope = $1 and key = $2 and attempted_at > $3",
    )
    .bind(scope.as_str())
    .bind(key)
    .bind(since)
    .fetch_one(db)
    .await?;
    if count < i64::from(limit) {
        return Ok(None);
    }
    // The oldest attempt in the window leaves it first; then one more attempt is allowed.
    let free_at = oldest.unwrap_or(since) + window;
    let wait = (free_at - OffsetDateTime::now_utc()).max(time::Duration::SECOND);
    Ok(Some(Duration::from_secs(
        wait.whole_seconds().unsigned_abs(),
    )))
}

pub async fn record(db: &PgPool, scope: Scope, key: &str) -> sqlx::Result<()> {
    sqlx::query("insert into auth_attempts (scope, key) values ($1, $2)")
        .bind(scope.as_str())
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn clear(db: &PgPool, scope: Scope, key: &str) -> sqlx::Result<()> {
    sqlx::query("delete from auth_attempts where scope = $1 and key = $2")
        .bind(scope.as_str())
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets attempts that no window can see any more.
pub async fn delete_older_than(db: &PgPool, age: Duration) -> sqlx::Result<u64> {
    let before = OffsetDateTime::now_utc() - age;
    let done = sqlx::query("delete from auth_attempts where attempted_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
