//! `trigger.schedule`: a workflow saved with a schedule gets its next tick planned; a due tick
//! starts one execution with `scheduled_for`, however often schedulers look; missed ticks are
//! skipped or caught up once; switching the workflow off (or deleting it) stops the schedule,
//! and a bad pattern or zone is refused at save. The clock is the test's: it hands the
//! scheduler the moment to look at ([`Engine::fire_due_schedules`]).

use automatrix_testkit::{Session, TestApp, both_backends};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// A schedule trigger with `config`, then a step that reads the scheduled time.
fn scheduled(config: Value) -> Value {
    json!({
        "nodes": [
            {"id": "tick", "type": "trigger.schedule", "config": config},
            {"id": "remind", "type": "transform.set", "config": {"fields": {"for": "{{ $trigger.scheduled_for }}"}, "keep_input": false}}
        ],
        "edges": [{"from": "tick", "to": "remind"}]
    })
}

/// The planned tick of the workflow `wf`, if any.
async fn planned(app: &TestApp, wf: &Value) -> Option<DateTime<Utc>> {
    let id = wf["id"].as_str().unwrap();
    let far = Utc::now() + TimeDelta::days(400);
    app.store()
        .due_ticks(far, 1000)
        .await
        .expect("due ticks")
        .into_iter()
        .find(|t| t.workflow_id.to_string() == id)
        .map(|t| t.next_run_at)
}

async fn fire(app: &TestApp, at: DateTime<Utc>) -> usize {
    app.engine.fire_due_schedules(at).await.expect("scheduler")
}

async fn executions(app: &TestApp, s: &Session, wf: &Value) -> Vec<Value> {
    let id = wf["id"].as_str().unwrap();
    let res = app
        .get(&format!("/api/workflows/{id}/executions"), &s.access_token)
        .await;
    res.body["items"].as_array().unwrap().clone()
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

both_backends! {
    async fn a_due_tick_starts_one_execution_for_its_scheduled_time(app) {
        let s = app.signup().await;
        let config = json!({"cron": "0 9 * * MON-FRI", "timezone": "America/Chicago"});
        let wf = app.create_workflow(&s, "Service reminders", scheduled(config)).await;
        assert_eq!(wf["webhook_url"], Value::Null);
        let tick = planned(&app, &wf).await.expect("a tick is planned");
        assert!(tick > Utc::now());
        let local = tick.with_timezone(&chrono_tz::America::Chicago);
        assert_eq!(local.format("%H:%M").to_string(), "09:00", "{local}");

        assert_eq!(fire(&app, tick - TimeDelta::seconds(1)).await, 0, "not due yet");
        // Three schedulers look at once: one of them fires the tick.
        let at = tick + TimeDelta::seconds(1);
        let (a, b, c) = tokio::join!(fire(&app, at), fire(&app, at), fire(&app, at));
        assert_eq!(a + b + c, 1, "{a} {b} {c}");
        // Schedulers that look again, at the same moment or later, find nothing to fire.
        assert_eq!(fire(&app, tick + TimeDelta::seconds(1)).await, 0);
        assert_eq!(fire(&app, tick + TimeDelta::seconds(30)).await, 0);
        let next = planned(&app, &wf).await.expect("the next tick");
        assert!(next > tick + TimeDelta::hours(23), "{tick} then {next}");

        assert_eq!(app.run_jobs().await, 1);
        let runs = executions(&app, &s, &wf).await;
        assert_eq!(runs.len(), 1);
        let id = runs[0]["id"].as_str().unwrap();
        let exec = app.get(&format!("/api/executions/{id}"), &s.access_token).await.body;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["input_data"], json!({"scheduled_for": iso(tick)}));
        assert_eq!(exec["output_data"], json!({"for": iso(tick)}));
    }

    async fn missed_ticks_are_skipped_or_caught_up_once(app) {
        let s = app.signup().await;
        let skip = app.create_workflow(&s, "Hourly sweep", scheduled(json!({"cron": "0 * * * *"}))).await;
        let last = app.create_workflow(&s, "Hourly catch-up", scheduled(json!({"cron": "0 * * * *", "catch_up": "last"}))).await;
        let tick = planned(&app, &skip).await.unwrap();
        assert_eq!(planned(&app, &last).await, Some(tick));

        // Down for three and a half hours past the tick.
        let back = tick + TimeDelta::minutes(210);
        assert_eq!(fire(&app, back).await, 1, "one catch-up, no burst");
        assert_eq!(app.run_jobs().await, 1);
        assert!(executions(&app, &s, &skip).await.is_empty(), "skipped");
        let caught = executions(&app, &s, &last).await;
        assert_eq!(caught.len(), 1);
        assert_eq!(caught[0]["input_data"]["scheduled_for"], iso(tick + TimeDelta::hours(3)), "the latest missed tick");
        for wf in [&skip, &last] {
            assert_eq!(planned(&app, wf).await, Some(tick + TimeDelta::hours(4)), "goes on from now");
        }
    }

    async fn switching_a_workflow_off_stops_its_schedule_and_on_starts_it_again(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Every minute", scheduled(json!({"cron": "* * * * *"}))).await;
        let id = wf["id"].as_str().unwrap();
        let path = format!("/api/workflows/{id}");
        let tick = planned(&app, &wf).await.unwrap();

        let off = app.put(&path, &s.access_token, &json!({"is_active": false})).await;
        assert_eq!((off.status, &off.body["is_active"]), (200, &json!(false)), "{}", off.body);
        assert_eq!(planned(&app, &wf).await, None);
        assert_eq!(fire(&app, tick).await, 0);

        let on = app.put(&path, &s.access_token, &json!({"is_active": true})).await;
        assert_eq!(on.status, 200, "{}", on.body);
        let again = planned(&app, &wf).await.expect("planned again");
        assert!(again >= tick, "from now on: {again}");
        // A change that neither switches it nor changes the schedule leaves the tick alone.
        let renamed = app.put(&path, &s.access_token, &json!({"name": "Minute sweep", "is_active": true})).await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(planned(&app, &wf).await, Some(again));
        assert_eq!(fire(&app, again).await, 1);

        // A new pattern plans from the new pattern; a new trigger ends the schedule.
        let hourly = app.put(&path, &s.access_token, &json!({"definition": scheduled(json!({"cron": "0 * * * *"}))})).await;
        assert_eq!(hourly.status, 200, "{}", hourly.body);
        let top = planned(&app, &wf).await.unwrap();
        assert_eq!(top.format("%M:%S").to_string(), "00:00", "{top}");
        let manual = json!({"nodes": [{"id": "go", "type": "trigger.manual"}], "edges": []});
        assert_eq!(app.put(&path, &s.access_token, &json!({"definition": manual})).await.status, 200);
        assert_eq!(planned(&app, &wf).await, None);
    }

    async fn a_deleted_or_inactive_workflow_has_no_schedule(app) {
        let s = app.signup().await;
        let res = app.post("/api/workflows", &s.access_token, &json!({
            "name": "Drafted", "is_active": false, "definition": scheduled(json!({"cron": "*/5 * * * *"}))
        })).await;
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(planned(&app, &res.body).await, None, "created inactive");

        let wf = app.create_workflow(&s, "Nightly parts reorder", scheduled(json!({"cron": "0 2 * * *", "timezone": "Europe/Berlin"}))).await;
        let tick = planned(&app, &wf).await.unwrap();
        let id = wf["id"].as_str().unwrap();
        assert_eq!(app.delete(&format!("/api/workflows/{id}"), &s.access_token).await.status, 204);
        assert_eq!(planned(&app, &wf).await, None);
        assert_eq!(fire(&app, tick).await, 0);
    }

    async fn a_bad_pattern_or_zone_is_refused_at_save_with_its_path(app) {
        let s = app.signup().await;
        let (app, token) = (&app, s.access_token.as_str());
        let save = |config: Value| {
            let body = json!({"name": "Bad", "definition": scheduled(config)});
            async move { app.post("/api/workflows", token, &body).await }
        };
        let problem = |res: automatrix_testkit::Res| {
            res.assert_error(422, "VALIDATION_ERROR");
            let first = &res.body["error"]["details"][0];
            (first["path"].as_str().unwrap_or_default().to_owned(), first["issue"].as_str().unwrap_or_default().to_owned())
        };
        let (path, issue) = problem(save(json!({"cron": "0 25 * * *"})).await);
        assert_eq!(path, "nodes[0].config.cron", "{issue}");
        let (path, issue) = problem(save(json!({"cron": "0 9 * *"})).await);
        assert_eq!(path, "nodes[0].config.cron");
        assert!(issue.contains("5 fields"), "{issue}");
        let (path, issue) = problem(save(json!({"cron": "0 9 * * *", "timezone": "America/Springfield"})).await);
        assert_eq!(path, "nodes[0].config.timezone");
        assert!(issue.contains("IANA"), "{issue}");
        let (path, _) = problem(save(json!({"timezone": "UTC"})).await);
        assert_eq!(path, "nodes[0].config");
        let six = app.post("/api/workflows", &s.access_token, &json!({"name": "Seconds", "definition": scheduled(json!({"cron": "*/10 * * * * *"}))})).await;
        assert_eq!(six.status, 201, "six fields, seconds first: {}", six.body);
    }
}
