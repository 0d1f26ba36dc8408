//! The JSON API under `/api`, for curl, CI jobs and the txtcv CLI. Bearer tokens only: no session
//! layer runs here, so a browser's cookie opens nothing and no CSRF defence is needed.

mod auth;
mod problem;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{FromRequest, Path, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::sync::LazyLock;
use time::OffsetDateTime;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use uuid::Uuid;

pub use auth::refuse_invalid_bearer;
use auth::{Caller, Writer};
use problem::{
    ApiProblem, BodyProblems, CvProblem, NoSuchCv, ReadOnlyToken, TokenProblems, TooManySaves,
};

use super::host::public_cv_page_url;
use crate::{
    cv_saves::{self, SaveError, Target},
    domain::{
        CvSlug, CvTitle, RESERVED_SLUGS,
        resume::{
            ResumeDocument,
            json_schema::{self, WHITESPACE},
        },
    },
    state::AppState,
    store::{
        auth_attempts,
        cvs::{self, Cv, CvChangeError},
    },
};

/// The API's routes, to be nested at `/api`, outside the session and auth layers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cv", get(list_cvs).post(create_cv))
        .route("/cv/{id}", get(get_cv).patch(update_cv))
        .route("/cv/{id}/publish", post(publish_cv))
        .route("/cv/{id}/unpublish", post(unpublish_cv))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiProblem::not_found_route() })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "txtcv API",
        description = "Publish your CVs from a terminal or CI. Authenticate with a personal access \
                       token: `Authorization: Bearer txtcv_pat_…`. Errors are RFC 9457 problem \
                       documents (application/problem+json)."
    ),
    paths(list_cvs, create_cv, get_cv, update_cv, publish_cv, unpublish_cv),
    components(schemas(CvSummary, CvDetail, CvUpdate, NewCv, ApiProblem, CvProblem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI 3.1 description of this API, generated from the handlers below.
async fn openapi() -> Json<Value> {
    Json(DOCUMENT.clone())
}

static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

/// The generated document, with what the derive cannot say: the rules for a CV's `contents`
/// (from [`json_schema`]) and for a new CV's title and slug, which are trimmed before they are
/// checked. A request valid under it is not refused for its shape.
fn document() -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let schemas = &mut document["components"]["schemas"];
    for (name, schema) in json_schema::components() {
        schemas[name] = schema;
    }
    let contents = json!({"$ref": "#/components/schemas/CvContents"});
    schemas["CvUpdate"]["properties"]["contents"] = json!({
        "description": "A JSON Resume document.",
        "allOf": [contents],
    });
    schemas["NewCv"]["properties"]["contents"] = json!({
        "description": "A JSON Resume document to save as the first version.",
        "oneOf": [contents, {"type": "null"}],
    });
    let space = format!("[{WHITESPACE}]*");
    let new_cv = &mut schemas["NewCv"]["properties"];
    // One to 100 characters between the spaces trimmed off, the first and last not spaces, none
    // a control character but tab.
    new_cv["title"]["pattern"] = json!(format!(
        r"^{space}[^\x00-\x20\x7F-\xA0{OTHER_SPACES}](?:[^\x00-\x08\x0A-\x1F\x7F-\x9F]{{0,98}}[^\x00-\x20\x7F-\xA0{OTHER_SPACES}])?{space}$"
    ));
    new_cv["slug"]["pattern"] = json!(format!("^{space}[a-z0-9-]{{1,40}}{space}$"));
    new_cv["slug"]["not"] = json!({
        "pattern": format!("^{space}(?:{}){space}$", reserved_slugs().join("|")),
    });
    document
}

/// The reserved slugs a slug could spell (`resume.json` cannot be one anyway).
fn reserved_slugs() -> Vec<&'static str> {
    RESERVED_SLUGS
        .iter()
        .copied()
        .filter(|slug| {
            slug.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .collect()
}

/// White_Space beyond Latin-1, for the title's first and last characters.
const OTHER_SPACES: &str = r"\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A CV as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CvSummary {
    id: Uuid,
    slug: String,
    title: String,
    primary: bool,
    published: bool,
    /// The last save or change of settings (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    /// Where the CV is (or will be, once published) for everyone.
    public_url: String,
}

/// One CV with its current document.
#[derive(Debug, Serialize, ToSchema)]
pub struct CvDetail {
    #[serde(flatten)]
    summary: CvSummary,
    /// The current version's number; `null` before the first save.
    version: Option<i32>,
    /// Whether this request saved a new version (false when the document was unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
    /// The JSON Resume document; `null` before the first save.
    #[schema(value_type = Option<Object>)]
    contents: Option<Value>,
}

/// The body of `PATCH /api/cv/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CvUpdate {
    /// A JSON Resume document.
    #[schema(value_type = Object)]
    contents: Value,
}

/// The body of `POST /api/cv`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCv {
    /// What the CV is called in lists: one line of 1–100 characters once spaces around it are
    /// trimmed, without control characters (a tab aside). The pattern is in the document.
    title: String,
    /// 1–40 characters of a-z, 0-9 and - (spaces around them are trimmed), unique in your
    /// account (409 when taken); `api`, `healthz`, `readyz` and `static` are reserved.
    slug: String,
    /// A JSON Resume document to save as the first version.
    #[schema(value_type = Option<Object>)]
    contents: Option<Value>,
}

/// A JSON body: 415 when it is not declared JSON, 413 over the size limit, 400 when it does not
/// parse, 422 when it parses but is not the expected shape.
struct ApiJson<T>(T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiProblem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiProblem> {
        if !declares_json(request.headers()) {
            return Err(ApiProblem::not_json());
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        ApiProblem::too_large(state.settings.server.body_limit_bytes)
                    }
                    _ => ApiProblem::bad_request(rejection.body_text()),
                })?;
        serde_json::from_slice(&bytes).map(Self).map_err(|error| {
            if error.is_data() {
                ApiProblem::invalid(
                    "The body is JSON but not what this route expects.",
                    vec![CvProblem::at("", error.to_string())],
                )
            } else {
                ApiProblem::bad_request(format!("The body is not valid JSON: {error}."))
            }
        })
    }
}

/// `application/json` or any `+json` type, whatever its parameters (`; charset=utf-8`).
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The caller's CV `id`; 404 for a malformed id, an unknown one and someone else's alike.
async fn owned_cv(state: &AppState, caller: &Caller, id: &str) -> Result<Cv, ApiProblem> {
    let id: Uuid = id.parse().map_err(|_| ApiProblem::not_found())?;
    cvs::find(&state.db, caller.owner_id, id)
        .await?
        .ok_or_else(ApiProblem::not_found)
}

impl CvSummary {
    fn new(
        state: &AppState,
        caller: &Caller,
        headers: &HeaderMap,
        listing: &cvs::CvListing,
    ) -> Self {
        let cv = &listing.cv;
        Self {
            id: cv.id,
            slug: cv.slug.clone(),
            title: cv.title.clone(),
            primary: cv.is_primary,
            published: cv.published,
            updated_at: listing.changed_at(),
            public_url: public_cv_page_url(&state.settings.server, &caller.username, cv, headers),
        }
    }
}

/// The CV `id` as the API shows it, read afresh.
async fn detail(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    cv: Cv,
    changed: Option<bool>,
) -> Result<CvDetail, ApiProblem> {
    let latest = cvs::latest_version(&state.db, caller.owner_id, cv.id).await?;
    let listing = cvs::CvListing {
        latest_number: latest.as_ref().map(|v| v.number),
        last_saved_at: latest.as_ref().map(|v| v.created_at),
        cv,
    };
    Ok(CvDetail {
        summary: CvSummary::new(state, caller, headers, &listing),
        version: listing.latest_number,
        changed,
        // Saved documents are valid JSON.
        contents: latest.and_then(|v| serde_json::from_str(&v.content).ok()),
    })
}

/// The caller's CVs, the primary first.
#[utoipa::path(get, path = "/api/cv", tag = "cv",
    responses(
        (status = 200, description = "Your CVs", body = [CvSummary]),
        TokenProblems,
    ))]
async fn list_cvs(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Vec<CvSummary>>, ApiProblem> {
    let listings = cvs::list(&state.db, caller.owner_id).await?;
    let summaries = listings
        .iter()
        .map(|listing| CvSummary::new(&state, &caller, &headers, listing))
        .collect();
    Ok(Json(summaries))
}

/// One CV with its document.
#[utoipa::path(get, path = "/api/cv/{id}", tag = "cv",
    params(("id" = Uuid, Path, description = "The CV's id")),
    responses(
        (status = 200, description = "The CV", body = CvDetail),
        TokenProblems, NoSuchCv,
    ))]
async fn get_cv(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<CvDetail>, ApiProblem> {
    let cv = owned_cv(&state, &caller, &id).await?;
    Ok(Json(detail(&state, &caller, &headers, cv, None).await?))
}

/// Validates `contents` as the editor does and saves it as the CV's next version (none when it
/// is unchanged). `field` names where it is in the request body, for the problems' pointers.
async fn save_contents(
    state: &AppState,
    caller: &Caller,
    cv: &Cv,
    contents: &Value,
    field: &str,
) -> Result<bool, ApiProblem> {
    let document = parse_contents(state, contents, field)?;
    let limits = &state.settings.resume;
    let owner_id = caller.owner_id;
    let saved = cv_saves::save(
        &state.db,
        limits,
        owner_id,
        Target::Cv(cv),
        document.text(),
        owner_id,
    )
    .await
    .map_err(save_problem)?;
    Ok(saved.is_some())
}

fn save_problem(error: SaveError) -> ApiProblem {
    match error {
        SaveError::TooFast {
            per_hour,
            retry_after,
        } => ApiProblem::too_many_saves(per_hour, retry_after.as_secs()),
        // Deleted by another request meanwhile.
        SaveError::NoSuchCv => ApiProblem::not_found(),
        SaveError::Database(error) => error.into(),
    }
}

fn parse_contents(
    state: &AppState,
    contents: &Value,
    field: &str,
) -> Result<ResumeDocument, ApiProblem> {
    let text = serde_json::to_string_pretty(contents)?;
    ResumeDocument::parse(&text, state.settings.resume.max_bytes)
        .map_err(|problems| ApiProblem::invalid_cv(field, problems))
}

/// Replaces the CV's document. This is what `txtcv publish` sends.
#[utoipa::path(patch, path = "/api/cv/{id}", tag = "cv",
    params(("id" = Uuid, Path, description = "The CV's id")),
    request_body(content = CvUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "Saved as a new version, or unchanged (`changed: false`)", body = CvDetail),
        (status = 422, description = "The CV has problems; nothing was saved", body = ApiProblem, content_type = "application/problem+json"),
        TokenProblems, ReadOnlyToken, NoSuchCv, BodyProblems, TooManySaves,
    ))]
async fn update_cv(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<CvUpdate>,
) -> Result<Json<CvDetail>, ApiProblem> {
    let cv = owned_cv(&state, &caller, &id).await?;
    let changed = save_contents(&state, &caller, &cv, &update.contents, "/contents").await?;
    Ok(Json(
        detail(&state, &caller, &headers, cv, Some(changed)).await?,
    ))
}

/// Creates a private CV, with a first version when `contents` is given.
#[utoipa::path(post, path = "/api/cv", tag = "cv",
    request_body(content = NewCv, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = CvDetail),
        (status = 409, description = "At the cap of CVs per account, or the slug is taken (`problems` points at `/slug`)", body = ApiProblem, content_type = "application/problem+json"),
        (status = 422, description = "A bad title or slug, or a CV with problems; nothing was saved", body = ApiProblem, content_type = "application/problem+json"),
        TokenProblems, ReadOnlyToken, BodyProblems, TooManySaves,
    ))]
async fn create_cv(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewCv>,
) -> Result<Response, ApiProblem> {
    let mut problems = Vec::new();
    let title = CvTitle::parse(&new.title)
        .map_err(|error| problems.push(CvProblem::at("/title", error.to_string())));
    let slug = CvSlug::parse(&new.slug)
        .map_err(|error| problems.push(CvProblem::at("/slug", error.to_string())));
    let (Ok(title), Ok(slug)) = (title, slug) else {
        return Err(ApiProblem::invalid("The CV was not created.", problems));
    };
    let document = match &new.contents {
        Some(contents) => Some(parse_contents(&state, contents, "/contents")?),
        None => None,
    };
    // A first version is a save like any other: counted before anything is written, given back
    // if the CV is not created.
    let limits = &state.settings.resume;
    let taken = match &document {
        Some(_) => Some(
            cv_saves::take(&state.db, limits, caller.owner_id)
                .await
                .map_err(save_problem)?,
        ),
        None => None,
    };
    let max = state.settings.cvs.max_per_account;
    let mut tx = state.db.begin().await?;
    let cv = match cvs::create(&mut tx, caller.owner_id, &slug, &title, max).await {
        Ok(cv) => cv,
        Err(error) => {
            drop(tx);
            if let Some(taken) = taken {
                auth_attempts::give_back(&state.db, taken).await?;
            }
            return Err(create_problem(error, max));
        }
    };
    if let Some(document) = &document {
        let history = cv_saves::history(limits);
        cvs::append_version(&mut tx, &cv, document.text(), caller.owner_id, history).await?;
    }
    tx.commit().await?;
    let body = detail(&state, &caller, &headers, cv, Some(document.is_some())).await?;
    let location = format!("/api/cv/{}", body.summary.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

fn create_problem(error: CvChangeError, max: u32) -> ApiProblem {
    match error {
        // The request is well formed; it conflicts with a CV the account has.
        CvChangeError::SlugTaken => ApiProblem::conflict_at(
            "The CV was not created: you already have a CV with this slug.",
            vec![CvProblem::at(
                "/slug",
                "You already have a CV with this slug.",
            )],
        ),
        CvChangeError::CapReached => ApiProblem::conflict(format!(
            "You have {max} CVs, as many as an account may keep. Delete one to make room."
        )),
        CvChangeError::Database(error) => error.into(),
    }
}

/// Shows the CV at its public address. It needs a saved version.
#[utoipa::path(post, path = "/api/cv/{id}/publish", tag = "cv",
    params(("id" = Uuid, Path, description = "The CV's id")),
    responses(
        (status = 200, description = "Published", body = CvDetail),
        (status = 409, description = "Nothing saved yet to publish", body = ApiProblem, content_type = "application/problem+json"),
        TokenProblems, ReadOnlyToken, NoSuchCv,
    ))]
async fn publish_cv(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<CvDetail>, ApiProblem> {
    let cv = owned_cv(&state, &caller, &id).await?;
    if cvs::latest_version(&state.db, caller.owner_id, cv.id)
        .await?
        .is_none()
    {
        return Err(ApiProblem::conflict(
            "Save the CV before publishing it: there is nothing to show yet.",
        ));
    }
    set_published(state, caller, headers, cv, true).await
}

/// Takes the CV off its public address.
#[utoipa::path(post, path = "/api/cv/{id}/unpublish", tag = "cv",
    params(("id" = Uuid, Path, description = "The CV's id")),
    responses(
        (status = 200, description = "Private", body = CvDetail),
        TokenProblems, ReadOnlyToken, NoSuchCv,
    ))]
async fn unpublish_cv(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<CvDetail>, ApiProblem> {
    let cv = owned_cv(&state, &caller, &id).await?;
    set_published(state, caller, headers, cv, false).await
}

async fn set_published(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    cv: Cv,
    published: bool,
) -> Result<Json<CvDetail>, ApiProblem> {
    cvs::set_published(&state.db, caller.owner_id, cv.id, published).await?;
    let cv = cvs::find(&state.db, caller.owner_id, cv.id)
        .await?
        .ok_or_else(ApiProblem::not_found)?;
    Ok(Json(detail(&state, &caller, &headers, cv, None).await?))
}
