//! Promises of [`ExecutionStore`](crate::ExecutionStore): executions, their steps, cancelling.

use automatrix_core::{ExecutionStatus, StepStatus};
use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{
    ClaimedScene, LEASE, Scene, claim_own, claimed_scene, clean_up, ids, new_execution,
    new_execution_row, new_tenant, new_workflow, now, scene, step,
};
use crate::{
    CreateOnce, ExecutionFilter, NewExecution, Origin, Start, StepWrite, Store, StoreError,
};

pub async fn an_execution_keeps_its_request_id_and_its_job_the_trace_context(store: &dyn Store) {
    let Scene { org, workflow, t } = scene(store).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = ok!(store.create_execution(NewExecution {
        origin: Origin {
            request_id: Some("abc-123".into()),
            trace_context: Some(traceparent.into()),
        },
        ..new_execution_row(&workflow, t)
    }));
    assert_eq!(traced.request_id.as_deref(), Some("abc-123"));
    let read = ok!(store.get_execution(org, traced.id)).expect("created");
    assert_eq!(read.request_id.as_deref(), Some("abc-123"));
    let (job, start) = ok!(store.claim_next("worker-a", t, t + LEASE)).expect("due");
    assert_eq!(job.execution_id, traced.id);
    assert_eq!(job.trace_context.as_deref(), Some(traceparent));
    if let Start::Started(started) = start {
        assert_eq!(started.request_id.as_deref(), Some("abc-123"));
    }

    // Work the engine starts itself has neither.
    let plain = new_execution(store, &workflow, t).await;
    assert_eq!(plain.request_id, None);
    let job = claim_own(store, &plain, t).await;
    assert_eq!(job.trace_context, None);
    clean_up(store, &[&workflow]).await;
}

pub async fn an_idempotency_key_starts_one_execution_while_fresh(store: &dyn Store) {
    let Scene { org, workflow, t } = scene(store).await;
    let user = new_tenant(store).await;
    let other = new_workflow(store, &user).await;
    let run = |workflow: &crate::Workflow, at| NewExecution {
        id: Uuid::now_v7(),
        organization_id: workflow.organization_id,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input: json!({"lead": 1}),
        dry_run: false,
        now: at,
        lease: None,
        origin: Default::default(),
    };
    let day = Duration::hours(24);
    let once = |new, at| store.create_execution_once(new, "lead-42", at - day);

    let CreateOnce::Created(first) = ok!(once(run(&workflow, t), t)) else {
        panic!("a new key creates");
    };
    let later = t + Duration::hours(23);
    let CreateOnce::Existing(again) = ok!(once(run(&workflow, later), later)) else {
        panic!("a fresh key answers with its execution");
    };
    assert_eq!(again.id, first.id);
    let CreateOnce::Created(elsewhere) = ok!(once(run(&other, later), later)) else {
        panic!("keys are per workflow");
    };
    assert_ne!(elsewhere.id, first.id);
    let all = ExecutionFilter {
        workflow_id: Some(workflow.id),
        limit: 10,
        ..ExecutionFilter::default()
    };
    assert_eq!(
        ok!(store.list_executions(org, &all)).len(),
        1,
        "nothing more started"
    );

    // A day on, the key is free again and names the new execution.
    let next_day = t + day + Duration::seconds(1);
    let CreateOnce::Created(fresh) = ok!(once(run(&workflow, next_day), next_day)) else {
        panic!("a stale key creates");
    };
    let CreateOnce::Existing(same) = ok!(once(run(&workflow, next_day), next_day)) else {
        panic!("the key names the new execution");
    };
    assert_eq!(same.id, fresh.id);

    // Callers racing with one new key: exactly one creates.
    let racing = |_| async { ok!(store.create_execution_once(run(&workflow, t), "race", t - day)) };
    let outcomes = futures_join4(racing(0), racing(1), racing(2), racing(3)).await;
    let created: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            CreateOnce::Created(e) => Some(e.id),
            CreateOnce::Existing(_) => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "one creates: {outcomes:?}");
    for outcome in &outcomes {
        let (CreateOnce::Created(e) | CreateOnce::Existing(e)) = outcome;
        assert_eq!(e.id, created[0]);
    }
    assert_eq!(ok!(store.list_executions(org, &all)).len(), 3);
    clean_up(store, &[&workflow, &other]).await;
}

async fn futures_join4<F: std::future::Future>(a: F, b: F, c: F, d: F) -> [F::Output; 4] {
    let (a, b, c, d) = tokio::join!(a, b, c, d);
    [a, b, c, d]
}

pub async fn creating_an_execution_enqueues_its_job(store: &dyn Store) {
    let Scene { org, workflow, t } = scene(store).await;
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
            lease: None,
            origin: Default::default(),
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

    let dry = ok!(store.create_execution(NewExecution {
        dry_run: true,
        ..new_execution_row(&second, base + Duration::minutes(10))
    }));
    let only = |dry_run: bool| ExecutionFilter {
        workflow_id: Some(second.id),
        dry_run: Some(dry_run),
        ..all.clone()
    };
    assert_eq!(list(only(true)).await, vec![dry.id], "dry runs only");
    assert_eq!(list(only(false)).await, pick(&[4, 3]), "real runs only");
    clean_up(store, &[&first, &second]).await;
}

pub async fn steps_are_kept_per_attempt_and_listed_in_start_order(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = claimed_scene(store).await;
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
        input_data: None,
        output_data: Some(json!({"ok": true})),
        output_port: Some("main".to_owned()),
        completed_at: Some(at(5)),
        duration_ms: Some(4000),
        now: at(5),
        ..step(&job, "a", StepStatus::Completed, at(1))
    };
    ok!(store.write_step(&job, done));
    // A retry is a row of its own: every attempt stays visible.
    let retry = StepWrite {
        attempt: 2,
        ..step(&job, "a", StepStatus::Running, at(6))
    };
    ok!(store.write_step(&job, retry));

    let steps = ok!(store.list_steps(org, execution.id));
    let order: Vec<_> = steps
        .iter()
        .map(|s| (s.node_id.as_str(), s.attempt))
        .collect();
    assert_eq!(
        order,
        [("a", 1), ("b", 1), ("c", 1), ("a", 2)],
        "one row per attempt, in the order they started"
    );
    let a = &steps[0];
    assert_eq!(
        (a.status, a.attempt, a.duration_ms),
        (StepStatus::Completed, 1, Some(4000))
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
            .map(|s| (s.node_id.as_str(), s.attempt))
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
