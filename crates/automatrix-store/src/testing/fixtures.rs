//! What the promises are made of: tenants, workflows, executions and claims, with unique names
//! and the clock at the precision every backend keeps.

use automatrix_core::{ExecutionStatus, StepStatus};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    ClaimedJob, Execution, ExecutionOutcome, NewExecution, NewUser, NewWorkflow, StepWrite, Store,
    StoreError, User, Workflow,
};

/// The current time at the precision every backend keeps (PostgreSQL: microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(super) const LEASE: Duration = Duration::seconds(30);

/// A new user in a new organization, with a unique email.
pub async fn new_tenant(store: &dyn Store) -> User {
    let id = Uuid::now_v7();
    ok!(store.create_user_with_organization(NewUser {
        id,
        organization_id: Uuid::now_v7(),
        organization_name: format!("Dealer {}", id.simple()),
        email: format!("user-{}@example.test", id.simple()),
        name: "Test User".to_owned(),
        password_hash: "$argon2id$test".to_owned(),
        now: now(),
    }))
}

pub(super) fn definition(label: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {"id": "set", "type": "transform.set", "config": {"fields": {"label": label}}}
        ],
        "edges": [{"from": "start", "to": "set"}]
    })
}

/// A new active workflow of `user`'s organization at version 1.
pub async fn new_workflow(store: &dyn Store, user: &User) -> Workflow {
    ok!(store.create_workflow(new_workflow_request(user)))
}

/// What [`new_workflow`] creates.
pub fn new_workflow_request(user: &User) -> NewWorkflow {
    NewWorkflow {
        id: Uuid::now_v7(),
        organization_id: user.organization_id,
        name: "Follow up new leads".to_owned(),
        description: "Sends a follow-up".to_owned(),
        definition: definition("v1"),
        is_active: true,
        webhook_token: None,
        next_tick: None,
        created_by: Some(user.id),
        now: now(),
    }
}

/// A new pending execution of `workflow`'s current version, created (and due) at `at`.
pub async fn new_execution(store: &dyn Store, workflow: &Workflow, at: DateTime<Utc>) -> Execution {
    ok!(store.create_execution(new_execution_row(workflow, at)))
}

/// What [`new_execution`] creates, to vary before creating it.
pub fn new_execution_row(workflow: &Workflow, at: DateTime<Utc>) -> NewExecution {
    NewExecution {
        id: Uuid::now_v7(),
        organization_id: workflow.organization_id,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input: json!({"body": {"email": "lead@example.test"}}),
        dry_run: false,
        lease: None,
        origin: Default::default(),
        now: at,
    }
}

/// An execution of `workflow` as the queue would have left it, with the times under the caller's
/// control (for reports over past ranges): created at `created`; then in `status`. One that
/// ran (`run`: how long) started at `created`; a finished one without `run` finished at
/// `created` without starting (cancelled while queued). A pending one's job is due only in a
/// hundred years and a running one's lease lasts as long, so that the next call claims its
/// own execution's job and nothing else does; deleting the workflow removes both.
pub async fn past_execution(
    store: &dyn Store,
    workflow: &Workflow,
    status: ExecutionStatus,
    created: DateTime<Utc>,
    run: Option<Duration>,
) -> Uuid {
    let far = created + Duration::days(36_500);
    let execution = new_execution(store, workflow, created).await;
    let job = ok!(store.claim_job("past-worker", created, far)).expect("its job is due");
    assert_eq!(
        job.execution_id, execution.id,
        "another execution's job was due before {created}"
    );
    if status == ExecutionStatus::Pending {
        ok!(store.release_job(&job, far));
        return execution.id;
    }
    let runs = run.is_some() || !status.is_terminal();
    if runs {
        ok!(store.start_execution(&job, created)).expect("runnable");
    }
    match status {
        ExecutionStatus::Waiting => ok!(store.suspend_execution(&job, None, created)),
        s if s.is_terminal() => {
            let end = created + run.unwrap_or_default();
            ok!(store.finish_execution(&job, outcome(s, end)));
        }
        _ => {}
    }
    execution.id
}

pub(super) async fn claim(
    store: &dyn Store,
    worker: &str,
    at: DateTime<Utc>,
) -> Option<ClaimedJob> {
    ok!(store.claim_job(worker, at, at + LEASE))
}

/// Claims at `at` and checks that the claimed job is `execution`'s.
pub(super) async fn claim_own(
    store: &dyn Store,
    execution: &Execution,
    at: DateTime<Utc>,
) -> ClaimedJob {
    let job = claim(store, "worker-a", at)
        .await
        .expect("a due job to claim");
    assert_eq!(
        job.execution_id, execution.id,
        "claimed another execution's job"
    );
    job
}

pub(super) fn step(
    job: &ClaimedJob,
    node_id: &str,
    status: StepStatus,
    at: DateTime<Utc>,
) -> StepWrite {
    StepWrite {
        execution_id: job.execution_id,
        organization_id: job.organization_id,
        node_id: node_id.to_owned(),
        node_type: "transform.set".to_owned(),
        status,
        attempt: 1,
        input_data: Some(json!({"in": node_id})),
        output_data: None,
        output_port: None,
        error_message: None,
        started_at: Some(at),
        completed_at: None,
        duration_ms: None,
        now: at,
    }
}

pub(super) fn outcome(status: ExecutionStatus, at: DateTime<Utc>) -> ExecutionOutcome {
    ExecutionOutcome {
        steps: Vec::new(),
        follow_up: None,
        status,
        output: None,
        error: None,
        now: at,
    }
}

pub(super) fn is_stale<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Stale(_)))
}

/// Deletes the workflows (and so their jobs) a promise created.
pub(super) async fn clean_up(store: &dyn Store, workflows: &[&Workflow]) {
    for workflow in workflows {
        ok!(store.delete_workflow(workflow.organization_id, workflow.id));
    }
}

pub(super) fn ids(executions: &[Execution]) -> Vec<Uuid> {
    executions.iter().map(|e| e.id).collect()
}

/// A new tenant with one new workflow, and the instant a promise starts at.
pub(super) struct Scene {
    pub(super) org: Uuid,
    pub(super) workflow: Workflow,
    pub(super) t: DateTime<Utc>,
}

pub(super) async fn scene(store: &dyn Store) -> Scene {
    let user = new_tenant(store).await;
    let workflow = new_workflow(store, &user).await;
    Scene {
        org: user.organization_id,
        workflow,
        t: now(),
    }
}

/// A [`ClaimedScene`] whose execution was started at `t`.
pub(super) async fn started_scene(store: &dyn Store) -> ClaimedScene {
    let scene = claimed_scene(store).await;
    ok!(store.start_execution(&scene.job, scene.t)).expect("runnable");
    scene
}

/// A [`Scene`] whose workflow has an execution, created at `t`, with its job claimed at `t`.
pub(super) struct ClaimedScene {
    pub(super) org: Uuid,
    pub(super) workflow: Workflow,
    pub(super) t: DateTime<Utc>,
    pub(super) execution: Execution,
    pub(super) job: ClaimedJob,
}

pub(super) async fn claimed_scene(store: &dyn Store) -> ClaimedScene {
    let Scene { org, workflow, t } = scene(store).await;
    let execution = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &execution, t).await;
    ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    }
}
