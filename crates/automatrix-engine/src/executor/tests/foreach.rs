//! Foreach (fan-out) steps: the body runs once per item, a bounded number at a time; results
//! come back in input order; each body step is recorded as `id[index]` and reused on resume;
//! one failing item fails the loop with its index.

use automatrix_core::node::{FanOut, FanOutItems};
use chrono::{DateTime, Utc};

use super::*;

/// `t.each`: emits `config.items` on `item`, `config.concurrency` at a time (default 4).
struct Each;
/// `t.sleepy`: waits `config.ms`, then outputs `config.value` (or its input).
struct Sleepy;
/// `t.hold`: suspends until `config.until` the first time, then passes its input on.
struct Hold;

pub(super) fn register(r: &mut NodeRegistry) {
    r.register(Each).register(Sleepy).register(Hold);
}

#[async_trait]
impl Node for Hold {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.hold", "Hold", "flow")
    }
    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        if ctx.resume.is_some() {
            return Ok(NodeOutput::main(input));
        }
        let until = config["until"].as_str().unwrap().parse().unwrap();
        Err(NodeError::suspend(Wait::Delay { until }))
    }
}

#[async_trait]
impl Node for Each {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            outputs: vec!["item", "done"],
            fan_out: Some(FanOut {
                body: "item",
                done: "done",
            }),
            ..NodeSpec::new("t.each", "Each", "logic")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        config: Value,
        _: Value,
    ) -> Result<NodeOutput, NodeError> {
        let Some(items) = config["items"].as_array() else {
            return Err(NodeError::fatal("items must be a list"));
        };
        let out = FanOutItems {
            items: items.clone(),
            concurrency: config["concurrency"].as_u64().unwrap_or(4) as usize,
        };
        Ok(NodeOutput::on("item", serde_json::to_value(out).unwrap()))
    }
}

#[async_trait]
impl Node for Sleepy {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.sleepy", "Sleepy", "test")
    }
    async fn execute(
        &self,
        _: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let ms = config["ms"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(NodeOutput::main(
            config.get("value").cloned().unwrap_or(input),
        ))
    }
}

/// start → each(items) —item→ enrich (sleeps `$json.ms`, adds the index) → label;
/// each —done→ report.
fn enrich_each(items: Value, concurrency: u64) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "each", "type": "t.each", "config": {"items": items, "concurrency": concurrency}},
            {"id": "enrich", "type": "t.sleepy", "config": {"ms": "{{ $json.ms }}",
                "value": {"vin": "{{ $json.vin }}", "index": "{{ $node['each'].index }}", "of": "{{ $node['each'].count }}"}}},
            {"id": "label", "type": "t.set", "config": {"value": "{{ $json.vin + '#' + $node['enrich'].index }}"}},
            {"id": "report", "type": "t.set", "config": {"value": {"done": "{{ $json }}", "dealer": "{{ $node['start'].dealer }}"}}}
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "output": "item", "to": "enrich"},
            {"from": "enrich", "to": "label"},
            {"from": "each", "output": "done", "to": "report"}
        ]
    })
}

fn vehicles(ms: [u64; 3]) -> Value {
    json!([{"vin": "A", "ms": ms[0]}, {"vin": "B", "ms": ms[1]}, {"vin": "C", "ms": ms[2]}])
}

/// The body steps that completed, in the order they completed.
fn completed(rec: &Recorder, node: &str) -> Vec<String> {
    rec.0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.status == StepStatus::Completed && r.node_id.starts_with(&format!("{node}[")))
        .map(|r| r.node_id.clone())
        .collect()
}

/// The most body steps of `node` that ran at the same time, from their recorded times.
fn most_at_once(rec: &Recorder, node: &str) -> usize {
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.status == StepStatus::Completed && r.node_id.starts_with(&format!("{node}[")))
        .map(|r| (r.started_at.unwrap(), r.completed_at.unwrap()))
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn each_item_runs_the_body_and_the_results_come_back_in_input_order() {
    let def = enrich_each(vehicles([60, 10, 30]), 3);

    let (out, rec) = run(def, json!({"dealer": "Lakeside"})).await;

    assert_eq!(
        out,
        RunOutcome::Completed(json!({
            "done": {"results": ["A#0", "B#1", "C#2"], "count": 3},
            "dealer": "Lakeside"
        }))
    );
    assert_eq!(
        completed(&rec, "enrich"),
        ["enrich[1]", "enrich[2]", "enrich[0]"]
    );
    assert_eq!(
        most_at_once(&rec, "enrich"),
        3,
        "the three items ran in parallel"
    );
    let records = rec.0.lock().unwrap();
    let enriched = records
        .iter()
        .find(|r| r.node_id == "enrich[2]" && r.status == StepStatus::Completed)
        .unwrap();
    assert_eq!(enriched.input, Some(json!({"vin": "C", "ms": 30})));
    assert_eq!(
        enriched.output,
        Some(json!({"vin": "C", "index": 2, "of": 3}))
    );
    assert!(
        !records
            .iter()
            .any(|r| r.node_id == "enrich" || r.node_id == "label"),
        "body nodes are recorded per item only"
    );
    let each: Vec<(StepStatus, Option<String>, bool)> = records
        .iter()
        .filter(|r| r.node_id == "each")
        .map(|r| (r.status, r.port.clone(), r.completed_at.is_some()))
        .collect();
    assert_eq!(
        each,
        [
            (StepStatus::Running, None, false),
            (StepStatus::Completed, Some("done".into()), true)
        ]
    );
}

#[tokio::test]
async fn concurrency_bounds_how_many_items_run_at_once() {
    let (one, rec_one) = run(enrich_each(vehicles([40, 5, 20]), 1), json!({})).await;
    let (three, rec_three) = run(enrich_each(vehicles([40, 5, 20]), 3), json!({})).await;
    let (two, rec_two) = run(enrich_each(vehicles([40, 5, 20]), 2), json!({})).await;

    for out in [&one, &two, &three] {
        assert_eq!(
            out,
            &RunOutcome::Completed(
                json!({"done": {"results": ["A#0", "B#1", "C#2"], "count": 3}, "dealer": null})
            )
        );
    }
    assert_eq!(
        completed(&rec_one, "enrich"),
        ["enrich[0]", "enrich[1]", "enrich[2]"]
    );
    assert_eq!(most_at_once(&rec_one, "enrich"), 1);
    assert_eq!(
        completed(&rec_three, "enrich"),
        ["enrich[1]", "enrich[2]", "enrich[0]"]
    );
    assert_eq!(most_at_once(&rec_three, "enrich"), 3);
    assert_eq!(most_at_once(&rec_two, "enrich"), 2);
}

#[tokio::test]
async fn an_empty_list_goes_straight_to_done_with_no_results() {
    let (out, rec) = run(enrich_each(json!([]), 4), json!({})).await;

    assert_eq!(
        out,
        RunOutcome::Completed(json!({"done": {"results": [], "count": 0}, "dealer": null}))
    );
    assert!(completed(&rec, "enrich").is_empty());
}

/// Items with `bad: true` take the `t.fail` branch.
fn with_a_failing_item(on_error: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "each", "type": "t.each", "config": {"items": "{{ $json.leads }}", "concurrency": 1}, "on_error": on_error},
            {"id": "check", "type": "t.if", "config": {"condition": "{{ $json.bad === true }}"}},
            {"id": "reject", "type": "t.fail"},
            {"id": "accept", "type": "t.set", "config": {"value": "{{ $json.email }}"}},
            {"id": "report", "type": "t.set"},
            {"id": "handle", "type": "t.set", "config": {"value": {"failed": "{{ $json.error.message }}", "index": "{{ $json.error.data.index }}"}}}
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "output": "item", "to": "check"},
            {"from": "check", "output": "true", "to": "reject"},
            {"from": "check", "output": "false", "to": "accept"},
            {"from": "each", "output": "done", "to": "report"},
            {"from": "each", "output": if on_error == "route" { "error" } else { "done" }, "to": "handle"}
        ]
    })
}

fn leads() -> Value {
    json!({"leads": [{"email": "a@x"}, {"email": "b@x", "bad": true}, {"email": "c@x"}]})
}

#[tokio::test]
async fn a_failing_item_fails_the_loop_with_its_index_and_stops_the_rest() {
    let (out, rec) = run(with_a_failing_item("fail"), leads()).await;

    assert_eq!(
        out,
        RunOutcome::Failed("node `each` failed: item 1: node `reject[1]` failed: bad lead".into())
    );
    assert_eq!(rec.status("accept[0]"), Some(StepStatus::Completed));
    assert_eq!(rec.status("accept[1]"), Some(StepStatus::Skipped));
    assert_eq!(rec.status("reject[1]"), Some(StepStatus::Failed));
    assert_eq!(
        rec.status("check[2]"),
        None,
        "item 2 never started (concurrency 1)"
    );
    assert_eq!(rec.status("each"), Some(StepStatus::Failed));
    assert_eq!(rec.status("report"), None);
}

#[tokio::test]
async fn a_failing_item_can_be_routed_by_the_loops_on_error() {
    let (out, rec) = run(with_a_failing_item("route"), leads()).await;

    assert_eq!(
        out,
        RunOutcome::Completed(
            json!({"failed": "item 1: node `reject[1]` failed: bad lead", "index": 1})
        )
    );
    assert_eq!(rec.status("report"), Some(StepStatus::Skipped));
}

#[tokio::test]
async fn a_body_node_that_continues_on_error_keeps_the_loop_going() {
    let mut def = with_a_failing_item("fail");
    def["nodes"][3]["on_error"] = json!("continue");
    def["nodes"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["id"] != "handle");
    def["edges"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["to"] != "handle");

    let (out, _) = run(def, leads()).await;

    let RunOutcome::Completed(out) = out else {
        panic!("{out:?}")
    };
    assert_eq!(out["count"], 3);
    assert_eq!(
        out["results"],
        json!(["a@x", {"error": {"message": "bad lead", "class": "fatal", "data": {"code": 7}}}, "c@x"])
    );
}

#[tokio::test]
async fn a_resumed_loop_reuses_the_item_steps_that_completed() {
    let ex = executor();
    let rec = Recorder::default();
    let mut p = plan(&ex, enrich_each(vehicles([0, 0, 0]), 2), json!({}));
    for (k, vin) in ["A", "B"].into_iter().enumerate() {
        p.prior.insert(
            format!("enrich[{k}]"),
            PriorStep::Completed {
                port: "main".into(),
                output: json!({"vin": vin, "index": k, "of": 3}),
            },
        );
    }
    p.prior.insert(
        "label[0]".into(),
        PriorStep::Completed {
            port: "main".into(),
            output: json!("A#0 (from the first run)"),
        },
    );
    p.prior
        .insert("each".into(), PriorStep::Rerun { attempt: 1 });

    let out = ex.run(p, &rec, CancellationToken::new()).await;

    assert_eq!(
        out,
        RunOutcome::Completed(
            json!({"done": {"results": ["A#0 (from the first run)", "B#1", "C#2"], "count": 3}, "dealer": null})
        )
    );
    let ran: Vec<String> = rec
        .finals()
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.contains('['))
        .collect();
    let mut ran_sorted = ran.clone();
    ran_sorted.sort();
    assert_eq!(ran_sorted, ["enrich[2]", "label[1]", "label[2]"], "{ran:?}");
}

#[tokio::test]
async fn branches_inside_the_body_are_skipped_per_item() {
    let def = json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "each", "type": "t.each", "config": {"items": [1, 60, 2]}},
            {"id": "big", "type": "t.if", "config": {"condition": "{{ $json > 50 }}"}},
            {"id": "keep", "type": "t.set", "config": {"value": "{{ 'big ' + $json }}"}}
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "output": "item", "to": "big"},
            {"from": "big", "output": "true", "to": "keep"}
        ]
    });

    let (out, rec) = run(def, json!({})).await;

    assert_eq!(
        out,
        RunOutcome::Completed(json!({"results": [null, "big 60", null], "count": 3}))
    );
    assert_eq!(rec.status("keep[0]"), Some(StepStatus::Skipped));
    assert_eq!(rec.status("keep[1]"), Some(StepStatus::Completed));
}

#[tokio::test]
async fn cancelling_the_execution_stops_the_items_in_flight() {
    let def = json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "each", "type": "t.each", "config": {"items": [1, 2]}},
            {"id": "wait", "type": "t.slow"}
        ],
        "edges": [{"from": "start", "to": "each"}, {"from": "each", "output": "item", "to": "wait"}]
    });
    let ex = executor();
    let rec = Recorder::default();
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stopper.cancel();
    });

    let out = ex.run(plan(&ex, def, json!(null)), &rec, cancel).await;

    assert_eq!(out, RunOutcome::Cancelled);
    assert_eq!(rec.status("wait[0]"), Some(StepStatus::Cancelled));
    assert_eq!(rec.status("wait[1]"), Some(StepStatus::Cancelled));
    assert_eq!(rec.status("each"), Some(StepStatus::Cancelled));
}

#[tokio::test]
async fn a_wait_inside_the_body_parks_the_loop_until_the_earliest_item_can_go_on() {
    let def = json!({
        "nodes": [
            {"id": "start", "type": "t.trigger"},
            {"id": "each", "type": "t.each", "config": {"items": [
                {"n": 1, "until": "2030-01-02T00:00:00Z"}, {"n": 2, "until": "2030-01-01T00:00:00Z"}]}},
            {"id": "hold", "type": "t.hold", "config": {"until": "{{ $json.until }}"}},
            {"id": "after", "type": "t.set", "config": {"value": "{{ $json.n }}"}}
        ],
        "edges": [{"from": "start", "to": "each"}, {"from": "each", "output": "item", "to": "hold"},
                  {"from": "hold", "to": "after"}]
    });
    let ex = executor();
    let rec = Recorder::default();

    let first = ex
        .run(
            plan(&ex, def.clone(), json!({})),
            &rec,
            CancellationToken::new(),
        )
        .await;

    assert_eq!(
        first,
        RunOutcome::Waiting {
            resume_at: Some("2030-01-01T00:00:00Z".parse().unwrap())
        }
    );
    assert_eq!(rec.status("each"), Some(StepStatus::Waiting));
    assert_eq!(rec.status("hold[0]"), Some(StepStatus::Waiting));
    assert_eq!(rec.status("hold[1]"), Some(StepStatus::Waiting));

    // The execution resumes with what the first run recorded.
    let mut p = plan(&ex, def, json!({}));
    for r in rec.0.lock().unwrap().iter() {
        p.prior.insert(
            r.node_id.clone(),
            PriorStep::from_latest(r.status, r.attempt, r.port.clone(), r.output.clone()),
        );
    }
    let second = ex.run(p, &rec, CancellationToken::new()).await;

    assert_eq!(
        second,
        RunOutcome::Completed(json!({"results": [1, 2], "count": 2}))
    );
}

#[tokio::test]
async fn a_loop_without_a_body_gives_back_its_items() {
    let def = json!({
        "nodes": [{"id": "start", "type": "t.trigger"}, {"id": "each", "type": "t.each", "config": {"items": ["a", "b"]}}],
        "edges": [{"from": "start", "to": "each"}]
    });

    let (out, _) = run(def, json!({})).await;

    assert_eq!(
        out,
        RunOutcome::Completed(json!({"results": ["a", "b"], "count": 2}))
    );
}
