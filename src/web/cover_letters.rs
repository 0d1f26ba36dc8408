//! Cover letters: ask for one, watch it being written (an htmx partial that polls itself while the
//! letter is not final), read, copy, download, retry or delete it. Only its owner gets any of it:
//! another member gets the same 404 as for a letter that does not exist, and so does an anonymous
//! visitor, except on the pages (the list and a letter's page), which ask them to log in first.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    current_user::{CurrentUser, SignedInOr404},
    error::AppError,
    format,
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    domain::{CoverLetterStatus, LetterDetails, LetterDetailsErrors},
    jobs::{self, WriteCoverLetter},
    state::AppState,
    store::{
        cover_letters::{self, CoverLetter, NewLetter},
        cvs, users,
        users::User,
    },
};

const QUOTA_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cover-letters", get(index).post(create))
        .route("/cover-letters/{id}", get(show))
        .route("/cover-letters/{id}/status", get(status))
        .route("/cover-letters/{id}/retry", post(retry))
        .route("/cover-letters/{id}/delete", post(delete))
        .route("/cover-letters/{id}/download", get(download))
}

/// A letter as the pages show it.
pub struct LetterView {
    id: Uuid,
    headline: String,
    status: CoverLetterStatus,
    content: String,
    failure_reason: String,
    attempts: i32,
    created: String,
    cv_version: i32,
    job_description: String,
    written_by: String,
}

impl From<CoverLetter> for LetterView {
    fn from(letter: CoverLetter) -> Self {
        let written_by = match (&letter.provider, &letter.model, letter.latency_ms) {
            (Some(provider), Some(model), Some(ms)) => {
                format!("Written by {provider} ({model}) in {ms} ms")
            }
            _ => String::new(),
        };
        Self {
            id: letter.id,
            headline: letter.headline(),
            status: letter.status,
            content: letter.content.unwrap_or_default(),
            failure_reason: letter.failure_reason.unwrap_or_default(),
            attempts: letter.attempts,
            created: format::date_time(letter.created_at),
            cv_version: letter.cv_version,
            job_description: letter.job_description,
            written_by,
        }
    }
}

/// The status partial alone: what `hx-get` fetches every 2 s while the letter is not final.
#[derive(Template)]
#[template(path = "partials/cover_letter.html")]
struct StatusPartial {
    letter: LetterView,
}

#[derive(Template)]
#[template(path = "cover_letters/show.html")]
struct LetterPage {
    layout: Layout,
    letter: LetterView,
}

#[derive(Template)]
#[template(path = "cover_letters/index.html")]
struct LettersPage {
    layout: Layout,
    letters: Vec<LetterView>,
    form: LetterForm,
    errors: LetterDetailsErrors,
    /// Why the form could not be accepted as a whole (no CV yet, quota reached).
    problem: Option<String>,
    has_cv: bool,
    /// The saved CVs a letter can be written from, the chosen one marked.
    cvs: Vec<CvChoice>,
    quota_left: i64,
}

struct CvChoice {
    id: Uuid,
    title: String,
    chosen: bool,
}

#[derive(Default, Deserialize)]
struct LetterForm {
    #[serde(default)]
    job_description: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    job_title: String,
    /// The id of the CV to write from; empty for the primary.
    #[serde(default)]
    cv: String,
}

/// The letter `id` of the signed-in `user`, or the 404 that anyone else gets.
async fn owned_letter(state: &AppState, user: &User, id: &str) -> Result<CoverLetter, AppError> {
    cover_letters::find(&state.db, user.id, letter_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// A letter id from the path; a malformed one is simply a letter that does not exist.
fn letter_id(id: &str) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// The letter a status poll asks about. An unfinished letter is kept in memory until its row
/// changes (`crate::cache`), so polling it costs no query; a final one is read once, and then the
/// browser stops asking.
async fn polled_letter(state: &AppState, user: &User, id: &str) -> Result<CoverLetter, AppError> {
    let cache = &state.caches.letters;
    let key = (user.id, letter_id(id)?);
    if let Some(letter) = cache.get(&key) {
        return Ok(letter);
    }
    let start = cache.read_start();
    let letter = owned_letter(state, user, id).await?;
    if !letter.status.is_final() {
        cache.keep(start, key, letter.clone());
    }
    Ok(letter)
}

async fn index(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    letters_page(
        &state,
        layout,
        &user,
        LetterForm::default(),
        FormFeedback::fresh(),
    )
    .await
}

/// What the letters page says about the form (nothing, or why it was refused) and the status the
/// page goes out with.
struct FormFeedback {
    errors: LetterDetailsErrors,
    /// What stops any letter, whatever the form says (no saved CV, quota reached).
    problem: Option<String>,
    status: StatusCode,
}

impl FormFeedback {
    /// Nothing to say: a blank form, or one not sent yet.
    fn fresh() -> Self {
        Self {
            errors: LetterDetailsErrors::default(),
            problem: None,
            status: StatusCode::OK,
        }
    }

    fn invalid(errors: LetterDetailsErrors) -> Self {
        Self {
            errors,
            problem: None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn problem(problem: String, status: StatusCode) -> Self {
        Self {
            errors: LetterDetailsErrors::default(),
            problem: Some(problem),
            status,
        }
    }
}

async fn letters_page(
    state: &AppState,
    layout: Layout,
    user: &User,
    form: LetterForm,
    feedback: FormFeedback,
) -> Result<Response, AppError> {
    let letters = cover_letters::list(&state.db, user.id).await?;
    let cvs: Vec<CvChoice> = cvs::list(&state.db, user.id)
        .await?
        .into_iter()
        .filter(|listing| listing.latest_number.is_some())
        .map(|listing| CvChoice {
            chosen: if form.cv.is_empty() {
                listing.cv.is_primary
            } else {
                form.cv == listing.cv.id.to_string()
            },
            id: listing.cv.id,
            title: listing.cv.title,
        })
        .collect();
    let has_cv = !cvs.is_empty();
    let used = cover_letters::generations_within(&state.db, user.id, QUOTA_WINDOW).await?;
    let quota_left = (i64::from(state.settings.cover_letters.daily_quota) - used).max(0);
    let page = LettersPage {
        layout,
        letters: letters.into_iter().map(LetterView::from).collect(),
        form,
        errors: feedback.errors,
        problem: feedback.problem,
        has_cv,
        cvs,
        quota_left,
    };
    Ok((feedback.status, Html(page.render()?)).into_response())
}

/// Why a new generation cannot start now, if it cannot.
async fn over_quota(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    user: &User,
) -> Result<Option<String>, AppError> {
    // One generation at a time per account, so two quick clicks cannot both squeeze past the quota.
    users::lock(&mut *tx, user.id).await?;
    let quota = state.settings.cover_letters.daily_quota;
    let used = cover_letters::generations_within(&mut *tx, user.id, QUOTA_WINDOW).await?;
    Ok((used >= i64::from(quota)).then(|| {
        format!("You have used all {quota} cover-letter generations for the last 24 hours. Please try again later.")
    }))
}

async fn create(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    Form(form): Form<LetterForm>,
) -> Result<Response, AppError> {
    match start_letter(&state, &user, &form).await? {
        Ok(letter_id) => Ok(Redirect::to(&format!("/cover-letters/{letter_id}")).into_response()),
        Err(feedback) => letters_page(&state, layout, &user, form, feedback).await,
    }
}

/// Saves the letter the form asks for and queues its writing; its id, or why it was refused.
async fn start_letter(
    state: &AppState,
    user: &User,
    form: &LetterForm,
) -> Result<Result<Uuid, FormFeedback>, AppError> {
    let details = match LetterDetails::parse(&form.job_description, &form.company, &form.job_title)
    {
        Ok(details) => details,
        Err(errors) => return Ok(Err(FormFeedback::invalid(errors))),
    };
    let mut tx = state.db.begin().await?;
    if let Some(problem) = over_quota(state, &mut tx, user).await? {
        return Ok(Err(FormFeedback::problem(
            problem,
            StatusCode::TOO_MANY_REQUESTS,
        )));
    }
    // The CV the user picked, else the primary; an id that is not theirs finds nothing.
    let cv = match form.cv.parse::<Uuid>() {
        Ok(id) => cvs::find(&mut *tx, user.id, id).await?,
        Err(_) => cvs::primary(&mut *tx, user.id).await?,
    };
    let version = match cv {
        Some(cv) => cvs::latest_version(&mut *tx, user.id, cv.id).await?,
        None => None,
    };
    let Some(version) = version else {
        let problem = "Save your CV first: letters are written from it.".to_owned();
        return Ok(Err(FormFeedback::problem(
            problem,
            StatusCode::UNPROCESSABLE_ENTITY,
        )));
    };
    let new = NewLetter {
        owner_id: user.id,
        cv_id: version.cv_id,
        cv_version: version.number,
        details: &details,
    };
    let letter = cover_letters::insert(&mut tx, new).await?;
    queue_generation(&mut tx, user.id, letter.id).await?;
    tx.commit().await?;
    Ok(Ok(letter.id))
}

/// Counts a generation against the owner's quota and queues the job that writes the letter.
async fn queue_generation(
    tx: &mut sqlx::PgConnection,
    owner_id: Uuid,
    letter_id: Uuid,
) -> Result<(), AppError> {
    cover_letters::record_generation(&mut *tx, owner_id).await?;
    jobs::enqueue(
        tx,
        &WriteCoverLetter {
            owner_id,
            letter_id,
        },
    )
    .await?;
    Ok(())
}

async fn show(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let letter = owned_letter(&state, &user, &id).await?;
    Ok(Html(
        LetterPage {
            layout,
            letter: letter.into(),
        }
        .render()?,
    ))
}

/// Never redirects: a poller that lost its session gets the 404, which htmx does not swap in.
async fn status(
    State(state): State<AppState>,
    SignedInOr404(user): SignedInOr404,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let letter = polled_letter(&state, &user, &id).await?;
    Ok(Html(
        StatusPartial {
            letter: letter.into(),
        }
        .render()?,
    ))
}

async fn retry(
    State(state): State<AppState>,
    session: Session,
    SignedInOr404(user): SignedInOr404,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let letter = owned_letter(&state, &user, &id).await?;
    let page = format!("/cover-letters/{}", letter.id);
    let mut tx = state.db.begin().await?;
    if let Some(problem) = over_quota(&state, &mut tx, &user).await? {
        drop(tx);
        Flash::push(&session, FlashKind::Error, problem).await;
        return Ok(Redirect::to(&page).into_response());
    }
    if !cover_letters::reset_for_retry(&mut tx, user.id, letter.id).await? {
        drop(tx);
        Flash::push(
            &session,
            FlashKind::Info,
            "Only a failed letter can be tried again.",
        )
        .await;
        return Ok(Redirect::to(&page).into_response());
    }
    queue_generation(&mut tx, user.id, letter.id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&page).into_response())
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    SignedInOr404(user): SignedInOr404,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let letter = owned_letter(&state, &user, &id).await?;
    cover_letters::delete(&state.db, user.id, letter.id).await?;
    Flash::push(
        &session,
        FlashKind::Success,
        format!("Deleted “{}”.", letter.headline()),
    )
    .await;
    Ok(Redirect::to("/cover-letters").into_response())
}

#[derive(Deserialize)]
struct DownloadQuery {
    format: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    SignedInOr404(user): SignedInOr404,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, AppError> {
    let letter = owned_letter(&state, &user, &id).await?;
    let content = letter
        .content
        .as_deref()
        .filter(|_| letter.status == CoverLetterStatus::Successful);
    let content = content.ok_or(AppError::NotFound)?;
    let (extension, media_type, body) = match query.format.as_deref() {
        Some("md") => (
            "md",
            "text/markdown; charset=utf-8",
            format!("# {}\n\n{content}\n", letter.headline()),
        ),
        _ => ("txt", "text/plain; charset=utf-8", format!("{content}\n")),
    };
    let disposition = format!(
        "attachment; filename=\"{}.{extension}\"",
        file_stem(&letter.headline())
    );
    Ok((
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// "cover-letter-senior-engineer-at-acme": safe in a header and on any file system.
fn file_stem(headline: &str) -> String {
    let slug: String = headline
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let words: Vec<&str> = slug.split('-').filter(|w| !w.is_empty()).take(8).collect();
    format!("cover-letter-{}", words.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_ascii() {
        assert_eq!(
            file_stem("Senior Engineer at Acme, Inc."),
            "cover-letter-senior-engineer-at-acme-inc"
        );
        assert_eq!(
            file_stem("Ingénieur \"Rust\""),
            "cover-letter-ing-nieur-rust"
        );
    }
}
