//! The accounts list, one account's page, and the actions on it.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{Html, Redirect},
    routing::{get, post},
};
use serde::Deserialize;
use std::time::Duration;
use tower_sessions::Session;

use super::{
    Moderator, PAGE_SIZE, Pagination, audit::EntryView, filter_value, flash_outcome, offset,
    page_number, reports::ReportView,
};
use crate::{
    domain::{AccountStatus, Username, moderation::Text},
    moderation::{self, Action, ActionError},
    state::AppState,
    store::{
        audit,
        moderation::{self as store, AccountFilter, AccountRow, CvState},
        reports,
        users::{self, User},
    },
    web::{
        error::AppError,
        form::url_encode,
        host::public_cv_url,
        layout::{Flash, FlashKind, Layout},
        resume::when,
        security_log::{self, EventView},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list))
        .route("/accounts/{username}", get(show))
        .route("/accounts/{username}/suspend", post(suspend))
        .route("/accounts/{username}/unsuspend", post(unsuspend))
        .route("/accounts/{username}/unpublish", post(unpublish))
        .route("/accounts/{username}/delete", post(delete))
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct ListPage {
    layout: Layout,
    q: String,
    status: String,
    accounts: Vec<AccountLine>,
    pagination: Pagination,
}

struct AccountLine {
    account: AccountRow,
    created: String,
    last_login: String,
}

fn parse_status(value: Option<&str>) -> Option<AccountStatus> {
    match value {
        Some("active") => Some(AccountStatus::Active),
        Some("suspended") => Some(AccountStatus::Suspended),
        _ => None,
    }
}

async fn list(
    State(state): State<AppState>,
    layout: Layout,
    _admin: Moderator,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let status = parse_status(query.status.as_deref());
    let filter = AccountFilter {
        search: filter_value("search", &query.q)?,
        status,
    };
    let page = page_number(query.page.as_deref());
    let (rows, total) = store::accounts(&state.db, &filter, PAGE_SIZE, offset(page)).await?;
    let q = filter.search.unwrap_or_default().to_owned();
    let status = status.map(AccountStatus::as_str).unwrap_or_default();
    let pagination = Pagination::new(
        "/admin/accounts",
        &[("q", &q), ("status", status)],
        page,
        total,
    );
    let accounts = rows
        .into_iter()
        .map(|account| AccountLine {
            created: when(account.created_at),
            last_login: account.last_login_at.map(when).unwrap_or_default(),
            account,
        })
        .collect();
    let page = ListPage {
        layout,
        q,
        status: status.to_owned(),
        accounts,
        pagination,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    layout: Layout,
    account: User,
    is_self: bool,
    created: String,
    last_login: String,
    cv: Option<CvState>,
    public_url: String,
    letters: i64,
    reports: Vec<ReportView>,
    history: Vec<EntryView>,
    /// The account's security log: its sign-ins and changes to them.
    events: Vec<EventView>,
}

/// The account an admin page is about. An address that cannot be a username is not looked up.
async fn target(state: &AppState, username: &str) -> Result<User, AppError> {
    let username = Username::parse(username).map_err(|_| AppError::NotFound)?;
    users::find_by_username(&state.db, &username)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    layout: Layout,
    Moderator(admin): Moderator,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let account = target(&state, &username).await?;
    let page = AccountPage {
        layout,
        is_self: account.id == admin.id,
        created: when(account.created_at),
        last_login: account.last_login_at.map(when).unwrap_or_default(),
        cv: store::cv_state(&state.db, account.id).await?,
        public_url: public_cv_url(&state.settings.server, &account.username, &headers),
        letters: store::letter_count(&state.db, account.id).await?,
        reports: reports::about(&state.db, account.id)
            .await?
            .into_iter()
            .map(ReportView::from)
            .collect(),
        history: audit::about(&state.db, &account.username)
            .await?
            .into_iter()
            .map(EntryView::from)
            .collect(),
        events: security_log::latest(&state, account.id).await?,
        account,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

/// The account's page with the outcome of an action on top.
async fn done(
    session: &Session,
    username: &str,
    outcome: Result<(), ActionError>,
    success: String,
) -> Result<Redirect, AppError> {
    flash_outcome(session, outcome, success).await?;
    Ok(Redirect::to(&account_path(username)))
}

pub(super) fn account_path(username: &str) -> String {
    format!("/admin/accounts/{}", url_encode(username))
}

/// Does an action that puts a reason on the record, or asks for the reason when the form's is
/// missing or too long. `success` says what was done to the account named.
async fn apply_with_reason(
    state: &AppState,
    session: &Session,
    admin: &User,
    username: &str,
    form: &ReasonForm,
    action: fn(&Text) -> Action<'_>,
    success: fn(&str) -> String,
) -> Result<Redirect, AppError> {
    let account = target(state, username).await?;
    let reason = match Text::parse(&form.reason) {
        Ok(reason) => reason,
        Err(error) => {
            let message = format!("Nothing was done. Reason: {error}");
            Flash::push(session, FlashKind::Error, message).await;
            return Ok(Redirect::to(&account_path(&account.username)));
        }
    };
    let outcome = moderation::apply(&state.db, admin, &account, action(&reason), None).await;
    done(
        session,
        &account.username,
        outcome,
        success(&account.username),
    )
    .await
}

async fn suspend(
    State(state): State<AppState>,
    session: Session,
    Moderator(admin): Moderator,
    Path(username): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect, AppError> {
    apply_with_reason(
        &state,
        &session,
        &admin,
        &username,
        &form,
        |reason| Action::Suspend { reason },
        |username| format!("{username} is suspended; their sessions have ended."),
    )
    .await
}

async fn unsuspend(
    State(state): State<AppState>,
    session: Session,
    Moderator(admin): Moderator,
    Path(username): Path<String>,
) -> Result<Redirect, AppError> {
    let account = target(&state, &username).await?;
    let outcome = moderation::apply(&state.db, &admin, &account, Action::Unsuspend, None).await;
    let message = format!("{} is active again.", account.username);
    done(&session, &account.username, outcome, message).await
}

async fn unpublish(
    State(state): State<AppState>,
    session: Session,
    Moderator(admin): Moderator,
    Path(username): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect, AppError> {
    apply_with_reason(
        &state,
        &session,
        &admin,
        &username,
        &form,
        |reason| Action::Unpublish { reason, only: None },
        |username| format!("{username}'s CV is off the public web; they will see why."),
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    Moderator(admin): Moderator,
    Path(username): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Redirect, AppError> {
    let account = target(&state, &username).await?;
    if form.confirm.trim().to_lowercase() != account.username {
        let message = format!(
            "Nothing was deleted: type the username, {}, to confirm.",
            account.username
        );
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(Redirect::to(&account_path(&account.username)));
    }
    let action = Action::Delete {
        block_for: block_for(&state),
    };
    match moderation::apply(&state.db, &admin, &account, action, None).await {
        Ok(()) => {
            let message = format!(
                "{} and everything it owned are deleted; the username is blocked for {} days.",
                account.username, state.settings.moderation.username_block_days
            );
            Flash::push(&session, FlashKind::Success, message).await;
            Ok(Redirect::to("/admin/accounts"))
        }
        outcome => done(&session, &account.username, outcome, String::new()).await,
    }
}

/// How long a deleted account's username stays blocked.
pub fn block_for(state: &AppState) -> Duration {
    let days = state
        .settings
        .moderation
        .username_block_days
        .max(0)
        .unsigned_abs();
    Duration::from_secs(days * 24 * 60 * 60)
}
