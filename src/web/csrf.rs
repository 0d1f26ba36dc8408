//! Cross-site request forgery defence without tokens: a browser says where a request comes from
//! (`Sec-Fetch-Site`, else `Origin`), and only our own pages may change state. CV subdomains are
//! "same-site" but not same-origin, so they are refused too.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

pub async fn same_origin_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state
        && !is_same_origin(
            request.headers(),
            state.settings.server.public_scheme.as_str(),
        )
    {
        tracing::warn!(method = %request.method(), path = request.uri().path(), "cross-origin request refused");
        return (
            StatusCode::FORBIDDEN,
            "Cross-origin requests are not allowed.",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_same_origin(headers: &HeaderMap, scheme: &str) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        // "none": the user typed the address or used a bookmark.
        return site == "same-origin" || site == "none";
    }
    match (
        header(header::ORIGIN.as_str()),
        header(header::HOST.as_str()),
    ) {
        (Some(origin), Some(host)) => origin == format!("{scheme}://{host}"),
        (Some(_), None) => false,
        // Neither header: not a browser (curl, a script), which no other site can drive.
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            "http"
        ));
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "none")]),
            "http"
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            "http"
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            "http"
        ));
    }

    #[test]
    fn origin_must_match_our_own_host_and_scheme() {
        let ours = headers(&[
            ("origin", "http://localhost:8080"),
            ("host", "localhost:8080"),
        ]);
        assert!(is_same_origin(&ours, "http"));
        assert!(!is_same_origin(&ours, "https"));
        let subdomain = headers(&[
            ("origin", "http://alice.localhost:8080"),
            ("host", "localhost:8080"),
        ]);
        assert!(!is_same_origin(&subdomain, "http"));
        assert!(!is_same_origin(
            &headers(&[("origin", "null"), ("host", "localhost")]),
            "http"
        ));
    }

    #[test]
    fn clients_that_are_not_browsers_pass() {
        assert!(is_same_origin(&HeaderMap::new(), "http"));
    }
}
