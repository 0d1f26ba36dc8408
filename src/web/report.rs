//! `GET/POST /report/{username}`: anyone may report a public CV, without an account. Throttled
//! per client address; a username with no public CV gets the ordinary 404.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::{client::ClientAddr, error::AppError, layout::Layout};
use crate::{
    domain::moderation::{ReportCategory, Text},
    state::AppState,
    store::{
        auth_attempts::{self, Limit, Scope, Verdict},
        public_cvs, reports,
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route("/report/{username}", get(form).post(send))
}

#[derive(Template)]
#[template(path = "report/form.html")]
struct FormPage {
    layout: Layout,
    username: String,
    categories: Vec<(&'static str, &'static str, bool)>,
    details: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "report/sent.html")]
struct SentPage {
    layout: Layout,
    username: String,
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    details: String,
}

/// The owner of the public CV at `username`, or a 404 like the CV host's own.
async fn reported_owner(state: &AppState, username: &str) -> Result<uuid::Uuid, AppError> {
    let published = public_cvs::published(&state.db, &username.to_lowercase()).await?;
    published.map(|cv| cv.owner_id).ok_or(AppError::NotFound)
}

fn categories(chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    ReportCategory::ALL
        .into_iter()
        .map(|c| (c.as_str(), c.label(), c.as_str() == chosen))
        .collect()
}

async fn form(
    State(state): State<AppState>,
    layout: Layout,
    Path(username): Path<String>,
) -> Result<Html<String>, AppError> {
    reported_owner(&state, &username).await?;
    let page = FormPage {
        layout,
        username: username.to_lowercase(),
        categories: categories(""),
        details: String::new(),
        error: None,
    };
    Ok(Html(page.render()?))
}

async fn send(
    State(state): State<AppState>,
    layout: Layout,
    ClientAddr(addr): ClientAddr,
    Path(username): Path<String>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let owner_id = reported_owner(&state, &username).await?;
    let username = username.to_lowercase();
    let category = ReportCategory::parse(&form.category);
    let details = Text::parse(&form.details);
    let (Some(category), Ok(details)) = (category, &details) else {
        let error = match details {
            Err(error) => format!("Please tell us what is wrong. {error}"),
            Ok(_) => "Please choose what kind of problem it is.".to_owned(),
        };
        let page = FormPage {
            layout,
            categories: categories(&form.category),
            username,
            details: form.details,
            error: Some(error),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    let limits = &state.settings.moderation;
    let per_address = Limit {
        scope: Scope::ReportAddress,
        key: &addr.to_string(),
        max: limits.max_reports,
    };
    let window = Duration::from_secs(limits.report_window_secs);
    if let Verdict::Wait(wait) = auth_attempts::take(&state.db, window, &[per_address]).await? {
        return Err(AppError::TooManyRequests { retry_after: wait });
    }
    reports::insert(&state.db, owner_id, category, details).await?;
    Ok(Html(SentPage { layout, username }.render()?).into_response())
}
