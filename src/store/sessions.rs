//! tower-sessions' store on our own pool (the published sqlx store is on another sqlx version),
//! optionally in front of a cache of records, so a hot session costs no query.

use async_trait::async_trait;
use sqlx::{PgExecutor, PgPool};
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};
use uuid::Uuid;

use crate::cache::SessionCache;

/// The session key under which axum-login keeps the signed-in user; set on its layer.
pub const AUTH_DATA_KEY: &str = "auth";

#[derive(Clone)]
pub struct PgSessionStore {
    db: PgPool,
    cache: Option<SessionCache>,
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
        Self { db, cache: None }
    }

    /// Loads go to `cache` first; writes and deletes here go through to it at once. Changes made
    /// elsewhere (another process, `delete_for_user`) reach it through `crate::cache`.
    pub fn with_cache(db: PgPool, cache: SessionCache) -> Self {
        Self {
            db,
            cache: Some(cache),
        }
    }

    fn remember(&self, record: &Record) {
        if let Some(cache) = &self.cache {
            cache.insert(record.id, record.clone());
        }
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
        let updated = sqlx::query(
            "update sessions set user_id = $2, data = $3, expires_at = $4
             where id = $1 and expires_at > now()",
        )
        .bind(record.id.to_string())
        .bind(user_id_of(record))
        .bind(encode(record)?)
        .bind(record.expiry_date)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        if let (Some(cache), Some(start), 1) = (&self.cache, start, updated.rows_affected()) {
            cache.keep(start, record.id, record.clone());
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        if let Some(record) = self.cache.as_ref().and_then(|cache| cache.get(id))
            && record.expiry_date > time::OffsetDateTime::now_utc()
        {
            return Ok(Some(record));
        }
        let start = self.cache.as_ref().map(SessionCache::read_start);
        let row: Option<(serde_json::Value, time::OffsetDateTime)> = sqlx::query_as(
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
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("delete from sessions where id = $1")
            .bind(id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        // After the delete: a load that read the row before it cannot keep it past this point.
        if let Some(cache) = &self.cache {
            cache.invalidate(id);
        }
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        sqlx::query("delete from sessions where expires_at <= now()")
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of `user_id` except `keep` (the one making the change, if any).
pub async fn delete_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: Option<Id>,
) -> sqlx::Result<u64> {
    let done = sqlx::query("delete from sessions where user_id = $1 and id is distinct from $2")
        .bind(user_id)
        .bind(keep.map(|id| id.to_string()))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
