//! Promises of [`WorkflowStore`](crate::WorkflowStore): workflows and their versions.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{
    claim, claim_own, clean_up, definition, new_execution, new_tenant, new_workflow,
    new_workflow_request, now, step,
};
use crate::{
    ExecutionFilter, NewExecution, NewWorkflow, ScheduledTick, Store, StoreError, WorkflowUpdate,
};
use automatrix_core::StepStatus;

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
        next_tick: None,
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

pub async fn a_scheduled_tick_is_taken_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let t = now();
    let at = t + Duration::minutes(1);
    let next = at + Duration::hours(1);
    let workflow = ok!(store.create_workflow(NewWorkflow {
        next_tick: Some(at),
        now: t,
        ..new_workflow_request(&user)
    }));
    assert!(ok!(store.due_ticks(t, 10)).is_empty(), "not due yet");
    let due = ok!(store.due_ticks(at, 10));
    let tick = ScheduledTick {
        workflow_id: workflow.id,
        organization_id: org,
        next_run_at: at,
    };
    assert_eq!(due, std::slice::from_ref(&tick));

    let fire = || NewExecution {
        id: Uuid::now_v7(),
        organization_id: org,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input: json!({"scheduled_for": at}),
        dry_run: false,
        lease: None,
        origin: Default::default(),
        now: at,
    };
    // Four schedulers race for the tick: one takes it and starts one execution.
    let take = || store.take_tick(&tick, Some(next), Some(fire()), at);
    let (a, b, c, d) = tokio::join!(take(), take(), take(), take());
    let taken = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("take_tick"))
        .filter(|t| *t);
    assert_eq!(taken.count(), 1);
    let all = ExecutionFilter {
        workflow_id: Some(workflow.id),
        limit: 10,
        ..ExecutionFilter::default()
    };
    assert_eq!(ok!(store.list_executions(org, &all)).len(), 1);
    assert!(ok!(store.due_ticks(at, 10)).is_empty(), "moved on");
    assert_eq!(ok!(store.due_ticks(next, 10)).len(), 1);
    assert!(
        !ok!(store.take_tick(&tick, Some(next), Some(fire()), at)),
        "a stale view of the tick takes nothing"
    );

    assert_eq!(ok!(store.list_executions(org, &all)).len(), 1);
    clean_up(store, &[&workflow]).await;
}

pub async fn a_schedule_is_planned_only_while_its_workflow_is_active(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let at = now() + Duration::minutes(5);
    let later = now() + Duration::days(7);
    // Other promises may share the store: only this workflow's ticks count.
    let planned = || async {
        let mut due = ok!(store.due_ticks(later, 100));
        due.retain(|t| t.organization_id == org);
        due
    };
    let update = |is_active: Option<bool>, next_tick: Option<Option<DateTime<Utc>>>| {
        store.update_workflow(
            org,
            workflow.id,
            WorkflowUpdate {
                is_active,
                next_tick,
                ..WorkflowUpdate::default()
            },
            now(),
        )
    };
    let at_tick = |next_run_at| ScheduledTick {
        workflow_id: workflow.id,
        organization_id: org,
        next_run_at,
    };

    ok!(update(None, Some(Some(at))));
    assert_eq!(planned().await, vec![at_tick(at)]);
    ok!(update(Some(false), Some(Some(at + Duration::minutes(1)))));
    assert!(
        planned().await.is_empty(),
        "an inactive workflow has no schedule"
    );
    ok!(update(Some(true), Some(Some(at + Duration::minutes(2)))));
    assert_eq!(planned().await, vec![at_tick(at + Duration::minutes(2))]);
    ok!(update(None, None));
    assert_eq!(
        planned().await,
        vec![at_tick(at + Duration::minutes(2))],
        "an update that does not replan leaves the tick"
    );
    ok!(update(None, Some(None)));
    assert!(planned().await.is_empty(), "no longer a schedule");

    let inactive = ok!(store.create_workflow(NewWorkflow {
        is_active: false,
        next_tick: Some(at),
        ..new_workflow_request(&user)
    }));
    assert!(planned().await.is_empty(), "created inactive");
    clean_up(store, &[&workflow, &inactive]).await;
}

pub async fn a_webhook_token_finds_its_workflow_in_any_organization(store: &dyn Store) {
    let user = new_tenant(store).await;
    let workflow = new_workflow(store, &user).await;
    let token = format!("hook-{}", Uuid::now_v7().simple());
    let update = WorkflowUpdate {
        webhook_token: Some(Some(token.clone())),
        ..WorkflowUpdate::default()
    };
    ok!(store.update_workflow(user.organization_id, workflow.id, update, now()));
    let found = ok!(store.find_webhook(&token)).expect("the token names it");
    assert_eq!(
        (found.id, found.organization_id),
        (workflow.id, user.organization_id)
    );
    assert!(ok!(store.find_webhook("hook-unknown")).is_none());
    clean_up(store, &[&workflow]).await;
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
    assert_eq!(
        (versions[0].restored_from, versions[1].restored_from),
        (None, None)
    );
    let current = ok!(store.get_workflow(org, workflow.id)).expect("workflow");
    assert_eq!(current.version, 2);

    // A restore records the version it restores on the version it makes.
    let restored = update(WorkflowUpdate {
        definition: Some(definition("v1")),
        restored_from: Some(1),
        ..WorkflowUpdate::default()
    })
    .await
    .expect("restore version 1");
    assert_eq!(restored.version, 3);
    let v3 = ok!(store.get_workflow_version(org, workflow.id, 3)).expect("version 3");
    assert_eq!(
        (v3.restored_from, v3.definition.0),
        (Some(1), definition("v1"))
    );

    let missing = store
        .update_workflow(org, Uuid::now_v7(), WorkflowUpdate::default(), now())
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound)),
        "unknown workflow: {missing:?}"
    );
}

pub async fn concurrent_updates_make_consecutive_versions(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let workflow = new_workflow(store, &user).await;
    let update = |label: &'static str| {
        let change = WorkflowUpdate {
            definition: Some(definition(label)),
            ..WorkflowUpdate::default()
        };
        store.update_workflow(org, workflow.id, change, now())
    };
    let (a, b, c) = tokio::join!(update("a"), update("b"), update("c"));
    let mut versions: Vec<_> = [a, b, c]
        .into_iter()
        .map(|r| r.expect("every concurrent update succeeds").version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4], "each update makes the next version");
    let stored = ok!(store.list_workflow_versions(org, workflow.id));
    let numbers: Vec<_> = stored.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
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
