//! Several CVs per account: /cvs, the per-CV editor at /cvs/{id}, and /{slug} on the CV host.

use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, body, client, location, small_cv, spawn_app, spawn_app_with};

/// Ada, signed in, with a saved and published primary CV and a second CV `research` (saved,
/// private): (her client, the research CV's id).
async fn ada_with_two_cvs(app: &TestApp) -> (Client, uuid::Uuid) {
    let ada = app.signed_up("ada").await;
    app.publish_cv_directly("ada", &small_cv("Ada the Engineer"), "classic", &[])
        .await;
    let response = app.create_cv(&ada, "Research", "research").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = app.cv_id("ada", "research").await;
    assert_eq!(location(&response), format!("/cvs/{id}"));
    let saved = app
        .post_form(
            &ada,
            &format!("/cvs/{id}"),
            &[("json", &small_cv("Dr Ada").to_string())],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    (ada, id)
}

#[tokio::test]
async fn a_second_cv_has_its_own_versions_and_its_own_public_page() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    let primary = app.primary_cv_id("ada").await;
    assert_eq!(app.version_count(id).await, 1);
    assert_eq!(app.version_count(primary).await, 1);

    let editor = body(app.get(&ada, &format!("/cvs/{id}")).await).await;
    assert!(
        editor.contains("Dr Ada") && editor.contains("<h1>Research</h1>"),
        "{editor}"
    );
    let versions = body(app.get(&ada, &format!("/cvs/{id}/versions")).await).await;
    assert!(versions.contains(&format!("/cvs/{id}/versions/1")));

    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );
    let publish = app
        .post_form(&ada, &format!("/cvs/{id}/publish"), &[])
        .await;
    assert_eq!(publish.status(), StatusCode::SEE_OTHER);

    let root = body(app.get_cv("ada", "/").await).await;
    assert!(root.contains("Ada the Engineer") && !root.contains("Dr Ada"));
    let research = app.get_cv("ada", "/research").await;
    assert_eq!(research.status(), StatusCode::OK);
    assert!(body(research).await.contains("Dr Ada"));
    let json_doc: serde_json::Value = app
        .get_cv("ada", "/research/resume.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json_doc["basics"]["name"], "Dr Ada");
}

#[tokio::test]
async fn the_resume_routes_still_act_on_the_primary() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    app.save_cv(&ada, &small_cv("Ada, second save").to_string())
        .await;
    assert_eq!(app.version_count(app.primary_cv_id("ada").await).await, 2);
    assert_eq!(app.version_count(id).await, 1);
}

#[tokio::test]
async fn an_unpublished_or_unknown_slug_is_the_same_404_as_an_unknown_user() {
    let app = spawn_app().await;
    ada_with_two_cvs(&app).await;
    let unknown_user = body(app.get_cv("nobody", "/").await).await;
    for path in ["/research", "/nothing", "/research/resume.json", "/cv"] {
        let response = app.get_cv("ada", path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body(response).await, unknown_user, "{path}");
    }
}

#[tokio::test]
async fn the_list_shows_each_cv_with_its_state_address_and_id() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    let page = body(app.get(&ada, "/cvs").await).await;
    assert!(page.contains("Research") && page.contains("My CV"));
    assert!(page.contains("published") && page.contains("private"));
    assert!(page.contains(&format!(
        "ada.{}:{}/research",
        app.settings.server.base_domain, app.port
    )));
    assert!(
        page.contains(&format!(r#"data-copy-target="cv-id-{id}""#)),
        "{page}"
    );
}

#[tokio::test]
async fn slugs_follow_the_rules_and_are_unique_per_account() {
    let app = spawn_app().await;
    let (ada, _) = ada_with_two_cvs(&app).await;
    for (slug, message) in [
        ("Research Jobs", "only lowercase letters"),
        ("", "1 to 40 characters"),
        (&"x".repeat(41), "1 to 40 characters"),
        ("static", "reserved"),
        ("api", "reserved"),
        ("research", "already have a CV with this slug"),
    ] {
        let response = app.create_cv(&ada, "Another", slug).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{slug}"
        );
        assert!(body(response).await.contains(message), "{slug}: {message}");
    }
    let bob = app.signed_up("bob").await;
    let response = app.create_cv(&bob, "Research", "research").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "another account may use it"
    );
}

#[tokio::test]
async fn the_cap_on_cvs_gives_a_clear_message() {
    let app = spawn_app_with(|settings| settings.cvs.max_per_account = 2).await;
    let (ada, _) = ada_with_two_cvs(&app).await;
    let response = app.create_cv(&ada, "German", "de").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body(response)
            .await
            .contains("You have 2 CVs, as many as an account may keep")
    );
}

#[tokio::test]
async fn renaming_and_reslugging_moves_the_public_page() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    app.post_form(&ada, &format!("/cvs/{id}/publish"), &[])
        .await;

    let response = app
        .post_form(
            &ada,
            &format!("/cvs/{id}/details"),
            &[("title", "Academia"), ("slug", "academia")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_cv("ada", "/research").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_cv("ada", "/academia").await.status(),
        StatusCode::OK
    );
    assert!(body(app.get(&ada, "/cvs").await).await.contains("Academia"));

    let taken = app
        .post_form(
            &ada,
            &format!("/cvs/{id}/details"),
            &[("title", "Academia"), ("slug", "cv")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn making_another_cv_primary_puts_it_at_the_root() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    app.post_form(&ada, &format!("/cvs/{id}/publish"), &[])
        .await;

    let response = app
        .post_form(&ada, &format!("/cvs/{id}/make-primary"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.primary_cv_id("ada").await, id);
    assert!(body(app.get_cv("ada", "/").await).await.contains("Dr Ada"));
    assert!(
        body(app.get_cv("ada", "/cv").await)
            .await
            .contains("Ada the Engineer")
    );
}

#[tokio::test]
async fn deleting_the_primary_asks_which_cv_takes_its_place() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    let primary = app.primary_cv_id("ada").await;
    let details = body(app.get(&ada, &format!("/cvs/{primary}/details")).await).await;
    assert!(details.contains("Which CV becomes your primary?"));
    assert!(details.contains("data-confirm"));

    let refused = app
        .post_form(&ada, &format!("/cvs/{primary}/delete"), &[])
        .await;
    assert_eq!(location(&refused), format!("/cvs/{primary}/details"));
    assert_eq!(app.primary_cv_id("ada").await, primary, "nothing deleted");

    let response = app
        .post_form(
            &ada,
            &format!("/cvs/{primary}/delete"),
            &[("successor", &id.to_string())],
        )
        .await;
    assert_eq!(location(&response), "/cvs");
    assert_eq!(app.primary_cv_id("ada").await, id);
    let left: i64 = sqlx::query_scalar("select count(*) from cvs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn another_member_and_a_visitor_cannot_reach_someone_elses_cv() {
    let app = spawn_app().await;
    let (_, id) = ada_with_two_cvs(&app).await;
    let bob = app.signed_up("bob").await;
    let anonymous = client();
    let json_text = small_cv("Bob").to_string();
    let pages = ["", "/details", "/versions", "/versions/1", "/export"];
    let actions: [(&str, &[(&str, &str)]); 8] = [
        ("", &[("json", &json_text)]),
        ("/details", &[("title", "Mine"), ("slug", "mine")]),
        ("/make-primary", &[]),
        ("/delete", &[]),
        ("/publish", &[]),
        ("/unpublish", &[]),
        ("/versions/1/restore", &[]),
        ("/settings", &[("theme", "modern")]),
    ];
    for page in pages {
        let path = format!("/cvs/{id}{page}");
        assert_eq!(
            app.get(&bob, &path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let response = app.get(&anonymous, &path).await;
        assert!(location(&response).starts_with("/login"), "{path}");
    }
    for (action, form) in actions {
        let path = format!("/cvs/{id}{action}");
        let response = app.post_form(&bob, &path, form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let response = app.post_form(&anonymous, &path, form).await;
        assert!(location(&response).starts_with("/login"), "{path}");
    }
    assert_eq!(app.version_count(id).await, 1);
    let (title, published): (String, bool) =
        sqlx::query_as("select title, published from cvs where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((title.as_str(), published), ("Research", false));
}

#[tokio::test]
async fn a_cover_letter_is_written_from_the_cv_the_user_picks() {
    let app = spawn_app().await;
    let (ada, id) = ada_with_two_cvs(&app).await;
    let page = body(app.get(&ada, "/cover-letters").await).await;
    assert!(page.contains(r#"name="cv""#) && page.contains("Research"));

    let form = [
        ("job_description", "A research post in compilers."),
        ("cv", &id.to_string()),
    ];
    let response = app.post_form(&ada, "/cover-letters", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cv_id: uuid::Uuid = sqlx::query_scalar("select cv_id from cover_letters")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(cv_id, id);

    let bob = app.signed_up("bob").await;
    let response = app.post_form(&bob, "/cover-letters", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "ada's CV is not bob's"
    );
}

/// The ids of `username`'s primary CVs: one, unless something is wrong.
async fn primaries(app: &TestApp, username: &str) -> Vec<uuid::Uuid> {
    sqlx::query_scalar(
        "select c.id from cvs c join users u on u.id = c.owner_id
         where u.username = $1 and c.is_primary",
    )
    .bind(username)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn making_a_cv_primary_while_deleting_it_always_leaves_one_primary() {
    const TRIALS: usize = 30;
    let app = spawn_app_with(|settings| settings.cvs.max_per_account = 100).await;
    let ada = app.signed_up("ada").await;
    app.save_cv_directly("ada", &small_cv("Ada")).await;

    let mut without_primary = 0;
    for trial in 0..TRIALS {
        let slug = format!("trial-{trial}");
        app.create_cv(&ada, "Trial", &slug).await;
        let id = app.cv_id("ada", &slug).await;
        let (make_primary, delete) = (
            format!("/cvs/{id}/make-primary"),
            format!("/cvs/{id}/delete"),
        );
        let (made, deleted) = tokio::join!(
            app.post_form(&ada, &make_primary, &[]),
            app.post_form(&ada, &delete, &[]),
        );
        // A request that comes after the delete finds no such CV: the normal 404.
        for response in [made, deleted] {
            let status = response.status();
            assert!(
                [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND].contains(&status),
                "trial {trial}: {status}"
            );
        }
        let found = primaries(&app, "ada").await;
        assert!(found.len() <= 1, "trial {trial}: the index allows one");
        if found.is_empty() {
            without_primary += 1;
        }
    }
    assert_eq!(
        without_primary, 0,
        "{without_primary} of {TRIALS} trials left no primary"
    );

    let saved = app.save_cv(&ada, &small_cv("Ada, after").to_string()).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/resume");
    let primary = primaries(&app, "ada").await[0];
    assert!(app.version_count(primary).await >= 1);
}

#[tokio::test]
async fn an_account_whose_primary_vanished_gets_its_latest_cv_back_as_primary() {
    let app = spawn_app().await;
    let (ada, research) = ada_with_two_cvs(&app).await;
    sqlx::query("delete from cvs where is_primary")
        .execute(&app.db)
        .await
        .unwrap();

    let editor = app.get(&ada, "/resume").await;
    assert_eq!(editor.status(), StatusCode::OK);
    assert!(body(editor).await.contains("Dr Ada"), "the research CV");
    assert_eq!(primaries(&app, "ada").await, [research]);

    let saved = app
        .save_cv(&ada, &small_cv("Dr Ada, again").to_string())
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.version_count(research).await, 2);
}

#[tokio::test]
async fn an_account_whose_cvs_all_lost_the_primary_flag_can_still_save_on_resume() {
    let app = spawn_app().await;
    let (ada, research) = ada_with_two_cvs(&app).await;
    sqlx::query("update cvs set is_primary = false")
        .execute(&app.db)
        .await
        .unwrap();

    // The slug "cv" is still taken, by the CV that was primary: none may be created in its place.
    let saved = app
        .save_cv(&ada, &small_cv("Dr Ada, again").to_string())
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(primaries(&app, "ada").await, [research]);
    assert_eq!(app.version_count(research).await, 2);
    let dashboard = app.get(&ada, "/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::OK);
}
