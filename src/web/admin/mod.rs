//! The admin area under `/admin`: accounts, abuse reports and the audit log. Anyone without the
//! moderation permission, anonymous included, gets the ordinary 404 for every path under it, so
//! the area does not reveal that it exists. An administrator without two-factor sign-in is sent
//! to set it up first.

mod accounts;
mod audit;
mod reports;

pub use accounts::block_for;

use axum::{
    Router,
    extract::{FromRequestParts, Request},
    http::request::Parts,
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use axum_login::AuthzBackend;
use tower_sessions::Session;

use super::{
    error::AppError,
    form::url_encode,
    layout::{Flash, FlashKind, Layout},
    two_factor::required_page as two_factor_required_page,
};
use crate::{
    auth::{AuthSession, Permission},
    domain::text::{Lines, refuse_control_characters},
    moderation::ActionError,
    state::AppState,
    store::users::User,
};

/// Rows per page in the admin's lists.
const PAGE_SIZE: i64 = 25;

pub fn router() -> Router<AppState> {
    let area = Router::new()
        .route("/", get(|| async { Redirect::to("/admin/accounts") }))
        .merge(accounts::router())
        .merge(reports::router())
        .merge(audit::router())
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(moderators_only));
    Router::new().nest("/admin", area)
}

/// Lets moderators with a second factor through, with their account in the request; one
/// without it is asked to set it up, and everyone else sees a 404.
async fn moderators_only(auth: AuthSession, request: Request, next: Next) -> Response {
    let Some(user) = auth.user else {
        return AppError::NotFound.into_response();
    };
    match auth.backend.has_perm(&user, Permission::Moderate).await {
        Ok(true) => {}
        Ok(false) => return AppError::NotFound.into_response(),
        Err(error) => return AppError::Internal(error.into()).into_response(),
    }
    // Admins act on other people's accounts: a stolen password alone must not be enough.
    match auth.backend.has_second_factor(&user).await {
        Ok(true) => {
            let mut request = request;
            request.extensions_mut().insert(Moderator(user));
            next.run(request).await
        }
        Ok(false) => {
            let (mut parts, _) = request.into_parts();
            let Ok(layout) = Layout::from_request_parts(&mut parts, &()).await;
            two_factor_required_page(layout)
        }
        Err(error) => AppError::Internal(error.into()).into_response(),
    }
}

/// The admin making the request, as let in by `moderators_only`.
#[derive(Clone)]
pub struct Moderator(pub User);

impl<S: Send + Sync> FromRequestParts<S> for Moderator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Moderator>()
            .cloned()
            .ok_or(AppError::NotFound)
    }
}

/// The highest page number asked for: far past any real list, and low enough that its offset
/// (`(page - 1) * PAGE_SIZE`) cannot overflow.
const MAX_PAGE: i64 = 1_000_000;

/// `?page=` as a page number from 1 to [`MAX_PAGE`]; anything that is no number is the first page,
/// and a number past the end shows an empty page with a link back.
fn page_number(page: Option<&str>) -> i64 {
    page.and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE)
}

fn offset(page: i64) -> i64 {
    (page - 1) * PAGE_SIZE
}

/// Links to the previous and next page of a list, keeping its filters.
pub struct Pagination {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pagination {
    /// `filters` are the list's other query parameters; empty ones are left out of the links.
    fn new(path: &str, filters: &[(&str, &str)], page: i64, total: i64) -> Self {
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let link = |page: i64| {
            let mut query: Vec<String> = filters
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(key, value)| format!("{key}={}", url_encode(value)))
                .collect();
            query.push(format!("page={page}"));
            format!("{path}?{}", query.join("&"))
        };
        Self {
            page,
            pages,
            total,
            previous: (page > 1).then(|| link((page - 1).min(pages))),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// A filter field, named `field` in errors: trimmed, `None` when empty, refused when it holds a
/// control character (nothing could match it, and PostgreSQL cannot take a NUL).
fn filter_value<'a>(
    field: &'static str,
    value: &'a Option<String>,
) -> Result<Option<&'a str>, AppError> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    if let Some(value) = value {
        refuse_control_characters(value, Lines::One).map_err(|error| AppError::Invalid {
            field,
            message: error.to_string(),
        })?;
    }
    Ok(value)
}

/// Leaves the outcome of a moderation action for the next page: `success` when it was done, the
/// reason when it was refused. An internal error is returned, for the error page.
async fn flash_outcome(
    session: &Session,
    outcome: Result<(), ActionError>,
    success: String,
) -> Result<(), AppError> {
    match outcome {
        Ok(()) => Flash::push(session, FlashKind::Success, success).await,
        Err(ActionError::Refused(why)) => Flash::push(session, FlashKind::Error, why).await,
        Err(ActionError::Internal(error)) => return Err(AppError::Internal(error)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_stay_where_an_offset_can_be_computed() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("abc")), 1);
        assert_eq!(page_number(Some("-3")), 1);
        assert_eq!(page_number(Some("7")), 7);
        let huge = page_number(Some("400000000000000000"));
        assert_eq!(huge, MAX_PAGE);
        assert!(offset(huge) > 0);
        assert_eq!(page_number(Some("99999999999999999999999")), 1);
    }
}
