//! Settings: `config/default.toml`, then `config/<profile>.toml`, then `TXTCV__SECTION__KEY`
//! environment variables and `DATABASE_URL`, deserialised into one typed [`Settings`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    /// The profile named by `TXTCV_PROFILE`, development when unset.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("TXTCV_PROFILE") {
            Err(_) => Ok(Self::Development),
            Ok(name) => {
                serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
                    anyhow::anyhow!(
                        "TXTCV_PROFILE is `{name}`; expected development, test or production"
                    )
                })
            }
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub worker: WorkerSettings,
    pub cover_letters: CoverLetterSettings,
    pub llm: LlmSettings,
    pub resume: ResumeSettings,
    pub moderation: ModerationSettings,
    pub api: ApiSettings,
    pub cvs: CvSettings,
    pub mail: MailSettings,
    pub github: GitHubSettings,
    pub pdf: PdfSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub base_domain: String,
    pub public_scheme: Scheme,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub trust_forwarded_for: bool,
    /// How many trusted proxies append to `X-Forwarded-For` in front of us; the client is the
    /// entry the outermost of them wrote, this many from the right.
    pub trusted_proxy_hops: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// From `DATABASE_URL` only; `None` means "use the project-local cluster".
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub local_data_dir: PathBuf,
    /// Whether the project-local cluster keeps its data through a power cut; only the test
    /// suite's own cluster may trade that for speed.
    pub local_durable: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub max_login_failures: u32,
    pub max_signups: u32,
    pub throttle_window_secs: u64,
    pub max_concurrent_hashes: usize,
    pub session_days: i64,
    /// Password resets one client address, and one email address, may ask for per window.
    pub max_reset_requests: u32,
    /// Confirmation mails an account may ask for again per window.
    pub max_confirmation_mails: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    pub interrupted_after_secs: u64,
    pub cleanup_interval_secs: u64,
    pub keep_finished_jobs_hours: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CoverLetterSettings {
    pub daily_quota: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResumeSettings {
    /// The largest CV, as stored (pretty-printed JSON).
    pub max_bytes: usize,
    /// Versions kept per CV, the current one included; older ones are pruned at each save.
    pub max_versions: u32,
    /// Bytes of all kept versions of one CV together; older ones are pruned at each save.
    pub max_history_bytes: u64,
    /// Saves (that change something) per account in any hour, editor and API together.
    pub saves_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModerationSettings {
    /// How long a deleted account's username cannot be registered again.
    pub username_block_days: i64,
    /// Abuse reports one client address may send within the window.
    pub max_reports: u32,
    pub report_window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiSettings {
    /// Requests one access token may make per minute before 429.
    pub requests_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CvSettings {
    /// The most CVs one account may keep.
    pub max_per_account: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PdfSettings {
    /// The Chromium that prints CVs.
    pub chromium: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    /// The sender of every mail, e.g. `txtcv <noreply@example.org>`.
    pub from: String,
    /// From `TXTCV__MAIL__SMTP_URL` only, in lettre's form: `smtps://user:pass@host`,
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtp://host:port` (a local relay).
    /// Without it (outside production) mail is written to `folder` and logged.
    pub smtp_url: Option<SecretString>,
    /// Where mail goes without SMTP, as `.eml` files (relative to the working directory).
    pub folder: PathBuf,
    /// Tries per mail while the server is unreachable or answers 4xx; a 5xx ends it at once.
    pub max_attempts: u32,
    /// The wait before the second try; it doubles for each one after, up to an hour.
    pub retry_backoff_ms: u64,
}

/// Sign in with GitHub, as an OAuth App. Off (no button, routes 404) until `client_id` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct GitHubSettings {
    pub client_id: Option<String>,
    /// From `TXTCV__GITHUB__CLIENT_SECRET` only.
    pub client_secret: Option<SecretString>,
    /// GitHub's, unless tests or GitHub Enterprise point elsewhere.
    pub authorize_url: String,
    pub token_url: String,
    pub api_url: String,
    /// For each call to GitHub while a browser waits.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProviderKind {
    Builtin,
    Openai,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub provider: LlmProviderKind,
    pub base_url: String,
    pub model: String,
    /// From `TXTCV__LLM__API_KEY` only.
    pub api_key: Option<SecretString>,
    pub timeout_secs: u64,
    pub max_tokens: u32,
    pub max_attempts: u32,
    pub retry_backoff_ms: u64,
    pub builtin_delay_ms: u64,
}

impl Settings {
    /// Reads the settings for `profile` from `config_dir` and the environment.
    pub fn load(config_dir: &Path, profile: Profile) -> anyhow::Result<Self> {
        let file = |name: &str| config::File::from(config_dir.join(name)).required(true);
        let settings = config::Config::builder()
            .add_source(file("default.toml"))
            .add_source(file(&format!("{}.toml", profile.file_name())))
            .add_source(
                config::Environment::with_prefix("TXTCV")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .set_override_option("database.url", std::env::var("DATABASE_URL").ok())?
            .build()
            .with_context(|| format!("cannot read the configuration in {}", config_dir.display()))?
            .try_deserialize::<Settings>()
            .context("invalid configuration")?;
        settings.check()?;
        anyhow::ensure!(
            profile != Profile::Production || settings.mail.smtp_url.is_some(),
            "invalid configuration: mail.smtp_url is required in production (set \
             TXTCV__MAIL__SMTP_URL, e.g. smtps://user:password@smtp.example.org)"
        );
        Ok(settings)
    }

    /// The folder holding `default.toml`: `TXTCV_CONFIG_DIR`, else `./config`, else the one in the
    /// source tree this binary was built from.
    pub fn config_dir() -> PathBuf {
        if let Ok(dir) = std::env::var("TXTCV_CONFIG_DIR") {
            return PathBuf::from(dir);
        }
        let local = PathBuf::from("config");
        if local.join("default.toml").exists() {
            return local;
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    /// Rules that serde's types cannot say on their own, each naming its key.
    fn check(&self) -> anyhow::Result<()> {
        let domain = &self.server.base_domain;
        anyhow::ensure!(
            !domain.is_empty()
                && !domain.contains([':', '/', ' '])
                && domain == &domain.to_ascii_lowercase(),
            "invalid configuration: server.base_domain must be a lowercase host name without port \
             or scheme, got `{domain}`"
        );
        anyhow::ensure!(
            self.server.body_limit_bytes >= 1024,
            "invalid configuration: server.body_limit_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.auth.max_concurrent_hashes >= 1,
            "invalid configuration: auth.max_concurrent_hashes must be at least 1"
        );
        anyhow::ensure!(
            self.resume.max_bytes >= 1024,
            "invalid configuration: resume.max_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.resume.max_versions >= 1 && self.resume.saves_per_hour >= 1,
            "invalid configuration: resume.max_versions and resume.saves_per_hour must be at \
             least 1"
        );
        anyhow::ensure!(
            self.resume.max_history_bytes >= self.resume.max_bytes as u64,
            "invalid configuration: resume.max_history_bytes must be at least resume.max_bytes, \
             or the largest CV would not fit in its own history"
        );
        anyhow::ensure!(
            self.api.requests_per_minute >= 1,
            "invalid configuration: api.requests_per_minute must be at least 1"
        );
        anyhow::ensure!(
            self.cvs.max_per_account >= 1,
            "invalid configuration: cvs.max_per_account must be at least 1"
        );
        anyhow::ensure!(
            self.worker.concurrency >= 1,
            "invalid configuration: worker.concurrency must be at least 1"
        );
        anyhow::ensure!(
            self.mail.max_attempts >= 1,
            "invalid configuration: mail.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            self.llm.max_attempts >= 1,
            "invalid configuration: llm.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            self.github.client_id.is_none() || self.github.client_secret.is_some(),
            "invalid configuration: github.client_id is set but github.client_secret is not (set \
             TXTCV__GITHUB__CLIENT_SECRET)"
        );
        anyhow::ensure!(
            self.worker.interrupted_after_secs > self.llm.timeout_secs,
            "invalid configuration: worker.interrupted_after_secs must exceed llm.timeout_secs, or \
             slow letters would be failed as interrupted"
        );
        Ok(())
    }
}
