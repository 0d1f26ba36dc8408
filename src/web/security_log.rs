//! `/settings/security`: the account's security log (ASVS 16.3.1), the latest events first.
//! Administrators see the same list on the account's admin page.

use askama::Template;
use axum::{Router, extract::State, response::Html, routing::get};
use uuid::Uuid;

use super::{current_user::CurrentUser, error::AppError, format::date_time, layout::Layout};
use crate::{
    state::AppState,
    store::security_events::{self, SecurityEvent},
};

/// How many events the log shows.
pub const SHOWN: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/settings/security", get(page))
}

/// One event as the log's table shows it.
pub struct EventView {
    pub what: &'static str,
    pub detail: String,
    pub when: String,
    pub addr: String,
    pub device: String,
    pub warning: bool,
}

impl From<SecurityEvent> for EventView {
    fn from(event: SecurityEvent) -> Self {
        Self {
            what: event.kind.label(),
            warning: event.kind.is_warning(),
            detail: event.detail,
            when: date_time(event.created_at),
            addr: event.client_addr.unwrap_or_default(),
            device: event.device.unwrap_or_default(),
        }
    }
}

/// The latest [`SHOWN`] events of the account.
pub async fn latest(state: &AppState, owner_id: Uuid) -> Result<Vec<EventView>, AppError> {
    Ok(security_events::latest(&state.db, owner_id, SHOWN)
        .await?
        .into_iter()
        .map(EventView::from)
        .collect())
}

#[derive(Template)]
#[template(path = "settings/security.html")]
struct SecurityPage {
    layout: Layout,
    events: Vec<EventView>,
}

async fn page(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Html<String>, AppError> {
    let page = SecurityPage {
        layout,
        events: latest(&state, user.id).await?,
    };
    Ok(Html(page.render()?))
}
