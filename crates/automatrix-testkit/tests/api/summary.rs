//! `GET /api/metrics/summary` over HTTP: executions created in the range are counted by status,
//! per workflow and per bucket (every bucket there, empty ones too), with exact nearest-rank
//! run time percentiles and success rates; AI calls are totalled; another organization's
//! executions stay invisible; bad ranges are refused naming the parameter.
//!
//! Executions are put in the store with chosen timestamps (`testing::past_execution`) rather
//! than run, so that every number is known in advance.

use automatrix_core::ExecutionStatus::{
    self, Cancelled, Completed, Failed, Pending, Running, Waiting,
};
use automatrix_store::testing::past_execution;
use automatrix_testkit::{Session, TestApp, both_backends};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ai::seed;

/// 2026-03-`d` at `h:m:s` UTC.
fn at(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, s).unwrap()
}

fn ms(n: i64) -> Option<Duration> {
    Some(Duration::milliseconds(n))
}

/// A workflow of `s`'s organization named `name`; its id.
async fn workflow(app: &TestApp, s: &Session, name: &str) -> Uuid {
    let definition = json!({"nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []});
    let wf = app.create_workflow(s, name, definition).await;
    wf["id"].as_str().unwrap().parse().unwrap()
}

/// Executions of `s`'s organization as they were left: (workflow, status, created, run time),
/// in the order they were created.
async fn executions(
    app: &TestApp,
    s: &Session,
    runs: &[(Uuid, ExecutionStatus, DateTime<Utc>, Option<Duration>)],
) {
    let store = &**app.store();
    for (id, status, created, run) in runs {
        let wf = store
            .get_workflow(s.organization_id, *id)
            .await
            .unwrap()
            .expect("the workflow");
        past_execution(store, &wf, *status, *created, *run).await;
    }
}

fn range(since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    format!(
        "/api/metrics/summary?since={}&until={}",
        since.format("%Y-%m-%dT%H:%M:%SZ"),
        until.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

async fn summary(app: &TestApp, s: &Session, path: &str) -> Value {
    let res = app.get(path, &s.access_token).await;
    assert_eq!(res.status, 200, "{path}: {}", res.body);
    res.body
}

/// `(at, total)` of every point of the series.
fn totals(body: &Value) -> Vec<(String, i64)> {
    body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["at"].as_str().unwrap().to_owned(),
                p["total"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn statuses(counts: &Value) -> [i64; 6] {
    [
        "pending",
        "running",
        "waiting",
        "completed",
        "failed",
        "cancelled",
    ]
    .map(|k| {
        counts[k]
            .as_i64()
            .unwrap_or_else(|| panic!("{k} missing in {counts}"))
    })
}

both_backends! {
    async fn a_summary_counts_statuses_rates_percentiles_and_ai_cost(app) {
        let s = app.signup().await;
        let lead = workflow(&app, &s, "Lead follow-up").await;
        let service = workflow(&app, &s, "Service reminder").await;
        executions(&app, &s, &[
            (lead, Completed, at(1, 10, 0, 0), ms(100)),
            (lead, Completed, at(1, 10, 10, 0), ms(200)),
            (service, Completed, at(1, 10, 20, 0), ms(1000)),
            (lead, Completed, at(1, 10, 30, 0), ms(300)),
            (lead, Failed, at(1, 10, 40, 0), ms(400)),
            (lead, Cancelled, at(1, 10, 50, 0), None),
            (service, Completed, at(1, 11, 0, 0), ms(2000)),
            (service, Completed, at(1, 11, 5, 0), ms(3000)),
            (service, Pending, at(1, 11, 10, 0), None),
            (service, Running, at(1, 11, 20, 0), None),
            (service, Waiting, at(1, 11, 30, 0), None),
            (lead, Completed, at(1, 12, 0, 0), ms(5)),
        ]).await;
        seed(&app, &s, Some(lead), "gpt-4o-mini", 0.25, at(1, 10, 30, 0)).await;
        seed(&app, &s, None, "gpt-4o-mini", 0.5, at(1, 11, 59, 59)).await;
        seed(&app, &s, Some(lead), "gpt-4o-mini", 4.0, at(1, 12, 0, 0)).await;

        let body = summary(&app, &s, &range(at(1, 10, 0, 0), at(1, 12, 0, 0))).await;

        assert_eq!(body["bucket"], "hour", "the default up to 48 hours");
        assert_eq!(body["total"], 11, "12:00 is the end of the range, outside it");
        assert_eq!(statuses(&body["by_status"]), [1, 1, 1, 6, 1, 1]);
        assert_eq!(body["success_rate"], 0.75, "6 completed of 8 finished");
        // Run times 100, 200, 300, 400, 1000, 2000, 3000 (the cancelled one never ran):
        // nearest ranks ⌈3.5⌉ = 4 and ⌈6.65⌉ = 7.
        assert_eq!(body["duration_ms"], json!({"p50": 400, "p95": 3000}));

        let workflows = body["workflows"].as_array().unwrap();
        let names: Vec<(&str, i64)> = workflows.iter().map(|w| (w["name"].as_str().unwrap(), w["total"].as_i64().unwrap())).collect();
        assert_eq!(names, [("Service reminder", 6), ("Lead follow-up", 5)], "most executions first");
        let (svc, ld) = (&workflows[0], &workflows[1]);
        assert_eq!(svc["workflow_id"], service.to_string());
        assert_eq!(statuses(&svc["by_status"]), [1, 1, 1, 3, 0, 0]);
        assert_eq!(svc["success_rate"], 1.0);
        assert_eq!(svc["duration_ms"], json!({"p50": 2000, "p95": 3000}));
        assert_eq!(statuses(&ld["by_status"]), [0, 0, 0, 3, 1, 1]);
        assert_eq!(ld["success_rate"], 0.6);
        // 100, 200, 300, 400: ranks 2 and ⌈3.8⌉ = 4.
        assert_eq!(ld["duration_ms"], json!({"p50": 200, "p95": 400}));

        let series = body["series"].as_array().unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0]["at"], "2026-03-01T10:00:00Z");
        assert_eq!(series[0]["total"], 6);
        assert_eq!(statuses(&series[0]), [0, 0, 0, 4, 1, 1]);
        assert_eq!(statuses(&series[1]), [1, 1, 1, 2, 0, 0]);

        assert_eq!(body["ai"], json!({"cost_usd": 0.75, "input_tokens": 2000, "output_tokens": 200, "calls": 2}),
            "the range's calls, the proxy's included");
    }

    async fn every_hour_of_the_range_is_in_the_series_across_boundaries(app) {
        let s = app.signup().await;
        let wf = workflow(&app, &s, "Lead follow-up").await;
        executions(&app, &s, &[
            (wf, Completed, at(1, 10, 59, 59), ms(500)),
            (wf, Failed, at(1, 11, 0, 0), ms(500)),
            (wf, Pending, at(1, 13, 0, 0), None),
        ]).await;

        let path = format!("{}&bucket=hour", range(at(1, 10, 30, 0), at(1, 13, 30, 0)));
        let body = summary(&app, &s, &path).await;

        assert_eq!(totals(&body), [
            ("2026-03-01T10:00:00Z".to_owned(), 1),
            ("2026-03-01T11:00:00Z".to_owned(), 1),
            ("2026-03-01T12:00:00Z".to_owned(), 0),
            ("2026-03-01T13:00:00Z".to_owned(), 1),
        ], "from the hour `since` falls in to the one `until` does, the empty one too");
        let series = body["series"].as_array().unwrap();
        assert_eq!(statuses(&series[0]), [0, 0, 0, 1, 0, 0], "10:59:59 is in the 10 o'clock bucket");
        assert_eq!(statuses(&series[1]), [0, 0, 0, 0, 1, 0], "11:00:00 is in the next");
        assert_eq!(statuses(&series[2]), [0; 6]);
        assert_eq!(statuses(&series[3]), [1, 0, 0, 0, 0, 0]);
        assert_eq!(body["success_rate"], 0.5);
        assert_eq!(body["duration_ms"], json!({"p50": 500, "p95": 500}));
    }

    async fn beyond_48_hours_the_series_is_by_day_and_a_workflow_filters_it(app) {
        let s = app.signup().await;
        let lead = workflow(&app, &s, "Lead follow-up").await;
        let service = workflow(&app, &s, "Service reminder").await;
        executions(&app, &s, &[
            (lead, Completed, at(1, 23, 59, 59), ms(10)),
            (lead, Completed, at(2, 0, 0, 0), ms(30)),
            (service, Completed, at(2, 12, 0, 0), ms(20)),
        ]).await;
        seed(&app, &s, Some(service), "gpt-4o-mini", 1.5, at(2, 12, 0, 0)).await;
        let window = range(at(1, 0, 0, 0) - Duration::hours(12), at(4, 0, 0, 0));

        let all = summary(&app, &s, &window).await;
        assert_eq!(all["bucket"], "day", "3.5 days: one point per day");
        assert_eq!(totals(&all), [
            ("2026-02-28T00:00:00Z".to_owned(), 0),
            ("2026-03-01T00:00:00Z".to_owned(), 1),
            ("2026-03-02T00:00:00Z".to_owned(), 2),
            ("2026-03-03T00:00:00Z".to_owned(), 0),
        ]);
        assert_eq!(all["duration_ms"], json!({"p50": 20, "p95": 30}));

        let only_lead = summary(&app, &s, &format!("{window}&workflow_id={lead}")).await;
        assert_eq!(only_lead["workflow_id"], lead.to_string());
        assert_eq!(only_lead["total"], 2);
        assert_eq!(totals(&only_lead)[2].1, 1, "without the other workflow's");
        assert_eq!(only_lead["workflows"].as_array().unwrap().len(), 1);
        assert_eq!(only_lead["ai"]["calls"], 0, "the other workflow made the AI call");
        let only_service = summary(&app, &s, &format!("{window}&workflow_id={service}&bucket=hour")).await;
        assert_eq!(only_service["series"].as_array().unwrap().len(), 84, "3.5 days of hours, when asked");
        assert_eq!(only_service["ai"]["cost_usd"], 1.5);

        let unknown = app.get(&format!("{window}&workflow_id={}", Uuid::now_v7()), &s.access_token).await;
        assert_eq!(unknown.status, 404, "{}", unknown.body);
    }

    async fn another_organizations_executions_are_invisible(app) {
        let s = app.signup().await;
        let other = app.signup().await;
        let mine = workflow(&app, &s, "Lead follow-up").await;
        let theirs = workflow(&app, &other, "Lead follow-up").await;
        executions(&app, &s, &[(mine, Completed, at(1, 10, 0, 0), ms(100))]).await;
        executions(&app, &other, &[
            (theirs, Failed, at(1, 10, 5, 0), ms(900)),
            (theirs, Pending, at(1, 10, 10, 0), None),
        ]).await;
        seed(&app, &other, Some(theirs), "gpt-4o-mini", 100.0, at(1, 10, 0, 0)).await;
        let window = range(at(1, 10, 0, 0), at(1, 11, 0, 0));

        let body = summary(&app, &s, &window).await;
        assert_eq!(body["total"], 1);
        assert_eq!(statuses(&body["by_status"]), [0, 0, 0, 1, 0, 0]);
        assert_eq!(body["workflows"].as_array().unwrap().len(), 1);
        assert_eq!(body["duration_ms"], json!({"p50": 100, "p95": 100}));
        assert_eq!(body["ai"]["calls"], 0);
        let named = app.get(&format!("{window}&workflow_id={theirs}"), &s.access_token).await;
        assert_eq!(named.status, 404, "another organization's workflow is not found: {}", named.body);

        let theirs_body = summary(&app, &other, &window).await;
        assert_eq!(theirs_body["total"], 2);
        assert_eq!(theirs_body["success_rate"], 0.0, "one finished, failed");
    }

    async fn bad_ranges_are_refused_naming_the_parameter(app) {
        let s = app.signup().await;
        let t = at(1, 10, 0, 0);
        for (path, param) in [
            (range(t, t), "since"),
            (range(t + Duration::hours(1), t), "since"),
            (range(t - Duration::days(367), t), "since"),
            (format!("{}&bucket=hour", range(t - Duration::days(32), t)), "bucket"),
        ] {
            let res = app.get(&path, &s.access_token).await;
            assert_eq!(res.status, 422, "{path}: {}", res.body);
            assert_eq!(res.code(), "VALIDATION_ERROR");
            assert_eq!(res.body["error"]["details"][0]["path"], param, "{path}");
            let message = res.body["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(param), "{path}: {message}");
        }
        assert_eq!(app.get(&range(t - Duration::days(366), t), &s.access_token).await.status, 200, "366 days is allowed");
        for bad in ["since=yesterday", "until=2026-03-01", "bucket=week", "workflow_id=42"] {
            let res = app.get(&format!("/api/metrics/summary?{bad}"), &s.access_token).await;
            assert_eq!(res.status, 400, "{bad}: {}", res.body);
        }
    }

    async fn by_default_the_last_24_hours_by_hour(app) {
        let s = app.signup().await;
        let body = summary(&app, &s, "/api/metrics/summary").await;
        let time = |k: &str| DateTime::parse_from_rfc3339(body[k].as_str().unwrap()).unwrap();
        assert_eq!(time("until") - time("since"), Duration::hours(24));
        assert_eq!(body["bucket"], "hour");
        assert_eq!((body["total"].as_i64(), body["success_rate"].is_null()), (Some(0), true));
        assert_eq!(body["duration_ms"], json!({"p50": null, "p95": null}), "no run, no percentile");
        let points = body["series"].as_array().unwrap();
        // 24 whole hours, plus one when `since` is not on the hour.
        assert!((24..=25).contains(&points.len()), "{}", points.len());
        assert!(points.iter().all(|p| p["total"] == 0 && p["completed"] == 0));
    }
}
