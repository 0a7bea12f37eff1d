//! Promises of [`AiStore`](crate::AiStore): routes are one per alias and organization, and
//! replacing one says so; every accounted call counts once in its window, grouped by day, model
//! or workflow with the same totals on every backend; a deleted workflow's calls still count;
//! a budget is one per organization; no organization sees another's routes, calls or budget.

use automatrix_core::ai::Route;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{new_tenant, new_workflow, now};
use crate::{AI_USAGE_NO_WORKFLOW, AiCallStatus, AiUsageGroup, NewAiUsage, Store};

fn route(model: &str) -> Route {
    serde_json::from_value(
        json!({"targets": [{"credential_id": Uuid::now_v7(), "model": model,
        "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6}]}),
    )
    .expect("a route")
}

/// A call of `org` at `at` costing `cost`, with 100 input and 10 output tokens.
pub(super) fn call(
    org: Uuid,
    workflow: Option<Uuid>,
    model: &str,
    cost: f64,
    at: DateTime<Utc>,
) -> NewAiUsage {
    NewAiUsage {
        id: Uuid::now_v7(),
        organization_id: org,
        workflow_id: workflow,
        execution_id: workflow.map(|_| Uuid::now_v7()),
        node_id: workflow.map(|_| "draft".to_owned()),
        route: "default".into(),
        provider: "openai".into(),
        model: model.into(),
        input_tokens: 100,
        output_tokens: 10,
        latency_ms: 250,
        cost_usd: cost,
        status: AiCallStatus::Ok,
        created_at: at,
    }
}

pub async fn ai_routes_are_one_per_alias_and_organization(store: &dyn Store) {
    let org = new_tenant(store).await.organization_id;
    let other = new_tenant(store).await.organization_id;
    let first = now();
    let (row, created) =
        ok!(store.put_ai_route(org, "lead-qualifier", &route("gpt-4o-mini"), first));
    assert!(created, "the first put creates");
    assert_eq!(row.definition.0.targets[0].model, "gpt-4o-mini");
    let later = first + Duration::seconds(5);
    let (row, created) = ok!(store.put_ai_route(org, "lead-qualifier", &route("gpt-4o"), later));
    assert!(!created, "a second put replaces");
    assert_eq!(row.definition.0.targets[0].model, "gpt-4o");
    assert_eq!((row.created_at, row.updated_at), (first, later));
    ok!(store.put_ai_route(org, "default", &route("llama3.1"), first));
    // Another organization may use the same alias for its own route.
    ok!(store.put_ai_route(other, "default", &route("claude"), first));

    let aliases: Vec<String> = ok!(store.list_ai_routes(org))
        .into_iter()
        .map(|r| r.alias)
        .collect();
    assert_eq!(aliases, ["default", "lead-qualifier"], "listed by alias");
    let got = ok!(store.get_ai_route(org, "default")).expect("the route");
    assert_eq!(got.definition.0.targets[0].model, "llama3.1");

    // Another organization can neither see nor delete it.
    assert!(ok!(store.get_ai_route(other, "lead-qualifier")).is_none());
    assert!(!ok!(store.delete_ai_route(other, "lead-qualifier")));
    assert_eq!(ok!(store.list_ai_routes(other)).len(), 1);

    assert!(ok!(store.delete_ai_route(org, "lead-qualifier")));
    assert!(ok!(store.get_ai_route(org, "lead-qualifier")).is_none());
    assert!(!ok!(store.delete_ai_route(org, "lead-qualifier")));
    assert_eq!(
        ok!(store.get_ai_route(other, "default"))
            .expect("kept")
            .definition
            .0
            .targets[0]
            .model,
        "claude"
    );
}

pub async fn ai_usage_is_reported_by_day_model_and_workflow(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let other = new_tenant(store).await.organization_id;
    let wf = new_workflow(store, &user).await.id;
    let day = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 30, 0).unwrap();
    for usage in [
        call(org, Some(wf), "gpt-4o-mini", 0.25, day(1, 0)),
        call(org, Some(wf), "gpt-4o-mini", 0.5, day(1, 23)),
        call(org, None, "claude", 1.0, day(2, 12)),
        call(org, Some(wf), "claude", 2.0, day(31, 23)),
        // Outside the window on either side, and another organization's.
        call(
            org,
            Some(wf),
            "gpt-4o-mini",
            100.0,
            day(1, 0) - Duration::hours(1),
        ),
        call(
            org,
            Some(wf),
            "gpt-4o-mini",
            100.0,
            Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
        ),
        call(other, None, "gpt-4o-mini", 100.0, day(2, 12)),
    ] {
        ok!(store.record_ai_usage(usage));
    }
    let (since, until) = (
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    );

    let by_day = ok!(store.ai_usage_report(org, since, until, AiUsageGroup::Day));
    assert_eq!(
        (
            by_day.total_cost_usd,
            by_day.input_tokens,
            by_day.output_tokens,
            by_day.calls
        ),
        (3.75, 400, 40, 4),
        "totals of the window"
    );
    let days: Vec<(&str, f64, i64)> = by_day
        .items
        .iter()
        .map(|i| (i.key.as_str(), i.cost_usd, i.calls))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-01", 0.75, 2),
            ("2026-03-02", 1.0, 1),
            ("2026-03-31", 2.0, 1)
        ]
    );

    let by_model = ok!(store.ai_usage_report(org, since, until, AiUsageGroup::Model));
    assert_eq!(by_model.total_cost_usd, 3.75);
    let models: Vec<(&str, f64, i64, i64)> = by_model
        .items
        .iter()
        .map(|i| (i.key.as_str(), i.cost_usd, i.input_tokens, i.output_tokens))
        .collect();
    assert_eq!(
        models,
        [("claude", 3.0, 200, 20), ("gpt-4o-mini", 0.75, 200, 20)]
    );

    let by_workflow = ok!(store.ai_usage_report(org, since, until, AiUsageGroup::Workflow));
    let mut expected = vec![
        (wf.to_string(), 2.75, 3),
        (AI_USAGE_NO_WORKFLOW.to_owned(), 1.0, 1),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let workflows: Vec<(String, f64, i64)> = by_workflow
        .items
        .iter()
        .map(|i| (i.key.clone(), i.cost_usd, i.calls))
        .collect();
    assert_eq!(workflows, expected);

    // The other organization sees only its own call.
    let theirs = ok!(store.ai_usage_report(other, since, until, AiUsageGroup::Model));
    assert_eq!((theirs.calls, theirs.total_cost_usd), (1, 100.0));
    let next = ok!(store.ai_usage_report(
        org,
        until,
        until + Duration::days(1) - Duration::hours(1),
        AiUsageGroup::Day
    ));
    assert_eq!(
        (next.calls, next.items.len()),
        (1, 1),
        "April 1st 00:00 is in the next window"
    );
}

pub async fn ai_cost_since_counts_a_deleted_workflows_calls(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let other = new_tenant(store).await.organization_id;
    let wf = new_workflow(store, &user).await.id;
    let start = now() - Duration::days(1);
    assert_eq!(
        ok!(store.ai_cost_since(org, start)),
        0.0,
        "nothing spent yet"
    );
    ok!(store.record_ai_usage(call(
        org,
        Some(wf),
        "m",
        0.125,
        start - Duration::seconds(1)
    )));
    ok!(store.record_ai_usage(call(org, Some(wf), "m", 0.25, start)));
    ok!(store.record_ai_usage(call(org, None, "m", 0.5, now())));
    ok!(store.record_ai_usage(call(other, None, "m", 8.0, now())));
    assert_eq!(ok!(store.ai_cost_since(org, start)), 0.75);

    assert!(ok!(store.delete_workflow(org, wf)));
    assert_eq!(
        ok!(store.ai_cost_since(org, start)),
        0.75,
        "accounting survives the workflow"
    );
}

pub async fn an_ai_budget_is_one_per_organization(store: &dyn Store) {
    let org = new_tenant(store).await.organization_id;
    let other = new_tenant(store).await.organization_id;
    assert!(ok!(store.get_ai_budget(org)).is_none());
    let first = now();
    let set = ok!(store.put_ai_budget(org, 50.0, 0.8, first));
    assert_eq!((set.monthly_usd, set.alert_at), (50.0, 0.8));
    let later = first + Duration::seconds(1);
    let changed = ok!(store.put_ai_budget(org, 20.5, 0.5, later));
    assert_eq!((changed.monthly_usd, changed.alert_at), (20.5, 0.5));
    assert_eq!((changed.created_at, changed.updated_at), (first, later));
    let got = ok!(store.get_ai_budget(org)).expect("the budget");
    assert_eq!(
        (got.organization_id, got.monthly_usd, got.alert_at),
        (org, 20.5, 0.5)
    );
    assert!(
        ok!(store.get_ai_budget(other)).is_none(),
        "another organization's budget"
    );
}
