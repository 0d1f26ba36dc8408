//! `/settings/tokens`: the user's personal access tokens for the API and the txtcv CLI. A new
//! token's secret is shown once, in the response that creates it, and never again.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    layout::{Flash, FlashKind, Layout},
    reauth::{self, Reauth, ReauthErrors, ReauthFields},
    resume::when,
    two_factor::not_stored,
};
use crate::{
    auth::AuthSession,
    domain::{
        EventKind, TokenScope, TokenSecret,
        text::{Lines, refuse_control_characters},
    },
    state::AppState,
    store::{access_tokens, security_events, users::User},
};

/// The longest a token may live when it has an expiry at all.
const MAX_EXPIRY_DAYS: i64 = 3650;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/tokens", get(index).post(create))
        .route("/settings/tokens/{id}/revoke", post(revoke))
}

#[derive(Template)]
#[template(path = "tokens/index.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    /// The secret of the token just created: shown this once.
    new_token: Option<String>,
    form: TokenForm,
    error: Option<&'static str>,
    /// What creating a token asks to confirm it.
    reauth: Reauth,
    reauth_errors: ReauthErrors,
}

struct TokenRow {
    id: Uuid,
    name: String,
    scope: &'static str,
    created: String,
    last_used: String,
    expiry: String,
    active: bool,
}

impl TokenRow {
    fn new(token: access_tokens::AccessToken, now: OffsetDateTime) -> Self {
        let expired = token.expires_at.is_some_and(|at| at <= now);
        let expiry = match (token.revoked_at, token.expires_at) {
            (Some(at), _) => format!("revoked {}", when(at)),
            (None, Some(at)) if expired => format!("expired {}", when(at)),
            (None, Some(at)) => when(at),
            (None, None) => "never".to_owned(),
        };
        Self {
            id: token.id,
            name: token.name,
            scope: token.scope.as_str(),
            created: when(token.created_at),
            last_used: token.last_used_at.map_or_else(|| "never".to_owned(), when),
            expiry,
            active: token.revoked_at.is_none() && !expired,
        }
    }
}

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    expires_in_days: String,
    #[serde(flatten)]
    reauth: ReauthFields,
}

/// What the page shows besides the list: the secret just made, or what was wrong with the form.
#[derive(Default)]
struct Outcome {
    new_token: Option<String>,
    error: Option<&'static str>,
    reauth_errors: ReauthErrors,
}

async fn page(
    state: &AppState,
    auth: &AuthSession,
    layout: Layout,
    user: &User,
    form: TokenForm,
    outcome: Outcome,
) -> Result<Html<String>, AppError> {
    let now = OffsetDateTime::now_utc();
    let tokens = access_tokens::list(&state.db, user.id)
        .await?
        .into_iter()
        .map(|token| TokenRow::new(token, now))
        .collect();
    let page = TokensPage {
        layout,
        tokens,
        new_token: outcome.new_token,
        form,
        error: outcome.error,
        reauth: Reauth::needed(state, auth, user).await?,
        reauth_errors: outcome.reauth_errors,
    };
    Ok(Html(page.render()?))
}

fn blank_form() -> TokenForm {
    TokenForm {
        scope: "write".to_owned(),
        ..TokenForm::default()
    }
}

async fn index(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Html<String>, AppError> {
    page(
        &state,
        &auth,
        layout,
        &user,
        blank_form(),
        Outcome::default(),
    )
    .await
}

/// A token's name, scope and lifetime as the form gives them, or what is wrong with them.
fn parse_form(form: &TokenForm) -> Result<(&str, TokenScope, Option<Duration>), &'static str> {
    let name = form.name.trim();
    if !(1..=100).contains(&name.chars().count()) {
        return Err("Give the token a name of up to 100 characters, e.g. “GitHub Actions”.");
    }
    if refuse_control_characters(name, Lines::One).is_err() {
        return Err("A token's name is one line of text, without control characters.");
    }
    let scope = TokenScope::parse(&form.scope).ok_or("Choose read or write.")?;
    let days = form.expires_in_days.trim();
    let lifetime = if days.is_empty() {
        None
    } else {
        match days.parse::<i64>() {
            Ok(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => Some(Duration::days(days)),
            _ => return Err("Expiry is a number of days from 1 to 3650, or empty for never."),
        }
    };
    Ok((name, scope, lifetime))
}

async fn create(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let refused = |outcome: Outcome, form: TokenForm| async {
        let page = page(&state, &auth, layout.clone(), &user, form, outcome).await?;
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let (name, scope, lifetime) = match parse_form(&form) {
        Ok((name, scope, lifetime)) => (name.to_owned(), scope, lifetime),
        Err(error) => {
            let outcome = Outcome {
                error: Some(error),
                ..Outcome::default()
            };
            return refused(outcome, form).await;
        }
    };
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form.reauth, None).await? {
        let outcome = Outcome {
            reauth_errors: errors,
            ..Outcome::default()
        };
        return refused(outcome, form).await;
    }
    let secret = TokenSecret::generate();
    let expires_at = lifetime.map(|lifetime| OffsetDateTime::now_utc() + lifetime);
    access_tokens::create(&state.db, user.id, &name, scope, &secret, expires_at).await?;
    let kind = EventKind::AccessTokenCreated;
    security_events::record(&state.db, user.id, kind, &name, &origin).await?;
    let outcome = Outcome {
        new_token: Some(secret.expose().to_owned()),
        ..Outcome::default()
    };
    let page = page(&state, &auth, layout, &user, blank_form(), outcome).await?;
    // The secret is on this page: no browser or proxy may keep a copy.
    Ok(not_stored(page.into_response()))
}

async fn revoke(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let id = id.parse().map_err(|_| AppError::NotFound)?;
    if !access_tokens::revoke(&state.db, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    let message = "Token revoked: it no longer works anywhere.";
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/tokens"))
}
