//! The owner's side of a CV: the editor, its versions, import and export, and the controls of
//! the public page. One set of handlers serves two trees: `/resume…` works on the signed-in
//! user's primary CV, `/cvs/{id}/…` on any of their CVs (someone else's id is a 404).

use askama::Template;
use axum::{
    Form, Router,
    body::Bytes,
    extract::{
        FromRequest, FromRequestParts, Multipart, Path, RawPathParams, Request, State,
        multipart::MultipartError,
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};
use tower_sessions::Session;

use super::{
    current_user::CurrentUser,
    error::{AppError, error_page, wait_in_words, with_retry_after},
    host::{public_cv_page_url, public_cv_url},
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    cv_saves::{self, SaveError, Target},
    domain::resume::{HIDEABLE_FIELDS, Problem, ResumeDocument, Theme},
    state::AppState,
    store::{
        cvs::{self, Cv, CvVersion, PublicSettings, VersionSummary},
        users::User,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .nest("/resume", editor_routes())
        .nest("/cvs/{id}", editor_routes())
}

fn editor_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(editor).post(save))
        .route("/import", post(import))
        .route("/export", get(export))
        .route("/versions", get(versions))
        .route("/versions/{number}", get(version))
        .route("/versions/{number}/restore", post(restore))
        .route("/publish", post(publish))
        .route("/unpublish", post(unpublish))
        .route("/settings", post(settings))
}

/// The CV a request is about: the signed-in user's primary under `/resume` (which may not exist
/// yet), or their CV `{id}` under `/cvs/{id}`. Anonymous visitors are sent to log in; an id that
/// is malformed, unknown or someone else's is a 404.
pub(super) struct EditedCv {
    pub user: User,
    pub cv: Option<Cv>,
    /// Where this CV's pages are: `/resume` or `/cvs/{id}`.
    pub base: String,
    /// Reached by `/resume`: changes go to whichever CV is primary as they land.
    by_primary: bool,
}

impl FromRequestParts<AppState> for EditedCv {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let id = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, v)| v);
        let Some(id) = id else {
            let cv = primary(state, user.id).await?;
            let base = "/resume".to_owned();
            return Ok(Self {
                user,
                cv,
                base,
                by_primary: true,
            });
        };
        let id = id.parse().map_err(|_| AppError::NotFound)?;
        let cv = cvs::find(&state.db, user.id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Self {
            user,
            cv: Some(cv),
            base: format!("/cvs/{id}"),
            by_primary: false,
        })
    }
}

/// The account's primary CV, if it has any CV. The common case is one read; an account left with
/// CVs but no primary gets one promoted (in a transaction of its own) instead of an error.
async fn primary(state: &AppState, owner_id: uuid::Uuid) -> Result<Option<Cv>, AppError> {
    if let Some(cv) = cvs::primary(&state.db, owner_id).await? {
        return Ok(Some(cv));
    }
    let mut tx = state.db.begin().await?;
    let cv = cvs::primary_or_promote(&mut tx, owner_id).await?;
    tx.commit().await?;
    Ok(cv)
}

impl EditedCv {
    /// The CV and its newest version, if they exist yet.
    async fn with_latest(&self, state: &AppState) -> Result<Option<CvVersion>, AppError> {
        match &self.cv {
            Some(cv) => Ok(cvs::latest_version(&state.db, cv.owner_id, cv.id).await?),
            None => Ok(None),
        }
    }

    /// The CV a change goes to.
    fn target(&self) -> Target<'_> {
        match &self.cv {
            Some(cv) if !self.by_primary => Target::Cv(cv),
            _ => Target::Primary,
        }
    }

    /// The CV, to change it in a transaction: under `/resume` the primary as it is now (created
    /// the first time it is needed).
    async fn to_change(&self, db: &mut sqlx::PgConnection) -> Result<Cv, AppError> {
        match self.target() {
            Target::Cv(cv) => Ok(cv.clone()),
            Target::Primary => Ok(cvs::primary_or_create(db, self.user.id).await?),
        }
    }

    /// Where the public sees it (once published).
    fn public_url(&self, state: &AppState, headers: &HeaderMap) -> String {
        match &self.cv {
            Some(cv) => {
                public_cv_page_url(&state.settings.server, &self.user.username, cv, headers)
            }
            None => public_cv_url(&state.settings.server, &self.user.username, headers),
        }
    }

    /// What its pages call it.
    fn title(&self) -> String {
        self.cv
            .as_ref()
            .map_or_else(|| "Your CV".to_owned(), |cv| cv.title.clone())
    }
}

const WHEN: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// "2026-11-25 14:47 UTC".
pub(super) fn when(moment: OffsetDateTime) -> String {
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(WHEN)
        .unwrap_or_default()
}

/// Where a CV stands, as the editor and the dashboard show it.
pub(super) struct CvStatus {
    pub published: bool,
    pub public_url: String,
    /// The newest version: number and when it was saved.
    pub latest: Option<(i32, String)>,
}

impl CvStatus {
    pub(super) fn new(
        state: &AppState,
        user: &User,
        headers: &HeaderMap,
        cv: Option<&Cv>,
        latest: Option<&CvVersion>,
    ) -> Self {
        let server = &state.settings.server;
        Self {
            published: cv.is_some_and(|cv| cv.published),
            public_url: match cv {
                Some(cv) => public_cv_page_url(server, &user.username, cv, headers),
                None => public_cv_url(server, &user.username, headers),
            },
            latest: latest.map(|v| (v.number, when(v.created_at))),
        }
    }
}

/// The user's primary CV and its newest version, if they exist yet.
pub(super) async fn current(
    state: &AppState,
    user: &User,
) -> Result<(Option<Cv>, Option<CvVersion>), AppError> {
    let Some(cv) = primary(state, user.id).await? else {
        return Ok((None, None));
    };
    let latest = cvs::latest_version(&state.db, user.id, cv.id).await?;
    Ok((Some(cv), latest))
}

// ---------- The editor ----------

#[derive(Template)]
#[template(path = "resume/editor.html")]
struct EditorPage {
    layout: Layout,
    base: String,
    heading: String,
    status: CvStatus,
    text: String,
    problems: Vec<Problem>,
    /// Why a valid text was not saved (the save rate), to show above it.
    refusal: Option<String>,
    themes: Vec<Choice>,
    hideable: Vec<Choice>,
    allow_indexing: bool,
}

/// An option of the settings form: its value, its words, and whether it is the chosen one.
struct Choice {
    value: &'static str,
    label: &'static str,
    chosen: bool,
}

/// Why the editor shows a text that is not saved.
enum Unsaved {
    /// Nothing: the editor as opened.
    Nothing,
    /// What is wrong with the text.
    Problems(Vec<Problem>),
    /// The text is fine but was refused, for this reason.
    Refused(String),
}

/// The editor with what kept a save from happening above it, showing `text` (what the user
/// sent) or else the saved CV, or else a starter document.
async fn editor_page(
    state: &AppState,
    layout: Layout,
    edited: &EditedCv,
    headers: &HeaderMap,
    text: Option<String>,
    unsaved: Unsaved,
) -> Result<Html<String>, AppError> {
    let (user, cv) = (&edited.user, edited.cv.as_ref());
    let latest = edited.with_latest(state).await?;
    let status = CvStatus::new(state, user, headers, cv, latest.as_ref());
    let text = text.unwrap_or_else(|| match latest {
        Some(version) => version.content,
        None => ResumeDocument::starter(&user.username, &user.email)
            .text()
            .to_owned(),
    });
    let theme = cv
        .and_then(|cv| Theme::parse(&cv.theme))
        .unwrap_or_default();
    let hidden = cv.map(|cv| cv.hidden_fields.clone()).unwrap_or_default();
    let (problems, refusal) = match unsaved {
        Unsaved::Nothing => (Vec::new(), None),
        Unsaved::Problems(problems) => (problems, None),
        Unsaved::Refused(reason) => (Vec::new(), Some(reason)),
    };
    let page = EditorPage {
        layout,
        base: edited.base.clone(),
        heading: edited.title(),
        status,
        text,
        problems,
        refusal,
        themes: Theme::ALL
            .into_iter()
            .map(|t| Choice {
                value: t.as_str(),
                label: t.label(),
                chosen: t == theme,
            })
            .collect(),
        hideable: HIDEABLE_FIELDS
            .iter()
            .map(|&(pointer, label)| Choice {
                value: pointer,
                label,
                chosen: hidden.iter().any(|h| h == pointer),
            })
            .collect(),
        allow_indexing: cv.is_some_and(|cv| cv.allow_indexing),
    };
    Ok(Html(page.render()?))
}

async fn editor(
    State(state): State<AppState>,
    layout: Layout,
    edited: EditedCv,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    editor_page(&state, layout, &edited, &headers, None, Unsaved::Nothing).await
}

#[derive(Deserialize)]
struct EditorForm {
    json: String,
}

async fn save(
    State(state): State<AppState>,
    layout: Layout,
    session: Session,
    edited: EditedCv,
    headers: HeaderMap,
    SizedForm(form): SizedForm<EditorForm>,
) -> Result<Response, AppError> {
    save_text(&state, layout, &session, &edited, &headers, form.json).await
}

/// Validates and saves `text` as the user's next version: back to the editor with a flash, or
/// the editor again with the text as sent and every problem (422), or the save rate and when to
/// try again (429).
async fn save_text(
    state: &AppState,
    layout: Layout,
    session: &Session,
    edited: &EditedCv,
    headers: &HeaderMap,
    text: String,
) -> Result<Response, AppError> {
    let document = match ResumeDocument::parse(&text, state.settings.resume.max_bytes) {
        Ok(document) => document,
        Err(problems) => {
            let unsaved = Unsaved::Problems(problems);
            let page = editor_page(state, layout, edited, headers, Some(text), unsaved).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match append(state, edited, document.text()).await {
        Ok(Some(number)) => {
            let message = format!("Saved as version {number}.");
            Flash::push(session, FlashKind::Success, message).await;
        }
        Ok(None) => Flash::push(session, FlashKind::Info, "No changes to save.").await,
        Err(SaveError::TooFast {
            per_hour,
            retry_after,
        }) => {
            let unsaved = Unsaved::Refused(too_fast(per_hour, retry_after));
            let page = editor_page(state, layout, edited, headers, Some(text), unsaved).await?;
            let response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
            return Ok(with_retry_after(response, retry_after));
        }
        Err(error) => return refused(error),
    }
    Ok(Redirect::to(&edited.base).into_response())
}

/// Appends `text` as the CV's next version; `None` when it is the current one already.
async fn append(state: &AppState, edited: &EditedCv, text: &str) -> Result<Option<i32>, SaveError> {
    let owner_id = edited.user.id;
    let limits = &state.settings.resume;
    let saved =
        cv_saves::save(&state.db, limits, owner_id, edited.target(), text, owner_id).await?;
    Ok(saved.map(|version| version.number))
}

/// What the editor says when the account is over `resume.saves_per_hour`.
fn too_fast(per_hour: u32, retry_after: std::time::Duration) -> String {
    format!(
        "You have saved {per_hour} times in the last hour, as often as an account may. Please \
         try again in {}.",
        wait_in_words(retry_after)
    )
}

/// The answer to a save that did not happen, where no text is to be kept.
fn refused(error: SaveError) -> Result<Response, AppError> {
    match error {
        SaveError::TooFast {
            per_hour,
            retry_after,
        } => {
            let message = too_fast(per_hour, retry_after);
            let page = error_page(StatusCode::TOO_MANY_REQUESTS, "Too many saves", message);
            Ok(with_retry_after(page, retry_after))
        }
        // Deleted by another request meanwhile.
        SaveError::NoSuchCv => Err(AppError::NotFound),
        SaveError::Database(error) => Err(error.into()),
    }
}

/// axum's `Form`, with a body over the limit answered by a page that says so (413) rather than
/// a bare line of text.
struct SizedForm<T>(T);

impl<T> FromRequest<AppState> for SizedForm<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(too_large(state).into_response())
            }
            Err(rejection) => Err(rejection.into_response()),
        }
    }
}

fn too_large(state: &AppState) -> AppError {
    AppError::TooLarge {
        limit_bytes: state.settings.server.body_limit_bytes,
    }
}

// ---------- Import and export ----------

async fn import(
    State(state): State<AppState>,
    layout: Layout,
    session: Session,
    edited: EditedCv,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = match read_file_field(&state, &mut multipart).await {
        Ok(upload) => upload,
        Err(response) => return Ok(response),
    };
    let text = match upload.map(|bytes| String::from_utf8(bytes.to_vec())) {
        Some(Ok(text)) => text,
        problem => {
            let message = match problem {
                None => "Choose a .json file to import.",
                Some(_) => "This file is not text (UTF-8). Export it as JSON and try again.",
            };
            // Nothing readable came: the editor keeps the saved CV.
            let unsaved = Unsaved::Problems(vec![Problem::at("", message)]);
            let page = editor_page(&state, layout, &edited, &headers, None, unsaved).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    save_text(&state, layout, &session, &edited, &headers, text).await
}

/// The bytes of the upload field `file`, if there is one. A broken upload is answered at once:
/// over the size limit by our page, anything else by axum's plain 400.
async fn read_file_field(
    state: &AppState,
    multipart: &mut Multipart,
) -> Result<Option<Bytes>, Response> {
    let answer = |error: MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(state).into_response()
        } else {
            error.into_response()
        }
    };
    let mut upload = None;
    while let Some(field) = multipart.next_field().await.map_err(answer)? {
        if field.name() == Some("file") {
            upload = Some(field.bytes().await.map_err(answer)?);
        }
    }
    Ok(upload)
}

async fn export(State(state): State<AppState>, edited: EditedCv) -> Result<Response, AppError> {
    let Some(version) = edited.with_latest(&state).await? else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Nothing to export yet",
            "You have not saved a CV yet. Write one in the editor, save it, and export it here.",
        ));
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"resume.json\""),
        ),
    ];
    Ok((headers, version.content).into_response())
}

// ---------- Versions ----------

#[derive(Template)]
#[template(path = "resume/versions.html")]
struct VersionsPage {
    layout: Layout,
    base: String,
    heading: String,
    versions: Vec<VersionRow>,
    /// What the history keeps (`resume.max_versions`, `resume.max_history_bytes`).
    max_versions: u32,
    max_history: String,
}

struct VersionRow {
    number: i32,
    when: String,
    author: String,
    size: String,
    current: bool,
}

async fn versions(
    State(state): State<AppState>,
    layout: Layout,
    edited: EditedCv,
) -> Result<Html<String>, AppError> {
    let summaries = match &edited.cv {
        Some(cv) => cvs::versions(&state.db, cv.owner_id, cv.id).await?,
        None => Vec::new(),
    };
    let versions = summaries
        .into_iter()
        .enumerate()
        .map(|(index, summary)| VersionRow::new(summary, index == 0))
        .collect();
    let limits = &state.settings.resume;
    let page = VersionsPage {
        layout,
        heading: edited.title(),
        base: edited.base,
        versions,
        max_versions: limits.max_versions,
        max_history: size_in_words(limits.max_history_bytes),
    };
    Ok(Html(page.render()?))
}

impl VersionRow {
    fn new(summary: VersionSummary, current: bool) -> Self {
        Self {
            number: summary.number,
            when: when(summary.created_at),
            author: summary
                .author
                .unwrap_or_else(|| "a deleted account".to_owned()),
            size: size_in_words(summary.size_bytes.unsigned_abs().into()),
            current,
        }
    }
}

fn size_in_words(bytes: u64) -> String {
    const KB: u64 = 1024;
    #[expect(clippy::cast_precision_loss, reason = "sizes stay far below 2^53")]
    let scaled = |unit: u64| bytes as f64 / unit as f64;
    if bytes < KB {
        format!("{bytes} bytes")
    } else if bytes < KB * KB {
        format!("{:.1} KB", scaled(KB))
    } else {
        format!("{:.1} MB", scaled(KB * KB))
    }
}

#[derive(Template)]
#[template(path = "resume/version.html")]
struct VersionPage {
    layout: Layout,
    base: String,
    number: i32,
    when: String,
    content: String,
    current_number: i32,
    /// Groups of changed lines with a little context, from the current version to this one.
    hunks: Vec<Vec<DiffLine>>,
}

struct DiffLine {
    class: &'static str,
    sign: char,
    text: String,
}

/// Version `number` of the user's CV and the current one; `NotFound` when either is missing,
/// or when `number` is no number at all (a mistyped address deserves a page, not a 400).
async fn version_and_current(
    state: &AppState,
    edited: &EditedCv,
    number: &str,
) -> Result<(CvVersion, CvVersion), AppError> {
    let number: i32 = number.parse().map_err(|_| AppError::NotFound)?;
    let latest = edited.with_latest(state).await?;
    let (Some(cv), Some(latest)) = (&edited.cv, latest) else {
        return Err(AppError::NotFound);
    };
    let version = cvs::version(&state.db, cv.owner_id, cv.id, number)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((version, latest))
}

async fn version(
    State(state): State<AppState>,
    layout: Layout,
    edited: EditedCv,
    Path(VersionPath { number }): Path<VersionPath>,
) -> Result<Html<String>, AppError> {
    let (version, latest) = version_and_current(&state, &edited, &number).await?;
    let page = VersionPage {
        layout,
        base: edited.base,
        number: version.number,
        when: when(version.created_at),
        hunks: line_diff(&latest.content, &version.content),
        content: version.content,
        current_number: latest.number,
    };
    Ok(Html(page.render()?))
}

/// A version's address: its number, whichever tree (`/resume` or `/cvs/{id}`) it is under.
#[derive(Deserialize)]
struct VersionPath {
    number: String,
}

/// The lines that differ between `from` and `to`, three lines of context around each change.
fn line_diff(from: &str, to: &str) -> Vec<Vec<DiffLine>> {
    let diff = similar::TextDiff::from_lines(from, to);
    diff.grouped_ops(3)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| {
                    let (class, sign) = match change.tag() {
                        similar::ChangeTag::Delete => ("diff-del", '-'),
                        similar::ChangeTag::Insert => ("diff-add", '+'),
                        similar::ChangeTag::Equal => ("diff-ctx", ' '),
                    };
                    let text = change.value().trim_end_matches('\n').to_owned();
                    DiffLine { class, sign, text }
                })
                .collect()
        })
        .collect()
}

async fn restore(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    Path(VersionPath { number }): Path<VersionPath>,
) -> Result<Response, AppError> {
    let (version, _) = version_and_current(&state, &edited, &number).await?;
    match append(&state, &edited, &version.content).await {
        Ok(Some(new)) => {
            let message = format!("Version {} restored as version {new}.", version.number);
            Flash::push(&session, FlashKind::Success, message).await;
        }
        Ok(None) => {
            let message = format!("Version {} is already the current version.", version.number);
            Flash::push(&session, FlashKind::Info, message).await;
        }
        Err(error) => return refused(error),
    }
    Ok(Redirect::to(&edited.base).into_response())
}

// ---------- The public page's controls ----------

async fn publish(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    headers: HeaderMap,
) -> Result<Redirect, AppError> {
    let latest = edited.with_latest(&state).await?;
    match (&edited.cv, latest) {
        (Some(cv), Some(_)) => {
            cvs::set_published(&state.db, cv.owner_id, cv.id, true).await?;
            let url = edited.public_url(&state, &headers);
            let message = format!("Your CV is public now, at {url}");
            Flash::push(&session, FlashKind::Success, message).await;
        }
        _ => {
            let message = "Save your CV before publishing it: there is nothing to show yet.";
            Flash::push(&session, FlashKind::Error, message).await;
        }
    }
    Ok(Redirect::to(&edited.base))
}

async fn unpublish(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
) -> Result<Redirect, AppError> {
    if let Some(cv) = &edited.cv {
        cvs::set_published(&state.db, cv.owner_id, cv.id, false).await?;
    }
    let message = "Your CV is private now; its public page is gone.";
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to(&edited.base))
}

/// The settings form. `hidden` is a repeated checkbox field, which axum's own `Form` cannot
/// collect into a list; axum-extra's can.
#[derive(Deserialize)]
struct SettingsForm {
    theme: String,
    #[serde(default)]
    hidden: Vec<String>,
    /// A checkbox: present when search engines may index the page.
    #[serde(default)]
    indexing: Option<String>,
}

async fn settings(
    State(state): State<AppState>,
    session: Session,
    edited: EditedCv,
    axum_extra::extract::Form(form): axum_extra::extract::Form<SettingsForm>,
) -> Result<Redirect, AppError> {
    let theme = Theme::parse(&form.theme);
    let known = |pointer: &String| HIDEABLE_FIELDS.iter().any(|(known, _)| known == pointer);
    let (Some(theme), true) = (theme, form.hidden.iter().all(known)) else {
        let message = "Those settings are not ones we offer; nothing was changed.";
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(Redirect::to(&edited.base));
    };
    let mut hidden = form.hidden;
    hidden.sort();
    hidden.dedup();
    let mut tx = state.db.begin().await?;
    let cv = edited.to_change(&mut tx).await?;
    let settings = PublicSettings {
        theme,
        hidden_fields: &hidden,
        allow_indexing: form.indexing.is_some(),
    };
    cvs::update_public_settings(&mut tx, cv.owner_id, cv.id, settings).await?;
    tx.commit().await?;
    Flash::push(&session, FlashKind::Success, "Public page settings saved.").await;
    Ok(Redirect::to(&edited.base))
}
