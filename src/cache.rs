//! What a web process keeps in memory so that a hot request costs no query: sessions, signed-in
//! users and the published state of public CVs. Each entry is dropped as soon as PostgreSQL
//! announces a change to its row (`store::evictions`, sent by triggers at commit, whichever
//! process or script made the change), and expires after [`FRESH_FOR`] anyway, which bounds how
//! stale an entry can be should a notification be missed. When the listening connection drops,
//! everything is dropped, since notifications may have been lost meanwhile.

use std::time::Duration;

use moka::sync::Cache;
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use uuid::Uuid;

use crate::store::{
    evictions::{Eviction, Evictions, Heard},
    public_cvs::PublishedCv,
    users::User,
};

/// The longest an entry is trusted without hearing from PostgreSQL.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// Entries per cache: a session record or a user is well under a kilobyte.
const MAX_ENTRIES: u64 = 100_000;

pub type SessionCache = Cache<Id, Record>;
pub type UserCache = Cache<Uuid, User>;
/// By username; `None` (unknown, unpublished, suspended or empty) is remembered too, so a flood
/// of requests for a missing CV costs no queries either.
pub type PublishedCache = Cache<String, Option<PublishedCv>>;

#[derive(Clone)]
pub struct Caches {
    pub sessions: SessionCache,
    pub users: UserCache,
    pub published: PublishedCache,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            sessions: new_cache(),
            users: new_cache(),
            published: new_cache(),
        }
    }
}

fn new_cache<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(MAX_ENTRIES)
        .time_to_live(FRESH_FOR)
        .build()
}

impl Caches {
    fn evict(&self, eviction: Eviction) {
        match eviction {
            Eviction::Session(id) => {
                if let Ok(id) = id.parse::<Id>() {
                    self.sessions.invalidate(&id);
                }
            }
            Eviction::User(id) => self.users.invalidate(&id),
            Eviction::Cv(username) => self.published.invalidate(&username),
        }
    }

    fn clear(&self) {
        self.sessions.invalidate_all();
        self.users.invalidate_all();
        self.published.invalidate_all();
    }

    /// Listens for changes for as long as the process runs, reconnecting when the connection
    /// drops.
    pub fn keep_fresh(&self, db: PgPool) {
        let caches = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = caches.listen(&db).await {
                    tracing::warn!(%error, "cache evictions interrupted; retrying");
                }
                caches.clear();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn listen(&self, db: &PgPool) -> sqlx::Result<()> {
        let mut evictions = Evictions::listen(db).await?;
        // Whatever was cached before we listened may have changed unheard.
        self.clear();
        loop {
            match evictions.next().await? {
                Heard::Evict(eviction) => self.evict(eviction),
                Heard::Missed => self.clear(),
            }
        }
    }
}
