//! `/settings`: a member changes their password or email, or deletes their own account. There
//! are no ids in these routes: each acts on the signed-in account and nothing else.

use std::net::IpAddr;

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    admin::block_for,
    client::ClientAddr,
    current_user::CurrentUser,
    error::AppError,
    host::PublicUrls,
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    accounts,
    auth::{AuthSession, PasswordCheck},
    domain::{Email, NewPassword},
    state::AppState,
    store::{
        moderation, sessions,
        users::{self, InsertUserError, User},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/password", post(change_password))
        .route("/settings/email", post(change_email))
        .route("/settings/delete", post(delete_account))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    user: User,
    email: String,
    errors: Errors,
    block_days: i64,
}

#[derive(Default)]
struct Errors {
    current_password: Option<String>,
    new_password: Option<String>,
    email: Option<String>,
    delete: Option<String>,
}

fn render(
    state: &AppState,
    layout: Layout,
    user: User,
    email: Option<String>,
    errors: Errors,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        layout,
        email: email.unwrap_or_else(|| user.email.clone()),
        user,
        errors,
        block_days: state.settings.moderation.username_block_days,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

async fn page(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        layout,
        email: user.email.clone(),
        user,
        errors: Errors::default(),
        block_days: state.settings.moderation.username_block_days,
    };
    Ok(Html(page.render()?).into_response())
}

/// Whether `password` is the member's own, under the login throttles; too many wrong ones in a
/// row answer 429 without a check.
pub(super) async fn password_matches(
    auth: &AuthSession,
    user: &User,
    password: &str,
    client: IpAddr,
) -> Result<bool, AppError> {
    let check = auth
        .backend
        .confirm_password(user, SecretString::from(password), client)
        .await
        .map_err(anyhow::Error::from)?;
    match check {
        PasswordCheck::Right => Ok(true),
        PasswordCheck::Wrong => Ok(false),
        PasswordCheck::Throttled(wait) => Err(AppError::TooManyRequests { retry_after: wait }),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    ClientAddr(client): ClientAddr,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    if !password_matches(&auth, &user, &form.current_password, client).await? {
        let errors = Errors {
            current_password: Some("That is not your current password.".into()),
            ..Errors::default()
        };
        return render(&state, layout, user, None, errors);
    }
    let password = match NewPassword::parse(&form.new_password) {
        Ok(password) => password,
        Err(error) => {
            let errors = Errors {
                new_password: Some(error.to_string()),
                ..Errors::default()
            };
            return render(&state, layout, user, None, errors);
        }
    };
    let hash = state
        .hasher
        .hash(SecretString::from(password.expose()))
        .await?;
    // Other browsers are signed out in the same transaction; this one stays signed in.
    let mut tx = state.db.begin().await?;
    users::set_password_hash(&mut *tx, user.id, &hash).await?;
    sessions::delete_for_user(&mut *tx, user.id, auth.session.id()).await?;
    tx.commit().await?;
    let message = "Your password is changed. Every other session has been signed out.";
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn change_email(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let mut tx = state.db.begin().await?;
    let problem = match Email::parse(&form.email) {
        Err(error) => error.to_string(),
        Ok(email) => match users::set_email(&mut *tx, user.id, &email).await {
            Ok(updated) if updated.email_confirmed() => {
                tx.commit().await?;
                let message = format!("Your email is {} now.", updated.email);
                Flash::push(&auth.session, FlashKind::Success, message).await;
                return Ok(Redirect::to("/settings").into_response());
            }
            Ok(updated) => {
                let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
                accounts::send_confirmation(&mut tx, &updated, &app_url, state.clock.now()).await?;
                tx.commit().await?;
                let message = format!(
                    "Your email is {} now. We sent a link there to confirm it.",
                    updated.email
                );
                Flash::push(&auth.session, FlashKind::Success, message).await;
                return Ok(Redirect::to("/settings").into_response());
            }
            Err(InsertUserError::EmailTaken) => {
                "Another account already uses this email.".to_owned()
            }
            Err(error) => return Err(anyhow::Error::from(error).into()),
        },
    };
    let errors = Errors {
        email: Some(problem),
        ..Errors::default()
    };
    render(&state, layout, user, Some(form.email), errors)
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
}

async fn delete_account(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    ClientAddr(client): ClientAddr,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    if !password_matches(&auth, &user, &form.password, client).await? {
        let errors = Errors {
            delete: Some("That is not your password; nothing was deleted.".into()),
            ..Errors::default()
        };
        return render(&state, layout, user, None, errors);
    }
    let mut tx = state.db.begin().await?;
    moderation::delete_account(&mut tx, &user, block_for(&state)).await?;
    tx.commit().await?;
    auth.logout()
        .await
        .map_err(|e| anyhow::anyhow!("cannot end the session: {e}"))?;
    let message = "Your account and everything in it are deleted. Goodbye!";
    Flash::push(&auth.session, FlashKind::Info, message).await;
    Ok(Redirect::to("/").into_response())
}
