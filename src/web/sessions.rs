//! `/settings/sessions`: where the member is signed in (ASVS 7.4.3, 7.5.2). Each session is
//! listed with when it began and was last used, its browser in a few words and its address; any
//! one, or every other, can be ended. The routes act on the signed-in account's sessions alone:
//! a handle names a session without being its id, and one of another account's ends nothing.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use super::{
    client::RequestOrigin,
    current_user::CurrentUser,
    error::AppError,
    format::date_time,
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    auth::AuthSession,
    domain::EventKind,
    state::AppState,
    store::{
        security_events,
        sessions::{self, ListedSession},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/sessions", get(list))
        .route("/settings/sessions/others/end", post(end_others))
        .route("/settings/sessions/{handle}/end", post(end_one))
}

#[derive(Template)]
#[template(path = "settings/sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionView>,
}

struct SessionView {
    handle: String,
    current: bool,
    device: String,
    addr: String,
    signed_in: String,
    last_seen: String,
}

impl SessionView {
    fn new(session: ListedSession, current: Option<&str>) -> Self {
        let from = session.signed_in_from.unwrap_or(sessions::SignedInFrom {
            addr: None,
            device: None,
        });
        Self {
            current: current == Some(session.handle.as_str()),
            handle: session.handle,
            device: from
                .device
                .unwrap_or_else(|| "An unknown browser".to_owned()),
            addr: from.addr.unwrap_or_else(|| "unknown".to_owned()),
            signed_in: date_time(session.created_at),
            last_seen: date_time(session.last_seen_at),
        }
    }
}

async fn list(
    State(state): State<AppState>,
    auth: AuthSession,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let current = auth.session.id().map(|id| sessions::handle_of(&id));
    let mut listed: Vec<SessionView> = sessions::list_for_user(&state.db, user.id)
        .await?
        .into_iter()
        .map(|session| SessionView::new(session, current.as_deref()))
        .collect();
    // This session first: it is the one the member is looking from.
    listed.sort_by_key(|session| !session.current);
    let page = SessionsPage {
        layout,
        sessions: listed,
    };
    Ok(Html(page.render()?).into_response())
}

async fn end_one(
    State(state): State<AppState>,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
    Path(handle): Path<String>,
) -> Result<Response, AppError> {
    if auth.session.id().map(|id| sessions::handle_of(&id)) == Some(handle.clone()) {
        // Ending the session one is using is logging out, which has its own button.
        return Ok(Redirect::to("/settings/sessions").into_response());
    }
    if !sessions::is_handle(&handle) {
        return Err(AppError::NotFound);
    }
    let Some(ended) = sessions::delete_by_handle(&state.db, user.id, &handle).await? else {
        return Err(AppError::NotFound);
    };
    // Every process hears of it at commit; this one forgets it before answering.
    state.caches.sessions.invalidate(&ended);
    let kind = EventKind::SessionEnded;
    security_events::record(&state.db, user.id, kind, "one session", &origin).await?;
    let message = "That session is ended: whoever used it is signed out.";
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/sessions").into_response())
}

async fn end_others(
    State(state): State<AppState>,
    auth: AuthSession,
    CurrentUser(user): CurrentUser,
    RequestOrigin(origin): RequestOrigin,
) -> Result<Response, AppError> {
    let mut tx = state.db.begin().await?;
    let ended = sessions::delete_for_user(&mut tx, user.id, auth.session.id()).await?;
    tx.commit().await?;
    if ended > 0 {
        let detail = format!("every other session ({ended})");
        let kind = EventKind::SessionEnded;
        security_events::record(&state.db, user.id, kind, &detail, &origin).await?;
    }
    let message = match ended {
        0 => "No other session was signed in.".to_owned(),
        1 => "The other session is ended.".to_owned(),
        n => format!("The {n} other sessions are ended."),
    };
    Flash::push(&auth.session, FlashKind::Success, message).await;
    Ok(Redirect::to("/settings/sessions").into_response())
}
