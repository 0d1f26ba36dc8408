//! Personal access tokens: created and revoked by their owner, checked (and counted against the
//! rate limit) on every API request.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{TokenScope, TokenSecret};

/// A token as its owner's list shows it; the secret is never read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessToken {
    pub id: Uuid,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Stores a new token for `owner_id`; only the secret's hash is kept.
pub async fn create(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    name: &str,
    scope: TokenScope,
    secret: &TokenSecret,
    expires_at: Option<OffsetDateTime>,
) -> sqlx::Result<AccessToken> {
    sqlx::query_as(
        "insert into access_tokens (owner_id, id, name, scope, secret_hash, expires_at)
         values ($1, $2, $3, $4, $5, $6)
         returning id, name, scope, created_at, last_used_at, expires_at, revoked_at",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(scope.as_str())
    .bind(secret.hash())
    .bind(expires_at)
    .fetch_one(db)
    .await
}

/// Every token of `owner_id`, newest first, revoked ones included (they say so).
pub async fn list(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<AccessToken>> {
    sqlx::query_as(
        "select id, name, scope, created_at, last_used_at, expires_at, revoked_at
         from access_tokens where owner_id = $1 order by created_at desc",
    )
    .bind(owner_id)
    .fetch_all(db)
    .await
}

/// Revokes one of `owner_id`'s tokens; false when there is no such token of theirs.
pub async fn revoke(db: impl PgExecutor<'_>, owner_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    // The time is a parameter: Citus refuses now() beside a column in an UPDATE's SET.
    let result = sqlx::query(
        "update access_tokens set revoked_at = coalesce(revoked_at, $3)
         where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(id)
    .bind(OffsetDateTime::now_utc())
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Who a valid token speaks for, and how it stands against the rate limit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenUse {
    pub owner_id: Uuid,
    pub username: String,
    pub token_id: Uuid,
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    /// Requests in the current one-minute window, this one included.
    pub requests_in_window: i32,
    /// Whole seconds until the window ends.
    #[sqlx(skip)]
    pub window_ends_in_secs: i32,
}

/// Checks `secret` and counts this request: `None` unless it is an unexpired, unrevoked token of
/// an active account. One statement, so concurrent requests in many processes count exactly.
///
/// The time comes from here, not from `now()`: Citus refuses STABLE functions beside columns in
/// an UPDATE and any in its RETURNING, and the window's end is simple arithmetic on it.
pub async fn use_token(
    db: impl PgExecutor<'_>,
    secret: &TokenSecret,
) -> sqlx::Result<Option<TokenUse>> {
    let now = OffsetDateTime::now_utc();
    let window_start = now
        .replace_second(0)
        .and_then(|at| at.replace_nanosecond(0))
        .expect("zero seconds and nanoseconds are valid");
    let window_end = window_start + time::Duration::MINUTE;
    let usage: Option<TokenUse> = sqlx::query_as(
        "update access_tokens t set
             last_used_at = $2,
             rate_window_requests = case when t.rate_window_start = $3
                                         then t.rate_window_requests + 1 else 1 end,
             rate_window_start = $3
         from users u
         where t.secret_hash = $1 and u.id = t.owner_id and u.status = 'active'
           and t.revoked_at is null and (t.expires_at is null or t.expires_at > $2)
         returning t.owner_id, u.username, t.id as token_id, t.scope,
                   t.rate_window_requests as requests_in_window",
    )
    .bind(secret.hash())
    .bind(now)
    .bind(window_start)
    .fetch_optional(db)
    .await?;
    // Whole seconds, rounded up, as ceil() did in SQL.
    let left = window_end - now;
    let ends_in = left.whole_seconds() + i64::from(left.subsec_nanoseconds() > 0);
    Ok(usage.map(|usage| TokenUse {
        window_ends_in_secs: i32::try_from(ends_in).unwrap_or(60),
        ..usage
    }))
}
