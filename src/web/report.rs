//! `GET/POST /report/{username}` (the primary CV) and `/report/{username}/{slug}` (another
//! published CV): anyone may report a public CV, without an account. Throttled per client
//! address; a CV that is not public gets the ordinary 404.

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
    domain::{
        CvSlug, Username,
        moderation::{ReportCategory, Text},
    },
    state::AppState,
    store::{
        auth_attempts::{self, Limit, Scope, Verdict},
        public_cvs::{self, PublishedCv},
        reports,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/report/{username}", get(form).post(send))
        .route("/report/{username}/{slug}", get(form).post(send))
}

/// The CV a report is about, as its address names it.
#[derive(Deserialize)]
struct Reported {
    username: String,
    /// Absent for the primary CV, served at the root of the owner's host.
    slug: Option<String>,
}

impl Reported {
    /// The published CV, or a 404 like the CV host's own. An address that cannot name a CV
    /// (not a username, not a slug) is not looked up at all.
    async fn find(&self, state: &AppState) -> Result<PublishedCv, AppError> {
        let username = Username::parse(&self.username).map_err(|_| AppError::NotFound)?;
        let published = match &self.slug {
            None => public_cvs::published(&state.db, username.as_str()).await?,
            Some(slug) => {
                let slug = CvSlug::parse(&slug.to_lowercase()).map_err(|_| AppError::NotFound)?;
                public_cvs::published_by_slug(&state.db, username.as_str(), &slug).await?
            }
        };
        published.ok_or(AppError::NotFound)
    }

    /// What the pages call it and where the form posts: `ada` or `ada/backend`.
    fn about(&self) -> About {
        let username = self.username.to_lowercase();
        let slug = self.slug.as_deref().map(str::to_lowercase);
        let path = match &slug {
            None => username.clone(),
            Some(slug) => format!("{username}/{slug}"),
        };
        About {
            username,
            slug,
            path,
        }
    }
}

struct About {
    username: String,
    slug: Option<String>,
    path: String,
}

#[derive(Template)]
#[template(path = "report/form.html")]
struct FormPage {
    layout: Layout,
    about: About,
    categories: Vec<(&'static str, &'static str, bool)>,
    details: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "report/sent.html")]
struct SentPage {
    layout: Layout,
    about: About,
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    details: String,
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
    Path(reported): Path<Reported>,
) -> Result<Html<String>, AppError> {
    reported.find(&state).await?;
    let page = FormPage {
        layout,
        about: reported.about(),
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
    Path(reported): Path<Reported>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let cv = reported.find(&state).await?;
    let category = ReportCategory::parse(&form.category);
    let details = Text::parse(&form.details);
    let (Some(category), Ok(details)) = (category, &details) else {
        let error = match details {
            Err(error) => format!("Please tell us what is wrong. {error}"),
            Ok(_) => "Please choose what kind of problem it is.".to_owned(),
        };
        let page = FormPage {
            layout,
            about: reported.about(),
            categories: categories(&form.category),
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
    reports::insert(&state.db, cv.owner_id, cv.cv_id, category, details).await?;
    let page = SentPage {
        layout,
        about: reported.about(),
    };
    Ok(Html(page.render()?).into_response())
}
