//! Personal access tokens at /settings/tokens.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::helpers::{body, client, element_text, location, spawn_app};

#[tokio::test]
async fn a_new_token_is_shown_once_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;

    let secret = app.create_token(&ada, "write", "30").await;
    assert!(secret.starts_with("txtcv_pat_"), "{secret}");
    assert_eq!(secret.len(), "txtcv_pat_".len() + 64, "256 bits in hex");

    let (hash, scope): (Vec<u8>, String) =
        sqlx::query_as("select secret_hash, scope from access_tokens")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(hash, Sha256::digest(secret.as_bytes()).to_vec());
    assert_eq!(scope, "write");
    let stored: String = sqlx::query_scalar("select row_to_json(t)::text from access_tokens t")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!stored.contains(&secret[10..]), "the secret is not stored");

    let list = body(app.get(&ada, "/settings/tokens").await).await;
    assert!(
        element_text(&list, "new-token").is_none(),
        "shown only once"
    );
    assert!(!list.contains(&secret));
    assert!(list.contains("laptop") && list.contains("write"));
}

#[tokio::test]
async fn a_token_without_a_name_or_with_a_bad_scope_is_refused() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    for form in [
        [("name", ""), ("scope", "write"), ("expires_in_days", "")],
        [("name", "ci"), ("scope", "admin"), ("expires_in_days", "")],
        [("name", "ci"), ("scope", "read"), ("expires_in_days", "-3")],
    ] {
        let response = app.post_form(&ada, "/settings/tokens", &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from access_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_revoked_token_is_marked_and_offers_no_second_revoke() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.create_token(&ada, "read", "").await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from access_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let response = app
        .post_form(&ada, &format!("/settings/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let list = body(app.get(&ada, "/settings/tokens").await).await;
    assert!(list.contains("revoked"), "{list}");
    assert!(!list.contains(&format!("/settings/tokens/{id}/revoke")));
}

#[tokio::test]
async fn another_member_and_a_visitor_cannot_see_or_revoke_someone_elses_tokens() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada").await;
    app.create_token(&ada, "write", "").await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from access_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let bob = app.signed_up("bob").await;

    let list = body(app.get(&bob, "/settings/tokens").await).await;
    assert!(!list.contains("laptop"), "bob sees only his own tokens");
    let revoke = format!("/settings/tokens/{id}/revoke");
    let response = app.post_form(&bob, &revoke, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let anonymous = client();
    let response = app.get(&anonymous, "/settings/tokens").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
    let response = app.post_form(&anonymous, &revoke, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));

    let revoked: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select revoked_at from access_tokens")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(revoked.is_none(), "ada's token still works");
}
