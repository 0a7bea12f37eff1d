//! Logs and traces of the real binary: with `AUTOMATRIX_LOG_FORMAT=json` every stderr line is
//! a JSON object, and the lines of a request and of the run it started carry its request id;
//! with `OTEL_EXPORTER_OTLP_ENDPOINT` set, one trace goes from the caller's `traceparent`
//! through the request, the queue and the run to every step, and reaches a stand-in OTLP/HTTP
//! collector when the process stops.

use std::sync::{Arc, Mutex};

use automatrix_testkit::MockServer;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::{Value, json};

use crate::helpers::{BOUND, Cluster};

/// The lines a run writes at debug: `execution finished` in its `execution` span.
const DEBUG_RUNS: (&str, &str) = (
    "RUST_LOG",
    "info,sqlx=warn,automatrix_api=debug,automatrix_engine=debug",
);

fn two_steps() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "tag", "type": "transform.set", "config": {"fields": {"source": "web"}}}
        ],
        "edges": [{"from": "lead", "to": "tag"}]
    })
}

/// Starts `workflow` with extra request headers; the execution's id.
async fn execute_with(c: &Cluster, workflow: &str, headers: &[(&str, &str)]) -> String {
    let path = format!("/api/workflows/{workflow}/execute");
    let (status, body) = c
        .call_with(reqwest::Method::POST, &path, Some(json!({})), headers)
        .await;
    assert_eq!(status, 202, "execute: {body}");
    body["execution_id"].as_str().expect("id").to_owned()
}

/// Whether the JSON log line ran inside a span `name` whose `request_id` is `id`.
fn in_span_with_request_id(line: &Value, name: &str, id: &str) -> bool {
    line["spans"].as_array().is_some_and(|spans| {
        spans
            .iter()
            .any(|s| s["name"] == name && s["request_id"] == id)
    })
}

#[tokio::test]
async fn json_logs_carry_the_request_id_of_the_request_and_of_its_run() {
    let mut c = Cluster::sqlite();
    let api = c
        .start_serve("api", 1, &[("AUTOMATRIX_LOG_FORMAT", "json"), DEBUG_RUNS])
        .await;
    c.sign_up().await;
    let workflow = c.create_workflow(two_steps()).await;
    let id = execute_with(&c, &workflow, &[("x-request-id", "json-logs-1")]).await;
    c.wait_for_log(api, "execution finished", 1).await;
    assert_eq!(c.execution(&id).await["request_id"], "json-logs-1");

    let log = c.log(api);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(Value::is_object), "{log}");
    let answered = lines
        .iter()
        .find(|l| in_span_with_request_id(l, "request", "json-logs-1"))
        .unwrap_or_else(|| panic!("no line of the request: {log}"));
    assert_eq!(answered["span"]["route"], "/api/workflows/{id}/execute");
    assert_eq!(answered["span"]["method"], "POST");
    let finished = lines
        .iter()
        .find(|l| l["fields"]["message"] == "execution finished")
        .unwrap_or_else(|| panic!("no line of the run: {log}"));
    assert!(
        in_span_with_request_id(finished, "execution", "json-logs-1"),
        "{finished}"
    );
    assert_eq!(finished["span"]["execution_id"], id.as_str());
    c.sigterm(api);
    assert!(c.wait_exit(api, BOUND).await.success());
}

#[tokio::test]
async fn an_unknown_log_format_is_refused_with_the_accepted_ones() {
    let c = Cluster::sqlite();
    let out = c
        .run(&["migrate"], &[("AUTOMATRIX_LOG_FORMAT", "yaml")])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("must be one of text, pretty, json, got `yaml`"),
        "{err}"
    );
}

/// The request bodies a stand-in collector received on `POST /v1/traces`.
fn collector() -> (axum::Router, Arc<Mutex<Vec<Bytes>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| async move {
            keep.lock().unwrap().push(body);
            // An empty ExportTraceServiceResponse.
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    (router, received)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[tokio::test]
async fn one_trace_goes_from_the_callers_traceparent_through_the_queue_to_every_step() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER: &str = "00f067aa0ba902b7";
    let (router, received) = collector();
    let collector = MockServer::start(router).await;
    let mut c = Cluster::sqlite();
    let endpoint = collector.url("");
    let api = c
        .start_serve(
            "api",
            1,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                // Nothing is sent before shutdown: what arrives came with the final flush.
                ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
                DEBUG_RUNS,
            ],
        )
        .await;
    c.sign_up().await;
    let workflow = c.create_workflow(two_steps()).await;
    let traceparent = format!("00-{TRACE}-{CALLER}-01");
    let id = execute_with(
        &c,
        &workflow,
        &[("traceparent", &traceparent), ("x-request-id", "traced-1")],
    )
    .await;
    c.wait_for_log(api, "execution finished", 1).await;
    c.sigterm(api);
    assert!(c.wait_exit(api, BOUND).await.success(), "{}", c.log(api));

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "nothing exported: {}", c.log(api));
    let mut spans: Vec<Span> = Vec::new();
    for body in &bodies {
        let export = ExportTraceServiceRequest::decode(body.as_ref()).expect("OTLP protobuf");
        for resource in export.resource_spans {
            let attributes = resource.resource.map(|r| r.attributes).unwrap_or_default();
            assert_eq!(text(&attributes, "service.name"), Some("automatrix"));
            spans.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    let trace = hex::decode(TRACE).unwrap();
    let ours: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let named = |name: &str| {
        ours.iter()
            .copied()
            .filter(|s| s.name == name)
            .collect::<Vec<_>>()
    };
    let names: Vec<&str> = ours.iter().map(|s| s.name.as_str()).collect();

    let [request] = named("request")[..] else {
        panic!("one request span in the trace: {names:?}")
    };
    assert_eq!(request.parent_span_id, hex::decode(CALLER).unwrap());
    assert_eq!(text(&request.attributes, "request_id"), Some("traced-1"));
    assert_eq!(
        text(&request.attributes, "route"),
        Some("/api/workflows/{id}/execute")
    );
    assert_eq!(
        attribute(&request.attributes, "status"),
        Some(&any_value::Value::IntValue(202))
    );

    let [run] = named("execution")[..] else {
        panic!("one execution span in the trace: {names:?}")
    };
    assert_eq!(
        run.parent_span_id, request.span_id,
        "the queue keeps the trace"
    );
    assert_eq!(text(&run.attributes, "execution_id"), Some(id.as_str()));
    assert_eq!(text(&run.attributes, "request_id"), Some("traced-1"));

    let steps = named("step");
    let mut nodes: Vec<&str> = steps
        .iter()
        .map(|s| text(&s.attributes, "node_id").expect("node_id"))
        .collect();
    nodes.sort_unstable();
    assert_eq!(nodes, ["lead", "tag"], "{names:?}");
    for step in steps {
        assert_eq!(step.parent_span_id, run.span_id);
        assert!(text(&step.attributes, "node_type").is_some());
        assert_eq!(
            attribute(&step.attributes, "attempt"),
            Some(&any_value::Value::IntValue(1))
        );
    }
}
