//! CVs and their versions. Every change here is announced (`evictions::announce_cv`) in its
//! transaction, as processes keep the public page of each username.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{evictions, public_cvs::DailyCount};
use crate::domain::{CvSlug, CvTitle, resume::Theme};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cv {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub is_primary: bool,
    pub published: bool,
    pub theme: String,
    pub hidden_fields: Vec<String>,
    /// Whether search engines may index the public page.
    pub allow_indexing: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CvVersion {
    pub owner_id: Uuid,
    pub cv_id: Uuid,
    pub number: i32,
    pub content: String,
    pub size_bytes: i32,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// The account's primary CV, if it has one yet.
pub async fn primary(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Option<Cv>> {
    sqlx::query_as("select * from cvs where owner_id = $1 and is_primary")
        .bind(owner_id)
        .fetch_optional(db)
        .await
}

/// Serialises, until the transaction ends, everything that decides which of the owner's CVs is
/// primary or whether one exists: creating, promoting, deleting, recovering. Each of them reads
/// the account's CVs afresh after taking it, so two of them at the same moment cannot leave the
/// account without a primary (or with a CV over the cap). `no key update` still lets rows that
/// merely refer to the account (sessions, letters) be written meanwhile.
async fn lock_owner(db: &mut PgConnection, owner_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("select 1 from users where id = $1 for no key update")
        .bind(owner_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The account's primary CV; `None` only when the account has no CV at all. Should an account
/// with CVs have none marked primary (the invariant [`make_primary`] and [`delete`] keep, broken
/// by hand or by an older version of this code), the most recently changed CV is made primary
/// here rather than leaving every page that needs the primary broken. Run it in a transaction.
pub async fn primary_or_promote(db: &mut PgConnection, owner_id: Uuid) -> sqlx::Result<Option<Cv>> {
    if let Some(cv) = primary(&mut *db, owner_id).await? {
        return Ok(Some(cv));
    }
    lock_owner(db, owner_id).await?;
    // Read again under the lock: a concurrent request may have just chosen one.
    if let Some(cv) = primary(&mut *db, owner_id).await? {
        return Ok(Some(cv));
    }
    let promoted: Option<Cv> = sqlx::query_as(
        "update cvs set is_primary = true, updated_at = now()
         where owner_id = $1 and id = (
             select c.id from cvs c
             where c.owner_id = $1
             order by greatest(c.updated_at, (select max(v.created_at) from cv_versions v
                                              where v.owner_id = c.owner_id and v.cv_id = c.id)) desc,
                      c.created_at desc
             limit 1)
         returning *",
    )
    .bind(owner_id)
    .fetch_optional(&mut *db)
    .await?;
    if let Some(cv) = &promoted {
        evictions::announce_cv(&mut *db, owner_id).await?;
        tracing::warn!(%owner_id, cv_id = %cv.id, "an account had CVs but no primary; promoted one");
    }
    Ok(promoted)
}

/// The account's primary CV, created (private, with no versions) the first time it is needed,
/// or promoted should the account have CVs but none primary. Run it in a transaction.
pub async fn primary_or_create(db: &mut PgConnection, owner_id: Uuid) -> sqlx::Result<Cv> {
    if let Some(cv) = primary_or_promote(&mut *db, owner_id).await? {
        return Ok(cv);
    }
    // The account has no CV at all (and is locked), so the slug is free.
    let cv = sqlx::query_as(
        "insert into cvs (owner_id, id, slug, title, is_primary)
         values ($1, $2, 'cv', 'My CV', true) returning *",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .fetch_one(&mut *db)
    .await?;
    evictions::announce_cv(db, owner_id).await?;
    Ok(cv)
}

/// The newest version of a CV.
pub async fn latest_version(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
) -> sqlx::Result<Option<CvVersion>> {
    sqlx::query_as(
        "select * from cv_versions where owner_id = $1 and cv_id = $2 order by number desc limit 1",
    )
    .bind(owner_id)
    .bind(cv_id)
    .fetch_optional(db)
    .await
}

/// How much of a CV's past is kept.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// Versions kept, the current one included.
    pub max_versions: u32,
    /// Bytes of all kept versions together.
    pub max_bytes: u64,
}

/// What [`append_version`] did.
#[derive(Debug)]
pub enum Appended {
    Saved(CvVersion),
    /// The content is exactly the current version's: nothing was written.
    Unchanged,
    /// The CV is gone (deleted by a concurrent request).
    NoSuchCv,
}

/// Saves `content` as the CV's next version, unless it is exactly the current one, and prunes
/// the oldest versions beyond `history`. Run it in a transaction: the row lock on the CV keeps
/// two saves from taking the same number, and the version and the pruning land together.
pub async fn append_version(
    db: &mut PgConnection,
    cv: &Cv,
    content: &str,
    created_by: Uuid,
    history: History,
) -> sqlx::Result<Appended> {
    let found = sqlx::query("select 1 from cvs where owner_id = $1 and id = $2 for update")
        .bind(cv.owner_id)
        .bind(cv.id)
        .fetch_optional(&mut *db)
        .await?;
    if found.is_none() {
        return Ok(Appended::NoSuchCv);
    }
    let latest = latest_version(&mut *db, cv.owner_id, cv.id).await?;
    if latest.as_ref().is_some_and(|v| v.content == content) {
        return Ok(Appended::Unchanged);
    }
    let number = latest.map_or(1, |v| v.number + 1);
    let size = i32::try_from(content.len()).unwrap_or(i32::MAX);
    let version = sqlx::query_as(
        "insert into cv_versions (owner_id, cv_id, number, content, size_bytes, created_by)
         values ($1, $2, $3, $4, $5, $6) returning *",
    )
    .bind(cv.owner_id)
    .bind(cv.id)
    .bind(number)
    .bind(content)
    .bind(size)
    .bind(created_by)
    .fetch_one(&mut *db)
    .await?;
    prune(&mut *db, cv, history).await?;
    evictions::announce_cv(db, cv.owner_id).await?;
    Ok(Appended::Saved(version))
}

/// Deletes the oldest versions beyond `history`. Two kinds are never deleted: the current version,
/// which is also the one the public page shows (publication is a flag on the CV, not a version),
/// and a version a cover letter was written from, as deleting it would delete the letter (the
/// foreign key cascades) and a letter still to be written needs it. Those are counted first,
/// so the others make room for them and the CV stays within the limits.
async fn prune(db: &mut PgConnection, cv: &Cv, history: History) -> sqlx::Result<()> {
    sqlx::query(
        "delete from cv_versions v
         using (
             select number, protected,
                    row_number() over kept_first as rank,
                    sum(size_bytes) over kept_first as bytes
             from (
                 select c.number, c.size_bytes,
                        c.number = max(c.number) over ()
                        or l.cv_version is not null as protected
                 from cv_versions c
                 -- A join rather than `exists` in the select list: Citus cannot push a subquery
                 -- there down together with window functions.
                 left join (select distinct cv_version from cover_letters
                            where owner_id = $1 and cv_id = $2) l on l.cv_version = c.number
                 where c.owner_id = $1 and c.cv_id = $2
             ) versions
             window kept_first as (order by protected desc, number desc)
         ) kept
         where v.owner_id = $1 and v.cv_id = $2 and v.number = kept.number
           and not kept.protected
           and (kept.rank > $3 or kept.bytes > $4)",
    )
    .bind(cv.owner_id)
    .bind(cv.id)
    .bind(i64::from(history.max_versions))
    .bind(i64::try_from(history.max_bytes).unwrap_or(i64::MAX))
    .execute(db)
    .await?;
    Ok(())
}

/// A line in a CV's history: a version without its content, and who saved it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionSummary {
    pub number: i32,
    pub size_bytes: i32,
    pub created_at: OffsetDateTime,
    /// `None` when the account that saved it is gone.
    pub author: Option<String>,
}

/// Every version of a CV, newest first.
pub async fn versions(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
) -> sqlx::Result<Vec<VersionSummary>> {
    sqlx::query_as(
        "select v.number, v.size_bytes, v.created_at, u.username as author
         from cv_versions v left join users u on u.id = v.created_by
         where v.owner_id = $1 and v.cv_id = $2
         order by v.number desc",
    )
    .bind(owner_id)
    .bind(cv_id)
    .fetch_all(db)
    .await
}

/// One version of a CV, by number.
pub async fn version(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
    number: i32,
) -> sqlx::Result<Option<CvVersion>> {
    sqlx::query_as("select * from cv_versions where owner_id = $1 and cv_id = $2 and number = $3")
        .bind(owner_id)
        .bind(cv_id)
        .bind(number)
        .fetch_optional(db)
        .await
}

/// Shows or hides the CV's public page. Publishing clears a moderator's note: the owner has read
/// it and takes the responsibility.
pub async fn set_published(
    db: &PgPool,
    owner_id: Uuid,
    cv_id: Uuid,
    published: bool,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update cvs set published = $3, updated_at = now(),
             moderation_note = case when $3 then null else moderation_note end
         where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(cv_id)
    .bind(published)
    .execute(&mut *tx)
    .await?;
    evictions::announce_cv(&mut *tx, owner_id).await?;
    tx.commit().await
}

/// How the public page looks, which fields it leaves out, and whether it may be indexed.
pub struct PublicSettings<'a> {
    pub theme: Theme,
    pub hidden_fields: &'a [String],
    pub allow_indexing: bool,
}

/// Sets how the public page looks, which fields it leaves out, and whether it may be indexed.
/// Run it in a transaction.
pub async fn update_public_settings(
    db: &mut PgConnection,
    owner_id: Uuid,
    cv_id: Uuid,
    settings: PublicSettings<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update cvs set theme = $3, hidden_fields = $4, allow_indexing = $5, updated_at = now()
         where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(cv_id)
    .bind(settings.theme.as_str())
    .bind(settings.hidden_fields)
    .bind(settings.allow_indexing)
    .execute(&mut *db)
    .await?;
    evictions::announce_cv(db, owner_id).await
}

/// Public views and PDF downloads per day for the last `days` days up to today (UTC), oldest
/// first, with 0 for a day nobody looked.
pub async fn daily_views(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
    days: i32,
) -> sqlx::Result<Vec<(Date, DailyCount)>> {
    let days: Vec<(Date, i32, i32)> = sqlx::query_as(
        "select d.day::date, coalesce(v.views, 0), coalesce(v.pdf_downloads, 0)
         from generate_series((now() at time zone 'utc')::date - ($3 - 1),
                              (now() at time zone 'utc')::date, interval '1 day') as d(day)
         left join cv_daily_views v
           on v.owner_id = $1 and v.cv_id = $2 and v.day = d.day::date
         order by d.day",
    )
    .bind(owner_id)
    .bind(cv_id)
    .bind(days)
    .fetch_all(db)
    .await?;
    Ok(days
        .into_iter()
        .map(|(day, views, pdf_downloads)| {
            let count = DailyCount {
                views,
                pdf_downloads,
            };
            (day, count)
        })
        .collect())
}

/// One of the owner's CVs, by id; `None` for an unknown id and for anyone else's CV alike.
pub async fn find(db: impl PgExecutor<'_>, owner_id: Uuid, id: Uuid) -> sqlx::Result<Option<Cv>> {
    sqlx::query_as("select * from cvs where owner_id = $1 and id = $2")
        .bind(owner_id)
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A CV as lists show it: the row, and its newest version's number and time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CvListing {
    #[sqlx(flatten)]
    pub cv: Cv,
    pub latest_number: Option<i32>,
    pub last_saved_at: Option<OffsetDateTime>,
}

impl CvListing {
    /// When anything about the CV last changed: a save, or its settings.
    pub fn changed_at(&self) -> OffsetDateTime {
        self.last_saved_at
            .map_or(self.cv.updated_at, |saved| saved.max(self.cv.updated_at))
    }
}

/// Every CV of the owner, the primary first, then by creation.
pub async fn list(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<Vec<CvListing>> {
    sqlx::query_as(
        "select c.*, v.number as latest_number, v.created_at as last_saved_at
         from cvs c
         left join lateral (
             select number, created_at from cv_versions
             where owner_id = c.owner_id and cv_id = c.id
             order by number desc limit 1
         ) v on true
         where c.owner_id = $1
         order by c.is_primary desc, c.created_at, c.slug",
    )
    .bind(owner_id)
    .fetch_all(db)
    .await
}

/// Why a CV could not be created or renamed.
#[derive(Debug, thiserror::Error)]
pub enum CvChangeError {
    #[error("the account already has a CV with this slug")]
    SlugTaken,
    #[error("the account has as many CVs as it may keep")]
    CapReached,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Maps the unique-slug violation to `SlugTaken`.
fn slug_conflict(error: sqlx::Error) -> CvChangeError {
    match &error {
        sqlx::Error::Database(_)
            if super::violated_constraint(&error) == Some("cvs_owner_id_slug_key") =>
        {
            CvChangeError::SlugTaken
        }
        _ => CvChangeError::Database(error),
    }
}

/// A new private CV, without versions; the account's primary when it has none yet. Run it in a
/// transaction: the lock on the account makes the cap hold under concurrent creates.
pub async fn create(
    db: &mut PgConnection,
    owner_id: Uuid,
    slug: &CvSlug,
    title: &CvTitle,
    max_per_account: u32,
) -> Result<Cv, CvChangeError> {
    lock_owner(db, owner_id).await?;
    let count: i64 = sqlx::query_scalar("select count(*) from cvs where owner_id = $1")
        .bind(owner_id)
        .fetch_one(&mut *db)
        .await?;
    if count >= i64::from(max_per_account) {
        return Err(CvChangeError::CapReached);
    }
    // Asked apart (the owner is locked, so nothing changes between): Citus refuses a subquery
    // in an INSERT.
    let has_primary: bool =
        sqlx::query_scalar("select exists (select 1 from cvs where owner_id = $1 and is_primary)")
            .bind(owner_id)
            .fetch_one(&mut *db)
            .await?;
    let cv = sqlx::query_as(
        "insert into cvs (owner_id, id, slug, title, is_primary)
         values ($1, $2, $3, $4, $5)
         returning *",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(slug.as_str())
    .bind(title.as_str())
    .bind(!has_primary)
    .fetch_one(&mut *db)
    .await
    .map_err(slug_conflict)?;
    evictions::announce_cv(db, owner_id).await?;
    Ok(cv)
}

/// Gives the CV a new title and slug; `false` when the owner has no such CV.
pub async fn rename(
    db: &PgPool,
    owner_id: Uuid,
    id: Uuid,
    title: &CvTitle,
    slug: &CvSlug,
) -> Result<bool, CvChangeError> {
    let mut tx = db.begin().await?;
    let result = sqlx::query(
        "update cvs set title = $3, slug = $4, updated_at = now() where owner_id = $1 and id = $2",
    )
    .bind(owner_id)
    .bind(id)
    .bind(title.as_str())
    .bind(slug.as_str())
    .execute(&mut *tx)
    .await
    .map_err(slug_conflict)?;
    evictions::announce_cv(&mut *tx, owner_id).await?;
    tx.commit().await?;
    Ok(result.rows_affected() == 1)
}

/// Makes the CV the account's primary (served at the root of its host); `false`, with nothing
/// changed, when the owner has no such CV (or no longer has it). Run it in a transaction.
pub async fn make_primary(db: &mut PgConnection, owner_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    lock_owner(db, owner_id).await?;
    promote(db, owner_id, id).await
}

/// [`make_primary`], the account being locked already.
async fn promote(db: &mut PgConnection, owner_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    // Checked first: taking the flag from the current primary for a CV that is gone would leave
    // none.
    if find(&mut *db, owner_id, id).await?.is_none() {
        return Ok(false);
    }
    // Two statements, as the one-primary index is checked row by row.
    sqlx::query(
        "update cvs set is_primary = false, updated_at = now()
         where owner_id = $1 and is_primary and id <> $2",
    )
    .bind(owner_id)
    .bind(id)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "update cvs set is_primary = true, updated_at = now()
         where owner_id = $1 and id = $2 and not is_primary",
    )
    .bind(owner_id)
    .bind(id)
    .execute(&mut *db)
    .await?;
    evictions::announce_cv(db, owner_id).await?;
    Ok(true)
}

/// What [`delete`] did.
#[derive(Debug)]
pub enum Deletion {
    /// The CV as it was, with its versions and view counts gone with it.
    Deleted(Cv),
    /// The owner has no such CV (or no longer has it).
    NoSuchCv,
    /// The CV is the primary and others remain, but no other CV of the owner was named to take
    /// its place: nothing was deleted.
    SuccessorNeeded,
}

/// Deletes a CV with its versions and view counts. When it is the primary and the account has
/// others, `successor` becomes the primary in the same transaction, so the account is never left
/// without one. Whether it is the primary is read under the account's lock, not taken from an
/// earlier read: a concurrent "make primary" may have just made it so. Run it in a transaction.
pub async fn delete(
    db: &mut PgConnection,
    owner_id: Uuid,
    id: Uuid,
    successor: Option<Uuid>,
) -> sqlx::Result<Deletion> {
    lock_owner(db, owner_id).await?;
    let Some(cv) = find(&mut *db, owner_id, id).await? else {
        return Ok(Deletion::NoSuchCv);
    };
    if cv.is_primary {
        let others: i64 =
            sqlx::query_scalar("select count(*) from cvs where owner_id = $1 and id <> $2")
                .bind(owner_id)
                .bind(id)
                .fetch_one(&mut *db)
                .await?;
        let successor = successor.filter(|successor| *successor != id);
        let promoted = match successor {
            Some(successor) if others > 0 => promote(db, owner_id, successor).await?,
            _ => false,
        };
        if others > 0 && !promoted {
            return Ok(Deletion::SuccessorNeeded);
        }
    }
    sqlx::query("delete from cvs where owner_id = $1 and id = $2")
        .bind(owner_id)
        .bind(id)
        .execute(&mut *db)
        .await?;
    evictions::announce_cv(db, owner_id).await?;
    Ok(Deletion::Deleted(cv))
}
