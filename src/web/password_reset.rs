//! `/password/forgot` and `/password/reset/{secret}`: a forgotten password is reset through a
//! single-use link mailed to the account's address, which works for ten minutes.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use secrecy::SecretString;
use serde::Deserialize;

use super::{client::RequestOrigin, error::AppError, host::PublicUrls, layout::Layout};
use crate::{
    accounts,
    domain::{LinkSecret, NewPassword},
    state::AppState,
    store::auth_attempts::{self, Limit, Scope, Verdict},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset/{secret}", get(reset_page).post(reset))
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    /// Shown after a request: the same words whether or not an account uses the address.
    sent: bool,
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

async fn forgot_page(layout: Layout) -> Result<Html<String>, AppError> {
    let page = ForgotPage {
        layout,
        email: String::new(),
        sent: false,
    };
    Ok(Html(page.render()?))
}

/// Answers the same page, after the same work, whether or not an account uses the address: the
/// mail is only queued (no request waits for SMTP), and an unknown address costs the same
/// lookup.
async fn forgot(
    State(state): State<AppState>,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let email = form.email.trim().to_lowercase();
    let limits = &state.settings.auth;
    let (address, max) = (origin.addr.to_string(), limits.max_reset_requests);
    let throttles = [
        Limit {
            scope: Scope::ResetAddress,
            key: &address,
            max,
        },
        Limit {
            scope: Scope::ResetEmail,
            key: &email,
            max,
        },
    ];
    let window = Duration::from_secs(limits.throttle_window_secs);
    if let Verdict::Wait(wait) = auth_attempts::take(&state.db, window, &throttles).await? {
        return Err(AppError::TooManyRequests { retry_after: wait });
    }
    // A NUL byte or an address no account could have is answered like any unknown one.
    if !email.is_empty() && !email.contains(char::is_control) {
        let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
        let now = state.clock.now();
        accounts::request_password_reset(&state.db, &email, &app_url, &origin, now).await?;
    }
    let page = ForgotPage {
        layout,
        email: form.email,
        sent: true,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    layout: Layout,
    secret: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/link_unusable.html")]
struct LinkUnusablePage {
    layout: Layout,
}

#[derive(Template)]
#[template(path = "auth/reset_done.html")]
struct ResetDonePage {
    layout: Layout,
    username: String,
}

/// One page for every mailed link that does not work: unknown, used, expired or mangled.
pub(super) fn link_unusable(layout: Layout) -> Result<Response, AppError> {
    let page = LinkUnusablePage { layout };
    Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response())
}

async fn reset_page(
    State(state): State<AppState>,
    layout: Layout,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let valid = match LinkSecret::parse(&secret) {
        Some(secret) => {
            accounts::reset_link_is_valid(&state.db, &secret, state.clock.now()).await?
        }
        None => false,
    };
    if !valid {
        return link_unusable(layout);
    }
    let page = ResetPage {
        layout,
        secret,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    new_password: String,
}

async fn reset(
    State(state): State<AppState>,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    let Some(link) = LinkSecret::parse(&secret) else {
        return link_unusable(layout);
    };
    let password = match NewPassword::parse(&form.new_password) {
        Ok(password) => password,
        Err(error) => {
            let page = ResetPage {
                layout,
                secret,
                error: Some(error.to_string()),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    let hash = state
        .hasher
        .hash(SecretString::from(password.expose()))
        .await?;
    let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
    let now = state.clock.now();
    let reset = accounts::reset_password(&state.db, &link, &hash, &app_url, &origin, now).await?;
    match reset {
        Some(user) => {
            state.caches.users.invalidate(&user.id);
            let page = ResetDonePage {
                layout,
                username: user.username,
            };
            Ok(Html(page.render()?).into_response())
        }
        None => link_unusable(layout),
    }
}
