use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr, filtered by `RUST_LOG` (default: info for txtcv and the web stack, warnings
/// for the SQL driver). `TXTCV_LOG_FORMAT=json` gives one JSON object per line for log shippers.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,apalis=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = std::env::var("TXTCV_LOG_FORMAT").is_ok_and(|f| f == "json");
    // A second initialisation (tests start many apps in one process) is harmless: keep the first.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
