//! Each file of a public CV rendered once per render key and kept in memory (moka) with the
//! headers it is sent with, made once too, so that a hot file costs a lookup and a copy of its
//! headers; validators let browsers and proxies revalidate cheaply.

use std::{
    future::Future,
    hash::{DefaultHasher, Hash, Hasher},
    time::SystemTime,
};

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use moka::sync::Cache;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    domain::resume::{Theme, without_hidden_fields},
    pdf::Paper,
    state::AppState,
    store::public_cvs::{self, PublishedCv},
    web::error::AppError,
};

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
                    let gzip = body.gzip.as_ref().map_or(0, Bytes::len);
                    u32::try_from(key.weight() + body.plain.len() + gzip).unwrap_or(u32::MAX)
                })
                .build(),
        )
    }

    /// The kept rendering for `key`, unless `cv` changed since in a way the key does not show
    /// (its `Last-Modified`), which is then rendered again.
    fn get(&self, key: &RenderKey, cv: &PublishedCv) -> Option<Rendered> {
        self.0.get(key).filter(|rendered| {
            rendered.validators.last_modified == SystemTime::from(cv.last_modified())
        })
    }
}

/// A rendered body, and for text the same gzipped once, so browsers get it small without the
/// cost of compressing it at every request (images and PDFs are compressed already); with the
/// headers every answer with it carries.
#[derive(Clone)]
pub struct Rendered {
    plain: Bytes,
    gzip: Option<Bytes>,
    validators: Validators,
    headers: HeaderMap,
}

impl Rendered {
    fn new(plain: Vec<u8>, format: Format, validators: Validators) -> Result<Self, AppError> {
        use std::io::Write;
        let gzip = if format.is_text() {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&plain)?;
            Some(Bytes::from(encoder.finish()?))
        } else {
            None
        };
        let mut headers = HeaderMap::from_iter(validators.headers());
        let content_type = HeaderValue::from_static(format.content_type());
        headers.insert(header::CONTENT_TYPE, content_type);
        if gzip.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        Ok(Self {
            gzip,
            plain: Bytes::from(plain),
            validators,
            headers,
        })
    }

    /// The answer to `request`: 304 when its copy is current, else the body, gzipped when there
    /// is a gzipped one and the request accepts it.
    fn response(&self, request: &HeaderMap, cv: &PublishedCv) -> Response {
        if self.validators.not_modified(request) {
            return not_modified(&self.validators, cv);
        }
        let (encoding, body) = match &self.gzip {
            Some(gzip) if accepts_gzip(request) => (Some("gzip"), gzip.clone()),
            _ => (None, self.plain.clone()),
        };
        let mut response = Response::new(body.into());
        *response.headers_mut() = self.headers.clone();
        if let Some(encoding) = encoding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        with_robots(response, cv)
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

/// What is rendered of a CV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The page, for a port the visitor typed (its links back to the app keep that port), at its
    /// public address or behind the private link `link`, whose address differs.
    Html {
        theme: Theme,
        port: Option<u16>,
        link: Option<Uuid>,
    },
    Json,
    /// The vCard, whose links carry the port like the page's.
    VCard {
        port: Option<u16>,
    },
    /// The page printed: kept in the database (`cv_pdfs`), for every process, and in memory. The
    /// same at every address, since the printed page shows none of the links that differ.
    Pdf {
        theme: Theme,
        paper: Paper,
    },
    /// The link preview's picture, which shows the public host (with the port) when `shared`,
    /// and the page's address otherwise.
    PreviewImage {
        theme: Theme,
        port: Option<u16>,
        shared: bool,
    },
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Self::Html { .. } => "text/html; charset=utf-8",
            Self::Json => "application/json",
            Self::VCard { .. } => "text/vcard; charset=utf-8",
            Self::Pdf { .. } => "application/pdf",
            Self::PreviewImage { .. } => "image/png",
        }
    }

    /// Whether gzip makes it smaller.
    fn is_text(self) -> bool {
        !matches!(self, Self::Pdf { .. } | Self::PreviewImage { .. })
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
    pub fn new(cv: &PublishedCv, format: Format) -> Self {
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
            Format::Html { theme, .. } => theme.as_str(),
            Format::Json => "json",
            Format::VCard { .. } => "vcf",
            Format::Pdf { .. } => "pdf",
            Format::PreviewImage { .. } => "png",
        };
        format!(
            "\"v{}-{kind}-{:016x}\"",
            self.version_number,
            hasher.finish()
        )
    }

    /// A PDF's name in `cv_pdfs`, beside its version: stable across builds (unlike the ETag's
    /// hash), so every process finds what another printed. Only PDFs are kept there.
    pub fn stored_name(&self) -> String {
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

/// 304 when the visitor's copy is current; otherwise the rendered body, from memory when it has
/// been rendered before, else from the version's document minus the hidden fields.
pub async fn respond<B, E>(
    state: &AppState,
    cv: &PublishedCv,
    key: RenderKey,
    request: &HeaderMap,
    render: impl FnOnce(&Value) -> Result<B, E>,
) -> Result<Response, AppError>
where
    B: Into<Vec<u8>>,
    AppError: From<E>,
{
    respond_with(state, cv, key, request, async || {
        let visible = visible_document(state, cv).await?;
        Ok(render(&visible)?.into())
    })
    .await
}

/// [`respond`] for bodies made some other way than from the document alone: `make` runs only
/// when the body is neither in memory nor current in the visitor's copy.
pub async fn respond_with<F>(
    state: &AppState,
    cv: &PublishedCv,
    key: RenderKey,
    request: &HeaderMap,
    make: impl FnOnce() -> F,
) -> Result<Response, AppError>
where
    F: Future<Output = Result<Vec<u8>, AppError>>,
{
    if let Some(rendered) = state.rendered_pages.get(&key, cv) {
        return Ok(rendered.response(request, cv));
    }
    let validators = Validators::new(&key, cv)?;
    if validators.not_modified(request) {
        return Ok(not_modified(&validators, cv));
    }
    let format = key.format;
    let rendered = Rendered::new(make().await?, format, validators)?;
    state.rendered_pages.0.insert(key, rendered.clone());
    Ok(rendered.response(request, cv))
}

fn not_modified(validators: &Validators, cv: &PublishedCv) -> Response {
    let response = (StatusCode::NOT_MODIFIED, validators.headers()).into_response();
    with_robots(response, cv)
}

/// The published version's document minus its hidden fields: what every format shows.
pub async fn visible_document(state: &AppState, cv: &PublishedCv) -> Result<Value, AppError> {
    let content = public_cvs::version_content(&state.db, cv)
        .await?
        .ok_or(AppError::NotFound)?;
    // Saved documents are valid JSON; should one not be, the page is empty, not an error.
    let document = serde_json::from_str(&content).unwrap_or_default();
    Ok(without_hidden_fields(&document, &cv.hidden_fields))
}

/// Unless its owner allows it, a CV is kept out of search engines: a header, which crawlers
/// see on every response (robots.txt would only keep them from fetching).
pub fn with_robots(mut response: Response, cv: &PublishedCv) -> Response {
    if !cv.allow_indexing {
        response.headers_mut().insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex"),
        );
    }
    response
}

/// The validators of one rendering, with their header values made once.
#[derive(Clone)]
pub struct Validators {
    etag: HeaderValue,
    last_modified: SystemTime,
    last_modified_header: HeaderValue,
}

impl Validators {
    fn new(key: &RenderKey, cv: &PublishedCv) -> Result<Self, AppError> {
        let last_modified = SystemTime::from(cv.last_modified());
        Ok(Self {
            etag: HeaderValue::from_str(&key.etag())?,
            last_modified,
            last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(last_modified))?,
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
        [
            (header::ETAG, self.etag.clone()),
            (header::LAST_MODIFIED, self.last_modified_header.clone()),
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
