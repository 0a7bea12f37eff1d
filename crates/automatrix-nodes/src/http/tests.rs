//! `http.request` against a local axum mock bound to 127.0.0.1:0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use super::*;
use crate::test_support::{ctx_with_input, run};

/// A mock that counts the requests it receives.
pub(super) struct Mock {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Mock {
    pub(super) async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/echo", any(echo))
            .route(
                "/json",
                get(|| async { axum::Json(json!({"ok": true, "stock": 3})) }),
            )
            .route("/text", get(|| async { "hello from the DMS" }))
            .route(
                "/problem",
                get(|| async {
                    let ct = [(header::CONTENT_TYPE, "application/problem+json")];
                    (StatusCode::OK, ct, r#"{"title": "fine"}"#)
                }),
            )
            .route("/status/{code}", get(status))
            .route("/slow", get(slow))
            .route("/redirect", get(redirect))
            .route("/loop", get(|| async { Redirect::temporary("/loop") }))
            .route("/big", get(big))
            .route("/big-stream", get(big_stream))
            .with_state(hits.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, hits }
    }

    /// A URL on this mock, through `host` (`127.0.0.1` or `localhost`).
    pub(super) fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    pub(super) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn echo(
    State(hits): State<Arc<AtomicUsize>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    hits.fetch_add(1, Ordering::SeqCst);
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::String(v.to_str().unwrap_or("?").to_owned()),
            )
        })
        .collect();
    axum::Json(json!({
        "method": method.as_str(),
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn status(Path(code): Path<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap();
    (
        status,
        [("x-request-id", "req-42")],
        axum::Json(json!({"error": "nope"})),
    )
        .into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(10)).await;
    "too late"
}

async fn redirect(State(hits): State<Arc<AtomicUsize>>, RawQuery(query): RawQuery) -> Redirect {
    hits.fetch_add(1, Ordering::SeqCst);
    let to = query.unwrap_or_default();
    Redirect::temporary(to.strip_prefix("to=").unwrap_or(&to))
}

async fn big() -> Vec<u8> {
    vec![b'x'; HttpRequest::MAX_RESPONSE_BYTES + 1]
}

/// Chunked, without a `Content-Length`, so only the streaming cap can stop it.
async fn big_stream() -> Body {
    let chunk = Bytes::from(vec![b'x'; 1024 * 1024]);
    let chunks = (0..11).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    Body::from_stream(futures::stream::iter(chunks))
}

fn open_node() -> HttpRequest {
    HttpRequest::new(HttpPolicy::allow_all())
}

fn strict_node() -> HttpRequest {
    HttpRequest::new(HttpPolicy::strict())
}

#[tokio::test]
async fn get_sends_query_parameters_and_headers() {
    let mock = Mock::start().await;
    let config = json!({
        "url": mock.url("127.0.0.1", "/echo?fixed=1"),
        "headers": {"Authorization": "Bearer t0ken", "X-Dealer": "42"},
        "query": {"make": "VW", "year": 2024, "tags": ["new", "suv"], "skipped": null},
    });

    let out = run(&open_node(), config, json!({})).await.unwrap();

    assert_eq!(out.port, "main");
    assert_eq!(out.data["status"], 200);
    let echoed = &out.data["body"];
    assert_eq!(echoed["method"], "GET");
    assert_eq!(
        echoed["query"],
        "fixed=1&make=VW&tags=new&tags=suv&year=2024"
    );
    assert_eq!(echoed["headers"]["authorization"], "Bearer t0ken");
    assert_eq!(echoed["headers"]["x-dealer"], "42");
    assert!(
        echoed["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("automatrix/")
    );
}

#[tokio::test]
async fn post_sends_a_json_body_as_json() {
    let mock = Mock::start().await;
    let config = json!({
        "method": "POST",
        "url": mock.url("127.0.0.1", "/echo"),
        "body": {"email": "ann@example.com", "score": 72},
    });

    let out = run(&open_node(), config, json!({})).await.unwrap();

    let echoed = &out.data["body"];
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    let sent: Value = serde_json::from_str(echoed["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"email": "ann@example.com", "score": 72}));
}

#[tokio::test]
async fn a_string_body_is_sent_as_text_unless_a_content_type_is_set() {
    let mock = Mock::start().await;
    let plain = json!({"method": "PUT", "url": mock.url("127.0.0.1", "/echo"), "body": "hi"});
    let xml = json!({
        "method": "put",
        "url": mock.url("127.0.0.1", "/echo"),
        "headers": {"content-type": "application/xml"},
        "body": "<lead/>",
    });

    let plain = run(&open_node(), plain, json!({})).await.unwrap();
    let xml = run(&open_node(), xml, json!({})).await.unwrap();

    assert_eq!(
        plain.data["body"]["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(plain.data["body"]["body"], "hi");
    assert_eq!(xml.data["body"]["method"], "PUT");
    assert_eq!(
        xml.data["body"]["headers"]["content-type"],
        "application/xml"
    );
    assert_eq!(xml.data["body"]["body"], "<lead/>");
}

#[tokio::test]
async fn every_request_carries_the_step_idempotency_key_unless_the_user_set_one() {
    let mock = Mock::start().await;
    let node = open_node();
    let ctx = ctx_with_input("crm", &json!({}));
    let default = json!({"url": mock.url("127.0.0.1", "/echo")});
    let custom = json!({
        "url": mock.url("127.0.0.1", "/echo"),
        "headers": {"IDEMPOTENCY-KEY": "lead-7"},
    });

    let default = node.execute(&ctx, default, json!({})).await.unwrap();
    let custom = node.execute(&ctx, custom, json!({})).await.unwrap();

    let expected = format!("{}:crm", ctx.execution_id);
    assert_eq!(
        default.data["body"]["headers"]["idempotency-key"],
        expected.as_str()
    );
    assert_eq!(custom.data["body"]["headers"]["idempotency-key"], "lead-7");
}

#[tokio::test]
async fn json_responses_are_parsed_and_other_responses_are_text() {
    let mock = Mock::start().await;
    let node = open_node();

    let json_out = run(
        &node,
        json!({"url": mock.url("127.0.0.1", "/json")}),
        json!({}),
    )
    .await;
    let problem = run(
        &node,
        json!({"url": mock.url("127.0.0.1", "/problem")}),
        json!({}),
    )
    .await;
    let text = run(
        &node,
        json!({"url": mock.url("127.0.0.1", "/text")}),
        json!({}),
    )
    .await;

    assert_eq!(
        json_out.unwrap().data["body"],
        json!({"ok": true, "stock": 3})
    );
    assert_eq!(problem.unwrap().data["body"], json!({"title": "fine"}));
    let text = text.unwrap().data;
    assert_eq!(text["body"], "hello from the DMS");
    assert_eq!(text["headers"]["content-type"], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn a_server_error_is_retryable_and_carries_the_response() {
    let mock = Mock::start().await;

    let err = run(
        &open_node(),
        json!({"url": mock.url("127.0.0.1", "/status/500")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(err.is_retryable());
    assert_eq!(
        err.message,
        format!(
            "http.request: GET {} returned 500 Internal Server Error",
            mock.url("127.0.0.1", "/status/500")
        )
    );
    let data = err.data.unwrap();
    assert_eq!(data["status"], 500);
    assert_eq!(data["headers"]["x-request-id"], "req-42");
    assert_eq!(data["body"], json!({"error": "nope"}));
}

#[tokio::test]
async fn too_many_requests_and_request_timeout_are_retryable() {
    let mock = Mock::start().await;

    for code in [429, 408, 503] {
        let url = mock.url("127.0.0.1", &format!("/status/{code}"));
        let err = run(&open_node(), json!({"url": url}), json!({}))
            .await
            .unwrap_err();

        assert!(err.is_retryable(), "{code}");
        assert_eq!(err.data.unwrap()["status"], code);
    }
}

#[tokio::test]
async fn a_client_error_is_fatal_and_carries_the_response() {
    let mock = Mock::start().await;

    for code in [404, 400, 401, 422] {
        let url = mock.url("127.0.0.1", &format!("/status/{code}"));
        let err = run(&open_node(), json!({"url": url}), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable(), "{code}");
        let data = err.data.unwrap();
        assert_eq!(data["status"], code);
        assert_eq!(data["body"], json!({"error": "nope"}));
    }
}

#[tokio::test]
async fn a_request_that_outlasts_its_timeout_fails_retryably() {
    let mock = Mock::start().await;
    let config = json!({"url": mock.url("127.0.0.1", "/slow"), "timeout_ms": 200});
    let started = Instant::now();

    let err = run(&open_node(), config, json!({})).await.unwrap_err();

    assert!(err.is_retryable());
    assert_eq!(
        err.message,
        format!(
            "http.request: GET {} timed out after 200ms",
            mock.url("127.0.0.1", "/slow")
        )
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    // Bind then drop, so nothing listens on the port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let err = run(
        &open_node(),
        json!({"url": format!("http://127.0.0.1:{port}/")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(err.is_retryable(), "{}", err.message);
    assert!(err.message.contains("failed"), "{}", err.message);
}

#[tokio::test]
async fn cancelling_the_step_stops_the_request_promptly() {
    let mock = Mock::start().await;
    let ctx = ctx_with_input("slow", &json!({}));
    let cancel = ctx.cancel.clone();
    let node = open_node();
    let config = json!({"url": mock.url("127.0.0.1", "/slow")});
    let started = Instant::now();

    let (result, ()) = tokio::join!(node.execute(&ctx, config, json!({})), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });

    let err = result.unwrap_err();
    assert!(err.message.contains("cancelled"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_response_with_a_content_length_over_the_cap_is_refused() {
    let mock = Mock::start().await;

    let err = run(
        &open_node(),
        json!({"url": mock.url("127.0.0.1", "/big")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(!err.is_retryable());
    assert!(
        err.message.contains("larger than the limit of 10 MiB"),
        "{}",
        err.message
    );
    assert_eq!(err.data.unwrap()["status"], 200);
}

#[tokio::test]
async fn a_streamed_response_over_the_cap_is_refused() {
    let mock = Mock::start().await;

    let err = run(
        &open_node(),
        json!({"url": mock.url("127.0.0.1", "/big-stream")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(!err.is_retryable());
    assert!(
        err.message.contains("larger than the limit of 10 MiB"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_loopback_ip_literal_is_refused_without_contacting_it() {
    let mock = Mock::start().await;

    let err = run(
        &strict_node(),
        json!({"url": mock.url("127.0.0.1", "/echo")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(!err.is_retryable());
    assert_eq!(
        err.message,
        "http.request: refusing to connect to private address 127.0.0.1 (loopback); \
         set AUTOMATRIX_HTTP_ALLOW_PRIVATE=1 to allow, or add the host to the HTTP allow-list"
    );
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_is_refused_without_contacting_it() {
    let mock = Mock::start().await;

    let err = run(
        &strict_node(),
        json!({"url": mock.url("localhost", "/echo")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(!err.is_retryable(), "{}", err.message);
    assert!(
        err.message
            .starts_with("http.request: refusing to connect to private address 127.0.0.1")
            || err
                .message
                .starts_with("http.request: refusing to connect to private address ::1"),
        "{}",
        err.message
    );
    assert!(err.message.contains("of host localhost"), "{}", err.message);
    assert_eq!(mock.hits(), 0);
}

#[tokio::test]
async fn metadata_and_mapped_ipv6_literals_are_refused() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://[::1]:9/",
        "http://10.1.2.3/",
        "http://0.0.0.0:9/",
    ] {
        let err = run(&strict_node(), json!({"url": url}), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable(), "{url}");
        assert!(
            err.message
                .contains("refusing to connect to private address"),
            "{url}: {}",
            err.message
        );
    }
}

#[tokio::test]
async fn a_redirect_from_an_allowed_host_to_a_private_literal_is_refused() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::strict().with_allowed_hosts(["localhost"]));
    let target = mock.url("127.0.0.1", "/echo");
    let url = format!("{}?to={target}", mock.url("localhost", "/redirect"));

    let err = run(&node, json!({"url": url}), json!({}))
        .await
        .unwrap_err();

    assert!(!err.is_retryable(), "{}", err.message);
    assert!(
        err.message
            .starts_with("http.request: refusing to connect to private address 127.0.0.1"),
        "{}",
        err.message
    );
    assert_eq!(mock.hits(), 1, "only the redirect itself is served");
}

#[tokio::test]
async fn a_redirect_to_a_host_name_that_resolves_privately_is_refused() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::strict().with_allowed_hosts(["127.0.0.1"]));
    let target = mock.url("localhost", "/echo");
    let url = format!("{}?to={target}", mock.url("127.0.0.1", "/redirect"));

    let err = run(&node, json!({"url": url}), json!({}))
        .await
        .unwrap_err();

    assert!(!err.is_retryable(), "{}", err.message);
    assert!(err.message.contains("of host localhost"), "{}", err.message);
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn private_addresses_are_reached_when_allow_private_is_set() {
    let mock = Mock::start().await;
    let target = mock.url("localhost", "/json");
    let redirecting = format!("{}?to={target}", mock.url("127.0.0.1", "/redirect"));

    let node = open_node();

    let literal = run(
        &node,
        json!({"url": mock.url("127.0.0.1", "/json")}),
        json!({}),
    )
    .await;
    let named = run(
        &node,
        json!({"url": mock.url("localhost", "/json")}),
        json!({}),
    )
    .await;
    let redirected = run(&node, json!({"url": redirecting}), json!({})).await;

    assert_eq!(literal.unwrap().data["status"], 200);
    assert_eq!(named.unwrap().data["status"], 200);
    assert_eq!(
        redirected.unwrap().data["body"],
        json!({"ok": true, "stock": 3})
    );
}

#[tokio::test]
async fn an_allow_listed_host_is_reached_under_a_strict_policy() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::strict().with_allowed_hosts(["localhost"]));

    let out = run(
        &node,
        json!({"url": mock.url("localhost", "/json")}),
        json!({}),
    )
    .await
    .unwrap();

    assert_eq!(out.data["status"], 200);
}

#[tokio::test]
async fn a_redirect_loop_stops_after_five_redirects() {
    let mock = Mock::start().await;

    let err = run(
        &open_node(),
        json!({"url": mock.url("127.0.0.1", "/loop")}),
        json!({}),
    )
    .await
    .unwrap_err();

    assert!(!err.is_retryable());
    assert_eq!(err.message, "http.request: more than 5 redirects");
}

#[tokio::test]
async fn invalid_urls_and_settings_are_fatal_with_a_clear_message() {
    let cases = [
        (
            json!({"url": "crm.example.com/leads"}),
            "`url` must be an absolute http(s) URL",
        ),
        (
            json!({"url": "ftp://example.com/"}),
            "refusing the URL scheme `ftp`",
        ),
        (
            json!({"url": "https://example.com/", "method": "FETCH"}),
            "unsupported method `FETCH`",
        ),
        (
            json!({"url": "https://example.com/", "timeout_ms": 0}),
            "timeout_ms must be between",
        ),
        (
            json!({"url": "https://example.com/", "headers": {"X-A": {"b": 1}}}),
            "header `X-A`",
        ),
        (
            json!({"url": "https://example.com/", "query": {"q": {"b": 1}}}),
            "query parameter `q`",
        ),
        (
            json!({"url": "https://example.com/", "headers": {"bad name": "x"}}),
            "not a valid header",
        ),
        (json!({"method": "GET"}), "missing field `url`"),
    ];

    for (config, expected) in cases {
        let err = run(&open_node(), config.clone(), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable(), "{config}");
        assert!(err.message.contains(expected), "{config}: {}", err.message);
    }
}

#[tokio::test]
async fn error_messages_leave_out_query_strings_and_credentials() {
    let mock = Mock::start().await;
    let url = format!(
        "http://user:pw@127.0.0.1:{}/status/500?api_key=s3cret",
        mock.addr.port()
    );

    let err = run(&open_node(), json!({"url": url}), json!({}))
        .await
        .unwrap_err();

    assert!(!err.message.contains("s3cret"), "{}", err.message);
    assert!(!err.message.contains("pw@"), "{}", err.message);
}

#[test]
fn schema_accepts_expressions_and_rejects_relative_urls() {
    let schema = jsonschema::validator_for(&open_node().spec().config_schema).unwrap();

    assert!(schema.is_valid(&json!({"url": "https://crm.example.com/leads"})));
    assert!(schema.is_valid(&json!({
        "url": "HTTP://10.0.0.1:8080",
        "method": "PATCH",
        "headers": {"X-Api-Key": "k"},
        "query": {"a": 1, "b": [true, "x"], "c": null},
        "body": [1, 2],
        "timeout_ms": 300_000,
    })));
    assert!(!schema.is_valid(&json!({})));
    assert!(!schema.is_valid(&json!({"url": "/leads"})));
    assert!(!schema.is_valid(&json!({"url": "https://x.com", "timeout_ms": 300_001})));
    assert!(!schema.is_valid(&json!({"url": "https://x.com", "headers": {"X": 1}})));
    assert!(!schema.is_valid(&json!({"url": "https://x.com", "retries": 3})));
}
