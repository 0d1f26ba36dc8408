//! `/settings`: a member changes their password or email, or deletes their own account. There
//! are no ids in these routes: each acts on the signed-in account and nothing else. Each change
//! is confirmed first (`super::reauth`).

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
use sqlx::PgConnection;

use super::{
    admin::block_for,
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    host::PublicUrls,
    layout::{Flash, FlashKind, Layout},
    reauth::{self, Reauth, ReauthErrors, ReauthFields},
};
use crate::{
    accounts::{self, EmailChange},
    auth::AuthSession,
    domain::{Email, EventKind, NewPassword},
    mail,
    state::AppState,
    store::{
        github_accounts::{self, GitHubAccount},
        moderation, passkeys, security_events, sessions,
        users::{self, User},
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
    /// What the new-email field holds: what was typed, when the form is shown again.
    email: String,
    /// The address a change was asked to, waiting for its link to be followed.
    pending_email: Option<String>,
    /// What each form asks to confirm its change.
    reauth: Reauth,
    errors: Errors,
    block_days: i64,
    /// Whether GitHub sign-in is configured, and the account linked, if any.
    github_enabled: bool,
    github: Option<GitHubAccount>,
}

#[derive(Default)]
struct Errors {
    current_password: Option<String>,
    new_password: Option<String>,
    /// The code the password form asks for when two-factor sign-in is on.
    password_reauth: ReauthErrors,
    email: Option<String>,
    email_reauth: ReauthErrors,
    delete: ReauthErrors,
    /// Linking GitHub reports its errors as a flash; its fields start empty.
    github: ReauthErrors,
}

async fn render(
    state: &AppState,
    auth: &AuthSession,
    layout: Layout,
    user: User,
    email: Option<String>,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        layout,
        email: email.unwrap_or_default(),
        pending_email: accounts::pending_email_change(&state.db, &user, state.clock.now()).await?,
        reauth: Reauth::needed(state, auth, &user).await?,
        github_enabled: state.github.is_some(),
        github: github_accounts::of_owner(&state.db, user.id).await?,
        user,
        errors,
        block_days: state.settings.moderation.username_block_days,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// How many ways in the account has (its password, GitHub, each passkey). A removal counts
/// them in its own transaction, after removing, and gives up when none is left; two removals at
/// once cannot each leave the other as the last way in.
pub(super) async fn ways_in(db: &mut PgConnection, user: &User) -> Result<i64, AppError> {
    // The account's row lock makes concurrent removals count one after the other.
    users::lock(&mut *db, user.id).await?;
    let password = users::has_password(&mut *db, user.id).await?;
    let github = github_accounts::of_owner(&mut *db, user.id)
        .await?
        .is_some();
    let passkeys = passkeys::count(&mut *db, user.id).await?;
    Ok(i64::from(password) + i64::from(github) + passkeys)
}

async fn page(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let errors = Errors::default();
    render(&state, &auth, layout, user, None, errors, StatusCode::OK).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    code: String,
}

async fn change_password(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    // The new password is judged first: a weak one costs no password check.
    let password = match NewPassword::parse(&form.new_password) {
        Ok(password) => password,
        Err(error) => {
            let errors = Errors {
                new_password: Some(error.to_string()),
                ..Errors::default()
            };
            return render(&state, &auth, layout, user, None, errors, unprocessable).await;
        }
    };
    // The current password is asked however recently the session signed in (ASVS 6.2.3).
    let fields = ReauthFields {
        password: String::new(),
        code: form.code,
    };
    let current = Reauth::always(&user, &form.current_password);
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &fields, current).await? {
        let errors = Errors {
            current_password: errors
                .password
                .map(|_| "That is not your current password.".to_owned()),
            password_reauth: ReauthErrors {
                password: None,
                ..errors
            },
            ..Errors::default()
        };
        return render(&state, &auth, layout, user, None, errors, unprocessable).await;
    }
    let hash = state
        .hasher
        .hash(SecretString::from(password.expose()))
        .await?;
    let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
    // Other browsers are signed out in the same transaction; this one stays signed in.
    let mut tx = state.db.begin().await?;
    users::set_password_hash(&mut *tx, user.id, &hash).await?;
    sessions::delete_for_user(&mut tx, user.id, auth.session.id()).await?;
    let forgot = format!("{app_url}password/forgot");
    let notice = mail::password_changed(&user.username, &user.email, &forgot);
    mail::queue(&mut tx, user.id, &notice).await?;
    let kind = EventKind::PasswordChanged;
    let detail = "every other session was signed out";
    security_events::record(&mut *tx, user.id, kind, detail, &origin).await?;
    tx.commit().await?;
    state.caches.users.invalidate(&user.id);
    let message = "Your password is changed. Every other session has been signed out.";
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(flatten)]
    reauth: ReauthFields,
}

async fn change_email(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let refuse = |errors: Errors| {
        render(
            &state,
            &auth,
            layout.clone(),
            user.clone(),
            Some(form.email.clone()),
            errors,
            unprocessable,
        )
    };
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(error) => {
            return refuse(Errors {
                email: Some(error.to_string()),
                ..Errors::default()
            })
            .await;
        }
    };
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form.reauth, None).await? {
        return refuse(Errors {
            email_reauth: errors,
            ..Errors::default()
        })
        .await;
    }
    let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
    let now = state.clock.now();
    let change =
        accounts::request_email_change(&state.db, &user, &email, &app_url, &origin, now).await?;
    let problem = match change {
        EmailChange::Asked => {
            let message = format!(
                "We sent a link to {}: your address changes when you follow it. Until then it \
                 stays {}, which we told of the change.",
                email.as_str(),
                user.email
            );
            Flash::push(&auth.session, FlashKind::Success, message).await;
            return Ok(Redirect::to("/settings").into_response());
        }
        EmailChange::Unchanged => "That is your address already.",
        EmailChange::Taken => "Another account already uses this email.",
    };
    refuse(Errors {
        email: Some(problem.to_owned()),
        ..Errors::default()
    })
    .await
}

async fn delete_account(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<ReauthFields>,
) -> Result<Response, AppError> {
    // Deleting everything always takes the password, however recently the session signed in.
    let password = Reauth::always(&user, &form.password);
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, password).await? {
        let errors = Errors {
            delete: ReauthErrors {
                password: errors
                    .password
                    .map(|_| "That is not your password; nothing was deleted.".to_owned()),
                ..errors
            },
            ..Errors::default()
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, &auth, layout, user, None, errors, status).await;
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
