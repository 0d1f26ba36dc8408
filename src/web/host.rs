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

/// Which of our sites a request is for, by its `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// The base domain itself: accounts, the editor, the API.
    App,
    /// `<label>.<base domain>`: someone's CV.
    Cv(CvHost),
    /// Any other name, or none. Answering it would let a forged `Host` (a DNS rebinding, an
    /// injected header) reach the app under a name we do not own.
    Foreign,
}

pub fn site(request: &Request, base_domain: &str) -> Site {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    site_of(host, base_domain)
}

fn site_of(host: &str, base_domain: &str) -> Site {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => match port.parse::<u16>() {
            Ok(port) => (name, Some(port)),
            Err(_) => return Site::Foreign,
        },
        None => (host, None),
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name == base_domain {
        return Site::App;
    }
    match name
        .strip_suffix(base_domain)
        .and_then(|rest| rest.strip_suffix('.'))
    {
        Some(label) if !label.is_empty() && !label.contains('.') => Site::Cv(CvHost {
            label: label.to_owned(),
            port,
        }),
        _ => Site::Foreign,
    }
}

/// Our public addresses, the app's and its CVs', as a visitor reaches them: the configured scheme
/// and base domain, and the port the visitor's browser used (none behind a proxy on 443, the
/// random one in tests), not the port we listen on, which a reverse proxy hides. A port that is
/// the scheme's default is left out.
pub struct PublicUrls<'a> {
    server: &'a ServerSettings,
    port: Option<u16>,
}

impl<'a> PublicUrls<'a> {
    pub fn new(server: &'a ServerSettings, port: Option<u16>) -> Self {
        let port = port.filter(|port| !is_default_port(server.public_scheme, *port));
        Self { server, port }
    }

    /// With the port of the request's `Host` header.
    pub fn from_headers(server: &'a ServerSettings, headers: &HeaderMap) -> Self {
        let port = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|host| host.rsplit_once(':'))
            .and_then(|(_, port)| port.parse::<u16>().ok());
        Self::new(server, port)
    }

    /// The app's home page.
    pub fn app(&self) -> String {
        format!("{}/", self.origin(None))
    }

    /// A CV of `username`'s: the primary at the host's root, another at its `slug`.
    pub fn cv(&self, username: &str, slug: Option<&str>) -> String {
        format!(
            "{}/{}",
            self.origin(Some(username)),
            slug.unwrap_or_default()
        )
    }

    fn origin(&self, subdomain: Option<&str>) -> String {
        let scheme = self.server.public_scheme.as_str();
        let domain = &self.server.base_domain;
        let subdomain = subdomain
            .map(|label| format!("{label}."))
            .unwrap_or_default();
        match self.port {
            Some(port) => format!("{scheme}://{subdomain}{domain}:{port}"),
            None => format!("{scheme}://{subdomain}{domain}"),
        }
    }
}

/// The address of `username`'s primary CV, as a link for its owner.
pub fn public_cv_url(server: &ServerSettings, username: &str, headers: &HeaderMap) -> String {
    PublicUrls::from_headers(server, headers).cv(username, None)
}

/// The address of one of `username`'s CVs: the primary at the host's root, the others at their
/// slug.
pub fn public_cv_page_url(
    server: &ServerSettings,
    username: &str,
    cv: &crate::store::cvs::Cv,
    headers: &HeaderMap,
) -> String {
    let slug = (!cv.is_primary).then_some(cv.slug.as_str());
    PublicUrls::from_headers(server, headers).cv(username, slug)
}

fn is_default_port(scheme: Scheme, port: u16) -> bool {
    matches!((scheme, port), (Scheme::Http, 80) | (Scheme::Https, 443))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cv(label: &str, port: Option<u16>) -> Site {
        Site::Cv(CvHost {
            label: label.into(),
            port,
        })
    }

    #[test]
    fn one_label_below_the_base_domain_is_a_cv() {
        assert_eq!(site_of("alice.txtcv.dev", "txtcv.dev"), cv("alice", None));
        assert_eq!(
            site_of("Alice.TXTCV.dev:8080", "txtcv.dev"),
            cv("alice", Some(8080))
        );
        assert_eq!(site_of("alice.txtcv.dev.", "txtcv.dev"), cv("alice", None));
    }

    #[test]
    fn the_base_domain_on_any_port_is_the_app() {
        for host in ["txtcv.dev", "txtcv.dev:443", "TXTCV.DEV.", "txtcv.dev:8080"] {
            assert_eq!(site_of(host, "txtcv.dev"), Site::App, "{host}");
        }
    }

    #[test]
    fn every_other_host_is_foreign() {
        for host in [
            "a.b.txtcv.dev",
            "eviltxtcv.dev",
            "txtcv.dev.evil.com",
            ".txtcv.dev",
            "127.0.0.1:8080",
            "[::1]:8080",
            "txtcv.dev:http",
            "txtcv.dev:99999",
            "",
        ] {
            assert_eq!(site_of(host, "txtcv.dev"), Site::Foreign, "{host}");
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
        let on_8443 = PublicUrls::new(&server, Some(8443));
        assert_eq!(on_8443.app(), "https://txtcv.dev:8443/");
        assert_eq!(
            on_8443.cv("ada", Some("research")),
            "https://ada.txtcv.dev:8443/research"
        );
        assert_eq!(
            PublicUrls::new(&server, Some(443)).app(),
            "https://txtcv.dev/"
        );
    }
}
