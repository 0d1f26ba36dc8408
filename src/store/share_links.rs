//! Private links to a CV, one per company, with their opens and PDF downloads.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareLink {
    pub id: Uuid,
    pub cv_id: Uuid,
    pub token: String,
    pub label: String,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub opens: i32,
    pub pdf_downloads: i32,
    pub created_at: OffsetDateTime,
}

impl ShareLink {
    /// Whether the link still shows the CV at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

pub struct NewShareLink<'a> {
    pub cv_id: Uuid,
    pub token: &'a str,
    pub label: &'a str,
    pub expires_at: Option<OffsetDateTime>,
}

pub async fn create(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    link: NewShareLink<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into share_links (owner_id, id, cv_id, token, label, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(link.cv_id)
    .bind(link.token)
    .bind(link.label)
    .bind(link.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The CV's links, newest first.
pub async fn of_cv(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
) -> sqlx::Result<Vec<ShareLink>> {
    sqlx::query_as(
        "select id, cv_id, token, label, expires_at, revoked_at, opens, pdf_downloads, created_at
         from share_links where owner_id = $1 and cv_id = $2 order by created_at desc, id",
    )
    .bind(owner_id)
    .bind(cv_id)
    .fetch_all(db)
    .await
}

/// A link with the account it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedLink {
    pub owner_id: Uuid,
    #[sqlx(flatten)]
    pub link: ShareLink,
}

/// The link `token` of the active account `username`, if it is live at `now`.
pub async fn live(
    db: impl PgExecutor<'_>,
    username: &str,
    token: &str,
    now: OffsetDateTime,
) -> sqlx::Result<Option<OwnedLink>> {
    sqlx::query_as(
        "select s.owner_id, s.id, s.cv_id, s.token, s.label, s.expires_at, s.revoked_at, s.opens,
                s.pdf_downloads, s.created_at
         from users u join share_links s on s.owner_id = u.id and s.token = $2
         where u.username = $1 and u.status = 'active' and s.revoked_at is null
           and (s.expires_at is null or s.expires_at > $3)",
    )
    .bind(username)
    .bind(token)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// What a private link counts: its opens and its PDF downloads.
#[derive(Debug, Clone, Copy)]
pub enum LinkCounter {
    Opens,
    PdfDownloads,
}

pub async fn count(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    id: Uuid,
    counter: LinkCounter,
) -> sqlx::Result<()> {
    let statement = match counter {
        LinkCounter::Opens => {
            "update share_links set opens = opens + 1 where owner_id = $1 and id = $2"
        }
        LinkCounter::PdfDownloads => {
            "update share_links set pdf_downloads = pdf_downloads + 1
             where owner_id = $1 and id = $2"
        }
    };
    sqlx::query(statement)
        .bind(owner_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// `true` when the CV had that link, live.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
    id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update share_links set revoked_at = now()
         where owner_id = $1 and cv_id = $2 and id = $3 and revoked_at is null",
    )
    .bind(owner_id)
    .bind(cv_id)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
