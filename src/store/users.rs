use std::fmt;

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{AccountStatus, Email, Role, Username};

#[derive(Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    /// `None` for an account made by signing in with GitHub, until its owner sets a password.
    pub password_hash: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    /// When `email` was confirmed by a link sent to it; `None` until then.
    pub email_confirmed_at: Option<OffsetDateTime>,
}

impl User {
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }

    pub fn email_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }
}

// The password hash stays out of logs.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    /// Whether the address is confirmed already (GitHub vouched for it).
    pub email_confirmed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn insert(db: impl PgExecutor<'_>, new: NewUser<'_>) -> Result<User, InsertUserError> {
    sqlx::query_as(
        "insert into users (id, username, email, password_hash, role, email_confirmed_at)
         values ($1, $2, $3, $4, $5, case when $6 then now() end) returning *",
    )
    .bind(Uuid::new_v4())
    .bind(new.username.as_str())
    .bind(new.email.as_str())
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(new.email_confirmed)
    .fetch_one(db)
    .await
    .map_err(|error| match constraint_of(&error) {
        Some("users_username_key") => InsertUserError::UsernameTaken,
        Some("users_email_key") => InsertUserError::EmailTaken,
        _ => InsertUserError::Database(error),
    })
}

fn constraint_of(error: &sqlx::Error) -> Option<&str> {
    super::violated_constraint(error)
}

pub async fn find_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<User>> {
    sqlx::query_as("select * from users where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The account whose email is `email`, ignoring case.
pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("select * from users where lower(email) = lower($1)")
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

/// Marks the account's address confirmed, if it is still `email` (the address a link went to).
/// `false` when the account has another address now.
pub async fn confirm_email(
    db: impl PgExecutor<'_>,
    id: Uuid,
    email: &str,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update users set email_confirmed_at = coalesce(email_confirmed_at, $3)
         where id = $1 and lower(email) = lower($2)",
    )
    .bind(id)
    .bind(email)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account whose username or email is `login`, ignoring case.
pub async fn find_by_login(db: &PgPool, login: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as("select * from users where username = lower($1) or lower(email) = lower($1)")
        .bind(login.trim())
        .fetch_optional(db)
        .await
}

pub async fn record_login(db: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("update users set last_login_at = now() where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Locks the account's row until the transaction ends, to serialise its quota checks.
pub async fn lock(db: &mut sqlx::PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether the account has a password now, as the database says (not a cached copy).
pub async fn has_password(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("select password_hash is not null from users where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(|found| found.unwrap_or(false))
}

pub async fn find_by_username(
    db: impl PgExecutor<'_>,
    username: &Username,
) -> sqlx::Result<Option<User>> {
    sqlx::query_as("select * from users where username = $1")
        .bind(username.as_str())
        .fetch_optional(db)
        .await
}

/// What a role change did.
#[derive(Debug)]
pub enum RoleChange {
    Changed(User),
    AlreadySo,
    NoSuchAccount,
    /// Refused: the account is the only admin, and nobody could moderate after it.
    LastAdmin,
}

/// Gives `username` the role `role`, unless that would leave no admin at all. Admins' rows are
/// locked first, so two revokes at once cannot both pass the check.
pub async fn set_role(
    db: &mut PgConnection,
    username: &Username,
    role: Role,
) -> sqlx::Result<RoleChange> {
    let admins: Vec<Uuid> =
        sqlx::query_scalar("select id from users where role = 'admin' order by id for update")
            .fetch_all(&mut *db)
            .await?;
    let Some(user) = find_by_username(&mut *db, username).await? else {
        return Ok(RoleChange::NoSuchAccount);
    };
    if user.role == role {
        return Ok(RoleChange::AlreadySo);
    }
    if role == Role::Member && admins == [user.id] {
        return Ok(RoleChange::LastAdmin);
    }
    let user = sqlx::query_as("update users set role = $2 where id = $1 returning *")
        .bind(user.id)
        .bind(role.as_str())
        .fetch_one(&mut *db)
        .await?;
    Ok(RoleChange::Changed(user))
}

pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: AccountStatus,
) -> sqlx::Result<()> {
    sqlx::query("update users set status = $2 where id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_password_hash(db: impl PgExecutor<'_>, id: Uuid, hash: &str) -> sqlx::Result<()> {
    sqlx::query("update users set password_hash = $2 where id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Makes `email` the account's address, confirmed at `now` (a link sent to it was followed).
/// `Err(EmailTaken)` when another account has it, in any case.
pub async fn set_confirmed_email(
    db: impl PgExecutor<'_>,
    id: Uuid,
    email: &str,
    now: OffsetDateTime,
) -> Result<Option<User>, InsertUserError> {
    sqlx::query_as("update users set email = $2, email_confirmed_at = $3 where id = $1 returning *")
        .bind(id)
        .bind(email)
        .bind(now)
        .fetch_optional(db)
        .await
        .map_err(|error| match constraint_of(&error) {
            Some("users_email_key") => InsertUserError::EmailTaken,
            _ => InsertUserError::Database(error),
        })
}
