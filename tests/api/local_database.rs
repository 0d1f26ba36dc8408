//! The project-local PostgreSQL: the cluster `make run` keeps a newcomer's CVs in survives a
//! power cut; only the test suite's own cluster trades that for speed.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use txtcv::{
    config::{Profile, Settings},
    db,
};
use uuid::Uuid;

/// `SHOW fsync`, `SHOW synchronous_commit` and `SHOW full_page_writes` on the cluster that
/// `profile` starts in `data_root`.
async fn durability_of(profile: Profile, data_root: &Path) -> [String; 3] {
    let mut settings = Settings::load(&Settings::config_dir(), profile).expect("settings load");
    settings.database.local_data_dir = data_root.to_owned();
    let cluster = db::local_cluster(&settings.database)
        .await
        .expect("the local cluster starts");
    let mut connection = PgConnection::connect(&cluster.url_for("postgres"))
        .await
        .expect("the cluster accepts connections");
    let mut shown = [const { String::new() }; 3];
    for (value, name) in shown
        .iter_mut()
        .zip(["fsync", "synchronous_commit", "full_page_writes"])
    {
        *value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("show {name}")))
            .fetch_one(&mut connection)
            .await
            .expect("the setting is shown");
    }
    shown
}

#[tokio::test]
async fn a_cluster_left_without_durability_gets_it_back_when_development_starts_it() {
    let scratch = ScratchCluster::new();

    let made_by_the_tests = durability_of(Profile::Test, &scratch.data_root).await;
    assert_eq!(made_by_the_tests, ["off", "off", "off"]);

    let started_by_make_run = durability_of(Profile::Development, &scratch.data_root).await;
    assert_eq!(started_by_make_run, ["on", "on", "on"]);
}

/// A data folder of this test's own, whose cluster is stopped and deleted at the end.
struct ScratchCluster {
    data_root: PathBuf,
}

impl ScratchCluster {
    fn new() -> Self {
        let data_root = std::env::temp_dir().join(format!("txtcv-{}", Uuid::new_v4().simple()));
        Self { data_root }
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        // The first line of postmaster.pid is the server's pid, the fifth its socket directory.
        let pid_file = self.data_root.join("postgres/postmaster.pid");
        if let Ok(pid_file) = std::fs::read_to_string(pid_file) {
            let lines: Vec<&str> = pid_file.lines().collect();
            let signal = |name: &str| {
                Command::new("kill")
                    .args([name, lines[0]])
                    .output()
                    .is_ok_and(|output| output.status.success())
            };
            signal("-INT"); // a fast shutdown
            let deadline = Instant::now() + Duration::from_secs(10);
            while signal("-0") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::fs::remove_dir_all(lines[4]).ok();
        }
        std::fs::remove_dir_all(&self.data_root).ok();
    }
}

/// A `DATABASE_URL` without a user name (`postgres:///txtcv?host=/var/run/postgresql`) connects
/// as the operating-system user, as `psql` does, not as a made-up one.
#[tokio::test]
async fn a_database_url_without_a_user_connects_as_the_operating_system_user() {
    let settings = crate::helpers::test_settings();
    let cluster = db::local_cluster(&settings.database)
        .await
        .expect("the local cluster starts");
    let as_superuser = cluster.url_for("postgres");
    let os_user = whoami::username().expect("the OS user is known");
    let mut admin = PgConnection::connect(&as_superuser).await.unwrap();
    let role_exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(&os_user)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if !role_exists {
        // Several tests may get here at once; a role created meanwhile is fine.
        let create = format!("create role \"{os_user}\" login");
        let _ = sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await;
    }

    let without_user = as_superuser.replacen("postgres@", "", 1);
    assert!(
        without_user.starts_with("postgres://localhost:"),
        "{without_user}"
    );
    let pool = db::connect(&without_user, &settings.database)
        .await
        .expect("connects as the OS user");
    let current: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(current, os_user);
}
