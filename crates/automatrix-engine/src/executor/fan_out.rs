//! A foreach step (a node whose spec declares a [`FanOut`]): its node turns its config into a
//! list of items; the executor then runs the node's body once per item, at most `concurrency`
//! items at a time, each item through the same stepping loop as the main graph (a [`Frame`]
//! whose steps are recorded as `node_id[index]`), and ends the step on the `done` port with the
//! results in input order.
//!
//! Durability: each body step is checkpointed like any other step, under its per-item id, so a
//! run that resumes (after a crash, a wait or a retry) reuses every completed item step and
//! runs only what is left. The foreach step itself completes only once every item is done; until
//! then it shows as `running`, and a resumed run evaluates its items again (matching item steps
//! by index).
//!
//! [`FanOut`]: automatrix_core::FanOut

use automatrix_core::StepStatus;
use automatrix_core::node::{FanOutItems, NodeError, NodeOutput, Wait};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Map, Value, json};

use super::{Executor, Frame, Run, State, Stop, sink_output};
use crate::checkpoint::StepRecord;
use crate::step::{StepCall, StepEnd, StepEnv, complete, fail, finish, run_step};

/// How one item's run of the body ended.
enum ItemEnd {
    Done(Value),
    Waiting(Wait),
    Stopped(Stop),
}

impl Executor {
    /// Runs a foreach step: the node (for its items), then the body per item.
    pub(super) async fn run_fan_out(
        &self,
        run: &Run<'_>,
        env: &StepEnv<'_>,
        call: StepCall<'_>,
        f: usize,
        outer: Map<String, Value>,
    ) -> StepEnd {
        let def = call.def;
        let fan = call.reg.spec.fan_out;
        let (mut record, items) = match run_step(env, call).await {
            StepEnd::FanOut { record, items } => (record, items),
            other => return other,
        };
        let graph = &run.plan.workflow.graph;
        let (Some(fan), Some((port, body))) = (fan, graph.body(f)) else {
            let error = NodeError::fatal("the definition records no body for this node");
            return fail(env, def, ended(record), error).await;
        };
        let FanOutItems { items, concurrency } = match serde_json::from_value(items) {
            Ok(items) => items,
            Err(e) => {
                let error = NodeError::fatal(format!("the node emitted no item list: {e}"));
                return fail(env, def, ended(record), error).await;
            }
        };
        // The loop may take a while: show it running (and, after a crash, its attempt).
        record.status = StepStatus::Running;
        record.completed_at = None;
        record.duration_ms = None;
        if let Err(e) = env.checkpoint.record(&record).await {
            return StepEnd::Checkpoint(e);
        }
        let loop_cancel = env.cancel.child_token();
        let mut members = vec![false; graph.len()];
        for &b in body {
            members[b] = true;
        }
        let count = items.len();
        let mut item_runs =
            futures::stream::iter(items.into_iter().enumerate().map(|(k, item)| {
                let mut outer = outer.clone();
                outer.insert(
                    graph.id(f).to_owned(),
                    json!({"item": item, "index": k, "count": count}),
                );
                let frame = Frame {
                    members: members.clone(),
                    suffix: format!("[{k}]"),
                    outer,
                    cancel: loop_cancel.clone(),
                    counts_in_flight: false,
                };
                async move {
                    if body.is_empty() {
                        // No body: each result is the item itself.
                        return (k, ItemEnd::Done(item));
                    }
                    let mut state = self.initial_state(run.plan, &frame);
                    state[f] = State::Done(NodeOutput::on(port, item));
                    (k, self.run_item(run, &frame, &mut state).await)
                }
            }))
            .buffer_unordered(concurrency.max(1));

        let mut results = vec![Value::Null; count];
        let mut stopped: Option<(usize, Stop)> = None;
        let mut waits: Vec<Wait> = Vec::new();
        while let Some((k, end)) = item_runs.next().await {
            match end {
                ItemEnd::Done(v) => results[k] = v,
                ItemEnd::Waiting(w) => waits.push(w),
                ItemEnd::Stopped(stop) => {
                    // The first failure stops the other items; their cancellation is not the
                    // cause to report.
                    let cause = match &stopped {
                        None => true,
                        Some((_, Stop::Cancelled)) => !matches!(stop, Stop::Cancelled),
                        Some(_) => false,
                    };
                    if cause {
                        stopped = Some((k, stop));
                    }
                    loop_cancel.cancel();
                }
            }
        }
        drop(item_runs);
        let record = ended(record);
        match stopped {
            Some((k, Stop::Failed(msg))) => {
                let error =
                    NodeError::fatal(format!("item {k}: {msg}")).with_data(json!({"index": k}));
                fail(env, def, record, error).await
            }
            Some((_, Stop::Cancelled)) => {
                let mut record = record;
                record.status = StepStatus::Cancelled;
                record.error = Some("cancelled".into());
                finish(env, &record, StepEnd::Cancelled).await
            }
            Some((_, Stop::Checkpoint(e))) => StepEnd::Checkpoint(e),
            None if !waits.is_empty() => wait(env, record, waits).await,
            None => {
                let out = NodeOutput::on(fan.done, json!({"results": results, "count": count}));
                complete(env, record, out, None).await
            }
        }
    }

    async fn run_item(&self, run: &Run<'_>, frame: &Frame, state: &mut [State]) -> ItemEnd {
        if let Some(stop) = self.step_frame(run, frame, state).await {
            return ItemEnd::Stopped(stop);
        }
        let mut waits = state.iter().filter_map(|s| match s {
            State::Waiting(w) => Some(w.clone()),
            _ => None,
        });
        if let Some(w) = waits.next() {
            return ItemEnd::Waiting(earliest(w, waits));
        }
        ItemEnd::Done(sink_output(&run.plan.workflow.graph, frame, state))
    }
}

/// The record of a foreach step whose loop ended now.
fn ended(mut record: StepRecord) -> StepRecord {
    let now = Utc::now();
    record.completed_at = Some(now);
    record.duration_ms = record
        .started_at
        .map(|started| (now - started).num_milliseconds());
    record
}

/// The wait that ends first (one without a resume time, an approval, last).
fn earliest(first: Wait, rest: impl Iterator<Item = Wait>) -> Wait {
    rest.fold(first, |best, w| match (best.resume_at(), w.resume_at()) {
        (None, Some(_)) => w,
        (Some(a), Some(b)) if b < a => w,
        _ => best,
    })
}

/// Some items wait (a delay or an approval in the body): the foreach waits with them, until
/// the first of them can go on. The run that resumes evaluates the items again, reuses the
/// completed item steps and resumes the waiting ones.
async fn wait(env: &StepEnv<'_>, mut record: StepRecord, waits: Vec<Wait>) -> StepEnd {
    let waiting = waits.len();
    let mut waits = waits.into_iter();
    let first = waits.next().expect("at least one wait");
    let wait = earliest(first, waits);
    record.status = StepStatus::Waiting;
    record.completed_at = None;
    record.output = Some(json!({
        "wait": wait,
        "message": format!("{waiting} item(s) waiting"),
    }));
    finish(env, &record, StepEnd::Waiting(wait)).await
}
