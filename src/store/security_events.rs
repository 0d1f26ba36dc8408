//! The account's security log: appended as things happen, read newest first.

use std::net::IpAddr;

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{EventKind, device};

/// Where an event came from: the client's address and its browser in a few words.
#[derive(Debug, Clone)]
pub struct Origin {
    pub addr: IpAddr,
    pub device: Option<String>,
}

impl Origin {
    pub fn new(addr: IpAddr, user_agent: Option<&str>) -> Self {
        Self {
            addr,
            device: user_agent.and_then(device::describe),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecurityEvent {
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    pub detail: String,
    pub client_addr: Option<String>,
    pub device: Option<String>,
    pub created_at: OffsetDateTime,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    kind: EventKind,
    detail: &str,
    origin: &Origin,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into security_events (owner_id, id, kind, detail, client_addr, device)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(kind.as_str())
    .bind(detail)
    .bind(origin.addr.to_string())
    .bind(origin.device.as_deref())
    .execute(db)
    .await?;
    Ok(())
}

/// The account's latest `limit` events, newest first.
pub async fn latest(
    db: impl PgExecutor<'_>,
    owner_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<SecurityEvent>> {
    sqlx::query_as(
        "select kind, detail, client_addr, device, created_at from security_events
         where owner_id = $1 order by created_at desc, id limit $2",
    )
    .bind(owner_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Forgets events older than `before`.
pub async fn delete_older_than(
    db: impl PgExecutor<'_>,
    before: OffsetDateTime,
) -> sqlx::Result<u64> {
    let done = sqlx::query("delete from security_events where created_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
