use reqwest::StatusCode;

use crate::helpers::{PASSWORD, body, client, spawn_app};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/login",
        "/no-such-page",
        "/healthz",
        "/static/style.css",
    ] {
        let response = app.get(&client(), path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        let app_page = !path.starts_with("/healthz") && !path.starts_with("/static");
        assert_eq!(headers.contains_key("x-request-id"), app_page, "{path}");
    }
}

#[tokio::test]
async fn public_cv_pages_carry_the_security_headers_too() {
    let app = spawn_app().await;
    app.published_user("ada", &crate::helpers::small_cv("Ada"))
        .await;
    for path in ["/", "/resume.json", "/no-such-cv"] {
        let response = app.cv_request("ada", path).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn unknown_pages_get_a_real_not_found_page() {
    let app = spawn_app().await;
    let response = app.get(&client(), "/no-such-page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body(response).await.contains("Page not found"));
}

async fn login_from(app: &crate::helpers::TestApp, headers: &[(&str, String)]) -> StatusCode {
    let mut request = client()
        .post(app.url("/login"))
        .form(&[("login", "ada"), ("password", PASSWORD)]);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let cv_origin = format!("http://{}", app.cv_host("alice"));

    let refused = [
        vec![("origin", "http://evil.example".to_owned())],
        vec![("origin", cv_origin.clone())],
        vec![("origin", "null".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![
            ("sec-fetch-site", "same-site".to_owned()),
            ("origin", cv_origin),
        ],
    ];
    for headers in refused {
        assert_eq!(
            login_from(&app, &headers).await,
            StatusCode::FORBIDDEN,
            "{headers:?}"
        );
    }
    let users_sessions: i64 =
        sqlx::query_scalar("select count(*) from sessions where user_id is not null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(users_sessions, 1, "only the signup's session exists");
}

#[tokio::test]
async fn same_origin_and_non_browser_posts_pass() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let own_origin = format!("http://localhost:{}", app.port);

    for headers in [
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("sec-fetch-site", "none".to_owned())],
        vec![("origin", own_origin)],
        vec![],
    ] {
        assert_eq!(
            login_from(&app, &headers).await,
            StatusCode::SEE_OTHER,
            "{headers:?}"
        );
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(app.settings.server.body_limit_bytes + 1);
    let response = app.signup(&client(), "ada", "ada@example.org", &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Host-header injection and DNS rebinding: a name that is neither the app's nor a CV host's
/// reaches nothing but the health checks, which load balancers call by address.
#[tokio::test]
async fn a_host_we_do_not_serve_is_421() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let port = app.port;
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("a.b.localhost:{port}"),
        format!("localhost:{port}x"),
    ] {
        for path in ["/", "/login", "/dashboard", "/api/cv"] {
            let response = client()
                .get(app.url(path))
                .header(reqwest::header::HOST, &host)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "{host}{path}"
            );
            assert!(body(response).await.contains("answers only to localhost"));
        }
    }
    let health = client()
        .get(app.url("/healthz"))
        .header(reqwest::header::HOST, format!("10.0.0.7:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let own = client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(
        own.status(),
        StatusCode::OK,
        "the app's own name still works"
    );
}
