use axum::{
    extract::Request,
    http::{HeaderMap, header},
};

use crate::config::{Scheme, ServerSettings};

/// A request for a CV subdomain: the label (the owner's username, lowercased) and the port the
/// visitor typed, if any, so links back to the app keep it. Put into the request's extensions by
/// the host dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvHost {
    pub label: String,
    pub port: Option<u16>,
}

/// The CV a request is for, if its host is `<label>.<base domain>`. Every other host is the app
/// itself.
pub fn cv_host(request: &Request, base_domain: &str) -> Option<CvHost> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    let label = label_of(host, base_domain)?;
    let port = host
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok());
    Some(CvHost { label, port })
}

fn label_of(host: &str, base_domain: &str) -> Option<String> {
    let host = host
        .rsplit_once(':')
        .map_or(host, |(name, _port)| name)
        .to_ascii_lowercase();
    let label = host.strip_suffix(base_domain)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then(|| label.to_owned())
}

/// The address of `username`'s CV, as a link for its owner. The port is the one the owner's
/// browser used to reach us (none behind a proxy on 443, the random one in tests), not the port
/// we listen on, which a reverse proxy hides.
pub fn public_cv_url(server: &ServerSettings, username: &str, headers: &HeaderMap) -> String {
    let port = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| host.rsplit_once(':'))
        .and_then(|(_, port)| port.parse::<u16>().ok())
        .filter(|port| !is_default_port(server.public_scheme, *port));
    let scheme = server.public_scheme.as_str();
    let domain = &server.base_domain;
    match port {
        Some(port) => format!("{scheme}://{username}.{domain}:{port}/"),
        None => format!("{scheme}://{username}.{domain}/"),
    }
}

/// The address of one of `username`'s CVs: the primary at the host's root, the others at their
/// slug.
pub fn public_cv_page_url(
    server: &ServerSettings,
    username: &str,
    cv: &crate::store::cvs::Cv,
    headers: &HeaderMap,
) -> String {
    let root = public_cv_url(server, username, headers);
    if cv.is_primary {
        root
    } else {
        format!("{root}{}", cv.slug)
    }
}

fn is_default_port(scheme: Scheme, port: u16) -> bool {
    matches!((scheme, port), (Scheme::Http, 80) | (Scheme::Https, 443))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_label_below_the_base_domain_is_a_cv() {
        assert_eq!(
            label_of("alice.txtcv.dev", "txtcv.dev"),
            Some("alice".into())
        );
        assert_eq!(
            label_of("Alice.TXTCV.dev:8080", "txtcv.dev"),
            Some("alice".into())
        );
    }

    #[test]
    fn everything_else_is_the_app() {
        for host in [
            "txtcv.dev",
            "txtcv.dev:443",
            "a.b.txtcv.dev",
            "eviltxtcv.dev",
            "127.0.0.1:8080",
            "",
        ] {
            assert_eq!(label_of(host, "txtcv.dev"), None, "{host}");
        }
    }

    #[test]
    fn public_urls_carry_the_port_the_browser_used() {
        let settings = crate::config::Settings::load(
            &crate::config::Settings::config_dir(),
            crate::config::Profile::Development,
        )
        .expect("settings load");
        let mut server = settings.server;
        server.base_domain = "txtcv.dev".into();
        let url = |server: &ServerSettings, host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().expect("header value"));
            public_cv_url(server, "ada", &headers)
        };
        assert_eq!(url(&server, "txtcv.dev:8080"), "http://ada.txtcv.dev:8080/");
        assert_eq!(url(&server, "txtcv.dev:80"), "http://ada.txtcv.dev/");
        assert_eq!(url(&server, "txtcv.dev"), "http://ada.txtcv.dev/");
        server.public_scheme = Scheme::Https;
        assert_eq!(url(&server, "txtcv.dev"), "https://ada.txtcv.dev/");
        assert_eq!(url(&server, "[::1]:443"), "https://ada.txtcv.dev/");
    }
}
