use std::collections::HashSet;

use axum_login::{AuthUser, AuthnBackend, AuthzBackend};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::Hasher;
use crate::{
    cache::UserCache,
    domain::Role,
    store::users::{self, User},
};

pub type AuthSession = axum_login::AuthSession<Backend>;

impl AuthUser for User {
    type Id = Uuid;

    fn id(&self) -> Uuid {
        self.id
    }

    // A session remembers this; when the password changes, every other session stops matching
    // and is signed out.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    /// A username or an email address.
    pub login: String,
    pub password: SecretString,
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
    Suspended,
    WrongCredentials,
}

#[derive(Clone)]
pub struct Backend {
    db: PgPool,
    hasher: Hasher,
    users: UserCache,
}

impl Backend {
    pub fn new(db: PgPool, hasher: Hasher, users: UserCache) -> Self {
        Self { db, hasher, users }
    }

    pub async fn check(&self, credentials: Credentials) -> Result<LoginOutcome, BackendError> {
        let user = users::find_by_login(&self.db, &credentials.login).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let matches = self.hasher.verify(credentials.password, hash).await?;
        Ok(match user {
            Some(user) if matches && user.is_active() => LoginOutcome::SignedIn(user),
            Some(_) if matches => LoginOutcome::Suspended,
            _ => LoginOutcome::WrongCredentials,
        })
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, credentials: Credentials) -> Result<Option<User>, BackendError> {
        Ok(match self.check(credentials).await? {
            LoginOutcome::SignedIn(user) => Some(user),
            LoginOutcome::Suspended | LoginOutcome::WrongCredentials => None,
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
