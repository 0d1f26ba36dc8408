use std::{io::IsTerminal, process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use txtcv::{
    auth::Hasher,
    config::{Profile, Settings},
    domain::{Email, NewPassword, Role, Username},
    startup::{self, Application},
    store::{
        audit,
        users::{self, NewUser, RoleChange},
    },
    telemetry,
};

/// txtcv: keep your CV as plaintext JSON Resume, publish it, write cover letters from it.
///
/// Settings come from config/default.toml and config/<TXTCV_PROFILE>.toml, overridden by
/// TXTCV__SECTION__KEY environment variables and DATABASE_URL. Without DATABASE_URL (outside
/// production), a project-local PostgreSQL is started from the system's binaries.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (and, unless --no-worker, the job worker in the same process).
    Serve {
        /// Serve web requests only; run `txtcv worker` processes for the jobs.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only the job worker.
    Worker,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator account. The password is read from standard input (one line) or,
    /// on a terminal, prompted for twice.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Make an existing account an administrator.
    Grant {
        /// The account's username.
        username: String,
    },
    /// Make an administrator an ordinary member again. The last administrator cannot be demoted.
    Revoke {
        /// The account's username.
        username: String,
    },
}

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings (its build prefixes its symbols, hence the name): a background thread gives
/// pages that stay free for a second back to the system, so memory taken at a load's peak is
/// returned once the load is gone, rather than after ten seconds and only by threads that
/// allocate again. `_RJEM_MALLOC_CONF` in the environment overrides these. jemalloc reads a
/// `const char *`: a thin reference to the string's first byte is one.
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_SETTINGS: &u8 =
    &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime can start");
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let profile = Profile::from_env()?;
    let settings = Settings::load(&Settings::config_dir(), profile)?;
    let db = startup::prepare_database(&settings, profile).await?;
    let shutdown = CancellationToken::new();
    startup::cancel_on_signal(shutdown.clone());
    match command {
        Command::Migrate => {
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve { no_worker } => serve(settings, db, shutdown, !no_worker).await,
        Command::Worker => startup::run_worker(Arc::new(settings), db, shutdown).await,
        Command::Admin { command } => match command {
            AdminCommand::Create { username, email } => {
                create_admin(&settings, &db, &username, &email).await
            }
            AdminCommand::Grant { username } => change_role(&db, &username, Role::Admin).await,
            AdminCommand::Revoke { username } => change_role(&db, &username, Role::Member).await,
        },
    }
}

async fn serve(
    settings: Settings,
    db: sqlx::PgPool,
    shutdown: CancellationToken,
    with_worker: bool,
) -> anyhow::Result<()> {
    let shared = Arc::new(settings.clone());
    let app = Application::build(settings, db.clone()).await?;
    tracing::info!(
        "txtcv is listening on {}://{}:{} (worker: {})",
        shared.server.public_scheme.as_str(),
        shared.server.base_domain,
        app.port(),
        if with_worker {
            "in this process"
        } else {
            "separate"
        },
    );
    let web = app.run_until_stopped(shutdown.clone());
    if with_worker {
        let worker = startup::run_worker(shared, db, shutdown);
        tokio::try_join!(web, worker)?;
    } else {
        web.await?;
    }
    Ok(())
}

async fn create_admin(
    settings: &Settings,
    db: &sqlx::PgPool,
    username: &str,
    email: &str,
) -> anyhow::Result<()> {
    let username = Username::parse(username).context("--username")?;
    let email = Email::parse(email).context("--email")?;
    let password = NewPassword::parse(&read_password()?).context("password")?;
    let hasher = Hasher::new(settings.auth.max_concurrent_hashes)?;
    let hash = hasher.hash(SecretString::from(password.expose())).await?;
    let new = NewUser {
        username: &username,
        email: &email,
        password_hash: Some(&hash),
        role: Role::Admin,
        email_confirmed: false,
    };
    let user = users::insert(db, new)
        .await
        .with_context(|| format!("cannot create {username}"))?;
    println!("created administrator {} ({})", user.username, user.email);
    println!("{}", two_factor_reminder(&user.username));
    Ok(())
}

/// Grants or revokes the admin role, on the record, and says plainly what happened.
async fn change_role(db: &sqlx::PgPool, username: &str, role: Role) -> anyhow::Result<()> {
    let username = Username::parse(username)
        .map_err(|error| anyhow::anyhow!("`{username}` is no account's name: {error}"))?;
    let mut tx = db.begin().await?;
    match users::set_role(&mut tx, &username, role).await? {
        RoleChange::Changed(user) => {
            let action = match role {
                Role::Admin => audit::Action::GrantAdmin,
                Role::Member => audit::Action::RevokeAdmin,
            };
            let entry = audit::Entry {
                actor: audit::Actor {
                    id: None,
                    username: audit::COMMAND_LINE,
                },
                action,
                target_id: Some(user.id),
                target_username: &user.username,
                reason: None,
                report_id: None,
            };
            audit::record(&mut *tx, entry).await?;
            tx.commit().await?;
            match role {
                Role::Admin => {
                    println!("{} is an administrator now", user.username);
                    println!("{}", two_factor_reminder(&user.username));
                }
                Role::Member => println!(
                    "{} is a member now, no longer an administrator",
                    user.username
                ),
            }
            Ok(())
        }
        RoleChange::AlreadySo => {
            println!(
                "{username} is already {}; nothing changed",
                role_in_words(role)
            );
            Ok(())
        }
        RoleChange::NoSuchAccount => anyhow::bail!("there is no account named `{username}`"),
        RoleChange::LastAdmin => anyhow::bail!(
            "{username} is the only administrator; grant the role to someone else first, so that \
             somebody can still moderate"
        ),
    }
}

/// The admin area stays closed to an administrator without a second factor; say so up front.
fn two_factor_reminder(username: &str) -> String {
    format!(
        "{username} must turn on two-factor sign-in at /settings/two-factor before using /admin"
    )
}

fn role_in_words(role: Role) -> &'static str {
    match role {
        Role::Admin => "an administrator",
        Role::Member => "a member",
    }
}

fn read_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Password again: ")?;
    anyhow::ensure!(first == second, "the two passwords differ");
    Ok(first)
}
