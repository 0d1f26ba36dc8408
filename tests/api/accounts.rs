use reqwest::StatusCode;

use crate::helpers::{
    PASSWORD, body, client, cookie_pair, location, session_cookie, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn a_visitor_signs_up_and_lands_on_their_dashboard() {
    let app = spawn_app().await;
    let ada = client();

    let response = app.signup(&ada, "Ada", "ada@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard");

    let dashboard = app.get(&ada, "/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    let page = body(dashboard).await;
    assert!(
        page.contains("Hello, ada"),
        "the username is case-folded: {page}"
    );
    assert!(
        page.contains("Welcome to txtcv"),
        "a flash greets the new user"
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let hash: String = sqlx::query_scalar("select password_hash from users where username = 'ada'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn a_taken_username_is_refused_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let response = app
        .signup(&client(), "ADA", "other@example.org", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("That username is taken"));
    assert!(
        page.contains(r#"value="ADA""#),
        "the username stays in the form"
    );
    assert!(
        page.contains(r#"value="other@example.org""#),
        "the email stays in the form"
    );
}

#[tokio::test]
async fn a_taken_email_is_refused_whatever_its_case() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let response = app
        .signup(&client(), "ada2", "ADA@example.org", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body(response)
            .await
            .contains("An account with this email already exists")
    );
}

#[tokio::test]
async fn reserved_and_malformed_usernames_are_refused() {
    let app = spawn_app().await;
    for (name, message) in [
        ("www", "reserved"),
        ("admin", "reserved"),
        ("a", "3 to 30 characters"),
        ("-ada", "hyphen"),
        ("ada_l", "letters a–z, digits and hyphens"),
    ] {
        let response = app.signup(&client(), name, "x@example.org", PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        assert!(body(response).await.contains(message), "{name}: {message}");
    }
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn short_and_common_passwords_are_refused_with_every_problem_shown() {
    let app = spawn_app().await;

    let response = app.signup(&client(), "ada", "not-an-email", "short").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("at least 8 characters"));
    assert!(page.contains("valid email address"));

    let response = app
        .signup(&client(), "ada", "ada@example.org", "Password123")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(response).await.contains("most common"));
}

#[tokio::test]
async fn a_user_logs_in_with_username_or_email_and_is_sent_where_they_were_going() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let by_name = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(by_name.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&by_name), "/dashboard");

    let browser = client();
    let form = [
        ("login", "ADA@example.org"),
        ("password", PASSWORD),
        ("next", "/dashboard?tab=cv"),
    ];
    let by_email = app.post_form(&browser, "/login", &form).await;
    assert_eq!(location(&by_email), "/dashboard?tab=cv");
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn next_cannot_send_a_user_to_another_site() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let form = [("login", "ada"), ("password", PASSWORD), ("next", next)];
        let response = app.post_form(&client(), "/login", &form).await;
        assert_eq!(location(&response), "/dashboard", "{next}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let wrong_password = app.login(&client(), "ada", "not the password").await;
    let unknown_user = app.login(&client(), "nobody", "not the password").await;

    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_user.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (a, b) = (body(wrong_password).await, body(unknown_user).await);
    assert!(a.contains("Wrong username or password."));
    assert_eq!(
        a.replace("value=\"ada\"", ""),
        b.replace("value=\"nobody\"", "")
    );
}

#[tokio::test]
async fn repeated_login_failures_are_throttled_per_account() {
    let app = spawn_app_with(|s| s.auth.max_login_failures = 3).await;
    app.signed_up("ada").await;
    for _ in 0..3 {
        let response = app.login(&client(), "ada", "wrong password!").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    let throttled = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(
        throttled.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(body(throttled).await.contains("Too many failed attempts"));
}

#[tokio::test]
async fn repeated_login_failures_are_throttled_per_address_across_accounts() {
    let app = spawn_app_with(|s| s.auth.max_login_failures = 3).await;
    for name in ["one", "two", "three"] {
        app.login(&client(), name, "wrong password!").await;
    }
    let response = app.login(&client(), "four", "wrong password!").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn signups_are_throttled_per_address() {
    let app = spawn_app_with(|s| s.auth.max_signups = 2).await;
    app.signed_up("one").await;
    app.signed_up("two").await;
    let response = app
        .signup(&client(), "three", "three@example.org", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_dashboard_sends_anonymous_visitors_to_log_in() {
    let app = spawn_app().await;
    let response = app.get(&client(), "/dashboard").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=/dashboard");
}

#[tokio::test]
async fn the_session_cookie_is_host_only_http_only_and_lax() {
    let app = spawn_app().await;
    let response = app
        .signup(&client(), "ada", "ada@example.org", PASSWORD)
        .await;
    let cookie = session_cookie(&response).expect("signup sets the session cookie");
    let attributes = cookie.to_lowercase();
    assert!(attributes.contains("httponly"), "{cookie}");
    assert!(attributes.contains("samesite=lax"), "{cookie}");
    assert!(attributes.contains("path=/"), "{cookie}");
    assert!(
        !attributes.contains("domain="),
        "CV subdomains must never get it: {cookie}"
    );
    assert!(
        !attributes.contains("secure"),
        "plain http in tests: {cookie}"
    );
}

#[tokio::test]
async fn under_https_the_session_cookie_is_a_secure_host_cookie() {
    let app = spawn_app_with(|s| s.server.public_scheme = txtcv::config::Scheme::Https).await;
    let response = app
        .signup(&client(), "ada", "ada@example.org", PASSWORD)
        .await;
    let cookie = session_cookie(&response).expect("signup sets the session cookie");
    assert!(cookie.starts_with("__Host-txtcv_session="), "{cookie}");
    let attributes = cookie.to_lowercase();
    assert!(attributes.contains("; secure"), "{cookie}");
    assert!(attributes.contains("; path=/"), "{cookie}");
    assert!(!attributes.contains("domain="), "{cookie}");
}

#[tokio::test]
async fn logging_in_gives_a_new_session_id() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let browser = client();

    let first = session_cookie(&app.login(&browser, "ada", PASSWORD).await).unwrap();
    let second = session_cookie(&app.login(&browser, "ada", PASSWORD).await).unwrap();

    assert_ne!(cookie_pair(&first), cookie_pair(&second));
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let browser = client();
    let signup = app
        .signup(&browser, "ada", "ada@example.org", PASSWORD)
        .await;
    let old_cookie = cookie_pair(&session_cookie(&signup).unwrap()).to_owned();

    let logout = app.post_form(&browser, "/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&logout), "/");

    // Replaying the old cookie by hand, as a thief would.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = replay
        .get(app.url("/dashboard"))
        .header("cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is worthless"
    );
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}
