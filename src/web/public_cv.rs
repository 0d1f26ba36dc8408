//! The public CV on `<username>.<base domain>`: the page, `resume.json` and `resume.pdf`, for
//! anyone, without sessions. Each is rendered once per published state and then served from
//! memory (the PDF from the database), with validators so browsers and proxies can revalidate
//! cheaply.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use askama::Template;
use axum::{
    Extension, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use moka::sync::Cache;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    error::{AppError, error_page},
    host::{CvHost, PublicUrls},
};
use crate::{
    domain::{
        CvSlug, device,
        resume::{Theme, linked_data, view::Resume, without_hidden_fields},
    },
    pdf::{Paper, PrintError},
    state::AppState,
    store::{
        cv_pdfs,
        public_cvs::{self, PublishedCv},
        share_links,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/resume.json", get(resume_json))
        .route("/resume.pdf", get(resume_pdf))
        .route("/contact.vcf", get(contact_card))
        .route("/s/{token}", get(shared_page))
        .route("/{slug}", get(page))
        .route("/{slug}/resume.json", get(resume_json))
        .route("/{slug}/resume.pdf", get(resume_pdf))
        .route("/{slug}/contact.vcf", get(contact_card))
}

/// Rendered public pages, keyed by everything a page depends on. A save, a theme change or a
/// change of hidden fields makes a new key, so nothing is ever invalidated by hand and every
/// process agrees; old entries age out. Bounded by the bytes it holds (moka: a concurrent cache
/// with size-aware eviction, so a burst of big CVs cannot exhaust memory).
#[derive(Clone)]
pub struct RenderedPages(Cache<RenderKey, Rendered>);

impl RenderedPages {
    pub fn new(max_bytes: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &RenderKey, body: &Rendered| {
                    u32::try_from(key.weight() + body.plain.len() + body.gzip.len())
                        .unwrap_or(u32::MAX)
                })
                .build(),
        )
    }
}

/// A rendered body, and the same gzipped once, so browsers get it small without the cost of
/// compressing it at every request.
#[derive(Clone)]
pub struct Rendered {
    plain: Bytes,
    gzip: Bytes,
}

impl Rendered {
    fn new(plain: String) -> Result<Self, AppError> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(plain.as_bytes())?;
        Ok(Self {
            gzip: Bytes::from(encoder.finish()?),
            plain: Bytes::from(plain),
        })
    }

    /// The gzipped body when the request accepts it, with the headers that say so.
    fn for_request(&self, request: &HeaderMap) -> (Option<HeaderValue>, Bytes) {
        if accepts_gzip(request) {
            (Some(HeaderValue::from_static("gzip")), self.gzip.clone())
        } else {
            (None, self.plain.clone())
        }
    }
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Format {
    /// The page, for a port the visitor typed (its links back to the app keep that port).
    Html {
        theme: Theme,
        port: Option<u16>,
    },
    Json,
    /// The vCard, whose links carry the port like the page's.
    VCard {
        port: Option<u16>,
    },
    /// The page behind a private link: its address differs from the public page's.
    Shared {
        theme: Theme,
        port: Option<u16>,
        link: Uuid,
    },
    /// The page printed: kept in the database (`cv_pdfs`), not in memory.
    Pdf {
        theme: Theme,
        paper: Paper,
    },
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Self::Html { .. } | Self::Shared { .. } => "text/html; charset=utf-8",
            Self::Json => "application/json",
            Self::VCard { .. } => "text/vcard; charset=utf-8",
            Self::Pdf { .. } => "application/pdf",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    owner_id: Uuid,
    cv_id: Uuid,
    version_number: i32,
    hidden_fields: Vec<String>,
    format: Format,
}

impl RenderKey {
    fn new(cv: &PublishedCv, format: Format) -> Self {
        Self {
            owner_id: cv.owner_id,
            cv_id: cv.cv_id,
            version_number: cv.version_number,
            hidden_fields: cv.hidden_fields.clone(),
            format,
        }
    }

    /// A strong validator: the same key always renders the same bytes. `DefaultHasher::new` is
    /// deterministic, so every process of one build gives the same tag.
    fn etag(&self) -> String {
        let mut hasher = DefaultHasher::new();
        self.hash(&mut hasher);
        let kind = match self.format {
            Format::Html { theme, .. } | Format::Shared { theme, .. } => theme.as_str(),
            Format::Json => "json",
            Format::VCard { .. } => "vcf",
            Format::Pdf { .. } => "pdf",
        };
        format!(
            "\"v{}-{kind}-{:016x}\"",
            self.version_number,
            hasher.finish()
        )
    }

    /// A PDF's name in `cv_pdfs`, beside its version: stable across builds (unlike the ETag's
    /// hash), so every process finds what another printed. Only PDFs are kept there.
    fn stored_name(&self) -> String {
        use sha2::Digest;
        let (theme, paper) = match self.format {
            Format::Pdf { theme, paper } => (theme.as_str(), paper.as_str()),
            _ => ("", ""),
        };
        let hidden = sha2::Sha256::digest(self.hidden_fields.join("\n"));
        let hidden: String = hidden[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("pdf-{theme}-{paper}-{hidden}")
    }

    fn weight(&self) -> usize {
        size_of::<Self>() + self.hidden_fields.iter().map(String::len).sum::<usize>()
    }
}

#[derive(Template)]
#[template(path = "public/not_found.html")]
struct NotFoundPage {
    app_url: String,
}

/// Every "not found" on a CV host (unknown, unpublished or suspended CV, or any other path) is
/// this one page, without the app's navigation, whose links would lead nowhere on this host.
pub async fn same_not_found_everywhere(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    // `/{slug}` matches any one-segment path, so a POST to one (`/logout`) would be a 405 that
    // tells a visitor something is there: it is the same "not found".
    if !matches!(
        response.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        return response;
    }
    let page = NotFoundPage {
        app_url: PublicUrls::new(&state.settings.server, host.port).app(),
    };
    match page.render() {
        Ok(html) => (StatusCode::NOT_FOUND, axum::response::Html(html)).into_response(),
        Err(error) => AppError::from(error).into_response(),
    }
}

async fn page(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    slug: Option<Path<String>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let slug = slug.map(|Path(slug)| slug);
    let cv = published(&state, &host.label, slug.as_deref()).await?;
    let theme = Theme::parse(&cv.theme).unwrap_or_default();
    let key = RenderKey::new(
        &cv,
        Format::Html {
            theme,
            port: host.port,
        },
    );
    let links = PublicUrls::new(&state.settings.server, host.port);
    let response = respond(&state, &cv, key, &headers, |document| {
        let address = Address::Public {
            slug: slug.as_deref(),
        };
        CvPage::new(
            &Resume::from_document(document),
            theme,
            &host.label,
            address,
            &links,
        )
        .render()
    })
    .await?;
    if method == Method::GET {
        let referrer = referring_host(&headers, &state.settings.server.base_domain);
        state.page_views.count(&cv, referrer);
    }
    Ok(response)
}

/// A CV behind one of its private links: shown while the link lives, published or not, never
/// indexed. An unknown, expired or revoked link is the same 404 as an unknown CV. Opens are
/// counted, the obvious bots' left out.
async fn shared_page(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    // What cannot be a token is not looked up.
    if crate::domain::LinkSecret::parse(&token).is_none() {
        return Err(AppError::NotFound);
    }
    let owned = share_links::live(&state.db, &host.label, &token, state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    let cv = public_cvs::shared(&state.db, owned.owner_id, owned.link.cv_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let theme = Theme::parse(&cv.theme).unwrap_or_default();
    let format = Format::Shared {
        theme,
        port: host.port,
        link: owned.link.id,
    };
    let links = PublicUrls::new(&state.settings.server, host.port);
    let response = respond(
        &state,
        &cv,
        RenderKey::new(&cv, format),
        &headers,
        |document| {
            let address = Address::Shared { token: &token };
            let resume = Resume::from_document(document);
            CvPage::new(&resume, theme, &host.label, address, &links).render()
        },
    )
    .await?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if method == Method::GET && !user_agent.is_some_and(device::is_bot) {
        share_links::count_open(&state.db, owned.owner_id, owned.link.id).await?;
    }
    Ok(response)
}

async fn contact_card(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    slug: Option<Path<String>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let slug = slug.map(|Path(slug)| slug);
    let cv = published(&state, &host.label, slug.as_deref()).await?;
    let key = RenderKey::new(&cv, Format::VCard { port: host.port });
    let links = PublicUrls::new(&state.settings.server, host.port);
    let page_url = links.cv(&host.label, slug.as_deref());
    let mut response = respond(&state, &cv, key, &headers, |document| {
        let resume = Resume::from_document(document);
        let name = display_name(&resume, &host.label);
        Ok::<_, AppError>(linked_data::vcard(&resume, &name, &page_url))
    })
    .await?;
    let file = format!("attachment; filename=\"{}.vcf\"", host.label);
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&file).map_err(anyhow::Error::from)?,
    );
    Ok(response)
}

async fn resume_json(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    slug: Option<Path<String>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let slug = slug.map(|Path(slug)| slug);
    let cv = published(&state, &host.label, slug.as_deref()).await?;
    let key = RenderKey::new(&cv, Format::Json);
    let mut response = respond(&state, &cv, key, &headers, serde_json::to_string_pretty).await?;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct PdfQuery {
    paper: Option<String>,
}

/// How long a visitor turned away by the PDF printer should wait.
const PRINTER_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The public page printed to PDF: A4 unless `?paper=letter`; any other paper is a 400, so a
/// mistyped link says so rather than quietly printing A4. Printed once per version, theme, hidden
/// fields and paper, then read from the database; a printer that is busy or failing is a 503
/// with `Retry-After`, never a 500.
async fn resume_pdf(
    State(state): State<AppState>,
    Extension(host): Extension<CvHost>,
    slug: Option<Path<String>>,
    Query(query): Query<PdfQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let slug = slug.map(|Path(slug)| slug);
    let cv = published(&state, &host.label, slug.as_deref()).await?;
    let Some(paper) = Paper::parse(query.paper.as_deref()) else {
        let message = "The paper may be a4 (the default) or letter.";
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Unknown paper size",
            message,
        ));
    };
    let theme = Theme::parse(&cv.theme).unwrap_or_default();
    let key = RenderKey::new(&cv, Format::Pdf { theme, paper });
    let validators = Validators::new(&key, &cv)?;
    if validators.not_modified(&headers) {
        return Ok(not_modified(&validators, &cv));
    }
    let links = PublicUrls::new(&state.settings.server, host.port);
    let pdf = stored_or_printed(&state, &cv, &key, (theme, paper), |resume, css| {
        let address = Address::Public {
            slug: slug.as_deref(),
        };
        CvPage::new(resume, theme, &host.label, address, &links)
            .for_print(&host.label, css)
            .render()
    })
    .await?;
    pdf_response(pdf, key.format, &validators, &cv, &host.label)
}

/// A PDF as it is sent: shown in the browser, saved as `<username>.pdf`, never compressed again.
fn pdf_response(
    pdf: Vec<u8>,
    format: Format,
    validators: &Validators,
    cv: &PublishedCv,
    username: &str,
) -> Result<Response, AppError> {
    let file = format!("inline; filename=\"{username}.pdf\"");
    let response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&file)?),
        ],
        validators.headers(),
        pdf,
    )
        .into_response();
    Ok(with_robots(response, cv))
}

/// The kept PDF of this version, else one printed now from `html` and kept.
async fn stored_or_printed(
    state: &AppState,
    cv: &PublishedCv,
    key: &RenderKey,
    (theme, paper): (Theme, Paper),
    html: impl FnOnce(&Resume, String) -> Result<String, askama::Error>,
) -> Result<Vec<u8>, AppError> {
    let name = key.stored_name();
    if let Some(pdf) = cv_pdfs::stored(&state.db, cv, &name).await? {
        return Ok(pdf);
    }
    let css_file = crate::static_dir().join(format!("themes/{}.css", theme.as_str()));
    let css = tokio::fs::read_to_string(&css_file).await?;
    let resume = Resume::from_document(&visible_document(state, cv).await?);
    let html = html(&resume, css)?;
    let pdf = state
        .printer
        .print(html, paper)
        .await
        .map_err(printer_unavailable)?;
    Ok(cv_pdfs::keep(&state.db, cv, &name, &pdf).await?)
}

fn printer_unavailable(error: PrintError) -> AppError {
    match error {
        PrintError::Busy => tracing::warn!("the PDF printer is busy; a visitor is asked to wait"),
        PrintError::Failed(error) => {
            tracing::error!(error = format!("{error:#}"), "cannot print a CV");
        }
    }
    AppError::Unavailable {
        retry_after: PRINTER_RETRY_AFTER,
    }
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

/// 304 when the visitor's copy is current; otherwise the rendered body, from memory when it has
/// been rendered before, else from the version's document minus the hidden fields.
async fn respond<E>(
    state: &AppState,
    cv: &PublishedCv,
    key: RenderKey,
    request: &HeaderMap,
    render: impl FnOnce(&Value) -> Result<String, E>,
) -> Result<Response, AppError>
where
    AppError: From<E>,
{
    let validators = Validators::new(&key, cv)?;
    if validators.not_modified(request) {
        return Ok(not_modified(&validators, cv));
    }
    let content_type = key.format.content_type();
    let body = match state.rendered_pages.0.get(&key) {
        Some(body) => body,
        None => {
            let visible = visible_document(state, cv).await?;
            let body = Rendered::new(render(&visible)?)?;
            state.rendered_pages.0.insert(key, body.clone());
            body
        }
    };
    let (encoding, body) = body.for_request(request);
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        validators.headers(),
        body,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, encoding);
    }
    Ok(with_robots(response, cv))
}

fn not_modified(validators: &Validators, cv: &PublishedCv) -> Response {
    let response = (StatusCode::NOT_MODIFIED, validators.headers()).into_response();
    with_robots(response, cv)
}

/// The published version's document minus its hidden fields: what every format shows.
async fn visible_document(state: &AppState, cv: &PublishedCv) -> Result<Value, AppError> {
    let content = public_cvs::version_content(&state.db, cv)
        .await?
        .ok_or(AppError::NotFound)?;
    // Saved documents are valid JSON; should one not be, the page is empty, not an error.
    let document = serde_json::from_str(&content).unwrap_or_default();
    Ok(without_hidden_fields(&document, &cv.hidden_fields))
}

/// Unless its owner allows it, a CV is kept out of search engines: a header, which crawlers
/// see on every response (robots.txt would only keep them from fetching).
fn with_robots(mut response: Response, cv: &PublishedCv) -> Response {
    if !cv.allow_indexing {
        response.headers_mut().insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex"),
        );
    }
    response
}

struct Validators {
    etag: HeaderValue,
    last_modified: SystemTime,
}

impl Validators {
    fn new(key: &RenderKey, cv: &PublishedCv) -> Result<Self, AppError> {
        Ok(Self {
            etag: HeaderValue::from_str(&key.etag())?,
            last_modified: SystemTime::from(cv.last_modified()),
        })
    }

    /// `If-None-Match` decides when present; `If-Modified-Since` only without it (RFC 9110).
    fn not_modified(&self, request: &HeaderMap) -> bool {
        if let Some(tags) = request.get(header::IF_NONE_MATCH) {
            let ours = self.etag.as_bytes();
            return tags.to_str().is_ok_and(|tags| {
                tags.split(',').map(str::trim).any(|tag| {
                    tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours
                })
            });
        }
        request
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|since| httpdate::parse_http_date(since.to_str().ok()?).ok())
            .is_some_and(|since| whole_seconds(self.last_modified) <= since)
    }

    fn headers(&self) -> [(header::HeaderName, HeaderValue); 3] {
        let last_modified = httpdate::fmt_http_date(self.last_modified);
        [
            (header::ETAG, self.etag.clone()),
            (
                header::LAST_MODIFIED,
                HeaderValue::from_str(&last_modified).expect("an HTTP date is a valid header"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ]
    }
}

/// HTTP dates have whole seconds; the database has microseconds.
fn whole_seconds(time: SystemTime) -> SystemTime {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(since_epoch.as_secs())
}

/// Page views, and the sites they came from, counted in memory and written in one statement
/// each every [`PageViews::FLUSH_EVERY`]: a page view costs no query of its own, and many views
/// of one CV do not queue on its row's lock. A failed write, or a process that stops between two
/// writes, costs counts, never pages.
#[derive(Clone, Default)]
pub struct PageViews(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    views: HashMap<(Uuid, Uuid), i32>,
    referrers: HashMap<(Uuid, Uuid, String), i32>,
}

/// The most referring sites kept per flush, so a flood of forged `Referer`s cannot grow memory
/// without bound; the rest of that flush's referrers are not counted.
const MAX_REFERRERS: usize = 10_000;

impl PageViews {
    const FLUSH_EVERY: Duration = Duration::from_millis(200);

    fn count(&self, cv: &PublishedCv, referrer: Option<String>) {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.views.entry((cv.owner_id, cv.cv_id)).or_default() += 1;
        if let Some(host) = referrer {
            let key = (cv.owner_id, cv.cv_id, host);
            if counts.referrers.len() < MAX_REFERRERS || counts.referrers.contains_key(&key) {
                *counts.referrers.entry(key).or_default() += 1;
            }
        }
    }

    /// Writes the counts out for as long as the process runs.
    pub fn flush_periodically(&self, db: PgPool) {
        let counts = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Self::FLUSH_EVERY);
            loop {
                ticks.tick().await;
                let taken =
                    std::mem::take(&mut *counts.0.lock().unwrap_or_else(PoisonError::into_inner));
                let views: Vec<_> = taken
                    .views
                    .into_iter()
                    .map(|((owner_id, cv_id), count)| (owner_id, cv_id, count))
                    .collect();
                if !views.is_empty()
                    && let Err(error) = public_cvs::count_views(&db, &views).await
                {
                    tracing::warn!(%error, "cannot count CV views");
                }
                let referrers: Vec<_> = taken
                    .referrers
                    .into_iter()
                    .map(|((owner_id, cv_id, host), count)| (owner_id, cv_id, host, count))
                    .collect();
                if !referrers.is_empty()
                    && let Err(error) = public_cvs::count_referrers(&db, &referrers).await
                {
                    tracing::warn!(%error, "cannot count CV referrers");
                }
            }
        });
    }
}

/// The host name of the site a visitor came from, if it is another site's web page: never the
/// rest of the address. Our own pages (the app and every CV host) are not referrers.
fn referring_host(headers: &HeaderMap, base_domain: &str) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = reqwest::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let ours = host == base_domain || host.ends_with(&format!(".{base_domain}"));
    (!ours && !host.is_empty() && host.len() <= 253).then_some(host)
}

#[derive(Template)]
#[template(path = "public/cv.html")]
struct CvPage<'a> {
    resume: &'a Resume,
    theme: Theme,
    title: String,
    description: String,
    page_url: String,
    app_url: String,
    /// The report form, for a page at its public address.
    report_url: Option<String>,
    /// Where this CV's public files are (resume.json, contact.vcf): empty for the primary,
    /// `/<slug>` for another, none behind a private link.
    files: Option<String>,
    /// schema.org `ProfilePage` JSON-LD, safe inside its `<script>` element.
    json_ld: String,
    /// For the PDF printer: the theme's stylesheet, inlined because the printed page may load
    /// nothing (see `crate::pdf`).
    print_css: Option<String>,
}

/// The name a CV goes by: its owner's as written in it, else their username.
fn display_name(resume: &Resume, username: &str) -> String {
    match resume.basics.name.as_str() {
        "" => username.to_owned(),
        name => name.to_owned(),
    }
}

/// Where a CV page is shown: at its public address, or behind one of its private links.
#[derive(Debug, Clone, Copy)]
enum Address<'a> {
    Public { slug: Option<&'a str> },
    Shared { token: &'a str },
}

impl<'a> CvPage<'a> {
    fn new(
        resume: &'a Resume,
        theme: Theme,
        username: &str,
        address: Address<'_>,
        links: &PublicUrls<'_>,
    ) -> Self {
        let basics = &resume.basics;
        let name = display_name(resume, username);
        let title = if basics.label.is_empty() {
            name.clone()
        } else {
            format!("{name} — {}", basics.label)
        };
        let description = if basics.summary.is_empty() {
            format!("The CV of {name}.")
        } else {
            truncate_words(basics.summary.as_str(), 160)
        };
        let app_url = links.app();
        let (page_url, files, report_url) = match address {
            Address::Public { slug } => (
                links.cv(username, slug),
                Some(slug.map(|slug| format!("/{slug}")).unwrap_or_default()),
                Some(match slug {
                    None => format!("{app_url}report/{username}"),
                    Some(slug) => format!("{app_url}report/{username}/{slug}"),
                }),
            ),
            // A private link's CV may be unpublished: no public files or report form to link.
            Address::Shared { token } => {
                (format!("{}s/{token}", links.cv(username, None)), None, None)
            }
        };
        Self {
            resume,
            theme,
            title,
            description,
            json_ld: linked_data::for_script(&linked_data::json_ld(resume, &name, &page_url)),
            files,
            page_url,
            report_url,
            app_url,
            print_css: None,
        }
    }

    /// The same page for the PDF printer: styles inline, and titled with the name alone, which
    /// Chromium makes the PDF's Title.
    fn for_print(mut self, username: &str, css: String) -> Self {
        self.title = display_name(self.resume, username);
        self.print_css = Some(css);
        self
    }
}

/// At most `max` characters, cut at a word and marked with an ellipsis when cut.
fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at_word = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_sites_host_names_are_referrers() {
        let from = |referer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::REFERER, referer.parse().unwrap());
            referring_host(&headers, "txtcv.dev")
        };
        let linkedin = from("https://www.LinkedIn.com/in/ada?trk=x#top");
        assert_eq!(
            linkedin.as_deref(),
            Some("www.linkedin.com"),
            "the host only"
        );
        assert_eq!(from("https://txtcv.dev/dashboard"), None);
        assert_eq!(from("http://bob.txtcv.dev/"), None);
        assert_eq!(from("android-app://com.slack"), None);
        assert_eq!(from("not a url"), None);
    }

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let summary = "word ".repeat(50);
        let cut = truncate_words(&summary, 160);
        assert!(cut.chars().count() <= 160);
        assert!(cut.ends_with("word…"), "{cut}");
        assert_eq!(truncate_words("Short.", 160), "Short.");
    }
}
