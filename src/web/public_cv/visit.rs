//! Which CV a request on a CV host is for, and through which address: found from the host and
//! the path before a handler runs, so that an unknown, unpublished or suspended CV and a dead
//! private link are one and the same 404 for every file a CV has.

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::{HeaderMap, header, request::Parts},
};
use uuid::Uuid;

use crate::{
    domain::{CvSlug, LinkSecret, device, resume::Theme},
    state::AppState,
    store::{
        public_cvs::{self, PublishedCv},
        share_links::{self, LinkCounter},
    },
    web::{
        error::AppError,
        host::{CvHost, PublicUrls},
    },
};

/// A CV being visited: whose host, which CV, at which address.
pub struct Visit {
    pub host: CvHost,
    pub cv: PublishedCv,
    pub address: Address,
}

/// Where a CV is shown: at its public address, or behind one of its private links.
#[derive(Debug, Clone)]
pub enum Address {
    /// The primary at the host's root, another CV at its slug.
    Public { slug: Option<String> },
    /// `/s/{token}`: shown while the link lives, published or not, never indexed.
    Shared { token: String, link: Uuid },
}

impl Address {
    /// Where this CV's files sit on its host: `` for the primary, `/<slug>`, or `/s/<token>`.
    pub fn path_prefix(&self) -> String {
        match self {
            Self::Public { slug: None } => String::new(),
            Self::Public { slug: Some(slug) } => format!("/{slug}"),
            Self::Shared { token, .. } => format!("/s/{token}"),
        }
    }

    /// The page's own address, absolute.
    pub fn page_url(&self, username: &str, links: &PublicUrls<'_>) -> String {
        match self {
            Self::Public { slug } => links.cv(username, slug.as_deref()),
            Self::Shared { .. } => self.file_url(username, links, ""),
        }
    }

    /// One of the page's files (`file`), absolute.
    pub fn file_url(&self, username: &str, links: &PublicUrls<'_>, file: &str) -> String {
        let root = links.cv(username, None);
        format!(
            "{}{}/{file}",
            root.trim_end_matches('/'),
            self.path_prefix()
        )
    }
}

/// What a visitor took, for the counts their owner sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Took {
    Page,
    Pdf,
}

impl Visit {
    pub fn theme(&self) -> Theme {
        Theme::parse(&self.cv.theme).unwrap_or_default()
    }

    pub fn links<'a>(&self, state: &'a AppState) -> PublicUrls<'a> {
        PublicUrls::new(&state.settings.server, self.host.port)
    }

    /// Counts what the visitor took: page views and PDF downloads at public addresses (batched
    /// in memory, see [`super::counts`]), opens and downloads per private link. The obvious bots
    /// are left out, but for public page views, whose count has always been of every visit.
    pub async fn count(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        took: Took,
    ) -> Result<(), AppError> {
        let bot = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(device::is_bot);
        match (&self.address, took) {
            (Address::Public { .. }, Took::Page) => {
                let base_domain = &state.settings.server.base_domain;
                let referrer = super::counts::referring_host(headers, base_domain);
                state.page_views.count_view(&self.cv, referrer);
            }
            (Address::Public { .. }, Took::Pdf) if !bot => {
                state.page_views.count_pdf_download(&self.cv);
            }
            (Address::Shared { link, .. }, took) if !bot => {
                let counter = match took {
                    Took::Page => LinkCounter::Opens,
                    Took::Pdf => LinkCounter::PdfDownloads,
                };
                share_links::count(&state.db, self.cv.owner_id, *link, counter).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let host = parts
            .extensions
            .get::<CvHost>()
            .cloned()
            .ok_or(AppError::NotFound)?;
        // A path that is not UTF-8 names nothing here.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        };
        if let Some(token) = param("token") {
            let (cv, link) = shared(state, &host.label, &token).await?;
            return Ok(Self {
                host,
                cv,
                address: Address::Shared { token, link },
            });
        }
        let slug = param("slug");
        let cv = published(state, &host.label, slug.as_deref()).await?;
        Ok(Self {
            host,
            cv,
            address: Address::Public { slug },
        })
    }
}

/// The CV behind a live private link of `username`'s, and the link's id.
async fn shared(
    state: &AppState,
    username: &str,
    token: &str,
) -> Result<(PublishedCv, Uuid), AppError> {
    // What cannot be a token is not looked up.
    if LinkSecret::parse(token).is_none() {
        return Err(AppError::NotFound);
    }
    let owned = share_links::live(&state.db, username, token, state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    let cv = public_cvs::shared(&state.db, owned.owner_id, owned.link.cv_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((cv, owned.link.id))
}

/// The primary CV at the host's root, another at its `slug`. Unknown, unpublished, suspended and
/// empty are one and the same 404. The primary comes from memory when hot: a publish, save, theme
/// change or suspension evicts it at commit (`crate::cache`); other slugs are read each time.
async fn published(
    state: &AppState,
    username: &str,
    slug: Option<&str>,
) -> Result<PublishedCv, AppError> {
    let cv = match slug {
        // An address that cannot be a slug names no CV, and is not looked up.
        Some(slug) => match CvSlug::parse(slug) {
            Ok(slug) => public_cvs::published_by_slug(&state.db, username, &slug).await?,
            Err(_) => None,
        },
        None => {
            let cache = &state.caches.published;
            match cache.get(username) {
                Some(cv) => cv,
                None => {
                    let start = cache.read_start();
                    let cv = public_cvs::published(&state.db, username).await?;
                    cache.keep(start, username.to_owned(), cv.clone());
                    cv
                }
            }
        }
    };
    cv.ok_or(AppError::NotFound)
}
