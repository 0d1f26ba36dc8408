//! `/cvs`: an account's CVs (a general one, one for research jobs, one in German…): the list,
//! and creating, renaming, re-slugging, choosing the primary and deleting them. Each CV's editor
//! is `/cvs/{id}` (served by the handlers in `resume.rs`).

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    current_user::CurrentUser,
    error::AppError,
    host::public_cv_page_url,
    layout::{Flash, FlashKind, Layout},
    qr::qr_code,
    resume::{EditedCv, when},
    share_links::{self, ShareLinkView},
};
use crate::{
    domain::{CvSlug, CvTitle},
    state::AppState,
    store::{
        cvs::{self, Cv, CvChangeError, CvListing, Deletion},
        users::User,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cvs", get(index).post(create))
        .route("/cvs/{id}/details", get(details).post(rename))
        .route("/cvs/{id}/make-primary", post(make_primary))
        .route("/cvs/{id}/delete", post(delete))
}

// ---------- The list, and a new CV ----------

#[derive(Template)]
#[template(path = "cvs/index.html")]
struct CvsPage {
    layout: Layout,
    cvs: Vec<CvRow>,
    max: u32,
    form: CvForm,
    errors: CvFormErrors,
}

struct CvRow {
    id: Uuid,
    title: String,
    slug: String,
    primary: bool,
    published: bool,
    saved: Option<String>,
    public_url: String,
}

impl CvRow {
    fn new(state: &AppState, user: &User, headers: &HeaderMap, listing: CvListing) -> Self {
        let public_url =
            public_cv_page_url(&state.settings.server, &user.username, &listing.cv, headers);
        let cv = listing.cv;
        Self {
            id: cv.id,
            title: cv.title,
            slug: cv.slug,
            primary: cv.is_primary,
            published: cv.published,
            saved: listing.last_saved_at.map(when),
            public_url,
        }
    }
}

#[derive(Deserialize, Default)]
struct CvForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
}

#[derive(Default)]
struct CvFormErrors {
    title: Option<String>,
    slug: Option<String>,
    /// Not about one field: the cap.
    general: Option<String>,
}

impl CvFormErrors {
    fn any(&self) -> bool {
        self.title.is_some() || self.slug.is_some() || self.general.is_some()
    }
}

/// The title and slug as typed, or what is wrong with each.
fn parse_form(form: &CvForm) -> Result<(CvTitle, CvSlug), CvFormErrors> {
    let title = CvTitle::parse(&form.title);
    let slug = CvSlug::parse(&form.slug);
    match (title, slug) {
        (Ok(title), Ok(slug)) => Ok((title, slug)),
        (title, slug) => Err(CvFormErrors {
            title: title.err().map(|e| e.to_string()),
            slug: slug.err().map(|e| e.to_string()),
            general: None,
        }),
    }
}

/// What a failed create or rename tells the user, by field.
fn change_error(error: CvChangeError, max: u32) -> Result<CvFormErrors, AppError> {
    match error {
        CvChangeError::SlugTaken => Ok(CvFormErrors {
            slug: Some("You already have a CV with this slug.".to_owned()),
            ..CvFormErrors::default()
        }),
        CvChangeError::CapReached => Ok(CvFormErrors {
            general: Some(format!(
                "You have {max} CVs, as many as an account may keep. Delete one to make room."
            )),
            ..CvFormErrors::default()
        }),
        CvChangeError::Database(error) => Err(error.into()),
    }
}

async fn list_page(
    state: &AppState,
    layout: Layout,
    user: &User,
    headers: &HeaderMap,
    form: CvForm,
    errors: CvFormErrors,
) -> Result<Response, AppError> {
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let cvs = cvs::list(&state.db, user.id)
        .await?
        .into_iter()
        .map(|listing| CvRow::new(state, user, headers, listing))
        .collect();
    let page = CvsPage {
        layout,
        cvs,
        max: state.settings.cvs.max_per_account,
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn index(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    list_page(
        &state,
        layout,
        &user,
        &headers,
        CvForm::default(),
        CvFormErrors::default(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    layout: Layout,
    session: Session,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    Form(form): Form<CvForm>,
) -> Result<Response, AppError> {
    let (title, slug) = match parse_form(&form) {
        Ok(parsed) => parsed,
        Err(errors) => return list_page(&state, layout, &user, &headers, form, errors).await,
    };
    let max = state.settings.cvs.max_per_account;
    let mut tx = state.db.begin().await?;
    let cv = match cvs::create(&mut tx, user.id, &slug, &title, max).await {
        Ok(cv) => cv,
        Err(error) => {
            drop(tx);
            let errors = change_error(error, max)?;
            return list_page(&state, layout, &user, &headers, form, errors).await;
        }
    };
    tx.commit().await?;
    let message = format!("“{}” is ready: write it here.", cv.title);
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to(&format!("/cvs/{}", cv.id)).into_response())
}

// ---------- One CV's details ----------

#[derive(Template)]
#[template(path = "cvs/details.html")]
struct DetailsPage {
    layout: Layout,
    cv: Cv,
    /// The account's other CVs: the choices for a new primary.
    others: Vec<Cv>,
    form: CvForm,
    errors: CvFormErrors,
    /// Its private links, newest first.
    share_links: Vec<ShareLinkView>,
    /// Its public address, and a QR code of it for paper CVs.
    public_url: String,
    public_qr: String,
}

/// The CV at `/cvs/{id}`; the extractor already turned a missing or foreign id into a 404.
fn owned(edited: &EditedCv) -> Result<&Cv, AppError> {
    edited.cv.as_ref().ok_or(AppError::NotFound)
}

async fn details_page(
    state: &AppState,
    layout: Layout,
    edited: &EditedCv,
    headers: &HeaderMap,
    form: Option<CvForm>,
    errors: CvFormErrors,
) -> Result<Response, AppError> {
    let cv = owned(edited)?.clone();
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let others = cvs::list(&state.db, cv.owner_id)
        .await?
        .into_iter()
        .map(|listing| listing.cv)
        .filter(|other| other.id != cv.id)
        .collect();
    let form = form.unwrap_or_else(|| CvForm {
        title: cv.title.clone(),
        slug: cv.slug.clone(),
    });
    let share_links = share_links::of(state, &cv, &edited.user.username, headers).await?;
    let public_url =
        public_cv_page_url(&state.settings.server, &edited.user.username, &cv, headers);
    let page = DetailsPage {
        public_qr: qr_code(&public_url, 160)?,
        public_url,
        layout,
        cv,
        others,
        form,
        errors,
        share_links,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn details(
    State(state): State<AppState>,
    layout: Layout,
    edited: EditedCv,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let errors = CvFormErrors::default();
    details_page(&state, layout, &edited, &headers, None, errors).await
}

async fn rename(
    State(state): State<AppState>,
    layout: Layout,
    session: Session,
    edited: EditedCv,
    headers: HeaderMap,
    Form(form): Form<CvForm>,
) -> Result<Response, AppError> {
    let cv = owned(&edited)?;
    let (title, slug) = match parse_form(&form) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return details_page(&state, layout, &edited, &headers, Some(form), errors).await;
        }
    };
    if let Err(error) = cvs::rename(&state.db, cv.owner_id, cv.id, &title, &slug).await {
        let errors = change_error(error, state.settings.cvs.max_per_account)?;
        return details_page(&state, layout, &edited, &headers, Some(form), errors).await;
    }
    Flash::push(&session, FlashKind::Success, "Title and slug saved.").await;
    Ok(Redirect::to(&format!("/cvs/{}/details", cv.id)).into_response())
}

async fn make_primary(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
) -> Result<Redirect, AppError> {
    let cv = owned(&edited)?;
    let mut tx = state.db.begin().await?;
    if !cvs::make_primary(&mut tx, cv.owner_id, cv.id).await? {
        // Deleted by another request since this one began; nothing changed.
        let message = format!(
            "“{}” no longer exists; your primary CV is unchanged.",
            cv.title
        );
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(Redirect::to("/cvs"));
    }
    tx.commit().await?;
    let message = format!(
        "“{}” is your primary CV now, at the root of your address.",
        cv.title
    );
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to("/cvs"))
}

#[derive(Deserialize)]
struct DeleteForm {
    /// The CV that becomes primary when the primary is deleted.
    #[serde(default)]
    successor: String,
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    Form(form): Form<DeleteForm>,
) -> Result<Redirect, AppError> {
    let cv = owned(&edited)?;
    let successor = form.successor.parse::<Uuid>().ok();
    let mut tx = state.db.begin().await?;
    let (kind, message, to) = match cvs::delete(&mut tx, cv.owner_id, cv.id, successor).await? {
        Deletion::Deleted(deleted) => {
            tx.commit().await?;
            let message = format!("“{}” and its versions are deleted.", deleted.title);
            (FlashKind::Success, message, "/cvs".to_owned())
        }
        // Deleted by another request since this one began.
        Deletion::NoSuchCv => {
            let message = format!("“{}” is already deleted.", cv.title);
            (FlashKind::Info, message, "/cvs".to_owned())
        }
        Deletion::SuccessorNeeded => {
            let message = "Choose which CV becomes your primary before deleting this one.";
            let to = format!("/cvs/{}/details", cv.id);
            (FlashKind::Error, message.to_owned(), to)
        }
    };
    Flash::push(&session, kind, message).await;
    Ok(Redirect::to(&to))
}
