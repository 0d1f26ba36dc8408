//! Two-factor sign-in: enrolling an authenticator app, checking a code or a recovery code, and
//! the login that waits between the right password and the code.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::Id;
use uuid::Uuid;

use crate::{
    domain::{FirstFactor, OneTimeCode, RECOVERY_CODES, RecoveryCode, SecondFactor, TotpSecret},
    store::{sessions, two_factor, users::User},
};

/// How long a login may wait for its code after the right password.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Where an account's two-factor sign-in stands.
pub enum Status {
    Off,
    /// A secret was made, and waits for a code to confirm that the app has it.
    Enrolling(TotpSecret),
    On {
        recovery_codes_left: i64,
    },
}

pub async fn status(db: &PgPool, owner_id: Uuid) -> sqlx::Result<Status> {
    Ok(match two_factor::find(db, owner_id).await? {
        None => Status::Off,
        Some(stored) if stored.enabled_at.is_none() => Status::Enrolling(stored.secret),
        Some(_) => Status::On {
            recovery_codes_left: two_factor::unused_recovery_codes(db, owner_id).await?,
        },
    })
}

/// Makes a new secret for the account to enrol, replacing one not yet confirmed. `false` when
/// two-factor sign-in is on already.
pub async fn start_enrolment(db: &PgPool, owner_id: Uuid) -> sqlx::Result<bool> {
    two_factor::set_pending(db, owner_id, &TotpSecret::generate()).await
}

/// What confirming an enrolment did.
#[derive(Debug)]
pub enum Enrolment {
    /// Two-factor sign-in is on; the recovery codes are to be shown this once.
    Enabled(Vec<RecoveryCode>),
    WrongCode,
    /// No enrolment was waiting (never started, or confirmed already).
    NotEnrolling,
}

/// Turns two-factor sign-in on once `code` shows that the app holds the pending secret. Every
/// session of the account but `keep` ends: one that somebody else held does not outlive the
/// owner's new protection.
pub async fn confirm_enrolment(
    db: &PgPool,
    owner_id: Uuid,
    code: &OneTimeCode,
    now: OffsetDateTime,
    keep: Option<Id>,
) -> anyhow::Result<Enrolment> {
    let mut tx = db.begin().await?;
    let pending = two_factor::find(&mut *tx, owner_id)
        .await?
        .filter(|stored| stored.enabled_at.is_none());
    let Some(pending) = pending else {
        return Ok(Enrolment::NotEnrolling);
    };
    let Some(step) = pending.secret.step_of(code, now) else {
        return Ok(Enrolment::WrongCode);
    };
    if !two_factor::enable(&mut *tx, owner_id, step_number(step), now).await? {
        return Ok(Enrolment::NotEnrolling);
    }
    let codes = new_recovery_codes(&mut tx, owner_id).await?;
    sessions::delete_for_user(&mut tx, owner_id, keep).await?;
    tx.commit().await?;
    Ok(Enrolment::Enabled(codes))
}

/// Whether `factor` is right for the account now, using it up: an app code's time step is never
/// accepted again, and a recovery code works once.
pub async fn verify(
    db: &PgPool,
    owner_id: Uuid,
    factor: &SecondFactor,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    match factor {
        SecondFactor::Code(code) => {
            let enabled = two_factor::find(db, owner_id)
                .await?
                .filter(|stored| stored.enabled_at.is_some());
            let Some(step) = enabled.and_then(|stored| stored.secret.step_of(code, now)) else {
                return Ok(false);
            };
            two_factor::accept_step(db, owner_id, step_number(step)).await
        }
        SecondFactor::Recovery(code) => {
            two_factor::use_recovery_code(db, owner_id, code, now).await
        }
    }
}

/// New recovery codes for the account, the old ones no longer working; to be shown this once.
pub async fn regenerate_recovery_codes(
    db: &PgPool,
    owner_id: Uuid,
) -> sqlx::Result<Vec<RecoveryCode>> {
    let mut tx = db.begin().await?;
    let codes = new_recovery_codes(&mut tx, owner_id).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor sign-in off. Every session of the account but `keep` ends too: a weaker
/// sign-in should not leave sessions nobody is watching.
pub async fn disable(db: &PgPool, owner_id: Uuid, keep: Option<Id>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    two_factor::delete(&mut tx, owner_id).await?;
    sessions::delete_for_user(&mut tx, owner_id, keep).await?;
    tx.commit().await
}

async fn new_recovery_codes(
    tx: &mut sqlx::PgConnection,
    owner_id: Uuid,
) -> sqlx::Result<Vec<RecoveryCode>> {
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES)
        .map(|_| RecoveryCode::generate())
        .collect();
    two_factor::replace_recovery_codes(tx, owner_id, &codes).await?;
    Ok(codes)
}

/// A step as the database keeps it; steps of 30 s since 1970 are far below `i64::MAX`.
fn step_number(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// A login that gave the right password and waits for the second factor, kept in the session.
/// It signs nobody in: the session holds no user until the code is right.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    user_id: Uuid,
    started_at: i64,
    /// A digest of the password hash the login was started with, so a password changed or reset
    /// meanwhile voids it.
    password: String,
    /// Where to go once signed in (a local path, or empty).
    pub next: String,
    /// What the login proved before the code was asked for.
    #[serde(default)]
    pub first: FirstFactor,
}

impl PendingLogin {
    pub fn new(user: &User, first: FirstFactor, now: OffsetDateTime, next: String) -> Self {
        Self {
            user_id: user.id,
            started_at: now.unix_timestamp(),
            password: password_digest(user),
            next,
            first,
        }
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// Whether the login may still be finished for `user` (as read afresh) at `now`: within
    /// [`PENDING_LIFETIME`], the account still active and its password unchanged.
    pub fn holds_for(&self, user: &User, now: OffsetDateTime) -> bool {
        let age = now.unix_timestamp() - self.started_at;
        let lifetime = i64::try_from(PENDING_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        user.id == self.user_id
            && user.is_active()
            && (0..lifetime).contains(&age)
            && password_digest(user) == self.password
    }
}

fn password_digest(user: &User) -> String {
    Sha256::digest(user.password_hash.as_deref().unwrap_or_default().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
