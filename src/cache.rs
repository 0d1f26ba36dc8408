//! What a web process keeps in memory so that a hot request costs no query: sessions, signed-in
//! users, the published state of public CVs and unfinished cover letters (for status polls). Each
//! entry is dropped as soon as PostgreSQL announces a change to its row (`store::evictions`, sent
//! at commit by the store function that made the change, or by the `users` trigger), and expires
//! after [`FRESH_FOR`] (plus up to [`SPREAD`]) anyway, which bounds how stale an entry can be
//! should a notification be missed, or a change be made by hand. When the listening connection
//! drops, everything is dropped, since notifications may have been lost meanwhile. A value read
//! from the database is kept only if nothing was evicted while it was being read, so a read that
//! raced a change cannot put the old state back after its eviction.

use std::{
    hash::{BuildHasher, Hash, RandomState},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{Equivalent, Expiry, sync::Cache};
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use uuid::Uuid;

use crate::store::{
    cover_letters::CoverLetter,
    evictions::{Eviction, Evictions, Heard},
    public_cvs::PublishedCv,
    users::User,
};

/// The shortest time an entry is trusted without hearing from PostgreSQL. A backstop only (the
/// notifications are what keeps entries current), and every expiry costs a query when the entry
/// is next read: at 10,000 signed-in pollers, a 10 s backstop was 1,300 to 2,000 queries a
/// second, and the slowest polls (`benches/RESULTS.md`).
pub const FRESH_FOR: Duration = Duration::from_secs(60);
/// Each key expires somewhat later than [`FRESH_FOR`], by an amount of its own, so entries read
/// together (a warm-up, a burst of logins) do not all expire, and go back to the database, at
/// the same moment.
pub const SPREAD: Duration = Duration::from_secs(30);

/// An expiry `after` creation plus a share of `spread` that depends on the key (a hash, not a
/// random draw: nothing to seed, and a key keeps its rhythm), so that entries made together do
/// not all expire together.
pub struct SpreadExpiry {
    after: Duration,
    spread: Duration,
    hasher: RandomState,
}

impl SpreadExpiry {
    pub fn new(after: Duration, spread: Duration) -> Self {
        Self {
            after,
            spread,
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash, V> Expiry<K, V> for SpreadExpiry {
    fn expire_after_create(&self, key: &K, _value: &V, _created_at: Instant) -> Option<Duration> {
        let spread_ms = u64::try_from(self.spread.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Some(self.after + Duration::from_millis(self.hasher.hash_one(key) % spread_ms))
    }
}

/// How long after an eviction the same key is evicted once more. On Citus a transaction that
/// wrote to several nodes commits on the coordinator, which sends its notifications, a moment
/// before the workers commit their part (two-phase commit): a read in that moment still sees the
/// old row, begins after the eviction, and would be kept. The second eviction drops it. On plain
/// PostgreSQL it costs one more read of a hot key at most.
const AGAIN_AFTER: Duration = Duration::from_millis(500);

/// Entries per cache: a session record or a user is well under a kilobyte.
const MAX_ENTRIES: u64 = 100_000;

pub type SessionCache = Fresh<Id, Record>;
pub type UserCache = Fresh<Uuid, User>;
/// By username; `None` (unknown, unpublished, suspended or empty) is remembered too, so a flood
/// of requests for a missing CV costs no queries either.
pub type PublishedCache = Fresh<String, Option<PublishedCv>>;
/// Letters that are not final yet, by owner and id: what the status poll shows while it polls.
pub type LetterCache = Fresh<(Uuid, Uuid), CoverLetter>;

/// One cache, and the count of evictions heard by all of them.
#[derive(Clone)]
pub struct Fresh<K, V> {
    entries: Cache<K, V>,
    evictions: Arc<AtomicU64>,
}

/// The number of evictions heard when a read from the database began.
#[derive(Clone, Copy)]
pub struct ReadStart(u64);

impl<K, V> Fresh<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(evictions: Arc<AtomicU64>) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .expire_after(SpreadExpiry::new(FRESH_FOR, SPREAD))
                .build(),
            evictions,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Equivalent<K> + Hash + ?Sized,
    {
        self.entries.get(key)
    }

    /// Call before reading what [`Self::keep`] will keep.
    pub fn read_start(&self) -> ReadStart {
        ReadStart(self.evictions.load(Ordering::Acquire))
    }

    /// Keeps `value`, read from the database since `start`, unless something was evicted since.
    pub fn keep(&self, start: ReadStart, key: K, value: V) {
        if self.evictions.load(Ordering::Acquire) == start.0 {
            self.entries.insert(key, value);
        }
    }

    /// Keeps `value` as this process just wrote it.
    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, value);
    }

    pub fn invalidate(&self, key: &K) {
        self.evictions.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(key);
    }

    fn invalidate_all(&self) {
        self.evictions.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }
}

#[derive(Clone)]
pub struct Caches {
    pub sessions: SessionCache,
    pub users: UserCache,
    pub published: PublishedCache,
    pub letters: LetterCache,
}

impl Default for Caches {
    fn default() -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        Self {
            sessions: Fresh::new(evictions.clone()),
            users: Fresh::new(evictions.clone()),
            published: Fresh::new(evictions.clone()),
            letters: Fresh::new(evictions),
        }
    }
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
            Eviction::Letter(owner_id, id) => self.letters.invalidate(&(owner_id, id)),
        }
    }

    fn clear(&self) {
        self.sessions.invalidate_all();
        self.users.invalidate_all();
        self.published.invalidate_all();
        self.letters.invalidate_all();
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
                Heard::Evict(eviction) => {
                    self.evict(eviction.clone());
                    let caches = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(AGAIN_AFTER).await;
                        caches.evict(eviction);
                    });
                }
                Heard::Missed => self.clear(),
            }
        }
    }
}
