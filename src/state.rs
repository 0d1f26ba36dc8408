use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;
use sqlx::PgPool;
use webauthn_rs::Webauthn;

use crate::{
    auth::Hasher,
    cache::Caches,
    clock::Clock,
    config::Settings,
    github::GitHub,
    pdf::Printer,
    web::{PageViews, RenderedPages},
};

/// What every handler may need. One pointer to clone: axum clones the state for every extractor
/// and layer that takes it, several times per request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the handlers share, through [`AppState`].
pub struct Shared {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub hasher: Hasher,
    /// Public CV pages, rendered once per published state.
    pub rendered_pages: RenderedPages,
    /// Public CVs' PDFs, printed by one shared headless Chromium.
    pub printer: Printer,
    /// Public page views, written out in batches.
    pub page_views: PageViews,
    /// Sessions, users and published states, kept fresh by PostgreSQL's notifications.
    pub caches: Caches,
    /// What expiring links are measured against.
    pub clock: Clock,
    /// Sign in with GitHub, when configured.
    pub github: Option<Arc<GitHub>>,
    /// Passkeys: txtcv as the WebAuthn relying party.
    pub webauthn: Arc<Webauthn>,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
