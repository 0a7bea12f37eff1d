//! The OpenAI-compatible proxy, `POST /api/ai/v1/chat/completions`, over HTTP on both
//! databases: routes with fallback, the mock, budgets, accounting, refusals, streaming from
//! either wire format, and the official `openai` Python client pointed at it.

use automatrix_testkit::{AiStandIn, Reply, Session, TestApp, both_backends};
use serde_json::{Value, json};

const PROXY: &str = "/api/ai/v1/chat/completions";
const KEY: &str = "sk-proxy-secret-77";

/// Sets route `alias` to the stand-ins, in order (1 USD per million input tokens, 2 per
/// million output tokens).
pub(crate) async fn route_to(
    app: &TestApp,
    s: &Session,
    alias: &str,
    stand_ins: &[(&AiStandIn, &str)],
) {
    let mut targets = Vec::new();
    for (i, (stand_in, kind)) in stand_ins.iter().enumerate() {
        let data = json!({"api_key": KEY, "base_url": stand_in.base_url()});
        let id = app
            .create_credential(
                s,
                &format!("{kind} {i} {}", uuid::Uuid::now_v7()),
                kind,
                data,
            )
            .await;
        targets.push(json!({"credential_id": id, "model": format!("model-{i}"),
            "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0}));
    }
    let res = app
        .put(
            &format!("/api/ai/routes/{alias}"),
            &s.access_token,
            &json!({"targets": targets}),
        )
        .await;
    assert!(res.status == 201 || res.status == 200, "{}", res.body);
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Is the Civic available?"}]})
}

/// The `data:` payloads of a server-sent-events body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// Streams `body` through the proxy; returns the content type and the `data:` payloads.
async fn stream(app: &TestApp, s: &Session, body: Value) -> (String, Vec<String>) {
    let res = app
        .http
        .post(app.url(PROXY))
        .bearer_auth(&s.access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    (kind, events(&res.text().await.unwrap()))
}

fn text_of(events: &[String]) -> String {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

both_backends! {
    async fn the_proxy_answers_through_a_route_with_fallback_and_accounts_for_it(app) {
        let s = app.signup().await;
        let down = AiStandIn::openai().await;
        down.always(Reply::server_error());
        let up = AiStandIn::anthropic().await;
        up.then(Reply::Text { text: "Yes, it is on the lot.".into(), input_tokens: 2_000, output_tokens: 1_000 });
        route_to(&app, &s, "bdc", &[(&down, "openai"), (&up, "anthropic")]).await;

        let res = app.post(PROXY, &s.access_token, &ask("bdc")).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["object"], "chat.completion");
        assert_eq!(res.body["model"], "model-1");
        assert_eq!(res.body["choices"][0]["message"], json!({"role": "assistant", "content": "Yes, it is on the lot."}));
        assert_eq!(res.body["choices"][0]["finish_reason"], "stop");
        assert_eq!(res.body["usage"], json!({"prompt_tokens": 2000, "completion_tokens": 1000, "total_tokens": 3000}));
        assert_eq!(res.body["automatrix"]["provider"], "anthropic");
        assert_eq!(res.body["automatrix"]["variant"], 1);
        // 2,000 × 1 + 1,000 × 2 per million.
        assert!((res.body["automatrix"]["cost_usd"].as_f64().unwrap() - 0.004).abs() < 1e-12);
        assert!(!res.body.to_string().contains(KEY));

        let usage = app.get("/api/ai/usage?group_by=workflow", &s.access_token).await;
        assert_eq!(usage.body["calls"], 1, "{}", usage.body);
        assert_eq!(usage.body["items"][0]["key"], automatrix_store::AI_USAGE_NO_WORKFLOW);
        assert!((usage.body["total_cost_usd"].as_f64().unwrap() - 0.004).abs() < 1e-12);
    }

    async fn the_proxy_answers_default_from_the_mock_and_refuses_what_it_cannot_do(app) {
        let s = app.signup().await;
        let res = app.post(PROXY, &s.access_token, &ask("default")).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["model"], "mock");
        assert_eq!(res.body["choices"][0]["message"]["content"], "[mock] Is the Civic available?");

        let missing = app.post(PROXY, &s.access_token, &ask("no-such-route")).await;
        missing.assert_error(404, "MODEL_NOT_FOUND");
        assert!(missing.body["error"]["message"].as_str().unwrap().contains("no AI route `no-such-route`"));
        let mut tools = ask("default");
        tools["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
        app.post(PROXY, &s.access_token, &tools).await.assert_error(422, "VALIDATION_ERROR");
        let unauthenticated = app.request(axum::http::Method::POST, PROXY, None, Some(&ask("default"))).await;
        assert_eq!(unauthenticated.status, 401);
    }

    async fn the_proxy_refuses_over_budget_and_passes_on_a_rejection(app) {
        let s = app.signup().await;
        let provider = AiStandIn::openai().await;
        provider.always(Reply::error(400, "This model's maximum context length is 8192 tokens."));
        route_to(&app, &s, "default", &[(&provider, "openai")]).await;
        let rejected = app.post(PROXY, &s.access_token, &ask("default")).await;
        rejected.assert_error(400, "AI_REQUEST_REJECTED");
        assert!(rejected.body["error"]["message"].as_str().unwrap().contains("maximum context length"));

        assert_eq!(app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 0, "alert_at": 0.5})).await.status, 200);
        let before = provider.request_count();
        let refused = app.post(PROXY, &s.access_token, &ask("default")).await;
        refused.assert_error(402, "BUDGET_EXCEEDED");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains("budget"));
        assert_eq!(provider.request_count(), before);
    }

    async fn a_streamed_answer_is_relayed_as_openai_chunks_from_either_wire_format(app) {
        let s = app.signup().await;
        let openai = AiStandIn::openai().await;
        openai.then(Reply::Text { text: "Yes, it is on the lot.".into(), input_tokens: 30, output_tokens: 7 });
        route_to(&app, &s, "openai-route", &[(&openai, "openai")]).await;
        let mut body = ask("openai-route");
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let (kind, frames) = stream(&app, &s, body.clone()).await;
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        assert_eq!(text_of(&frames), "Yes, it is on the lot.");
        assert_eq!(frames.last().unwrap(), "[DONE]");
        let usage: Value = serde_json::from_str(&frames[frames.len() - 2]).unwrap();
        assert_eq!(usage["usage"], json!({"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37}));
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(openai.requests()[0].body["stream"], true);

        // Anthropic's events, a fallback before the stream opened, and no usage chunk unasked.
        let down = AiStandIn::openai().await;
        down.always(Reply::server_error());
        let anthropic = AiStandIn::anthropic().await;
        anthropic.then(Reply::Text { text: "Booked for Tuesday.".into(), input_tokens: 12, output_tokens: 4 });
        route_to(&app, &s, "mixed", &[(&down, "openai"), (&anthropic, "anthropic")]).await;
        let mut body = ask("mixed");
        body["stream"] = json!(true);
        let (_, frames) = stream(&app, &s, body).await;
        assert_eq!(text_of(&frames), "Booked for Tuesday.");
        let chunks: Vec<Value> = frames.iter().filter_map(|f| serde_json::from_str(f).ok()).collect();
        assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "model-1"), "{chunks:?}");
        assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"));
        assert!(chunks.iter().all(|c| c.get("usage").is_none()));

        let usage = app.get("/api/ai/usage?group_by=model", &s.access_token).await;
        let items = usage.body["items"].as_array().unwrap();
        let tokens: Vec<(i64, i64)> = items.iter().map(|i| (i["input_tokens"].as_i64().unwrap(), i["output_tokens"].as_i64().unwrap())).collect();
        // One row per answered call: the streamed OpenAI answer (model-0), the Anthropic one (model-1).
        assert_eq!(tokens, [(30, 7), (12, 4)], "{}", usage.body);
    }

    async fn the_official_openai_python_client_works_against_the_proxy(app) {
        let Some(python) = std::env::var_os("AUTOMATRIX_TEST_PYTHON") else {
            eprintln!("skipped: AUTOMATRIX_TEST_PYTHON (a Python with the `openai` package, see crates/automatrix-testkit/python) is not set");
            return;
        };
        let s = app.signup().await;
        let provider = AiStandIn::openai().await;
        provider.always(Reply::Text { text: "Yes, it is on the lot.".into(), input_tokens: 21, output_tokens: 8 });
        route_to(&app, &s, "bdc", &[(&provider, "openai")]).await;
        // Software that runs unattended uses an API key, as the OpenAI client's `api_key`.
        let key = app.post("/api/api-keys", &s.access_token, &json!({"name": "CRM plug-in", "role": "editor"})).await;
        assert_eq!(key.status, 201, "{}", key.body);
        let key = key.body["key"].as_str().unwrap().to_owned();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/openai_client.py");
        let out = tokio::process::Command::new(python)
            .arg(script)
            .env("AUTOMATRIX_BASE", &app.base)
            .env("AUTOMATRIX_TOKEN", &key)
            .env("AUTOMATRIX_MODEL", "bdc")
            .output()
            .await
            .expect("python runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python failed: {stderr}");
        let seen: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
        assert_eq!(seen["text"], "Yes, it is on the lot.");
        assert_eq!(seen["finish_reason"], "stop");
        assert_eq!(seen["model"], "model-0");
        assert_eq!(seen["usage"]["total_tokens"], 29);
        assert_eq!(seen["streamed"], "Yes, it is on the lot.");
        assert_eq!(seen["stream_finish_reason"], "stop");
        assert_eq!(seen["stream_usage"]["prompt_tokens"], 21);
        assert_eq!(seen["stream_model"], "model-0");
        assert_eq!(seen["missing"]["status"], 404);
        let sent = &provider.requests()[0].body;
        assert_eq!(sent["temperature"], 0.2);
        assert_eq!(sent["messages"][0], json!({"role": "system", "content": "You are the BDC assistant."}));
    }
}
