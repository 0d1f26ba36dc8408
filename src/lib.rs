//! txtcv: a plaintext CV platform. Developers keep their CV as a JSON Resume document, publish it
//! at `<username>.<base domain>`, and have cover letters written from it in the background.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod citus;
pub mod clock;
pub mod config;
pub mod cv_saves;
pub mod db;
pub mod domain;
pub mod github;
pub mod jobs;
pub mod llm;
pub mod localdb;
pub mod mail;
pub mod moderation;
pub mod passkeys;
pub mod pdf;
pub mod preview_image;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod two_factor;
pub mod web;

use std::path::{Path, PathBuf};

/// The folder of stylesheets, scripts and htmx: `TXTCV_STATIC_DIR`, else `./static`, else the one
/// in the source tree this binary was built from.
pub fn static_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TXTCV_STATIC_DIR") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("static");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("static")
}
