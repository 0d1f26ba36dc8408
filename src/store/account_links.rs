//! Single-use links mailed to an account (confirm an address, change it, reset a password).
//! Only the SHA-256 of a link's secret is kept.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::LinkSecret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms the account's current address.
    ConfirmEmail,
    /// Makes the address it was sent to the account's, confirmed.
    ChangeEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "confirm-email",
            Self::ChangeEmail => "change-email",
            Self::ResetPassword => "reset-password",
        }
    }
}

/// Whom a link is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkFor {
    pub owner_id: Uuid,
    /// The address the link was sent to.
    pub email: String,
    pub purpose: String,
}

impl LinkFor {
    pub fn is_for(&self, purpose: Purpose) -> bool {
        self.purpose == purpose.as_str()
    }
}

/// Keeps a new link, valid until `expires_at`. The account's earlier unused links for the same
/// purpose stop working: only the newest mail counts.
pub async fn insert(
    tx: &mut sqlx::PgConnection,
    owner_id: Uuid,
    secret: &LinkSecret,
    purpose: Purpose,
    email: &str,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "delete from account_links where owner_id = $1 and purpose = $2 and used_at is null",
    )
    .bind(owner_id)
    .bind(purpose.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into account_links (owner_id, token_hash, purpose, email, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(owner_id)
    .bind(secret.hash())
    .bind(purpose.as_str())
    .bind(email)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The link's account, if the link is unused and unexpired at `now`; it stays usable.
pub async fn find_valid(
    db: impl PgExecutor<'_>,
    secret: &LinkSecret,
    purpose: Purpose,
    now: OffsetDateTime,
) -> sqlx::Result<Option<LinkFor>> {
    sqlx::query_as(
        "select owner_id, email, purpose from account_links
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
    )
    .bind(secret.hash())
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses the link up, if it is for one of `purposes` and unused and unexpired at `now`. Of two
/// requests racing with one link, one gets it.
///
/// Runs in the caller's transaction, which goes on to change the account. The link is found by
/// its hash alone, so on Citus the update reaches every shard, in parallel unless told otherwise,
/// and Citus then refuses any change to `users` (a reference table) in the same transaction.
/// Sequential mode lifts that; plain PostgreSQL takes the setting as an unused placeholder.
pub async fn redeem(
    db: &mut PgConnection,
    secret: &LinkSecret,
    purposes: &[Purpose],
    now: OffsetDateTime,
) -> sqlx::Result<Option<LinkFor>> {
    sqlx::query("set local citus.multi_shard_modify_mode = 'sequential'")
        .execute(&mut *db)
        .await?;
    let purposes: Vec<&str> = purposes.iter().map(|purpose| purpose.as_str()).collect();
    sqlx::query_as(
        "update account_links set used_at = $3
         where token_hash = $1 and purpose = any($2) and used_at is null and expires_at > $3
         returning owner_id, email, purpose",
    )
    .bind(secret.hash())
    .bind(purposes)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// The address the account's newest usable link for `purpose` was sent to.
pub async fn pending_email(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    purpose: Purpose,
    now: OffsetDateTime,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select email from account_links
         where owner_id = $1 and purpose = $2 and used_at is null and expires_at > $3
         order by created_at desc limit 1",
    )
    .bind(owner_id)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Forgets links that can no longer be used.
pub async fn delete_expired(db: impl PgExecutor<'_>, now: OffsetDateTime) -> sqlx::Result<u64> {
    let done = sqlx::query("delete from account_links where expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
