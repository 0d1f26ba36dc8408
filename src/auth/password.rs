//! Argon2id hashing off the async runtime, with a bound on how many run at once so that a flood
//! of logins queues up instead of starving every other request of CPU and memory.

use std::sync::Arc;

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// OWASP's recommended argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP's argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Checked against when the account does not exist, so a miss costs as long as a wrong
    /// password and the timing does not tell which accounts exist.
    dummy_hash: Arc<str>,
}

impl Hasher {
    pub fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let dummy_hash = argon2()
            .hash_password(b"not a real password, only a timing twin")
            .map_err(|e| anyhow::anyhow!("cannot hash the timing password: {e}"))?
            .to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        self.run(move || {
            argon2()
                .hash_password(password.expose_secret().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))
        })
        .await
    }

    /// Whether `password` matches `hash`; with no hash (no such account) it does the same work
    /// and answers no.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| anyhow::anyhow!("a stored password hash is malformed: {e}"))?;
                Ok(argon2()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the hasher was shut down")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("a hashing task panicked")?
    }
}
