use std::{collections::HashSet, net::IpAddr, time::Duration};

use time::OffsetDateTime;

use axum_login::{AuthUser, AuthnBackend, AuthzBackend};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::Hasher;
use crate::{
    cache::UserCache,
    domain::{Role, SecondFactor},
    store::{
        auth_attempts::{self, Verdict},
        two_factor as stored_two_factor,
        users::{self, User},
    },
    two_factor,
};

pub type AuthSession = axum_login::AuthSession<Backend>;

impl AuthUser for User {
    type Id = Uuid;

    fn id(&self) -> Uuid {
        self.id
    }

    // Sessions are ended by deleting them (`store::sessions`), which every process hears at
    // commit, never by a changing hash: a password change would otherwise make another process,
    // still holding the session's old record for a moment, take the owner's own session for a
    // stale one and sign them out. So the hash is what never changes: the account itself.
    fn session_auth_hash(&self) -> &[u8] {
        self.id.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    /// A username or an email address.
    pub login: String,
    pub password: SecretString,
    /// Where the attempt comes from, for the throttles.
    pub client: IpAddr,
}

/// How many password checks an account and an address get (`auth.max_login_failures` per
/// `auth.throttle_window_secs`).
#[derive(Debug, Clone, Copy)]
pub struct PasswordThrottle {
    pub max_failures: u32,
    pub window: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Hashing(#[from] anyhow::Error),
}

/// What a login attempt found. Suspended accounts are told so, but only once the password was
/// right, so the answer reveals nothing to someone guessing.
#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(User),
    /// The password was right, and the account signs in with a second factor too: nobody is
    /// signed in until it is given.
    SecondFactorNeeded(User),
    Suspended,
    /// No such account, or the wrong password; the account, when there is one, for its
    /// security log.
    WrongCredentials(Option<Uuid>),
    /// Too many wrong passwords: no check was made.
    Throttled(Duration),
}

/// What a throttled check found: a signed-in member's password (before a sensitive change), or
/// a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Right,
    Wrong,
    Throttled(Duration),
}

impl From<Result<bool, Duration>> for PasswordCheck {
    fn from(matches: Result<bool, Duration>) -> Self {
        match matches {
            Ok(true) => Self::Right,
            Ok(false) => Self::Wrong,
            Err(wait) => Self::Throttled(wait),
        }
    }
}

#[derive(Clone)]
pub struct Backend {
    db: PgPool,
    hasher: Hasher,
    users: UserCache,
    throttle: PasswordThrottle,
}

impl Backend {
    pub fn new(db: PgPool, hasher: Hasher, users: UserCache, throttle: PasswordThrottle) -> Self {
        Self {
            db,
            hasher,
            users,
            throttle,
        }
    }

    pub async fn check(&self, credentials: Credentials) -> Result<LoginOutcome, BackendError> {
        // No account's name or address holds a control character (PostgreSQL's text refuses a
        // NUL byte): such a login names no account, and is checked like any unknown one.
        let user = if credentials.login.contains(char::is_control) {
            None
        } else {
            users::find_by_login(&self.db, &credentials.login).await?
        };
        // A known account is counted by its id, however it was named (username or email).
        let account = match &user {
            Some(user) => user.id.to_string(),
            None => credentials.login.trim().to_lowercase(),
        };
        let matches = self
            .verify_throttled(
                user.as_ref(),
                &account,
                credentials.password,
                credentials.client,
            )
            .await?;
        Ok(match (user, matches) {
            (_, Err(wait)) => LoginOutcome::Throttled(wait),
            (Some(user), Ok(true)) if user.is_active() => {
                if self.has_second_factor(&user).await? {
                    LoginOutcome::SecondFactorNeeded(user)
                } else {
                    LoginOutcome::SignedIn(user)
                }
            }
            (Some(_), Ok(true)) => LoginOutcome::Suspended,
            (user, Ok(_)) => LoginOutcome::WrongCredentials(user.map(|user| user.id)),
        })
    }

    /// Checks a signed-in member's password before a sensitive change, under the same throttles
    /// as login, so a stolen session cannot be used to guess the password behind it.
    pub async fn confirm_password(
        &self,
        user: &User,
        password: SecretString,
        client: IpAddr,
    ) -> Result<PasswordCheck, BackendError> {
        let matches = self
            .verify_throttled(Some(user), &user.id.to_string(), password, client)
            .await?;
        Ok(PasswordCheck::from(matches))
    }

    /// Whether `user` signs in with a second factor as well as the password.
    pub async fn has_second_factor(&self, user: &User) -> Result<bool, BackendError> {
        Ok(stored_two_factor::is_enabled(&self.db, user.id).await?)
    }

    /// Checks (and uses up) `user`'s second factor, under the same throttles as passwords: a
    /// wrong code counts as a wrong password, so knowing the password buys no more guesses.
    pub async fn check_second_factor(
        &self,
        user: &User,
        factor: &SecondFactor,
        client: IpAddr,
        now: OffsetDateTime,
    ) -> Result<PasswordCheck, BackendError> {
        let right = async { Ok(two_factor::verify(&self.db, user.id, factor, now).await?) };
        let matches = self.throttled(&user.id.to_string(), client, right).await?;
        Ok(PasswordCheck::from(matches))
    }

    async fn verify_throttled(
        &self,
        user: Option<&User>,
        account: &str,
        password: SecretString,
        client: IpAddr,
    ) -> Result<Result<bool, Duration>, BackendError> {
        // An account without a password is checked like an unknown one: never a match, in the
        // same time.
        let hash = user.and_then(|u| u.password_hash.clone());
        let right = async { Ok(self.hasher.verify(password, hash).await?) };
        self.throttled(account, client, right).await
    }

    /// Counts the check before it runs, so no burst gets more than the limit verified; a right
    /// answer is not held against anyone.
    async fn throttled(
        &self,
        account: &str,
        client: IpAddr,
        check: impl Future<Output = Result<bool, BackendError>>,
    ) -> Result<Result<bool, Duration>, BackendError> {
        let verdict = auth_attempts::take_password_check(
            &self.db,
            self.throttle.window,
            self.throttle.max_failures,
            account,
            &client.to_string(),
        )
        .await?;
        let taken = match verdict {
            Verdict::Wait(wait) => return Ok(Err(wait)),
            Verdict::Allowed(taken) => taken,
        };
        let matches = check.await?;
        if matches {
            auth_attempts::give_back(&self.db, taken).await?;
        }
        Ok(Ok(matches))
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, credentials: Credentials) -> Result<Option<User>, BackendError> {
        Ok(match self.check(credentials).await? {
            LoginOutcome::SignedIn(user) => Some(user),
            // A password alone never signs in an account that has a second factor.
            LoginOutcome::SecondFactorNeeded(_)
            | LoginOutcome::Suspended
            | LoginOutcome::WrongCredentials(_)
            | LoginOutcome::Throttled(_) => None,
        })
    }

    // Runs on every request with a session, so it is served from memory when hot. A suspension
    // or password change evicts the user in every process at commit (see `crate::cache`), so a
    // suspended account's sessions stop working at once; at the latest after
    // `cache::FRESH_FOR` + `cache::SPREAD`.
    async fn get_user(&self, id: &Uuid) -> Result<Option<User>, BackendError> {
        let user = match self.users.get(id) {
            Some(user) => Some(user),
            None => {
                let start = self.users.read_start();
                let user = users::find_by_id(&self.db, *id).await?;
                if let Some(user) = &user {
                    self.users.keep(start, user.id, user.clone());
                }
                user
            }
        };
        Ok(user.filter(User::is_active))
    }
}

/// What an account may do beyond keeping its own CV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Find accounts, act on them, resolve reports, read the audit log.
    Moderate,
}

// Permissions follow the role read fresh on every request (`get_user`), so a grant or a revoke
// takes effect at the account's next click.
impl AuthzBackend for Backend {
    type Permission = Permission;

    async fn get_user_permissions(&self, user: &User) -> Result<HashSet<Permission>, BackendError> {
        Ok(match user.role {
            Role::Admin => HashSet::from([Permission::Moderate]),
            Role::Member => HashSet::new(),
        })
    }
}
