//! Saving a CV, whichever way the text comes in (the editor, an import, a restore, the API), so
//! the bounds on history hold for all of them: a save rate per account, counted before the save,
//! and a history per CV that is pruned in the transaction that saves.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    config::ResumeSettings,
    store::{
        auth_attempts::{self, Limit, Scope, Taken, Verdict},
        cvs::{self, Appended, Cv, CvVersion, History},
    },
};

/// The window `resume.saves_per_hour` counts over.
pub const SAVE_WINDOW: Duration = Duration::from_secs(3600);

/// Which CV a save goes to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Whichever CV is the owner's primary as the save lands, created if the account has none.
    Primary,
    Cv(&'a Cv),
}

/// Why nothing was saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("the account has saved {per_hour} times within the hour")]
    TooFast {
        per_hour: u32,
        retry_after: Duration,
    },
    #[error("the CV is gone")]
    NoSuchCv,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Saves `content` (a parsed document's text) as the next version of the owner's CV `target`;
/// `None` when it is the current version already. The save counts towards the owner's rate
/// before anything is written, so a burst of parallel saves cannot get more than the rate
/// through; a save that changes nothing, or fails, is given back.
pub async fn save(
    db: &PgPool,
    limits: &ResumeSettings,
    owner_id: Uuid,
    target: Target<'_>,
    content: &str,
    created_by: Uuid,
) -> Result<Option<CvVersion>, SaveError> {
    let taken = take(db, limits, owner_id).await?;
    let appended = append(db, limits, owner_id, target, content, created_by).await;
    if !matches!(appended, Ok(Appended::Saved(_))) {
        auth_attempts::give_back(db, taken).await?;
    }
    match appended? {
        Appended::Saved(version) => Ok(Some(version)),
        Appended::Unchanged => Ok(None),
        Appended::NoSuchCv => Err(SaveError::NoSuchCv),
    }
}

async fn append(
    db: &PgPool,
    limits: &ResumeSettings,
    owner_id: Uuid,
    target: Target<'_>,
    content: &str,
    created_by: Uuid,
) -> sqlx::Result<Appended> {
    let mut tx = db.begin().await?;
    let primary;
    let cv = match target {
        Target::Cv(cv) => cv,
        Target::Primary => {
            primary = cvs::primary_or_create(&mut tx, owner_id).await?;
            &primary
        }
    };
    let appended = cvs::append_version(&mut tx, cv, content, created_by, history(limits)).await?;
    tx.commit().await?;
    Ok(appended)
}

/// Counts one save by `owner_id`, or says how long to wait when the hour's saves are spent. For
/// a save that is part of a larger change (a new CV with its first version); [`save`] counts its
/// own.
pub async fn take(
    db: &PgPool,
    limits: &ResumeSettings,
    owner_id: Uuid,
) -> Result<Taken, SaveError> {
    let owner = owner_id.to_string();
    let limit = Limit {
        scope: Scope::CvSave,
        key: &owner,
        max: limits.saves_per_hour,
    };
    match auth_attempts::take(db, SAVE_WINDOW, &[limit]).await? {
        Verdict::Allowed(taken) => Ok(taken),
        Verdict::Wait(retry_after) => Err(SaveError::TooFast {
            per_hour: limits.saves_per_hour,
            retry_after,
        }),
    }
}

/// How much of each CV's past the settings keep.
pub fn history(limits: &ResumeSettings) -> History {
    History {
        max_versions: limits.max_versions,
        max_bytes: limits.max_history_bytes,
    }
}
