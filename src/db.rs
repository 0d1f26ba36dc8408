//! The one PostgreSQL pool: from `DATABASE_URL`, or a project-local cluster in development and
//! tests.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{
    config::{DatabaseSettings, Profile},
    localdb::{self, Durability},
};

/// The database the project-local cluster keeps txtcv's data in.
const LOCAL_DATABASE: &str = "txtcv";

/// Where to connect: `DATABASE_URL`, or (outside production) a database on the project-local
/// cluster, which is created and started when needed.
pub async fn resolve_url(settings: &DatabaseSettings, profile: Profile) -> anyhow::Result<String> {
    if let Some(url) = &settings.url {
        return Ok(url.expose_secret().to_owned());
    }
    anyhow::ensure!(
        profile != Profile::Production,
        "DATABASE_URL is not set; the production profile needs it (e.g. postgres://user@host/txtcv)"
    );
    let cluster = local_cluster(settings).await?;
    create_database_if_missing(&cluster.url_for("postgres"), LOCAL_DATABASE).await?;
    Ok(cluster.url_for(LOCAL_DATABASE))
}

/// Starts (or finds running) the project-local cluster; it blocks on child processes, so it runs
/// off the async runtime.
pub async fn local_cluster(settings: &DatabaseSettings) -> anyhow::Result<localdb::LocalCluster> {
    let data_root = settings.local_data_dir.clone();
    let durability = if settings.local_durable {
        Durability::Durable
    } else {
        Durability::Throwaway
    };
    tokio::task::spawn_blocking(move || localdb::ensure_running(&data_root, durability))
        .await
        .context("the local PostgreSQL task panicked")?
}

pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = connect_once(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&admin)
            .await?;
    if !exists {
        // Identifiers cannot be bound; `name` is ours, never user input.
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
            .execute(&admin)
            .await;
        if let Err(error) = created {
            // Another process may have created it in the meantime; that is fine.
            let duplicate =
                error.as_database_error().and_then(|e| e.code()).as_deref() == Some("42P04");
            anyhow::ensure!(duplicate, "cannot create database {name}: {error}");
        }
    }
    admin.close().await;
    Ok(())
}

async fn connect_once(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(|e| unreachable(url, e))
}

pub async fn connect(url: &str, settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    // One plain connection first: a pool would only say it timed out, where this says why
    // ("connection refused", "password authentication failed", ...).
    let probe = PgConnection::connect(url)
        .await
        .map_err(|e| unreachable(url, e))?;
    probe.close().await.ok();
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect(url)
        .await
        .map_err(|e| unreachable(url, e))
}

/// "cannot reach PostgreSQL at db.example:5432/txtcv: connection refused", without the password.
fn unreachable(url: &str, error: sqlx::Error) -> anyhow::Error {
    let place = PgConnectOptions::from_str(url).map_or_else(
        |_| "the configured DATABASE_URL".to_owned(),
        |o| {
            format!(
                "{}:{}/{}",
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("")
            )
        },
    );
    anyhow::anyhow!("cannot reach PostgreSQL at {place}: {error}")
}

pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(db)
        .await
        .context("cannot apply the database migrations")
}
