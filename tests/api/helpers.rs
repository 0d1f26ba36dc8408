use std::sync::{Arc, OnceLock};

use reqwest::{Client, Response, StatusCode, header};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgConnectOptions};
use tokio_util::sync::CancellationToken;
use txtcv::{
    config::{Profile, Settings},
    db,
    startup::{self, Application},
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running server with its own database.
pub struct TestApp {
    pub port: u16,
    pub address: String,
    pub db: PgPool,
    pub db_name: String,
    /// Where this test's database is, for processes the test starts.
    pub database_url: String,
    pub settings: Settings,
    /// The server's clock, to move forward past an expiry.
    pub clock: txtcv::clock::Clock,
    admin_url: String,
}

/// Settings for a test server: the test profile, any port.
pub fn test_settings() -> Settings {
    let mut settings =
        Settings::load(&Settings::config_dir(), Profile::Test).expect("test settings load");
    settings.server.port = 0;
    settings
}

/// A server with its job worker, as `txtcv serve` runs it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server (and its worker) whose settings `adjust` may change first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(adjust, true).await
}

/// A server without a job worker, as `txtcv serve --no-worker` runs it: jobs wait in the queue.
pub async fn spawn_web_only() -> TestApp {
    spawn(|_| {}, false).await
}

async fn spawn(adjust: impl FnOnce(&mut Settings), with_worker: bool) -> TestApp {
    txtcv::telemetry::init();
    let mut settings = test_settings();
    let db_name = format!("txtcv_test_{}", Uuid::new_v4().simple());
    // Mail without an SMTP server goes to a folder of this test's own.
    settings.mail.folder = std::env::temp_dir().join(format!("txtcv-mail-{db_name}"));
    adjust(&mut settings);
    let admin_url = admin_url(&settings).await;
    db::create_database_if_missing(&admin_url, &db_name)
        .await
        .expect("test database is created");
    let url = with_database(&admin_url, &db_name);
    join_citus_cluster(&admin_url, &url, &db_name).await;
    settings.database.url = Some(url.clone().into());
    let pool = startup::prepare_database(&settings, Profile::Test)
        .await
        .expect("database is ready");
    let app = Application::build(settings.clone(), pool.clone())
        .await
        .expect("app builds");
    let port = app.port();
    let clock = app.clock();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    if with_worker {
        tokio::spawn(startup::run_worker(
            Arc::new(settings.clone()),
            pool.clone(),
            shutdown,
        ));
    }
    TestApp {
        port,
        address: format!("http://localhost:{port}"),
        db: pool,
        db_name,
        database_url: url,
        settings,
        clock,
        admin_url,
    }
}

/// The server that holds the test databases: `DATABASE_URL`'s, or the project-local cluster.
async fn admin_url(settings: &Settings) -> String {
    static URL: OnceLock<String> = OnceLock::new();
    if let Some(url) = URL.get() {
        return url.clone();
    }
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => db::local_cluster(&settings.database)
            .await
            .expect("local PostgreSQL starts")
            .url_for("postgres"),
    };
    URL.get_or_init(|| url).clone()
}

/// On a Citus coordinator (`make test-citus`), `create database` also makes the database on the
/// workers (citus.enable_create_database_propagation), but without the extension and knowing no
/// nodes: each database has its own. So, as Citus's own tests do for a new database, create the
/// extension in it on every node, then register there the nodes the admin database has, so that
/// its distributed tables spread over the same workers. (The extension cannot come from
/// template1: Citus's maintenance daemon would then stay connected to template1, and
/// `create database` refuses a template somebody is connected to.) Nothing on plain PostgreSQL.
async fn join_citus_cluster(admin_url: &str, url: &str, db_name: &str) {
    let admin = PgPool::connect(admin_url).await.expect("admin connects");
    let citus: bool =
        sqlx::query_scalar("select to_regclass('pg_catalog.pg_dist_node') is not null")
            .fetch_one(&admin)
            .await
            .expect("the admin database answers");
    let nodes: Vec<(String, i32, bool)> = if citus {
        sqlx::query_as(
            "select nodename, nodeport, groupid = 0 from pg_dist_node
             where noderole = 'primary' order by groupid desc",
        )
        .fetch_all(&admin)
        .await
        .expect("the Citus nodes are listed")
    } else {
        Vec::new()
    };
    admin.close().await;
    if nodes.is_empty() {
        return;
    }
    let options: PgConnectOptions = url.parse().expect("the test database URL parses");
    // Workers first: the coordinator's registration checks the extension there.
    for (host, port, _) in &nodes {
        let node = options
            .clone()
            .host(host)
            .port(u16::try_from(*port).expect("a port"))
            .database(db_name);
        let mut connection = PgConnection::connect_with(&node)
            .await
            .expect("a Citus node connects");
        sqlx::query("create extension if not exists citus")
            .execute(&mut connection)
            .await
            .expect("the citus extension is created");
        connection.close().await.expect("the connection closes");
    }
    let db = PgPool::connect(url).await.expect("test database connects");
    for (host, port, coordinator) in nodes.iter().rev() {
        let register = if *coordinator {
            "select citus_set_coordinator_host($1, $2)"
        } else {
            "select citus_add_node($1, $2)::text"
        };
        // Tried a few times: once in three suite runs, with dozens of test databases being made
        // at once, the coordinator's connection to a worker failed ("failure on connection marked
        // as essential") with nothing in the worker's log. Registering a node twice is harmless.
        let mut tries: u64 = 0;
        while let Err(error) = sqlx::query(register)
            .bind(host)
            .bind(port)
            .execute(&db)
            .await
        {
            tries += 1;
            assert!(
                tries < 5,
                "the Citus node is registered in the test database: {error}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
        }
    }
    db.close().await;
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _db)| server);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The `Host` a CV subdomain request carries.
    pub fn cv_host(&self, username: &str) -> String {
        format!(
            "{username}.{}:{}",
            self.settings.server.base_domain, self.port
        )
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn post_form(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn signup(
        &self,
        client: &Client,
        username: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_form(
            client,
            "/signup",
            &[
                ("username", username),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login(&self, client: &Client, login: &str, password: &str) -> Response {
        self.post_form(
            client,
            "/login",
            &[("login", login), ("password", password)],
        )
        .await
    }

    /// A client signed in as a new account `username` (with `PASSWORD`).
    pub async fn signed_up(&self, username: &str) -> Client {
        let client = client();
        let response = self
            .signup(
                &client,
                username,
                &format!("{username}@example.org"),
                PASSWORD,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "signup of {username} succeeds"
        );
        client
    }

    /// Makes the database unreachable for the running server.
    pub async fn drop_database(&self) {
        let admin = PgPool::connect(&self.admin_url)
            .await
            .expect("admin connects");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database \"{}\" with (force)",
            self.db_name
        )))
        .execute(&admin)
        .await
        .expect("test database is dropped");
    }
}

pub fn location(response: &Response) -> &str {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The `Set-Cookie` line of the session cookie, if the response sets it.
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| {
            v.starts_with(txtcv::web::SESSION_COOKIE)
                || v.starts_with(txtcv::web::SECURE_SESSION_COOKIE)
        })
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie` line, to send it back by hand.
pub fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or_default()
}

pub async fn body(response: Response) -> String {
    response.text().await.expect("body is text")
}

/// A small valid JSON Resume document for `name`.
pub fn small_cv(name: &str) -> serde_json::Value {
    serde_json::json!({
        "basics": {"name": name, "label": "Software Engineer", "email": "ada@example.org"},
        "work": [{"name": "Analytical Engines", "position": "Lead Engineer", "startDate": "2021-03",
                  "highlights": ["Shipped the first compiler"]}],
        "skills": [{"name": "Rust", "keywords": ["PostgreSQL", "Kubernetes"]}]
    })
}

/// The official JSON Resume sample (schema 1.0.0), as published by jsonresume.org.
pub fn sample_resume() -> serde_json::Value {
    serde_json::from_str(sample_resume_text()).expect("the sample parses")
}

/// The same sample, as the text of the file.
pub fn sample_resume_text() -> &'static str {
    include_str!("../fixtures/sample.resume.json")
}

impl TestApp {
    /// A request to `username`'s CV host, to add headers to before sending.
    pub fn cv_request(&self, username: &str, path: &str) -> reqwest::RequestBuilder {
        client()
            .get(self.url(path))
            .header(header::HOST, self.cv_host(username))
    }

    /// A GET on `username`'s CV host, as an anonymous visitor.
    pub async fn get_cv(&self, username: &str, path: &str) -> Response {
        self.cv_request(username, path)
            .send()
            .await
            .expect("request is sent")
    }
}

/// `text` as the editor saves it: pretty-printed, key order kept.
pub fn pretty(text: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    serde_json::to_string_pretty(&value).expect("serialises")
}

impl TestApp {
    /// Sends `json` from the CV editor.
    pub async fn save_cv(&self, client: &Client, json: &str) -> Response {
        self.post_form(client, "/resume", &[("json", json)]).await
    }

    /// Uploads `content` as a file from the editor's import form.
    pub async fn import_cv(&self, client: &Client, content: &str) -> Response {
        let file = reqwest::multipart::Part::text(content.to_owned())
            .file_name("resume.json")
            .mime_str("application/json")
            .expect("valid mime type");
        client
            .post(self.url("/resume/import"))
            .multipart(reqwest::multipart::Form::new().part("file", file))
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn user_id(&self, username: &str) -> Uuid {
        sqlx::query_scalar("select id from users where username = $1")
            .bind(username)
            .fetch_one(&self.db)
            .await
            .expect("the user exists")
    }

    /// Saves `document` as a new version of `username`'s primary CV, straight in the database.
    pub async fn save_cv_directly(&self, username: &str, document: &serde_json::Value) {
        let owner_id = self.user_id(username).await;
        let mut tx = self.db.begin().await.expect("transaction starts");
        let cv = txtcv::store::cvs::primary_or_create(&mut tx, owner_id)
            .await
            .expect("the CV exists");
        let content = serde_json::to_string_pretty(document).expect("the document serialises");
        let history = txtcv::cv_saves::history(&self.settings.resume);
        txtcv::store::cvs::append_version(&mut tx, &cv, &content, owner_id, history)
            .await
            .expect("the version is saved");
        tx.commit().await.expect("transaction commits");
    }

    /// Sets the publish state, theme and hidden fields of `username`'s primary CV, as the
    /// owner's settings would.
    pub async fn set_cv_publication(
        &self,
        username: &str,
        published: bool,
        theme: &str,
        hidden: &[&str],
    ) {
        let owner_id = self.user_id(username).await;
        let mut connection = self.db.acquire().await.expect("connection");
        txtcv::store::cvs::primary_or_create(&mut connection, owner_id)
            .await
            .expect("the CV exists");
        sqlx::query(
            "update cvs set published = $1, theme = $2, hidden_fields = $3, updated_at = now()
             where owner_id = $4 and is_primary",
        )
        .bind(published)
        .bind(theme)
        .bind(hidden.iter().map(|f| f.to_string()).collect::<Vec<_>>())
        .bind(owner_id)
        .execute(&mut *connection)
        .await
        .expect("the CV is updated");
        txtcv::store::evictions::announce_cv(&mut *connection, owner_id)
            .await
            .expect("the change is announced");
    }

    /// Saves `document` and publishes it with `theme`, hiding `hidden`.
    pub async fn publish_cv_directly(
        &self,
        username: &str,
        document: &serde_json::Value,
        theme: &str,
        hidden: &[&str],
    ) {
        self.save_cv_directly(username, document).await;
        self.set_cv_publication(username, true, theme, hidden).await;
    }

    /// A new account `username` whose CV is `document`, published in the classic theme.
    pub async fn published_user(&self, username: &str, document: &serde_json::Value) {
        self.signed_up(username).await;
        self.publish_cv_directly(username, document, "classic", &[])
            .await;
    }
}

/// A response header as text, empty when absent.
pub fn header_text<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

impl TestApp {
    /// The stored versions of `username`'s primary CV, oldest first: (number, content).
    pub async fn cv_versions(&self, username: &str) -> Vec<(i32, String)> {
        sqlx::query_as(
            "select v.number, v.content from cv_versions v
             join users u on u.id = v.owner_id
             join cvs c on c.owner_id = v.owner_id and c.id = v.cv_id and c.is_primary
             where u.username = $1 order by v.number",
        )
        .bind(username)
        .fetch_all(&self.db)
        .await
        .expect("versions are read")
    }

    /// `username`'s primary CV row: (published, theme, hidden_fields, updated_at).
    pub async fn cv_row(
        &self,
        username: &str,
    ) -> Option<(bool, String, Vec<String>, time::OffsetDateTime)> {
        sqlx::query_as(
            "select c.published, c.theme, c.hidden_fields, c.updated_at from cvs c
             join users u on u.id = c.owner_id where u.username = $1 and c.is_primary",
        )
        .bind(username)
        .fetch_optional(&self.db)
        .await
        .expect("the CV row is read")
    }
}

impl TestApp {
    /// A client signed in as a new account `username` that is made an admin straight in the
    /// database (the role is read afresh on every request), with two-factor sign-in turned on
    /// through its pages, as the admin area requires.
    pub async fn admin(&self, username: &str) -> Client {
        let client = self.signed_up(username).await;
        sqlx::query("update users set role = 'admin' where username = $1")
            .bind(username)
            .execute(&self.db)
            .await
            .expect("the role is set");
        self.enable_two_factor(&client).await;
        client
    }

    /// How many rows of `table` belong to `owner_id` (`column` names the owner).
    pub async fn rows_owned(&self, table: &str, column: &str, owner_id: Uuid) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where {column} = $1"
        )))
        .bind(owner_id)
        .fetch_one(&self.db)
        .await
        .expect("rows are counted")
    }

    /// Jobs in the queue for `owner_id`'s letters.
    pub async fn jobs_of(&self, owner_id: Uuid) -> i64 {
        sqlx::query_scalar(
            "select count(*) from apalis.jobs
             where convert_from(job, 'UTF8')::jsonb ->> 'owner_id' = $1::text",
        )
        .bind(owner_id)
        .fetch_one(&self.db)
        .await
        .expect("jobs are counted")
    }
}

/// The text of the element with `id` in `page`, if there is one.
pub fn element_text(page: &str, id: &str) -> Option<String> {
    let html = scraper::Html::parse_document(page);
    let selector = scraper::Selector::parse(&format!("#{id}")).expect("valid selector");
    html.select(&selector)
        .next()
        .map(|element| element.text().collect::<String>().trim().to_owned())
}

impl TestApp {
    /// Creates a token from `/settings/tokens` as `client` and returns its secret, read from the
    /// page that shows it once.
    pub async fn create_token(
        &self,
        client: &Client,
        scope: &str,
        expires_in_days: &str,
    ) -> String {
        let response = self
            .post_form(
                client,
                "/settings/tokens",
                &[
                    ("name", "laptop"),
                    ("scope", scope),
                    ("expires_in_days", expires_in_days),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "the token is created");
        element_text(&body(response).await, "new-token").expect("the page shows the new token")
    }

    /// A new account `username` with a token of `scope`: (its browser client, the secret).
    pub async fn user_with_token(&self, username: &str, scope: &str) -> (Client, String) {
        let client = self.signed_up(username).await;
        let token = self.create_token(&client, scope, "").await;
        (client, token)
    }
}

impl TestApp {
    /// A request to the API carrying `token` as a bearer token, if any.
    pub fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = client().request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The id of `username`'s primary CV, created if need be.
    pub async fn primary_cv_id(&self, username: &str) -> Uuid {
        let owner_id = self.user_id(username).await;
        let mut connection = self.db.acquire().await.expect("connection");
        txtcv::store::cvs::primary_or_create(&mut connection, owner_id)
            .await
            .expect("the CV exists")
            .id
    }

    /// How many versions the CV `cv_id` has.
    pub async fn version_count(&self, cv_id: Uuid) -> i64 {
        sqlx::query_scalar("select count(*) from cv_versions where cv_id = $1")
            .bind(cv_id)
            .fetch_one(&self.db)
            .await
            .expect("versions are counted")
    }
}

pub async fn json(response: Response) -> serde_json::Value {
    response.json().await.expect("the body is JSON")
}

impl TestApp {
    /// Creates a CV from the `/cvs` form.
    pub async fn create_cv(&self, client: &Client, title: &str, slug: &str) -> Response {
        self.post_form(client, "/cvs", &[("title", title), ("slug", slug)])
            .await
    }

    /// The id of `username`'s CV with `slug`.
    pub async fn cv_id(&self, username: &str, slug: &str) -> Uuid {
        sqlx::query_scalar(
            "select c.id from cvs c join users u on u.id = c.owner_id
             where u.username = $1 and c.slug = $2",
        )
        .bind(username)
        .bind(slug)
        .fetch_one(&self.db)
        .await
        .expect("the CV exists")
    }
}

/// What a member keeps from turning on two-factor sign-in: the secret their app holds (base32, as
/// the page shows it) and the recovery codes shown once.
pub struct TwoFactorKeys {
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// The texts of the elements `css` selects in `page`.
pub fn texts_of(page: &str, css: &str) -> Vec<String> {
    let html = scraper::Html::parse_document(page);
    let selector = scraper::Selector::parse(css).expect("valid selector");
    html.select(&selector)
        .map(|element| element.text().collect::<String>().trim().to_owned())
        .collect()
}

impl TestApp {
    /// The code an authenticator app holding `secret` shows now, by the server's clock.
    pub fn code_for(&self, secret: &str) -> String {
        let secret = totp_rs::Secret::try_from_base32(secret.replace(' ', ""))
            .expect("the secret is base32");
        let totp = totp_rs::Builder::new()
            .with_secret(secret)
            .build()
            .expect("the secret makes a TOTP");
        let now = u64::try_from(self.clock.now().unix_timestamp()).expect("after 1970");
        totp.generate(now).to_string()
    }

    /// The code the app shows 30 seconds from now, moving the server's clock there: each code
    /// works once, so a second login needs the next one.
    pub fn next_code_for(&self, secret: &str) -> String {
        self.clock.advance(std::time::Duration::from_secs(30));
        self.code_for(secret)
    }

    /// Starts enrolling `client`'s account and returns the secret the page shows.
    pub async fn start_two_factor(&self, client: &Client) -> String {
        let started = self
            .post_form(client, "/settings/two-factor/start", &[])
            .await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let page = body(self.get(client, "/settings/two-factor").await).await;
        element_text(&page, "two-factor-secret").expect("the page shows the secret")
    }

    /// Turns on two-factor sign-in for `client`'s account through its pages, as a member with
    /// an authenticator app would.
    pub async fn enable_two_factor(&self, client: &Client) -> TwoFactorKeys {
        let secret = self.start_two_factor(client).await;
        let code = self.code_for(&secret);
        let confirmed = self
            .post_form(client, "/settings/two-factor/confirm", &[("code", &code)])
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK, "the code is accepted");
        let recovery_codes = texts_of(&body(confirmed).await, "#recovery-codes li");
        assert_eq!(recovery_codes.len(), 10);
        TwoFactorKeys {
            secret,
            recovery_codes,
        }
    }
}
