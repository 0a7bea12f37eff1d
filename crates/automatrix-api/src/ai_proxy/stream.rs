//! The proxy's streamed answers: the gateway opens a stream on the first target that answers
//! (fallback, retries and breakers apply until then), and a relay task turns its events into
//! OpenAI `chat.completion.chunk` server-sent events, whatever the provider's wire format.
//! The call is accounted for when the stream ends, or when the client goes away.

use std::convert::Infallible;
use std::time::Instant;

use automatrix_ai::{
    AskError, Prompt, StreamEvent, StreamingAnswer, Tenant, TenantCredentials, answered_stream,
    mock_tokens, resolve, unanswered,
};
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{ChatCompletionRequest, OrgTenant, completion_id, usage_json};
use crate::error::ApiError;

/// Frames the relay may run ahead of a slow client.
const BUFFER: usize = 32;

/// Opens the stream (or answers the error, as JSON, before any event) and relays it.
pub(super) async fn respond(
    tenant: OrgTenant,
    req: &ChatCompletionRequest,
    prompt: &Prompt,
) -> Result<Response, ApiError> {
    let alias = req.model.clone();
    let gateway = tenant.state.ai.clone();
    let started = Instant::now();
    let answer = match resolve(&tenant, &alias).await? {
        None => gateway.mock_stream(prompt),
        Some(route) => {
            let opened = gateway
                .call_stream(&route, prompt, &TenantCredentials(&tenant))
                .await;
            match opened {
                Ok(answer) => answer,
                Err(error) => {
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let usage = unanswered(&tenant, &alias, &route, &error, ms).await;
                    tenant.record(usage).await;
                    return Err(AskError::Call(error).into());
                }
            }
        }
    };
    let relay = Relay {
        id: completion_id(),
        created: Utc::now().timestamp(),
        include_usage: req.include_usage(),
        input_estimate: prompt
            .messages
            .iter()
            .map(|m| mock_tokens(&m.content))
            .sum(),
        alias,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(relay.run(answer, tx, tenant));
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), rx))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

struct Relay {
    id: String,
    created: i64,
    include_usage: bool,
    /// Input tokens by the mock's rule, for providers whose stream reports no usage.
    input_estimate: u64,
    alias: String,
}

fn frame(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

impl Relay {
    fn chunk(&self, model: &str, delta: Value, finish: Value) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    }

    /// Sends every event as a chunk, then the usage chunk (when asked for) and `[DONE]`; an
    /// error from the provider mid-answer becomes an `error` event and ends the stream. Stops
    /// early when the client has gone. Records the call either way.
    async fn run(self, mut answer: StreamingAnswer, tx: mpsc::Sender<Bytes>, tenant: OrgTenant) {
        let model = answer.model.clone();
        let mut text = String::new();
        let mut usage = None;
        let mut failed = false;
        let mut finished = false;
        let mut gone = tx
            .send(frame(&self.chunk(
                &model,
                json!({"role": "assistant", "content": ""}),
                Value::Null,
            )))
            .await
            .is_err();
        while !gone {
            let Some(event) = answer.events.next().await else {
                break;
            };
            let out = match event {
                Ok(StreamEvent::Text(t)) => {
                    text.push_str(&t);
                    self.chunk(&model, json!({"content": t}), Value::Null)
                }
                Ok(StreamEvent::Finish(reason)) => {
                    finished = true;
                    self.chunk(&model, json!({}), json!(reason))
                }
                Ok(StreamEvent::Usage {
                    input_tokens,
                    output_tokens,
                }) => {
                    usage = Some((input_tokens, output_tokens));
                    continue;
                }
                Err(e) => {
                    failed = true;
                    tracing::warn!(route = %self.alias, error = %e, "AI stream failed mid-answer");
                    json!({"error": {"message": format!("the AI provider failed mid-answer: {e}"),
                        "type": "server_error", "code": "AI_PROVIDER_FAILED"}})
                }
            };
            gone = tx.send(frame(&out)).await.is_err();
            if failed {
                break;
            }
        }
        let (input, output) = usage.unwrap_or_else(|| (self.input_estimate, mock_tokens(&text)));
        if !gone && !failed {
            let mut tail = Vec::new();
            if !finished {
                tail.push(frame(&self.chunk(&model, json!({}), json!("stop"))));
            }
            if self.include_usage {
                let mut last = self.chunk(&model, json!({}), Value::Null);
                last["choices"] = json!([]);
                last["usage"] = usage_json(input, output);
                tail.push(frame(&last));
            }
            tail.push(Bytes::from_static(b"data: [DONE]\n\n"));
            for f in tail {
                if tx.send(f).await.is_err() {
                    break;
                }
            }
        }
        let mut record = answered_stream(&self.alias, &answer, input, output);
        record.ok = !failed;
        tenant.record(record).await;
    }
}
