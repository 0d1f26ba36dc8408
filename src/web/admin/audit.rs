//! `GET /admin/audit`: every moderation action, newest first, filterable by admin and target.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use serde::Deserialize;

use super::{Moderator, PAGE_SIZE, Pagination, filter_value, offset, page_number};
use crate::{
    state::AppState,
    store::audit::{self, Filter, LoggedAction},
    web::{error::AppError, layout::Layout, resume::when},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(audit_log))
}

#[derive(Deserialize)]
struct AuditQuery {
    admin: Option<String>,
    target: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    admin: String,
    target: String,
    entries: Vec<EntryView>,
    pagination: Pagination,
}

pub struct EntryView {
    pub at: String,
    pub admin: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    pub report: String,
}

impl From<LoggedAction> for EntryView {
    fn from(entry: LoggedAction) -> Self {
        Self {
            at: when(entry.at),
            admin: entry.admin_username,
            action: entry.action,
            target: entry.target_username,
            reason: entry.reason.unwrap_or_default(),
            report: entry.report_id.map(|id| id.to_string()).unwrap_or_default(),
        }
    }
}

async fn audit_log(
    State(state): State<AppState>,
    layout: Layout,
    _admin: Moderator,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    let filter = Filter {
        admin: filter_value("admin filter", &query.admin)?,
        target: filter_value("account filter", &query.target)?,
    };
    let page = page_number(query.page.as_deref());
    let (entries, total) = audit::list(&state.db, &filter, PAGE_SIZE, offset(page)).await?;
    let admin = filter.admin.unwrap_or_default().to_owned();
    let target = filter.target.unwrap_or_default().to_owned();
    let pagination = Pagination::new(
        "/admin/audit",
        &[("admin", &admin), ("target", &target)],
        page,
        total,
    );
    let page = AuditPage {
        layout,
        entries: entries.into_iter().map(EntryView::from).collect(),
        admin,
        target,
        pagination,
    };
    Ok(Html(page.render()?))
}
