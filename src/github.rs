//! GitHub as a way to sign in (an OAuth App, web flow with PKCE): where to send the browser, and
//! the calls made with the code it brings back. Written with our own reqwest client, redirects
//! off, so a token or code is never carried to another host.

use std::time::Duration;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::config::GitHubSettings;

/// What we ask for: the profile (id and login) and the addresses, to find the verified primary.
pub const SCOPE: &str = "read:user user:email";
/// GitHub's API refuses requests without one.
const USER_AGENT: &str = concat!("txtcv/", env!("CARGO_PKG_VERSION"));

/// Who GitHub says signed in. `id` is the only stable key: a login and an email can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    pub id: i64,
    pub login: String,
    /// The address that is both primary and verified, if there is one.
    pub email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The token endpoint's refusal (it answers them with HTTP 200 and an `error` field):
    /// `bad_verification_code` for an expired or used code, and the like.
    #[error("GitHub refused the sign-in: {0}")]
    Refused(String),
    #[error("GitHub answered {0}")]
    Status(StatusCode),
    #[error("GitHub could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
}

pub struct GitHub {
    client: reqwest::Client,
    client_id: String,
    client_secret: SecretString,
    authorize_url: reqwest::Url,
    token_url: String,
    api_url: String,
}

/// The PKCE S256 challenge for `verifier` (RFC 7636): what GitHub sees before the code exists.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Profile {
    id: i64,
    login: String,
}

#[derive(Deserialize)]
struct Address {
    email: String,
    primary: bool,
    verified: bool,
}

impl GitHub {
    /// `None` when sign-in with GitHub is not configured.
    pub fn from_settings(settings: &GitHubSettings) -> anyhow::Result<Option<Self>> {
        let (Some(client_id), Some(client_secret)) = (&settings.client_id, &settings.client_secret)
        else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Some(Self {
            client,
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            authorize_url: reqwest::Url::parse(&settings.authorize_url)
                .context("invalid configuration: github.authorize_url is not a URL")?,
            token_url: settings.token_url.clone(),
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
        }))
    }

    /// Where to send the browser: GitHub's consent page, bound to `state` and the PKCE challenge
    /// of `verifier`, both of which only this browser's session knows.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, verifier: &str) -> String {
        let mut url = self.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", SCOPE)
            .append_pair("state", state)
            .append_pair("code_challenge", &pkce_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Trades the `code` GitHub sent back for a token, and reads who it belongs to.
    pub async fn user_for_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<GitHubUser, GitHubError> {
        let token = self.exchange(code, verifier, redirect_uri).await?;
        let profile: Profile = self.api(&token, "/user").await?;
        let addresses: Vec<Address> = self.api(&token, "/user/emails").await?;
        let email = addresses
            .into_iter()
            .find(|address| address.primary && address.verified)
            .map(|address| address.email);
        Ok(GitHubUser {
            id: profile.id,
            login: profile.login,
            email,
        })
    }

    async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, GitHubError> {
        let response = self
            .client
            .post(&self.token_url)
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await?;
        let answer: TokenAnswer = checked(response).await?.json().await?;
        match (answer.access_token, answer.error) {
            (Some(token), None) => Ok(SecretString::from(token)),
            (_, error) => Err(GitHubError::Refused(
                error.unwrap_or_else(|| "no token in the answer".into()),
            )),
        }
    }

    async fn api<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        path: &str,
    ) -> Result<T, GitHubError> {
        let response = self
            .client
            .get(format!("{}{path}", self.api_url))
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .bearer_auth(token.expose_secret())
            .send()
            .await?;
        Ok(checked(response).await?.json().await?)
    }
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, GitHubError> {
    match response.status() {
        status if status.is_success() => Ok(response),
        status => Err(GitHubError::Status(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
