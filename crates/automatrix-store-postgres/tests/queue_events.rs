//! Queue events over `LISTEN/NOTIFY`: every write that makes a job due now (create, release,
//! retry, decision) announces `JobDue`, a cancel announces `ExecutionCancelled(id)`, each when
//! its transaction commits, to every subscriber on the database; a subscription whose
//! connection is killed reconnects, says so (`Reconnected`: events of the gap are lost), and
//! keeps delivering. Runs when `AUTOMATRIX_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use automatrix_core::{ExecutionStatus, StepStatus};
use automatrix_store::sql::Dialect;
use automatrix_store::testing::{new_execution, new_tenant, new_workflow, now};
use automatrix_store::{
    ClaimedJob, ExecutionOutcome, ExecutionStore, QueueEvent, QueueEvents, QueueStore, StepWrite,
    User, Workflow,
};
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::TempDatabase;
use futures::StreamExt;
use serde_json::json;

/// The next event, failing the test if none arrives within a bound.
async fn next(events: &mut QueueEvents) -> QueueEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the subscription is open")
        .expect("an event, not an error")
}

/// A fresh database, its store subscribed to queue events, and a tenant with a workflow.
struct Scene {
    db: TempDatabase,
    store: PgStore,
    events: QueueEvents,
    user: User,
    workflow: Workflow,
}

impl Scene {
    /// `None` when PostgreSQL is not configured here.
    async fn subscribed() -> Option<Self> {
        let db = TempDatabase::create().await?;
        let store = PgStore::open(&db.url).await.expect("open");
        let events = store
            .subscribe_queue_events()
            .await
            .expect("subscribe")
            .expect("PostgreSQL offers queue events");
        let user = new_tenant(&store).await;
        let workflow = new_workflow(&store, &user).await;
        Some(Self {
            db,
            store,
            events,
            user,
            workflow,
        })
    }
}

async fn claim(store: &PgStore) -> ClaimedJob {
    let t = now();
    store
        .claim_job("worker-a", t, t + chrono::Duration::seconds(30))
        .await
        .expect("claim")
        .expect("a due job")
}

#[tokio::test]
async fn due_jobs_and_cancellations_are_announced_at_commit() {
    let Some(Scene {
        db,
        store,
        mut events,
        user,
        workflow,
    }) = Scene::subscribed().await
    else {
        return;
    };
    let org = user.organization_id;

    let execution = new_execution(&store, &workflow, now()).await;
    assert_eq!(next(&mut events).await, QueueEvent::JobDue, "create");

    let job = claim(&store).await;
    store.start_execution(&job, now()).await.expect("start");
    store.release_job(&job, now()).await.expect("release");
    assert_eq!(next(&mut events).await, QueueEvent::JobDue, "release");

    let job = claim(&store).await;
    let failed = ExecutionOutcome {
        steps: Vec::new(),
        status: ExecutionStatus::Failed,
        output: None,
        error: Some("boom".to_owned()),
        now: now(),
        follow_up: None,
    };
    store.finish_execution(&job, failed).await.expect("finish");
    store
        .retry_execution(org, execution.id, now(), None)
        .await
        .expect("retry");
    assert_eq!(next(&mut events).await, QueueEvent::JobDue, "retry");

    let job = claim(&store).await;
    store.start_execution(&job, now()).await.expect("start");
    let t = now();
    let waiting = StepWrite {
        execution_id: execution.id,
        organization_id: org,
        node_id: "approve".to_owned(),
        node_type: "flow.approval".to_owned(),
        status: StepStatus::Waiting,
        attempt: 1,
        input_data: None,
        output_data: Some(json!({"wait": {"approval": {}}})),
        output_port: None,
        error_message: None,
        started_at: Some(t),
        completed_at: None,
        duration_ms: None,
        now: t,
    };
    store.write_step(&job, waiting).await.expect("write step");
    store
        .suspend_execution(&job, None, now())
        .await
        .expect("suspend");
    store
        .decide_waiting_step(
            org,
            execution.id,
            "approve",
            json!({"approved": true}),
            now(),
        )
        .await
        .expect("decide");
    assert_eq!(next(&mut events).await, QueueEvent::JobDue, "decision");

    store
        .cancel_execution(org, execution.id, now())
        .await
        .expect("cancel");
    assert_eq!(
        next(&mut events).await,
        QueueEvent::ExecutionCancelled(execution.id),
        "cancel"
    );

    drop(events);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn a_subscription_whose_connection_is_killed_reconnects_and_says_so() {
    let Some(Scene {
        db,
        store,
        mut events,
        workflow,
        ..
    }) = Scene::subscribed().await
    else {
        return;
    };

    // The listening backend is the one whose last statement was the LISTEN.
    let killed: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_all(store.pool())
    .await
    .expect("terminate the listener's backend");
    assert_eq!(killed, [true], "exactly one listening connection");

    assert_eq!(next(&mut events).await, QueueEvent::Reconnected);
    new_execution(&store, &workflow, now()).await;
    assert_eq!(
        next(&mut events).await,
        QueueEvent::JobDue,
        "events flow again after the reconnect"
    );

    drop(events);
    store.close().await;
    db.drop_database().await;
}
