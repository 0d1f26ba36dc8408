//! An account's passkeys: what they are called, and the credential webauthn-rs checks.

use sqlx::{PgExecutor, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::Passkey;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The account's passkeys, oldest first.
pub async fn of_owner(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<PasskeyRow>> {
    sqlx::query_as(
        "select id, name, created_at, last_used_at from passkeys
         where owner_id = $1 order by created_at, id",
    )
    .bind(owner_id)
    .fetch_all(db)
    .await
}

pub async fn count(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from passkeys where owner_id = $1")
        .bind(owner_id)
        .fetch_one(db)
        .await
}

/// The credentials a new passkey must not repeat (the authenticator is told, and says so).
pub async fn credential_ids(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar("select credential_id from passkeys where owner_id = $1")
        .bind(owner_id)
        .fetch_all(db)
        .await
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    name: &str,
    passkey: &Passkey,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into passkeys (owner_id, id, credential_id, name, credential)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(passkey.cred_id().as_slice())
    .bind(name)
    .bind(Json(passkey))
    .execute(db)
    .await?;
    Ok(())
}

/// The passkey `credential_id` of `owner_id`, if that account has it.
pub async fn find(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    credential_id: &[u8],
) -> sqlx::Result<Option<(Uuid, Passkey)>> {
    let row: Option<(Uuid, Json<Passkey>)> = sqlx::query_as(
        "select id, credential from passkeys where owner_id = $1 and credential_id = $2",
    )
    .bind(owner_id)
    .bind(credential_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, Json(passkey))| (id, passkey)))
}

/// After a sign-in: the credential as updated (its counter), and when it was used.
pub async fn used(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
    passkey: &Passkey,
) -> sqlx::Result<()> {
    sqlx::query(
        "update passkeys set credential = $3, last_used_at = now() where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(id)
    .bind(Json(passkey))
    .execute(db)
    .await?;
    Ok(())
}

/// `true` when the account had that passkey.
pub async fn rename(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
    name: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("update passkeys set name = $3 where owner_id = $1 and id = $2")
        .bind(owner_id)
        .bind(id)
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The removed passkey's name, when the account had it.
pub async fn remove(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("delete from passkeys where owner_id = $1 and id = $2 returning name")
        .bind(owner_id)
        .bind(id)
        .fetch_optional(db)
        .await
}
