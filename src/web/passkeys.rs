//! Passkeys. In `/settings/passkeys` a member adds one (after re-authentication), names,
//! renames and removes them; `/login/passkey` signs in with one, the passkey saying which
//! account it is for. A sign-in with a passkey counts as two factors. Each ceremony's state
//! lives in the server-side session and works once; the pages carry the browser's options
//! inline, and the browser's answer comes back in an ordinary form post.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential,
};
use webauthn_rs_proto::{AuthenticatorSelectionCriteria, ResidentKeyRequirement};

use super::{
    auth::{login_error, sign_in},
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    form::local_path,
    layout::{Flash, FlashKind, Layout},
    reauth::{self, Reauth, ReauthErrors, ReauthFields},
    resume::when,
};
use crate::{
    auth::AuthSession,
    domain::{EventKind, FirstFactor, PasskeyName, SignInFactors},
    state::AppState,
    store::{
        passkeys::{self, PasskeyRow},
        security_events::{self, Origin},
        users::{self, User},
    },
};

const REGISTRATION_KEY: &str = "passkey.registration";
const AUTHENTICATION_KEY: &str = "passkey.authentication";
/// How long a ceremony may take, from the page that starts it to the answer.
const LIFETIME: Duration = Duration::from_secs(5 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/passkeys", get(list))
        .route("/settings/passkeys/new", post(start_registration))
        .route("/settings/passkeys/register", post(finish_registration))
        .route("/settings/passkeys/{id}/rename", post(rename))
        .route("/settings/passkeys/{id}/remove", post(remove))
        .route("/login/passkey", get(start_sign_in).post(finish_sign_in))
        .route("/login/passkey/options", get(autofill_options))
}

/// A ceremony on its way through the browser.
#[derive(Serialize, Deserialize)]
struct Ceremony<S> {
    state: S,
    started_at: i64,
    /// The new passkey's name, or where to go after signing in.
    note: String,
}

async fn keep<S: Serialize>(
    state: &AppState,
    session: &Session,
    key: &str,
    ceremony_state: S,
    note: String,
) -> Result<(), AppError> {
    let ceremony = Ceremony {
        state: ceremony_state,
        started_at: state.clock.now().unix_timestamp(),
        note,
    };
    session
        .insert(key, ceremony)
        .await
        .map_err(|e| anyhow::anyhow!("cannot keep the passkey ceremony: {e}"))?;
    Ok(())
}

/// The ceremony this session started, taken out so it works once; none when too old.
async fn take<S: DeserializeOwned>(
    state: &AppState,
    session: &Session,
    key: &str,
) -> Option<Ceremony<S>> {
    let ceremony = session.remove::<Ceremony<S>>(key).await.ok().flatten()?;
    let age = state.clock.now().unix_timestamp() - ceremony.started_at;
    (0..LIFETIME.as_secs() as i64)
        .contains(&age)
        .then_some(ceremony)
}

/// Options for the browser, as JSON that is safe inside a `<script>` element.
fn inline_json(value: &impl Serialize) -> Result<String, AppError> {
    let json = serde_json::to_string(value).map_err(anyhow::Error::from)?;
    Ok(json.replace('<', "\\u003c"))
}

// ---------- Settings ----------

struct PasskeyView {
    id: Uuid,
    name: String,
    added: String,
    last_used: String,
}

impl From<PasskeyRow> for PasskeyView {
    fn from(row: PasskeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            added: when(row.created_at),
            last_used: row.last_used_at.map(when).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "settings/passkeys.html")]
struct ListPage {
    layout: Layout,
    passkeys: Vec<PasskeyView>,
    reauth: Reauth,
    name: String,
    name_error: Option<String>,
    reauth_errors: ReauthErrors,
    /// Errors reported as a flash; the removal forms' fields start empty.
    no_errors: ReauthErrors,
}

async fn list_page(
    state: &AppState,
    auth: &AuthSession,
    layout: Layout,
    user: &User,
    name: String,
    name_error: Option<String>,
    reauth_errors: ReauthErrors,
) -> Result<ListPage, AppError> {
    let passkeys = passkeys::of_owner(&state.db, user.id).await?;
    Ok(ListPage {
        layout,
        passkeys: passkeys.into_iter().map(PasskeyView::from).collect(),
        reauth: Reauth::needed(state, auth, user).await?,
        name,
        name_error,
        reauth_errors,
        no_errors: ReauthErrors::default(),
    })
}

async fn list(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Html<String>, AppError> {
    let page = list_page(
        &state,
        &auth,
        layout,
        &user,
        String::new(),
        None,
        ReauthErrors::default(),
    );
    Ok(Html(page.await?.render()?))
}

#[derive(Deserialize)]
struct NewPasskeyForm {
    #[serde(default)]
    name: String,
    #[serde(flatten)]
    reauth: ReauthFields,
}

#[derive(Template)]
#[template(path = "settings/passkey_register.html")]
struct RegisterPage {
    layout: Layout,
    name: String,
    options: String,
}

async fn start_registration(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<NewPasskeyForm>,
) -> Result<Response, AppError> {
    let refused = |name_error: Option<String>, reauth_errors: ReauthErrors| async {
        let page = list_page(
            &state,
            &auth,
            layout.clone(),
            &user,
            form.name.clone(),
            name_error,
            reauth_errors,
        );
        let html = Html(page.await?.render()?);
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    };
    let name = match PasskeyName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => return refused(Some(error.to_string()), ReauthErrors::default()).await,
    };
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form.reauth, None).await? {
        return refused(None, errors).await;
    }
    let existing = passkeys::credential_ids(&state.db, user.id).await?;
    let (mut options, registration) = state
        .webauthn
        .start_passkey_registration(user.id, &user.username, &user.username, Some(existing))
        .map_err(anyhow::Error::from)?;
    // Discoverable, so that signing in needs no username: the passkey names the account.
    options.public_key.authenticator_selection = Some(AuthenticatorSelectionCriteria {
        resident_key: Some(ResidentKeyRequirement::Required),
        require_resident_key: true,
        ..options
            .public_key
            .authenticator_selection
            .unwrap_or_default()
    });
    let note = name.as_str().to_owned();
    keep(&state, &auth.session, REGISTRATION_KEY, registration, note).await?;
    let page = RegisterPage {
        layout,
        name: name.to_string(),
        options: inline_json(&options)?,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct CredentialForm {
    #[serde(default)]
    credential: String,
}

async fn finish_registration(
    State(state): State<AppState>,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CredentialForm>,
) -> Result<Redirect, AppError> {
    let (kind, message) = match register(&state, &auth.session, &user, &origin, &form).await? {
        Ok(name) => (
            FlashKind::Success,
            format!("Passkey “{name}” is added: you can sign in with it."),
        ),
        Err(problem) => (FlashKind::Error, format!("No passkey was added: {problem}")),
    };
    Flash::push(&auth.session, kind, message).await;
    Ok(Redirect::to("/settings/passkeys"))
}

/// The new passkey's name, or what went wrong, in words.
async fn register(
    state: &AppState,
    session: &Session,
    user: &User,
    origin: &Origin,
    form: &CredentialForm,
) -> Result<Result<String, &'static str>, AppError> {
    let Some(ceremony) = take::<PasskeyRegistration>(state, session, REGISTRATION_KEY).await else {
        return Ok(Err(
            "it took too long, or was finished already. Please try again.",
        ));
    };
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(&form.credential)
    else {
        return Ok(Err(
            "the browser's answer could not be read. Please try again.",
        ));
    };
    let passkey = match state
        .webauthn
        .finish_passkey_registration(&credential, &ceremony.state)
    {
        Ok(passkey) => passkey,
        Err(error) => {
            tracing::info!(%error, "passkey registration refused");
            return Ok(Err(
                "the browser's answer did not check out. Please try again.",
            ));
        }
    };
    let name = ceremony.note;
    let mut tx = state.db.begin().await?;
    passkeys::insert(&mut *tx, user.id, &name, &passkey).await?;
    security_events::record(&mut *tx, user.id, EventKind::PasskeyAdded, &name, origin).await?;
    tx.commit().await?;
    Ok(Ok(name))
}

#[derive(Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<Uuid>,
    Form(form): Form<RenameForm>,
) -> Result<Redirect, AppError> {
    let name = match PasskeyName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => {
            Flash::push(&session, FlashKind::Error, error.to_string()).await;
            return Ok(Redirect::to("/settings/passkeys"));
        }
    };
    if !passkeys::rename(&state.db, user.id, id, name.as_str()).await? {
        return Err(AppError::NotFound);
    }
    let message = format!("The passkey is now called “{name}”.");
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/passkeys"))
}

async fn remove(
    State(state): State<AppState>,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<Uuid>,
    Form(form): Form<ReauthFields>,
) -> Result<Redirect, AppError> {
    if let Err(errors) = reauth::confirm(&state, &auth, &user, &origin, &form, None).await? {
        let problem = errors.password.or(errors.code).or(errors.github);
        let message = format!("Nothing was removed: {}", problem.unwrap_or_default());
        Flash::push(&auth.session, FlashKind::Error, message).await;
        return Ok(Redirect::to("/settings/passkeys"));
    }
    // Removed, then counted, in one transaction (see `settings::ways_in`).
    let mut tx = state.db.begin().await?;
    let Some(name) = passkeys::remove(&mut *tx, user.id, id).await? else {
        return Err(AppError::NotFound);
    };
    if super::settings::ways_in(&mut tx, &user).await? == 0 {
        let message = "This passkey is your only way to sign in: set a password first.";
        Flash::push(&auth.session, FlashKind::Error, message).await;
        return Ok(Redirect::to("/settings/passkeys"));
    }
    security_events::record(&mut *tx, user.id, EventKind::PasskeyRemoved, &name, &origin).await?;
    tx.commit().await?;
    let message = format!("Passkey “{name}” is removed: it no longer signs you in.");
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/passkeys"))
}

// ---------- Signing in ----------

#[derive(Template)]
#[template(path = "auth/passkey_login.html")]
struct SignInPage {
    layout: Layout,
    options: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn start_sign_in(
    State(state): State<AppState>,
    session: Session,
    layout: Layout,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_default();
    sign_in_page(&state, &session, layout, next, None, StatusCode::OK).await
}

/// A fresh sign-in challenge, kept in the session: the options for the browser, as inline JSON.
async fn challenge(state: &AppState, session: &Session, next: &str) -> Result<String, AppError> {
    let (options, authentication) = state
        .webauthn
        .start_discoverable_authentication()
        .map_err(anyhow::Error::from)?;
    let next = next.to_owned();
    keep(state, session, AUTHENTICATION_KEY, authentication, next).await?;
    inline_json(&options)
}

/// A fresh challenge and the page that hands it to the browser.
async fn sign_in_page(
    state: &AppState,
    session: &Session,
    layout: Layout,
    next: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = SignInPage {
        layout,
        options: challenge(state, session, next).await?,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "partials/passkey_options.html")]
struct OptionsFragment {
    options: String,
}

/// The options the login page's autofill asks for once it knows the browser can offer passkeys
/// there: an HTML fragment, fetched by `static/app.js`, so a plain view of the login page
/// starts no ceremony and writes no session.
async fn autofill_options(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = query
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or_default();
    let fragment = OptionsFragment {
        options: challenge(&state, &session, next).await?,
    };
    let headers = [(header::CACHE_CONTROL, "no-store")];
    Ok((headers, Html(fragment.render()?)).into_response())
}

async fn finish_sign_in(
    State(state): State<AppState>,
    mut auth: AuthSession,
    layout: Layout,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CredentialForm>,
) -> Result<Response, AppError> {
    let Some(ceremony) =
        take::<DiscoverableAuthentication>(&state, &auth.session, AUTHENTICATION_KEY).await
    else {
        let message = "That passkey sign-in took too long, or was finished already. Please try \
                       again.";
        return login_error(&state, layout, StatusCode::BAD_REQUEST, message.into());
    };
    let next = ceremony.note.clone();
    match verified_account(&state, &origin, &form, ceremony).await? {
        Ok(user) => {
            let factors = SignInFactors::only(FirstFactor::Passkey);
            sign_in(&state, &mut auth, &user, &origin, factors).await?;
            let next = local_path(&next).unwrap_or("/dashboard");
            Ok(Redirect::to(next).into_response())
        }
        Err(problem) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            sign_in_page(
                &state,
                &auth.session,
                layout,
                &next,
                Some(problem.into()),
                status,
            )
            .await
        }
    }
}

/// The active account whose passkey answered the challenge, or why none did.
async fn verified_account(
    state: &AppState,
    origin: &Origin,
    form: &CredentialForm,
    ceremony: Ceremony<DiscoverableAuthentication>,
) -> Result<Result<User, &'static str>, AppError> {
    const UNKNOWN: &str = "That passkey is not registered with txtcv, or not for that account.";
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(&form.credential) else {
        return Ok(Err(
            "The browser's answer could not be read. Please try again.",
        ));
    };
    let Ok((owner_id, credential_id)) = state
        .webauthn
        .identify_discoverable_authentication(&credential)
    else {
        return Ok(Err(UNKNOWN));
    };
    // Looked up under the account the passkey names: a passkey of one account never opens
    // another, whatever user handle it claims.
    let Some((id, mut passkey)) = passkeys::find(&state.db, owner_id, credential_id).await? else {
        return Ok(Err(UNKNOWN));
    };
    let result = match state.webauthn.finish_discoverable_authentication_v2(
        &credential,
        ceremony.state,
        &passkey,
    ) {
        Ok(result) => result,
        Err(error) => {
            tracing::info!(%error, "passkey sign-in refused");
            let kind = EventKind::SignInFailed;
            let detail = "a passkey answer that did not check out";
            security_events::record(&state.db, owner_id, kind, detail, origin).await?;
            return Ok(Err(
                "The passkey's answer did not check out. Please try again.",
            ));
        }
    };
    passkey.update_credential(&result);
    passkeys::used(&state.db, owner_id, id, &passkey).await?;
    let Some(user) = users::find_by_id(&state.db, owner_id).await? else {
        return Ok(Err(UNKNOWN));
    };
    if !user.is_active() {
        return Ok(Err(
            "This account is suspended. Contact support if you think this is a mistake.",
        ));
    }
    Ok(Ok(user))
}
