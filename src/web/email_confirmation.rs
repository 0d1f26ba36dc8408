//! Confirming an account's address: `GET /email/confirm/{secret}` follows the link mailed at
//! signup (it works signed in or not, on any device), and `POST /email/confirm` mails it again.

use std::time::Duration;

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use super::{
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    host::PublicUrls,
    layout::{Flash, FlashKind, Layout},
    password_reset::link_unusable,
};
use crate::{
    accounts::{self, Confirmation},
    auth::AuthSession,
    domain::LinkSecret,
    state::AppState,
    store::auth_attempts::{self, Limit, Scope, Verdict},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/email/confirm", post(send_again))
        .route("/email/confirm/{secret}", get(confirm))
}

#[derive(Template)]
#[template(path = "auth/email_confirmed.html")]
struct ConfirmedPage {
    layout: Layout,
    email: String,
    /// The link changed the account's address to `email`, rather than confirming it.
    changed: bool,
    signed_in: bool,
}

#[derive(Template)]
#[template(path = "auth/email_taken.html")]
struct TakenPage {
    layout: Layout,
    email: String,
}

async fn confirm(
    State(state): State<AppState>,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let outcome = match LinkSecret::parse(&secret) {
        Some(secret) => {
            accounts::confirm_email(&state.db, &secret, &origin, state.clock.now()).await?
        }
        None => Confirmation::Invalid,
    };
    let (owner_id, email, changed) = match outcome {
        Confirmation::Confirmed { owner_id, email } => (owner_id, email, false),
        Confirmation::Changed { owner_id, email } => (owner_id, email, true),
        Confirmation::AddressTaken { email } => {
            let page = TakenPage { layout, email };
            return Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response());
        }
        Confirmation::AddressChanged | Confirmation::Invalid => return link_unusable(layout),
    };
    // This process shows the change at once; the others hear of it at commit.
    state.caches.users.invalidate(&owner_id);
    let page = ConfirmedPage {
        signed_in: layout.user.is_some(),
        layout,
        email,
        changed,
    };
    Ok(Html(page.render()?).into_response())
}

async fn send_again(
    State(state): State<AppState>,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let back = Redirect::to("/dashboard").into_response();
    if user.email_confirmed() {
        Flash::push(
            &auth.session,
            FlashKind::Info,
            "Your address is already confirmed.",
        )
        .await;
        return Ok(back);
    }
    let limits = &state.settings.auth;
    let per_account = Limit {
        scope: Scope::ConfirmationMail,
        key: &user.id.to_string(),
        max: limits.max_confirmation_mails,
    };
    let window = Duration::from_secs(limits.throttle_window_secs);
    if let Verdict::Wait(wait) = auth_attempts::take(&state.db, window, &[per_account]).await? {
        return Err(AppError::TooManyRequests { retry_after: wait });
    }
    let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
    let mut tx = state.db.begin().await?;
    accounts::send_confirmation(&mut tx, &user, &app_url, state.clock.now()).await?;
    tx.commit().await?;
    let message = format!(
        "A new confirmation link is on its way to {}. Earlier links no longer work.",
        user.email
    );
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(back)
}
