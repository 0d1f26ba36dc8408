//! Citus: when the database is on a Citus coordinator (the `citus` extension is installed in it),
//! the schema the migrations made is distributed once, after them: the tenant tables by
//! `owner_id`, colocated; what is looked up across accounts as reference tables; the rest left on
//! the coordinator. `citus.sql` says what goes where and why; tests/citus/README.md says what that
//! changes for the application. On plain PostgreSQL this does nothing.

use anyhow::Context;
use sqlx::PgPool;

const DISTRIBUTE: &str = include_str!("citus.sql");
/// Taken while distributing, so processes starting together on one database take turns.
const LOCK_KEY: i64 = 0x7478_7463_7663_6974; // "txtcvcit"

/// Whether `db` has the citus extension.
pub async fn is_citus(db: &PgPool) -> anyhow::Result<bool> {
    let citus: bool =
        sqlx::query_scalar("select exists (select from pg_extension where extname = 'citus')")
            .fetch_one(db)
            .await?;
    Ok(citus)
}

/// Distributes the tables, unless this is plain PostgreSQL or it was done before.
pub async fn distribute(db: &PgPool) -> anyhow::Result<()> {
    if !is_citus(db).await? {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let done: bool = sqlx::query_scalar(
        "select exists (select from pg_dist_partition where logicalrelid = 'users'::regclass)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !done {
        sqlx::raw_sql(DISTRIBUTE)
            .execute(&mut *tx)
            .await
            .context("cannot distribute the tables on Citus")?;
    }
    tx.commit().await?;
    Ok(())
}
