//! One error type for every handler: each variant knows its response, and internal errors are
//! logged with their whole cause chain while the visitor sees a page that leaks nothing.

use std::time::Duration;

use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use super::layout::Layout;

#[derive(Debug)]
pub enum AppError {
    /// The page does not exist, or is not this visitor's to see: the two look the same.
    NotFound,
    /// The page needs a signed-in user; `next` is where to come back after login.
    LoginRequired {
        next: String,
    },
    /// A throttle said no; the visitor may try again after the given wait.
    TooManyRequests {
        retry_after: Duration,
    },
    /// The work cannot be done now (a queue is full, a helper process failed); the visitor may
    /// try again after the given wait.
    Unavailable {
        retry_after: Duration,
    },
    /// The request body is over the limit; the page names the limit.
    TooLarge {
        limit_bytes: usize,
    },
    /// A value in the address that no page can use, such as a control character in a search;
    /// `field` names it.
    Invalid {
        field: &'static str,
        message: String,
    },
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for AppError {
    fn from(error: E) -> Self {
        Self::Internal(error.into())
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    layout: Layout,
    title: &'static str,
    message: String,
}

impl ErrorPage {
    fn response(status: StatusCode, title: &'static str, message: String) -> Response {
        let page = ErrorPage {
            layout: Layout::default(),
            title,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot render the error page");
                (status, title).into_response()
            }
        }
    }
}

pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing here. The address may be mistyped, or the page may have moved.",
    )
}

/// A page of its own for an error the generic ones would explain badly.
pub fn error_page(status: StatusCode, title: &'static str, message: impl Into<String>) -> Response {
    ErrorPage::response(status, title, message.into())
}

/// "Try again in 3 minutes": rounded up, so nobody comes back too early.
pub fn wait_in_words(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60);
    match minutes {
        0 | 1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

pub fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    let seconds = HeaderValue::from(wait.as_secs().max(1));
    response.headers_mut().insert(header::RETRY_AFTER, seconds);
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => not_found_page(),
            Self::LoginRequired { next } => {
                let target = format!("/login?next={}", super::form::url_encode(&next));
                Redirect::to(&target).into_response()
            }
            Self::TooManyRequests { retry_after } => with_retry_after(
                ErrorPage::response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    format!("Please wait {} and try again.", wait_in_words(retry_after)),
                ),
                retry_after,
            ),
            Self::Unavailable { retry_after } => with_retry_after(
                error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Please try again",
                    "This cannot be made right now. Please try again in a few seconds.",
                ),
                retry_after,
            ),
            Self::TooLarge { limit_bytes } => error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                format!(
                    "What you sent is larger than the {} KB we accept at once. Nothing was saved; \
                     please shorten it and try again.",
                    limit_bytes / 1024
                ),
            ),
            Self::Invalid { field, message } => error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the address",
                format!("The {field} in this address is not usable: {message}"),
            ),
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                ErrorPage::response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not complete this request. It has been logged; please try again in \
                     a moment."
                        .into(),
                )
            }
        }
    }
}
