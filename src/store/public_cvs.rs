//! What the public sees of a CV: its published state, found by the owner's username, and the
//! daily view counter.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::CvSlug;

/// The state of a published primary CV: everything the public page depends on except the
/// document itself, which is fetched only when the page is not already rendered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublishedCv {
    pub owner_id: Uuid,
    pub cv_id: Uuid,
    pub version_number: i32,
    pub theme: String,
    pub hidden_fields: Vec<String>,
    pub allow_indexing: bool,
    pub version_created_at: OffsetDateTime,
    pub cv_updated_at: OffsetDateTime,
}

impl PublishedCv {
    /// When what the public sees last changed: a new version, or a change of publish state,
    /// theme or hidden fields.
    pub fn last_modified(&self) -> OffsetDateTime {
        self.version_created_at.max(self.cv_updated_at)
    }
}

/// The published primary CV of the active account `username`, if it has at least one version.
/// Unknown, unpublished, suspended and empty all come back as `None`, alike.
pub async fn published(
    db: impl PgExecutor<'_>,
    username: &str,
) -> sqlx::Result<Option<PublishedCv>> {
    sqlx::query_as(
        "select c.owner_id, c.id as cv_id, v.number as version_number, c.theme, c.hidden_fields,
                c.allow_indexing, v.created_at as version_created_at, c.updated_at as cv_updated_at
         from users u
         join cvs c on c.owner_id = u.id and c.is_primary and c.published
         join lateral (
             select number, created_at from cv_versions
             where owner_id = c.owner_id and cv_id = c.id
             order by number desc limit 1
         ) v on true
         where u.username = $1 and u.status = 'active'",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

/// CV `cv_id` of `owner_id` as a private link shows it: published or not, never indexed, if it
/// has at least one version.
pub async fn shared(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
) -> sqlx::Result<Option<PublishedCv>> {
    sqlx::query_as(
        "select c.owner_id, c.id as cv_id, v.number as version_number, c.theme, c.hidden_fields,
                false as allow_indexing, v.created_at as version_created_at,
                c.updated_at as cv_updated_at
         from cvs c
         join lateral (
             select number, created_at from cv_versions
             where owner_id = c.owner_id and cv_id = c.id
             order by number desc limit 1
         ) v on true
         where c.owner_id = $1 and c.id = $2",
    )
    .bind(owner_id)
    .bind(cv_id)
    .fetch_optional(db)
    .await
}

/// The document of one version, as saved.
pub async fn version_content(
    db: impl PgExecutor<'_>,
    cv: &PublishedCv,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select content from cv_versions where owner_id = $1 and cv_id = $2 and number = $3",
    )
    .bind(cv.owner_id)
    .bind(cv.cv_id)
    .bind(cv.version_number)
    .fetch_optional(db)
    .await
}

/// What one CV's visitors took on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyCount {
    /// Views of its public page.
    pub views: i32,
    /// Downloads of its PDF at its public address.
    pub pdf_downloads: i32,
}

/// Adds to today's (UTC) counts, as `(owner_id, cv_id, count)`, in one statement. Nothing about
/// the visitors is stored.
pub async fn count_views(
    db: impl PgExecutor<'_>,
    counts: &[(Uuid, Uuid, DailyCount)],
) -> sqlx::Result<()> {
    let owners: Vec<Uuid> = counts.iter().map(|c| c.0).collect();
    let cvs: Vec<Uuid> = counts.iter().map(|c| c.1).collect();
    let views: Vec<i32> = counts.iter().map(|c| c.2.views).collect();
    let pdf_downloads: Vec<i32> = counts.iter().map(|c| c.2.pdf_downloads).collect();
    sqlx::query(
        "insert into cv_daily_views (owner_id, cv_id, day, views, pdf_downloads)
         select owner_id, cv_id, (now() at time zone 'utc')::date, views, pdf_downloads
         from unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[])
              as t (owner_id, cv_id, views, pdf_downloads)
         on conflict (owner_id, cv_id, day)
         do update set views = cv_daily_views.views + excluded.views,
                       pdf_downloads = cv_daily_views.pdf_downloads + excluded.pdf_downloads",
    )
    .bind(owners)
    .bind(cvs)
    .bind(views)
    .bind(pdf_downloads)
    .execute(db)
    .await?;
    Ok(())
}

/// Adds visits from other sites today (UTC), as `(owner_id, cv_id, host, views)`, in one
/// statement.
pub async fn count_referrers(
    db: impl PgExecutor<'_>,
    visits: &[(Uuid, Uuid, String, i32)],
) -> sqlx::Result<()> {
    let owners: Vec<Uuid> = visits.iter().map(|v| v.0).collect();
    let cvs: Vec<Uuid> = visits.iter().map(|v| v.1).collect();
    let hosts: Vec<&str> = visits.iter().map(|v| v.2.as_str()).collect();
    let counts: Vec<i32> = visits.iter().map(|v| v.3).collect();
    sqlx::query(
        "insert into cv_daily_referrers (owner_id, cv_id, day, host, views)
         select owner_id, cv_id, (now() at time zone 'utc')::date, host, views
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[]) as t (owner_id, cv_id, host, views)
         on conflict (owner_id, cv_id, day, host)
         do update set views = cv_daily_referrers.views + excluded.views",
    )
    .bind(owners)
    .bind(cvs)
    .bind(hosts)
    .bind(counts)
    .execute(db)
    .await?;
    Ok(())
}

/// The sites that sent the most visitors to a CV in the last `days` days, busiest first.
pub async fn top_referrers(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    cv_id: Uuid,
    days: i32,
    limit: i64,
) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "select host, sum(views)::bigint as views from cv_daily_referrers
         where owner_id = $1 and cv_id = $2
           and day > (now() at time zone 'utc')::date - $3
         group by host order by views desc, host limit $4",
    )
    .bind(owner_id)
    .bind(cv_id)
    .bind(days)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Like [`published`], for one of the account's other CVs, by its slug. The primary is served
/// at the host's root only, so it does not answer to its slug.
pub async fn published_by_slug(
    db: impl PgExecutor<'_>,
    username: &str,
    slug: &CvSlug,
) -> sqlx::Result<Option<PublishedCv>> {
    sqlx::query_as(
        "select c.owner_id, c.id as cv_id, v.number as version_number, c.theme, c.hidden_fields,
                c.allow_indexing, v.created_at as version_created_at, c.updated_at as cv_updated_at
         from users u
         join cvs c on c.owner_id = u.id and c.slug = $2 and not c.is_primary and c.published
         join lateral (
             select number, created_at from cv_versions
             where owner_id = c.owner_id and cv_id = c.id
             order by number desc limit 1
         ) v on true
         where u.username = $1 and u.status = 'active'",
    )
    .bind(username)
    .bind(slug.as_str())
    .fetch_optional(db)
    .await
}
