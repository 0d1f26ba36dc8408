//! Where mail goes: an SMTP server, or a folder of `.eml` files with a line in the log for each.

use std::path::PathBuf;

use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, transport::smtp};
use secrecy::ExposeSecret;

use crate::config::MailSettings;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: nothing is lost, and a newcomer can follow a link from the
    /// terminal.
    Folder(PathBuf),
}

/// Why a mail did not go.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server was unreachable or answered 4xx: worth another try later.
    #[error("{0}")]
    Transient(String),
    /// The server refused the mail for good (5xx), or it cannot be written.
    #[error("{0}")]
    Permanent(String),
}

impl Transport {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        Ok(match &settings.smtp_url {
            Some(url) => Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    // lettre's message could quote the URL, password and all.
                    .map_err(|_| anyhow::anyhow!("mail.smtp_url is not a valid SMTP URL"))?
                    .build(),
            ),
            None => Self::Folder(settings.folder.clone()),
        })
    }

    pub async fn send(&self, message: Message, links: &[&str]) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(classify),
            Self::Folder(folder) => {
                let path = write_to(folder, &message)
                    .await
                    .map_err(|error| SendError::Permanent(format!("{error:#}")))?;
                let subject = message
                    .headers()
                    .get_raw("Subject")
                    .unwrap_or_default()
                    .to_owned();
                tracing::info!(
                    file = %path.display(),
                    %subject,
                    links = links.join(" "),
                    "mail written (no SMTP server is configured)"
                );
                Ok(())
            }
        }
    }
}

async fn write_to(folder: &std::path::Path, message: &Message) -> anyhow::Result<PathBuf> {
    tokio::fs::create_dir_all(folder)
        .await
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let path = folder.join(format!("{stamp}-{}.eml", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&path, message.formatted())
        .await
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// 5xx is final; 4xx, and not reaching the server at all, may pass.
fn classify(error: smtp::Error) -> SendError {
    let reason = error.to_string();
    if error.is_permanent() {
        SendError::Permanent(reason)
    } else {
        SendError::Transient(reason)
    }
}
