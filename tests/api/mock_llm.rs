//! A stand-in for an OpenAI-compatible endpoint: a real HTTP server that answers each
//! `POST /v1/chat/completions` with the next scripted reply, and remembers what it was sent.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use txtcv::config::{LlmProviderKind, Settings};

#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this letter as the assistant's message.
    Letter(&'static str),
    /// This status with a small JSON error body.
    Status(u16),
    /// 200 with a body that is not a chat completion.
    Malformed,
    /// Wait this long, then answer as the inner reply.
    After(Duration, Box<Reply>),
}

#[derive(Clone)]
struct Script {
    replies: Arc<Mutex<Vec<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

pub struct MockLlm {
    pub base_url: String,
    script: Script,
}

impl MockLlm {
    /// Serves `replies` in order; the last one is repeated once the others are used up.
    pub async fn start(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty());
        let script = Script {
            replies: Arc::new(Mutex::new(replies)),
            requests: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url, script }
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.script.requests.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.script.requests.lock().unwrap().len()
    }
}

/// Settings that send letters to `mock`, as an OpenAI-compatible provider, for `spawn_app_with`.
pub fn with_openai(mock: &MockLlm) -> impl FnOnce(&mut Settings) + use<> {
    let base_url = mock.base_url.clone();
    move |settings: &mut Settings| {
        settings.llm.provider = LlmProviderKind::Openai;
        settings.llm.base_url = base_url;
        settings.llm.model = "mock-model".into();
        settings.llm.retry_backoff_ms = 10;
    }
}

async fn answer(State(script): State<Script>, Json(request): Json<Value>) -> Response {
    script.requests.lock().unwrap().push(request);
    let reply = {
        let mut replies = script.replies.lock().unwrap();
        if replies.len() > 1 {
            replies.remove(0)
        } else {
            replies[0].clone()
        }
    };
    respond(reply).await
}

async fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Letter(text) => Json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "mock-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]
        }))
        .into_response(),
        Reply::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap();
            (
                status,
                Json(json!({"error": {"message": "scripted failure"}})),
            )
                .into_response()
        }
        Reply::Malformed => (StatusCode::OK, "this is not json").into_response(),
        Reply::After(wait, reply) => {
            tokio::time::sleep(wait).await;
            Box::pin(respond(*reply)).await
        }
    }
}
