//! Executor unit tests with minimal in-test node types: branching, skip propagation, merge,
//! retries, error routing, cancellation and resume.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use automatrix_core::expr::{Limits, truthy};
use automatrix_core::node::{Node, NodeContext, NodeError, NodeSpec};
use serde_json::json;

use super::*;

mod foreach;
mod running_record;

struct Trigger;
struct Set;
struct If;
struct Flaky(AtomicU32);
struct Fail;
struct Slow;
/// Stops with an error as soon as it is cancelled, like `code.js` and `http.request` do.
struct Heeds;

#[async_trait]
impl Node for Trigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            is_trigger: true,
            ..NodeSpec::new("t.trigger", "Trigger", "trigger")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for Set {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.set", "Set", "transform")
    }
    async fn execute(
        &self,
        _: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(
            config.get("value").cloned().unwrap_or(input),
        ))
    }
}

#[async_trait]
impl Node for If {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            outputs: vec!["true", "false"],
            ..NodeSpec::new("t.if", "If", "logic")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let port = if truthy(&config["condition"]) {
            "true"
        } else {
            "false"
        };
        Ok(NodeOutput::on(port, input))
    }
}

#[async_trait]
impl Node for Flaky {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.flaky", "Flaky", "test")
    }
    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _: Value,
    ) -> Result<NodeOutput, NodeError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if u64::from(ctx.attempt) <= config["fail_times"].as_u64().unwrap_or(0) {
            return Err(NodeError::retryable("upstream busy"));
        }
        Ok(NodeOutput::main(
            json!({"attempt": ctx.attempt, "dry_run": ctx.dry_run}),
        ))
    }
}

#[async_trait]
impl Node for Fail {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.fail", "Fail", "test")
    }
    async fn execute(&self, _: &NodeContext, _: Value, _: Value) -> Result<NodeOutput, NodeError> {
        Err(NodeError::fatal("bad lead").with_data(json!({"code": 7})))
    }
}

#[async_trait]
impl Node for Slow {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.slow", "Slow", "test")
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for Heeds {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.heeds", "Heeds", "test")
    }
    async fn execute(
        &self,
        ctx: &NodeContext,
        _: Value,
        _: Value,
    ) -> Result<NodeOutput, NodeError> {
        ctx.cancel.cancelled().await;
        Err(NodeError::retryable("stopped: cancelled"))
    }
}

fn executor() -> Executor {
    let mut r = NodeRegistry::new();
    r.register(Trigger)
        .register(Set)
        .register(If)
        .register(Flaky(AtomicU32::new(0)))
        .register(Fail)
        .register(Slow)
        .register(Heeds);
    foreach::register(&mut r);
    Executor::new(
        Arc::new(r),
        Expressions::new(1, Limits::default()),
        ExecutorConfig::default(),
    )
}

/// Keeps every record, and how many records there were at each `before_step`.
#[derive(Default)]
struct Recorder(Mutex<Vec<StepRecord>>, Mutex<Vec<usize>>);

#[async_trait]
impl Checkpoint for Recorder {
    async fn record(&self, step: &StepRecord) -> Result<(), CheckpointError> {
        self.0.lock().unwrap().push(step.clone());
        Ok(())
    }

    async fn before_step(&self) -> Result<(), CheckpointError> {
        let records = self.0.lock().unwrap().len();
        self.1.lock().unwrap().push(records);
        Ok(())
    }
}

impl Recorder {
    /// Final status of each node, in the order nodes finished.
    fn finals(&self) -> Vec<(String, StepStatus)> {
        let all = self.0.lock().unwrap();
        let mut out: Vec<(String, StepStatus)> = Vec::new();
        for r in all.iter().filter(|r| r.status != StepStatus::Running) {
            out.retain(|(id, _)| *id != r.node_id);
            out.push((r.node_id.clone(), r.status));
        }
        out
    }

    fn status(&self, id: &str) -> Option<StepStatus> {
        self.finals()
            .into_iter()
            .find(|(n, _)| n == id)
            .map(|(_, s)| s)
    }
}

fn plan(ex: &Executor, def: Value, input: Value) -> RunPlan {
    let wf = automatrix_core::validate_definition(&def, ex.registry()).expect("valid definition");
    RunPlan {
        execution_id: ExecutionId::new(),
        workflow_id: WorkflowId::new(),
        workflow: Arc::new(wf),
        input,
        attempt: 1,
        prior: HashMap::new(),
        services: Arc::new(automatrix_core::NoServices),
        dry_run: false,
    }
}

async fn run(def: Value, input: Value) -> (RunOutcome, Recorder) {
    let ex = executor();
    let rec = Recorder::default();
    let out = ex
        .run(plan(&ex, def, input), &rec, CancellationToken::new())
        .await;
    (out, rec)
}

#[tokio::test]
async fn every_step_of_a_dry_run_sees_dry_run_and_of_a_normal_run_does_not() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "d", "type": "t.flaky"}],
        "edges": [{"from": "s", "to": "d"}]
    });
    let ex = executor();
    for dry_run in [true, false] {
        let plan = RunPlan {
            dry_run,
            ..plan(&ex, def.clone(), json!({}))
        };
        let out = ex
            .run(plan, &Recorder::default(), CancellationToken::new())
            .await;
        assert_eq!(
            out,
            RunOutcome::Completed(json!({"attempt": 1, "dry_run": dry_run}))
        );
    }
}

fn branching() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "t.trigger"},
            {"id": "check", "type": "t.if", "config": {"condition": "{{ $json.score > 50 }}"}},
            {"id": "hot", "type": "t.set", "config": {"value": {"priority": "hot", "email": "{{ $trigger.email }}"}}},
            {"id": "notify", "type": "t.set"},
            {"id": "cold", "type": "t.set", "config": {"value": {"priority": "cold"}}}
        ],
        "edges": [
            {"from": "lead", "to": "check"},
            {"from": "check", "output": "true", "to": "hot"},
            {"from": "hot", "to": "notify"},
            {"from": "check", "output": "false", "to": "cold"}
        ]
    })
}

#[tokio::test]
async fn the_true_branch_runs_and_the_false_branch_is_skipped() {
    let (out, rec) = run(branching(), json!({"score": 80, "email": "a@b.c"})).await;
    assert_eq!(
        out,
        RunOutcome::Completed(json!({"priority": "hot", "email": "a@b.c"}))
    );
    assert_eq!(rec.status("cold"), Some(StepStatus::Skipped));
    assert_eq!(rec.status("notify"), Some(StepStatus::Completed));
}

#[tokio::test]
async fn skipping_propagates_down_an_inactive_branch() {
    let (out, rec) = run(branching(), json!({"score": 10})).await;
    assert_eq!(out, RunOutcome::Completed(json!({"priority": "cold"})));
    assert_eq!(rec.status("hot"), Some(StepStatus::Skipped));
    assert_eq!(rec.status("notify"), Some(StepStatus::Skipped));
}

fn diamond(condition: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "a", "type": "t.set", "config": {"value": 1}},
            {"id": "gate", "type": "t.if", "config": {"condition": condition}},
            {"id": "b", "type": "t.set", "config": {"value": 2}},
            {"id": "merge", "type": "t.set"}
        ],
        "edges": [
            {"from": "start", "to": "a"},
            {"from": "start", "to": "gate"},
            {"from": "gate", "output": "true", "to": "b"},
            {"from": "a", "to": "merge"},
            {"from": "b", "to": "merge"}
        ]
    })
}

#[tokio::test]
async fn a_node_with_several_active_predecessors_gets_their_outputs_by_id() {
    let (out, _) = run(diamond("{{ true }}"), json!({})).await;
    assert_eq!(out, RunOutcome::Completed(json!({"a": 1, "b": 2})));
}

#[tokio::test]
async fn a_merge_with_one_skipped_predecessor_runs_on_the_active_one() {
    let (out, rec) = run(diamond("{{ false }}"), json!({})).await;
    assert_eq!(out, RunOutcome::Completed(json!(1)));
    assert_eq!(rec.status("b"), Some(StepStatus::Skipped));
    assert_eq!(rec.status("merge"), Some(StepStatus::Completed));
}

#[tokio::test]
async fn several_completed_sinks_give_an_object_keyed_by_node_id() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "x", "type": "t.set", "config": {"value": "X"}}, {"id": "y", "type": "t.set", "config": {"value": "Y"}}],
        "edges": [{"from": "s", "to": "x"}, {"from": "s", "to": "y"}]
    });
    let (out, _) = run(def, json!(null)).await;
    assert_eq!(out, RunOutcome::Completed(json!({"x": "X", "y": "Y"})));
}

#[tokio::test]
async fn a_retryable_failure_is_retried_until_it_succeeds() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "f", "type": "t.flaky", "config": {"fail_times": 2}, "retry": {"max_attempts": 3, "backoff": "fixed", "initial_delay_ms": 1}}],
        "edges": [{"from": "s", "to": "f"}]
    });
    let (out, rec) = run(def, json!(null)).await;
    assert_eq!(
        out,
        RunOutcome::Completed(json!({"attempt": 3, "dry_run": false}))
    );
    let attempts: Vec<(u32, StepStatus)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.node_id == "f")
        .map(|r| (r.attempt, r.status))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (1, StepStatus::Failed),
            (2, StepStatus::Failed),
            (3, StepStatus::Completed)
        ],
        "each attempt ends in its own record; quick steps get no `running` record"
    );
}

#[tokio::test]
async fn a_slow_step_is_recorded_running_before_it_finishes() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "slow", "type": "t.slow", "timeout_ms": 200}],
        "edges": [{"from": "s", "to": "slow"}]
    });
    let (_, rec) = run(def, json!(null)).await;
    let states: Vec<StepStatus> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.node_id == "slow")
        .map(|r| r.status)
        .collect();
    assert_eq!(states, vec![StepStatus::Running, StepStatus::Failed]);
}

#[tokio::test]
async fn a_completion_with_nothing_else_in_flight_may_wait_until_the_next_step_starts() {
    let chain = json!({
        "nodes": [{"id": "t", "type": "t.trigger"}, {"id": "a", "type": "t.set"}, {"id": "b", "type": "t.set"}],
        "edges": [{"from": "t", "to": "a"}, {"from": "a", "to": "b"}]
    });
    let (_, rec) = run(chain, json!({"n": 1})).await;
    let deferrable: Vec<(String, bool)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.node_id.clone(), r.deferrable))
        .collect();
    assert_eq!(
        deferrable,
        [("t".into(), true), ("a".into(), true), ("b".into(), true)]
    );
    // Each step starts only after the checkpoint was told: a held completion is written first.
    assert_eq!(*rec.1.lock().unwrap(), [0, 1, 2]);

    // `fast` finishes while `slow` is still in flight: its completion cannot wait.
    let parallel = json!({
        "nodes": [{"id": "t", "type": "t.trigger"}, {"id": "fast", "type": "t.set"},
                  {"id": "slow", "type": "t.slow", "timeout_ms": 100, "on_error": "continue"}],
        "edges": [{"from": "t", "to": "fast"}, {"from": "t", "to": "slow"}]
    });
    let (_, rec) = run(parallel, json!(null)).await;
    let completions: Vec<(String, bool)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.status == StepStatus::Completed && r.node_id != "t")
        .map(|r| (r.node_id.clone(), r.deferrable))
        .collect();
    assert_eq!(completions, [("fast".into(), false), ("slow".into(), true)]);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_the_execution_fails() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "f", "type": "t.flaky", "config": {"fail_times": 5}, "retry": {"max_attempts": 2, "initial_delay_ms": 1}}],
        "edges": [{"from": "s", "to": "f"}]
    });
    let (out, rec) = run(def, json!(null)).await;
    assert_eq!(
        out,
        RunOutcome::Failed("node `f` failed: upstream busy".into())
    );
    assert_eq!(rec.status("f"), Some(StepStatus::Failed));
}

#[tokio::test]
async fn on_error_continue_outputs_the_error_object() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "f", "type": "t.fail", "on_error": "continue"}],
        "edges": [{"from": "s", "to": "f"}]
    });
    let (out, _) = run(def, json!(null)).await;
    assert_eq!(
        out,
        RunOutcome::Completed(
            json!({"error": {"message": "bad lead", "class": "fatal", "data": {"code": 7}}})
        )
    );
}

#[tokio::test]
async fn on_error_route_sends_the_error_down_the_error_port() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "f", "type": "t.fail", "on_error": "route"},
                  {"id": "ok", "type": "t.set", "config": {"value": "fine"}}, {"id": "handle", "type": "t.set", "config": {"value": "{{ $json.error.message }}"}}],
        "edges": [{"from": "s", "to": "f"}, {"from": "f", "to": "ok"}, {"from": "f", "output": "error", "to": "handle"}]
    });
    let (out, rec) = run(def, json!(null)).await;
    assert_eq!(out, RunOutcome::Completed(json!("bad lead")));
    assert_eq!(rec.status("ok"), Some(StepStatus::Skipped));
}

#[tokio::test]
async fn a_failed_step_fails_the_execution_and_its_dependents_do_not_run() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "f", "type": "t.fail"}, {"id": "after", "type": "t.set"}],
        "edges": [{"from": "s", "to": "f"}, {"from": "f", "to": "after"}]
    });
    let (out, rec) = run(def, json!(null)).await;
    assert_eq!(out, RunOutcome::Failed("node `f` failed: bad lead".into()));
    assert_eq!(rec.status("after"), None);
}

#[tokio::test]
async fn an_expression_error_fails_the_step_with_a_clear_message() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "x", "type": "t.set", "config": {"value": "{{ $json.missing.deeper }}"}}],
        "edges": [{"from": "s", "to": "x"}]
    });
    let (out, _) = run(def, json!({})).await;
    let RunOutcome::Failed(msg) = out else {
        panic!("{out:?}")
    };
    assert!(
        msg.contains("expression error") && msg.contains("TypeError"),
        "{msg}"
    );
}

#[tokio::test]
async fn cancelling_stops_an_in_flight_step_promptly() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "slow", "type": "t.slow"}],
        "edges": [{"from": "s", "to": "slow"}]
    });
    let ex = executor();
    let rec = Recorder::default();
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let out = ex.run(plan(&ex, def, json!(null)), &rec, cancel).await;
    assert_eq!(out, RunOutcome::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(rec.status("slow"), Some(StepStatus::Cancelled));
}

#[tokio::test]
async fn a_node_that_errors_because_it_was_cancelled_is_cancelled_not_failed() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "heeds", "type": "t.heeds"}],
        "edges": [{"from": "s", "to": "heeds"}]
    });
    let ex = executor();
    // The node's error and the cancel are ready together; which wins must not be chance.
    for _ in 0..20 {
        let rec = Recorder::default();
        let cancel = CancellationToken::new();
        let stopper = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            stopper.cancel();
        });
        let out = ex
            .run(plan(&ex, def.clone(), json!(null)), &rec, cancel)
            .await;
        assert_eq!(out, RunOutcome::Cancelled);
        assert_eq!(rec.status("heeds"), Some(StepStatus::Cancelled));
    }
}

#[tokio::test]
async fn completed_steps_of_an_earlier_run_are_not_run_again() {
    let ex = executor();
    let rec = Recorder::default();
    let mut p = plan(&ex, branching(), json!({"score": 80, "email": "e"}));
    p.prior.insert(
        "lead".into(),
        PriorStep::Completed {
            port: "main".into(),
            output: json!({"score": 80, "email": "e"}),
        },
    );
    p.prior.insert(
        "check".into(),
        PriorStep::Completed {
            port: "true".into(),
            output: json!({"score": 80}),
        },
    );
    p.prior.insert("cold".into(), PriorStep::Skipped);
    let out = ex.run(p, &rec, CancellationToken::new()).await;
    assert_eq!(
        out,
        RunOutcome::Completed(json!({"priority": "hot", "email": "e"}))
    );
    let ran: Vec<String> = rec.finals().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ran, vec!["hot".to_string(), "notify".to_string()]);
}

#[tokio::test]
async fn a_step_that_exceeds_its_timeout_fails() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "slow", "type": "t.slow", "timeout_ms": 20}],
        "edges": [{"from": "s", "to": "slow"}]
    });
    let (out, _) = run(def, json!(null)).await;
    assert_eq!(
        out,
        RunOutcome::Failed("node `slow` failed: step timed out after 20 ms".into())
    );
}

#[tokio::test]
async fn an_execution_that_exceeds_its_own_timeout_fails() {
    let def = json!({
        "nodes": [{"id": "s", "type": "t.trigger"}, {"id": "slow", "type": "t.slow"}],
        "edges": [{"from": "s", "to": "slow"}],
        "settings": {"timeout_ms": 30}
    });
    let (out, _) = run(def, json!(null)).await;
    assert_eq!(
        out,
        RunOutcome::Failed("execution timed out after 30 ms".into())
    );
}
