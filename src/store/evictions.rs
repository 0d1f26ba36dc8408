//! The `txtcv_evict` channel: triggers (migration 8) announce every change to a session, a user
//! a CV or a cover letter at commit, so each web process can drop what it keeps in memory about it.

use sqlx::{PgPool, postgres::PgListener};
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
