//! A CV's history is bounded: saves per account and hour, versions and bytes kept per CV.

use futures::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{TestApp, body, element_text, header_text, pretty, small_cv, spawn_app_with};

/// The numbers of the versions `username`'s primary CV keeps, oldest first.
async fn kept(app: &TestApp, username: &str) -> Vec<i32> {
    app.cv_versions(username)
        .await
        .into_iter()
        .map(|(number, _)| number)
        .collect()
}

#[tokio::test]
async fn a_burst_of_saves_past_the_hourly_rate_saves_only_the_rate_and_keeps_the_rest_of_the_text()
{
    let app = spawn_app_with(|settings| settings.resume.saves_per_hour = 5).await;
    let ada = app.signed_up("ada").await;

    let drafts: Vec<String> = (1..=12)
        .map(|n| small_cv(&format!("Ada, draft {n}")).to_string())
        .collect();
    let responses = join_all(drafts.iter().map(|draft| app.save_cv(&ada, draft))).await;

    let mut refused = 0;
    for (draft, response) in drafts.iter().zip(responses) {
        match response.status() {
            StatusCode::SEE_OTHER => {}
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let retry_after: u64 = header_text(&response, "retry-after").parse().unwrap();
                assert!((1..=3600).contains(&retry_after), "{retry_after}");
                let page = body(response).await;
                let refusal = element_text(&page, "problems").unwrap();
                assert!(
                    refusal.contains("You have saved 5 times in the last hour")
                        && refusal.contains("try again in"),
                    "{refusal}"
                );
                assert_eq!(
                    element_text(&page, "json").as_deref(),
                    Some(draft.as_str()),
                    "the editor keeps what was sent"
                );
            }
            status => panic!("a save answered {status}"),
        }
    }
    assert_eq!(refused, 7);
    assert_eq!(kept(&app, "ada").await, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_save_that_changes_nothing_does_not_count_towards_the_rate() {
    let app = spawn_app_with(|settings| settings.resume.saves_per_hour = 2).await;
    let ada = app.signed_up("ada").await;
    let text = small_cv("Ada").to_string();
    for _ in 0..4 {
        assert_eq!(
            app.save_cv(&ada, &text).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let second = app.save_cv(&ada, &small_cv("Ada King").to_string()).await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let third = app
        .save_cv(&ada, &small_cv("Ada, Countess").to_string())
        .await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(kept(&app, "ada").await, [1, 2]);
}

#[tokio::test]
async fn saving_past_max_versions_keeps_the_newest_and_the_published_one() {
    let app = spawn_app_with(|settings| settings.resume.max_versions = 5).await;
    let ada = app.signed_up("ada").await;
    for n in 1..=3 {
        app.save_cv(&ada, &small_cv(&format!("Ada {n}")).to_string())
            .await;
    }
    app.post_form(&ada, "/resume/publish", &[]).await;
    for n in 4..=8 {
        let saved = app
            .save_cv(&ada, &small_cv(&format!("Ada {n}")).to_string())
            .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }

    assert_eq!(kept(&app, "ada").await, [4, 5, 6, 7, 8]);
    let public = body(app.get_cv("ada", "/").await).await;
    assert!(
        public.contains("Ada 8"),
        "the published CV is the current one"
    );
    for pruned in ["/resume/versions/1", "/resume/versions/3"] {
        assert_eq!(app.get(&ada, pruned).await.status(), StatusCode::NOT_FOUND);
    }
    let restore = app.post_form(&ada, "/resume/versions/2/restore", &[]).await;
    assert_eq!(restore.status(), StatusCode::NOT_FOUND);
    let history = body(app.get(&ada, "/resume/versions").await).await;
    let limits = element_text(&history, "history-limits").unwrap();
    assert!(limits.contains("keeps its newest 5 versions"), "{limits}");
}

#[tokio::test]
async fn the_history_keeps_no_more_bytes_than_the_limit() {
    let size = pretty(&small_cv("Ada 1").to_string()).len() as u64;
    let app = spawn_app_with(|settings| settings.resume.max_history_bytes = 3 * size + 10).await;
    let ada = app.signed_up("ada").await;
    for n in 1..=6 {
        app.save_cv(&ada, &small_cv(&format!("Ada {n}")).to_string())
            .await;
    }
    assert_eq!(kept(&app, "ada").await, [4, 5, 6]);
}

#[tokio::test]
async fn a_version_a_cover_letter_was_written_from_is_kept_and_so_is_the_letter() {
    let app = spawn_app_with(|settings| settings.resume.max_versions = 5).await;
    let ada = app.signed_up("ada").await;
    for n in 1..=2 {
        app.save_cv(&ada, &small_cv(&format!("Ada {n}")).to_string())
            .await;
    }
    let letter = app
        .post_form(&ada, "/cover-letters", &[("job_description", "Compilers.")])
        .await;
    assert_eq!(letter.status(), StatusCode::SEE_OTHER);
    for n in 3..=10 {
        app.save_cv(&ada, &small_cv(&format!("Ada {n}")).to_string())
            .await;
    }

    assert_eq!(kept(&app, "ada").await, [2, 7, 8, 9, 10]);
    let letters: i64 = sqlx::query_scalar("select count(*) from cover_letters")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(letters, 1);
}

#[tokio::test]
async fn the_housekeeping_sweep_does_not_forget_saves_still_in_their_hour() {
    let app = spawn_app_with(|settings| {
        settings.resume.saves_per_hour = 1;
        settings.auth.throttle_window_secs = 1;
        settings.moderation.report_window_secs = 1;
        settings.worker.cleanup_interval_secs = 1;
    })
    .await;
    let ada = app.signed_up("ada").await;
    let first = app.save_cv(&ada, &small_cv("Ada").to_string()).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let second = app.save_cv(&ada, &small_cv("Ada King").to_string()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
}
