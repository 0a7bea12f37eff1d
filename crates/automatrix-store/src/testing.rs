//! Conformance suite: the promises every [`Store`] keeps, checked the same way on every backend.
//!
//! Each public `async fn` here asserts one promise of the contract in [`crate::traits`] and
//! panics with a message naming it when the store breaks it:
//!
//! - users: an organization and its first user are created together; an email (any case) is
//!   registered once; a refresh token is spent once, even by two concurrent refreshes, and
//!   revoking a family or a user's tokens revokes exactly those;
//! - workflows: version 1 is stored on create; only a changed definition makes a new version;
//!   lists are newest first with keyset pages; deleting removes versions, executions, steps and
//!   jobs; a webhook token names one workflow;
//! - tenancy: another organization can neither see nor change a tenant's rows;
//! - executions: creating one enqueues its job; lists filter and page by keyset; steps are
//!   upserted per node and listed in the order they started;
//! - queue: a due job is claimed once, concurrent claimers never share a job, an expired lease
//!   is re-claimed and fences the old holder (`Stale`), finishing never overwrites a cancelled
//!   execution, and cancelling a pending execution leaves nothing to claim.
//!
//! Store crates run the suite with [`conformance_tests!`](crate::conformance_tests) and a
//! [`StoreFixture`] that makes a fresh database per test. The functions clean up the jobs they
//! create, so [`run_all`] can also run them one after another on one store; they must not run
//! concurrently on one store, because a claim takes any tenant's due job.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use automatrix_core::{ExecutionStatus, StepStatus};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    CancelOutcome, ClaimedJob, Execution, ExecutionFilter, ExecutionOutcome, NewExecution,
    NewRefreshToken, NewUser, NewWorkflow, StepWrite, Store, StoreError, User, Workflow,
    WorkflowUpdate,
};

/// Makes a fresh, migrated store for one test and removes it afterwards.
pub trait StoreFixture: Sized + Send {
    /// A fresh store, or `None` when the backend is not available here (the test is skipped;
    /// the fixture says why on stdout).
    fn create() -> impl Future<Output = Option<Self>> + Send;
    fn store(&self) -> Arc<dyn Store>;
    /// Closes the store and deletes its database.
    fn destroy(self) -> impl Future<Output = ()> + Send;
}

/// Runs `test` against a fresh store from `F`, and destroys the store even when `test` panics.
pub async fn run_with_fixture<F, T, Fut>(test: T)
where
    F: StoreFixture,
    T: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(fixture) = F::create().await else {
        return;
    };
    // A panic inside a spawned task comes back as an error instead of unwinding past cleanup.
    let outcome = tokio::spawn(test(fixture.store())).await;
    fixture.destroy().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("conformance test did not finish: {e}"),
        }
    }
}

/// One `#[tokio::test]` per promise (plus one for [`run_all`] on a shared store), each on a
/// fresh store from the [`StoreFixture`] type given. The calling crate needs `tokio` with
/// `macros` and `rt`.
///
/// ```ignore
/// automatrix_store::conformance_tests!(SqliteFixture);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:ty) => {
        $crate::conformance_tests!(@each $fixture;
            user_and_organization_are_created_together,
            an_email_is_registered_once,
            a_password_update_is_persisted,
            a_refresh_token_is_spent_once,
            revoking_tokens_revokes_exactly_those,
            a_new_workflow_is_stored_as_version_one,
            a_webhook_token_names_one_workflow,
            workflows_are_listed_newest_first_in_pages,
            only_a_changed_definition_makes_a_new_version,
            deleting_a_workflow_removes_everything_under_it,
            another_organization_cannot_reach_tenant_rows,
            creating_an_execution_enqueues_its_job,
            executions_are_filtered_and_paged_newest_first,
            steps_are_upserted_and_listed_in_start_order,
            a_due_job_is_claimed_once,
            concurrent_claimers_never_share_a_job,
            an_expired_lease_is_reclaimed_and_fences_the_old_holder,
            starting_keeps_the_first_start_time_and_skips_finished_executions,
            finishing_records_the_outcome_and_removes_the_job,
            finishing_leaves_a_cancelled_execution_cancelled,
            cancelling_leaves_nothing_to_claim,
            the_store_answers_a_ping,
        );

        #[tokio::test]
        async fn all_promises_hold_one_after_another_on_one_store() {
            $crate::testing::run_with_fixture::<$fixture, _, _>($crate::testing::run_all).await;
        }
    };
    (@each $fixture:ty; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::testing::run_with_fixture::<$fixture, _, _>(|store| async move {
                    $crate::testing::$name(&*store).await
                })
                .await;
            }
        )+
    };
}

/// Runs every promise, one after another, on `store` (keep in step with
/// [`conformance_tests!`](crate::conformance_tests)).
pub async fn run_all(store: Arc<dyn Store>) {
    let s = &*store;
    user_and_organization_are_created_together(s).await;
    an_email_is_registered_once(s).await;
    a_password_update_is_persisted(s).await;
    a_refresh_token_is_spent_once(s).await;
    revoking_tokens_revokes_exactly_those(s).await;
    a_new_workflow_is_stored_as_version_one(s).await;
    a_webhook_token_names_one_workflow(s).await;
    workflows_are_listed_newest_first_in_pages(s).await;
    only_a_changed_definition_makes_a_new_version(s).await;
    deleting_a_workflow_removes_everything_under_it(s).await;
    another_organization_cannot_reach_tenant_rows(s).await;
    creating_an_execution_enqueues_its_job(s).await;
    executions_are_filtered_and_paged_newest_first(s).await;
    steps_are_upserted_and_listed_in_start_order(s).await;
    a_due_job_is_claimed_once(s).await;
    concurrent_claimers_never_share_a_job(s).await;
    an_expired_lease_is_reclaimed_and_fences_the_old_holder(s).await;
    starting_keeps_the_first_start_time_and_skips_finished_executions(s).await;
    finishing_records_the_outcome_and_removes_the_job(s).await;
    finishing_leaves_a_cancelled_execution_cancelled(s).await;
    cancelling_leaves_nothing_to_claim(s).await;
    the_store_answers_a_ping(s).await;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Awaits a store call that must succeed; a failure names the call and points at this line.
macro_rules! ok {
    ($call:expr) => {
        $call.await.expect(stringify!($call))
    };
}

/// The current time at the precision every backend keeps (PostgreSQL: microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

const LEASE: Duration = Duration::seconds(30);

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

fn definition(label: &str) -> Value {
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
    ok!(store.create_workflow(NewWorkflow {
        id: Uuid::now_v7(),
        organization_id: user.organization_id,
        name: "Follow up new leads".to_owned(),
        description: "Sends a follow-up".to_owned(),
        definition: definition("v1"),
        is_active: true,
        webhook_token: None,
        created_by: Some(user.id),
        now: now(),
    }))
}

/// A new pending execution of `workflow`'s current version, created (and due) at `at`.
pub async fn new_execution(store: &dyn Store, workflow: &Workflow, at: DateTime<Utc>) -> Execution {
    ok!(store.create_execution(NewExecution {
        id: Uuid::now_v7(),
        organization_id: workflow.organization_id,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input: json!({"body": {"email": "lead@example.test"}}),
        dry_run: false,
        now: at,
    }))
}

async fn claim(store: &dyn Store, worker: &str, at: DateTime<Utc>) -> Option<ClaimedJob> {
    ok!(store.claim_job(worker, at, at + LEASE))
}

/// Claims at `at` and checks that the claimed job is `execution`'s.
async fn claim_own(store: &dyn Store, execution: &Execution, at: DateTime<Utc>) -> ClaimedJob {
    let job = claim(store, "worker-a", at)
        .await
        .expect("a due job to claim");
    assert_eq!(
        job.execution_id, execution.id,
        "claimed another execution's job"
    );
    job
}

fn step(job: &ClaimedJob, node_id: &str, status: StepStatus, at: DateTime<Utc>) -> StepWrite {
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

fn outcome(status: ExecutionStatus, at: DateTime<Utc>) -> ExecutionOutcome {
    ExecutionOutcome {
        status,
        output: None,
        error: None,
        now: at,
    }
}

fn is_stale<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Stale(_)))
}

/// Deletes the workflows (and so their jobs) a promise created.
async fn clean_up(store: &dyn Store, workflows: &[&Workflow]) {
    for workflow in workflows {
        ok!(store.delete_workflow(workflow.organization_id, workflow.id));
    }
}

fn ids(executions: &[Execution]) -> Vec<Uuid> {
    executions.iter().map(|e| e.id).collect()
}

// ---------------------------------------------------------------------------------------------
// Users and refresh tokens

pub async fn user_and_organization_are_created_together(store: &dyn Store) {
    let user = new_tenant(store).await;
    let found = ok!(store.find_user_by_email(&user.email)).expect("the user is found by email");
    assert_eq!(found.id, user.id);
    assert_eq!(found.organization_id, user.organization_id);
    assert_eq!(found.password_hash, user.password_hash);
    let upper = ok!(store.find_user_by_email(&user.email.to_uppercase()));
    assert_eq!(
        upper.map(|u| u.id),
        Some(user.id),
        "emails compare case-insensitively"
    );
    let by_id = ok!(store.get_user(user.id)).expect("the user by id");
    assert_eq!((by_id.email, by_id.name), (user.email, user.name));
    assert!(ok!(store.get_user(Uuid::now_v7())).is_none());
    let nobody = ok!(store.find_user_by_email("nobody@example.test"));
    assert!(nobody.is_none());
}

pub async fn an_email_is_registered_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    for email in [user.email.clone(), user.email.to_uppercase()] {
        let again = store
            .create_user_with_organization(NewUser {
                id: Uuid::now_v7(),
                organization_id: Uuid::now_v7(),
                organization_name: "Copycat Motors".to_owned(),
                email,
                name: "Copycat".to_owned(),
                password_hash: "x".to_owned(),
                now: now(),
            })
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "a taken email: {again:?}"
        );
    }
    let found = ok!(store.find_user_by_email(&user.email)).expect("user");
    assert_eq!(found.id, user.id, "the first registration keeps the email");
}

pub async fn a_password_update_is_persisted(store: &dyn Store) {
    let user = new_tenant(store).await;
    let later = now() + Duration::seconds(5);
    ok!(store.update_user_password(user.id, "$argon2id$new", later));
    let updated = ok!(store.get_user(user.id)).expect("user");
    assert_eq!(updated.password_hash, "$argon2id$new");
    assert_eq!(updated.updated_at, later);
    let missing = store.update_user_password(Uuid::now_v7(), "x", later).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound)),
        "unknown user: {missing:?}"
    );
}

async fn new_token(store: &dyn Store, user: &User, family_id: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let t = now();
    ok!(store.insert_refresh_token(NewRefreshToken {
        id,
        user_id: user.id,
        family_id,
        token_hash: format!("sha256-{}", id.simple()),
        expires_at: t + Duration::days(30),
        now: t,
    }));
    id
}

async fn spend(store: &dyn Store, id: Uuid) -> bool {
    ok!(store.spend_refresh_token(id, now()))
}

pub async fn a_refresh_token_is_spent_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let family = Uuid::now_v7();
    let id = new_token(store, &user, family).await;
    let hash = format!("sha256-{}", id.simple());
    let token = ok!(store.find_refresh_token(&hash)).expect("token by hash");
    assert_eq!(
        (token.id, token.user_id, token.family_id),
        (id, user.id, family)
    );
    assert!(token.used_at.is_none() && token.revoked_at.is_none());

    assert!(spend(store, id).await, "the first spend succeeds");
    assert!(
        !spend(store, id).await,
        "a spent token cannot be spent again"
    );
    let token = ok!(store.find_refresh_token(&hash)).expect("token");
    assert!(token.used_at.is_some(), "spending records when");

    let raced = new_token(store, &user, family).await;
    let (a, b) = tokio::join!(spend(store, raced), spend(store, raced));
    assert!(
        a ^ b,
        "exactly one of two concurrent spends wins (got {a} and {b})"
    );
    assert!(ok!(store.find_refresh_token("sha256-unknown")).is_none());
}

pub async fn revoking_tokens_revokes_exactly_those(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other_user = new_tenant(store).await;
    let (family, other_family) = (Uuid::now_v7(), Uuid::now_v7());
    let in_family = [
        new_token(store, &user, family).await,
        new_token(store, &user, family).await,
    ];
    let outside = new_token(store, &user, other_family).await;
    ok!(store.revoke_refresh_family(family, now()));
    for id in in_family {
        assert!(
            !spend(store, id).await,
            "a revoked family's token cannot be spent"
        );
    }
    assert!(spend(store, outside).await, "another family is untouched");

    let users_token = new_token(store, &user, other_family).await;
    let someone_elses = new_token(store, &other_user, Uuid::now_v7()).await;
    ok!(store.revoke_user_refresh_tokens(user.id, now()));
    assert!(
        !spend(store, users_token).await,
        "the user's tokens are revoked"
    );
    assert!(
        spend(store, someone_elses).await,
        "another user's tokens are untouched"
    );
    let hash = format!("sha256-{}", users_token.simple());
    let revoked = ok!(store.find_refresh_token(&hash)).expect("token");
    assert!(revoked.revoked_at.is_some());
}

// ---------------------------------------------------------------------------------------------
// Workflows

pub async fn a_new_workflow_is_stored_as_version_one(store: &dyn Store) {
    let user = new_tenant(store).await;
    let t = now();
    let created = ok!(store.create_workflow(NewWorkflow {
        id: Uuid::now_v7(),
        organization_id: user.organization_id,
        name: "Service reminder".to_owned(),
        description: "Reminds customers".to_owned(),
        definition: definition("v1"),
        is_active: false,
        webhook_token: Some(format!("hook-{}", Uuid::now_v7().simple())),
        created_by: Some(user.id),
        now: t,
    }));
    let read = ok!(store.get_workflow(user.organization_id, created.id)).expect("the workflow");
    for w in [&created, &read] {
        assert_eq!(
            (w.version, w.is_active, w.created_by),
            (1, false, Some(user.id))
        );
        assert_eq!(
            (w.name.as_str(), w.description.as_str()),
            ("Service reminder", "Reminds customers")
        );
        assert_eq!(w.definition.0, definition("v1"));
        assert_eq!((w.created_at, w.updated_at), (t, t));
        assert_eq!(w.webhook_token, created.webhook_token);
    }
    let v1 = ok!(store.get_workflow_version(user.organization_id, created.id, 1))
        .expect("version 1 exists");
    assert_eq!(
        (v1.definition.0, v1.created_by, v1.created_at),
        (definition("v1"), Some(user.id), t)
    );
    assert!(ok!(store.get_workflow(user.organization_id, Uuid::now_v7())).is_none());
}

pub async fn a_webhook_token_names_one_workflow(store: &dyn Store) {
    let user = new_tenant(store).await;
    let token = format!("hook-{}", Uuid::now_v7().simple());
    let first = new_workflow(store, &user).await;
    let update = |token: Option<String>| WorkflowUpdate {
        webhook_token: Some(token),
        ..WorkflowUpdate::default()
    };
    ok!(store.update_workflow(
        user.organization_id,
        first.id,
        update(Some(token.clone())),
        now(),
    ));
    let second = new_workflow(store, &user).await;
    let taken = store
        .update_workflow(
            user.organization_id,
            second.id,
            update(Some(token.clone())),
            now(),
        )
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict(_))),
        "a taken token: {taken:?}"
    );
    // Clearing frees it.
    ok!(store.update_workflow(user.organization_id, first.id, update(None), now()));
    let moved = ok!(store.update_workflow(
        user.organization_id,
        second.id,
        update(Some(token.clone())),
        now(),
    ));
    assert_eq!(moved.webhook_token, Some(token));
}

pub async fn workflows_are_listed_newest_first_in_pages(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    new_workflow(store, &other).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(new_workflow(store, &user).await.id);
    }
    created.reverse();
    let org = user.organization_id;
    let all = ok!(store.list_workflows(org, None, 10));
    assert_eq!(
        all.iter().map(|w| w.id).collect::<Vec<_>>(),
        created,
        "newest first, own only"
    );

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = ok!(store.list_workflows(org, before, 2));
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2, "a page holds at most `limit` rows");
        before = page.last().map(|w| w.id);
        pages.push(page.iter().map(|w| w.id).collect::<Vec<_>>());
    }
    assert_eq!(
        pages,
        vec![
            created[..2].to_vec(),
            created[2..4].to_vec(),
            created[4..].to_vec()
        ]
    );
}

pub async fn only_a_changed_definition_makes_a_new_version(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let update = |u: WorkflowUpdate| store.update_workflow(org, workflow.id, u, now());

    let renamed = update(WorkflowUpdate {
        name: Some("Renamed".to_owned()),
        is_active: Some(false),
        ..WorkflowUpdate::default()
    })
    .await
    .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.version, renamed.is_active),
        ("Renamed", 1, false)
    );
    assert_eq!(
        renamed.description, workflow.description,
        "absent fields stay"
    );

    // The same definition, even with keys in another order, is no change.
    let mut same = definition("v1");
    if let Some(obj) = same.as_object_mut() {
        let edges = obj.remove("edges");
        obj.insert("edges".to_owned(), edges.unwrap_or(Value::Null));
    }
    let unchanged = update(WorkflowUpdate {
        definition: Some(same),
        description: Some("New description".to_owned()),
        ..WorkflowUpdate::default()
    })
    .await
    .expect("update with the same definition");
    assert_eq!(
        unchanged.version, 1,
        "an unchanged definition keeps the version"
    );
    assert_eq!(unchanged.description, "New description");

    let bumped = update(WorkflowUpdate {
        definition: Some(definition("v2")),
        updated_by: Some(user.id),
        ..WorkflowUpdate::default()
    })
    .await
    .expect("update the definition");
    assert_eq!(
        (bumped.version, bumped.definition.0.clone()),
        (2, definition("v2"))
    );
    assert_eq!(bumped.name, "Renamed");

    let versions = ok!(store.list_workflow_versions(org, workflow.id));
    let listed: Vec<_> = versions
        .iter()
        .map(|v| (v.version, v.definition.0.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![(2, definition("v2")), (1, definition("v1"))],
        "newest first"
    );
    assert_eq!(versions[0].created_by, Some(user.id));
    let current = ok!(store.get_workflow(org, workflow.id)).expect("workflow");
    assert_eq!(current.version, 2);

    let missing = store
        .update_workflow(org, Uuid::now_v7(), WorkflowUpdate::default(), now())
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound)),
        "unknown workflow: {missing:?}"
    );
}

pub async fn deleting_a_workflow_removes_everything_under_it(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let workflow = ok!(store.update_workflow(
        org,
        workflow.id,
        WorkflowUpdate {
            definition: Some(definition("v2")),
            ..WorkflowUpdate::default()
        },
        now(),
    ));
    let t = now();
    let running = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &running, t).await;
    ok!(store.write_step(&job, step(&job, "start", StepStatus::Completed, t)));
    let pending = new_execution(store, &workflow, t + Duration::seconds(1)).await;

    assert!(ok!(store.delete_workflow(org, workflow.id)), "it existed");
    assert!(ok!(store.get_workflow(org, workflow.id)).is_none());
    assert!(ok!(store.list_workflow_versions(org, workflow.id)).is_empty());
    assert!(ok!(store.get_workflow_version(org, workflow.id, 1)).is_none());
    for execution in [&running, &pending] {
        assert!(ok!(store.get_execution(org, execution.id)).is_none());
        assert!(ok!(store.load_execution(execution.id)).is_none());
    }
    assert!(ok!(store.list_steps(org, running.id)).is_empty());
    assert!(ok!(store.load_steps(running.id)).is_empty());
    let later = t + Duration::hours(1);
    assert!(
        claim(store, "worker-b", later).await.is_none(),
        "the jobs went too"
    );
    assert!(!ok!(store.delete_workflow(org, workflow.id)));
}

pub async fn another_organization_cannot_reach_tenant_rows(store: &dyn Store) {
    let owner = new_tenant(store).await;
    let intruder = new_tenant(store).await.organization_id;
    let workflow = new_workflow(store, &owner).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &execution, t).await;
    ok!(store.write_step(&job, step(&job, "start", StepStatus::Running, t)));

    assert!(ok!(store.get_workflow(intruder, workflow.id)).is_none());
    assert!(ok!(store.list_workflows(intruder, None, 100)).is_empty());
    let update = WorkflowUpdate {
        name: Some("pwned".to_owned()),
        ..WorkflowUpdate::default()
    };
    let updated = store
        .update_workflow(intruder, workflow.id, update, now())
        .await;
    assert!(
        matches!(updated, Err(StoreError::NotFound)),
        "foreign update: {updated:?}"
    );
    assert!(!ok!(store.delete_workflow(intruder, workflow.id)));
    assert!(ok!(store.get_workflow_version(intruder, workflow.id, 1)).is_none());
    assert!(ok!(store.list_workflow_versions(intruder, workflow.id)).is_empty());
    assert!(ok!(store.get_execution(intruder, execution.id)).is_none());
    let everything = ExecutionFilter {
        limit: 100,
        ..ExecutionFilter::default()
    };
    assert!(ok!(store.list_executions(intruder, &everything)).is_empty());
    let by_workflow = ExecutionFilter {
        workflow_id: Some(workflow.id),
        ..everything.clone()
    };
    assert!(ok!(store.list_executions(intruder, &by_workflow)).is_empty());
    assert!(ok!(store.list_steps(intruder, execution.id)).is_empty());
    assert!(ok!(store.cancel_execution(intruder, execution.id, now())).is_none());
    let foreign_run = store
        .create_execution(NewExecution {
            id: Uuid::now_v7(),
            organization_id: intruder,
            workflow_id: workflow.id,
            workflow_version: 1,
            input: json!({}),
            dry_run: false,
            now: now(),
        })
        .await;
    assert!(
        matches!(foreign_run, Err(StoreError::NotFound)),
        "foreign run: {foreign_run:?}"
    );

    let org = owner.organization_id;
    let kept = ok!(store.get_workflow(org, workflow.id)).expect("still there");
    assert_eq!(kept.name, workflow.name);
    let kept = ok!(store.get_execution(org, execution.id)).expect("still there");
    assert_eq!(kept.status, ExecutionStatus::Pending);
    assert_eq!(ok!(store.list_steps(org, execution.id)).len(), 1);
    assert_eq!(ok!(store.list_executions(org, &by_workflow)).len(), 1);
    clean_up(store, &[&workflow]).await;
}

// ---------------------------------------------------------------------------------------------
// Executions and steps

pub async fn creating_an_execution_enqueues_its_job(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let created = new_execution(store, &workflow, t).await;
    assert_eq!(
        (created.status, created.workflow_version),
        (ExecutionStatus::Pending, 1)
    );
    assert_eq!(
        created.input_data.0,
        json!({"body": {"email": "lead@example.test"}})
    );
    assert!(created.output_data.is_none() && created.started_at.is_none());
    assert_eq!((created.created_at, created.dry_run), (t, false));
    let read = ok!(store.get_execution(org, created.id)).expect("execution");
    assert_eq!((read.workflow_id, read.organization_id), (workflow.id, org));
    let loaded = ok!(store.load_execution(created.id)).expect("execution");
    assert_eq!(loaded.input_data.0, created.input_data.0);
    let status = ok!(store.execution_status(created.id));
    assert_eq!(status, Some(ExecutionStatus::Pending));
    assert!(ok!(store.execution_status(Uuid::now_v7())).is_none());

    let job = claim_own(store, &created, t).await;
    assert_eq!(
        (job.organization_id, job.claims, job.locked_until),
        (org, 1, t + LEASE)
    );

    let unknown_version = store
        .create_execution(NewExecution {
            id: Uuid::now_v7(),
            organization_id: org,
            workflow_id: workflow.id,
            workflow_version: 7,
            input: json!({}),
            dry_run: true,
            now: t,
        })
        .await;
    assert!(
        matches!(unknown_version, Err(StoreError::NotFound)),
        "{unknown_version:?}"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn executions_are_filtered_and_paged_newest_first(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let (first, second) = (
        new_workflow(store, &user).await,
        new_workflow(store, &user).await,
    );
    let base = now() - Duration::hours(1);
    let mut made = Vec::new();
    for (i, workflow) in [&first, &first, &first, &second, &second, &first]
        .into_iter()
        .enumerate()
    {
        let at = base + Duration::minutes(i as i64);
        made.push(new_execution(store, workflow, at).await.id);
    }
    for i in [1, 4] {
        ok!(store.cancel_execution(org, made[i], now())).expect("cancelled");
    }
    let list =
        |filter: ExecutionFilter| async move { ids(&ok!(store.list_executions(org, &filter))) };
    let all = ExecutionFilter {
        limit: 100,
        ..ExecutionFilter::default()
    };
    let pick = |i: &[usize]| i.iter().map(|&i| made[i]).collect::<Vec<_>>();

    assert_eq!(
        list(all.clone()).await,
        pick(&[5, 4, 3, 2, 1, 0]),
        "newest first"
    );
    let cancelled = ExecutionFilter {
        status: Some(ExecutionStatus::Cancelled),
        ..all.clone()
    };
    assert_eq!(list(cancelled).await, pick(&[4, 1]));
    let pending_first = ExecutionFilter {
        status: Some(ExecutionStatus::Pending),
        workflow_id: Some(first.id),
        ..all.clone()
    };
    assert_eq!(list(pending_first).await, pick(&[5, 2, 0]));
    let window = ExecutionFilter {
        since: Some(base + Duration::minutes(2)),
        until: Some(base + Duration::minutes(4)),
        ..all.clone()
    };
    assert_eq!(
        list(window).await,
        pick(&[3, 2]),
        "since is inclusive, until exclusive"
    );

    let mut pages = Vec::new();
    let mut page = ExecutionFilter {
        limit: 2,
        ..ExecutionFilter::default()
    };
    loop {
        let got = list(page.clone()).await;
        let Some(&last) = got.last() else { break };
        pages.push(got);
        page.before = Some(last);
    }
    assert_eq!(
        pages,
        vec![pick(&[5, 4]), pick(&[3, 2]), pick(&[1, 0])],
        "keyset pages"
    );
    let first_before = ExecutionFilter {
        workflow_id: Some(first.id),
        before: Some(made[5]),
        limit: 2,
        ..ExecutionFilter::default()
    };
    assert_eq!(
        list(first_before).await,
        pick(&[2, 1]),
        "filters and cursor combine"
    );
    clean_up(store, &[&first, &second]).await;
}

pub async fn steps_are_upserted_and_listed_in_start_order(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &execution, t).await;
    let at = |s: i64| t + Duration::seconds(s);

    ok!(store.write_step(&job, step(&job, "b", StepStatus::Running, at(2))));
    ok!(store.write_step(&job, step(&job, "a", StepStatus::Running, at(1))));
    let pending = StepWrite {
        started_at: None,
        ..step(&job, "c", StepStatus::Pending, at(3))
    };
    ok!(store.write_step(&job, pending));
    let done = StepWrite {
        status: StepStatus::Completed,
        attempt: 2,
        input_data: None,
        output_data: Some(json!({"ok": true})),
        output_port: Some("main".to_owned()),
        completed_at: Some(at(5)),
        duration_ms: Some(4000),
        now: at(5),
        ..step(&job, "a", StepStatus::Completed, at(1))
    };
    ok!(store.write_step(&job, done));

    let steps = ok!(store.list_steps(org, execution.id));
    let order: Vec<_> = steps.iter().map(|s| s.node_id.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"], "in the order they started");
    let a = &steps[0];
    assert_eq!(
        (a.status, a.attempt, a.duration_ms),
        (StepStatus::Completed, 2, Some(4000))
    );
    assert_eq!(
        a.output_data.as_ref().map(|v| &v.0),
        Some(&json!({"ok": true}))
    );
    assert!(a.input_data.is_none(), "every field is replaced");
    assert_eq!(a.output_port.as_deref(), Some("main"));
    assert_eq!(
        (a.completed_at, a.created_at, a.updated_at),
        (Some(at(5)), at(1), at(5))
    );
    assert_eq!(
        (a.organization_id, a.node_type.as_str()),
        (org, "transform.set")
    );
    let loaded = ok!(store.load_steps(execution.id));
    assert_eq!(
        loaded
            .iter()
            .map(|s| s.node_id.as_str())
            .collect::<Vec<_>>(),
        order
    );

    let stray = StepWrite {
        execution_id: Uuid::now_v7(),
        ..step(&job, "x", StepStatus::Running, t)
    };
    assert!(
        store.write_step(&job, stray).await.is_err(),
        "a step of another execution"
    );
    clean_up(store, &[&workflow]).await;
}

// ---------------------------------------------------------------------------------------------
// Queue

pub async fn a_due_job_is_claimed_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let early = t - Duration::seconds(1);
    assert!(
        claim(store, "worker-a", early).await.is_none(),
        "not due before run_at"
    );
    let job = claim_own(store, &execution, t).await;
    assert_eq!((job.claims, job.locked_until), (1, t + LEASE));
    let during = t + LEASE - Duration::seconds(1);
    assert!(
        claim(store, "worker-b", during).await.is_none(),
        "a live lease is not re-claimed"
    );
    ok!(store.heartbeat_job(&job, t + LEASE * 2));
    let after_first_lease = t + LEASE + Duration::seconds(1);
    assert!(
        claim(store, "worker-b", after_first_lease).await.is_none(),
        "a heartbeat extends the lease"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn concurrent_claimers_never_share_a_job(store: &dyn Store) {
    let user = new_tenant(store).await;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let mut expected = HashSet::new();
    for _ in 0..16 {
        expected.insert(new_execution(store, &workflow, t).await.id);
    }
    // Rounds of four claims started together, so they race for the same oldest job.
    let mut claimed = Vec::new();
    loop {
        let round = tokio::join!(
            claim(store, "worker-a", t),
            claim(store, "worker-b", t),
            claim(store, "worker-c", t),
            claim(store, "worker-d", t),
        );
        let got: Vec<_> = [round.0, round.1, round.2, round.3]
            .into_iter()
            .flatten()
            .collect();
        if got.is_empty() {
            break;
        }
        claimed.extend(got.into_iter().map(|job| job.execution_id));
    }
    let distinct: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), distinct.len(), "no job was claimed twice");
    assert_eq!(distinct, expected, "every job was claimed");
    clean_up(store, &[&workflow]).await;
}

pub async fn an_expired_lease_is_reclaimed_and_fences_the_old_holder(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let old = claim_own(store, &execution, t).await;
    ok!(store.start_execution(&old, t)).expect("runnable");
    ok!(store.write_step(&old, step(&old, "start", StepStatus::Completed, t)));

    let later = t + LEASE * 2;
    let new = claim(store, "worker-b", later)
        .await
        .expect("the expired lease is claimable");
    assert_eq!(
        (new.id, new.execution_id, new.claims),
        (old.id, execution.id, 2)
    );
    assert_ne!(
        new.lease_token, old.lease_token,
        "a re-claim gets a fresh lease token"
    );

    assert!(
        is_stale(store.heartbeat_job(&old, later + LEASE).await),
        "heartbeat"
    );
    let overwrite = step(&old, "start", StepStatus::Failed, later);
    assert!(
        is_stale(store.write_step(&old, overwrite).await),
        "write_step"
    );
    assert!(
        is_stale(store.start_execution(&old, later).await),
        "start_execution"
    );
    let finish = outcome(ExecutionStatus::Failed, later);
    assert!(
        is_stale(store.finish_execution(&old, finish).await),
        "finish_execution"
    );
    assert!(is_stale(store.drop_job(&old).await), "drop_job");
    let steps = ok!(store.list_steps(org, execution.id));
    assert_eq!(
        steps[0].status,
        StepStatus::Completed,
        "the stale write changed nothing"
    );
    let current = ok!(store.get_execution(org, execution.id)).expect("execution");
    assert_eq!(
        current.status,
        ExecutionStatus::Running,
        "the stale finish changed nothing"
    );

    ok!(store.heartbeat_job(&new, later + LEASE));
    ok!(store.write_step(&new, step(&new, "set", StepStatus::Completed, later)));
    ok!(store.finish_execution(&new, outcome(ExecutionStatus::Completed, later)));
    let status = ok!(store.execution_status(execution.id));
    assert_eq!(status, Some(ExecutionStatus::Completed));
    clean_up(store, &[&workflow]).await;
}

pub async fn starting_keeps_the_first_start_time_and_skips_finished_executions(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let first = claim_own(store, &execution, t).await;
    let started = ok!(store.start_execution(&first, t)).expect("runnable");
    assert_eq!(
        (started.status, started.started_at),
        (ExecutionStatus::Running, Some(t))
    );

    // The worker died; the next one resumes the running execution.
    let later = t + LEASE * 2;
    let second = claim_own(store, &execution, later).await;
    let resumed = ok!(store.start_execution(&second, later)).expect("runnable");
    assert_eq!(
        (resumed.status, resumed.started_at),
        (ExecutionStatus::Running, Some(t))
    );

    let cancelled = ok!(store.cancel_execution(org, execution.id, later));
    assert!(
        matches!(cancelled, Some(CancelOutcome::Cancelled(_))),
        "{cancelled:?}"
    );
    assert!(
        ok!(store.start_execution(&second, later)).is_none(),
        "cancelled"
    );
    ok!(store.drop_job(&second));
    assert!(
        claim(store, "worker-c", later + LEASE * 2).await.is_none(),
        "the job is gone"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn finishing_records_the_outcome_and_removes_the_job(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let ok = new_execution(store, &workflow, t).await;
    let bad = new_execution(store, &workflow, t + Duration::seconds(1)).await;

    let job = claim_own(store, &ok, t).await;
    ok!(store.start_execution(&job, t));
    let done = t + Duration::seconds(3);
    let success = ExecutionOutcome {
        output: Some(json!({"priority": "hot"})),
        ..outcome(ExecutionStatus::Completed, done)
    };
    ok!(store.finish_execution(&job, success));
    let read = ok!(store.get_execution(org, ok.id)).expect("execution");
    assert_eq!(
        (read.status, read.completed_at),
        (ExecutionStatus::Completed, Some(done))
    );
    assert_eq!(
        read.output_data.map(|v| v.0),
        Some(json!({"priority": "hot"}))
    );
    assert!(read.error_message.is_none());
    assert!(
        is_stale(
            store
                .finish_execution(&job, outcome(ExecutionStatus::Failed, done))
                .await
        ),
        "the job is gone"
    );

    let job = claim_own(store, &bad, done).await;
    let failure = ExecutionOutcome {
        error: Some("boom".to_owned()),
        ..outcome(ExecutionStatus::Failed, done)
    };
    ok!(store.finish_execution(&job, failure));
    let read = ok!(store.get_execution(org, bad.id)).expect("execution");
    assert_eq!(
        (read.status, read.error_message.as_deref()),
        (ExecutionStatus::Failed, Some("boom"))
    );
    assert!(
        claim(store, "worker-b", done + Duration::hours(1))
            .await
            .is_none(),
        "no jobs left"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn finishing_leaves_a_cancelled_execution_cancelled(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let execution = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &execution, t).await;
    ok!(store.start_execution(&job, t));
    let cancelled = ok!(store.cancel_execution(org, execution.id, t));
    assert!(
        matches!(cancelled, Some(CancelOutcome::Cancelled(ref e)) if e.status == ExecutionStatus::Cancelled)
    );

    let late = ExecutionOutcome {
        output: Some(json!(1)),
        ..outcome(ExecutionStatus::Completed, t)
    };
    ok!(store.finish_execution(&job, late));
    let read = ok!(store.get_execution(org, execution.id)).expect("execution");
    assert_eq!(
        read.status,
        ExecutionStatus::Cancelled,
        "cancelled stays cancelled"
    );
    assert!(
        read.output_data.is_none(),
        "the late outcome was not recorded"
    );
    assert!(
        claim(store, "worker-b", t + Duration::hours(1))
            .await
            .is_none(),
        "the job is gone"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn cancelling_leaves_nothing_to_claim(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let t = now();
    let pending = new_execution(store, &workflow, t).await;
    let outcome = ok!(store.cancel_execution(org, pending.id, t));
    let Some(CancelOutcome::Cancelled(cancelled)) = outcome else {
        panic!("a pending execution is cancelled: {outcome:?}");
    };
    assert_eq!(
        (cancelled.status, cancelled.completed_at),
        (ExecutionStatus::Cancelled, Some(t))
    );
    let later = t + Duration::hours(1);
    assert!(
        claim(store, "worker-a", later).await.is_none(),
        "its job was deleted"
    );
    let again = ok!(store.cancel_execution(org, pending.id, later));
    assert!(
        matches!(again, Some(CancelOutcome::AlreadyFinished(ref e)) if e.completed_at == Some(t)),
        "a second cancel changes nothing: {again:?}"
    );
    assert!(ok!(store.cancel_execution(org, Uuid::now_v7(), t)).is_none());

    // A job whose worker died (expired lease) is removed as well.
    let abandoned = new_execution(store, &workflow, t).await;
    claim_own(store, &abandoned, t).await;
    let outcome = ok!(store.cancel_execution(org, abandoned.id, later));
    assert!(
        matches!(outcome, Some(CancelOutcome::Cancelled(_))),
        "{outcome:?}"
    );
    assert!(
        claim(store, "worker-b", later).await.is_none(),
        "the abandoned job was deleted"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn the_store_answers_a_ping(store: &dyn Store) {
    ok!(store.ping());
    assert!(
        ["sqlite", "postgres"].contains(&store.backend()),
        "backend {}",
        store.backend()
    );
}
