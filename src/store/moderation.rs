//! What admins do to accounts, and what they need to see to decide: the accounts list, a CV's
//! moderation note, paused letters, and deleting an account with everything it owns.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{evictions, paging::Counted, users::User};
use crate::{
    domain::{AccountStatus, Role},
    jobs::COVER_LETTER_QUEUE,
    mail::MAIL_QUEUE,
};

/// An account as the admin's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub username: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
    pub published: bool,
    pub letters: i64,
    pub open_reports: i64,
}

/// Which accounts to list.
#[derive(Debug, Default)]
pub struct AccountFilter<'a> {
    /// Part of the username or the email, in any case.
    pub search: Option<&'a str>,
    pub status: Option<AccountStatus>,
}

/// One page of accounts, newest first, and how many match in all.
pub async fn accounts(
    db: impl PgExecutor<'_>,
    filter: &AccountFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AccountRow>, i64)> {
    let rows: Vec<Counted<AccountRow>> = sqlx::query_as(
        "select count(*) over () as total, u.username, u.email, u.role, u.status, u.created_at,
                u.last_login_at,
                coalesce(c.published, false) as published,
                coalesce(l.letters, 0) as letters,
                coalesce(r.open_reports, 0) as open_reports
         from users u
         -- Joins rather than subqueries in the select list, which Citus cannot push down to
         -- the shards of cvs and cover_letters. An account has one primary CV at most.
         left join cvs c on c.owner_id = u.id and c.is_primary
         left join (select owner_id, count(*) as letters from cover_letters group by owner_id) l
           on l.owner_id = u.id
         left join (select target_id, count(*) as open_reports from abuse_reports
                    where resolved_at is null group by target_id) r on r.target_id = u.id
         where ($1::text is null
                or strpos(u.username, lower($1)) > 0 or strpos(lower(u.email), lower($1)) > 0)
           and ($2::text is null or u.status = $2)
         order by u.created_at desc, u.username
         limit $3 offset $4",
    )
    .bind(filter.search)
    .bind(filter.status.map(AccountStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(Counted::split(rows))
}

/// The primary CV as a moderator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CvState {
    pub published: bool,
    pub versions: i64,
    pub moderation_note: Option<String>,
}

pub async fn cv_state(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Option<CvState>> {
    sqlx::query_as(
        "select c.published, c.moderation_note,
                (select count(*) from cv_versions v where v.owner_id = c.owner_id and v.cv_id = c.id)
                    as versions
         from cvs c where c.owner_id = $1 and c.is_primary",
    )
    .bind(owner_id)
    .fetch_optional(db)
    .await
}

pub async fn letter_count(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from cover_letters where owner_id = $1")
        .bind(owner_id)
        .fetch_one(db)
        .await
}

/// Takes the account's CVs, or only the CV `only`, off the public web and tells the owner why.
/// `false` when nothing of it was published. Run it in a transaction.
pub async fn unpublish(
    db: &mut PgConnection,
    owner_id: Uuid,
    only: Option<Uuid>,
    note: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update cvs set published = false, moderation_note = $2, updated_at = now()
         where owner_id = $1 and published and ($3::uuid is null or id = $3)",
    )
    .bind(owner_id)
    .bind(note)
    .bind(only)
    .execute(&mut *db)
    .await?;
    evictions::announce_cv(db, owner_id).await?;
    Ok(done.rows_affected() > 0)
}

/// The letters a suspension left waiting (the job skips a suspended owner's letters).
pub async fn pending_letters(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("select id from cover_letters where owner_id = $1 and status = 'pending'")
        .bind(owner_id)
        .fetch_all(db)
        .await
}

/// When `username` may be registered again, if a deleted account's block still holds it.
pub async fn blocked_until(
    db: impl PgExecutor<'_>,
    username: &str,
) -> sqlx::Result<Option<OffsetDateTime>> {
    sqlx::query_scalar(
        "select blocked_until from blocked_usernames where username = $1 and blocked_until > now()",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

/// Removes `user` and everything it owns, and keeps its username from being registered again for
/// `block_for`. Most rows go by `on delete cascade` from `users`; the job queue and the login
/// throttle are keyed by the account without a foreign key, so they are cleared here. Run it in a
/// transaction.
pub async fn delete_account(
    db: &mut PgConnection,
    user: &User,
    block_for: Duration,
) -> sqlx::Result<()> {
    sqlx::query(
        "delete from apalis.jobs
         where job_type = any($1) and convert_from(job, 'UTF8')::jsonb ->> 'owner_id' = $2::text",
    )
    .bind([COVER_LETTER_QUEUE, MAIL_QUEUE])
    .bind(user.id)
    .execute(&mut *db)
    .await?;
    // Throttles count an account by its id (alone, or before an address), or by the name or
    // address someone typed.
    sqlx::query(
        "delete from auth_attempts
         where key in ($1::text, $2, lower($3)) or starts_with(key, $1::text || E'\n')",
    )
    .bind(user.id)
    .bind(&user.username)
    .bind(&user.email)
    .execute(&mut *db)
    .await?;
    sqlx::query("delete from users where id = $1")
        .bind(user.id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "insert into blocked_usernames (username, blocked_until) values ($1, $2)
         on conflict (username) do update set blocked_until = excluded.blocked_until",
    )
    .bind(&user.username)
    .bind(OffsetDateTime::now_utc() + block_for)
    .execute(&mut *db)
    .await?;
    Ok(())
}
