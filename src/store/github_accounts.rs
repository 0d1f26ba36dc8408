//! Which GitHub account signs in to which of ours, by GitHub's numeric user id.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GitHubAccount {
    pub owner_id: Uuid,
    pub github_id: i64,
    pub login: String,
    pub linked_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// That GitHub account signs in to another of our accounts already.
    #[error("that GitHub account is linked to another account")]
    LinkedElsewhere,
    /// This account has a GitHub account linked already.
    #[error("this account is linked to a GitHub account already")]
    AlreadyLinked,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The account `github_id` signs in to, if any.
pub async fn owner_of(db: impl PgExecutor<'_>, github_id: i64) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("select owner_id from github_accounts where github_id = $1")
        .bind(github_id)
        .fetch_optional(db)
        .await
}

pub async fn of_owner(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
) -> sqlx::Result<Option<GitHubAccount>> {
    sqlx::query_as("select * from github_accounts where owner_id = $1")
        .bind(owner_id)
        .fetch_optional(db)
        .await
}

pub async fn link(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    github_id: i64,
    login: &str,
) -> Result<(), LinkError> {
    sqlx::query("insert into github_accounts (owner_id, github_id, login) values ($1, $2, $3)")
        .bind(owner_id)
        .bind(github_id)
        .bind(login)
        .execute(db)
        .await
        .map_err(|error| match super::violated_constraint(&error) {
            Some("github_accounts_github_id_key") => LinkError::LinkedElsewhere,
            Some("github_accounts_pkey") => LinkError::AlreadyLinked,
            _ => LinkError::Database(error),
        })?;
    Ok(())
}

/// Keeps the login GitHub gave at the latest sign-in, for settings to show.
pub async fn remember_login(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    login: &str,
) -> sqlx::Result<()> {
    sqlx::query("update github_accounts set login = $2 where owner_id = $1 and login <> $2")
        .bind(owner_id)
        .bind(login)
        .execute(db)
        .await?;
    Ok(())
}

/// `true` when a link was removed.
pub async fn unlink(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from github_accounts where owner_id = $1")
        .bind(owner_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
