use reqwest::StatusCode;

use crate::helpers::{client, spawn_app};

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let response = app.get(&client(), "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = spawn_app().await;
    assert_eq!(app.get(&client(), "/readyz").await.status(), StatusCode::OK);

    app.drop_database().await;

    assert_eq!(
        app.get(&client(), "/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get(&client(), "/healthz").await.status(),
        StatusCode::OK
    );
}
