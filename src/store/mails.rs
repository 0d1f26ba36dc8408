//! Mail waiting to go out, and what became of it.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::mail::Mail;

/// Keeps `mail` to `owner_id` for sending; returns its id.
pub async fn insert(db: impl PgExecutor<'_>, owner_id: Uuid, mail: &Mail) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "insert into outgoing_mails (owner_id, id, kind, to_address, subject, text_body, html_body)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(mail.kind.as_str())
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .fetch_one(db)
    .await
}

/// What a mail waiting to be sent says.
#[derive(Debug, sqlx::FromRow)]
pub struct UnsentMail {
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// A mail still to be sent: `None` once it was sent or given up (or its account is gone).
pub async fn unsent(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<UnsentMail>> {
    sqlx::query_as(
        "select to_address, subject, text_body, html_body from outgoing_mails
         where owner_id = $1 and id = $2 and sent_at is null and failed_at is null",
    )
    .bind(owner_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Counts one more try at sending.
pub async fn count_attempt(db: impl PgExecutor<'_>, owner_id: Uuid, id: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "update outgoing_mails set attempts = attempts + 1 where owner_id = $1 and id = $2
         returning attempts",
    )
    .bind(owner_id)
    .bind(id)
    .fetch_one(db)
    .await
}

/// The mail left: its bodies (which may hold a single-use link) are not kept.
pub async fn mark_sent(db: impl PgExecutor<'_>, owner_id: Uuid, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "update outgoing_mails set sent_at = now(), text_body = null, html_body = null
         where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The mail cannot be delivered: the server refused it for good, or kept failing.
pub async fn mark_failed(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outgoing_mails
         set failed_at = now(), failure = $3, text_body = null, html_body = null
         where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}
