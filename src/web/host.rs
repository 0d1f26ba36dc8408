use axum::{extract::Request, http::header};

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
}
