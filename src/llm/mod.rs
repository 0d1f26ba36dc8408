//! Who writes cover letters: a small trait, an offline writer and any OpenAI-compatible endpoint.

mod builtin;
mod openai;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{LlmProviderKind, LlmSettings};
pub use builtin::BuiltinWriter;
pub use openai::OpenAiWriter;

/// What a letter is written from.
#[derive(Debug, Clone)]
pub struct LetterRequest {
    /// The JSON Resume document, as saved.
    pub cv: serde_json::Value,
    pub job_description: String,
    pub company: Option<String>,
    pub job_title: Option<String>,
}

/// Why a letter could not be written. The reason is for the letter's owner; the technical
/// detail is logged where it happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Worth another try: a timeout, a dropped connection, a busy or failing server.
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help: the request was refused or the reply was unusable.
    #[error("{0}")]
    Permanent(String),
}

impl WriteError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

#[async_trait]
pub trait LetterWriter: Send + Sync {
    /// Recorded with each letter, e.g. "builtin" or "openai".
    fn provider(&self) -> &'static str;
    fn model(&self) -> &str;
    async fn write(&self, request: &LetterRequest) -> Result<String, WriteError>;
}

/// The writer the settings choose.
pub fn from_settings(settings: &LlmSettings) -> anyhow::Result<Arc<dyn LetterWriter>> {
    Ok(match settings.provider {
        LlmProviderKind::Builtin => Arc::new(BuiltinWriter::new(settings.builtin_delay_ms)),
        LlmProviderKind::Openai => Arc::new(OpenAiWriter::new(settings)?),
    })
}
