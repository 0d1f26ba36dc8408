//! The owner's side of a CV: the editor, its versions, import and export, and the controls of
//! the public page. Every route works on the signed-in user's own primary CV; there are no ids in
//! these addresses to guess.

use askama::Template;
use axum::{
    Form, Router,
    body::Bytes,
    extract::{FromRequest, Multipart, Path, Request, State, multipart::MultipartError},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};
use tower_sessions::Session;

use super::{
    current_user::CurrentUser,
    error::{AppError, error_page},
    host::public_cv_url,
    layout::{Flash, FlashKind, Layout},
};
use crate::{
    domain::resume::{HIDEABLE_FIELDS, Problem, ResumeDocument, Theme},
    state::AppState,
    store::{
        cvs::{self, Cv, CvVersion, VersionSummary},
        users::User,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/resume", get(editor).post(save))
        .route("/resume/import", post(import))
        .route("/resume/export", get(export))
        .route("/resume/versions", get(versions))
        .route("/resume/versions/{number}", get(version))
        .route("/resume/versions/{number}/restore", post(restore))
        .route("/resume/publish", post(publish))
        .route("/resume/unpublish", post(unpublish))
        .route("/resume/settings", post(settings))
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
        Self {
            published: cv.is_some_and(|cv| cv.published),
            public_url: public_cv_url(&state.settings.server, &user.username, headers),
            latest: latest.map(|v| (v.number, when(v.created_at))),
        }
    }
}

/// The user's primary CV and its newest version, if they exist yet.
pub(super) async fn current(
    state: &AppState,
    user: &User,
) -> Result<(Option<Cv>, Option<CvVersion>), AppError> {
    let Some(cv) = cvs::primary(&state.db, user.id).await? else {
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
    status: CvStatus,
    text: String,
    problems: Vec<Problem>,
    themes: Vec<Choice>,
    hideable: Vec<Choice>,
}

/// An option of the settings form: its value, its words, and whether it is the chosen one.
struct Choice {
    value: &'static str,
    label: &'static str,
    chosen: bool,
}

/// The editor with `problems` listed above it, showing `text` (what the user sent) or else the
/// saved CV, or else a starter document.
async fn editor_page(
    state: &AppState,
    layout: Layout,
    user: &User,
    headers: &HeaderMap,
    text: Option<String>,
    problems: Vec<Problem>,
) -> Result<Html<String>, AppError> {
    let (cv, latest) = current(state, user).await?;
    let status = CvStatus::new(state, user, headers, cv.as_ref(), latest.as_ref());
    let text = text.unwrap_or_else(|| match latest {
        Some(version) => version.content,
        None => ResumeDocument::starter(&user.username, &user.email)
            .text()
            .to_owned(),
    });
    let theme = cv
        .as_ref()
        .and_then(|cv| Theme::parse(&cv.theme))
        .unwrap_or_default();
    let hidden = cv.map(|cv| cv.hidden_fields).unwrap_or_default();
    let page = EditorPage {
        layout,
        status,
        text,
        problems,
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
    };
    Ok(Html(page.render()?))
}

async fn editor(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    editor_page(&state, layout, &user, &headers, None, Vec::new()).await
}

#[derive(Deserialize)]
struct EditorForm {
    json: String,
}

async fn save(
    State(state): State<AppState>,
    layout: Layout,
    session: Session,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    SizedForm(form): SizedForm<EditorForm>,
) -> Result<Response, AppError> {
    save_text(&state, layout, &session, &user, &headers, form.json).await
}

/// Validates and saves `text` as the user's next version: back to the editor with a flash, or
/// the editor again with every problem and the text as sent (422).
async fn save_text(
    state: &AppState,
    layout: Layout,
    session: &Session,
    user: &User,
    headers: &HeaderMap,
    text: String,
) -> Result<Response, AppError> {
    let document = match ResumeDocument::parse(&text, state.settings.resume.max_bytes) {
        Ok(document) => document,
        Err(problems) => {
            let page = editor_page(state, layout, user, headers, Some(text), problems).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match append(state, user, document.text()).await? {
        Some(number) => {
            let message = format!("Saved as version {number}.");
            Flash::push(session, FlashKind::Success, message).await;
        }
        None => Flash::push(session, FlashKind::Info, "No changes to save.").await,
    }
    Ok(Redirect::to("/resume").into_response())
}

/// Appends `text` as the user's next version; `None` when it is the current one already.
async fn append(state: &AppState, user: &User, text: &str) -> Result<Option<i32>, AppError> {
    let mut tx = state.db.begin().await?;
    let cv = cvs::primary_or_create(&mut tx, user.id).await?;
    let saved = cvs::append_version(&mut tx, &cv, text, user.id).await?;
    tx.commit().await?;
    Ok(saved.map(|version| version.number))
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
    CurrentUser(user): CurrentUser,
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
            let problems = vec![Problem::at("", message)];
            let page = editor_page(&state, layout, &user, &headers, None, problems).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    save_text(&state, layout, &session, &user, &headers, text).await
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

async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let (_, latest) = current(&state, &user).await?;
    let Some(version) = latest else {
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
    versions: Vec<VersionRow>,
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
    CurrentUser(user): CurrentUser,
) -> Result<Html<String>, AppError> {
    let summaries = match cvs::primary(&state.db, user.id).await? {
        Some(cv) => cvs::versions(&state.db, user.id, cv.id).await?,
        None => Vec::new(),
    };
    let versions = summaries
        .into_iter()
        .enumerate()
        .map(|(index, summary)| VersionRow::new(summary, index == 0))
        .collect();
    Ok(Html(VersionsPage { layout, versions }.render()?))
}

impl VersionRow {
    fn new(summary: VersionSummary, current: bool) -> Self {
        Self {
            number: summary.number,
            when: when(summary.created_at),
            author: summary
                .author
                .unwrap_or_else(|| "a deleted account".to_owned()),
            size: size_in_words(summary.size_bytes),
            current,
        }
    }
}

fn size_in_words(bytes: i32) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} KB", f64::from(bytes) / 1024.0)
    }
}

#[derive(Template)]
#[template(path = "resume/version.html")]
struct VersionPage {
    layout: Layout,
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
    user: &User,
    number: &str,
) -> Result<(CvVersion, CvVersion), AppError> {
    let number: i32 = number.parse().map_err(|_| AppError::NotFound)?;
    let (cv, latest) = current(state, user).await?;
    let (Some(cv), Some(latest)) = (cv, latest) else {
        return Err(AppError::NotFound);
    };
    let version = cvs::version(&state.db, user.id, cv.id, number)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((version, latest))
}

async fn version(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    Path(number): Path<String>,
) -> Result<Html<String>, AppError> {
    let (version, latest) = version_and_current(&state, &user, &number).await?;
    let page = VersionPage {
        layout,
        number: version.number,
        when: when(version.created_at),
        hunks: line_diff(&latest.content, &version.content),
        content: version.content,
        current_number: latest.number,
    };
    Ok(Html(page.render()?))
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
    CurrentUser(user): CurrentUser,
    Path(number): Path<String>,
) -> Result<Redirect, AppError> {
    let (version, _) = version_and_current(&state, &user, &number).await?;
    match append(&state, &user, &version.content).await? {
        Some(new) => {
            let message = format!("Version {} restored as version {new}.", version.number);
            Flash::push(&session, FlashKind::Success, message).await;
        }
        None => {
            let message = format!("Version {} is already the current version.", version.number);
            Flash::push(&session, FlashKind::Info, message).await;
        }
    }
    Ok(Redirect::to("/resume"))
}

// ---------- The public page's controls ----------

async fn publish(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Redirect, AppError> {
    let (cv, latest) = current(&state, &user).await?;
    match (cv, latest) {
        (Some(cv), Some(_)) => {
            cvs::set_published(&state.db, user.id, cv.id, true).await?;
            let url = public_cv_url(&state.settings.server, &user.username, &headers);
            let message = format!("Your CV is public now, at {url}");
            Flash::push(&session, FlashKind::Success, message).await;
        }
        _ => {
            let message = "Save your CV before publishing it: there is nothing to show yet.";
            Flash::push(&session, FlashKind::Error, message).await;
        }
    }
    Ok(Redirect::to("/resume"))
}

async fn unpublish(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Redirect, AppError> {
    if let Some(cv) = cvs::primary(&state.db, user.id).await? {
        cvs::set_published(&state.db, user.id, cv.id, false).await?;
    }
    let message = "Your CV is private now; its public page is gone.";
    Flash::push(&session, FlashKind::Success, message).await;
    Ok(Redirect::to("/resume"))
}

/// The settings form. `hidden` is a repeated checkbox field, which axum's own `Form` cannot
/// collect into a list; axum-extra's can.
#[derive(Deserialize)]
struct SettingsForm {
    theme: String,
    #[serde(default)]
    hidden: Vec<String>,
}

async fn settings(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    axum_extra::extract::Form(form): axum_extra::extract::Form<SettingsForm>,
) -> Result<Redirect, AppError> {
    let theme = Theme::parse(&form.theme);
    let known = |pointer: &String| HIDEABLE_FIELDS.iter().any(|(known, _)| known == pointer);
    let (Some(theme), true) = (theme, form.hidden.iter().all(known)) else {
        let message = "Those settings are not ones we offer; nothing was changed.";
        Flash::push(&session, FlashKind::Error, message).await;
        return Ok(Redirect::to("/resume"));
    };
    let mut hidden = form.hidden;
    hidden.sort();
    hidden.dedup();
    let mut db = state.db.acquire().await?;
    let cv = cvs::primary_or_create(&mut db, user.id).await?;
    cvs::update_public_settings(&mut *db, user.id, cv.id, theme, &hidden).await?;
    Flash::push(&session, FlashKind::Success, "Public page settings saved.").await;
    Ok(Redirect::to("/resume"))
}
