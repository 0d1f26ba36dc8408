//! Passkeys (WebAuthn): txtcv as the relying party. Its id is the base domain and its origin the
//! app's own, on whatever port the browser used; a CV host (a subdomain) is not an origin, so no
//! page a member writes can ask for their passkey.

use anyhow::Context;
use webauthn_rs::{Webauthn, WebauthnBuilder, prelude::Url};

use crate::config::ServerSettings;

pub fn relying_party(server: &ServerSettings) -> anyhow::Result<Webauthn> {
    let origin = format!("{}://{}", server.public_scheme.as_str(), server.base_domain);
    let origin = Url::parse(&origin).context("the app's origin is not a URL")?;
    WebauthnBuilder::new(&server.base_domain, &origin)
        .context("invalid configuration: server.base_domain cannot be a passkey's relying party")?
        .rp_name("txtcv")
        // Tests and `make run` serve on ports of their own; a proxy on 443 has none.
        .allow_any_port(true)
        .build()
        .context("cannot set up passkeys")
}
