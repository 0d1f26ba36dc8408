//! The HTTP side: one router per area, merged into the app host's router; CV subdomains get a
//! router of their own, chosen by the `Host` header, and any other host gets `421`.

mod admin;
mod api;
mod auth;
mod client;
mod cover_letters;
mod csrf;
mod current_user;
mod cvs;
mod email_confirmation;
mod error;
mod form;
mod format;
mod github;
mod health;
mod host;
mod layout;
mod pages;
mod passkeys;
mod password_reset;
mod public_cv;
mod qr;
mod reauth;
mod report;
mod resume;
mod security_log;
mod sessions;
mod settings;
mod share_links;
mod tokens;
mod two_factor;

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use axum_login::AuthManagerLayerBuilder;
use tower::ServiceExt;
use tower_http::{
    CompressionLevel,
    compression::{
        CompressionLayer,
        predicate::{And, DefaultPredicate, NotForContentType, Predicate, SizeAbove},
    },
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};

use self::host::Site;
use crate::{
    auth::{Backend, PasswordThrottle},
    config::Scheme,
    state::AppState,
    store::sessions::{AUTH_DATA_KEY, PgSessionStore},
};
pub use error::AppError;
pub use public_cv::{PageViews, RenderedPages};

pub const SESSION_COOKIE: &str = "txtcv_session";
/// The session cookie's name under https. Browsers accept a `__Host-` cookie only when it is
/// `Secure`, has `Path=/` and no `Domain`, so no subdomain (every CV host is one) and no plain-http
/// page can set or overwrite it (ASVS 3.3.1, 3.3.3).
pub const SECURE_SESSION_COOKIE: &str = "__Host-txtcv_session";

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The whole application as one router, ready to serve. Each site has the layers it needs and
/// no more: a public CV is read by anyone at the rate of a static file server, so its requests
/// skip what only the app needs (request ids and their log span, the same-origin check,
/// compression, since its bodies come compressed already).
pub fn router(state: AppState) -> Router {
    let timeout = TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_secs(state.settings.server.request_timeout_secs),
    );
    let sites = Sites {
        app: with_app_layers(app_router(state.clone()), &state).layer(timeout),
        cv: cv_router(state.clone()).layer(timeout),
        base_domain: state.settings.server.base_domain.as_str().into(),
    };
    Router::new()
        .merge(health::router().with_state(state.clone()))
        .nest_service(
            "/static",
            tower::ServiceBuilder::new()
                .layer(compression())
                .service(ServeDir::new(crate::static_dir())),
        )
        .fallback(dispatch_by_host)
        .with_state(sites)
        .layer(security_headers())
}

/// What every request to the app host goes through.
fn with_app_layers(app: Router, state: &AppState) -> Router {
    app.layer(compression())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::same_origin_only,
        ))
        .layer(DefaultBodyLimit::max(
            state.settings.server.body_limit_bytes,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok());
                    tracing::info_span!(
                        "request",
                        id = id.unwrap_or_default(),
                        method = %request.method(),
                        path = request.uri().path(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// gzip or brotli, as the browser prefers, for bodies big enough to gain from it: pages, the
/// stylesheet and scripts, but not a small htmx partial. Public CV pages come gzipped already
/// (compressed once, when rendered), which this layer leaves alone; PDFs are compressed inside,
/// so compressing them again would cost time for nothing.
fn compression() -> CompressionLayer<And<And<DefaultPredicate, SizeAbove>, NotForContentType>> {
    let worth_it = DefaultPredicate::new()
        .and(SizeAbove::new(COMPRESS_ABOVE_BYTES))
        .and(NotForContentType::const_new("application/pdf"));
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .quality(CompressionLevel::Fastest)
        .compress_when(worth_it)
}

/// Below about a kilobyte, compressing saves less than it costs.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

fn security_headers() -> tower::layer::util::Stack<
    SetResponseHeaderLayer<HeaderValue>,
    tower::layer::util::Stack<
        SetResponseHeaderLayer<HeaderValue>,
        SetResponseHeaderLayer<HeaderValue>,
    >,
> {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    tower::layer::util::Stack::new(
        header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        tower::layer::util::Stack::new(
            header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            header(header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        ),
    )
}

#[derive(Clone)]
struct Sites {
    app: Router,
    cv: Router,
    base_domain: std::sync::Arc<str>,
}

async fn dispatch_by_host(State(sites): State<Sites>, mut request: Request) -> Response {
    let router = match host::site(&request, &sites.base_domain) {
        Site::App => sites.app,
        Site::Cv(cv_host) => {
            request.extensions_mut().insert(cv_host);
            sites.cv
        }
        Site::Foreign => return misdirected(&sites.base_domain),
    };
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `421 Misdirected Request`: this server does not answer to that name. Says which one it does,
/// for a developer who opened `127.0.0.1` instead of `localhost`.
fn misdirected(base_domain: &str) -> Response {
    let message = format!(
        "This server answers only to {base_domain} and its CV addresses (<username>.{base_domain}).\n"
    );
    (StatusCode::MISDIRECTED_REQUEST, message).into_response()
}

/// The app host: accounts, the editor, everything behind a login, and the token API. The only
/// host that gets a session cookie (never on `/api`).
fn app_router(state: AppState) -> Router {
    let scheme = state.settings.server.public_scheme;
    let session_days = state.settings.auth.session_days;
    let store = PgSessionStore::with_cache(state.db.clone(), state.caches.sessions.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name(match scheme {
            Scheme::Https => SECURE_SESSION_COOKIE,
            Scheme::Http => SESSION_COOKIE,
        })
        .with_secure(scheme == Scheme::Https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(session_days)));
    let throttle = PasswordThrottle {
        max_failures: state.settings.auth.max_login_failures,
        window: Duration::from_secs(state.settings.auth.throttle_window_secs),
    };
    let backend = Backend::new(
        state.db.clone(),
        state.hasher.clone(),
        state.caches.users.clone(),
        throttle,
    );
    let auth = AuthManagerLayerBuilder::new(backend, sessions)
        .with_data_key(AUTH_DATA_KEY)
        .build();
    let pages = Router::new()
        .merge(pages::router())
        .merge(auth::router())
        .merge(password_reset::router())
        .merge(email_confirmation::router())
        .merge(cover_letters::router())
        .merge(resume::router())
        .merge(admin::router())
        .merge(report::router())
        .merge(settings::router())
        .merge(github::router())
        .merge(passkeys::router())
        .merge(share_links::router())
        .merge(sessions::router())
        .merge(security_log::router())
        .merge(cvs::router())
        .merge(tokens::router())
        .merge(two_factor::router())
        .fallback(not_found)
        .layer(middleware::from_fn(renew_signed_in_session))
        .layer(auth)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::refuse_invalid_bearer,
        ));
    // The API sits beside the pages, outside their session and auth layers: tokens only.
    Router::new()
        .nest("/api", api::router())
        .merge(pages)
        .with_state(state)
}

/// CV subdomains: public pages only, no sessions.
fn cv_router(state: AppState) -> Router {
    Router::new()
        .merge(public_cv::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            public_cv::same_not_found_everywhere,
        ))
        .with_state(state)
}

/// The session key that holds the day a signed-in session was last renewed.
const RENEWED_ON_KEY: &str = "renewed_on";

/// Keeps an active member signed in (the session expires after `auth.session_days` without a
/// visit) while writing the session at most once a day: a page view that changes nothing else
/// leaves the session row and the cookie alone, so it can never write back a session that was
/// ended meanwhile, and costs no write.
async fn renew_signed_in_session(session: Session, request: Request, next: Next) -> Response {
    let signed_in =
        session.id().is_some() && matches!(session.get_value(AUTH_DATA_KEY).await, Ok(Some(_)));
    if signed_in
        && !matches!(session.get::<i32>(RENEWED_ON_KEY).await, Ok(Some(day)) if day == today())
    {
        mark_renewed(&session).await;
    }
    next.run(request).await
}

/// Records that `session` was written today (a sign-in does, too), so the day's page views need
/// not write it again.
async fn mark_renewed(session: &Session) {
    if let Err(error) = session.insert(RENEWED_ON_KEY, today()).await {
        tracing::warn!(%error, "cannot renew a session");
    }
}

fn today() -> i32 {
    time::OffsetDateTime::now_utc().date().to_julian_day()
}

async fn not_found() -> impl IntoResponse {
    error::not_found_page()
}
