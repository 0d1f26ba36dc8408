use axum::{extract::FromRequestParts, http::request::Parts};

use super::error::AppError;
use crate::{auth::AuthSession, store::users::User};

/// The signed-in user; anyone else is sent to log in and brought back afterwards.
pub struct CurrentUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let auth = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| anyhow::anyhow!("the auth layer is missing: {message}"))?;
        match auth.user {
            Some(user) => Ok(CurrentUser(user)),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned();
                Err(AppError::LoginRequired { next })
            }
        }
    }
}
