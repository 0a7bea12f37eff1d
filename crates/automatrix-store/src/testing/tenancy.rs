//! Tenancy across the stores: every tenant row belongs to an existing organization, and no
//! other organization can reach it.

use automatrix_core::{ExecutionStatus, StepStatus};
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{ClaimedScene, claimed_scene, clean_up, new_tenant, now, step};
use crate::{ExecutionFilter, NewExecution, NewWorkflow, Store, StoreError, WorkflowUpdate};

pub async fn another_organization_cannot_reach_tenant_rows(store: &dyn Store) {
    let ClaimedScene {
        org,
        workflow,
        t,
        execution,
        job,
    } = claimed_scene(store).await;
    let intruder = new_tenant(store).await.organization_id;
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
            lease: None,
            origin: Default::default(),
        })
        .await;
    assert!(
        matches!(foreign_run, Err(StoreError::NotFound)),
        "foreign run: {foreign_run:?}"
    );

    let kept = ok!(store.get_workflow(org, workflow.id)).expect("still there");
    assert_eq!(kept.name, workflow.name);
    let kept = ok!(store.get_execution(org, execution.id)).expect("still there");
    assert_eq!(kept.status, ExecutionStatus::Pending);
    assert_eq!(ok!(store.list_steps(org, execution.id)).len(), 1);
    assert_eq!(ok!(store.list_executions(org, &by_workflow)).len(), 1);
    clean_up(store, &[&workflow]).await;
}

pub async fn tenant_rows_need_an_existing_organization(store: &dyn Store) {
    let user = new_tenant(store).await;
    let nowhere = Uuid::now_v7();
    let orphan = store
        .create_workflow(NewWorkflow {
            id: Uuid::now_v7(),
            organization_id: nowhere,
            name: "Orphan".to_owned(),
            description: String::new(),
            definition: json!({"nodes": [], "edges": []}),
            is_active: true,
            webhook_token: None,
            next_tick: None,
            created_by: Some(user.id),
            now: now(),
        })
        .await;
    assert!(
        orphan.is_err(),
        "a workflow of an organization that does not exist: {orphan:?}"
    );
    assert!(ok!(store.list_workflows(nowhere, None, 10)).is_empty());
}
