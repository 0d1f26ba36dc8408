//! Signing up, logging in and out.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    client::RequestOrigin,
    error::{AppError, wait_in_words, with_retry_after},
    form::local_path,
    host::PublicUrls,
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    accounts,
    auth::{AuthSession, Credentials, LoginOutcome},
    domain::{Email, EventKind, FirstFactor, NewPassword, Role, SignInFactors, Username},
    state::AppState,
    store::{
        auth_attempts::{self, Limit, Scope, Verdict},
        moderation,
        security_events::{self, Origin},
        sessions::{SIGNED_IN_FROM_KEY, SignedInFrom},
        users::{self, InsertUserError, NewUser, User},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    layout: Layout,
    username: String,
    email: String,
    errors: SignupErrors,
    github: Option<String>,
}

#[derive(Default)]
struct SignupErrors {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

impl SignupErrors {
    fn any(&self) -> bool {
        self.username.is_some() || self.email.is_some() || self.password.is_some()
    }
}

#[derive(Deserialize)]
struct SignupForm {
    username: String,
    email: String,
    password: String,
}

async fn signup_page(
    State(state): State<AppState>,
    layout: Layout,
) -> Result<Html<String>, AppError> {
    let page = SignupPage {
        layout,
        username: String::new(),
        email: String::new(),
        errors: SignupErrors::default(),
        github: github_link(&state, ""),
    };
    Ok(Html(page.render()?))
}

async fn signup(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<SignupForm>,
) -> Result<Response, AppError> {
    let username = Username::parse(&form.username);
    let email = Email::parse(&form.email);
    let password = NewPassword::parse(&form.password);
    let mut errors = SignupErrors {
        username: username.as_ref().err().map(ToString::to_string),
        email: email.as_ref().err().map(ToString::to_string),
        password: password.as_ref().err().map(ToString::to_string),
    };
    if let Ok(name) = &username
        && let Some(problem) = username_problem(&state, name).await?
    {
        errors.username = Some(problem);
    }
    if let (Ok(username), Ok(email), Ok(password), false) =
        (&username, &email, &password, errors.any())
    {
        // Counted only once the form is valid, so a typo costs nothing.
        count_signup(&state, &origin).await?;
        let hash = state
            .hasher
            .hash(SecretString::from(password.expose()))
            .await?;
        let new = NewUser {
            username,
            email,
            password_hash: Some(&hash),
            role: Role::Member,
            email_confirmed: false,
        };
        // The account and its confirmation mail exist together or not at all.
        let mut tx = state.db.begin().await?;
        match users::insert(&mut *tx, new).await {
            Ok(user) => {
                let app_url = PublicUrls::from_headers(&state.settings.server, &headers).app();
                accounts::send_confirmation(&mut tx, &user, &app_url, state.clock.now()).await?;
                tx.commit().await?;
                sign_in(&state, &mut auth, &user, &origin, SignInFactors::PASSWORD).await?;
                let welcome = format!(
                    "Welcome to txtcv, {}! We sent a link to {} to confirm your address.",
                    user.username, user.email
                );
                Flash::push(&auth.session, FlashKind::Success, welcome).await;
                return Ok(Redirect::to("/dashboard").into_response());
            }
            Err(InsertUserError::UsernameTaken) => {
                errors.username = Some("That username is taken. Please choose another.".into());
            }
            Err(InsertUserError::EmailTaken) => {
                errors.email =
                    Some("An account with this email already exists. Log in instead?".into());
            }
            Err(InsertUserError::Database(error)) => return Err(error.into()),
        }
    }
    debug_assert!(errors.any());
    let page = SignupPage {
        layout,
        username: form.username,
        email: form.email,
        errors,
        github: github_link(&state, ""),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

/// Counts a signup from `origin`'s address, before the account is made, so a burst cannot slip
/// past the limit; over it, 429.
pub(super) async fn count_signup(state: &AppState, origin: &Origin) -> Result<(), AppError> {
    let limits = &state.settings.auth;
    let per_address = Limit {
        scope: Scope::SignupAddress,
        key: &origin.addr.to_string(),
        max: limits.max_signups,
    };
    let window = Duration::from_secs(limits.throttle_window_secs);
    match auth_attempts::take(&state.db, window, &[per_address]).await? {
        Verdict::Wait(wait) => Err(AppError::TooManyRequests { retry_after: wait }),
        Verdict::Allowed(_) => Ok(()),
    }
}

/// What stops a valid username from being taken, besides another account holding it.
pub(super) async fn username_problem(
    state: &AppState,
    username: &Username,
) -> Result<Option<String>, AppError> {
    let blocked = moderation::blocked_until(&state.db, username.as_str()).await?;
    Ok(blocked.map(|_| {
        "That username belonged to a deleted account and cannot be taken again yet. Please \
         choose another."
            .to_owned()
    }))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    login: String,
    next: String,
    error: Option<String>,
    /// Where "Sign in with GitHub" goes, when GitHub sign-in is configured.
    github: Option<String>,
}

/// The link to sign in with GitHub and come back to `next`, when it is configured.
fn github_link(state: &AppState, next: &str) -> Option<String> {
    state.github.as_ref().map(|_| match next {
        "" => "/auth/github".to_owned(),
        next => format!("/auth/github?next={}", super::form::url_encode(next)),
    })
}

/// The login page with `message` above the form: where a sign-in that went wrong elsewhere
/// (at GitHub, say) lands.
pub(super) fn login_error(
    state: &AppState,
    layout: Layout,
    status: StatusCode,
    message: String,
) -> Result<Response, AppError> {
    let page = LoginPage {
        layout,
        login: String::new(),
        next: String::new(),
        error: Some(message),
        github: github_link(state, ""),
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_page(
    State(state): State<AppState>,
    layout: Layout,
    Query(query): Query<NextQuery>,
) -> Result<Html<String>, AppError> {
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_default()
        .to_owned();
    let page = LoginPage {
        layout,
        login: String::new(),
        github: github_link(&state, &next),
        next,
        error: None,
    };
    Ok(Html(page.render()?))
}

async fn login(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = local_path(&form.next).unwrap_or_default();
    let page = |error: String| LoginPage {
        layout: layout.clone(),
        login: form.login.clone(),
        next: next.to_owned(),
        error: Some(error),
        github: github_link(&state, next),
    };

    let credentials = Credentials {
        login: form.login.clone(),
        password: SecretString::from(form.password.as_str()),
        client: origin.addr,
    };
    let outcome = auth
        .backend
        .check(credentials)
        .await
        .map_err(anyhow::Error::from)?;
    match outcome {
        LoginOutcome::SignedIn(user) => {
            sign_in(&state, &mut auth, &user, &origin, SignInFactors::PASSWORD).await?;
            let next = local_path(&form.next).unwrap_or("/dashboard");
            Ok(Redirect::to(next).into_response())
        }
        LoginOutcome::SecondFactorNeeded(user) => {
            let next = local_path(&form.next).unwrap_or_default().to_owned();
            let first = FirstFactor::Password;
            super::two_factor::ask_for_second_factor(&state, &auth.session, &user, first, next)
                .await
        }
        LoginOutcome::Suspended => {
            let message =
                "This account is suspended. Contact support if you think this is a mistake.";
            Ok((StatusCode::FORBIDDEN, Html(page(message.into()).render()?)).into_response())
        }
        LoginOutcome::Throttled(wait) => {
            let message = format!(
                "Too many failed attempts. Please wait {} and try again.",
                wait_in_words(wait)
            );
            let response =
                (StatusCode::TOO_MANY_REQUESTS, Html(page(message).render()?)).into_response();
            Ok(with_retry_after(response, wait))
        }
        LoginOutcome::WrongCredentials(account) => {
            if let Some(account) = account {
                let detail = "a wrong password";
                let kind = EventKind::SignInFailed;
                security_events::record(&state.db, account, kind, detail, &origin).await?;
            }
            let message = "Wrong username or password.".to_owned();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(page(message).render()?),
            )
                .into_response())
        }
    }
}

/// Starts a session for `user` under a new id, whatever session the browser brought along, so a
/// session id planted or seen before login is worth nothing after it. The session keeps where it
/// was signed in from (for the list of sessions) and counts as recently authenticated; the
/// sign-in goes to the account's security log.
pub(super) async fn sign_in(
    state: &AppState,
    auth: &mut AuthSession,
    user: &User,
    origin: &Origin,
    factors: SignInFactors,
) -> Result<(), AppError> {
    auth.session
        .cycle_id()
        .await
        .map_err(|e| anyhow::anyhow!("cannot renew the session id: {e}"))?;
    auth.login(user)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start a session: {e}"))?;
    super::mark_renewed(&auth.session).await;
    let from = SignedInFrom {
        addr: Some(origin.addr.to_string()),
        device: origin.device.clone(),
    };
    auth.session
        .insert(SIGNED_IN_FROM_KEY, from)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep where the session began: {e}"))?;
    super::reauth::mark_authenticated(&auth.session, state.clock.now()).await?;
    users::record_login(&state.db, user.id).await?;
    let kind = EventKind::SignedIn;
    security_events::record(&state.db, user.id, kind, &factors.describe(), origin).await?;
    Ok(())
}

async fn logout(
    State(state): State<AppState>,
    mut auth: AuthSession,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Redirect, AppError> {
    if let Some(user) = &auth.user {
        security_events::record(&state.db, user.id, EventKind::SignedOut, "", &origin).await?;
    }
    // Flushes the session: its row is deleted, so the old cookie is worth nothing.
    auth.logout()
        .await
        .map_err(|e| anyhow::anyhow!("cannot end the session: {e}"))?;
    Ok(Redirect::to("/"))
}
