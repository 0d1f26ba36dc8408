//! A project-local PostgreSQL cluster for development and tests.
//!
//! When no `DATABASE_URL` is configured, txtcv runs its own PostgreSQL cluster from the system's
//! server binaries (installing Debian's `postgresql` package if needed), so a newcomer on a fresh
//! machine needs nothing else. The cluster lives in `<data_root>/postgres` and logs to
//! `<data_root>/postgres.log`.
//!
//! Isolation and security:
//! - The server listens on no TCP address (`listen_addresses = ''`), only on a Unix socket in a
//!   private directory `/tmp/txtcv-pg-<hash of the data directory>` (mode 0700). The directory is
//!   short because socket paths are limited to about 107 bytes, and its own, so the cluster can use
//!   port 5432 without colliding with a system server.
//! - Because only the owner of that directory (and root) can reach the socket, `trust`
//!   authentication is safe enough and saves managing passwords.
//! - Durability is the caller's choice ([`Durability`]). The cluster `make run` uses keeps what a
//!   newcomer writes through a power cut (PostgreSQL's defaults: `fsync`, `synchronous_commit`
//!   and `full_page_writes` on). Only the test suite's own cluster, in a data folder of its own,
//!   trades them for speed. Our settings are rewritten at every start, so a cluster created with
//!   other ones (as clusters were before) is brought in line, and restarted if it was running.
//!
//! Running as root: `initdb` and `postgres` refuse to run as root, so they run as the `postgres`
//! OS user (created by Debian's package) through `runuser`. If that user cannot reach the project
//! (for example because it lives under `/root`, mode 0700), the cluster is kept in
//! `/var/tmp/txtcv-pg-<hash of the project's data root>` instead (data in `postgres`, log in
//! `postgres.log` there).
//!
//! The server keeps running after the process exits, so the next `cargo run` or `cargo test`
//! starts quickly. Stop it with `pg_ctl stop -D <data_root>/postgres` (prefixed with
//! `runuser -u postgres --` when running as root).

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tracing::info;

const PORT: u16 = 5432;
const SERVER_USER: &str = "postgres";
const START_TIMEOUT_SECS: &str = "60";
const READY_ATTEMPTS: u32 = 20;
const READY_POLL_INTERVAL: Duration = Duration::from_millis(250);
const LOG_TAIL_LINES: usize = 20;
/// First line of the settings appended after `initdb`; its presence marks a finished setup, and
/// everything after it is ours to rewrite.
const SETTINGS_MARKER: &str =
    "# txtcv: development/test-only settings; keep this line (see src/localdb.rs)";
const NO_BINARIES: &str = "PostgreSQL server binaries not found; install them with \
     `sudo apt-get install postgresql` or set DATABASE_URL";

/// What a crash or power cut may cost the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// PostgreSQL's defaults: a committed transaction survives a power cut.
    Durable,
    /// `fsync`, `synchronous_commit` and `full_page_writes` off: a power cut may lose or corrupt
    /// anything. Only for data nobody keeps, such as the test suite's.
    Throwaway,
}

/// A running project-local PostgreSQL cluster.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    socket_dir: PathBuf,
}

impl LocalCluster {
    /// URL of a database on this cluster, e.g. `url_for("txtcv")`; connects as superuser `postgres`.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }
}

/// Makes sure the project-local PostgreSQL cluster under `data_root` is initialised and running,
/// and returns a handle whose [`LocalCluster::url_for`] gives connection URLs.
///
/// Safe to call concurrently from several threads and processes: the whole setup runs under a
/// lock on `<data_root>/postgres.lock`, and reuses a cluster that is already running with the
/// settings `durability` asks for.
pub fn ensure_running(data_root: &Path, durability: Durability) -> Result<LocalCluster> {
    fs::create_dir_all(data_root)
        .with_context(|| format!("could not create data folder {}", data_root.display()))?;
    let data_root = data_root
        .canonicalize()
        .with_context(|| format!("could not resolve data folder {}", data_root.display()))?;
    let server_user = ServerUser::detect()?;
    let bin_dir = find_or_install_server_binaries(&server_user)?;

    let _lock = lock_setup(&data_root.join("postgres.lock"))?;
    let paths = ClusterPaths::prepare(&data_root, &server_user)?;
    let socket_dir = PathBuf::from(format!("/tmp/txtcv-pg-{}", short_hash(&paths.data_dir)));
    create_private_dir(&socket_dir, &server_user)?;

    let pg_ctl = PgCtl {
        bin_dir: &bin_dir,
        server_user: &server_user,
        paths: &paths,
    };
    if !is_initialised(&paths.data_dir)? {
        pg_ctl.initdb(durability)?;
    }
    let settings_changed = write_settings(&paths.data_dir, durability, &server_user)?;
    if !pg_ctl.is_running() {
        pg_ctl.start(&socket_dir, "start")?;
        info!(
            "started local PostgreSQL in {} (socket {})",
            paths.data_dir.display(),
            socket_dir.display()
        );
    } else if settings_changed {
        // Durability settings would do with a reload, but a restart puts every setting in force
        // before we return; it happens once, when the settings change.
        pg_ctl.start(&socket_dir, "restart")?;
        info!(
            "restarted local PostgreSQL in {} with new settings ({durability:?})",
            paths.data_dir.display()
        );
    } else {
        info!(
            "reusing running local PostgreSQL in {} (socket {})",
            paths.data_dir.display(),
            socket_dir.display()
        );
    }
    wait_until_ready(&bin_dir, &socket_dir, &paths)?;
    Ok(LocalCluster { socket_dir })
}

/// The OS user that runs the server: ourselves, or the `postgres` user when we are root.
enum ServerUser {
    CurrentUser { uid: u32 },
    PostgresAsRoot { uid: u32 },
}

impl ServerUser {
    fn detect() -> Result<Self> {
        let uid = user_id(None)?;
        if uid == 0 {
            let uid = user_id(Some(SERVER_USER)).with_context(|| {
                format!(
                    "running as root, but PostgreSQL refuses to run as root and there is no \
                     `{SERVER_USER}` OS user; install Debian's postgresql package or set DATABASE_URL"
                )
            })?;
            Ok(Self::PostgresAsRoot { uid })
        } else {
            Ok(Self::CurrentUser { uid })
        }
    }

    fn is_root(&self) -> bool {
        matches!(self, Self::PostgresAsRoot { .. })
    }

    fn uid(&self) -> u32 {
        match self {
            Self::CurrentUser { uid } | Self::PostgresAsRoot { uid } => *uid,
        }
    }

    /// A command for `program` that runs as the server user.
    fn command(&self, program: &Path) -> Command {
        match self {
            Self::CurrentUser { .. } => Command::new(program),
            Self::PostgresAsRoot { .. } => {
                let mut command = Command::new("runuser");
                command.args(["-u", SERVER_USER, "--"]).arg(program);
                // The server user may not be allowed into our working directory (e.g. /root).
                command.current_dir("/");
                command
            }
        }
    }

    fn can_traverse(&self, dir: &Path) -> bool {
        let mut test = self.command(Path::new("test"));
        test.arg("-x").arg(dir);
        test.output().is_ok_and(|output| output.status.success())
    }

    /// Gives `path` (recursively) to the server user; a no-op unless we are root.
    fn take_ownership(&self, path: &Path) -> Result<()> {
        if self.is_root() {
            let mut chown = Command::new("chown");
            chown
                .arg("-R")
                .arg(format!("{SERVER_USER}:{SERVER_USER}"))
                .arg(path);
            run_checked(&mut chown, &format!("chown of {}", path.display()))?;
        }
        Ok(())
    }
}

/// The numeric id of `user`, or of the current (effective) user; `id` keeps us free of libc.
fn user_id(user: Option<&str>) -> Result<u32> {
    let mut id = Command::new("id");
    id.arg("-u").args(user);
    let output = run_checked(&mut id, "`id -u`")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("unexpected output from `id -u`: {text}"))
}

fn find_or_install_server_binaries(server_user: &ServerUser) -> Result<PathBuf> {
    if let Some(bin_dir) = server_bin_dir() {
        return Ok(bin_dir);
    }
    install_postgresql_package(server_user.is_root()).context(NO_BINARIES)?;
    server_bin_dir().context(NO_BINARIES)
}

fn server_bin_dir() -> Option<PathBuf> {
    pg_config_bin_dir()
        .filter(|dir| has_server_binaries(dir))
        .or_else(newest_debian_bin_dir)
}

fn pg_config_bin_dir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    output
        .status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// Debian installs each server version into `/usr/lib/postgresql/<major>/bin`.
fn newest_debian_bin_dir() -> Option<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, bin_dir)| has_server_binaries(bin_dir))
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin_dir)| bin_dir)
}

fn has_server_binaries(bin_dir: &Path) -> bool {
    bin_dir.join("initdb").is_file() && bin_dir.join("pg_ctl").is_file()
}

/// Installs Debian's `postgresql` package, as root or through passwordless sudo.
fn install_postgresql_package(as_root: bool) -> Result<()> {
    if !as_root && !passwordless_sudo_works() {
        bail!("not root and passwordless sudo is unavailable, so cannot install PostgreSQL");
    }
    info!("installing PostgreSQL server binaries (apt-get install postgresql)");
    let install = ["install", "-y", "postgresql"];
    if apt_get(as_root, &install).is_err() {
        // A fresh machine may have empty package lists.
        apt_get(as_root, &["update"])?;
        apt_get(as_root, &install)?;
    }
    Ok(())
}

fn passwordless_sudo_works() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn apt_get(as_root: bool, args: &[&str]) -> Result<Output> {
    let mut command = if as_root {
        Command::new("env")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env"]);
        sudo
    };
    // Concurrent first runs each try to install; waiting for dpkg's lock serialises them.
    command
        .args([
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "-o",
            "DPkg::Lock::Timeout=300",
        ])
        .args(args);
    run_checked(&mut command, &format!("apt-get {}", args.join(" ")))
}

/// Holds an exclusive lock on `path` while setting up, so concurrent threads and processes
/// (parallel tests, several test binaries) take turns. This is `flock` through std, so no extra
/// crate, and the kernel releases it when the holder exits or is killed: unlike a lock directory
/// it can never be left behind, so there is no stale-lock timeout to guess.
fn lock_setup(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("could not open lock file {}", path.display()))?;
    if let Err(TryLockError::WouldBlock) = file.try_lock() {
        info!("waiting for another process to finish setting up local PostgreSQL");
    }
    file.lock()
        .with_context(|| format!("could not lock {}", path.display()))?;
    Ok(file)
}

/// Where the cluster's data and log live, ready for the server user to use.
struct ClusterPaths {
    data_dir: PathBuf,
    log_file: PathBuf,
}

impl ClusterPaths {
    fn prepare(data_root: &Path, server_user: &ServerUser) -> Result<Self> {
        let home = if server_user.can_traverse(data_root) {
            data_root.to_owned()
        } else {
            let fallback = PathBuf::from(format!("/var/tmp/txtcv-pg-{}", short_hash(data_root)));
            info!(
                "the {SERVER_USER} OS user cannot reach {}; keeping the local PostgreSQL \
                 cluster in {} instead",
                data_root.display(),
                fallback.display()
            );
            create_private_dir(&fallback, server_user)?;
            fallback
        };
        let paths = Self {
            data_dir: home.join("postgres"),
            log_file: home.join("postgres.log"),
        };
        create_private_dir(&paths.data_dir, server_user)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&paths.log_file)
            .with_context(|| format!("could not create {}", paths.log_file.display()))?;
        server_user.take_ownership(&paths.log_file)?;
        Ok(paths)
    }
}

/// Creates `dir` if needed and makes it a real directory that only the server user can enter.
/// It may live in world-writable `/tmp`, so refuse one that somebody else planted there.
fn create_private_dir(dir: &Path, server_user: &ServerUser) -> Result<()> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(error).with_context(|| format!("could not create {}", dir.display()));
        }
        _ => {}
    }
    let metadata = fs::symlink_metadata(dir)
        .with_context(|| format!("could not inspect {}", dir.display()))?;
    let ours =
        metadata.uid() == server_user.uid() || (server_user.is_root() && metadata.uid() == 0);
    if !metadata.file_type().is_dir() || !ours {
        bail!(
            "{} is not a directory owned by this user or by the PostgreSQL server user; \
             remove it and try again",
            dir.display()
        );
    }
    server_user.take_ownership(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not make {} private", dir.display()))
}

/// A finished setup ends by appending our settings, so an interrupted one is not mistaken for it.
fn is_initialised(data_dir: &Path) -> Result<bool> {
    match fs::read_to_string(data_dir.join("postgresql.conf")) {
        Ok(config) => Ok(config.contains(SETTINGS_MARKER)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error).with_context(|| format!("could not read {}", data_dir.display())),
    }
}

/// Runs `initdb` and `pg_ctl` for one cluster as the server user.
struct PgCtl<'a> {
    bin_dir: &'a Path,
    server_user: &'a ServerUser,
    paths: &'a ClusterPaths,
}

impl PgCtl<'_> {
    fn command(&self, program: &str) -> Command {
        let mut command = self.server_user.command(&self.bin_dir.join(program));
        command.arg("-D").arg(&self.paths.data_dir);
        command
    }

    fn initdb(&self, durability: Durability) -> Result<()> {
        let data_dir = &self.paths.data_dir;
        info!(
            "initialising local PostgreSQL cluster in {}",
            data_dir.display()
        );
        // Some systems lack the C.UTF-8 locale; plain C still gives a UTF-8 database.
        self.run_initdb("C.UTF-8", durability)
            .or_else(|_| self.run_initdb("C", durability))
            .with_context(|| {
                format!(
                    "could not initialise a PostgreSQL cluster in {}; if an earlier attempt was \
                     interrupted, delete that folder and try again",
                    data_dir.display()
                )
            })?;
        write_settings(data_dir, durability, self.server_user).map(drop)
    }

    fn run_initdb(&self, locale: &str, durability: Durability) -> Result<Output> {
        // Trust is fine: the only way in is a socket in a directory private to the server user.
        let mut initdb = self.command("initdb");
        initdb.args(["-U", "postgres", "--auth=trust", "--encoding=UTF8"]);
        initdb.arg(format!("--locale={locale}"));
        if durability == Durability::Throwaway {
            initdb.arg("--no-sync");
        }
        run_checked(&mut initdb, "initdb")
    }

    fn is_running(&self) -> bool {
        let mut status = self.command("pg_ctl");
        status.arg("status");
        status.output().is_ok_and(|output| output.status.success())
    }

    /// `pg_ctl start` or `pg_ctl restart`, waiting until the server is up.
    fn start(&self, socket_dir: &Path, verb: &str) -> Result<()> {
        let mut start = self.command("pg_ctl");
        start
            .arg(verb)
            .arg("-l")
            .arg(&self.paths.log_file)
            .args(["-w", "-t", START_TIMEOUT_SECS])
            // The socket directory derives from the data directory's path, so pass it at start
            // rather than storing it in the config, where it would go stale if the project moved.
            .arg("-o")
            .arg(format!("-k {}", socket_dir.display()));
        run_checked(&mut start, &format!("pg_ctl {verb}"))
            .map(drop)
            .with_context(|| {
                format!(
                    "could not {verb} local PostgreSQL in {}\n{}",
                    self.paths.data_dir.display(),
                    log_tail(&self.paths.log_file)
                )
            })
    }
}

/// Settings for a project-local cluster: no TCP listener (isolation from any system server), a
/// fixed port (ignoring `PGPORT`), and durability as asked.
fn settings(durability: Durability) -> String {
    let durable = match durability {
        Durability::Durable => "on",
        Durability::Throwaway => "off",
    };
    format!(
        "{SETTINGS_MARKER}\n\
         listen_addresses = ''\n\
         port = {PORT}\n\
         fsync = {durable}\n\
         synchronous_commit = {durable}\n\
         full_page_writes = {durable}\n\
         max_connections = 300\n\
         shared_buffers = 128MB\n"
    )
}

/// Puts our settings at the end of `postgresql.conf`, in place of those written before (from
/// the marker on); `true` when that changed the file. The new file replaces the old one whole
/// (a rename), so a crash meanwhile leaves one or the other.
fn write_settings(
    data_dir: &Path,
    durability: Durability,
    server_user: &ServerUser,
) -> Result<bool> {
    let config = data_dir.join("postgresql.conf");
    let current = fs::read_to_string(&config)
        .with_context(|| format!("could not read {}", config.display()))?;
    let theirs = current
        .find(SETTINGS_MARKER)
        .map_or(format!("{current}\n"), |ours| current[..ours].to_owned());
    let wanted = theirs + &settings(durability);
    if wanted == current {
        return Ok(false);
    }
    let replacement = data_dir.join("postgresql.conf.txtcv");
    fs::write(&replacement, wanted)
        .with_context(|| format!("could not write {}", replacement.display()))?;
    server_user.take_ownership(&replacement)?;
    fs::rename(&replacement, &config)
        .with_context(|| format!("could not replace {}", config.display()))?;
    Ok(true)
}

fn wait_until_ready(bin_dir: &Path, socket_dir: &Path, paths: &ClusterPaths) -> Result<()> {
    for _ in 0..READY_ATTEMPTS {
        let ready = Command::new(bin_dir.join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(socket_dir)
            .args(["-p", &PORT.to_string(), "-U", "postgres", "-d", "postgres"])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return Ok(());
        }
        thread::sleep(READY_POLL_INTERVAL);
    }
    bail!(
        "local PostgreSQL does not accept connections on socket {}; try restarting it with \
         `pg_ctl restart -D {}`\n{}",
        socket_dir.display(),
        paths.data_dir.display(),
        log_tail(&paths.log_file)
    )
}

fn log_tail(log_file: &Path) -> String {
    let log = fs::read_to_string(log_file).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    format!("last lines of {}:\n{tail}", log_file.display())
}

fn run_checked(command: &mut Command, what: &str) -> Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("could not run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Eight hex digits of FNV-1a over the path: stable across Rust releases, unlike `DefaultHasher`.
fn short_hash(path: &Path) -> String {
    let hash = path
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{:08x}", hash as u32)
}
