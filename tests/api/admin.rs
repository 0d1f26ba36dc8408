//! Moderation: the admin area is invisible to everyone else, and each action does what it says,
//! on the record.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};

use crate::helpers::{PASSWORD, TestApp, body, client, location, small_cv, spawn_app};

async fn reason(
    app: &TestApp,
    admin: &Client,
    username: &str,
    action: &str,
    why: &str,
) -> reqwest::Response {
    app.post_form(
        admin,
        &format!("/admin/accounts/{username}/{action}"),
        &[("reason", why)],
    )
    .await
}

async fn status_of(app: &TestApp, username: &str) -> String {
    sqlx::query_scalar("select status from users where username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_admin_route_is_a_plain_404_to_members_and_anonymous_visitors() {
    let app = spawn_app().await;
    app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    let owner = app.user_id("ada").await;
    let report: uuid::Uuid = sqlx::query_scalar(
        "insert into abuse_reports (target_id, id, category, details)
         values ($1, gen_random_uuid(), 'spam', 'ads') returning id",
    )
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let member = app.signed_up("bob").await;
    let not_found = body(app.get(&client(), "/no-such-page").await).await;

    let gets = [
        "/admin",
        "/admin/",
        "/admin/accounts",
        "/admin/accounts?q=ada&status=active",
        "/admin/accounts/ada",
        "/admin/reports",
        "/admin/audit",
        "/admin/nope",
        "/admin/accounts/ada/nope",
    ];
    let resolve = format!("/admin/reports/{report}/resolve");
    let posts = [
        "/admin/accounts/ada/suspend",
        "/admin/accounts/ada/unsuspend",
        "/admin/accounts/ada/unpublish",
        "/admin/accounts/ada/delete",
        resolve.as_str(),
        "/admin/nope",
    ];
    for (who, visitor) in [("anonymous", client()), ("member", member)] {
        for path in gets {
            let response = app.get(&visitor, path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{who} GET {path}");
            assert_eq!(body(response).await, not_found, "{who} GET {path}");
        }
        for path in posts {
            let form = [
                ("reason", "x"),
                ("confirm", "ada"),
                ("action", "suspend"),
                ("note", "x"),
            ];
            let response = app.post_form(&visitor, path, &form).await;
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{who} POST {path}"
            );
        }
    }
    assert_eq!(status_of(&app, "ada").await, "active");
    assert_eq!(app.rows_owned("cvs", "owner_id", owner).await, 1);
    let open: i64 =
        sqlx::query_scalar("select count(*) from abuse_reports where resolved_at is null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(open, 1, "the report is still open");
}

#[tokio::test]
async fn an_admin_sees_the_admin_link_and_a_member_does_not() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    let member = app.signed_up("bob").await;
    assert!(
        body(app.get(&root, "/dashboard").await)
            .await
            .contains(r#"href="/admin""#)
    );
    assert!(
        !body(app.get(&member, "/dashboard").await)
            .await
            .contains(r#"href="/admin""#)
    );
}

#[tokio::test]
async fn the_accounts_list_searches_and_filters() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    app.signed_up("bob").await;
    sqlx::query("update users set status = 'suspended' where username = 'bob'")
        .execute(&app.db)
        .await
        .unwrap();

    let all = body(app.get(&root, "/admin/accounts").await).await;
    assert!(all.contains("/admin/accounts/ada") && all.contains("/admin/accounts/bob"));
    let search = body(app.get(&root, "/admin/accounts?q=ADA%40example").await).await;
    assert!(search.contains("/admin/accounts/ada") && !search.contains("/admin/accounts/bob"));
    let suspended = body(app.get(&root, "/admin/accounts?status=suspended").await).await;
    assert!(
        !suspended.contains("/admin/accounts/ada") && suspended.contains("/admin/accounts/bob")
    );
    let page = body(app.get(&root, "/admin/accounts/ada").await).await;
    assert!(page.contains("published"), "{page}");
}

#[tokio::test]
async fn suspending_ends_sessions_hides_the_cv_refuses_login_and_unsuspending_restores_it() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    let ada = client();
    app.login(&ada, "ada", PASSWORD).await;
    assert_eq!(app.get(&ada, "/dashboard").await.status(), StatusCode::OK);

    let response = reason(&app, &root, "ada", "suspend", "spam links").await;
    assert_eq!(location(&response), "/admin/accounts/ada");

    let dashboard = app.get(&ada, "/dashboard").await;
    assert_eq!(
        dashboard.status(),
        StatusCode::SEE_OTHER,
        "the old session is over"
    );
    let owner = app.user_id("ada").await;
    assert_eq!(app.rows_owned("sessions", "user_id", owner).await, 0);
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_cv("ada", "/resume.json").await.status(),
        StatusCode::NOT_FOUND
    );
    let login = app.login(&client(), "ada", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert!(body(login).await.contains("suspended"));
    assert_eq!(app.cv_versions("ada").await.len(), 1, "the data is kept");

    app.post_form(&root, "/admin/accounts/ada/unsuspend", &[])
        .await;
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::OK);
    assert_eq!(
        app.get_cv("ada", "/resume.json").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login(&client(), "ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let audit = body(app.get(&root, "/admin/audit?target=ada").await).await;
    assert!(
        audit.contains("suspend") && audit.contains("spam links") && audit.contains("unsuspend")
    );
}

#[tokio::test]
async fn a_suspended_accounts_letters_wait_and_are_written_after_unsuspending() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada")).await;
    let owner = app.user_id("ada").await;
    reason(&app, &root, "ada", "suspend", "checking").await;

    // A letter asked for just before the suspension, whose job runs during it.
    let mut tx = app.db.begin().await.unwrap();
    let letter: uuid::Uuid = sqlx::query_scalar(
        "insert into cover_letters (owner_id, id, cv_id, cv_version, job_description)
         select owner_id, gen_random_uuid(), id, 1, 'Rust engineer' from cvs where owner_id = $1
         returning id",
    )
    .bind(owner)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let job = txtcv::jobs::WriteCoverLetter {
        owner_id: owner,
        letter_id: letter,
    };
    txtcv::jobs::enqueue(&mut tx, &job).await.unwrap();
    tx.commit().await.unwrap();

    let letter_status = || async {
        sqlx::query_scalar::<_, String>("select status from cover_letters where id = $1")
            .bind(letter)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let job_done = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from apalis.jobs where status = 'Done'
             and convert_from(job, 'UTF8')::jsonb ->> 'letter_id' = $1::text",
        )
        .bind(letter)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    wait_for(|| async { job_done().await == 1 }).await;
    assert_eq!(letter_status().await, "pending", "the letter is paused");

    app.post_form(&root, "/admin/accounts/ada/unsuspend", &[])
        .await;
    wait_for(|| async { letter_status().await == "successful" }).await;
}

async fn wait_for<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "the condition never came true");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn unpublishing_hides_the_cv_and_tells_the_owner_why_until_they_publish_again() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    let ada = client();
    app.login(&ada, "ada", PASSWORD).await;

    reason(
        &app,
        &root,
        "ada",
        "unpublish",
        "contains someone else's address",
    )
    .await;
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::NOT_FOUND);
    let dashboard = body(app.get(&ada, "/dashboard").await).await;
    assert!(
        dashboard.contains("contains someone else&#x27;s address")
            || dashboard.contains("contains someone else&#39;s address"),
        "{dashboard}"
    );

    app.post_form(&ada, "/resume/publish", &[]).await;
    assert_eq!(app.get_cv("ada", "/").await.status(), StatusCode::OK);
    assert!(
        !body(app.get(&ada, "/dashboard").await)
            .await
            .contains("someone else")
    );
}

#[tokio::test]
async fn a_reason_is_required_to_suspend() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.signed_up("ada").await;
    reason(&app, &root, "ada", "suspend", "   ").await;
    assert_eq!(status_of(&app, "ada").await, "active");
    let page = body(app.get(&root, "/admin/accounts/ada").await).await;
    assert!(page.contains("cannot be empty"), "{page}");
}

#[tokio::test]
async fn deleting_removes_every_row_the_account_owned_and_keeps_the_audit_entry() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.published_user("ada", &small_cv("Ada")).await;
    let owner = app.user_id("ada").await;
    let ada = client();
    app.login(&ada, "ada", PASSWORD).await;
    app.get_cv("ada", "/").await; // a view count, written in the background
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.rows_owned("cv_daily_views", "owner_id", owner).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the view was never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let letter = app
        .post_form(
            &ada,
            "/cover-letters",
            &[("job_description", "Rust engineer wanted")],
        )
        .await;
    assert_eq!(letter.status(), StatusCode::SEE_OTHER);
    let tables = [
        ("users", "id"),
        ("sessions", "user_id"),
        ("cvs", "owner_id"),
        ("cv_versions", "owner_id"),
        ("cv_daily_views", "owner_id"),
        ("cover_letters", "owner_id"),
        ("cover_letter_generations", "owner_id"),
    ];
    for (table, column) in tables {
        assert!(
            app.rows_owned(table, column, owner).await > 0,
            "{table} has rows before"
        );
    }
    assert!(app.jobs_of(owner).await > 0);

    let wrong = app
        .post_form(&root, "/admin/accounts/ada/delete", &[("confirm", "bob")])
        .await;
    assert_eq!(location(&wrong), "/admin/accounts/ada");
    assert_eq!(
        app.rows_owned("users", "id", owner).await,
        1,
        "a wrong confirmation deletes nothing"
    );

    let response = app
        .post_form(&root, "/admin/accounts/ada/delete", &[("confirm", "ada")])
        .await;
    assert_eq!(location(&response), "/admin/accounts");
    for (table, column) in tables {
        assert_eq!(
            app.rows_owned(table, column, owner).await,
            0,
            "{table} is empty after"
        );
    }
    assert_eq!(app.jobs_of(owner).await, 0);
    let audit = body(app.get(&root, "/admin/audit?target=ada").await).await;
    assert!(
        audit.contains("delete") && audit.contains("grace"),
        "{audit}"
    );
    let refused = sqlx::query("delete from audit_log").execute(&app.db).await;
    assert!(refused.is_err(), "the audit log is append-only");
}

#[tokio::test]
async fn a_deleted_username_cannot_be_registered_again() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    app.signed_up("ada").await;
    app.post_form(&root, "/admin/accounts/ada/delete", &[("confirm", "ada")])
        .await;

    let response = app
        .signup(&client(), "ada", "new-ada@example.org", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body(response)
            .await
            .contains("belonged to a deleted account")
    );
}

#[tokio::test]
async fn an_admin_cannot_suspend_or_delete_themself() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    reason(&app, &root, "grace", "suspend", "oops").await;
    app.post_form(
        &root,
        "/admin/accounts/grace/delete",
        &[("confirm", "grace")],
    )
    .await;

    assert_eq!(status_of(&app, "grace").await, "active");
    let page = app.get(&root, "/admin/accounts/grace").await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "still signed in and still an admin"
    );
    assert!(body(page).await.contains("your own account"));
}

#[tokio::test]
async fn a_revoked_admin_loses_the_area_within_a_second() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    assert_eq!(
        app.get(&root, "/admin/accounts").await.status(),
        StatusCode::OK
    );
    // Made outside the app, as a script would: the app hears of it from PostgreSQL, a moment
    // after the commit, and drops the admin it has in its cache.
    sqlx::query("update users set role = 'member' where username = 'grace'")
        .execute(&app.db)
        .await
        .unwrap();
    assert!(txtcv::cache::FRESH_FOR > Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let status = app.get(&root, "/admin/accounts").await.status();
        if status == StatusCode::NOT_FOUND {
            return;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(Instant::now() < deadline, "still an admin after a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn page_numbers_far_past_the_end_show_an_empty_page() {
    let app = spawn_app().await;
    let root = app.admin("grace").await;
    for list in ["/admin/audit", "/admin/accounts", "/admin/reports"] {
        for page in ["400000000000000000", "9223372036854775807", "-1", "x"] {
            let response = app.get(&root, &format!("{list}?page={page}")).await;
            assert_eq!(response.status(), StatusCode::OK, "{list}?page={page}");
        }
    }
}
