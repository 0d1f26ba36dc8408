use axum::{extract::FromRequestParts, http::request::Parts};

use super::error::AppError;
use crate::{auth::AuthSession, store::users::User};

/// The signed-in user; anyone else is sent to log in and brought back afterwards.
pub struct CurrentUser(pub User);

/// The signed-in user; anyone else gets the 404 of a page that does not exist. For routes where a
/// redirect to the login page would be wrong, such as a partial that htmx polls.
pub struct SignedInOr404(pub User);

/// Who is signed in, if anyone.
async fn signed_in<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Option<User>, AppError> {
    let auth = AuthSession::from_request_parts(parts, state)
        .await
        .map_err(|(_, message)| anyhow::anyhow!("the auth layer is missing: {message}"))?;
    Ok(auth.user)
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match signed_in(parts, state).await? {
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

impl<S: Send + Sync> FromRequestParts<S> for SignedInOr404 {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let user = signed_in(parts, state).await?.ok_or(AppError::NotFound)?;
        Ok(SignedInOr404(user))
    }
}
