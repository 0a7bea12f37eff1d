//! The AI nodes in workflows, over HTTP, against the OpenAI and Anthropic stand-ins: routes
//! and fallback, the mock of the route `default`, budgets, accounting per execution and step,
//! schema repair, label matching and weighted splits. API keys never show.

use automatrix_testkit::{AiStandIn, Reply, Session, TestApp, both_backends};
use serde_json::{Value, json};

const OPENAI_KEY: &str = "sk-openai-secret-41";
const ANTHROPIC_KEY: &str = "sk-ant-secret-42";

async fn openai_credential(app: &TestApp, s: &Session, stand_in: &AiStandIn) -> String {
    let data = json!({"api_key": OPENAI_KEY, "base_url": stand_in.base_url()});
    app.create_credential(
        s,
        &format!("OpenAI {}", uuid::Uuid::now_v7()),
        "openai",
        data,
    )
    .await
}

async fn anthropic_credential(app: &TestApp, s: &Session, stand_in: &AiStandIn) -> String {
    let data = json!({"api_key": ANTHROPIC_KEY, "base_url": stand_in.base_url()});
    app.create_credential(s, "Anthropic", "anthropic", data)
        .await
}

fn target(credential_id: &str, model: &str, input_price: f64, output_price: f64) -> Value {
    json!({"credential_id": credential_id, "model": model,
        "input_usd_per_mtok": input_price, "output_usd_per_mtok": output_price})
}

async fn put_route(app: &TestApp, s: &Session, alias: &str, route: Value) {
    let res = app
        .put(&format!("/api/ai/routes/{alias}"), &s.access_token, &route)
        .await;
    assert!(
        res.status == 201 || res.status == 200,
        "route: {}",
        res.body
    );
}

/// A workflow of a manual trigger and one AI node; returns its id.
async fn one_node(app: &TestApp, s: &Session, kind: &str, config: Value) -> String {
    let wf = app
        .create_workflow(s, &format!("AI {}", uuid::Uuid::now_v7()), json!({
            "nodes": [{"id": "lead", "type": "trigger.manual"}, {"id": "ai", "type": kind, "config": config}],
            "edges": [{"from": "lead", "to": "ai"}]
        }))
        .await;
    wf["id"].as_str().unwrap().to_owned()
}

async fn usage_items(app: &TestApp, s: &Session, by: &str) -> Value {
    let res = app
        .get(&format!("/api/ai/usage?group_by={by}"), &s.access_token)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

both_backends! {
    async fn generate_falls_back_to_the_next_provider_and_accounts_for_the_step(app) {
        let s = app.signup().await;
        let anthropic = AiStandIn::anthropic().await;
        anthropic.always(Reply::server_error());
        let openai = AiStandIn::openai().await;
        openai.then(Reply::Text { text: "Hi Dana, the Civic is here.".into(), input_tokens: 1_000, output_tokens: 500 });
        let a = anthropic_credential(&app, &s, &anthropic).await;
        let o = openai_credential(&app, &s, &openai).await;
        put_route(&app, &s, "drafts", json!({"strategy": "fallback", "targets": [
            target(&a, "claude-3-5-haiku-latest", 0.8, 4.0), target(&o, "gpt-4o-mini", 0.15, 0.6)
        ]})).await;
        let wf = one_node(&app, &s, "ai.generate", json!({"model": "drafts", "system": "Be brief.", "prompt": "Reply to {{ $json.name }}"})).await;

        let exec = app.execute_and_wait(&s, &wf, json!({"name": "Dana"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        let out = &exec["output_data"];
        assert_eq!(out["text"], "Hi Dana, the Civic is here.");
        assert_eq!((out["provider"].as_str(), out["model"].as_str()), (Some("openai"), Some("gpt-4o-mini")));
        assert_eq!(out["route"], "drafts");
        assert_eq!(out["variant"], 1);
        assert_eq!(out["usage"], json!({"input_tokens": 1000, "output_tokens": 500}));
        // 1,000 × 0.15 + 500 × 0.6 per million.
        assert!((out["cost_usd"].as_f64().unwrap() - 0.000_45).abs() < 1e-12, "{out}");
        let outcomes: Vec<&str> = out["attempts"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["server error (500)", "server error (500)", "server error (500)", "answered"]);
        // The prompt went out with its expression filled in, the system message first.
        let sent = &openai.requests()[0].body;
        assert_eq!(sent["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply to Dana"}]));

        let by_workflow = usage_items(&app, &s, "workflow").await;
        assert_eq!(by_workflow["items"][0]["key"], wf.as_str(), "{by_workflow}");
        assert_eq!(by_workflow["input_tokens"], 1000);
        assert!((by_workflow["total_cost_usd"].as_f64().unwrap() - 0.000_45).abs() < 1e-12);
        let rows = app.store().ai_usage_report(s.organization_id, chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now() + chrono::Duration::hours(1), automatrix_store::AiUsageGroup::Model).await.unwrap();
        assert_eq!(rows.items.len(), 1, "one answered call: {rows:?}");

        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        let text = format!("{}{}", logs.body, exec);
        assert!(!text.contains(OPENAI_KEY) && !text.contains(ANTHROPIC_KEY), "{text}");
    }

    async fn the_default_route_runs_on_the_mock_until_one_is_configured(app) {
        let s = app.signup().await;
        let wf = one_node(&app, &s, "ai.generate", json!({"prompt": "Is the {{ $json.car }} available?"})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({"car": "Civic"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"]["text"], "[mock] Is the Civic available?");
        assert_eq!(exec["output_data"]["provider"], "mock");
        assert_eq!(usage_items(&app, &s, "model").await["items"][0]["key"], "mock");

        let openai = AiStandIn::openai().await;
        openai.always(Reply::text("A real answer"));
        let o = openai_credential(&app, &s, &openai).await;
        put_route(&app, &s, "default", json!({"targets": [target(&o, "gpt-4o-mini", 0.15, 0.6)]})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({"car": "Civic"})).await;
        assert_eq!(exec["output_data"]["text"], "A real answer");
        assert_eq!(exec["output_data"]["provider"], "openai");
    }

    async fn an_ai_step_over_budget_fails_before_calling_a_provider(app) {
        let s = app.signup().await;
        let openai = AiStandIn::openai().await;
        openai.always(Reply::text("never"));
        let o = openai_credential(&app, &s, &openai).await;
        put_route(&app, &s, "default", json!({"targets": [target(&o, "gpt-4o-mini", 0.15, 0.6)]})).await;
        let budget = app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 0, "alert_at": 0.8})).await;
        assert_eq!(budget.status, 200, "{}", budget.body);
        let wf = one_node(&app, &s, "ai.generate", json!({"prompt": "hi"})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;
        assert_eq!(exec["status"], "failed", "{exec}");
        let message = exec["error_message"].as_str().unwrap_or_default();
        assert!(message.contains("budget"), "{exec}");
        assert_eq!(openai.request_count(), 0);
    }

    async fn extract_repairs_an_invalid_answer_once_and_counts_both_calls(app) {
        let s = app.signup().await;
        let openai = AiStandIn::openai().await;
        openai.then(Reply::text(r#"{"year": "2017", "make": "Ford"}"#));
        openai.then(Reply::text("```json\n{\"year\": 2017, \"make\": \"Ford\"}\n```"));
        let o = openai_credential(&app, &s, &openai).await;
        put_route(&app, &s, "default", json!({"targets": [target(&o, "gpt-4o-mini", 1.0, 2.0)]})).await;
        let schema = json!({"type": "object", "properties": {"year": {"type": "integer"}, "make": {"type": "string"}}, "required": ["year", "make"]});
        let wf = one_node(&app, &s, "ai.extract", json!({"text": "{{ $json.comments }}", "schema": schema})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({"comments": "trading my 2017 Ford"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        let out = &exec["output_data"];
        assert_eq!(out["data"], json!({"year": 2017, "make": "Ford"}));
        assert_eq!(out["repaired"], true);
        assert_eq!(out["usage"], json!({"input_tokens": 20, "output_tokens": 10}));
        assert!((out["cost_usd"].as_f64().unwrap() - 0.000_04).abs() < 1e-12, "{out}");
        let requests = openai.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].body["response_format"], json!({"type": "json_object"}));
        let repair = requests[1].body["messages"].as_array().unwrap();
        assert_eq!(repair[2]["role"], "assistant");
        let ask = repair[3]["content"].as_str().unwrap();
        assert!(ask.contains("/year") && ask.contains("integer"), "{ask}");
        assert_eq!(usage_items(&app, &s, "model").await["items"][0]["calls"], 2);

        // Two misses fail the step, naming the problem.
        openai.then(Reply::text("not json"));
        openai.then(Reply::text(r#"{"year": 2017}"#));
        let exec = app.execute_and_wait(&s, &wf, json!({"comments": "x"})).await;
        assert_eq!(exec["status"], "failed", "{exec}");
        let message = exec["error_message"].as_str().unwrap();
        assert!(message.contains("did not match the schema, even after a repair") && message.contains("make"), "{message}");
    }

    async fn classify_gives_one_of_the_labels_as_written(app) {
        let s = app.signup().await;
        let openai = AiStandIn::openai().await;
        openai.then(Reply::text(r#"{"label": " HOT ", "confidence": 0.92}"#));
        openai.then(Reply::text(r#"{"label": "lukewarm", "confidence": 0.5}"#));
        openai.then(Reply::text(r#"{"label": "warm", "confidence": 0.6}"#));
        let o = openai_credential(&app, &s, &openai).await;
        put_route(&app, &s, "default", json!({"targets": [target(&o, "gpt-4o-mini", 0.15, 0.6)]})).await;
        let wf = one_node(&app, &s, "ai.classify", json!({"text": "{{ $json.comments }}", "labels": ["Hot", "warm", "cold"]})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({"comments": "ready to buy today"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"]["label"], "Hot");
        assert_eq!(exec["output_data"]["confidence"], 0.92);
        assert_eq!(exec["output_data"]["repaired"], false);
        let exec = app.execute_and_wait(&s, &wf, json!({"comments": "maybe next month"})).await;
        assert_eq!(exec["output_data"]["label"], "warm");
        assert_eq!(exec["output_data"]["repaired"], true);
    }

    async fn a_weighted_route_splits_calls_and_each_output_names_its_variant(app) {
        let s = app.signup().await;
        let a = AiStandIn::openai().await;
        a.always(Reply::text("from A"));
        let b = AiStandIn::openai().await;
        b.always(Reply::text("from B"));
        let ca = openai_credential(&app, &s, &a).await;
        let cb = openai_credential(&app, &s, &b).await;
        let mut ta = target(&ca, "model-a", 0.15, 0.6);
        ta["weight"] = json!(1);
        let mut tb = target(&cb, "model-b", 0.15, 0.6);
        tb["weight"] = json!(1);
        put_route(&app, &s, "ab", json!({"strategy": "weighted", "targets": [ta, tb]})).await;
        let wf = one_node(&app, &s, "ai.generate", json!({"model": "ab", "prompt": "hi"})).await;
        let mut variants = [0; 2];
        for _ in 0..16 {
            let exec = app.execute_and_wait(&s, &wf, json!({})).await;
            let out = &exec["output_data"];
            let v = usize::try_from(out["variant"].as_u64().unwrap()).unwrap();
            assert_eq!(out["text"], ["from A", "from B"][v]);
            assert_eq!(out["model"], ["model-a", "model-b"][v]);
            variants[v] += 1;
        }
        assert_eq!(variants[0], a.request_count());
        assert_eq!(variants[1], b.request_count());
        assert!(variants[0] > 0 && variants[1] > 0, "{variants:?}");
    }

    async fn a_rejected_request_fails_the_step_without_fallback(app) {
        let s = app.signup().await;
        let first = AiStandIn::openai().await;
        first.always(Reply::error(401, &format!("Incorrect API key provided: {OPENAI_KEY}.")));
        let second = AiStandIn::openai().await;
        second.always(Reply::text("never"));
        let c1 = openai_credential(&app, &s, &first).await;
        let c2 = openai_credential(&app, &s, &second).await;
        put_route(&app, &s, "default", json!({"targets": [target(&c1, "m", 0.0, 0.0), target(&c2, "m", 0.0, 0.0)]})).await;
        let wf = one_node(&app, &s, "ai.generate", json!({"prompt": "hi"})).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;
        assert_eq!(exec["status"], "failed", "{exec}");
        let message = exec["error_message"].as_str().unwrap();
        assert!(message.contains("rejected (401)") && message.contains("[redacted]"), "{message}");
        assert!(!exec.to_string().contains(OPENAI_KEY));
        assert_eq!(second.request_count(), 0);
        let usage = usage_items(&app, &s, "model").await;
        assert_eq!(usage["items"][0]["calls"], 1, "{usage}");
    }
}
