//! A member's own settings: password, email, deleting the account. The routes carry no ids, so
//! each can only ever act on the account that is signed in.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, body, client, location, small_cv, spawn_app};

const NEW_PASSWORD: &str = "a brand new passphrase for ada";

#[tokio::test]
async fn settings_need_a_login() {
    let app = spawn_app().await;
    let anonymous = client();
    let page = app.get(&anonymous, "/settings").await;
    assert_eq!(location(&page), "/login?next=/settings");
    for path in ["/settings/password", "/settings/email", "/settings/delete"] {
        let response = app
            .post_form(
                &anonymous,
                path,
                &[("password", PASSWORD), ("email", "x@example.org")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/login"), "{path}");
    }
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_but_keeps_this_one() {
    let app = spawn_app().await;
    let here = app.signed_up("ada").await;
    let elsewhere = client();
    app.login(&elsewhere, "ada", PASSWORD).await;

    let wrong = app
        .post_form(
            &here,
            "/settings/password",
            &[("current_password", "nope"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(wrong).await.contains("not your current password"));

    let response = app
        .post_form(
            &here,
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/settings");
    assert_eq!(
        app.get(&here, "/dashboard").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        app.get(&elsewhere, "/dashboard").await.status(),
        StatusCode::SEE_OTHER,
        "the other ends"
    );
    assert_eq!(
        app.login(&client(), "ada", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.login(&client(), "ada", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_email_is_validated_unique_and_only_ones_own_changes() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.signed_up("bob").await;

    let invalid = app
        .post_form(&ada, "/settings/email", &[("email", "not-an-email")])
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let taken = app
        .post_form(&ada, "/settings/email", &[("email", "BOB@example.org")])
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body(taken)
            .await
            .contains("Another account already uses this email")
    );

    let done = app
        .post_form(
            &ada,
            "/settings/email",
            &[("email", "lovelace@example.org")],
        )
        .await;
    assert_eq!(location(&done), "/settings");
    // The new address is only asked for: it replaces the old one once its link is followed.
    let emails: Vec<(String, String)> =
        sqlx::query_as("select username, email from users order by username")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        emails,
        vec![
            ("ada".into(), "ada@example.org".into()),
            ("bob".into(), "bob@example.org".into())
        ],
        "nobody's address changed yet"
    );
    let asked: Vec<(String, String)> = sqlx::query_as(
        "select u.username, l.email from account_links l join users u on u.id = l.owner_id
         where l.purpose = 'change-email'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        asked,
        vec![("ada".into(), "lovelace@example.org".into())],
        "only the signed-in account asked"
    );
}

#[tokio::test]
async fn a_member_deletes_their_own_account_with_their_password() {
    let app = spawn_app().await;
    app.published_user("bob", &small_cv("Bob")).await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada")).await;
    let owner = app.user_id("ada").await;

    let wrong = app
        .post_form(&ada, "/settings/delete", &[("password", "guess")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.rows_owned("users", "id", owner).await, 1);

    let done = app
        .post_form(&ada, "/settings/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(location(&done), "/");
    for (table, column) in [
        ("users", "id"),
        ("sessions", "user_id"),
        ("cvs", "owner_id"),
        ("cv_versions", "owner_id"),
    ] {
        assert_eq!(app.rows_owned(table, column, owner).await, 0, "{table}");
    }
    assert_eq!(
        app.get(&ada, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get_cv("bob", "/").await.status(),
        StatusCode::OK,
        "bob is untouched"
    );
}
