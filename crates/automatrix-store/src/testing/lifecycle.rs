//! Promises of an execution's later life: waiting and deciding, giving a job back, retrying,
//! follow-up executions, and retention.

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{
    ClaimedScene, Scene, claim, claim_own, claimed_scene, clean_up, is_stale, new_execution,
    new_tenant, outcome, scene, started_scene, step,
};
use crate::{DecideOutcome, ExecutionOutcome, NewExecution, RetryOutcome, Store};
use automatrix_core::{ExecutionStatus, StepStatus};

pub async fn a_suspended_execution_waits_until_due_or_decided(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = started_scene(store).await;
    let waiting = crate::StepWrite {
        output_data: Some(
            json!({"wait": {"kind": "approval", "message": "ok?", "expires_at": null}}),
        ),
        ..step(&job, "manager", StepStatus::Waiting, t)
    };
    ok!(store.write_step(&job, waiting));
    ok!(store.suspend_execution(&job, None, t));
    let read = ok!(store.get_execution(org, execution.id)).expect("execution");
    assert_eq!(read.status, ExecutionStatus::Waiting);
    assert!(
        claim(store, "worker-b", t + Duration::days(365))
            .await
            .is_none(),
        "an undecided approval is never due"
    );
    assert!(
        is_stale(
            store
                .write_step(&job, step(&job, "x", StepStatus::Running, t))
                .await
        ),
        "suspending gives the lease up"
    );

    let other = new_tenant(store).await;
    assert!(
        ok!(store.decide_waiting_step(
            other.organization_id,
            execution.id,
            "manager",
            json!({"approved": true}),
            t
        ))
        .is_none()
    );
    assert!(matches!(
        ok!(store.decide_waiting_step(org, execution.id, "nobody", json!({"approved": true}), t)),
        Some(DecideOutcome::NotWaiting(_))
    ));
    let decided =
        ok!(store.decide_waiting_step(org, execution.id, "manager", json!({"approved": true}), t));
    assert!(
        matches!(decided, Some(DecideOutcome::Decided(_))),
        "{decided:?}"
    );
    assert!(
        matches!(
            ok!(store.decide_waiting_step(
                org,
                execution.id,
                "manager",
                json!({"approved": false}),
                t
            )),
            Some(DecideOutcome::NotWaiting(_))
        ),
        "a decision is taken once"
    );
    let steps = ok!(store.load_steps(execution.id));
    assert_eq!(
        steps[0]
            .output_data
            .as_ref()
            .map(|o| o.0["decision"]["approved"].clone()),
        Some(json!(true))
    );
    let again = claim(store, "worker-b", t + Duration::seconds(1))
        .await
        .expect("due after the decision");
    assert_eq!(again.execution_id, execution.id);
    let resumed = ok!(store.start_execution(&again, t + Duration::seconds(1)))
        .expect("a waiting execution starts again");
    assert_eq!(resumed.status, ExecutionStatus::Running);

    // A timed wait is due at its time, not before.
    ok!(store.suspend_execution(
        &again,
        Some(t + Duration::seconds(60)),
        t + Duration::seconds(2)
    ));
    assert!(
        claim(store, "worker-c", t + Duration::seconds(59))
            .await
            .is_none()
    );
    assert!(
        claim(store, "worker-c", t + Duration::seconds(61))
            .await
            .is_some()
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn a_released_job_is_claimable_at_once(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = started_scene(store).await;
    ok!(store.release_job(&job, t));
    let next = claim(store, "worker-b", t)
        .await
        .expect("released: due now, not after the lease");
    assert_eq!((next.execution_id, next.claims), (execution.id, 2));
    assert!(is_stale(
        store
            .finish_execution(&job, outcome(ExecutionStatus::Completed, t))
            .await
    ));
    assert!(is_stale(store.release_job(&job, t).await));
    let read = ok!(store.get_execution(org, execution.id)).expect("execution");
    assert_eq!(
        read.status,
        ExecutionStatus::Running,
        "releasing does not finish"
    );
    clean_up(store, &[&workflow]).await;
}

pub async fn only_a_failed_execution_is_retried(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = claimed_scene(store).await;
    assert!(matches!(
        ok!(store.retry_execution(org, execution.id, t, None)),
        Some(RetryOutcome::NotFailed(_))
    ));
    ok!(store.start_execution(&job, t));
    let failure = ExecutionOutcome {
        steps: Vec::new(),
        error: Some("DMS down".into()),
        ..outcome(ExecutionStatus::Failed, t)
    };
    ok!(store.finish_execution(&job, failure));
    let other = new_tenant(store).await;
    assert!(ok!(store.retry_execution(other.organization_id, execution.id, t, None)).is_none());
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let again = t + Duration::seconds(1);
    let Some(RetryOutcome::Retried(retried)) =
        ok!(store.retry_execution(org, execution.id, again, Some(traceparent)))
    else {
        panic!("a failed execution is retried");
    };
    assert_eq!(
        (
            retried.status,
            retried.error_message.as_deref(),
            retried.completed_at
        ),
        (ExecutionStatus::Pending, None, None)
    );
    let job = claim(store, "worker-b", t + Duration::seconds(1))
        .await
        .expect("queued again");
    assert_eq!(job.execution_id, execution.id);
    assert_eq!(
        job.trace_context.as_deref(),
        Some(traceparent),
        "the retry's run continues the retrying request's trace"
    );
    assert!(matches!(
        ok!(store.retry_execution(org, execution.id, t, None)),
        Some(RetryOutcome::NotFailed(_))
    ));
    clean_up(store, &[&workflow]).await;
}

pub async fn a_follow_up_is_queued_with_the_outcome(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        job,
        ..
    } = started_scene(store).await;
    let follow_up = NewExecution {
        id: Uuid::now_v7(),
        organization_id: org,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input: json!({"error": {"message": "DMS down"}}),
        dry_run: false,
        now: t,
        lease: None,
        origin: Default::default(),
    };
    let failure = ExecutionOutcome {
        steps: Vec::new(),
        follow_up: Some(follow_up.clone()),
        ..outcome(ExecutionStatus::Failed, t)
    };
    ok!(store.finish_execution(&job, failure));
    let queued = ok!(store.get_execution(org, follow_up.id)).expect("the follow-up exists");
    assert_eq!(
        (queued.status, queued.input_data.0.clone()),
        (ExecutionStatus::Pending, follow_up.input)
    );
    let next = claim(store, "worker-b", t)
        .await
        .expect("the follow-up's job");
    assert_eq!(next.execution_id, follow_up.id);
    clean_up(store, &[&workflow]).await;
}

pub async fn old_finished_executions_are_pruned_in_batches(store: &dyn Store) {
    let Scene { org, workflow, t } = scene(store).await;
    // Long ago, so that a shared store's other (recent) executions stay out of the cutoff.
    let old = t - Duration::days(3650);
    let mut finished = Vec::new();
    for (i, status) in [ExecutionStatus::Completed, ExecutionStatus::Failed]
        .into_iter()
        .enumerate()
    {
        let e = new_execution(store, &workflow, old + Duration::seconds(i as i64)).await;
        let job = claim_own(store, &e, old + Duration::seconds(10)).await;
        ok!(store.start_execution(&job, old));
        ok!(store.write_step(&job, step(&job, "a", StepStatus::Completed, old)));
        ok!(store.finish_execution(&job, outcome(status, old + Duration::seconds(20))));
        finished.push(e);
    }
    let recent = new_execution(store, &workflow, t).await;
    let job = claim_own(store, &recent, t).await;
    ok!(store.start_execution(&job, t));
    ok!(store.finish_execution(&job, outcome(ExecutionStatus::Completed, t)));
    let pending = new_execution(store, &workflow, old).await;

    let cutoff = t - Duration::days(3000);
    assert_eq!(
        ok!(store.prune_executions(cutoff, 1)),
        1,
        "one batch of one"
    );
    assert_eq!(ok!(store.prune_executions(cutoff, 10)), 1);
    assert_eq!(ok!(store.prune_executions(cutoff, 10)), 0);
    ok!(store.reclaim_space());
    for e in &finished {
        assert!(ok!(store.get_execution(org, e.id)).is_none(), "pruned");
        assert!(ok!(store.load_steps(e.id)).is_empty(), "with its steps");
    }
    assert!(
        ok!(store.get_execution(org, recent.id)).is_some(),
        "recent ones stay"
    );
    assert!(
        ok!(store.get_execution(org, pending.id)).is_some(),
        "unfinished ones stay, however old"
    );
    clean_up(store, &[&workflow]).await;
}
