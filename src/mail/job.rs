//! The mail job: send what waits in `outgoing_mails`, retrying what may pass with doubling waits,
//! and record the outcome. Idempotent: a mail already sent or given up is not sent again.

use std::{sync::Arc, time::Duration};

use apalis::prelude::{BoxDynError, Data};
use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{MAIL_QUEUE, SendError, SendMail, Transport};
use crate::{
    config::Settings,
    jobs,
    store::mails::{self, UnsentMail},
};

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What a running mail job needs.
pub struct MailContext {
    pub db: PgPool,
    pub transport: Transport,
    pub from: String,
    pub max_attempts: u32,
    pub retry_backoff: Duration,
}

/// Sends mail until `shutdown` is cancelled, then lets the mails in hand finish.
pub async fn run_worker(
    settings: &Settings,
    db: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mail = &settings.mail;
    let context = MailContext {
        db: db.clone(),
        transport: Transport::from_settings(mail)?,
        from: mail.from.clone(),
        max_attempts: mail.max_attempts,
        retry_backoff: Duration::from_millis(mail.retry_backoff_ms),
    };
    jobs::run_queue(settings, &db, MAIL_QUEUE, Arc::new(context), send, shutdown).await
}

pub async fn send(job: SendMail, context: Data<Arc<MailContext>>) -> Result<(), BoxDynError> {
    let context: &MailContext = &context;
    let (owner, id) = (job.owner_id, job.mail_id);
    loop {
        let Some(mail) = mails::unsent(&context.db, owner, id).await? else {
            return Ok(());
        };
        let attempt = mails::count_attempt(&context.db, owner, id).await?;
        let outcome = match message(&context.from, &mail) {
            Ok(message) => {
                context
                    .transport
                    .send(message, &links_in(&mail.text_body))
                    .await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                mails::mark_sent(&context.db, owner, id).await?;
                tracing::info!(%id, attempt, "mail sent");
                return Ok(());
            }
            Err(SendError::Transient(reason)) if attempt.unsigned_abs() < context.max_attempts => {
                let wait = backoff(context.retry_backoff, attempt.unsigned_abs());
                tracing::warn!(%id, attempt, ?wait, %reason, "mail not sent yet; trying again");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                tracing::warn!(%id, attempt, reason = %error, "mail given up");
                mails::mark_failed(&context.db, owner, id, &error.to_string()).await?;
                return Ok(());
            }
        }
    }
}

/// `first`, doubled for each try after the first, at most [`MAX_BACKOFF`].
fn backoff(first: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF)
}

fn message(from: &str, mail: &UnsentMail) -> Result<Message, SendError> {
    let mailbox = |address: &str, which: &str| {
        address.parse::<Mailbox>().map_err(|error| {
            SendError::Permanent(format!("the {which} address is invalid: {error}"))
        })
    };
    Message::builder()
        .from(mailbox(from, "sender")?)
        .to(mailbox(&mail.to_address, "recipient")?)
        .subject(&mail.subject)
        .multipart(MultiPart::alternative_plain_html(
            mail.text_body.clone(),
            mail.html_body.clone(),
        ))
        .map_err(|error| SendError::Permanent(format!("the mail cannot be built: {error}")))
}

/// The web addresses in a mail's text, for the log line of a mail that is not sent over SMTP.
fn links_in(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        let first = Duration::from_secs(1);
        assert_eq!(backoff(first, 1), Duration::from_secs(1));
        assert_eq!(backoff(first, 4), Duration::from_secs(8));
        assert_eq!(backoff(first, 40), MAX_BACKOFF);
    }

    #[test]
    fn links_are_found_in_the_text() {
        let text = "Hello,\nfollow https://txtcv.test/confirm/abc to confirm.\nhttp://x.test";
        assert_eq!(
            links_in(text),
            ["https://txtcv.test/confirm/abc", "http://x.test"]
        );
    }
}
