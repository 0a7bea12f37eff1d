//! Local stand-ins for AI providers: OpenAI's chat completions (also what Azure OpenAI and
//! compatible servers speak) and Anthropic's Messages API, on the wire as the real services
//! answer. Each test scripts the replies ([`Reply`]) and reads back what was sent
//! ([`RecordedRequest`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::MockServer;

/// Which wire format a stand-in speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `POST …/chat/completions` (any path ending so, Azure's included).
    OpenAi,
    /// `POST /v1/messages`.
    Anthropic,
}

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this text and usage; server-sent events when the request has `stream: true`.
    Text {
        text: String,
        input_tokens: u64,
        output_tokens: u64,
    },
    /// 429, with `Retry-After: <value>` when given.
    RateLimited { retry_after: Option<String> },
    /// This status with the provider's error body.
    Error { status: u16, message: String },
    /// 200 with a body that is not JSON.
    Malformed,
    /// Waits, then replies.
    Slow { delay: Duration, then: Box<Reply> },
    /// 200, then the first event of a stream (of the text "ok"), then nothing: the connection
    /// stays open until the client gives up. For idle timeouts.
    Stalled,
}

impl Reply {
    /// 200 with `text`, 10 input and 5 output tokens.
    pub fn text(text: &str) -> Self {
        Self::Text {
            text: text.into(),
            input_tokens: 10,
            output_tokens: 5,
        }
    }

    /// 429 with `Retry-After: <seconds>`.
    pub fn rate_limited(retry_after: &str) -> Self {
        Self::RateLimited {
            retry_after: Some(retry_after.into()),
        }
    }

    /// 500.
    pub fn server_error() -> Self {
        Self::Error {
            status: 500,
            message: "The server had an error while processing your request.".into(),
        }
    }

    pub fn error(status: u16, message: &str) -> Self {
        Self::Error {
            status,
            message: message.into(),
        }
    }

    /// `then`, after `delay`.
    pub fn slow(delay: Duration, then: Reply) -> Self {
        Self::Slow {
            delay,
            then: Box::new(then),
        }
    }
}

/// A request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Reply>,
    /// When the queue is empty.
    otherwise: Option<Reply>,
    requests: Vec<RecordedRequest>,
}

#[derive(Clone)]
struct Shared {
    flavor: Flavor,
    script: Arc<Mutex<Script>>,
}

/// A scriptable AI provider on 127.0.0.1 and a free port, until dropped.
pub struct AiStandIn {
    server: MockServer,
    flavor: Flavor,
    script: Arc<Mutex<Script>>,
}

impl AiStandIn {
    /// OpenAI's wire format; [`Self::base_url`] ends in `/v1`.
    pub async fn openai() -> Self {
        Self::start(Flavor::OpenAi).await
    }

    /// Anthropic's wire format; [`Self::base_url`] is the server's root.
    pub async fn anthropic() -> Self {
        Self::start(Flavor::Anthropic).await
    }

    async fn start(flavor: Flavor) -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let router = axum::Router::new().fallback(serve).with_state(Shared {
            flavor,
            script: script.clone(),
        });
        Self {
            server: MockServer::start(router).await,
            flavor,
            script,
        }
    }

    /// What a credential's `base_url` (or Azure's `endpoint`) should be.
    pub fn base_url(&self) -> String {
        match self.flavor {
            Flavor::OpenAi => self.server.url("/v1"),
            Flavor::Anthropic => self.server.url(""),
        }
    }

    /// The server's root URL (for Azure's `endpoint`).
    pub fn root_url(&self) -> String {
        self.server.url("")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().expect("stand-in script")
    }

    /// Queues a reply for the next request.
    pub fn then(&self, reply: Reply) -> &Self {
        self.lock().queue.push_back(reply);
        self
    }

    /// The reply once the queue is empty (by default: [`Reply::text`] `"ok"`).
    pub fn always(&self, reply: Reply) -> &Self {
        self.lock().otherwise = Some(reply);
        self
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }
}

async fn serve(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply = {
        let mut script = shared.script.lock().expect("stand-in script");
        script.requests.push(RecordedRequest {
            method: method.to_string(),
            uri: uri.to_string(),
            headers,
            body: body.clone(),
        });
        script
            .queue
            .pop_front()
            .or_else(|| script.otherwise.clone())
            .unwrap_or_else(|| Reply::text("ok"))
    };
    let path_ok = match shared.flavor {
        Flavor::OpenAi => uri.path().ends_with("/chat/completions"),
        Flavor::Anthropic => uri.path() == "/v1/messages",
    };
    if method != Method::POST || !path_ok {
        return error(shared.flavor, 404, &format!("no route for {method} {uri}"));
    }
    let mut reply = reply;
    while let Reply::Slow { delay, then } = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    let model = body["model"].as_str().unwrap_or("unknown").to_owned();
    match reply {
        Reply::Text {
            text,
            input_tokens,
            output_tokens,
        } => {
            let usage = Usage {
                input: input_tokens,
                output: output_tokens,
            };
            if body["stream"] == true {
                let events = match shared.flavor {
                    Flavor::OpenAi => openai_stream(&model, &text, usage, &body),
                    Flavor::Anthropic => anthropic_stream(&model, &text, usage),
                };
                return respond(200, "text/event-stream", events);
            }
            let answer = match shared.flavor {
                Flavor::OpenAi => openai_answer(&model, &text, usage),
                Flavor::Anthropic => anthropic_answer(&model, &text, usage),
            };
            respond(200, "application/json", answer.to_string())
        }
        Reply::RateLimited { retry_after } => {
            let mut r = error(
                shared.flavor,
                429,
                "Rate limit reached. Please retry later.",
            );
            if let Some(after) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, after.parse().expect("a header value"));
            }
            r
        }
        Reply::Error { status, message } => error(shared.flavor, status, &message),
        Reply::Stalled => {
            let events = match shared.flavor {
                Flavor::OpenAi => openai_stream(&model, "ok", Usage::default(), &body),
                Flavor::Anthropic => anthropic_stream(&model, "ok", Usage::default()),
            };
            let first = events
                .split_inclusive("\n\n")
                .next()
                .unwrap_or("")
                .to_owned();
            let body = futures::stream::once(async { Ok::<_, Infallible>(first) })
                .chain(futures::stream::pending());
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(body))
                .expect("a response")
        }
        Reply::Malformed => respond(
            200,
            "application/json",
            r#"{"id": "x", "choices": ["#.into(),
        ),
        Reply::Slow { .. } => unreachable!("unwrapped above"),
    }
}

#[derive(Clone, Copy, Default)]
struct Usage {
    input: u64,
    output: u64,
}

fn respond(status: u16, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("a status"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("a response")
}

/// The provider's error body.
fn error(flavor: Flavor, status: u16, message: &str) -> Response {
    let body = match flavor {
        Flavor::OpenAi => json!({"error": {"message": message, "type": kind(status),
            "param": null, "code": null}}),
        Flavor::Anthropic => json!({"type": "error", "error": {"type": kind(status),
            "message": message}}),
    };
    respond(status, "application/json", body.to_string())
}

fn kind(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

fn openai_answer(model: &str, text: &str, usage: Usage) -> Value {
    json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
            "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage.input, "completion_tokens": usage.output,
            "total_tokens": usage.input + usage.output},
    })
}

fn anthropic_answer(model: &str, text: &str, usage: Usage) -> Value {
    json!({
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": usage.input, "output_tokens": usage.output},
    })
}

/// The text in word-sized chunks (the spaces kept), as streams deliver it.
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `data: {chunk}` lines, a final chunk with the finish reason, the usage chunk when
/// `stream_options.include_usage`, then `data: [DONE]`.
fn openai_stream(model: &str, text: &str, usage: Usage, request: &Value) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-standin", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    events.extend(
        chunks(text)
            .into_iter()
            .map(|c| chunk(json!({"content": c}), Value::Null)),
    );
    events.push(chunk(json!({}), json!("stop")));
    if request["stream_options"]["include_usage"] == true {
        events.push(
            json!({"id": "chatcmpl-standin", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "choices": [],
            "usage": {"prompt_tokens": usage.input, "completion_tokens": usage.output,
                "total_tokens": usage.input + usage.output}}),
        );
    }
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}

/// `message_start`, `content_block_start`, `ping`, one `content_block_delta` per chunk,
/// `content_block_stop`, `message_delta` (stop reason and output tokens), `message_stop`.
fn anthropic_stream(model: &str, text: &str, usage: Usage) -> String {
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_standin", "type": "message",
                "role": "assistant", "model": model, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": usage.input, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
    ];
    events.extend(chunks(text).into_iter().map(|c| {
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": c}}),
        )
    }));
    events.extend([
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                "stop_sequence": null}, "usage": {"output_tokens": usage.output}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}
