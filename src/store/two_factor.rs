//! An account's second factor: its TOTP secret (pending until confirmed) and its recovery codes.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{RecoveryCode, TotpSecret};

/// An account's TOTP secret as kept.
pub struct Stored {
    pub secret: TotpSecret,
    /// `None` while the member has not yet confirmed the secret with a code.
    pub enabled_at: Option<OffsetDateTime>,
}

pub async fn find(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Option<Stored>> {
    let row: Option<(Vec<u8>, Option<OffsetDateTime>)> =
        sqlx::query_as("select secret, enabled_at from two_factor where owner_id = $1")
            .bind(owner_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(secret, enabled_at)| Stored {
        secret: TotpSecret::from_stored(secret),
        enabled_at,
    }))
}

pub async fn is_enabled(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from two_factor where owner_id = $1 and enabled_at is not null)",
    )
    .bind(owner_id)
    .fetch_one(db)
    .await
}

/// Keeps `secret` as the account's pending one, replacing an earlier pending one. `false` when
/// two-factor sign-in is on already, and nothing changed.
pub async fn set_pending(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    secret: &TotpSecret,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into two_factor (owner_id, secret) values ($1, $2)
         on conflict (owner_id) do update set secret = excluded.secret,
             created_at = excluded.created_at
         where two_factor.enabled_at is null",
    )
    .bind(owner_id)
    .bind(secret.as_bytes())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns the pending secret on, its confirming code's `step` used. `false` when there was no
/// pending secret (none, or on already).
pub async fn enable(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    step: i64,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update two_factor set enabled_at = $3, last_step = $2
         where owner_id = $1 and enabled_at is null",
    )
    .bind(owner_id)
    .bind(step)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses up `step` and every step before it, if no code of `step` or later was accepted yet: of
/// two requests with the same code, only one gets `true`.
pub async fn accept_step(db: impl PgExecutor<'_>, owner_id: Uuid, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update two_factor set last_step = $2
         where owner_id = $1 and enabled_at is not null and last_step < $2",
    )
    .bind(owner_id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the account's recovery codes with `codes`.
pub async fn replace_recovery_codes(
    tx: &mut PgConnection,
    owner_id: Uuid,
    codes: &[RecoveryCode],
) -> sqlx::Result<()> {
    sqlx::query("delete from recovery_codes where owner_id = $1")
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
    let hashes: Vec<Vec<u8>> = codes.iter().map(RecoveryCode::hash).collect();
    sqlx::query("insert into recovery_codes (owner_id, code_hash) select $1, unnest($2::bytea[])")
        .bind(owner_id)
        .bind(hashes)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Uses up `code`, if it is one of the account's and unused.
pub async fn use_recovery_code(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    code: &RecoveryCode,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update recovery_codes set used_at = $3
         where owner_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(owner_id)
    .bind(code.hash())
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from recovery_codes where owner_id = $1 and used_at is null",
    )
    .bind(owner_id)
    .fetch_one(db)
    .await
}

/// Forgets the account's secret and recovery codes.
pub async fn delete(tx: &mut PgConnection, owner_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("delete from recovery_codes where owner_id = $1")
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from two_factor where owner_id = $1")
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
