//! Two-factor sign-in: `/settings/two-factor` to turn it on (a QR code, then a code from the
//! app), make new recovery codes or turn it off; `/login/two-factor`, the second step of a login.
//! The settings routes act on the signed-in account alone; the login step on the account whose
//! password this session gave, for five minutes.

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    auth::sign_in,
    client::RequestOrigin,
    current_user::CurrentUser,
    error::{AppError, wait_in_words, with_retry_after},
    layout::{Flash, FlashKind, Layout},
    qr::qr_code,
    reauth::{self, Reauth, ReauthErrors, ReauthFields},
};
use crate::{
    auth::{AuthSession, PasswordCheck},
    domain::{
        EventKind, FirstFactor, OneTimeCode, RecoveryCode, SecondFactor, SecondStep, SignInFactors,
    },
    state::AppState,
    store::{
        security_events,
        users::{self, User},
    },
    two_factor::{self, Enrolment, PendingLogin, Status},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/two-factor", get(settings_page))
        .route("/settings/two-factor/start", post(start))
        .route("/settings/two-factor/confirm", post(confirm))
        .route("/settings/two-factor/recovery-codes", post(regenerate))
        .route("/settings/two-factor/disable", post(disable))
        .route("/login/two-factor", get(login_page).post(login))
}

#[derive(Template)]
#[template(path = "two_factor/settings.html")]
struct SettingsPage {
    layout: Layout,
    view: View,
    /// What the forms that change the settings ask to confirm the change.
    reauth: Reauth,
    errors: Errors,
}

enum View {
    Off,
    /// `qr_code` is a `data:` address of an SVG image; `secret` is base32 in groups.
    Enrolling {
        qr_code: String,
        secret: String,
    },
    On {
        recovery_codes_left: i64,
    },
}

#[derive(Default)]
struct Errors {
    start: ReauthErrors,
    /// The code confirming an enrolment.
    code: Option<String>,
    regenerate: ReauthErrors,
    disable: ReauthErrors,
}

#[derive(Template)]
#[template(path = "two_factor/recovery_codes.html")]
struct RecoveryCodesPage {
    layout: Layout,
    heading: &'static str,
    codes: Vec<String>,
}

impl RecoveryCodesPage {
    fn response(layout: Layout, heading: &'static str, codes: &[RecoveryCode]) -> Response {
        let page = Self {
            layout,
            heading,
            codes: codes.iter().map(RecoveryCode::expose_grouped).collect(),
        };
        match page.render() {
            Ok(html) => not_stored(Html(html).into_response()),
            Err(error) => AppError::from(error).into_response(),
        }
    }
}

/// A page that shows a secret: no browser or proxy may keep a copy of it.
pub(super) fn not_stored(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn render_settings(
    state: &AppState,
    auth: &AuthSession,
    layout: Layout,
    user: &User,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let view = match two_factor::status(&state.db, user.id).await? {
        Status::Off => View::Off,
        Status::Enrolling(secret) => View::Enrolling {
            qr_code: qr_code(&secret.otpauth_uri(&user.username)?, 220)?,
            secret: secret.base32_grouped(),
        },
        Status::On {
            recovery_codes_left,
        } => View::On {
            recovery_codes_left,
        },
    };
    let shows_secret = matches!(view, View::Enrolling { .. });
    let page = SettingsPage {
        layout,
        view,
        reauth: Reauth::needed(state, auth, user).await?,
        errors,
    };
    let response = (status, Html(page.render()?)).into_response();
    Ok(if shows_secret {
        not_stored(response)
    } else {
        response
    })
}

/// `text` as a QR code, an SVG image in a `data:` address. Drawn here, so the secret it carries
/// goes to no other service; an `<img>` rather than inline markup, so the page's CSP (which
/// allows `data:` images) applies unchanged.
async fn settings_page(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    render_settings(
        &state,
        &auth,
        layout,
        &user,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn start(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<ReauthFields>,
) -> Result<Response, AppError> {
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, None).await? {
        let errors = Errors {
            start: errors,
            ..Errors::default()
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_settings(&state, &auth, layout, &user, errors, status).await;
    }
    if !two_factor::start_enrolment(&state.db, user.id).await? {
        Flash::push(
            &auth.session,
            FlashKind::Info,
            "Two-factor sign-in is on already.",
        )
        .await;
    }
    Ok(Redirect::to("/settings/two-factor").into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

// Not throttled: whoever holds this session sees the pending secret, so a guess here wins
// nothing.
async fn confirm(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let problem = match OneTimeCode::parse(&form.code) {
        Err(error) => error.to_string(),
        Ok(code) => {
            let now = state.clock.now();
            let keep = auth.session.id();
            match two_factor::confirm_enrolment(&state.db, user.id, &code, now, keep).await? {
                Enrolment::Enabled(codes) => {
                    let kind = EventKind::TwoFactorEnabled;
                    security_events::record(&state.db, user.id, kind, "", &origin).await?;
                    let heading = "Two-factor sign-in is on";
                    return Ok(RecoveryCodesPage::response(layout, heading, &codes));
                }
                Enrolment::NotEnrolling => {
                    return Ok(Redirect::to("/settings/two-factor").into_response());
                }
                Enrolment::WrongCode => "That code is not right. Check that the clock on your \
                                         phone is correct, and enter the code the app shows now."
                    .to_owned(),
            }
        }
    };
    let errors = Errors {
        code: Some(problem),
        ..Errors::default()
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render_settings(&state, &auth, layout, &user, errors, status).await
}

/// Whether the account has two-factor sign-in on; the forms that change it need it on.
async fn is_on(state: &AppState, user: &User) -> Result<bool, AppError> {
    Ok(matches!(
        two_factor::status(&state.db, user.id).await?,
        Status::On { .. }
    ))
}

async fn regenerate(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<ReauthFields>,
) -> Result<Response, AppError> {
    if !is_on(&state, &user).await? {
        return Ok(Redirect::to("/settings/two-factor").into_response());
    }
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, None).await? {
        let errors = Errors {
            regenerate: errors,
            ..Errors::default()
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_settings(&state, &auth, layout, &user, errors, status).await;
    }
    let codes = two_factor::regenerate_recovery_codes(&state.db, user.id).await?;
    let kind = EventKind::RecoveryCodesRegenerated;
    security_events::record(&state.db, user.id, kind, "", &origin).await?;
    let heading = "New recovery codes; the old ones no longer work";
    Ok(RecoveryCodesPage::response(layout, heading, &codes))
}

async fn disable(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<ReauthFields>,
) -> Result<Response, AppError> {
    if !is_on(&state, &user).await? {
        return Ok(Redirect::to("/settings/two-factor").into_response());
    }
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, None).await? {
        let errors = Errors {
            disable: errors,
            ..Errors::default()
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_settings(&state, &auth, layout, &user, errors, status).await;
    }
    two_factor::disable(&state.db, user.id, auth.session.id()).await?;
    let kind = EventKind::TwoFactorDisabled;
    security_events::record(&state.db, user.id, kind, "", &origin).await?;
    let message = "Two-factor sign-in is off: logging in takes your password alone. Every \
                   other session has been signed out.";
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/two-factor").into_response())
}

/// The session key of a login waiting for its second factor.
const PENDING_KEY: &str = "two_factor_pending";

/// Leaves `user`'s login waiting for the second factor, and asks for it. The session id changes
/// here already, so an id planted before the password cannot be used to send codes.
pub(super) async fn ask_for_second_factor(
    state: &AppState,
    session: &Session,
    user: &User,
    first: FirstFactor,
    next: String,
) -> Result<Response, AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| anyhow::anyhow!("cannot renew the session id: {e}"))?;
    let pending = PendingLogin::new(user, first, state.clock.now(), next);
    session
        .insert(PENDING_KEY, pending)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep the pending login: {e}"))?;
    Ok(Redirect::to("/login/two-factor").into_response())
}

/// The login this session is waiting to finish, and its account, while it may still be
/// finished; a stale one is forgotten.
async fn pending_login(
    state: &AppState,
    session: &Session,
) -> Result<Option<(PendingLogin, User)>, AppError> {
    // A value that no longer reads as a pending login counts as none.
    let Ok(Some(pending)) = session.get::<PendingLogin>(PENDING_KEY).await else {
        return Ok(None);
    };
    let user = users::find_by_id(&state.db, pending.user_id()).await?;
    match user {
        Some(user) if pending.holds_for(&user, state.clock.now()) => Ok(Some((pending, user))),
        _ => {
            forget_pending(session).await?;
            Ok(None)
        }
    }
}

async fn forget_pending(session: &Session) -> Result<(), AppError> {
    session
        .remove_value(PENDING_KEY)
        .await
        .map_err(|e| anyhow::anyhow!("cannot forget the pending login: {e}"))?;
    Ok(())
}

async fn log_in_again(session: &Session) -> Response {
    let message = "Your login waited more than five minutes for its code. Please log in again.";
    Flash::push(session, FlashKind::Info, message).await;
    Redirect::to("/login").into_response()
}

#[derive(Template)]
#[template(path = "two_factor/login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    session: Session,
    layout: Layout,
) -> Result<Response, AppError> {
    if pending_login(&state, &session).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    let page = LoginPage {
        layout,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

async fn login(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some((pending, user)) = pending_login(&state, &auth.session).await? else {
        return Ok(log_in_again(&auth.session).await);
    };
    let page = |status: StatusCode, error: String| -> Result<Response, AppError> {
        let page = LoginPage {
            layout: layout.clone(),
            error: Some(error),
        };
        Ok((status, Html(page.render()?)).into_response())
    };
    let factor = match SecondFactor::parse(&form.code) {
        Ok(factor) => factor,
        Err(error) => return page(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    let check = auth
        .backend
        .check_second_factor(&user, &factor, origin.addr, state.clock.now())
        .await
        .map_err(anyhow::Error::from)?;
    match check {
        PasswordCheck::Right => {
            forget_pending(&auth.session).await?;
            let second = match factor {
                SecondFactor::Code(_) => SecondStep::Code,
                SecondFactor::Recovery(_) => {
                    let kind = EventKind::RecoveryCodeUsed;
                    security_events::record(&state.db, user.id, kind, "", &origin).await?;
                    SecondStep::RecoveryCode
                }
            };
            let factors = SignInFactors {
                first: pending.first,
                second: Some(second),
            };
            sign_in(&state, &mut auth, &user, &origin, factors).await?;
            let next = super::form::local_path(&pending.next).unwrap_or("/dashboard");
            Ok(Redirect::to(next).into_response())
        }
        PasswordCheck::Wrong => {
            let kind = EventKind::SignInFailed;
            security_events::record(&state.db, user.id, kind, "a wrong code", &origin).await?;
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That code is not right, or was used already. Enter the code your app shows now."
                    .into(),
            )
        }
        PasswordCheck::Throttled(wait) => {
            let message = format!(
                "Too many failed attempts. Please wait {} and try again.",
                wait_in_words(wait)
            );
            Ok(with_retry_after(
                page(StatusCode::TOO_MANY_REQUESTS, message)?,
                wait,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "two_factor/required.html")]
struct RequiredPage {
    layout: Layout,
}

/// What an administrator without a second factor sees instead of the admin area.
pub(super) fn required_page(layout: Layout) -> Response {
    match (RequiredPage { layout }).render() {
        Ok(html) => (StatusCode::FORBIDDEN, Html(html)).into_response(),
        Err(error) => AppError::from(error).into_response(),
    }
}
