//! The public CV on `<username>.<base domain>`: the page, `resume.json`, `resume.pdf`, the
//! contact card and the link preview's picture, for anyone, without sessions; and the same page,
//! its PDF and picture behind a private link (`/s/{token}`). Each is rendered once per published
//! state and kept (`rendered`); which CV a request is for is settled before a handler runs
//! (`visit`).

mod counts;
mod page;
mod rendered;
mod visit;

use std::time::Duration;

use askama::Template;
use axum::{
    Extension, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

pub use self::{counts::PageViews, rendered::RenderedPages};
use self::{
    page::{CvPage, display_name},
    rendered::{Format, RenderKey, respond, respond_with, visible_document},
    visit::{Address, Took, Visit},
};
use super::{
    error::{AppError, error_page},
    host::{CvHost, PublicUrls},
};
use crate::{
    domain::resume::{Theme, linked_data, view::Resume},
    pdf::{Paper, PrintError},
    preview_image::{self, PreviewCard},
    state::AppState,
    store::{cv_pdfs, public_cvs::PublishedCv},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/resume.json", get(resume_json))
        .route("/resume.pdf", get(resume_pdf))
        .route("/contact.vcf", get(contact_card))
        .route("/og.png", get(preview_image))
        .route("/s/{token}", get(page))
        .route("/s/{token}/resume.pdf", get(resume_pdf))
        .route("/s/{token}/og.png", get(preview_image))
        .route("/{slug}", get(page))
        .route("/{slug}/resume.json", get(resume_json))
        .route("/{slug}/resume.pdf", get(resume_pdf))
        .route("/{slug}/contact.vcf", get(contact_card))
        .route("/{slug}/og.png", get(preview_image))
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

/// The CV's page, at its public address or behind a private link. Views are counted; a private
/// link's opens too, the obvious bots' left out.
async fn page(
    State(state): State<AppState>,
    visit: Visit,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let theme = visit.theme();
    let link = match visit.address {
        Address::Public { .. } => None,
        Address::Shared { link, .. } => Some(link),
    };
    let format = Format::Html {
        theme,
        port: visit.host.port,
        link,
    };
    let links = visit.links(&state);
    let key = RenderKey::new(&visit.cv, format);
    let response = respond(&state, &visit.cv, key, &headers, |document| {
        let resume = Resume::from_document(document);
        CvPage::new(&resume, theme, &visit.host.label, &visit.address, &links).render()
    })
    .await?;
    if method == Method::GET {
        visit.count(&state, &headers, Took::Page).await?;
    }
    Ok(response)
}

async fn contact_card(
    State(state): State<AppState>,
    visit: Visit,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let host = &visit.host;
    let key = RenderKey::new(&visit.cv, Format::VCard { port: host.port });
    let page_url = visit.address.page_url(&host.label, &visit.links(&state));
    let mut response = respond(&state, &visit.cv, key, &headers, |document| {
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
    visit: Visit,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = RenderKey::new(&visit.cv, Format::Json);
    let mut response = respond(
        &state,
        &visit.cv,
        key,
        &headers,
        serde_json::to_string_pretty,
    )
    .await?;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// The picture a pasted link shows (`og:image`): the name and label in the theme's colours,
/// drawn once per version and kept like the page. Drawing takes some milliseconds of CPU, so it
/// runs on a blocking thread, off the threads that serve requests.
async fn preview_image(
    State(state): State<AppState>,
    visit: Visit,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let theme = visit.theme();
    let shared = matches!(visit.address, Address::Shared { .. });
    let format = Format::PreviewImage {
        theme,
        port: visit.host.port,
        shared,
    };
    let links = visit.links(&state);
    let username = &visit.host.label;
    // A private link's card names the host, not the secret address.
    let address = match &visit.address {
        Address::Public { slug } => links.cv(username, slug.as_deref()),
        Address::Shared { .. } => links.cv(username, None),
    };
    let address = address
        .split_once("://")
        .map_or(address.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned();
    let key = RenderKey::new(&visit.cv, format);
    respond_with(&state, &visit.cv, key, &headers, async || {
        let _turn = preview_image::DRAWING
            .acquire()
            .await
            .map_err(anyhow::Error::from)?;
        let document = visible_document(&state, &visit.cv).await?;
        let username = username.clone();
        let drawn = tokio::task::spawn_blocking(move || {
            let resume = Resume::from_document(&document);
            let card = PreviewCard {
                name: &display_name(&resume, &username),
                label: resume.basics.label.as_str(),
                address: &address,
                theme,
            };
            card.png()
        });
        Ok(drawn.await.map_err(anyhow::Error::from)??)
    })
    .await
}

#[derive(Deserialize)]
struct PdfQuery {
    paper: Option<String>,
}

/// How long a visitor turned away by the PDF printer should wait.
const PRINTER_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The page printed to PDF: A4 unless `?paper=letter`; any other paper is a 400, so a mistyped
/// link says so rather than quietly printing A4. Printed once per version, theme, hidden fields
/// and paper, then read from memory or the database; a printer that is busy or failing is a 503
/// with `Retry-After`, never a 500. Shown in the browser, saved as `<username>.pdf`. Downloads
/// are counted, the obvious bots' left out.
async fn resume_pdf(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<PdfQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(paper) = Paper::parse(query.paper.as_deref()) else {
        let message = "The paper may be a4 (the default) or letter.";
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Unknown paper size",
            message,
        ));
    };
    let cv = &visit.cv;
    let theme = visit.theme();
    let key = RenderKey::new(cv, Format::Pdf { theme, paper });
    let links = visit.links(&state);
    let username = &visit.host.label;
    let mut response = respond_with(&state, cv, key, &headers, async || {
        // Its name in the database, needed only when memory holds no copy.
        let stored_name = RenderKey::new(cv, Format::Pdf { theme, paper }).stored_name();
        stored_or_printed(&state, cv, &stored_name, (theme, paper), |resume, css| {
            CvPage::new(resume, theme, username, &visit.address, &links)
                .for_print(username, css)
                .render()
        })
        .await
    })
    .await?;
    if method == Method::GET && response.status() == StatusCode::OK {
        visit.count(&state, &headers, Took::Pdf).await?;
    }
    let file = format!("inline; filename=\"{username}.pdf\"");
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&file)?);
    Ok(response)
}

/// The kept PDF of this version, else one printed now from `html` and kept.
async fn stored_or_printed(
    state: &AppState,
    cv: &PublishedCv,
    name: &str,
    (theme, paper): (Theme, Paper),
    html: impl FnOnce(&Resume, String) -> Result<String, askama::Error>,
) -> Result<Vec<u8>, AppError> {
    if let Some(pdf) = cv_pdfs::stored(&state.db, cv, name).await? {
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
    Ok(cv_pdfs::keep(&state.db, cv, name, &pdf).await?)
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
