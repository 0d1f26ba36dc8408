//! Sign in with GitHub, against a mock GitHub that behaves like the real one: accounts are found
//! by GitHub's numeric id, never by login or email, and nothing is created or merged on a
//! failure.

use reqwest::{Client, Response, StatusCode};

use crate::{
    helpers::{PASSWORD, TestApp, body, client, location, spawn_app, spawn_app_with},
    mock_github::{CLIENT_ID, MockGitHub, Person},
};

async fn app_with_github() -> (TestApp, MockGitHub) {
    let github = MockGitHub::start().await;
    let app = spawn_app_with(github.configure()).await;
    (app, github)
}

async fn get_absolute(client: &Client, url: &str) -> Response {
    client.get(url).send().await.expect("request is sent")
}

/// Starts at `start` (a path of ours that redirects to GitHub), agrees at GitHub's consent page,
/// and returns the app's answer to the callback, and the callback's address.
async fn through_github(app: &TestApp, client: &Client, start: Response) -> (Response, String) {
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "sent to GitHub");
    let consent = get_absolute(client, location(&start)).await;
    assert!(
        consent.status().is_redirection(),
        "GitHub sends the browser back"
    );
    let callback = location(&consent).to_owned();
    assert!(
        callback.starts_with(&app.url("/auth/github/callback")),
        "{callback}"
    );
    (get_absolute(client, &callback).await, callback)
}

async fn sign_in_with_github(app: &TestApp, client: &Client) -> Response {
    let start = app.get(client, "/auth/github").await;
    through_github(app, client, start).await.0
}

/// Signs up `person` through GitHub, taking the proposed username; returns the signed-in client.
async fn github_member(app: &TestApp, github: &MockGitHub, person: Person) -> Client {
    github.signed_in_as(person);
    let client = client();
    let answer = sign_in_with_github(app, &client).await;
    assert_eq!(location(&answer), "/auth/github/signup");
    let form = body(app.get(&client, "/auth/github/signup").await).await;
    let proposed = crate::helpers::texts_of(&form, "h1")[0].clone();
    assert!(proposed.starts_with("Welcome"), "{proposed}");
    let username = value_of(&form, "username");
    let created = app
        .post_form(&client, "/auth/github/signup", &[("username", &username)])
        .await;
    assert_eq!(location(&created), "/dashboard");
    client
}

fn value_of(page: &str, id: &str) -> String {
    let html = scraper::Html::parse_document(page);
    let selector = scraper::Selector::parse(&format!("#{id}")).unwrap();
    let element = html.select(&selector).next().expect("the field is there");
    element.value().attr("value").unwrap_or_default().to_owned()
}

async fn users_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The username the settings page says `client` is signed in as.
async fn signed_in_as(app: &TestApp, client: &Client) -> String {
    let settings = app.get(client, "/settings").await;
    assert_eq!(settings.status(), StatusCode::OK, "signed in");
    crate::helpers::texts_of(&body(settings).await, "p.muted strong")[0].clone()
}

#[tokio::test]
async fn a_first_sign_in_creates_an_account_with_the_verified_primary_email() {
    let (app, github) = app_with_github().await;
    let octocat = github_member(
        &app,
        &github,
        Person::new(583231, "The-Octocat", "octo@example.org"),
    )
    .await;

    assert_eq!(signed_in_as(&app, &octocat).await, "the-octocat");
    let (email, confirmed, has_password): (String, bool, bool) = sqlx::query_as(
        "select email, email_confirmed_at is not null, password_hash is not null
         from users where username = 'the-octocat'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(email, "octo@example.org", "the primary, verified address");
    assert!(confirmed, "GitHub vouched for it");
    assert!(!has_password);
    let log = body(app.get(&octocat, "/settings/security").await).await;
    assert!(
        log.contains("GitHub account linked") && log.contains("with GitHub"),
        "{log}"
    );
}

#[tokio::test]
async fn the_authorize_request_carries_scope_state_and_a_pkce_challenge_and_the_verifier_follows() {
    let (app, github) = app_with_github().await;
    github.signed_in_as(Person::new(1, "ada", "ada@example.org"));
    sign_in_with_github(&app, &client()).await;

    let asked = &github.authorizations()[0];
    assert_eq!(asked["client_id"], CLIENT_ID);
    assert_eq!(asked["scope"], "read:user user:email");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["state"].len(), 64, "256 random bits");
    assert_eq!(asked["redirect_uri"], app.url("/auth/github/callback"));
    let verifiers = github.verifiers();
    assert_eq!(verifiers.len(), 1);
    assert!((43..=128).contains(&verifiers[0].len()), "RFC 7636 length");
    assert_ne!(
        verifiers[0], asked["code_challenge"],
        "the verifier is not the challenge"
    );
}

#[tokio::test]
async fn a_returning_member_is_found_by_id_after_renaming_and_changing_email_on_github() {
    let (app, github) = app_with_github().await;
    let first = github_member(&app, &github, Person::new(42, "ada", "ada@example.org")).await;
    app.post_form(&first, "/logout", &[]).await;

    github.signed_in_as(Person::new(42, "ada-lovelace", "countess@example.org"));
    let browser = client();
    let answer = sign_in_with_github(&app, &browser).await;

    assert_eq!(location(&answer), "/dashboard");
    assert_eq!(signed_in_as(&app, &browser).await, "ada");
    assert_eq!(users_count(&app).await, 1, "no second account");
    let login: String = sqlx::query_scalar("select login from github_accounts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        login, "ada-lovelace",
        "the new login is kept, for settings to show"
    );
}

#[tokio::test]
async fn an_email_that_belongs_to_another_account_merges_nothing() {
    let (app, github) = app_with_github().await;
    app.signed_up("ada").await;
    github.signed_in_as(Person::new(7, "impostor", "ada@example.org"));

    let browser = client();
    let answer = sign_in_with_github(&app, &browser).await;

    assert_eq!(answer.status(), StatusCode::CONFLICT);
    let page = body(answer).await;
    assert!(
        page.contains("ada@example.org") && page.contains("link GitHub"),
        "{page}"
    );
    assert_eq!(users_count(&app).await, 1);
    let links: i64 = sqlx::query_scalar("select count(*) from github_accounts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 0);
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn denied_access_is_a_clear_message_and_creates_nothing() {
    let (app, github) = app_with_github().await;
    github.signed_in_as(Person::new(9, "ada", "ada@example.org"));
    github.deny();

    let answer = sign_in_with_github(&app, &client()).await;

    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(body(answer).await.contains("GitHub sign-in was cancelled"));
    assert_eq!(users_count(&app).await, 0);
}

#[tokio::test]
async fn a_wrong_state_and_a_replayed_callback_are_refused() {
    let (app, github) = app_with_github().await;
    github.signed_in_as(Person::new(9, "ada", "ada@example.org"));
    let browser = client();

    let start = app.get(&browser, "/auth/github").await;
    let consent = get_absolute(&browser, location(&start)).await;
    let forged = location(&consent).replace("state=", "state=0");
    let answer = get_absolute(&browser, &forged).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(body(answer).await.contains("not started in this browser"));

    let start = app.get(&browser, "/auth/github").await;
    let (answer, callback) = through_github(&app, &browser, start).await;
    assert_eq!(location(&answer), "/auth/github/signup");
    let replayed = get_absolute(&client(), &callback).await;
    assert_eq!(
        replayed.status(),
        StatusCode::BAD_REQUEST,
        "another browser"
    );
    let replayed = get_absolute(&browser, &callback).await;
    assert_eq!(
        replayed.status(),
        StatusCode::BAD_REQUEST,
        "the same browser, again"
    );
    assert_eq!(users_count(&app).await, 0);
}

#[tokio::test]
async fn a_code_github_refuses_with_http_200_is_a_message_not_an_account() {
    let (app, github) = app_with_github().await;
    github.signed_in_as(Person::new(9, "ada", "ada@example.org"));
    let browser = client();
    let start = app.get(&browser, "/auth/github").await;
    let consent = get_absolute(&browser, location(&start)).await;
    // A code that is not GitHub's (or expired): the token endpoint says so with 200.
    let expired = location(&consent).replace("code=code-", "code=expired-");

    let answer = get_absolute(&browser, &expired).await;

    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(
        body(answer)
            .await
            .contains("GitHub did not accept the sign-in")
    );
    assert_eq!(users_count(&app).await, 0);
}

#[tokio::test]
async fn github_unreachable_is_a_message_not_an_error() {
    let github = MockGitHub::start().await;
    let app = spawn_app_with(move |settings| {
        crate::mock_github::configure(settings, &github.url);
        settings.github.token_url = "http://127.0.0.1:1/login/oauth/access_token".into();
    })
    .await;
    let browser = client();
    let start = app.get(&browser, "/auth/github").await;
    let state = start
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.split("state=").nth(1))
        .map(|s| s.split('&').next().unwrap_or_default().to_owned())
        .unwrap();

    let callback = app.url(&format!("/auth/github/callback?code=c&state={state}"));
    let answer = get_absolute(&browser, &callback).await;

    assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
    assert!(body(answer).await.contains("GitHub could not be reached"));
}

#[tokio::test]
async fn two_factor_sign_in_still_asks_for_the_code_after_github() {
    let (app, github) = app_with_github().await;
    let octocat = github_member(&app, &github, Person::new(5, "octocat", "octo@example.org")).await;
    let keys = app.enable_two_factor(&octocat).await;
    app.post_form(&octocat, "/logout", &[]).await;

    let browser = client();
    let answer = sign_in_with_github(&app, &browser).await;

    assert_eq!(location(&answer), "/login/two-factor");
    assert_eq!(
        app.get(&browser, "/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
    let code = app.next_code_for(&keys.secret);
    let done = app
        .post_form(&browser, "/login/two-factor", &[("code", &code)])
        .await;
    assert_eq!(location(&done), "/dashboard");
    let log = body(app.get(&browser, "/settings/security").await).await;
    assert!(log.contains("with GitHub and an app code"), "{log}");
}

#[tokio::test]
async fn without_a_password_a_change_is_confirmed_by_signing_in_with_github_again() {
    let (app, github) = app_with_github().await;
    let octocat = github_member(&app, &github, Person::new(5, "octocat", "octo@example.org")).await;
    app.clock.advance(std::time::Duration::from_secs(6 * 60));
    let token = [("name", "CI"), ("scope", "read"), ("expires_in_days", "")];

    let refused = app.post_form(&octocat, "/settings/tokens", &token).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(refused).await.contains("sign in with GitHub again"));

    let again = sign_in_with_github(&app, &octocat).await;
    assert_eq!(location(&again), "/dashboard");
    let created = app.post_form(&octocat, "/settings/tokens", &token).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert!(body(created).await.contains("txtcv_pat_"));
}

#[tokio::test]
async fn unlinking_is_refused_while_github_is_the_only_way_in() {
    let (app, github) = app_with_github().await;
    let octocat = github_member(&app, &github, Person::new(5, "octocat", "octo@example.org")).await;

    app.post_form(&octocat, "/settings/github/unlink", &[])
        .await;
    let settings = body(app.get(&octocat, "/settings").await).await;
    assert!(
        settings.contains("set a password or add a passkey first"),
        "{settings}"
    );
    assert!(settings.contains("Linked to <strong>octocat</strong>"));

    // Just signed in: setting a password asks for nothing more.
    let set = app
        .post_form(
            &octocat,
            "/settings/password",
            &[("new_password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(location(&set), "/settings");
    app.post_form(&octocat, "/settings/github/unlink", &[])
        .await;
    let settings = body(app.get(&octocat, "/settings").await).await;
    assert!(settings.contains("GitHub is unlinked"), "{settings}");
    let login = app
        .login(&client(), "octocat", "a brand new passphrase")
        .await;
    assert_eq!(location(&login), "/dashboard", "the password works");
}

#[tokio::test]
async fn a_member_links_github_from_settings_and_then_signs_in_with_it() {
    let (app, github) = app_with_github().await;
    let ada = app.signed_up("ada").await;
    github.signed_in_as(Person::new(77, "ada-gh", "another@example.org"));

    let start = app.post_form(&ada, "/settings/github/link", &[]).await;
    let (answer, _) = through_github(&app, &ada, start).await;
    assert_eq!(location(&answer), "/settings");
    let settings = body(app.get(&ada, "/settings").await).await;
    assert!(settings.contains("ada-gh"), "{settings}");

    let browser = client();
    let answer = sign_in_with_github(&app, &browser).await;
    assert_eq!(location(&answer), "/dashboard");
    assert_eq!(signed_in_as(&app, &browser).await, "ada");
    assert_eq!(users_count(&app).await, 1);
}

#[tokio::test]
async fn a_github_account_linked_elsewhere_is_not_linked_twice() {
    let (app, github) = app_with_github().await;
    github_member(&app, &github, Person::new(5, "octocat", "octo@example.org")).await;
    let ada = app.signed_up("ada").await;

    let start = app.post_form(&ada, "/settings/github/link", &[]).await;
    through_github(&app, &ada, start).await;

    let settings = body(app.get(&ada, "/settings").await).await;
    assert!(
        settings.contains("signs in to another txtcv account"),
        "{settings}"
    );
    let owner: String = sqlx::query_scalar(
        "select u.username from github_accounts g join users u on u.id = g.owner_id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(owner, "octocat");
}

#[tokio::test]
async fn linking_needs_a_recent_password() {
    let (app, github) = app_with_github().await;
    let ada = app.signed_up("ada").await;
    github.signed_in_as(Person::new(77, "ada-gh", "another@example.org"));
    app.clock.advance(std::time::Duration::from_secs(6 * 60));

    let refused = app
        .post_form(&ada, "/settings/github/link", &[("password", "wrong")])
        .await;
    assert_eq!(location(&refused), "/settings");
    let confirmed = app
        .post_form(&ada, "/settings/github/link", &[("password", PASSWORD)])
        .await;
    assert!(location(&confirmed).starts_with(&github.url), "to GitHub");
}

#[tokio::test]
async fn without_a_client_id_there_is_no_button_and_no_route() {
    let app = spawn_app().await;
    let browser = client();
    assert!(
        !body(app.get(&browser, "/login").await)
            .await
            .contains("Sign in with GitHub")
    );
    for path in [
        "/auth/github",
        "/auth/github/callback?code=x&state=y",
        "/auth/github/signup",
    ] {
        assert_eq!(
            app.get(&browser, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_taken_proposed_username_is_changed_on_the_form() {
    let (app, github) = app_with_github().await;
    app.signed_up("octocat").await;
    github.signed_in_as(Person::new(5, "OctoCat", "octo@example.org"));
    let browser = client();
    sign_in_with_github(&app, &browser).await;

    let form = body(app.get(&browser, "/auth/github/signup").await).await;
    assert_eq!(
        value_of(&form, "username"),
        "octocat",
        "fitted to our rules"
    );
    let taken = app
        .post_form(&browser, "/auth/github/signup", &[("username", "octocat")])
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(taken).await.contains("That username is taken"));
    let created = app
        .post_form(
            &browser,
            "/auth/github/signup",
            &[("username", "octocat-gh")],
        )
        .await;
    assert_eq!(location(&created), "/dashboard");
}
