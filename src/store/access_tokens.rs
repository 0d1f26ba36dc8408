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
    pub window_ends_in_secs: i32,
}

/// Checks `secret` and counts this request: `None` unless it is an unexpired, unrevoked token of
/// an active account. One statement, so concurrent requests in many processes count exactly.
pub async fn use_token(
    db: impl PgExecutor<'_>,
    secret: &TokenSecret,
) -> sqlx::Result<Option<TokenUse>> {
    sqlx::query_as(
        "with window_start as (select date_trunc('minute', now()) as at)
         update access_tokens t set
             last_used_at = now(),
             rate_window_requests = case when t.rate_window_start = w.at
                                         then t.rate_window_requests + 1 else 1 end,
             rate_window_start = w.at
         from users u, window_start w
         where t.secret_hash = $1 and u.id = t.owner_id and u.status = 'active'
           and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
         returning t.owner_id, u.username, t.id as token_id, t.scope,
                   t.rate_window_requests as requests_in_window,
                   ceil(extract(epoch from (w.at + interval '1 minute' - now())))::int
                       as window_ends_in_secs",
    )
    .bind(secret.hash())
    .fetch_optional(db)
    .await
}
