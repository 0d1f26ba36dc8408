//! Re-authentication before a sensitive change (ASVS 7.5.1): changing the email or password,
//! two-factor settings, deleting the account and creating an access token ask for the password
//! (and a code when two-factor sign-in is on), unless the session signed in, or confirmed, within
//! the last five minutes. The forms show the fields only when they are needed.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::error::AppError;
use crate::{
    auth::{AuthSession, PasswordCheck},
    domain::{EventKind, SecondFactor},
    state::AppState,
    store::{
        security_events::{self, Origin},
        users::User,
    },
};

/// How long a sign-in or a confirmation spares the member from confirming again.
pub const RECENT: Duration = Duration::from_secs(5 * 60);

/// The session key holding when the session last proved its password (a Unix time).
const AUTHENTICATED_AT_KEY: &str = "authenticated_at";

/// Records that the session proved who it is at `now`.
pub(super) async fn mark_authenticated(
    session: &Session,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    session
        .insert(AUTHENTICATED_AT_KEY, now.unix_timestamp())
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep when the session signed in: {e}"))?;
    Ok(())
}

async fn is_recent(session: &Session, now: OffsetDateTime) -> bool {
    let Ok(Some(at)) = session.get::<i64>(AUTHENTICATED_AT_KEY).await else {
        return false;
    };
    let age = now.unix_timestamp().saturating_sub(at);
    (0..=RECENT.as_secs() as i64).contains(&age)
}

/// Which fields a sensitive form shows to confirm the change.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reauth {
    pub password: bool,
    pub code: bool,
    /// An account without a password and without two-factor sign-in confirms by signing in
    /// with GitHub again.
    pub github: bool,
    has_password: bool,
}

impl Reauth {
    /// What `user`'s session must give now before a sensitive change.
    pub async fn needed(
        state: &AppState,
        auth: &AuthSession,
        user: &User,
    ) -> Result<Self, AppError> {
        let has_password = user.has_password();
        if is_recent(&auth.session, state.clock.now()).await {
            return Ok(Self {
                has_password,
                ..Self::default()
            });
        }
        let code = auth
            .backend
            .has_second_factor(user)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(Self {
            password: has_password,
            code,
            github: !has_password && !code,
            has_password,
        })
    }

    pub fn any(self) -> bool {
        self.password || self.code || self.github
    }

    /// For a form that asks for the password in a field of its own, always.
    pub fn code_only(self) -> Self {
        Self {
            password: false,
            ..self
        }
    }

    /// For a form that asks for the password however recently the session signed in (when the
    /// account has one).
    pub fn with_password(self) -> Self {
        Self {
            password: self.has_password,
            ..self
        }
    }

    /// The password a form that always asks for it carries, when the account has one.
    pub fn always<'a>(user: &User, password: &'a str) -> Option<&'a str> {
        user.has_password().then_some(password)
    }
}

/// The fields a sensitive form carries to confirm it; empty when not asked for.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ReauthFields {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub code: String,
}

/// Why the fields did not confirm the change, by field.
#[derive(Debug, Default)]
pub(super) struct ReauthErrors {
    pub password: Option<String>,
    pub code: Option<String>,
    /// Set when only a fresh sign-in with GitHub can confirm the change.
    pub github: Option<String>,
}

/// Whether the session may make a sensitive change now: it signed in or confirmed recently, or
/// `fields` hold the password and, with two-factor sign-in on, a current code (used up).
/// `password` is checked even in a recent session when the form always asks for it (changing
/// the password). Every check counts against the login throttles; a right answer renews the
/// session's five minutes.
pub(super) async fn confirm(
    state: &AppState,
    auth: &AuthSession,
    user: &User,
    origin: &Origin,
    fields: &ReauthFields,
    always_password: Option<&str>,
) -> Result<Result<(), ReauthErrors>, AppError> {
    let needed = Reauth::needed(state, auth, user).await?;
    if needed.github {
        return Ok(Err(ReauthErrors {
            github: Some("Sign in with GitHub again to confirm this change.".into()),
            ..ReauthErrors::default()
        }));
    }
    let password = always_password.or(needed.password.then_some(fields.password.as_str()));
    // A code that cannot be one is refused before any check, so a typo costs no attempt.
    let factor = if needed.code {
        match SecondFactor::parse(&fields.code) {
            Ok(factor) => Some(factor),
            Err(error) => {
                return Ok(Err(ReauthErrors {
                    code: Some(error.to_string()),
                    password: password
                        .is_some_and(str::is_empty)
                        .then(|| "Enter your password.".to_owned()),
                    github: None,
                }));
            }
        }
    } else {
        None
    };
    if let Some(password) = password
        && !password_matches(state, auth, user, origin, password).await?
    {
        return Ok(Err(ReauthErrors {
            password: Some("That is not your password.".into()),
            ..ReauthErrors::default()
        }));
    }
    if let Some(factor) = factor {
        let check = auth
            .backend
            .check_second_factor(user, &factor, origin.addr, state.clock.now())
            .await
            .map_err(anyhow::Error::from)?;
        match check {
            PasswordCheck::Right => {}
            PasswordCheck::Wrong => {
                record_failure(state, user, origin, "a wrong code, confirming a change").await?;
                return Ok(Err(ReauthErrors {
                    code: Some("That code is not right, or was used already.".into()),
                    ..ReauthErrors::default()
                }));
            }
            PasswordCheck::Throttled(wait) => {
                return Err(AppError::TooManyRequests { retry_after: wait });
            }
        }
        if matches!(factor, SecondFactor::Recovery(_)) {
            security_events::record(&state.db, user.id, EventKind::RecoveryCodeUsed, "", origin)
                .await?;
        }
    }
    if needed.any() {
        mark_authenticated(&auth.session, state.clock.now()).await?;
        security_events::record(&state.db, user.id, EventKind::Reauthenticated, "", origin).await?;
    }
    Ok(Ok(()))
}

/// Whether `password` is the member's own, under the login throttles; too many wrong ones in a
/// row answer 429 without a check. A wrong one is written to the security log.
pub(super) async fn password_matches(
    state: &AppState,
    auth: &AuthSession,
    user: &User,
    origin: &Origin,
    password: &str,
) -> Result<bool, AppError> {
    let check = auth
        .backend
        .confirm_password(user, SecretString::from(password), origin.addr)
        .await
        .map_err(anyhow::Error::from)?;
    match check {
        PasswordCheck::Right => Ok(true),
        PasswordCheck::Wrong => {
            record_failure(state, user, origin, "a wrong password, confirming a change").await?;
            Ok(false)
        }
        PasswordCheck::Throttled(wait) => Err(AppError::TooManyRequests { retry_after: wait }),
    }
}

async fn record_failure(
    state: &AppState,
    user: &User,
    origin: &Origin,
    detail: &str,
) -> Result<(), AppError> {
    security_events::record(&state.db, user.id, EventKind::SignInFailed, detail, origin).await?;
    Ok(())
}
