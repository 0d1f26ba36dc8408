//! tower-sessions' store on our own pool (the published sqlx store is on another sqlx version),
//! optionally in front of a cache of records, so a hot session costs no query.

use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};
use uuid::Uuid;

use crate::{
    cache::SessionCache,
    store::evictions::{self, Eviction},
};

/// The session key under which axum-login keeps the signed-in user; set on its layer.
pub const AUTH_DATA_KEY: &str = "auth";
/// The session key of where a sign-in came from (a [`SignedInFrom`]), shown on the list of
/// sessions.
pub const SIGNED_IN_FROM_KEY: &str = "signed_in_from";

/// How often, at most, one process writes down that a session was used again: "last seen" is
/// that precise, and a busy session costs one write per interval rather than one per request.
pub const SEEN_EVERY: Duration = Duration::from_secs(5 * 60);

#[derive(Clone)]
pub struct PgSessionStore {
    db: PgPool,
    cache: Option<SessionCache>,
    /// Sessions whose `last_seen_at` this process wrote within [`SEEN_EVERY`].
    seen: Cache<Id, ()>,
}

/// Where a session was signed in from, kept in the session itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SignedInFrom {
    pub addr: Option<String>,
    pub device: Option<String>,
}

impl std::fmt::Debug for PgSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSessionStore")
            .field("cached", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl PgSessionStore {
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            cache: None,
            seen: Self::seen_cache(),
        }
    }

    fn seen_cache() -> Cache<Id, ()> {
        Cache::builder()
            .max_capacity(100_000)
            // Spread, so that sessions first seen together (a process's first minute) are not
            // all written again at the same moment.
            .expire_after(crate::cache::SpreadExpiry::new(SEEN_EVERY, SEEN_EVERY / 2))
            .build()
    }

    /// Loads go to `cache` first; writes and deletes here go through to it at once. Changes made
    /// elsewhere (another process, `delete_for_user`) reach it through `crate::cache`.
    pub fn with_cache(db: PgPool, cache: SessionCache) -> Self {
        Self {
            db,
            cache: Some(cache),
            seen: Self::seen_cache(),
        }
    }

    fn remember(&self, record: &Record) {
        if let Some(cache) = &self.cache {
            cache.insert(record.id, record.clone());
        }
    }

    /// Writes down that the session was used, unless this process did within [`SEEN_EVERY`].
    /// It changes nothing a process keeps, so nobody is told.
    async fn seen(&self, id: &Id) -> Result<()> {
        if self.seen.contains_key(id) {
            return Ok(());
        }
        self.seen.insert(*id, ());
        sqlx::query("update sessions set last_seen_at = now() where id = $1")
            .bind(id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn backend(error: sqlx::Error) -> Error {
    Error::Backend(error.to_string())
}

/// The signed-in user of a record, copied into its own column so an account's sessions can be
/// found without reading every record.
fn user_id_of(record: &Record) -> Option<Uuid> {
    record
        .data
        .get(AUTH_DATA_KEY)?
        .get("user_id")?
        .as_str()?
        .parse()
        .ok()
}

fn encode(record: &Record) -> Result<serde_json::Value> {
    serde_json::to_value(&record.data).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let inserted = sqlx::query(
                "insert into sessions (id, user_id, data, expires_at) values ($1, $2, $3, $4)
                 on conflict (id) do nothing",
            )
            .bind(record.id.to_string())
            .bind(user_id_of(record))
            .bind(encode(record)?)
            .bind(record.expiry_date)
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                self.remember(record);
                self.seen.insert(record.id, ());
                return Ok(());
            }
            // A 128-bit random id collided: vanishingly rare, but never hand out someone's session.
            record.id = Id::default();
        }
    }

    /// Updates the session only if it still exists. A request that loaded a session before it
    /// was ended (a logout, a suspension, a password change elsewhere) must not bring it back by
    /// saving; its changes are lost with the session, as they should be. New sessions go through
    /// `create`, under a fresh id.
    async fn save(&self, record: &Record) -> Result<()> {
        let start = self.cache.as_ref().map(SessionCache::read_start);
        let mut tx = self.db.begin().await.map_err(backend)?;
        let updated = sqlx::query(
            "update sessions set user_id = $2, data = $3, expires_at = $4, last_seen_at = now()
             where id = $1 and expires_at > now()",
        )
        .bind(record.id.to_string())
        .bind(user_id_of(record))
        .bind(encode(record)?)
        .bind(record.expiry_date)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if updated.rows_affected() == 1 {
            evictions::announce(&mut *tx, &[Eviction::Session(record.id.to_string())])
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        if let (Some(cache), Some(start), 1) = (&self.cache, start, updated.rows_affected()) {
            cache.keep(start, record.id, record.clone());
        }
        self.seen.insert(record.id, ());
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        if let Some(record) = self.cache.as_ref().and_then(|cache| cache.get(id))
            && record.expiry_date > OffsetDateTime::now_utc()
        {
            self.seen(id).await?;
            return Ok(Some(record));
        }
        let start = self.cache.as_ref().map(SessionCache::read_start);
        let row: Option<(serde_json::Value, OffsetDateTime)> = sqlx::query_as(
            "select data, expires_at from sessions where id = $1 and expires_at > now()",
        )
        .bind(id.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        let record = row
            .map(|(data, expiry_date)| {
                let data =
                    serde_json::from_value(data).map_err(|e| Error::Decode(e.to_string()))?;
                Ok(Record {
                    id: *id,
                    data,
                    expiry_date,
                })
            })
            .transpose()?;
        if let (Some(cache), Some(start), Some(record)) = (&self.cache, start, &record) {
            cache.keep(start, record.id, record.clone());
        }
        if record.is_some() {
            self.seen(id).await?;
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        let deleted = sqlx::query("delete from sessions where id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if deleted.rows_affected() == 1 {
            evictions::announce(&mut *tx, &[Eviction::Session(id.to_string())])
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        // After the delete: a load that read the row before it cannot keep it past this point.
        if let Some(cache) = &self.cache {
            cache.invalidate(id);
        }
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    /// Announces nothing: a process that keeps an expired record refuses it by its expiry date.
    async fn delete_expired(&self) -> Result<()> {
        sqlx::query("delete from sessions where expires_at <= now()")
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of `user_id` except `keep` (the one making the change, if any), and
/// announces each. Run it in a transaction.
pub async fn delete_for_user(
    db: &mut PgConnection,
    user_id: Uuid,
    keep: Option<Id>,
) -> sqlx::Result<u64> {
    let ended: Vec<String> = sqlx::query_scalar(
        "delete from sessions where user_id = $1 and id is distinct from $2 returning id",
    )
    .bind(user_id)
    .bind(keep.map(|id| id.to_string()))
    .fetch_all(&mut *db)
    .await?;
    let announced: Vec<Eviction> = ended.iter().cloned().map(Eviction::Session).collect();
    evictions::announce(db, &announced).await?;
    Ok(ended.len() as u64)
}

/// A signed-in session as its owner sees it in the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedSession {
    /// Names the session without being its id: the id is the cookie's secret, and a page must
    /// never show it.
    pub handle: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    #[sqlx(json(nullable))]
    pub signed_in_from: Option<SignedInFrom>,
}

/// The handle of the session `id`, as [`ListedSession::handle`] names it.
pub fn handle_of(id: &Id) -> String {
    let digest = Sha256::digest(id.to_string().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `text` could be a handle at all (hex SHA-256), so anything else is turned away
/// before it reaches a query.
pub fn is_handle(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The account's live signed-in sessions, the most recently used first.
pub async fn list_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> sqlx::Result<Vec<ListedSession>> {
    sqlx::query_as(
        "select encode(sha256(convert_to(id, 'UTF8')), 'hex') as handle, created_at,
                last_seen_at, data -> $2 as signed_in_from
         from sessions
         where user_id = $1 and expires_at > now()
         order by last_seen_at desc, created_at desc",
    )
    .bind(user_id)
    .bind(SIGNED_IN_FROM_KEY)
    .fetch_all(db)
    .await
}

/// Ends the account's session named by `handle`, returning its id; `None` if it has none such
/// (ended already, or another account's).
pub async fn delete_by_handle(
    db: &PgPool,
    user_id: Uuid,
    handle: &str,
) -> sqlx::Result<Option<Id>> {
    // Found first, then deleted by id: Citus refuses a DELETE whose condition calls a STABLE
    // function (convert_to) on a column.
    let found: Option<String> = sqlx::query_scalar(
        "select id from sessions
         where user_id = $1 and encode(sha256(convert_to(id, 'UTF8')), 'hex') = $2",
    )
    .bind(user_id)
    .bind(handle)
    .fetch_optional(db)
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let mut tx = db.begin().await?;
    let id: Option<String> =
        sqlx::query_scalar("delete from sessions where user_id = $1 and id = $2 returning id")
            .bind(user_id)
            .bind(found)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(id) = &id {
        evictions::announce(&mut *tx, &[Eviction::Session(id.clone())]).await?;
    }
    tx.commit().await?;
    Ok(id.and_then(|id| id.parse().ok()))
}
