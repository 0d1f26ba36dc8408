//! `GET /admin/reports`: open abuse reports, newest first, each answered with an action.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, Redirect},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::{Moderator, PAGE_SIZE, Pagination, flash_outcome, offset, page_number};
use crate::{
    domain::moderation::{ReportCategory, Resolution, Text},
    moderation::{self, Action, Answering},
    state::AppState,
    store::{
        reports::{self, Report},
        users,
    },
    web::{
        error::AppError,
        layout::{Flash, FlashKind, Layout},
        resume::when,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(list))
        .route("/reports/{id}/resolve", post(resolve))
}

/// A report as the admin pages show it.
pub struct ReportView {
    pub id: Uuid,
    pub target: String,
    /// Which CV the report is about, in words ("the CV “Backend” at /backend"); empty for
    /// reports made before they named one.
    pub cv: String,
    pub category: &'static str,
    pub details: String,
    pub created: String,
    /// "dismiss by ada, 2026-11-25 14:47 UTC: note", empty while open.
    pub outcome: String,
}

impl From<Report> for ReportView {
    fn from(report: Report) -> Self {
        let outcome = match (report.resolution, report.resolved_at) {
            (Some(resolution), Some(at)) => format!(
                "{resolution} by {}, {}{}",
                report.resolved_by.unwrap_or_default(),
                when(at),
                report
                    .resolution_note
                    .map(|note| format!(": {note}"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        let cv = match (report.cv_id, report.cv_title, report.cv_slug) {
            (None, ..) => String::new(),
            (Some(_), Some(title), Some(slug)) if report.cv_is_primary == Some(true) => {
                format!("the primary CV “{title}” (/{slug}, shown at the root)")
            }
            (Some(_), Some(title), Some(slug)) => format!("the CV “{title}” at /{slug}"),
            (Some(_), ..) => "a CV deleted since".to_owned(),
        };
        Self {
            id: report.id,
            target: report.target_username,
            cv,
            category: ReportCategory::parse(&report.category).map_or("Unknown", |c| c.label()),
            details: report.details,
            created: when(report.created_at),
            outcome,
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ListPage {
    layout: Layout,
    reports: Vec<ReportView>,
    pagination: Pagination,
}

async fn list(
    State(state): State<AppState>,
    layout: Layout,
    _admin: Moderator,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let page = page_number(query.page.as_deref());
    let (rows, total) = reports::open(&state.db, PAGE_SIZE, offset(page)).await?;
    let page = ListPage {
        layout,
        reports: rows.into_iter().map(ReportView::from).collect(),
        pagination: Pagination::new("/admin/reports", &[], page, total),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
}

async fn resolve(
    State(state): State<AppState>,
    session: Session,
    Moderator(admin): Moderator,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Result<Redirect, AppError> {
    let back = Redirect::to("/admin/reports");
    let id = id.parse::<Uuid>().map_err(|_| AppError::NotFound)?;
    let report = reports::find_open(&state.db, id).await?;
    let Some(report) = report else {
        let message = "That report is already resolved, or does not exist.";
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(back);
    };
    let (Some(resolution), Ok(note)) = (
        Resolution::parse(&form.action),
        Text::parse_optional(&form.note),
    ) else {
        let message = "Choose an action, and keep the note under 2000 characters.";
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(back);
    };
    let Some(account) = users::find_by_id(&state.db, report.target_id).await? else {
        return Err(AppError::NotFound);
    };
    let action = match (resolution, &note) {
        (Resolution::Dismiss, _) => Action::DismissReport,
        (Resolution::Unpublish, Some(reason)) => Action::Unpublish {
            reason,
            only: report.cv_id,
        },
        (Resolution::Suspend, Some(reason)) => Action::Suspend { reason },
        (_, None) => {
            let message = "Unpublishing or suspending needs a note: the reason goes on the record.";
            Flash::push(&session, FlashKind::Error, message).await;
            return Ok(back);
        }
    };
    let answering = Answering {
        report_id: report.id,
        note: note.as_ref(),
    };
    let outcome = moderation::apply(&state.db, &admin, &account, action, Some(answering)).await;
    let success = format!(
        "The report about {} is resolved ({}).",
        account.username,
        resolution.as_str()
    );
    flash_outcome(&session, outcome, success).await?;
    Ok(back)
}
