//! What every page's frame needs: who is signed in (for the navigation) and the one-time flash
//! message left by the previous action.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use axum_login::AuthzBackend;

use crate::auth::{AuthSession, Permission};

const FLASH_KEY: &str = "flash";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn css_class(self) -> &'static str {
        match self {
            Self::Success => "flash-success",
            Self::Info => "flash-info",
            Self::Error => "flash-error",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

impl Flash {
    /// Leaves a message for the next page this session shows.
    pub async fn push(session: &Session, kind: FlashKind, message: impl Into<String>) {
        let flash = Flash {
            kind,
            message: message.into(),
        };
        if let Err(error) = session.insert(FLASH_KEY, flash).await {
            // Losing a confirmation message is not worth failing the action that succeeded.
            tracing::warn!(%error, "cannot store a flash message");
        }
    }

    /// Removes the message only when there is one: a removal marks the session changed, and a
    /// page view that changed nothing must not write the session back.
    async fn take(session: &Session) -> Option<Flash> {
        session.get_value(FLASH_KEY).await.ok()??;
        session.remove(FLASH_KEY).await.ok().flatten()
    }
}

#[derive(Debug, Clone)]
pub struct NavUser {
    pub username: String,
    /// Shows the link to the admin area.
    pub is_admin: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub user: Option<NavUser>,
    pub flash: Option<Flash>,
}

impl<S: Send + Sync> FromRequestParts<S> for Layout {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(auth) = AuthSession::from_request_parts(parts, state).await else {
            return Ok(Layout::default());
        };
        let user = match &auth.user {
            Some(user) => Some(NavUser {
                username: user.username.clone(),
                // A failed check shows no link; the admin area checks again for itself.
                is_admin: auth
                    .backend
                    .has_perm(user, Permission::Moderate)
                    .await
                    .unwrap_or(false),
            }),
            None => None,
        };
        let flash = Flash::take(&auth.session).await;
        Ok(Layout { user, flash })
    }
}
