//! API errors as `application/problem+json` (RFC 9457): a status, a title, a sentence that says
//! what to do, and for an invalid CV every problem with its place.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use crate::domain::resume::{Place, Problem};

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiProblem {
    /// `about:blank` (the status says it all), or the kind of problem.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    #[schema(value_type = u16)]
    #[serde(serialize_with = "status_code")]
    pub status: StatusCode,
    pub detail: String,
    /// For an invalid CV (422), or a taken slug (409): every problem found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<CvProblem>,
    #[serde(skip)]
    retry_after_secs: Option<u64>,
}

/// One thing wrong with a CV sent to the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct CvProblem {
    /// A JSON pointer into the request body, e.g. `/contents/basics/email`.
    pub pointer: String,
    /// Line and column in the text, for problems that have them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
}

// The problems several routes share, named once for the OpenAPI document (`responses(…)` of
// `#[utoipa::path]`). Only their descriptions are used: handlers answer with `ApiProblem`'s
// constructors, so these types are never built.

/// What every route may answer before it looks at the request.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub enum TokenProblems {
    #[response(
        status = 401,
        description = "No valid token",
        content_type = "application/problem+json"
    )]
    Unauthorized(ApiProblem),
    #[response(
        status = 429,
        description = "Over the rate limit",
        content_type = "application/problem+json"
    )]
    TooManyRequests(ApiProblem),
}

/// What a route that changes CVs answers a read-only token.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "A read-only token",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "describes a response, never built")]
pub struct ReadOnlyToken(ApiProblem);

/// What a route about one CV answers for an id that is not the caller's.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such CV in your account",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "describes a response, never built")]
pub struct NoSuchCv(ApiProblem);

/// What a route that saves a CV version answers when the account is over `resume.saves_per_hour`.
#[derive(IntoResponses)]
#[response(
    status = 429,
    description = "The account is over its saves per hour (editor and API together), with \
                   Retry-After; nothing was saved",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "describes a response, never built")]
pub struct TooManySaves(ApiProblem);

/// What a route that reads a JSON body answers for a body it cannot read.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes responses, never built")]
pub enum BodyProblems {
    #[response(
        status = 400,
        description = "The body is not valid JSON",
        content_type = "application/problem+json"
    )]
    NotJson(ApiProblem),
    #[response(
        status = 413,
        description = "The body is too large",
        content_type = "application/problem+json"
    )]
    TooLarge(ApiProblem),
    #[response(
        status = 415,
        description = "The body is not declared JSON",
        content_type = "application/problem+json"
    )]
    NotDeclaredJson(ApiProblem),
}

fn status_code<S: serde::Serializer>(
    status: &StatusCode,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(status.as_u16())
}

impl ApiProblem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title,
            status,
            detail: detail.into(),
            problems: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }

    pub fn read_only_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This token may only read. Create a token with the write scope to change CVs.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            "There is no such CV in your account.",
        )
    }

    pub fn not_found_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not Found",
            "There is no such route in the API; see /api/openapi.json.",
        )
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "This token is over its rate limit; try again in {retry_after_secs} seconds."
                ),
            )
        }
    }

    pub fn too_many_saves(per_hour: u32, retry_after_secs: u64) -> Self {
        let retry_after_secs = retry_after_secs.max(1);
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "Your account has saved {per_hour} times in the last hour, as often as an \
                     account may; nothing was saved. Try again in {retry_after_secs} seconds."
                ),
            )
        }
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content Too Large",
            format!("The body is over the {limit_bytes} bytes we accept; nothing was saved."),
        )
    }

    pub fn not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            "Send the body as JSON, with Content-Type: application/json.",
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", detail)
    }

    /// 409 with the parts of the request body that conflict with what is stored.
    pub fn conflict_at(detail: impl Into<String>, problems: Vec<CvProblem>) -> Self {
        Self {
            problems,
            ..Self::conflict(detail)
        }
    }

    /// 422 with the problems found at `pointer`s of the request body.
    pub fn invalid(detail: impl Into<String>, problems: Vec<CvProblem>) -> Self {
        Self {
            kind: "/api/problems/invalid",
            problems,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable Content",
                detail,
            )
        }
    }

    /// 422 for a CV that does not pass the editor's checks; `field` is where the document is in
    /// the request body.
    pub fn invalid_cv(field: &str, problems: Vec<Problem>) -> Self {
        let problems = problems
            .into_iter()
            .map(|problem| CvProblem::in_document(field, problem))
            .collect();
        Self::invalid(
            "The CV was not saved; fix these problems and send it again.",
            problems,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "The request could not be completed. It has been logged; please try again.",
        )
    }
}

impl CvProblem {
    pub fn at(pointer: &str, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    fn in_document(field: &str, problem: Problem) -> Self {
        let (pointer, line, column) = match problem.place {
            Place::Pointer(pointer) => (format!("{field}{pointer}"), None, None),
            Place::Text { line, column } => (field.to_owned(), Some(line), Some(column)),
        };
        Self {
            pointer,
            line,
            column,
            message: problem.message,
        }
    }
}

/// Any unexpected error: logged whole, answered with a problem that leaks nothing.
impl<E: Into<anyhow::Error>> From<E> for ApiProblem {
    fn from(error: E) -> Self {
        tracing::error!(error = format!("{:#}", error.into()), "API request failed");
        Self::internal()
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = match serde_json::to_vec(&self) {
            Ok(body) => (status, body).into_response(),
            Err(_) => status.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
