//! Abuse reports: from the link on a public CV to an admin's answer.

use reqwest::StatusCode;

use crate::helpers::{body, client, small_cv, spawn_app, spawn_app_with};

fn report_path_in(page: &str) -> String {
    let start = page
        .find("/report/")
        .expect("the page links to the report form");
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

#[tokio::test]
async fn a_report_goes_from_the_public_page_to_an_admins_resolution() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;

    let cv = body(app.get_cv("ada", "/").await).await;
    let path = report_path_in(&cv);
    assert_eq!(path, "/report/ada");
    let visitor = client();
    let form = body(app.get(&visitor, &path).await).await;
    assert!(form.contains("What kind of problem"));
    let sent = app
        .post_form(
            &visitor,
            &path,
            &[("category", "spam"), ("details", "Casino links everywhere")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(body(sent).await.contains("reached our moderators"));

    let list = body(app.get(&root, "/admin/reports").await).await;
    assert!(list.contains("Casino links everywhere"), "{list}");
    let accounts = body(app.get(&root, "/admin/accounts").await).await;
    assert!(
        accounts.contains(r#"<span class="badge badge-failed">1</span>"#),
        "{accounts}"
    );
    let id: uuid::Uuid = sqlx::query_scalar("select id from abuse_reports")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let resolved = app
        .post_form(
            &root,
            &format!("/admin/reports/{id}/resolve"),
            &[("action", "unpublish"), ("note", "gambling spam")],
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::NOT_FOUND);
    assert!(
        !body(app.get(&root, "/admin/reports").await)
            .await
            .contains("Casino")
    );
    let audit = body(app.get(&root, "/admin/audit?admin=grace").await).await;
    assert!(
        audit.contains("unpublish") && audit.contains(&id.to_string()),
        "{audit}"
    );
    let account = body(app.get(&root, "/admin/accounts/ada").await).await;
    assert!(account.contains("unpublish by grace"), "{account}");
}

#[tokio::test]
async fn a_report_can_be_dismissed_leaving_the_account_alone() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    app.post_form(
        &client(),
        "/report/ada",
        &[("category", "other"), ("details", "meh")],
    )
    .await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from abuse_reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.post_form(
        &root,
        &format!("/admin/reports/{id}/resolve"),
        &[("action", "dismiss")],
    )
    .await;
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::OK);
    let body = body(app.get(&root, "/admin/reports").await).await;
    assert!(body.contains("No open reports"), "{body}");
}

#[tokio::test]
async fn only_published_cvs_can_be_reported() {
    let app = spawn_app().await;
    app.signed_up("bob").await;
    for path in ["/report/bob", "/report/nobody"] {
        assert_eq!(
            app.get(&client(), path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let response = app
            .post_form(&client(), path, &[("category", "spam"), ("details", "x")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_report_needs_a_category_and_details() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada")).await;
    let response = app
        .post_form(
            &client(),
            "/report/ada",
            &[("category", "spam"), ("details", " ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .post_form(
            &client(),
            "/report/ada",
            &[("category", "bogus"), ("details", "x")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let count: i64 = sqlx::query_scalar("select count(*) from abuse_reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn reports_are_throttled_per_address() {
    let app = spawn_app_with(|s| s.moderation.max_reports = 2).await;
    app.published_user("ada", &small_cv("Ada")).await;
    let form = [("category", "spam"), ("details", "again")];
    for _ in 0..2 {
        assert_eq!(
            app.post_form(&client(), "/report/ada", &form)
                .await
                .status(),
            StatusCode::OK
        );
    }
    let third = app.post_form(&client(), "/report/ada", &form).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_published_cv_beside_a_private_primary_can_be_reported_and_unpublished_alone() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada")).await;
    app.create_cv(&ada, "Research", "research").await;
    let research = app.cv_id("ada", "research").await;
    let json = small_cv("Dr Ada").to_string();
    app.post_form(&ada, &format!("/cvs/{research}"), &[("json", &json)])
        .await;
    app.post_form(&ada, &format!("/cvs/{research}/publish"), &[])
        .await;
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::NOT_FOUND);

    let page = body(app.get_cv("ada", "/research").await).await;
    let path = report_path_in(&page);
    assert_eq!(path, "/report/ada/research");
    let form = body(app.get(&client(), &path).await).await;
    assert!(form.contains("the CV <strong>research</strong> of <strong>ada</strong>"));
    assert_eq!(
        app.get(&client(), "/report/ada").await.status(),
        StatusCode::NOT_FOUND,
        "the private primary is not reportable"
    );
    let sent = app
        .post_form(
            &client(),
            &path,
            &[
                ("category", "impersonation"),
                ("details", "Not the real Dr Ada"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);

    let list = body(app.get(&root, "/admin/reports").await).await;
    assert!(
        list.contains("About the CV “Research” at /research"),
        "{list}"
    );
    let id: uuid::Uuid = sqlx::query_scalar("select id from abuse_reports")
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.post_form(
        &root,
        &format!("/admin/reports/{id}/resolve"),
        &[("action", "unpublish"), ("note", "impersonation")],
    )
    .await;
    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );
    let published: Vec<bool> = sqlx::query_scalar(
        "select published from cvs where owner_id = $1 order by is_primary desc",
    )
    .bind(app.user_id("ada").await)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(published, [false, false]);
}

#[tokio::test]
async fn unpublishing_on_a_report_takes_down_only_the_cv_it_names() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    let ada = app.signed_up("ada").await;
    app.publish_cv_directly("ada", &small_cv("Ada"), "classic", &[])
        .await;
    app.create_cv(&ada, "Research", "research").await;
    let research = app.cv_id("ada", "research").await;
    let json = small_cv("Dr Ada").to_string();
    app.post_form(&ada, &format!("/cvs/{research}"), &[("json", &json)])
        .await;
    app.post_form(&ada, &format!("/cvs/{research}/publish"), &[])
        .await;
    app.post_form(
        &client(),
        "/report/ada/research",
        &[("category", "spam"), ("details", "Spam in the research CV")],
    )
    .await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from abuse_reports")
        .fetch_one(&app.db)
        .await
        .unwrap();

    app.post_form(
        &root,
        &format!("/admin/reports/{id}/resolve"),
        &[("action", "unpublish"), ("note", "spam")],
    )
    .await;

    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_report_addresses_get_the_not_found_page() {
    let app = spawn_app().await;
    app.published_user("ada", &small_cv("Ada")).await;
    for path in [
        "/report/%00",
        "/report/ada/%00",
        "/report/ada/%E2%80%AE",
        "/report/ada/research/extra",
    ] {
        let response = app.get(&client(), path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let sent = app
            .post_form(&client(), path, &[("category", "spam"), ("details", "x")])
            .await;
        assert_eq!(sent.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
