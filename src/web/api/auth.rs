//! Bearer tokens: who an API request speaks for, counted against the token's rate limit.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use super::problem::ApiProblem;
use crate::{
    domain::{TokenScope, TokenSecret},
    state::AppState,
    store::access_tokens,
};

/// The account a valid token speaks for.
pub struct Caller {
    pub owner_id: Uuid,
    pub username: String,
    pub scope: TokenScope,
}

/// A caller whose token may write; a read token gets 403.
pub struct Writer(pub Caller);

/// The token in `Authorization: Bearer …`, if the header is a bearer one at all.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the request's token and counts it: 401 without a valid one, 429 over the limit.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiProblem> {
    let Some(token) = bearer(headers) else {
        return Err(ApiProblem::unauthorized(
            "Send a personal access token: Authorization: Bearer txtcv_pat_…",
        ));
    };
    let invalid =
        || ApiProblem::unauthorized("This token is not valid: it is unknown, revoked or expired.");
    let secret = TokenSecret::parse(token).ok_or_else(invalid)?;
    let usage = access_tokens::use_token(&state.db, &secret)
        .await?
        .ok_or_else(invalid)?;
    let limit = i64::from(state.settings.api.requests_per_minute);
    if i64::from(usage.requests_in_window) > limit {
        let wait = u64::try_from(usage.window_ends_in_secs).unwrap_or(1);
        return Err(ApiProblem::too_many_requests(wait));
    }
    Ok(Caller {
        owner_id: usage.owner_id,
        username: usage.username,
        scope: usage.scope,
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiProblem> {
        authenticate(state, &parts.headers).await
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiProblem> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.scope {
            TokenScope::Write => Ok(Self(caller)),
            TokenScope::Read => Err(ApiProblem::read_only_token()),
        }
    }
}

/// On the app's pages a bearer token is optional, but one that is sent must be valid: the txtcv
/// CLI checks a token with `GET /` and takes any 2xx for "valid". Without the header nothing
/// changes.
pub async fn refuse_invalid_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if bearer(request.headers()).is_some()
        && let Err(problem) = authenticate(&state, request.headers()).await
    {
        return problem.into_response();
    }
    next.run(request).await
}
