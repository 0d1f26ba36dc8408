//! A NUL byte, or another control character, wherever a person can type: every field of every
//! form, every query parameter and path segment, every property of the API. PostgreSQL cannot
//! store a NUL, so each must be refused (or be harmless) before it gets that far: never a 5xx.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, small_cv, spawn_app};

const NUL: &str = "a\0b";

/// A form as its page sends it, with plausible values for every field.
struct Form {
    path: String,
    fields: Vec<(&'static str, String)>,
}

fn form(path: impl Into<String>, fields: &[(&'static str, &str)]) -> Form {
    Form {
        path: path.into(),
        fields: fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
    }
}

/// Sends `form` once per field, with that field holding `bad`; none may be a server error.
async fn each_field_holding(app: &TestApp, client: &Client, form: &Form, bad: &str) {
    for (index, (field, _)) in form.fields.iter().enumerate() {
        let mut fields = form.fields.clone();
        fields[index].1 = bad.to_owned();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let status = app.post_form(client, &form.path, &pairs).await.status();
        assert!(
            !status.is_server_error(),
            "POST {} with {field} = {bad:?}: {status}",
            form.path
        );
    }
}

async fn no_get_is_a_server_error(app: &TestApp, client: &Client, paths: &[String]) {
    for path in paths {
        let status = app.get(client, path).await.status();
        assert!(!status.is_server_error(), "GET {path}: {status}");
    }
}

/// The forms a member fills in, on their own CV, letter and token.
fn member_forms(cv: &str) -> Vec<Form> {
    let reauth = [("password", PASSWORD), ("code", "123456")];
    let with_reauth = |path: &str, fields: &[(&'static str, &str)]| {
        let mut all = fields.to_vec();
        all.extend(reauth);
        form(path, &all)
    };
    vec![
        form(
            "/cover-letters",
            &[
                ("job_description", "Rust engineer"),
                ("company", "Acme"),
                ("job_title", "Engineer"),
                ("cv", cv),
            ],
        ),
        form("/cvs", &[("title", "Research"), ("slug", "research")]),
        form(
            format!("/cvs/{cv}/details"),
            &[("title", "Main"), ("slug", "main")],
        ),
        form("/resume", &[("json", r#"{"basics": {"name": "Ada"}}"#)]),
        form(
            "/resume/settings",
            &[("theme", "classic"), ("hidden", "email")],
        ),
        form("/resume/versions/1/restore", &[]),
        with_reauth(
            "/settings/tokens",
            &[("name", "CI"), ("scope", "read"), ("expires_in_days", "30")],
        ),
        form(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("code", "123456"),
            ],
        ),
        with_reauth("/settings/email", &[("email", "new@example.org")]),
        with_reauth("/settings/two-factor/start", &[]),
        form("/settings/two-factor/confirm", &[("code", "123456")]),
        form("/report/ada", &[("category", "spam"), ("details", "Spam")]),
        form(
            "/report/ada/main",
            &[("category", "spam"), ("details", "Spam")],
        ),
        form(
            format!("/cvs/{cv}/share-links"),
            &[("label", "Acme"), ("expires_in_days", "30")],
        ),
        with_reauth("/settings/passkeys/new", &[("name", "Laptop")]),
        form("/settings/passkeys/register", &[("credential", "{}")]),
        form(
            format!("/settings/passkeys/{}/rename", uuid::Uuid::nil()),
            &[("name", "Phone")],
        ),
        // Last: with a successor it cannot use, it may still delete the CV.
        form(format!("/cvs/{cv}/delete"), &[("successor", cv)]),
    ]
}

fn anonymous_forms() -> Vec<Form> {
    vec![
        form(
            "/signup",
            &[
                ("username", "newcomer"),
                ("email", "newcomer@example.org"),
                ("password", PASSWORD),
            ],
        ),
        form(
            "/login",
            &[("login", "ada"), ("password", PASSWORD), ("next", "/")],
        ),
        form("/password/forgot", &[("email", "ada@example.org")]),
        form(
            format!("/password/reset/{}", "0".repeat(64)),
            &[("new_password", "another long passphrase")],
        ),
        form("/login/two-factor", &[("code", "123456")]),
        form("/login/passkey", &[("credential", "{}")]),
        form("/auth/github/signup", &[("username", "ada-gh")]),
    ]
}

fn admin_forms() -> Vec<Form> {
    vec![
        form("/admin/accounts/ada/suspend", &[("reason", "Spam")]),
        form(
            format!("/admin/reports/{}/resolve", uuid::Uuid::nil()),
            &[("action", "dismiss"), ("note", "Fine")],
        ),
        form("/admin/accounts/nobody/delete", &[("confirm", "nobody")]),
    ]
}

/// Every path and query a person can type into the address bar, with `bad` in each place.
fn odd_addresses(bad: &str) -> Vec<String> {
    let bad = urlencoding(bad);
    [
        "/admin/accounts?q={}",
        "/admin/accounts?status={}",
        "/admin/accounts?page={}",
        "/admin/accounts/{}",
        "/admin/audit?admin={}&target={}",
        "/admin/audit?page={}",
        "/admin/reports?page={}",
        "/report/{}",
        "/report/ada/{}",
        "/cvs/{}/details",
        "/cover-letters/{}",
        "/resume/versions/{}",
        "/password/reset/{}",
        "/email/confirm/{}",
        "/login?next={}",
    ]
    .iter()
    .map(|path| path.replace("{}", &bad))
    .collect()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_nul_in_any_form_field_or_address_is_never_a_server_error() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.save_cv(&ada, &small_cv("Ada").to_string()).await;
    let cv = app.primary_cv_id("ada").await.to_string();
    let root = app.admin("grace").await;
    for bad in [NUL, "\u{1b}[31m", "line\nbreak"] {
        for form in member_forms(&cv) {
            each_field_holding(&app, &ada, &form, bad).await;
        }
        for form in anonymous_forms() {
            each_field_holding(&app, &crate::helpers::client(), &form, bad).await;
        }
        for form in admin_forms() {
            each_field_holding(&app, &root, &form, bad).await;
        }
        no_get_is_a_server_error(&app, &root, &odd_addresses(bad)).await;
        let bad = urlencoding(bad);
        let cv_pages = [
            format!("/{bad}"),
            format!("/{bad}/resume.json"),
            format!("/{bad}/resume.pdf"),
            format!("/{bad}/og.png"),
            format!("/s/{bad}"),
            format!("/s/{bad}/resume.pdf"),
        ];
        for path in cv_pages {
            let status = app.get_cv("ada", &path).await.status();
            assert!(!status.is_server_error(), "CV host {path}: {status}");
        }
    }
}

#[tokio::test]
async fn control_characters_in_free_text_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    let refused = app
        .post_form(&ada, "/cvs", &[("title", NUL), ("slug", "research")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("control character"), "{page}");
    assert!(
        page.contains(r#"value="research""#),
        "what was typed is kept"
    );
}

/// The API's properties, each holding a NUL in turn, on a token that may write.
#[tokio::test]
async fn a_nul_in_any_api_property_is_a_problem_naming_it() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("ada", "write").await;
    let created = json!({"title": "Main", "slug": "main", "contents": small_cv("Ada")});
    for pointer in ["/title", "/slug", "/contents/basics/name"] {
        let mut body = created.clone();
        *body.pointer_mut(pointer).unwrap() = Value::String(NUL.into());
        let response = app
            .api(Method::POST, "/api/cv", Some(&token))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{pointer}"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem
                .to_string()
                .contains(pointer.trim_start_matches("/contents")),
            "{pointer}: {problem}"
        );
    }
    let id = app.primary_cv_id("ada").await;
    let update = json!({"contents": {"basics": {"name": NUL}}});
    let response = app
        .api(Method::PATCH, &format!("/api/cv/{id}"), Some(&token))
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
