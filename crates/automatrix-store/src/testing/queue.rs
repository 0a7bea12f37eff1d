//! Promises of [`QueueStore`](crate::QueueStore): claims, leases and the fenced worker writes.

use std::collections::HashSet;

use automatrix_core::{ExecutionStatus, StepStatus};
use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{
    ClaimedScene, LEASE, Scene, claim, claim_own, claimed_scene, clean_up, is_stale, new_execution,
    outcome, scene, started_scene, step,
};
use crate::{CancelOutcome, ExecutionOutcome, QueueStats, Start, Store};

pub async fn a_due_job_is_claimed_once(store: &dyn Store) {
    let Scene { workflow, t, .. } = scene(store).await;
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

pub async fn claiming_the_next_job_starts_its_execution(store: &dyn Store) {
    let Scene { org, workflow, t } = scene(store).await;
    let first = new_execution(store, &workflow, t).await;
    let second = new_execution(store, &workflow, t).await;
    // What the worker does: a start the claim left for later is made now.
    let next = |at| async move {
        let (job, start) = ok!(store.claim_next("worker-a", at, at + LEASE))?;
        let started = match start {
            Start::Started(execution) => Some(*execution),
            Start::NotRunnable => None,
            Start::Later => ok!(store.start_execution(&job, at)),
        };
        Some((job, started))
    };
    assert!(
        next(t - Duration::seconds(1)).await.is_none(),
        "not due before run_at"
    );

    let (job, started) = next(t).await.expect("a due job");
    assert_eq!(job.execution_id, first.id, "the oldest job first");
    assert_eq!((job.claims, job.locked_until), (1, t + LEASE));
    let started = started.expect("runnable");
    assert_eq!(
        (started.id, started.status, started.started_at),
        (first.id, ExecutionStatus::Running, Some(t))
    );

    // Cancelled under a live lease, the job stays; once the lease expires it is claimed again,
    // with nothing to start.
    ok!(store.cancel_execution(org, first.id, t));
    let later = t + LEASE * 2;
    let (again, none) = next(later).await.expect("the expired lease");
    assert_eq!((again.execution_id, again.claims), (first.id, 2));
    assert!(none.is_none(), "a cancelled execution is not started");
    ok!(store.drop_job(&again));

    let (job, started) = next(later).await.expect("the second job");
    assert_eq!(job.execution_id, second.id);
    assert_eq!(started.map(|e| e.id), Some(second.id));
    assert!(next(later).await.is_none(), "nothing left");
    clean_up(store, &[&workflow]).await;
}

pub async fn the_last_steps_are_written_with_the_outcome_and_fenced_alike(store: &dyn Store) {
    for count in 1..=3 {
        let ClaimedScene {
            org,
            workflow,
            t,
            execution,
            job,
        } = started_scene(store).await;
        let names: Vec<String> = (0..count).map(|k| format!("n{k}")).collect();
        // A stale holder writes nothing, steps included.
        let later = t + LEASE * 2;
        let thief = claim_own(store, &execution, later).await;
        let stale = ExecutionOutcome {
            steps: names
                .iter()
                .map(|n| step(&job, n, StepStatus::Completed, later))
                .collect(),
            ..outcome(ExecutionStatus::Completed, later)
        };
        assert!(
            is_stale(store.finish_execution(&job, stale).await),
            "{count}"
        );
        assert!(
            ok!(store.list_steps(org, execution.id)).is_empty(),
            "{count}"
        );

        let done = ExecutionOutcome {
            steps: names
                .iter()
                .map(|n| step(&thief, n, StepStatus::Completed, later))
                .collect(),
            ..outcome(ExecutionStatus::Completed, later)
        };
        ok!(store.finish_execution(&thief, done));
        let written: Vec<_> = ok!(store.list_steps(org, execution.id))
            .into_iter()
            .map(|s| (s.node_id, s.status))
            .collect();
        let expected: Vec<_> = names
            .iter()
            .map(|n| (n.clone(), StepStatus::Completed))
            .collect();
        assert_eq!(written, expected, "{count} steps");
        let finished = ok!(store.get_execution(org, execution.id)).expect("the execution");
        assert_eq!(finished.status, ExecutionStatus::Completed);
        assert!(
            claim(store, "another", later + LEASE * 4).await.is_none(),
            "the job is gone"
        );
        clean_up(store, &[&workflow]).await;
    }
}

pub async fn a_held_back_step_is_written_with_the_next_and_fenced_alike(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = started_scene(store).await;
    let trigger = step(&job, "start", StepStatus::Completed, t);
    let next = step(
        &job,
        "enrich",
        StepStatus::Completed,
        t + Duration::milliseconds(1),
    );
    let third = step(
        &job,
        "score",
        StepStatus::Running,
        t + Duration::milliseconds(2),
    );
    let status = ok!(store.write_steps(&job, vec![trigger, next, third]));
    assert_eq!(status, ExecutionStatus::Running);
    let written: Vec<_> = ok!(store.list_steps(org, execution.id))
        .into_iter()
        .map(|s| (s.node_id, s.status))
        .collect();
    assert_eq!(
        written,
        [
            ("start".to_owned(), StepStatus::Completed),
            ("enrich".to_owned(), StepStatus::Completed),
            ("score".to_owned(), StepStatus::Running)
        ]
    );

    // Another worker holds the job now: neither step is written.
    let later = t + LEASE * 2;
    let new = claim_own(store, &execution, later).await;
    let trigger = step(&job, "start", StepStatus::Failed, later);
    let next = step(&job, "late", StepStatus::Completed, later);
    assert!(is_stale(store.write_steps(&job, vec![trigger, next]).await));
    let steps = ok!(store.list_steps(org, execution.id));
    assert_eq!(steps.len(), 3, "nothing more");
    assert_eq!(
        steps[0].status,
        StepStatus::Completed,
        "the trigger kept its record"
    );
    ok!(store.drop_job(&new));
    clean_up(store, &[&workflow]).await;
}

pub async fn concurrent_claimers_never_share_a_job(store: &dyn Store) {
    let Scene { workflow, t, .. } = scene(store).await;
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
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job: old,
    } = claimed_scene(store).await;
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
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job: first,
    } = claimed_scene(store).await;
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
    let Scene { org, workflow, t } = scene(store).await;
    let ok = new_execution(store, &workflow, t).await;
    let bad = new_execution(store, &workflow, t + Duration::seconds(1)).await;

    let job = claim_own(store, &ok, t).await;
    ok!(store.start_execution(&job, t));
    let done = t + Duration::seconds(3);
    let success = ExecutionOutcome {
        steps: Vec::new(),
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
        steps: Vec::new(),
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
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = started_scene(store).await;
    let cancelled = ok!(store.cancel_execution(org, execution.id, t));
    assert!(
        matches!(cancelled, Some(CancelOutcome::Cancelled(ref e)) if e.status == ExecutionStatus::Cancelled)
    );

    let late = ExecutionOutcome {
        steps: Vec::new(),
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
    let Scene { org, workflow, t } = scene(store).await;
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

pub async fn the_queue_counts_due_and_running_jobs(store: &dyn Store) {
    let Scene { workflow, t, .. } = scene(store).await;
    let expired = t + LEASE + Duration::seconds(1);
    // Counted against what was there before (other promises clean up, but need not have).
    let (before, before_expired) = (ok!(store.queue_stats(t)), ok!(store.queue_stats(expired)));
    let first = new_execution(store, &workflow, t).await;
    new_execution(store, &workflow, t).await;
    new_execution(store, &workflow, t + Duration::minutes(5)).await;
    let counts = |due, running| QueueStats {
        due: before.due + due,
        running: before.running + running,
    };
    assert_eq!(
        ok!(store.queue_stats(t)),
        counts(2, 0),
        "a job due later is not counted"
    );
    claim_own(store, &first, t).await;
    assert_eq!(
        ok!(store.queue_stats(t)),
        counts(1, 1),
        "a claimed job runs"
    );
    assert_eq!(
        ok!(store.queue_stats(expired)),
        QueueStats {
            due: before_expired.due + 2,
            running: before_expired.running,
        },
        "a job whose lease expired is due again"
    );
    clean_up(store, &[&workflow]).await;
}
