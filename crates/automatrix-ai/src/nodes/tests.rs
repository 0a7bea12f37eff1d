//! The AI nodes on the built-in mock, with in-memory node services: offline behaviour,
//! budgets, missing routes, accounting and config checks. Calls to real wire formats (fallback,
//! repair) are tested against the testkit's stand-ins in `automatrix-testkit/tests/ai_nodes.rs`.

use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use automatrix_core::ai::{AiUsage, Route};
use automatrix_core::expr::{Expressions, Limits, Scope};
use automatrix_core::{
    Credential, ExecutionId, KvAnswer, KvOp, Node, NodeContext, NodeError, NodeServices, SubRun,
    WorkflowId,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::gateway::GatewayConfig;

static EXPRESSIONS: LazyLock<Expressions> =
    LazyLock::new(|| Expressions::new(1, Limits::default()));

/// Services with no routes, an optional used-up budget, and a log of usage records.
#[derive(Default)]
struct Services {
    over_budget: bool,
    usage: Mutex<Vec<AiUsage>>,
}

#[async_trait]
impl NodeServices for Services {
    async fn credential(&self, id: &str) -> Result<Credential, NodeError> {
        Err(NodeError::fatal(format!("credential {id} does not exist")))
    }

    async fn kv(&self, _op: KvOp) -> Result<KvAnswer, NodeError> {
        unreachable!("AI nodes keep no entries")
    }

    async fn run_workflow(&self, _run: SubRun) -> Result<Value, NodeError> {
        unreachable!("AI nodes call no workflow")
    }

    async fn ai_route(&self, _alias: &str) -> Result<Option<Route>, NodeError> {
        Ok(None)
    }

    async fn ai_budget_check(&self) -> Result<(), NodeError> {
        if self.over_budget {
            Err(NodeError::fatal("the monthly AI budget is used up"))
        } else {
            Ok(())
        }
    }

    async fn record_ai_usage(&self, usage: AiUsage) -> Result<(), NodeError> {
        self.usage.lock().unwrap().push(usage);
        Ok(())
    }
}

fn ctx(services: Arc<Services>) -> NodeContext {
    NodeContext {
        execution_id: ExecutionId::new(),
        workflow_id: WorkflowId::new(),
        node_id: "ai".into(),
        attempt: 1,
        cancel: CancellationToken::new(),
        expressions: EXPRESSIONS.clone(),
        scope: Arc::new(Scope::default()),
        resume: None,
        services,
        dry_run: false,
    }
}

fn gateway() -> Arc<Gateway> {
    Arc::new(Gateway::new(GatewayConfig::default()).unwrap())
}

async fn run(node: &dyn Node, services: &Arc<Services>, config: Value) -> Result<Value, NodeError> {
    node.execute(&ctx(services.clone()), config, Value::Null)
        .await
        .map(|o| o.data)
}

#[tokio::test]
async fn generate_answers_from_the_mock_on_the_default_route_and_records_it() {
    let services = Arc::new(Services::default());
    let node = AiGenerate::new(gateway());
    let c = ctx(services.clone());
    let out = node
        .execute(
            &c,
            json!({"prompt": "Is the Civic available?", "system": "Be brief"}),
            Value::Null,
        )
        .await
        .unwrap()
        .data;
    assert_eq!(out["text"], "[mock] Is the Civic available?");
    assert_eq!(
        (out["provider"].as_str(), out["model"].as_str()),
        (Some("mock"), Some("mock"))
    );
    assert_eq!(out["route"], "default");
    assert_eq!(out["cost_usd"], 0.0);
    // 2 tokens for "Be brief", 6 for the prompt (4 characters a token, rounded up).
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 2 + 6, "output_tokens": 8})
    );
    let usage = services.usage.lock().unwrap().clone();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].execution_id, Some(c.execution_id.into()));
    assert_eq!(usage[0].node_id.as_deref(), Some("ai"));
    assert!(usage[0].ok);
}

#[tokio::test]
async fn over_budget_fails_before_any_call_and_says_budget() {
    let services = Arc::new(Services {
        over_budget: true,
        ..Services::default()
    });
    let e = run(
        &AiGenerate::new(gateway()),
        &services,
        json!({"prompt": "hi"}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("budget"), "{}", e.message);
    assert!(!e.is_retryable());
    assert!(services.usage.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_route_other_than_default_is_fatal_and_named() {
    let services = Arc::new(Services::default());
    let e = run(
        &AiGenerate::new(gateway()),
        &services,
        json!({"model": "lead-qualifier", "prompt": "hi"}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("no AI route `lead-qualifier`"),
        "{}",
        e.message
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn classify_on_the_mock_picks_a_mentioned_label() {
    let services = Arc::new(Services::default());
    let node = AiClassify::new(gateway());
    let out = run(
        &node,
        &services,
        json!({"text": "Can I book an oil change for SERVICE?", "labels": ["sales", "service"]}),
    )
    .await
    .unwrap();
    assert_eq!(out["label"], "service");
    assert_eq!(out["confidence"], 0);
    assert_eq!(out["repaired"], false);
    assert_eq!(out["provider"], "mock");
    let out = run(
        &node,
        &services,
        json!({"text": "hello", "labels": ["a", "b"]}),
    )
    .await
    .unwrap();
    assert_eq!(out["label"], "a");
}

#[tokio::test]
async fn extract_on_the_mock_gives_data_valid_against_the_schema() {
    let services = Arc::new(Services::default());
    let schema = json!({"type": "object", "properties": {
        "year": {"type": ["integer", "null"]}, "has_trade": {"type": "boolean"}},
        "required": ["has_trade"]});
    let out = run(
        &AiExtract::new(gateway()),
        &services,
        json!({"text": "my 2017 F-150", "schema": schema}),
    )
    .await
    .unwrap();
    assert_eq!(out["data"], json!({"year": 0, "has_trade": false}));
    let e = run(
        &AiExtract::new(gateway()),
        &services,
        json!({"text": "x", "schema": {"type": "object", "properties": {"vin": {"type": "string", "pattern": "^[A-HJ-NPR-Z0-9]{17}$"}}, "required": ["vin"]}}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("mock cannot build data"),
        "{}",
        e.message
    );
}

#[test]
fn configs_are_checked_beyond_the_schema() {
    let classify = AiClassify::new(gateway());
    let issues = classify.check_config(&json!({"text": "t", "labels": ["Hot", "hot", " "]}));
    let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["labels[1]", "labels[2]"]);
    let extract = AiExtract::new(gateway());
    let issues = extract.check_config(&json!({"text": "t", "schema": {"type": "string"}}));
    assert_eq!(issues[0].field, "schema");
    let issues = extract.check_config(
        &json!({"text": "t", "schema": {"type": "object", "properties": {"a": {"type": "nope"}}}}),
    );
    assert!(
        issues[0].issue.contains("not a valid JSON Schema"),
        "{:?}",
        issues
    );
}

#[test]
fn answers_are_found_in_prose_and_code_fences() {
    use super::structured::parse_object;
    assert_eq!(parse_object(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
    assert_eq!(
        parse_object("```json\n{\"a\": 1}\n```").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        parse_object("Sure! Here it is: {\"a\": 1} Hope that helps.").unwrap(),
        json!({"a": 1})
    );
    assert!(parse_object("[1, 2]").is_err());
    assert!(parse_object("no json").is_err());
}
