//! The AI gateway against local stand-ins for the OpenAI and Anthropic wire formats: what each
//! provider sends, how answers and usage are read, and how the gateway retries, fails over,
//! draws weighted targets, breaks circuits and prices answers. No real provider is called;
//! waits are tiny configured delays.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use automatrix_ai::{
    AiError, Answer, Gateway, GatewayConfig, Message, Outcome, Prompt, ProviderError, StreamEvent,
    StreamingAnswer, http_client,
};
use automatrix_core::ai::{Route, Strategy, Target};
use automatrix_core::services::Credential;
use automatrix_testkit::{AiStandIn, Reply};
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

const KEY: &str = "sk-test-very-secret-key";

/// Fast: 1-5 ms backoffs, 2 retries per target, a 300 ms call timeout.
fn config() -> GatewayConfig {
    GatewayConfig {
        timeout: Duration::from_millis(300),
        retries_per_target: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        retry_after_cap: Duration::from_secs(2),
        breaker_threshold: 100,
        breaker_cool_down: Duration::from_millis(300),
        seed: Some(42),
    }
}

fn gateway(config: GatewayConfig) -> Gateway {
    Gateway::new(config).expect("a gateway")
}

/// Credentials by id, and a route over them.
#[derive(Default)]
struct Setup {
    credentials: HashMap<Uuid, Credential>,
    targets: Vec<Target>,
}

impl Setup {
    fn target(mut self, kind: &str, data: Value, model: &str, weight: Option<f64>) -> Self {
        let id = Uuid::new_v4();
        self.credentials.insert(
            id,
            Credential {
                kind: kind.into(),
                data,
            },
        );
        self.targets.push(Target {
            credential_id: id,
            model: model.into(),
            weight,
            input_usd_per_mtok: 1.0,
            output_usd_per_mtok: 2.0,
        });
        self
    }

    fn openai(self, s: &AiStandIn, model: &str) -> Self {
        self.target(
            "openai",
            json!({"api_key": KEY, "base_url": s.base_url()}),
            model,
            None,
        )
    }

    fn anthropic(self, s: &AiStandIn, model: &str) -> Self {
        self.target(
            "anthropic",
            json!({"api_key": KEY, "base_url": s.base_url()}),
            model,
            None,
        )
    }

    fn route(&self, strategy: Strategy) -> Route {
        Route {
            strategy,
            targets: self.targets.clone(),
        }
    }

    async fn call(&self, g: &Gateway, strategy: Strategy) -> Result<Answer, AiError> {
        g.call(
            &self.route(strategy),
            &Prompt::user("Hi"),
            &self.credentials,
        )
        .await
    }

    async fn stream(&self, g: &Gateway) -> Result<StreamingAnswer, AiError> {
        g.call_stream(
            &self.route(Strategy::Fallback),
            &Prompt::user("Hi"),
            &self.credentials,
        )
        .await
    }

    /// A fallback call in `mode`, a streamed answer collected.
    async fn ask(&self, g: &Gateway, mode: Mode) -> Result<Answer, AiError> {
        match mode {
            Mode::Whole => self.call(g, Strategy::Fallback).await,
            Mode::Streamed => Ok(collect(self.stream(g).await?).await),
        }
    }
}

/// Whether a test asks with `Gateway::call` or `Gateway::call_stream`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Whole,
    Streamed,
}

const MODES: [Mode; 2] = [Mode::Whole, Mode::Streamed];

/// A streamed answer read to its end, as the `Answer` it amounts to (`latency_ms` 0). Panics
/// on an error item, a second finish or a second usage.
async fn collect(mut streamed: StreamingAnswer) -> Answer {
    let events = std::mem::replace(&mut streamed.events, Box::pin(futures::stream::empty()));
    let events: Vec<_> = events.collect().await;
    let (mut text, mut finish, mut usage) = (String::new(), None, None);
    for event in events {
        match event.expect("no error in the stream") {
            StreamEvent::Text(t) => text.push_str(&t),
            StreamEvent::Finish(f) => assert!(finish.replace(f).is_none(), "one finish"),
            StreamEvent::Usage {
                input_tokens,
                output_tokens,
            } => assert!(
                usage.replace((input_tokens, output_tokens)).is_none(),
                "one usage"
            ),
        }
    }
    let (input_tokens, output_tokens) = usage.unwrap_or_default();
    Answer {
        text,
        cost_usd: streamed.cost_usd(input_tokens, output_tokens),
        provider: streamed.provider,
        model: streamed.model,
        target_index: streamed.target_index,
        attempts: streamed.attempts,
        input_tokens,
        output_tokens,
        latency_ms: 0,
        finish_reason: finish,
    }
}

fn outcomes(attempts: &[automatrix_ai::Attempt]) -> Vec<(usize, String)> {
    attempts
        .iter()
        .map(|a| (a.target_index, a.outcome.to_string()))
        .collect()
}

#[tokio::test]
async fn a_rate_limited_target_is_retried_then_the_next_one_answers() {
    for mode in MODES {
        rate_limited_then_next(mode).await;
    }
}

async fn rate_limited_then_next(mode: Mode) {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::anthropic().await);
    a.always(Reply::RateLimited { retry_after: None });
    b.then(Reply::Text {
        text: "From B".into(),
        input_tokens: 1_000,
        output_tokens: 500,
    });
    let s = Setup::default()
        .openai(&a, "gpt-4o-mini")
        .anthropic(&b, "claude-3-5-haiku-latest");

    let answer = s.ask(&gateway(config()), mode).await.unwrap();

    assert_eq!(answer.text, "From B");
    assert_eq!(
        (
            answer.provider.as_str(),
            answer.model.as_str(),
            answer.target_index
        ),
        ("anthropic", "claude-3-5-haiku-latest", 1),
        "{mode:?}"
    );
    assert_eq!(a.request_count(), 3, "one call and two retries");
    assert_eq!(b.request_count(), 1);
    assert_eq!(
        outcomes(&answer.attempts),
        [
            (0, "rate limited (429)".into()),
            (0, "rate limited (429)".into()),
            (0, "rate limited (429)".into()),
            (1, "answered".into())
        ]
    );
    assert_eq!((answer.input_tokens, answer.output_tokens), (1_000, 500));
    // 1 000 × $1/Mtok + 500 × $2/Mtok.
    assert!(
        (answer.cost_usd - 0.002).abs() < 1e-12,
        "{}",
        answer.cost_usd
    );
}

#[tokio::test]
async fn server_errors_are_retried_on_the_same_target_before_failing_over() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.then(Reply::server_error())
        .then(Reply::text("A recovered"));
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");
    let g = gateway(config());

    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert_eq!(
        (answer.text.as_str(), answer.target_index),
        ("A recovered", 0)
    );
    assert_eq!(b.request_count(), 0);

    a.always(Reply::error(503, "overloaded"));
    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert_eq!(answer.target_index, 1);
    assert_eq!(a.request_count(), 2 + 3);
    assert_eq!(answer.attempts[0].outcome.to_string(), "server error (503)");
}

#[tokio::test]
async fn a_rejected_request_stops_without_trying_the_next_target() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.always(Reply::error(400, "Unknown parameter: 'foo'."));
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");

    for (calls, mode) in (1..).zip(MODES) {
        let err = s.ask(&gateway(config()), mode).await.unwrap_err();

        assert_eq!(b.request_count(), 0);
        assert_eq!(a.request_count(), calls, "not retried ({mode:?})");
        assert_eq!(err.rejection(), Some((400, "Unknown parameter: 'foo'.")));
        assert_eq!(
            err.to_string(),
            "AI call failed: target 0 (m1): rejected (400): Unknown parameter: 'foo'."
        );
    }
}

#[tokio::test]
async fn retry_after_is_waited_for_up_to_the_cap_and_beyond_it_the_next_target_answers() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.then(Reply::rate_limited("1"))
        .then(Reply::text("after the wait"));
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");
    let g = gateway(config());

    let started = Instant::now();
    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    assert_eq!(
        (answer.text.as_str(), answer.target_index),
        ("after the wait", 0)
    );
    assert_eq!(
        answer.attempts[0].outcome.to_string(),
        "rate limited (429), retry after 1000 ms"
    );

    // 30 s is over the 2 s cap: no wait, no retry, the next target at once.
    a.then(Reply::rate_limited("30"));
    let started = Instant::now();
    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(answer.target_index, 1);
    assert_eq!(a.request_count(), 3);
}

#[tokio::test]
async fn a_breaker_opens_after_consecutive_failures_skips_its_target_then_probes() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.always(Reply::server_error());
    b.always(Reply::text("B"));
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");
    let g = gateway(GatewayConfig {
        retries_per_target: 0,
        breaker_threshold: 3,
        breaker_cool_down: Duration::from_millis(300),
        ..config()
    });

    for _ in 0..3 {
        assert_eq!(s.call(&g, Strategy::Fallback).await.unwrap().text, "B");
    }
    assert_eq!(a.request_count(), 3);

    // Open: A is skipped without a request, whole or streamed.
    for mode in MODES {
        let answer = s.ask(&g, mode).await.unwrap();
        assert_eq!(answer.attempts[0].outcome, Outcome::CircuitOpen, "{mode:?}");
        assert_eq!(answer.text, "B");
    }
    assert_eq!(a.request_count(), 3);

    // After the cool-down one probe goes through; it fails, so the breaker opens again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    s.call(&g, Strategy::Fallback).await.unwrap();
    assert_eq!(a.request_count(), 4);
    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert_eq!(answer.attempts[0].outcome, Outcome::CircuitOpen);

    // The next probe, a stream this time, succeeds: closed again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    a.always(Reply::text("A is back"));
    assert_eq!(s.ask(&g, Mode::Streamed).await.unwrap().text, "A is back");
    assert_eq!(
        s.call(&g, Strategy::Fallback).await.unwrap().text,
        "A is back"
    );
    assert_eq!(a.request_count(), 6);
}

#[tokio::test]
async fn a_weighted_route_splits_calls_by_weight_with_a_seeded_draw() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.always(Reply::text("A"));
    b.always(Reply::text("B"));
    let s = Setup::default()
        .target(
            "openai",
            json!({"api_key": KEY, "base_url": a.base_url()}),
            "variant-a",
            Some(1.0),
        )
        .target(
            "openai_compatible",
            json!({"base_url": b.base_url()}),
            "variant-b",
            Some(3.0),
        );

    let mut picks = Vec::new();
    let g = gateway(config());
    for _ in 0..200 {
        picks.push(s.call(&g, Strategy::Weighted).await.unwrap().target_index);
    }
    let to_a = picks.iter().filter(|&&i| i == 0).count();
    assert!(
        (30..=70).contains(&to_a),
        "{to_a} of 200 to A, expected about 50"
    );
    assert_eq!((a.request_count(), b.request_count()), (to_a, 200 - to_a));

    // The same seed draws the same sequence.
    let g = gateway(config());
    for &expected in &picks[..20] {
        assert_eq!(
            s.call(&g, Strategy::Weighted).await.unwrap().target_index,
            expected
        );
    }
}

#[tokio::test]
async fn a_weighted_route_falls_back_to_the_other_targets_when_the_drawn_one_fails() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.always(Reply::text("A"));
    b.always(Reply::error(502, "bad gateway"));
    let s = Setup::default().openai(&a, "a").target(
        "openai",
        json!({"api_key": KEY, "base_url": b.base_url()}),
        "b",
        Some(1.0),
    );
    let mut route = s.route(Strategy::Weighted);
    route.targets[0].weight = Some(0.000_001);
    let g = gateway(config());

    let answer = g
        .call(&route, &Prompt::user("Hi"), &s.credentials)
        .await
        .unwrap();

    assert_eq!(answer.target_index, 0);
    assert_eq!(
        outcomes(&answer.attempts)
            .iter()
            .map(|o| o.0)
            .collect::<Vec<_>>(),
        [1, 1, 1, 0]
    );
}

#[tokio::test]
async fn openai_requests_carry_the_bearer_key_organization_and_body() {
    let s = AiStandIn::openai().await;
    s.then(Reply::Text {
        text: "{\"ok\":true}".into(),
        input_tokens: 42,
        output_tokens: 7,
    });
    let setup = Setup::default().target(
        "openai",
        json!({"api_key": KEY, "base_url": s.base_url(), "organization": "org-dealer"}),
        "gpt-4o-mini",
        None,
    );
    let prompt = Prompt {
        messages: vec![
            Message::system("Be brief."),
            Message::user("Qualify this lead."),
        ],
        temperature: Some(0.3),
        max_tokens: Some(200),
        json: true,
    };

    let answer = gateway(config())
        .call(
            &setup.route(Strategy::Fallback),
            &prompt,
            &setup.credentials,
        )
        .await
        .unwrap();

    assert_eq!(answer.text, "{\"ok\":true}");
    assert_eq!((answer.input_tokens, answer.output_tokens), (42, 7));
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    let r = &s.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.uri.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("openai-organization"), Some("org-dealer"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({"model": "gpt-4o-mini", "stream": false, "temperature": 0.3, "max_tokens": 200,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Qualify this lead."}]})
    );
}

#[tokio::test]
async fn azure_requests_name_the_deployment_and_version_and_send_an_api_key_header() {
    let s = AiStandIn::openai().await;
    let setup = Setup::default().target(
        "azure_openai",
        json!({"api_key": KEY, "endpoint": s.root_url(), "deployment": "gpt4o-prod",
            "api_version": "2024-10-21"}),
        "gpt-4o",
        None,
    );

    let answer = setup
        .call(&gateway(config()), Strategy::Fallback)
        .await
        .unwrap();

    assert_eq!(answer.provider, "azure_openai");
    assert_eq!((answer.input_tokens, answer.output_tokens), (10, 5));
    let r = &s.requests()[0];
    assert_eq!(
        r.uri,
        "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body["messages"],
        json!([{"role": "user", "content": "Hi"}])
    );
}

#[tokio::test]
async fn anthropic_requests_carry_the_key_version_system_prompt_and_max_tokens() {
    let s = AiStandIn::anthropic().await;
    s.then(Reply::Text {
        text: "Sure.".into(),
        input_tokens: 30,
        output_tokens: 2,
    });
    let setup = Setup::default().anthropic(&s, "claude-3-5-haiku-latest");
    let prompt = Prompt {
        messages: vec![
            Message::system("You work at a dealership."),
            Message::user("Hi"),
        ],
        ..Prompt::default()
    };

    let answer = gateway(config())
        .call(
            &setup.route(Strategy::Fallback),
            &prompt,
            &setup.credentials,
        )
        .await
        .unwrap();

    assert_eq!(
        (answer.text.as_str(), answer.provider.as_str()),
        ("Sure.", "anthropic")
    );
    assert_eq!((answer.input_tokens, answer.output_tokens), (30, 2));
    assert_eq!(answer.finish_reason.as_deref(), Some("end_turn"));
    let r = &s.requests()[0];
    assert_eq!(r.uri, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({"model": "claude-3-5-haiku-latest", "max_tokens": 1024,
            "system": "You work at a dealership.",
            "messages": [{"role": "user", "content": "Hi"}]})
    );
}

#[tokio::test]
async fn an_openai_compatible_server_without_a_key_gets_no_authorization() {
    let s = AiStandIn::openai().await;
    let setup = Setup::default().target(
        "openai_compatible",
        json!({"base_url": s.base_url()}),
        "llama3.1",
        None,
    );

    let answer = setup
        .call(&gateway(config()), Strategy::Fallback)
        .await
        .unwrap();

    assert_eq!(answer.provider, "openai_compatible");
    assert_eq!(s.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn a_malformed_answer_is_an_error_and_moves_to_the_next_target_without_a_retry() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::anthropic().await);
    a.then(Reply::Malformed);
    let alone = Setup::default().openai(&a, "m1");
    let g = gateway(config());

    let err = alone.call(&g, Strategy::Fallback).await.unwrap_err();
    assert!(
        err.to_string().contains("malformed response: not JSON"),
        "{err}"
    );
    assert_eq!(a.request_count(), 1);

    a.then(Reply::Malformed);
    let s = Setup::default().openai(&a, "m1").anthropic(&b, "m2");
    let answer = s.call(&g, Strategy::Fallback).await.unwrap();
    assert_eq!(answer.target_index, 1);
    assert_eq!(a.request_count(), 2);
}

#[tokio::test]
async fn a_slow_target_times_out_and_the_next_one_answers() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");

    // Streamed, the timeout bounds the wait for the stream to open.
    for mode in MODES {
        a.then(Reply::slow(Duration::from_secs(3), Reply::text("too late")));
        b.then(Reply::text("in time"));
        let started = Instant::now();
        let answer = s.ask(&gateway(config()), mode).await.unwrap();

        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(answer.text, "in time");
        assert_eq!(
            outcomes(&answer.attempts),
            [(0, "timed out".into()), (1, "answered".into())],
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn the_api_key_appears_in_no_error_even_when_a_provider_echoes_it() {
    let standins = [
        AiStandIn::openai().await,
        AiStandIn::openai().await,
        AiStandIn::anthropic().await,
        AiStandIn::anthropic().await,
    ];
    standins[0].always(Reply::rate_limited("60"));
    standins[1].always(Reply::Malformed);
    standins[2].always(Reply::slow(Duration::from_secs(3), Reply::text("late")));
    standins[3].always(Reply::error(
        401,
        &format!("invalid x-api-key: {KEY} is not a valid key"),
    ));
    let s = Setup::default()
        .target(
            "openai",
            json!({"base_url": "http://127.0.0.1:1"}),
            "no-key",
            None,
        )
        // Nothing listens on port 1: connection refused.
        .target(
            "openai",
            json!({"api_key": KEY, "base_url": "http://127.0.0.1:1/v1"}),
            "refused",
            None,
        )
        .openai(&standins[0], "m0")
        .openai(&standins[1], "m1")
        .anthropic(&standins[2], "m2")
        .anthropic(&standins[3], "m3");

    let g = gateway(GatewayConfig {
        retries_per_target: 0,
        ..config()
    });

    for mode in MODES {
        let err = s.ask(&g, mode).await.unwrap_err();

        let (shown, debug) = (err.to_string(), format!("{err:?}"));
        assert!(
            !shown.contains(KEY) && !debug.contains(KEY),
            "{shown}\n{debug}"
        );
        let malformed = match mode {
            Mode::Whole => "not JSON (EOF while parsing a list at line 1 column 24)",
            // The stand-in's malformed answer is `application/json`.
            Mode::Streamed => "not an event stream (application/json)",
        };
        assert_eq!(
            shown,
            format!(
                "AI call failed: target 0 (no-key): skipped, the openai credential has no api_key; \
                 target 1 (refused): connection failed; \
                 target 2 (m0): rate limited (429), retry after 60000 ms; \
                 target 3 (m1): malformed response: {malformed}; \
                 target 4 (m2): timed out; \
                 target 5 (m3): rejected (401): invalid x-api-key: [redacted] is not a valid key"
            )
        );
        assert!(matches!(
            &err_attempts(&err)[4].outcome,
            Outcome::Failed(ProviderError::Timeout)
        ));
    }
}

fn err_attempts(err: &AiError) -> Vec<automatrix_ai::Attempt> {
    match err {
        AiError::Failed { attempts } => attempts.clone(),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_missing_credential_is_skipped_for_the_next_target() {
    let b = AiStandIn::openai().await;
    let s = Setup::default().openai(&b, "m2");
    let mut route = s.route(Strategy::Fallback);
    route.targets.insert(
        0,
        Target {
            credential_id: Uuid::nil(),
            ..route.targets[0].clone()
        },
    );

    let answer = gateway(config())
        .call(&route, &Prompt::user("Hi"), &s.credentials)
        .await
        .unwrap();

    assert_eq!(answer.target_index, 1);
    assert_eq!(
        answer.attempts[0].outcome,
        Outcome::Unavailable(format!("credential {} not found", Uuid::nil()))
    );
}

#[tokio::test]
async fn the_openai_stand_in_streams_chunks_then_done() {
    let s = AiStandIn::openai().await;
    s.then(Reply::text("Hello there friend"));

    let body = http_client()
        .unwrap()
        .post(format!("{}/chat/completions", s.base_url()))
        .json(
            &json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let data: Vec<&str> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").expect("a data line"))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(text, "Hello there friend");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(chunks[chunks.len() - 1]["usage"]["completion_tokens"], 5);
}

#[tokio::test]
async fn the_anthropic_stand_in_streams_named_events() {
    let s = AiStandIn::anthropic().await;
    s.then(Reply::text("Hello there"));

    let body = http_client()
        .unwrap()
        .post(format!("{}/v1/messages", s.base_url()))
        .json(&json!({"model": "m", "max_tokens": 10, "stream": true,
            "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let events: Vec<(&str, Value)> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let data = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            (name.strip_prefix("event: ").unwrap(), data)
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|e| e.1.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(text, "Hello there");
    assert_eq!(events[6].1["usage"]["output_tokens"], 5);
}

/// Scripts `text` with `tokens` on `s`, streams it from `setup` and checks the collected
/// answer: the text joined, finish `stop` (in OpenAI's word), the tokens, one attempt.
async fn stream_from(s: &AiStandIn, setup: &Setup, text: &str, tokens: (u64, u64)) -> Answer {
    s.then(Reply::Text {
        text: text.into(),
        input_tokens: tokens.0,
        output_tokens: tokens.1,
    });
    let answer = collect(setup.stream(&gateway(config())).await.unwrap()).await;
    assert_eq!(answer.text, text);
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert_eq!((answer.input_tokens, answer.output_tokens), tokens);
    assert_eq!(outcomes(&answer.attempts), [(0, "answered".into())]);
    answer
}

#[tokio::test]
async fn an_openai_stream_joins_to_the_scripted_text_with_its_finish_and_usage() {
    let s = AiStandIn::openai().await;
    let setup = Setup::default().openai(&s, "gpt-4o-mini");

    let text = "Yes, the 2021 Civic is still available.";
    let answer = stream_from(&s, &setup, text, (1_000, 500)).await;

    // 1 000 × $1/Mtok + 500 × $2/Mtok.
    assert!(
        (answer.cost_usd - 0.002).abs() < 1e-12,
        "{}",
        answer.cost_usd
    );
    assert_eq!(
        (answer.provider.as_str(), answer.model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    let r = &s.requests()[0];
    assert_eq!(r.uri, "/v1/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn an_anthropic_stream_is_translated_with_finish_stop_and_one_usage() {
    let s = AiStandIn::anthropic().await;
    let setup = Setup::default().anthropic(&s, "claude-3-5-haiku-latest");

    // The stand-in ends with `end_turn`; tokens come from two events.
    let answer = stream_from(&s, &setup, "Happy to help with your trade-in.", (30, 8)).await;

    assert_eq!(answer.provider, "anthropic");
    let r = &s.requests()[0];
    assert_eq!(
        (r.uri.as_str(), r.header("x-api-key")),
        ("/v1/messages", Some(KEY))
    );
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["max_tokens"], 1024);
}

#[tokio::test]
async fn a_stream_that_goes_quiet_ends_with_a_timeout_item_and_no_fallback() {
    let (a, b) = (AiStandIn::openai().await, AiStandIn::openai().await);
    a.then(Reply::Stalled);
    let s = Setup::default().openai(&a, "m1").openai(&b, "m2");

    let answer = s.stream(&gateway(config())).await.unwrap();
    assert_eq!(outcomes(&answer.attempts), [(0, "answered".into())]);
    let opened = Instant::now();
    // Bounded, so that a stream without an idle timeout fails the test instead of hanging it.
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(5), answer.events.collect())
        .await
        .expect("the stream ends on its own");

    // The stand-in's first chunk carries no text; then nothing for longer than the 300 ms
    // timeout.
    assert_eq!(events, [Err(ProviderError::Timeout)]);
    assert!(opened.elapsed() >= Duration::from_millis(300));
    assert_eq!(b.request_count(), 0);
}

#[tokio::test]
async fn the_mock_stream_says_what_call_mock_says() {
    let g = gateway(config());
    let prompt = Prompt {
        messages: vec![
            Message::system("Be brief."),
            Message::user("Is the Civic  available?"),
        ],
        ..Prompt::default()
    };

    let streamed = g.mock_stream(&prompt);
    assert!(streamed.target.is_none());

    // Text, tokens, finish, labels, attempts and cost (0).
    assert_eq!(collect(streamed).await, g.call_mock(&prompt));
}
