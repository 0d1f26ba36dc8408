//! Private links to a CV, one per company, made and revoked from the CV's details page. The CV
//! host serves them at `/s/{token}` (`super::public_cv`).

use axum::{
    Form, Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Redirect,
    routing::post,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    error::AppError,
    host::PublicUrls,
    layout::{Flash, FlashKind},
    resume::{EditedCv, when},
};
use crate::{
    domain::{LinkSecret, ShareLabel},
    state::AppState,
    store::{
        cvs::Cv,
        share_links::{self, NewShareLink, ShareLink},
    },
};

/// The longest a link may live, in days.
const MAX_DAYS: i64 = 365;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cvs/{id}/share-links", post(create))
        .route("/cvs/{id}/share-links/{link}/revoke", post(revoke))
}

/// A link as the details page lists it.
pub struct ShareLinkView {
    pub id: Uuid,
    pub label: String,
    pub url: String,
    pub created: String,
    /// "never", a date, or "expired" / "revoked".
    pub state: String,
    pub live: bool,
    pub opens: i32,
    pub pdf_downloads: i32,
}

impl ShareLinkView {
    fn new(link: ShareLink, url: String, now: OffsetDateTime) -> Self {
        let state = match (link.revoked_at, link.expires_at) {
            (Some(_), _) => "revoked".to_owned(),
            (None, Some(at)) if at <= now => "expired".to_owned(),
            (None, Some(at)) => format!("until {}", when(at)),
            (None, None) => "no expiry".to_owned(),
        };
        Self {
            id: link.id,
            live: link.is_live(now),
            label: link.label,
            created: when(link.created_at),
            state,
            opens: link.opens,
            pdf_downloads: link.pdf_downloads,
            url,
        }
    }
}

/// The links of `cv`, newest first, with their full addresses.
pub async fn of(
    state: &AppState,
    cv: &Cv,
    username: &str,
    headers: &HeaderMap,
) -> Result<Vec<ShareLinkView>, AppError> {
    let links = share_links::of_cv(&state.db, cv.owner_id, cv.id).await?;
    let host = PublicUrls::from_headers(&state.settings.server, headers).cv(username, None);
    let now = state.clock.now();
    Ok(links
        .into_iter()
        .map(|link| {
            let url = format!("{host}s/{}", link.token);
            ShareLinkView::new(link, url, now)
        })
        .collect())
}

#[derive(Deserialize)]
struct NewLinkForm {
    #[serde(default)]
    label: String,
    /// Empty for a link that does not expire.
    #[serde(default)]
    expires_in_days: String,
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    Form(form): Form<NewLinkForm>,
) -> Result<Redirect, AppError> {
    let cv = edited.cv.as_ref().ok_or(AppError::NotFound)?;
    let back = format!("/cvs/{}/details", cv.id);
    let (label, lifetime) = match parse(&form) {
        Ok(parsed) => parsed,
        Err(problem) => {
            let message = format!("No link was made: {problem}");
            Flash::push(&session, FlashKind::Error, message).await;
            return Ok(Redirect::to(&back));
        }
    };
    let token = LinkSecret::generate();
    let link = NewShareLink {
        cv_id: cv.id,
        token: token.expose(),
        label: label.as_str(),
        expires_at: lifetime.map(|days| state.clock.now() + days),
    };
    share_links::create(&state.db, cv.owner_id, link).await?;
    let message = format!("A private link for “{label}” is ready: copy it from the list below.");
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to(&back))
}

fn parse(form: &NewLinkForm) -> Result<(ShareLabel, Option<Duration>), String> {
    let label = ShareLabel::parse(&form.label).map_err(|error| {
        format!("the label: {error} Say who it is for, e.g. “Acme, backend role”.")
    })?;
    let days = form.expires_in_days.trim();
    if days.is_empty() {
        return Ok((label, None));
    }
    match days.parse::<i64>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok((label, Some(Duration::days(days)))),
        _ => Err(format!(
            "a link expires after 1 to {MAX_DAYS} days, or never (leave it empty)."
        )),
    }
}

async fn revoke(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    Path((_, link)): Path<(String, Uuid)>,
) -> Result<Redirect, AppError> {
    let cv = edited.cv.as_ref().ok_or(AppError::NotFound)?;
    if !share_links::revoke(&state.db, cv.owner_id, cv.id, link).await? {
        return Err(AppError::NotFound);
    }
    let message = "The link is revoked: it shows nothing any more.";
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to(&format!("/cvs/{}/details", cv.id)))
}
