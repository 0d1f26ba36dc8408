//! Sign in with GitHub. `/auth/github` sends the browser to GitHub with a `state` and a PKCE
//! challenge kept in its session (ASVS 10.1.2, 10.2.1); `/auth/github/callback` takes them back,
//! once, and finds the account by GitHub's numeric user id (ASVS 6.8.1). A first sign-in picks a
//! username at `/auth/github/signup`. From settings a member links GitHub (after
//! re-authentication) and unlinks it, unless it is their only way in. Every route is a 404 when
//! GitHub is not configured.

use std::{sync::Arc, time::Duration};

use askama::Template;
use axum::{
    Form, Router,
    extract::{FromRequestParts, Query, State},
    http::{HeaderMap, StatusCode, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{
    auth::{count_signup, login_error, sign_in, username_problem},
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    form::local_path,
    host::PublicUrls,
    layout::{Flash, FlashKind, Layout},
    reauth::{self, ReauthFields},
};
use crate::{
    auth::AuthSession,
    domain::{Email, EventKind, FirstFactor, Role, SignInFactors, Username, random_hex},
    github::{GitHub, GitHubError, GitHubUser},
    state::AppState,
    store::{
        github_accounts::{self, LinkError},
        security_events, two_factor,
        users::{self, InsertUserError, NewUser},
    },
};

/// The session key of a sign-in on its way through GitHub.
const FLOW_KEY: &str = "github.flow";
/// The session key of a GitHub account that has no txtcv account yet.
const NEWCOMER_KEY: &str = "github.newcomer";
/// How long a trip to GitHub, or choosing a username afterwards, may take.
const LIFETIME: Duration = Duration::from_secs(10 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/github", get(start_sign_in))
        .route("/auth/github/callback", get(callback))
        .route(
            "/auth/github/signup",
            get(newcomer_page).post(create_account),
        )
        .route("/settings/github/link", post(start_link))
        .route("/settings/github/unlink", post(unlink))
}

/// GitHub sign-in, when configured; every route that takes it is a 404 otherwise.
struct Enabled(Arc<GitHub>);

impl FromRequestParts<AppState> for Enabled {
    type Rejection = AppError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state.github.clone().map(Enabled).ok_or(AppError::NotFound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Intent {
    SignIn,
    /// Link the GitHub account to the signed-in one.
    Link,
}

/// What the session keeps while the browser is at GitHub. Taken out at the callback, so each
/// `state` and verifier works once.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
    intent: Intent,
    started_at: i64,
    next: String,
}

/// A GitHub account met for the first time, waiting for its username.
#[derive(Serialize, Deserialize)]
struct Newcomer {
    github_id: i64,
    login: String,
    email: String,
    started_at: i64,
}

fn fresh(started_at: i64, now: OffsetDateTime) -> bool {
    let age = now.unix_timestamp() - started_at;
    (0..LIFETIME.as_secs() as i64).contains(&age)
}

/// The address GitHub sends the browser back to; registered with the OAuth App.
fn callback_url(state: &AppState, headers: &HeaderMap) -> String {
    let app = PublicUrls::from_headers(&state.settings.server, headers).app();
    format!("{app}auth/github/callback")
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn start_sign_in(
    State(state): State<AppState>,
    Enabled(github): Enabled,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_default();
    go_to_github(&state, &github, &session, &headers, Intent::SignIn, next).await
}

async fn go_to_github(
    state: &AppState,
    github: &GitHub,
    session: &Session,
    headers: &HeaderMap,
    intent: Intent,
    next: &str,
) -> Result<Response, AppError> {
    let flow = Flow {
        state: random_hex(),
        verifier: random_hex(),
        intent,
        started_at: state.clock.now().unix_timestamp(),
        next: next.to_owned(),
    };
    let url = github.authorize_url(&callback_url(state, headers), &flow.state, &flow.verifier);
    session
        .insert(FLOW_KEY, flow)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep the GitHub sign-in: {e}"))?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Why a trip to GitHub came back without an account to sign in to.
enum Failure {
    /// No flow in this session, a wrong or replayed `state`, or too late.
    Unexpected,
    Denied,
    Refused,
    Unreachable,
}

impl Failure {
    fn message(&self) -> &'static str {
        match self {
            Self::Unexpected => {
                "That GitHub sign-in was not started in this browser, was used already, or took \
                 too long. Please try again."
            }
            Self::Denied => {
                "GitHub sign-in was cancelled: txtcv was not given access. Nothing was changed."
            }
            Self::Refused => {
                "GitHub did not accept the sign-in (it may have expired). Please try again."
            }
            Self::Unreachable => "GitHub could not be reached. Please try again in a moment.",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unreachable => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<GitHubError> for Failure {
    fn from(error: GitHubError) -> Self {
        tracing::warn!(%error, "GitHub sign-in failed");
        match error {
            GitHubError::Refused(_) => Self::Refused,
            GitHubError::Status(_) | GitHubError::Unreachable(_) => Self::Unreachable,
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    Enabled(github): Enabled,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let flow = take_flow(&auth.session).await?;
    let outcome = match who_came_back(&state, &github, &headers, flow, query).await {
        Ok(outcome) => outcome,
        Err(failure) => {
            return login_error(&state, layout, failure.status(), failure.message().into());
        }
    };
    let (flow, who) = outcome;
    match flow.intent {
        Intent::Link => link(&state, &auth, &origin, &who).await,
        Intent::SignIn => sign_in_as(&state, &mut auth, &origin, who, flow.next).await,
    }
}

async fn take_flow(session: &Session) -> Result<Option<Flow>, AppError> {
    // A value that no longer reads as a flow counts as none.
    let flow = session.remove::<Flow>(FLOW_KEY).await.unwrap_or(None);
    Ok(flow)
}

/// Checks the callback against the flow this session started, and asks GitHub who it is.
async fn who_came_back(
    state: &AppState,
    github: &GitHub,
    headers: &HeaderMap,
    flow: Option<Flow>,
    query: CallbackQuery,
) -> Result<(Flow, GitHubUser), Failure> {
    let flow = flow
        .filter(|flow| fresh(flow.started_at, state.clock.now()))
        .filter(|flow| query.state.as_deref() == Some(flow.state.as_str()))
        .ok_or(Failure::Unexpected)?;
    if let Some(error) = query.error {
        tracing::info!(%error, "GitHub sign-in not authorised");
        return Err(Failure::Denied);
    }
    let code = query.code.ok_or(Failure::Refused)?;
    let who = github
        .user_for_code(&code, &flow.verifier, &callback_url(state, headers))
        .await?;
    Ok((flow, who))
}

async fn sign_in_as(
    state: &AppState,
    auth: &mut AuthSession,
    origin: &security_events::Origin,
    who: GitHubUser,
    next: String,
) -> Result<Response, AppError> {
    let layout = Layout::default();
    let Some(owner_id) = github_accounts::owner_of(&state.db, who.id).await? else {
        return welcome_newcomer(state, &auth.session, layout, who).await;
    };
    let user = users::find_by_id(&state.db, owner_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.is_active() {
        let message = "This account is suspended. Contact support if you think this is a mistake.";
        return login_error(state, layout, StatusCode::FORBIDDEN, message.into());
    }
    github_accounts::remember_login(&state.db, user.id, &who.login).await?;
    if two_factor::is_enabled(&state.db, user.id).await? {
        let first = FirstFactor::GitHub;
        return super::two_factor::ask_for_second_factor(state, &auth.session, &user, first, next)
            .await;
    }
    sign_in(
        state,
        auth,
        &user,
        origin,
        SignInFactors::only(FirstFactor::GitHub),
    )
    .await?;
    let next = local_path(&next).unwrap_or("/dashboard");
    Ok(Redirect::to(next).into_response())
}

#[derive(Template)]
#[template(path = "auth/github_email_taken.html")]
struct EmailTakenPage {
    layout: Layout,
    email: String,
}

/// A GitHub account we have not met: it needs a verified address that no account uses, and
/// then a username.
async fn welcome_newcomer(
    state: &AppState,
    session: &Session,
    layout: Layout,
    who: GitHubUser,
) -> Result<Response, AppError> {
    let Some(email) = who.email else {
        let message = "Your GitHub account has no verified primary email address. Verify one on \
                       GitHub and try again, or sign up with a password.";
        return login_error(state, layout, StatusCode::BAD_REQUEST, message.into());
    };
    if users::find_by_email(&state.db, &email).await?.is_some() {
        // Nothing is merged: whoever holds the address proves it by signing in to that account.
        let page = EmailTakenPage { layout, email };
        return Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response());
    }
    let newcomer = Newcomer {
        github_id: who.id,
        login: who.login,
        email,
        started_at: state.clock.now().unix_timestamp(),
    };
    session
        .insert(NEWCOMER_KEY, newcomer)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep the GitHub account: {e}"))?;
    Ok(Redirect::to("/auth/github/signup").into_response())
}

#[derive(Template)]
#[template(path = "auth/github_signup.html")]
struct NewcomerPage {
    layout: Layout,
    login: String,
    email: String,
    username: String,
    error: Option<String>,
}

async fn newcomer(state: &AppState, session: &Session) -> Result<Option<Newcomer>, AppError> {
    let newcomer = session.get::<Newcomer>(NEWCOMER_KEY).await.unwrap_or(None);
    Ok(newcomer.filter(|n| fresh(n.started_at, state.clock.now())))
}

fn expired(state: &AppState, layout: Layout) -> Result<Response, AppError> {
    login_error(
        state,
        layout,
        StatusCode::BAD_REQUEST,
        Failure::Unexpected.message().into(),
    )
}

async fn newcomer_page(
    State(state): State<AppState>,
    _github: Enabled,
    session: Session,
    layout: Layout,
) -> Result<Response, AppError> {
    let Some(newcomer) = newcomer(&state, &session).await? else {
        return expired(&state, layout);
    };
    let page = NewcomerPage {
        layout,
        username: Username::fitted(&newcomer.login),
        login: newcomer.login,
        email: newcomer.email,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct UsernameForm {
    #[serde(default)]
    username: String,
}

async fn create_account(
    State(state): State<AppState>,
    _github: Enabled,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<UsernameForm>,
) -> Result<Response, AppError> {
    let Some(newcomer) = newcomer(&state, &auth.session).await? else {
        return expired(&state, layout);
    };
    let refuse = |error: String| {
        let page = NewcomerPage {
            layout: layout.clone(),
            login: newcomer.login.clone(),
            email: newcomer.email.clone(),
            username: form.username.clone(),
            error: Some(error),
        };
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
    };
    let username = match Username::parse(&form.username) {
        Ok(username) => username,
        Err(error) => return refuse(error.to_string()),
    };
    if let Some(problem) = username_problem(&state, &username).await? {
        return refuse(problem);
    }
    let email = Email::parse(&newcomer.email).map_err(|_| AppError::NotFound)?;
    count_signup(&state, &origin).await?;
    let new = NewUser {
        username: &username,
        email: &email,
        password_hash: None,
        role: Role::Member,
        email_confirmed: true,
    };
    // The account and its link to GitHub exist together or not at all.
    let mut tx = state.db.begin().await?;
    let user = match users::insert(&mut *tx, new).await {
        Ok(user) => user,
        Err(InsertUserError::UsernameTaken) => {
            return refuse("That username is taken. Please choose another.".into());
        }
        Err(InsertUserError::EmailTaken) => {
            let page = EmailTakenPage {
                layout,
                email: newcomer.email,
            };
            return Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response());
        }
        Err(InsertUserError::Database(error)) => return Err(error.into()),
    };
    match github_accounts::link(&mut *tx, user.id, newcomer.github_id, &newcomer.login).await {
        Ok(()) => {}
        // Signed up from another browser meanwhile: that account is the one to sign in to.
        Err(LinkError::LinkedElsewhere | LinkError::AlreadyLinked) => {
            return expired(&state, layout);
        }
        Err(LinkError::Database(error)) => return Err(error.into()),
    }
    let detail = format!("as {} on GitHub", newcomer.login);
    security_events::record(&mut *tx, user.id, EventKind::GitHubLinked, &detail, &origin).await?;
    tx.commit().await?;
    let _ = auth.session.remove::<Newcomer>(NEWCOMER_KEY).await;
    sign_in(
        &state,
        &mut auth,
        &user,
        &origin,
        SignInFactors::only(FirstFactor::GitHub),
    )
    .await?;
    let welcome = format!(
        "Welcome to txtcv, {}! You sign in with GitHub.",
        user.username
    );
    Flash::push(&auth.session, FlashKind::Success, welcome).await;
    Ok(Redirect::to("/dashboard").into_response())
}

/// Links the signed-in account (confirmed before the trip to GitHub) to `who`.
async fn link(
    state: &AppState,
    auth: &AuthSession,
    origin: &security_events::Origin,
    who: &GitHubUser,
) -> Result<Response, AppError> {
    let Some(user) = &auth.user else {
        return expired(state, Layout::default());
    };
    let (kind, message) = match github_accounts::link(&state.db, user.id, who.id, &who.login).await
    {
        Ok(()) => {
            let detail = format!("as {} on GitHub", who.login);
            security_events::record(&state.db, user.id, EventKind::GitHubLinked, &detail, origin)
                .await?;
            let message = format!(
                "GitHub account {} is linked: you can sign in with it.",
                who.login
            );
            (FlashKind::Success, message)
        }
        Err(LinkError::LinkedElsewhere) => (
            FlashKind::Error,
            format!(
                "GitHub account {} signs in to another txtcv account; nothing was linked.",
                who.login
            ),
        ),
        Err(LinkError::AlreadyLinked) => (
            FlashKind::Error,
            "This account is linked to a GitHub account already; unlink it first.".into(),
        ),
        Err(LinkError::Database(error)) => return Err(error.into()),
    };
    Flash::push(&auth.session, kind, message).await;
    Ok(Redirect::to("/settings").into_response())
}

async fn start_link(
    State(state): State<AppState>,
    Enabled(github): Enabled,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<ReauthFields>,
) -> Result<Response, AppError> {
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, None).await? {
        let message = errors
            .password
            .or(errors.code)
            .or(errors.github)
            .unwrap_or_default();
        Flash::push(
            &auth.session,
            FlashKind::Error,
            format!("Nothing was linked: {message}"),
        )
        .await;
        return Ok(Redirect::to("/settings").into_response());
    }
    go_to_github(
        &state,
        &github,
        &auth.session,
        &headers,
        Intent::Link,
        "/settings",
    )
    .await
}

async fn unlink(
    State(state): State<AppState>,
    _github: Enabled,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Response, AppError> {
    // Removed, then counted, in one transaction (see `settings::ways_in`).
    let mut tx = state.db.begin().await?;
    let (kind, message) = if !github_accounts::unlink(&mut *tx, user.id).await? {
        (FlashKind::Info, "No GitHub account was linked.")
    } else if super::settings::ways_in(&mut tx, &user).await? == 0 {
        (
            FlashKind::Error,
            "GitHub is your only way to sign in: set a password or add a passkey first, then \
             unlink it.",
        )
    } else {
        let kind = EventKind::GitHubUnlinked;
        security_events::record(&mut *tx, user.id, kind, "", &origin).await?;
        tx.commit().await?;
        (
            FlashKind::Success,
            "GitHub is unlinked: it no longer signs you in.",
        )
    };
    Flash::push(&auth.session, kind, message).await;
    Ok(Redirect::to("/settings").into_response())
}
