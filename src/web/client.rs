use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use crate::{state::AppState, store::security_events::Origin};

/// The address a request came from: the peer, or, when `server.trust_forwarded_for` says reverse
/// proxies in front of us set `X-Forwarded-For`, the address the outermost of them saw.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr
where
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let server = &state.settings.server;
        let forwarded = server
            .trust_forwarded_for
            .then(|| forwarded_client(&parts.headers, server.trusted_proxy_hops))
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(
            forwarded.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

/// Where a request comes from, for the security log and the list of sessions: the client's
/// address and its browser in a few words.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin
where
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(ClientAddr(addr)) = ClientAddr::from_request_parts(parts, state).await;
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok());
        Ok(RequestOrigin(Origin::new(addr, user_agent)))
    }
}

/// The `hops`-th `X-Forwarded-For` entry from the right, over every such header in order.
/// Entries further left were written by the client and prove nothing; a list too short to hold
/// the entry, or an entry that is no address, did not come through our proxies as configured,
/// and the peer is used instead.
fn forwarded_client(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        entries.extend(value.to_str().ok()?.split(',').map(str::trim));
    }
    let index = entries.len().checked_sub(hops.max(1))?;
    entries[index].parse().ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_entry_our_proxy_appended_wins_over_what_the_client_wrote() {
        let headers = forwarded(&["6.6.6.6, 7.7.7.7", "203.0.113.9"]);
        assert_eq!(
            forwarded_client(&headers, 1),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(
            forwarded_client(&headers, 2),
            Some("7.7.7.7".parse().unwrap())
        );
    }

    #[test]
    fn too_few_entries_or_garbage_fall_back_to_the_peer() {
        assert_eq!(forwarded_client(&forwarded(&["203.0.113.9"]), 2), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
        assert_eq!(
            forwarded_client(&forwarded(&["1.2.3.4, nonsense"]), 1),
            None
        );
    }
}
