//! Moderation actions: each changes the account, answers the report it came from (if any) and
//! goes on the record, all in one transaction, so the audit log never says more or less than
//! what happened.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::{AccountStatus, moderation::Resolution, moderation::Text},
    jobs::{self, WriteCoverLetter},
    store::{
        audit, moderation, reports, sessions,
        users::{self, User},
    },
};

/// What an admin does to an account.
pub enum Action<'a> {
    Suspend {
        reason: &'a Text,
    },
    Unsuspend,
    /// Unpublish every CV of the account, or only the CV `only` (the one a report named).
    Unpublish {
        reason: &'a Text,
        only: Option<Uuid>,
    },
    Delete {
        block_for: Duration,
    },
    /// Close a report without touching the account.
    DismissReport,
}

/// The report an action answers, and the admin's note on it.
pub struct Answering<'a> {
    pub report_id: Uuid,
    pub note: Option<&'a Text>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Not done, for a reason the admin can act on; nothing was changed.
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ActionError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

/// Does `action` to `target` as `admin`, answering `report` if given.
pub async fn apply(
    db: &PgPool,
    admin: &User,
    target: &User,
    action: Action<'_>,
    report: Option<Answering<'_>>,
) -> Result<(), ActionError> {
    let own_account = admin.id == target.id;
    match (&action, own_account) {
        (Action::Suspend { .. }, true) => {
            return Err(ActionError::Refused(
                "You cannot suspend your own account: nobody could undo it from here.",
            ));
        }
        (Action::Delete { .. }, true) => {
            return Err(ActionError::Refused(
                "You cannot delete your own account from the admin area. Use your settings page \
                 if you really mean to.",
            ));
        }
        _ => {}
    }

    let mut tx = db.begin().await?;
    if let Some(report) = &report {
        let resolution = match action {
            Action::Suspend { .. } => Resolution::Suspend,
            Action::Unpublish { .. } => Resolution::Unpublish,
            _ => Resolution::Dismiss,
        };
        let answered = reports::resolve(
            &mut *tx,
            report.report_id,
            resolution,
            &admin.username,
            report.note,
        )
        .await?;
        if !answered {
            return Err(ActionError::Refused(
                "That report was already resolved, perhaps by another admin.",
            ));
        }
    }
    let (kind, reason) = match &action {
        Action::Suspend { reason } => {
            if !target.is_active() {
                return Err(ActionError::Refused("That account is already suspended."));
            }
            users::set_status(&mut *tx, target.id, AccountStatus::Suspended).await?;
            (audit::Action::Suspend, Some(reason.as_str()))
        }
        Action::Unsuspend => {
            if target.is_active() {
                return Err(ActionError::Refused("That account is not suspended."));
            }
            users::set_status(&mut *tx, target.id, AccountStatus::Active).await?;
            // The suspension paused these letters; they go back in the queue as they were.
            for letter_id in moderation::pending_letters(&mut *tx, target.id).await? {
                let job = WriteCoverLetter {
                    owner_id: target.id,
                    letter_id,
                };
                jobs::enqueue(&mut tx, &job).await?;
            }
            (audit::Action::Unsuspend, None)
        }
        Action::Unpublish { reason, only } => {
            if !moderation::unpublish(&mut tx, target.id, *only, reason.as_str()).await? {
                return Err(ActionError::Refused(match only {
                    Some(_) => "That CV is not published any more; there is nothing to unpublish.",
                    None => "That account has no published CV; there is nothing to unpublish.",
                }));
            }
            (audit::Action::Unpublish, Some(reason.as_str()))
        }
        // Deleting comes after the audit entry, which names the account while it still exists.
        Action::Delete { .. } => (audit::Action::Delete, None),
        Action::DismissReport => (audit::Action::DismissReport, None),
    };
    let reason = reason.or(report.as_ref().and_then(|r| r.note.map(Text::as_str)));
    let entry = audit::Entry {
        actor: audit::Actor {
            id: Some(admin.id),
            username: &admin.username,
        },
        action: kind,
        target_id: Some(target.id),
        target_username: &target.username,
        reason,
        report_id: report.as_ref().map(|r| r.report_id),
    };
    audit::record(&mut *tx, entry).await?;
    if let Action::Delete { block_for } = action {
        moderation::delete_account(&mut tx, target, block_for).await?;
    }
    tx.commit().await?;

    if matches!(action, Action::Suspend { .. }) {
        // Already powerless (a suspended account's sessions load no user); this removes them.
        let mut tx = db.begin().await?;
        sessions::delete_for_user(&mut tx, target.id, None).await?;
        tx.commit().await?;
    }
    Ok(())
}
