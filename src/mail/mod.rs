//! Mail: composed where the change that causes it happens, kept in PostgreSQL with the job that
//! sends it in that change's transaction, and sent by a worker over SMTP (or, outside production
//! without an SMTP server, written to a folder and logged). A request never waits for SMTP.

mod job;
mod messages;
mod transport;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{jobs, store::mails};
pub use job::run_worker;
pub use messages::{
    confirm_email, confirm_new_email, email_change_requested, password_changed, reset_password,
};
pub use transport::{SendError, Transport};

/// The apalis queue mail jobs live in.
pub const MAIL_QUEUE: &str = "mail";

/// Why a mail is sent; kept with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    ConfirmEmail,
    ConfirmNewEmail,
    EmailChangeRequested,
    ResetPassword,
    PasswordChanged,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "confirm-email",
            Self::ConfirmNewEmail => "confirm-new-email",
            Self::EmailChangeRequested => "email-change-requested",
            Self::ResetPassword => "reset-password",
            Self::PasswordChanged => "password-changed",
        }
    }
}

/// One mail, ready to go: a plain-text body and a simple HTML one saying the same.
#[derive(Debug, Clone)]
pub struct Mail {
    pub kind: MailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Send one mail. The payload carries ids only; the mail itself waits in `outgoing_mails`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMail {
    pub owner_id: Uuid,
    pub mail_id: Uuid,
}

/// Keeps `mail` to `owner_id` and enqueues its job on `tx`: both exist exactly when the caller's
/// transaction commits.
pub async fn queue(tx: &mut PgConnection, owner_id: Uuid, mail: &Mail) -> anyhow::Result<()> {
    let mail_id = mails::insert(&mut *tx, owner_id, mail)
        .await
        .context("cannot keep a mail")?;
    let job = SendMail { owner_id, mail_id };
    jobs::enqueue_on(tx, MAIL_QUEUE, &job).await
}
