//! The `txtcv_evict` channel: every change to a session, a user, a CV or a cover letter is
//! announced on it at commit, so each web process can drop what it keeps in memory about it.
//! `users` announces itself with a trigger (migration 8); the rest are announced by the store
//! functions that change them, with [`announce`] in the same transaction (migration
//! 20261204000010 says why not by triggers).

use sqlx::{PgExecutor, PgPool, postgres::PgListener};
use uuid::Uuid;

const CHANNEL: &str = "txtcv_evict";

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    Session(String),
    User(Uuid),
    /// The public CV of this username.
    Cv(String),
    /// A cover letter, by owner and id.
    Letter(Uuid, Uuid),
}

impl Eviction {
    fn payload(&self) -> String {
        match self {
            Self::Session(id) => format!("session:{id}"),
            Self::User(id) => format!("user:{id}"),
            Self::Cv(username) => format!("cv:{username}"),
            Self::Letter(owner_id, id) => format!("letter:{owner_id}:{id}"),
        }
    }

    fn parse(payload: &str) -> Option<Self> {
        let (kind, key) = payload.split_once(':')?;
        match kind {
            "session" => Some(Self::Session(key.to_owned())),
            "user" => key.parse().ok().map(Self::User),
            "cv" => Some(Self::Cv(key.to_owned())),
            "letter" => {
                let (owner, id) = key.split_once(':')?;
                Some(Self::Letter(owner.parse().ok()?, id.parse().ok()?))
            }
            _ => None,
        }
    }
}

/// Tells every web process of `evictions` when the transaction `db` is in commits. The statement
/// reads no table, so on Citus it runs on the coordinator, where the processes listen, whichever
/// workers the transaction wrote to.
pub async fn announce(db: impl PgExecutor<'_>, evictions: &[Eviction]) -> sqlx::Result<()> {
    if evictions.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = evictions.iter().map(Eviction::payload).collect();
    sqlx::query("select pg_notify($1, payload) from unnest($2::text[]) as payload")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(db)
        .await?;
    Ok(())
}

/// [`announce`]s that the public CV of `owner_id` changed: it is kept by username. On Citus
/// `users` is a reference table, and a statement that reads nothing else runs on the
/// coordinator's own copy, so this notifies there too.
pub async fn announce_cv(db: impl PgExecutor<'_>, owner_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("select pg_notify($1, 'cv:' || username) from users where id = $2")
        .bind(CHANNEL)
        .bind(owner_id)
        .execute(db)
        .await?;
    Ok(())
}

/// What the listener heard.
pub enum Heard {
    Evict(Eviction),
    /// The connection was lost, so notifications may have been missed; the next call reconnects.
    Missed,
}

pub struct Evictions(PgListener);

impl Evictions {
    pub async fn listen(db: &PgPool) -> sqlx::Result<Self> {
        let mut listener = PgListener::connect_with(db).await?;
        listener.listen(CHANNEL).await?;
        Ok(Self(listener))
    }

    pub async fn next(&mut self) -> sqlx::Result<Heard> {
        loop {
            match self.0.try_recv().await? {
                None => return Ok(Heard::Missed),
                Some(notification) => {
                    if let Some(eviction) = Eviction::parse(notification.payload()) {
                        return Ok(Heard::Evict(eviction));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_what_changed() {
        let id = Uuid::new_v4();
        for eviction in [
            Eviction::Session("abc:d".into()),
            Eviction::User(id),
            Eviction::Cv("ada".into()),
            Eviction::Letter(id, Uuid::new_v4()),
        ] {
            assert_eq!(Eviction::parse(&eviction.payload()), Some(eviction));
        }
        assert_eq!(
            Eviction::parse(&format!("user:{id}")),
            Some(Eviction::User(id))
        );
        assert_eq!(
            Eviction::parse("session:abc:d"),
            Some(Eviction::Session("abc:d".into()))
        );
        assert_eq!(Eviction::parse("cv:ada"), Some(Eviction::Cv("ada".into())));
        assert_eq!(
            Eviction::parse(&format!("letter:{id}:{id}")),
            Some(Eviction::Letter(id, id))
        );
        assert_eq!(Eviction::parse("user:not-a-uuid"), None);
        assert_eq!(Eviction::parse("nonsense"), None);
    }
}
