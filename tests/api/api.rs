//! The JSON API under /api: bearer tokens, every route, and its problem+json errors.

use reqwest::{Method, Response, StatusCode, header};
use serde_json::json;
use txtcv::domain::{CvSlug, CvTitle};

use crate::helpers::{TestApp, body, header_text, json, small_cv, spawn_app, spawn_app_with};

async fn send(request: reqwest::RequestBuilder) -> Response {
    request.send().await.expect("request is sent")
}

/// Asserts `response` is a problem document with `status`, and returns it.
async fn problem(response: Response, status: StatusCode) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        header_text(&response, "content-type"),
        "application/problem+json"
    );
    let problem = json(response).await;
    assert_eq!(problem["status"], status.as_u16());
    assert!(
        problem["title"].is_string() && problem["detail"].is_string(),
        "{problem}"
    );
    assert!(problem["type"].is_string(), "{problem}");
    problem
}

/// Ada, with a saved primary CV and a token of `scope`: (the CV's id, the token).
async fn ada_with_cv(app: &TestApp, scope: &str) -> (uuid::Uuid, String) {
    let (_, token) = app.user_with_token("ada", scope).await;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    (app.primary_cv_id("ada").await, token)
}

fn patch(
    app: &TestApp,
    id: uuid::Uuid,
    token: &str,
    contents: serde_json::Value,
) -> reqwest::RequestBuilder {
    app.api(Method::PATCH, &format!("/api/cv/{id}"), Some(token))
        .json(&json!({ "contents": contents }))
}

#[tokio::test]
async fn a_token_lists_its_owners_cvs() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "read").await;

    let response = send(app.api(Method::GET, "/api/cv", Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = json(response).await;
    let cv = &list[0];
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(cv["id"], id.to_string());
    assert_eq!(cv["slug"], "cv");
    assert_eq!(cv["title"], "My CV");
    assert_eq!(cv["primary"], true);
    assert_eq!(cv["published"], false);
    assert!(cv["updated_at"].as_str().unwrap().contains('T'));
    assert_eq!(
        cv["public_url"],
        format!(
            "http://ada.{}:{}/",
            app.settings.server.base_domain, app.port
        )
    );
}

#[tokio::test]
async fn a_token_reads_one_cv_with_its_contents() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "read").await;

    let response = send(app.api(Method::GET, &format!("/api/cv/{id}"), Some(&token))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cv = json(response).await;
    assert_eq!(cv["contents"], small_cv("Ada Lovelace"));
    assert_eq!(cv["version"], 1);
}

#[tokio::test]
async fn a_write_token_saves_a_new_version_and_an_unchanged_document_saves_none() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;

    let response = send(patch(&app, id, &token, small_cv("Ada King"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cv = json(response).await;
    assert_eq!(
        (cv["version"].clone(), cv["changed"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(cv["contents"]["basics"]["name"], "Ada King");

    let response = send(patch(&app, id, &token, small_cv("Ada King"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cv = json(response).await;
    assert_eq!(
        (cv["version"].clone(), cv["changed"].clone()),
        (json!(2), json!(false))
    );
    assert_eq!(app.version_count(id).await, 2);
}

#[tokio::test]
async fn a_schema_error_is_422_with_its_pointer_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;
    let mut bad = small_cv("Ada");
    bad["basics"]["email"] = json!(42);
    bad["work"][0]["startDate"] = json!("March 2021");

    let problem = problem(
        send(patch(&app, id, &token, bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let pointers: Vec<&str> = problem["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/contents/basics/email"), "{problem}");
    assert!(
        pointers.contains(&"/contents/work/0/startDate"),
        "{problem}"
    );
    assert!(problem["problems"][0]["message"].is_string());
    assert_eq!(app.version_count(id).await, 1, "nothing saved");
}

/// Every API route, each with a body it would accept, carrying `token` if any.
fn every_route(app: &TestApp, id: uuid::Uuid, token: Option<&str>) -> Vec<reqwest::RequestBuilder> {
    let new_cv = json!({"title": "Research", "slug": "research"});
    vec![
        app.api(Method::GET, "/api/cv", token),
        app.api(Method::GET, &format!("/api/cv/{id}"), token),
        app.api(Method::PATCH, &format!("/api/cv/{id}"), token)
            .json(&json!({"contents": small_cv("Mallory")})),
        app.api(Method::POST, "/api/cv", token).json(&new_cv),
        app.api(Method::POST, &format!("/api/cv/{id}/publish"), token),
        app.api(Method::POST, &format!("/api/cv/{id}/unpublish"), token),
    ]
}

/// Every route refuses the request with 401 and a bearer challenge, and nothing changes.
async fn every_route_is_401(app: &TestApp, id: uuid::Uuid, token: Option<&str>) {
    for request in every_route(app, id, token) {
        let response = send(request).await;
        assert_eq!(header_text(&response, "www-authenticate"), "Bearer");
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(app.version_count(id).await, 1);
    let cvs: i64 = sqlx::query_scalar("select count(*) from cvs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(cvs, 1, "no CV was created");
}

#[tokio::test]
async fn no_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let (id, _) = ada_with_cv(&app, "write").await;
    every_route_is_401(&app, id, None).await;
}

#[tokio::test]
async fn a_bad_token_is_401() {
    let app = spawn_app().await;
    let (id, _) = ada_with_cv(&app, "write").await;
    let unknown = format!("txtcv_pat_{}", "0".repeat(64));
    for token in ["nonsense", unknown.as_str()] {
        every_route_is_401(&app, id, Some(token)).await;
    }
}

/// Ada's write token after `sql` ran: every route refuses it.
async fn refused_after(sql: &'static str) {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;
    sqlx::query(sql).execute(&app.db).await.unwrap();
    every_route_is_401(&app, id, Some(&token)).await;
}

#[tokio::test]
async fn a_revoked_token_is_401() {
    refused_after("update access_tokens set revoked_at = now()").await;
}

#[tokio::test]
async fn an_expired_token_is_401() {
    refused_after("update access_tokens set expires_at = now() - interval '1 second'").await;
}

#[tokio::test]
async fn a_suspended_accounts_token_is_401() {
    refused_after("update users set status = 'suspended' where username = 'ada'").await;
}

#[tokio::test]
async fn a_deleted_accounts_token_is_401() {
    let app = spawn_app().await;
    let (_, token) = ada_with_cv(&app, "write").await;
    sqlx::query("delete from users where username = 'ada'")
        .execute(&app.db)
        .await
        .unwrap();
    let response = send(app.api(Method::GET, "/api/cv", Some(&token))).await;
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_read_token_may_look_but_not_write() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "read").await;
    let mut routes = every_route(&app, id, Some(&token)).into_iter();
    for read in routes.by_ref().take(2) {
        assert_eq!(send(read).await.status(), StatusCode::OK);
    }
    for write in routes {
        problem(send(write).await, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(app.version_count(id).await, 1);
}

#[tokio::test]
async fn another_users_cv_is_the_same_404_as_an_unknown_one() {
    let app = spawn_app().await;
    let (ada_cv, _) = ada_with_cv(&app, "write").await;
    let (_, bob_token) = app.user_with_token("bob", "write").await;

    for id in [
        ada_cv.to_string(),
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".into(),
    ] {
        let get = app.api(Method::GET, &format!("/api/cv/{id}"), Some(&bob_token));
        let unknown = problem(send(get).await, StatusCode::NOT_FOUND).await;
        let write = app
            .api(Method::PATCH, &format!("/api/cv/{id}"), Some(&bob_token))
            .json(&json!({"contents": small_cv("Bob")}));
        problem(send(write).await, StatusCode::NOT_FOUND).await;
        let publish = app.api(
            Method::POST,
            &format!("/api/cv/{id}/publish"),
            Some(&bob_token),
        );
        let other = problem(send(publish).await, StatusCode::NOT_FOUND).await;
        assert_eq!(unknown["detail"], other["detail"]);
    }
    assert_eq!(app.version_count(ada_cv).await, 1);
    let list = json(send(app.api(Method::GET, "/api/cv", Some(&bob_token))).await).await;
    assert!(!list.to_string().contains(&ada_cv.to_string()));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_and_one_not_declared_json_is_415() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;
    let path = format!("/api/cv/{id}");

    let broken = app
        .api(Method::PATCH, &path, Some(&token))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"contents\": {");
    problem(send(broken).await, StatusCode::BAD_REQUEST).await;

    let text = app
        .api(Method::PATCH, &path, Some(&token))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({"contents": small_cv("Ada")}).to_string());
    problem(send(text).await, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(app.version_count(id).await, 1);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;
    let mut huge = small_cv("Ada");
    huge["basics"]["summary"] = json!("x".repeat(app.settings.server.body_limit_bytes + 1));

    let response = send(patch(&app, id, &token, huge)).await;
    problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(app.version_count(id).await, 1);
}

#[tokio::test]
async fn a_token_over_its_rate_limit_is_429_with_retry_after() {
    let app = spawn_app_with(|settings| settings.api.requests_per_minute = 3).await;
    let (_, token) = app.user_with_token("ada", "read").await;
    for _ in 0..3 {
        let response = send(app.api(Method::GET, "/api/cv", Some(&token))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = send(app.api(Method::GET, "/api/cv", Some(&token))).await;
    let wait: u64 = header_text(&response, "retry-after")
        .parse()
        .expect("Retry-After is seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    problem(response, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn a_session_cookie_alone_opens_nothing_on_the_api() {
    let app = spawn_app().await;
    let (ada, _) = app.user_with_token("ada", "write").await;
    let response = app.get(&ada, "/api/cv").await;
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_token_creates_a_cv_with_a_first_version_and_publishes_it() {
    let app = spawn_app().await;
    let (_, token) = ada_with_cv(&app, "write").await;

    let create = app
        .api(Method::POST, "/api/cv", Some(&token))
        .json(&json!({"title": "Research", "slug": "research", "contents": small_cv("Dr Ada")}));
    let response = send(create).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cv = json(response).await;
    assert_eq!(
        (cv["slug"].clone(), cv["primary"].clone()),
        (json!("research"), json!(false))
    );
    assert_eq!(cv["version"], 1);
    assert!(cv["public_url"].as_str().unwrap().ends_with("/research"));
    let id = cv["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );

    let publish = app.api(Method::POST, &format!("/api/cv/{id}/publish"), Some(&token));
    let published = json(send(publish).await).await;
    assert_eq!(published["published"], true);
    let page = app.get_cv("ada", "/research").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body(page).await.contains("Dr Ada"));

    let unpublish = app.api(
        Method::POST,
        &format!("/api/cv/{id}/unpublish"),
        Some(&token),
    );
    assert_eq!(json(send(unpublish).await).await["published"], false);
    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_cv_without_a_version_cannot_be_published() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("ada", "write").await;
    let create = app
        .api(Method::POST, "/api/cv", Some(&token))
        .json(&json!({"title": "Empty", "slug": "empty"}));
    let id = json(send(create).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let publish = app.api(Method::POST, &format!("/api/cv/{id}/publish"), Some(&token));
    problem(send(publish).await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn a_bad_slug_a_taken_slug_and_the_cap_are_refused() {
    let app = spawn_app_with(|settings| settings.cvs.max_per_account = 2).await;
    let (_, token) = ada_with_cv(&app, "write").await;
    let create = |title: &str, slug: &str| {
        app.api(Method::POST, "/api/cv", Some(&token))
            .json(&json!({"title": title, "slug": slug}))
    };

    let bad = problem(
        send(create("", "Not A Slug")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let pointers = bad["problems"].to_string();
    assert!(
        pointers.contains("/slug") && pointers.contains("/title"),
        "{bad}"
    );
    // Well formed, but in conflict with the CV called `cv`.
    let taken = problem(send(create("Again", "cv")).await, StatusCode::CONFLICT).await;
    assert_eq!(taken["problems"][0]["pointer"], "/slug");

    assert_eq!(
        send(create("Research", "research")).await.status(),
        StatusCode::CREATED
    );
    let full = problem(send(create("German", "de")).await, StatusCode::CONFLICT).await;
    assert!(full["detail"].as_str().unwrap().contains("2 CVs"), "{full}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let response = send(app.api(Method::GET, "/api/openapi.json", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let document = json(response).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    let paths = &document["paths"];
    for (path, method) in [
        ("/api/cv", "get"),
        ("/api/cv", "post"),
        ("/api/cv/{id}", "get"),
        ("/api/cv/{id}", "patch"),
        ("/api/cv/{id}/publish", "post"),
        ("/api/cv/{id}/unpublish", "post"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is described"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// A body valid under the document is not refused for its shape: the rules the server enforces
/// on a new CV's title and slug are in the document too.
#[tokio::test]
async fn the_openapi_document_states_the_rules_for_a_new_cv() {
    let app = spawn_app().await;
    let document = json(send(app.api(Method::GET, "/api/openapi.json", None)).await).await;
    let schema = json!({
        "$ref": "#/components/schemas/NewCv",
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for refused in [
        json!({"title": "", "slug": "main"}),
        json!({"title": "   ", "slug": "main"}),
        json!({"title": "a\0b", "slug": "main"}),
        json!({"title": "two\nlines", "slug": "main"}),
        json!({"title": "x".repeat(101), "slug": "main"}),
        json!({"title": "Main", "slug": ""}),
        json!({"title": "Main", "slug": "Main CV"}),
        json!({"title": "Main", "slug": "x".repeat(41)}),
        json!({"title": "Main", "slug": "api"}),
        json!({"title": "Main", "slug": " static "}),
        json!({"title": "Main", "slug": "main", "contents": []}),
        json!({"title": "Main", "slug": "main", "contents": {"basics": {"name": "a\u{7}"}}}),
    ] {
        assert!(
            !validator.is_valid(&refused),
            "{refused} is refused by the document"
        );
    }
    // Titles and slugs are trimmed before they are checked.
    for accepted in [
        json!({"title": "Main CV", "slug": "main-2026"}),
        json!({"title": format!(" {} ", "x".repeat(100)), "slug": " main\n"}),
        json!({"title": "Main", "slug": "apis", "contents": null}),
        json!({"title": "Main", "slug": "main", "contents": {"basics": {"name": "Ada"}}}),
    ] {
        assert!(validator.is_valid(&accepted), "{accepted} is valid");
        let text = |field: &str| accepted[field].as_str().unwrap().to_owned();
        assert!(
            CvTitle::parse(&text("title")).is_ok() && CvSlug::parse(&text("slug")).is_ok(),
            "{accepted} passes the server's checks"
        );
    }
}

// ---------- The txtcv CLI (crates.io, 0.4.0), request for request ----------

/// The headers txtcv 0.4.0 sends (ureq 3.1.4 underneath), as captured from the binary against a
/// listening socket: `txtcv auth check` is `GET /` with these, and `txtcv publish` adds
/// `content-type: application/json; charset=utf-8` and the body `{"contents": …}`.
fn as_the_cli_sends(request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    request
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::USER_AGENT, "ureq/3.1.4")
        .header(header::ACCEPT, "*/*")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
}

#[tokio::test]
async fn the_cli_publishes_with_patch_and_a_bearer_token() {
    let app = spawn_app().await;
    let (id, token) = ada_with_cv(&app, "write").await;
    let request = crate::helpers::client()
        .patch(app.url(&format!("/api/cv/{id}")))
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(
            serde_json::to_string_pretty(&json!({"contents": small_cv("Ada from the CLI")}))
                .unwrap(),
        );

    let response = send(as_the_cli_sends(request, &token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.version_count(id).await, 2);
}

#[tokio::test]
async fn the_clis_auth_check_gets_2xx_for_a_good_token_and_401_for_a_bad_one() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("ada", "read").await;
    let check = |token: &str| as_the_cli_sends(crate::helpers::client().get(app.url("/")), token);

    let good = send(check(&token)).await;
    assert_eq!(good.status(), StatusCode::OK);
    let bad = send(check("txtcv_pat_wrong")).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header_text(&bad, "www-authenticate"), "Bearer");

    let plain = app.get(&crate::helpers::client(), "/").await;
    assert_eq!(
        plain.status(),
        StatusCode::OK,
        "without the header nothing changes"
    );
}

#[tokio::test]
async fn a_burst_of_patches_past_the_hourly_save_rate_is_429_with_retry_after() {
    let app = spawn_app_with(|settings| settings.resume.saves_per_hour = 3).await;
    let (ada, token) = app.user_with_token("ada", "write").await;
    app.save_cv_directly("ada", &small_cv("Ada Lovelace")).await;
    let id = app.primary_cv_id("ada").await;

    let patches = (1..=8).map(|n| send(patch(&app, id, &token, small_cv(&format!("Ada {n}")))));
    let responses = futures::future::join_all(patches).await;
    let mut refused = 0;
    for response in responses {
        if response.status() == StatusCode::OK {
            continue;
        }
        refused += 1;
        let retry_after: u64 = header_text(&response, "retry-after").parse().unwrap();
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
        let problem = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("saved 3 times in the last hour"),
            "{detail}"
        );
    }
    assert_eq!(refused, 5);
    assert_eq!(app.version_count(id).await, 1 + 3);

    let editor = app
        .save_cv(&ada, &small_cv("Ada, by hand").to_string())
        .await;
    assert_eq!(
        editor.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the editor and the API share the rate"
    );
}
