//! A stand-in for GitHub's OAuth web flow and its REST API, as a real HTTP server, behaving as
//! GitHub does where it matters: the consent page sends the browser back with a code and the
//! `state` (or `error=access_denied`); the token endpoint answers refusals with HTTP 200 and an
//! `error` field, and takes a code once, only with the PKCE verifier of its challenge; `/user`
//! refuses a request without a `User-Agent` (403); `/user/emails` lists primary, verified and
//! private entries.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use txtcv::config::Settings;

pub const CLIENT_ID: &str = "Iv1.test-client";
pub const CLIENT_SECRET: &str = "test-client-secret";

/// The person signed in at GitHub, as the next consent gives them.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: i64,
    pub login: String,
    /// `(email, primary, verified)`
    pub emails: Vec<(String, bool, bool)>,
}

impl Person {
    pub fn new(id: i64, login: &str, email: &str) -> Self {
        Self {
            id,
            login: login.into(),
            emails: vec![
                (email.into(), true, true),
                (
                    format!("{id}+{login}@users.noreply.github.com"),
                    false,
                    true,
                ),
                (format!("old-{email}"), false, false),
            ],
        }
    }
}

#[derive(Default)]
struct World {
    person: Option<Person>,
    deny: bool,
    /// Code → (the challenge it was asked with, who it signs in).
    codes: HashMap<String, (String, Person)>,
    tokens: HashMap<String, Person>,
    /// The verifiers the token endpoint received.
    verifiers: Vec<String>,
    /// What the authorize step was asked for (its query).
    authorizations: Vec<HashMap<String, String>>,
    next: u64,
}

#[derive(Clone)]
pub struct MockGitHub {
    pub url: String,
    world: Arc<Mutex<World>>,
}

impl MockGitHub {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World::default()));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/user", get(user))
            .route("/api/user/emails", get(emails))
            .with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, world }
    }

    /// Who the next consent signs in.
    pub fn signed_in_as(&self, person: Person) {
        self.world.lock().unwrap().person = Some(person);
    }

    /// Makes the next consents come back as `error=access_denied`.
    pub fn deny(&self) {
        self.world.lock().unwrap().deny = true;
    }

    pub fn verifiers(&self) -> Vec<String> {
        self.world.lock().unwrap().verifiers.clone()
    }

    pub fn authorizations(&self) -> Vec<HashMap<String, String>> {
        self.world.lock().unwrap().authorizations.clone()
    }

    /// Settings that send GitHub sign-in here, for `spawn_app_with`.
    pub fn configure(&self) -> impl FnOnce(&mut Settings) + use<> {
        let url = self.url.clone();
        move |settings: &mut Settings| configure(settings, &url)
    }
}

pub fn configure(settings: &mut Settings, url: &str) {
    settings.github.client_id = Some(CLIENT_ID.into());
    settings.github.client_secret = Some(CLIENT_SECRET.to_owned().into());
    settings.github.authorize_url = format!("{url}/login/oauth/authorize");
    settings.github.token_url = format!("{url}/login/oauth/access_token");
    settings.github.api_url = format!("{url}/api");
    settings.github.timeout_secs = 2;
}

fn fresh(world: &mut World, prefix: &str) -> String {
    world.next += 1;
    format!("{prefix}{}", world.next)
}

/// The consent page, already agreed to: back to `redirect_uri` with a code, or a refusal.
async fn authorize(
    State(world): State<Arc<Mutex<World>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut world = world.lock().unwrap();
    world.authorizations.push(query.clone());
    let (Some(redirect_uri), Some(state)) = (query.get("redirect_uri"), query.get("state")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and state are needed").into_response();
    };
    if world.deny {
        let back = format!(
            "{redirect_uri}?error=access_denied&error_description=The+user+has+denied+your+application+access.&state={state}"
        );
        return Redirect::to(&back).into_response();
    }
    let person = world
        .person
        .clone()
        .expect("a person is signed in at GitHub");
    let challenge = query.get("code_challenge").cloned().unwrap_or_default();
    let code = fresh(&mut world, "code-");
    world.codes.insert(code.clone(), (challenge, person));
    Redirect::to(&format!("{redirect_uri}?code={code}&state={state}")).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    client_id: String,
    client_secret: String,
    code: String,
    code_verifier: Option<String>,
}

/// GitHub answers refusals with 200 and an `error` field.
fn token_error(error: &str) -> Response {
    Json(json!({"error": error, "error_description": "refused by the mock"})).into_response()
}

async fn access_token(
    State(world): State<Arc<Mutex<World>>>,
    Form(request): Form<TokenRequest>,
) -> Response {
    let mut world = world.lock().unwrap();
    if request.client_id != CLIENT_ID || request.client_secret != CLIENT_SECRET {
        return token_error("incorrect_client_credentials");
    }
    let verifier = request.code_verifier.unwrap_or_default();
    world.verifiers.push(verifier.clone());
    // A code works once, whatever happens next.
    let Some((challenge, person)) = world.codes.remove(&request.code) else {
        return token_error("bad_verification_code");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return token_error("bad_verification_code");
    }
    let token = fresh(&mut world, "gho_");
    world.tokens.insert(token.clone(), person);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

/// Why the API refused a request.
enum Refusal {
    NoUserAgent,
    BadCredentials,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NoUserAgent => (
                StatusCode::FORBIDDEN,
                "Request forbidden by administrative rules. Please make sure your request has a \
                 User-Agent header.",
            )
                .into_response(),
            Self::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Bad credentials", "status": "401"})),
            )
                .into_response(),
        }
    }
}

/// Who the bearer token belongs to; GitHub's API refuses requests without a User-Agent.
fn caller(world: &Mutex<World>, headers: &HeaderMap) -> Result<Person, Refusal> {
    if !headers.contains_key(header::USER_AGENT) {
        return Err(Refusal::NoUserAgent);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let world = world.lock().unwrap();
    world
        .tokens
        .get(token)
        .cloned()
        .ok_or(Refusal::BadCredentials)
}

async fn user(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    match caller(&world, &headers) {
        // GitHub's `email` is only the public one: null here, as for most people.
        Ok(person) => Json(json!({"id": person.id, "login": person.login, "email": Value::Null}))
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn emails(State(world): State<Arc<Mutex<World>>>, headers: HeaderMap) -> Response {
    match caller(&world, &headers) {
        Ok(person) => {
            let list: Vec<Value> = person
                .emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({"email": email, "primary": primary, "verified": verified,
                           "visibility": if *primary { Value::from("private") } else { Value::Null }})
                })
                .collect();
            Json(list).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}
