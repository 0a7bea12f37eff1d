//! Graph stepping. Ready nodes (every predecessor finished or skipped, at least one active
//! incoming edge) run concurrently up to a bound; a node whose incoming edges are all inactive
//! is skipped, and skipping propagates. Each finished step is checkpointed before its
//! dependents start. Steps already completed in an earlier run (crash recovery) are reused.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use automatrix_core::expr::{Expressions, Scope};
use automatrix_core::node::{NodeOutput, Wait};
use automatrix_core::{
    ExecutionId, NodeRegistry, NodeServices, StepStatus, ValidatedWorkflow, WorkflowId,
};
use futures::StreamExt;
use futures::future::{BoxFuture, Either};
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};
use crate::step::{StepCall, StepEnd, StepEnv, run_step};

#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// Steps of one execution that may run at the same time.
    pub max_parallel_steps: usize,
    /// Steps of all executions of this executor (a worker process) that may run at once.
    pub max_steps_in_flight: usize,
    /// Step timeout when a node sets none.
    pub default_step_timeout: Duration,
    /// A step's `running` record is written only once it has run this long: a quick step goes
    /// straight to its result (one checkpoint write instead of two); a crash re-runs it either
    /// way, since it never completed. Zero records every start (the CLI's progress lines).
    pub show_running_after: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            max_parallel_steps: 16,
            max_steps_in_flight: 64,
            default_step_timeout: Duration::from_secs(300),
            show_running_after: Duration::from_millis(25),
        }
    }
}

/// Runs workflows; shared by all workers of a process.
#[derive(Clone)]
pub struct Executor {
    registry: Arc<NodeRegistry>,
    expressions: Expressions,
    config: ExecutorConfig,
    slots: Arc<Semaphore>,
}

/// What an earlier run of the same execution left of a step.
#[derive(Clone, Debug)]
pub enum PriorStep {
    /// Done: reused, never run again.
    Completed {
        port: String,
        output: Value,
    },
    Skipped,
    /// Suspended: run again as the same attempt, with what it recorded.
    Resume {
        attempt: u32,
        state: Value,
    },
    /// Started but not finished (the worker died: run the same attempt again) or failed or
    /// cancelled (run again from `attempt`, the next number).
    Rerun {
        attempt: u32,
    },
}

/// One run of one execution.
pub struct RunPlan {
    pub execution_id: ExecutionId,
    pub workflow_id: WorkflowId,
    pub workflow: Arc<ValidatedWorkflow>,
    pub input: Value,
    /// How many times the execution has been started (`$execution.attempt`).
    pub attempt: u32,
    pub prior: HashMap<String, PriorStep>,
    /// What its nodes may ask of the engine (credentials, key-value store, sub-workflows),
    /// bound to the run's organization and workflow.
    pub services: Arc<dyn NodeServices>,
    /// The execution is a dry run: every step runs with [`NodeContext::dry_run`].
    ///
    /// [`NodeContext::dry_run`]: automatrix_core::NodeContext::dry_run
    pub dry_run: bool,
}

impl PriorStep {
    /// What a new run does with a node whose latest recorded attempt is `attempt`, ended in
    /// `status`. `None` for a node that never got a row.
    pub fn from_latest(
        status: StepStatus,
        attempt: u32,
        port: Option<String>,
        output: Option<Value>,
    ) -> Self {
        let attempt = attempt.max(1);
        match status {
            StepStatus::Completed => Self::Completed {
                port: port.unwrap_or_else(|| automatrix_core::node::MAIN_PORT.to_owned()),
                output: output.unwrap_or_default(),
            },
            StepStatus::Skipped => Self::Skipped,
            StepStatus::Waiting => Self::Resume {
                attempt,
                state: output.unwrap_or_default(),
            },
            // The run stopped mid-step (its worker died): run that attempt again.
            StepStatus::Running | StepStatus::Pending => Self::Rerun { attempt },
            StepStatus::Failed | StepStatus::Cancelled => Self::Rerun {
                attempt: attempt + 1,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Completed(Value),
    Failed(String),
    /// Some steps wait; run the execution again at `resume_at` (or when a decision arrives).
    Waiting {
        resume_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    Cancelled,
    /// The lease was lost: another worker owns the execution; write nothing more.
    Abandoned,
}

#[derive(Clone, Debug)]
pub(crate) enum State {
    Pending,
    Running,
    Done(NodeOutput),
    Skipped,
    Waiting(Wait),
    /// Not stepped by this frame (a foreach body seen from the main graph, or the main graph
    /// seen from a body).
    Outside,
}

/// Shared by every frame of one run.
pub(crate) struct Run<'a> {
    plan: &'a RunPlan,
    checkpoint: &'a dyn Checkpoint,
    vars: Value,
    execution: Value,
}

/// The part of the graph one stepping loop runs: the main graph (every node outside a foreach
/// body), or the body of a foreach for one item.
pub(crate) struct Frame {
    /// The nodes this loop steps.
    members: Vec<bool>,
    /// Appended to a node id to name its steps: empty for the main graph, `[3]` for item 3.
    suffix: String,
    /// `$node` entries from outside the frame: for a body, the main graph's outputs as the loop
    /// started and the foreach itself as `{item, index}`.
    outer: Map<String, Value>,
    /// Stops this loop: the execution's token, or (in a body) a child of it per loop.
    cancel: CancellationToken,
    /// Whether its steps may defer their completion when alone in flight (see
    /// [`StepRecord::deferrable`]); not in a body, whose steps run beside other items'.
    counts_in_flight: bool,
}

impl Frame {
    fn record_id(&self, graph: &automatrix_core::Graph, i: usize) -> String {
        format!("{}{}", graph.id(i), self.suffix)
    }

    /// What `$node` shows: the outer entries, then this frame's completed nodes.
    fn outputs(&self, graph: &automatrix_core::Graph, state: &[State]) -> Map<String, Value> {
        let mut out = self.outer.clone();
        out.extend((0..graph.len()).filter_map(|i| match &state[i] {
            State::Done(o) if self.members[i] => Some((graph.id(i).to_owned(), o.data.clone())),
            _ => None,
        }));
        out
    }

    /// Whether a config of the body of fan-out node `f` mentions `needle`.
    fn body_mentions(&self, plan: &RunPlan, f: usize, needle: &str) -> bool {
        let wf = &plan.workflow;
        wf.graph.body(f).is_some_and(|(_, body)| {
            body.iter()
                .any(|&b| mentions(&wf.definition.nodes[b].config, needle))
        })
    }
}

/// Why a frame stopped before its end.
pub(crate) enum Stop {
    Failed(String),
    Cancelled,
    Checkpoint(CheckpointError),
}

impl Executor {
    pub fn new(
        registry: Arc<NodeRegistry>,
        expressions: Expressions,
        config: ExecutorConfig,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_steps_in_flight.max(1)));
        Self {
            registry,
            expressions,
            config,
            slots,
        }
    }

    pub fn registry(&self) -> &Arc<NodeRegistry> {
        &self.registry
    }

    pub fn expressions(&self) -> &Expressions {
        &self.expressions
    }

    /// Runs the plan to its end (or until `cancel`).
    pub async fn run(
        &self,
        plan: RunPlan,
        checkpoint: &dyn Checkpoint,
        cancel: CancellationToken,
    ) -> RunOutcome {
        let deadline = plan
            .workflow
            .definition
            .settings
            .timeout_ms
            .map(Duration::from_millis);
        let run = self.step_graph(&plan, checkpoint, &cancel);
        match deadline {
            None => run.await,
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    cancel.cancel();
                    RunOutcome::Failed(format!(
                        "execution timed out after {} ms",
                        limit.as_millis()
                    ))
                }
            },
        }
    }

    async fn step_graph(
        &self,
        plan: &RunPlan,
        checkpoint: &dyn Checkpoint,
        cancel: &CancellationToken,
    ) -> RunOutcome {
        let graph = &plan.workflow.graph;
        let run = Run {
            plan,
            checkpoint,
            vars: Value::Object(plan.workflow.definition.variables.clone()),
            execution: json!({"id": plan.execution_id, "workflow_id": plan.workflow_id, "attempt": plan.attempt}),
        };
        let frame = Frame {
            members: (0..graph.len())
                .map(|i| graph.body_of(i).is_none())
                .collect(),
            suffix: String::new(),
            outer: Map::new(),
            cancel: cancel.clone(),
            counts_in_flight: true,
        };
        let mut state = self.initial_state(plan, &frame);
        if let Some(stop) = self.step_frame(&run, &frame, &mut state).await {
            return match stop {
                Stop::Failed(msg) => RunOutcome::Failed(msg),
                Stop::Cancelled => RunOutcome::Cancelled,
                Stop::Checkpoint(e) => checkpoint_outcome(e),
            };
        }
        if cancel.is_cancelled() {
            return RunOutcome::Cancelled;
        }
        let waits: Vec<&Wait> = state
            .iter()
            .filter_map(|s| match s {
                State::Waiting(w) => Some(w),
                _ => None,
            })
            .collect();
        if !waits.is_empty() {
            return RunOutcome::Waiting {
                resume_at: waits.iter().filter_map(|w| w.resume_at()).min(),
            };
        }
        RunOutcome::Completed(sink_output(graph, &frame, &state))
    }

    /// The state of a frame's nodes before it runs: what earlier runs left of their steps.
    fn initial_state(&self, plan: &RunPlan, frame: &Frame) -> Vec<State> {
        let graph = &plan.workflow.graph;
        (0..graph.len())
            .map(|i| {
                if !frame.members[i] {
                    return State::Outside;
                }
                match plan.prior.get(&frame.record_id(graph, i)) {
                    Some(PriorStep::Completed { port, output }) => State::Done(NodeOutput {
                        port: port.clone(),
                        data: output.clone(),
                    }),
                    Some(PriorStep::Skipped) => State::Skipped,
                    Some(PriorStep::Resume { .. } | PriorStep::Rerun { .. }) | None => {
                        State::Pending
                    }
                }
            })
            .collect()
    }

    /// Steps the nodes of `frame` until none is left to start and none runs. `Some` when the
    /// frame stopped early: a failed step, a cancel, a checkpoint that failed.
    ///
    /// Boxed: a foreach step runs its body through this same loop.
    pub(crate) fn step_frame<'a>(
        &'a self,
        run: &'a Run<'a>,
        frame: &'a Frame,
        state: &'a mut [State],
    ) -> BoxFuture<'a, Option<Stop>> {
        Box::pin(async move {
            let plan = run.plan;
            let graph = &plan.workflow.graph;
            let def = &plan.workflow.definition;
            let in_flight = AtomicUsize::new(0);
            let env = StepEnv {
                execution_id: plan.execution_id,
                workflow_id: plan.workflow_id,
                expressions: &self.expressions,
                checkpoint: run.checkpoint,
                cancel: &frame.cancel,
                default_timeout: self.config.default_step_timeout,
                slots: &self.slots,
                show_running_after: self.config.show_running_after,
                in_flight: frame.counts_in_flight.then_some(&in_flight),
                services: &plan.services,
                dry_run: plan.dry_run,
            };
            let mut running = FuturesUnordered::new();
            let mut stop: Option<Stop> = None;
            loop {
                in_flight.store(running.len(), Ordering::Relaxed);
                if stop.is_none() && !frame.cancel.is_cancelled() {
                    for &i in graph.order() {
                        if running.len() >= self.config.max_parallel_steps {
                            break;
                        }
                        if !frame.members[i] || !matches!(state[i], State::Pending) {
                            continue;
                        }
                        let Some(input) = self.readiness(plan, state, i) else {
                            continue;
                        };
                        let record_id = frame.record_id(graph, i);
                        let Some(input) = input else {
                            state[i] = State::Skipped;
                            if let Err(e) = run.checkpoint.record(&skipped(def, i, record_id)).await
                            {
                                stop = Some(Stop::Checkpoint(e));
                                break;
                            }
                            continue;
                        };
                        let node = &def.nodes[i];
                        let Some(reg) = self.registry.get(&node.kind) else {
                            stop = Some(Stop::Failed(format!(
                                "node type `{}` is not available",
                                node.kind
                            )));
                            break;
                        };
                        let scope = Arc::new(Scope {
                            json: input.clone(),
                            trigger: plan.input.clone(),
                            nodes: if mentions(&node.config, "$node") {
                                frame.outputs(graph, state)
                            } else {
                                Map::new()
                            },
                            vars: run.vars.clone(),
                            execution: run.execution.clone(),
                            now: chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        });
                        state[i] = State::Running;
                        let (first_attempt, resume) = match plan.prior.get(&record_id) {
                            Some(PriorStep::Resume { attempt, state }) => {
                                (*attempt, Some(state.clone()))
                            }
                            Some(PriorStep::Rerun { attempt }) => (*attempt, None),
                            _ => (1, None),
                        };
                        let call = StepCall {
                            def: node,
                            record_id,
                            reg,
                            input,
                            scope,
                            first_attempt,
                            resume,
                        };
                        let env = &env;
                        if reg.spec.fan_out.is_some() {
                            // What `$node` shows inside the body: the graph as the loop starts.
                            let outer = frame
                                .body_mentions(plan, i, "$node")
                                .then(|| frame.outputs(graph, state));
                            running.push(Either::Right(async move {
                                (
                                    i,
                                    self.run_fan_out(run, env, call, i, outer.unwrap_or_default())
                                        .await,
                                )
                            }));
                        } else {
                            running
                                .push(Either::Left(async move { (i, run_step(env, call).await) }));
                        }
                        in_flight.store(running.len(), Ordering::Relaxed);
                    }
                }
                let Some((i, end)) = running.next().await else {
                    break;
                };
                match end {
                    StepEnd::Done(out) => state[i] = State::Done(out),
                    StepEnd::Waiting(wait) => state[i] = State::Waiting(wait),
                    StepEnd::Failed(msg) => {
                        state[i] = State::Skipped;
                        stop.get_or_insert(Stop::Failed(msg));
                        frame.cancel.cancel();
                    }
                    StepEnd::Cancelled => {
                        stop.get_or_insert(Stop::Cancelled);
                    }
                    StepEnd::Checkpoint(e) => {
                        stop.get_or_insert(Stop::Checkpoint(e));
                        frame.cancel.cancel();
                    }
                    StepEnd::FanOut { .. } => {
                        // `run_fan_out` takes these; a node declaring no fan-out never emits one.
                        state[i] = State::Skipped;
                        stop.get_or_insert(Stop::Failed(format!(
                            "node `{}` emitted items without a body",
                            graph.id(i)
                        )));
                        frame.cancel.cancel();
                    }
                }
            }
            if stop.is_none() && frame.cancel.is_cancelled() {
                stop = Some(Stop::Cancelled);
            }
            stop
        })
    }

    /// `None`: not ready yet. `Some(None)`: every incoming edge is inactive (skip).
    /// `Some(Some(input))`: ready with this input.
    fn readiness(&self, plan: &RunPlan, state: &[State], i: usize) -> Option<Option<Value>> {
        let graph = &plan.workflow.graph;
        if i == graph.trigger() {
            return Some(Some(plan.input.clone()));
        }
        let incoming = graph.incoming(i);
        if incoming.iter().any(|l| {
            matches!(
                state[l.from],
                State::Pending | State::Running | State::Waiting(_)
            )
        }) {
            return None;
        }
        let mut active: Vec<(usize, &Value)> = Vec::new();
        for l in incoming {
            if let State::Done(out) = &state[l.from]
                && out.port == l.port
                && !active.iter().any(|(f, _)| *f == l.from)
            {
                active.push((l.from, &out.data));
            }
        }
        let keyed = self
            .registry
            .get(&plan.workflow.definition.nodes[i].kind)
            .is_some_and(|r| r.spec.keyed_input);
        Some(match active.as_slice() {
            [] => None,
            [(_, one)] if !keyed => Some((*one).clone()),
            many => Some(Value::Object(
                many.iter()
                    .map(|(f, v)| (graph.id(*f).to_owned(), (*v).clone()))
                    .collect(),
            )),
        })
    }
}

/// Output of the frame's one completed sink (a node with no edge to another node of the
/// frame), or an object keyed by node id when several completed.
fn sink_output(graph: &automatrix_core::Graph, frame: &Frame, state: &[State]) -> Value {
    let mut sinks: Vec<(usize, &Value)> = (0..graph.len())
        .filter(|&i| frame.members[i])
        .filter(|&i| graph.outgoing(i).iter().all(|l| !frame.members[l.to]))
        .filter_map(|i| match &state[i] {
            State::Done(out) => Some((i, &out.data)),
            _ => None,
        })
        .collect();
    match sinks.len() {
        0 => Value::Null,
        1 => sinks.remove(0).1.clone(),
        _ => Value::Object(
            sinks
                .into_iter()
                .map(|(i, v)| (graph.id(i).to_owned(), v.clone()))
                .collect(),
        ),
    }
}

/// Whether any string in a config mentions `needle` (so the scope can leave it out).
fn mentions(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|x| mentions(x, needle)),
        Value::Object(o) => o.values().any(|x| mentions(x, needle)),
        _ => false,
    }
}

fn skipped(def: &automatrix_core::WorkflowDefinition, i: usize, record_id: String) -> StepRecord {
    let kind = def.nodes[i].kind.clone();
    StepRecord {
        node_id: record_id,
        node_type: kind,
        status: StepStatus::Skipped,
        attempt: 0,
        input: None,
        output: None,
        port: None,
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
        // Skipping again changes nothing: the record may wait for the next write.
        replayable: true,
        deferrable: false,
        answers_webhook: false,
    }
}

fn checkpoint_outcome(e: CheckpointError) -> RunOutcome {
    match e {
        CheckpointError::LeaseLost => RunOutcome::Abandoned,
        CheckpointError::Cancelled => RunOutcome::Cancelled,
        CheckpointError::Failed(msg) => RunOutcome::Failed(format!("checkpoint failed: {msg}")),
    }
}

mod fan_out;
#[cfg(test)]
mod tests;
