//! AI routes, usage and budgets over HTTP: routes name provider credentials of their own
//! organization, usage is reported by day, model or workflow, a budget reports this month's
//! spend, and no organization sees another's.

use automatrix_store::{AiCallStatus, NewAiUsage};
use automatrix_testkit::{Session, TestApp, both_backends};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

fn target(credential_id: &str, model: &str) -> Value {
    json!({"credential_id": credential_id, "model": model, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6})
}

async fn openai(app: &TestApp, s: &Session) -> String {
    app.create_credential(
        s,
        &format!("OpenAI {}", Uuid::now_v7()),
        "openai",
        json!({"api_key": "sk-test"}),
    )
    .await
}

fn problem_paths(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Seeds a call of `s`'s organization straight into the store (the gateway is not here yet):
/// 1000 input and 100 output tokens.
pub(crate) async fn seed(
    app: &TestApp,
    s: &Session,
    workflow: Option<Uuid>,
    model: &str,
    cost: f64,
    at: DateTime<Utc>,
) {
    app.store()
        .record_ai_usage(NewAiUsage {
            id: Uuid::now_v7(),
            organization_id: s.organization_id,
            workflow_id: workflow,
            execution_id: None,
            node_id: workflow.map(|_| "draft".to_owned()),
            route: "default".into(),
            provider: "openai".into(),
            model: model.into(),
            input_tokens: 1000,
            output_tokens: 100,
            latency_ms: 300,
            cost_usd: cost,
            status: AiCallStatus::Ok,
            created_at: at,
        })
        .await
        .unwrap();
}

both_backends! {
    async fn an_ai_route_is_created_replaced_listed_and_deleted(app) {
        let s = app.signup().await;
        let cred = openai(&app, &s).await;
        let body = json!({"strategy": "fallback", "targets": [target(&cred, "gpt-4o-mini")]});
        let created = app.put("/api/ai/routes/lead-qualifier", &s.access_token, &body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["alias"], "lead-qualifier");
        assert_eq!(created.body["strategy"], "fallback");
        assert_eq!(created.body["targets"][0]["model"], "gpt-4o-mini");
        assert!(created.body["created_at"].is_string());

        let weighted = json!({"strategy": "weighted", "targets": [
            {"credential_id": cred, "model": "gpt-4o-mini", "weight": 3, "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
            {"credential_id": cred, "model": "gpt-4o", "weight": 1, "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10}
        ]});
        let replaced = app.put("/api/ai/routes/lead-qualifier", &s.access_token, &weighted).await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        assert_eq!(replaced.body["targets"][1]["weight"], 1.0);
        assert_eq!(replaced.body["created_at"], created.body["created_at"]);
        assert_eq!(app.put("/api/ai/routes/default", &s.access_token, &body).await.status, 201);

        let list = app.get("/api/ai/routes", &s.access_token).await;
        assert_eq!(list.status, 200);
        let aliases: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|r| r["alias"].as_str().unwrap()).collect();
        assert_eq!(aliases, ["default", "lead-qualifier"]);
        let one = app.get("/api/ai/routes/lead-qualifier", &s.access_token).await;
        assert_eq!(one.status, 200);
        assert_eq!(one.body["strategy"], "weighted");

        assert_eq!(app.delete("/api/ai/routes/lead-qualifier", &s.access_token).await.status, 204);
        assert_eq!(app.get("/api/ai/routes/lead-qualifier", &s.access_token).await.status, 404);
        assert_eq!(app.delete("/api/ai/routes/lead-qualifier", &s.access_token).await.status, 404);
        let unauthenticated = app.request(axum::http::Method::GET, "/api/ai/routes", None, None).await;
        assert_eq!(unauthenticated.status, 401);
    }

    async fn a_bad_ai_route_is_refused_with_the_paths_of_its_problems(app) {
        let s = app.signup().await;
        let cred = openai(&app, &s).await;
        let ok = json!({"targets": [target(&cred, "gpt-4o-mini")]});

        let bad_alias = app.put("/api/ai/routes/Lead%20Bot", &s.access_token, &ok).await;
        assert_eq!(bad_alias.status, 422, "{}", bad_alias.body);
        assert_eq!(problem_paths(&bad_alias.body), ["alias"]);
        assert_eq!(bad_alias.body["error"]["message"], "AI route is invalid");

        let empty = app.put("/api/ai/routes/x", &s.access_token, &json!({"targets": []})).await;
        assert_eq!(empty.status, 422);
        assert_eq!(problem_paths(&empty.body), ["targets"]);

        let unweighted = app.put("/api/ai/routes/x", &s.access_token, &json!({"strategy": "weighted", "targets": [target(&cred, "a"), target(&cred, "b")]})).await;
        assert_eq!(unweighted.status, 422);
        assert_eq!(problem_paths(&unweighted.body), ["targets[0].weight", "targets[1].weight"]);

        let smtp = app.create_credential(&s, "Mail", "smtp", json!({"host": "smtp.dealer.com", "port": 587, "tls": "starttls"})).await;
        let other = app.signup().await;
        let foreign = openai(&app, &other).await;
        let unknown = Uuid::now_v7().to_string();
        let creds = app.put("/api/ai/routes/x", &s.access_token, &json!({"targets": [
            target(&cred, "ok"), target(&unknown, "m"), target(&foreign, "m"), target(&smtp, "m")
        ]})).await;
        assert_eq!(creds.status, 422, "{}", creds.body);
        assert_eq!(problem_paths(&creds.body), ["targets[1].credential_id", "targets[2].credential_id", "targets[3].credential_id"]);
        assert!(creds.body["error"]["details"][2]["issue"].as_str().unwrap().contains("smtp"), "{}", creds.body);

        let shapeless = app.put("/api/ai/routes/x", &s.access_token, &json!({"targets": [target(&cred, "m")], "extra": 1})).await;
        assert_eq!(shapeless.status, 422);
        assert_eq!(app.get("/api/ai/routes", &s.access_token).await.body["items"].as_array().unwrap().len(), 0, "nothing was saved");
    }

    async fn ai_usage_is_reported_by_day_model_and_workflow_with_totals(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Lead reply", json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []
        })).await;
        let wf: Uuid = wf["id"].as_str().unwrap().parse().unwrap();
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 5, d, 14, 0, 0).unwrap();
        seed(&app, &s, Some(wf), "gpt-4o-mini", 0.25, day(3)).await;
        seed(&app, &s, Some(wf), "gpt-4o", 1.5, day(3)).await;
        seed(&app, &s, None, "gpt-4o-mini", 0.5, day(4)).await;
        seed(&app, &s, None, "gpt-4o-mini", 9.0, day(20)).await;
        let window = "since=2026-05-01T00:00:00Z&until=2026-05-10T00:00:00Z";

        let by_day = app.get(&format!("/api/ai/usage?group_by=day&{window}"), &s.access_token).await;
        assert_eq!(by_day.status, 200, "{}", by_day.body);
        assert_eq!(by_day.body["total_cost_usd"], 2.25);
        assert_eq!((by_day.body["input_tokens"].as_i64(), by_day.body["output_tokens"].as_i64(), by_day.body["calls"].as_i64()), (Some(3000), Some(300), Some(3)));
        assert_eq!(by_day.body["group_by"], "day");
        assert_eq!(by_day.body["items"], json!([
            {"key": "2026-05-03", "cost_usd": 1.75, "input_tokens": 2000, "output_tokens": 200, "calls": 2},
            {"key": "2026-05-04", "cost_usd": 0.5, "input_tokens": 1000, "output_tokens": 100, "calls": 1}
        ]));

        let by_model = app.get(&format!("/api/ai/usage?group_by=model&{window}"), &s.access_token).await;
        let models: Vec<(&str, f64)> = by_model.body["items"].as_array().unwrap().iter().map(|i| (i["key"].as_str().unwrap(), i["cost_usd"].as_f64().unwrap())).collect();
        assert_eq!(models, [("gpt-4o", 1.5), ("gpt-4o-mini", 0.75)]);

        let by_workflow = app.get(&format!("/api/ai/usage?group_by=workflow&{window}"), &s.access_token).await;
        let workflows: Vec<(String, i64)> = by_workflow.body["items"].as_array().unwrap().iter().map(|i| (i["key"].as_str().unwrap().to_owned(), i["calls"].as_i64().unwrap())).collect();
        let mut expected = vec![(wf.to_string(), 2), ("none".to_owned(), 1)];
        expected.sort();
        assert_eq!(workflows, expected);
        assert_eq!(by_workflow.body["total_cost_usd"], 2.25);

        // By default: this calendar month, by day.
        seed(&app, &s, None, "gpt-4o-mini", 0.125, Utc::now()).await;
        let month = app.get("/api/ai/usage", &s.access_token).await;
        assert_eq!(month.status, 200);
        assert_eq!((month.body["group_by"].as_str(), month.body["total_cost_usd"].as_f64(), month.body["calls"].as_i64()), (Some("day"), Some(0.125), Some(1)));
        let today = Utc::now();
        assert_eq!(month.body["items"][0]["key"], format!("{:04}-{:02}-{:02}", today.year(), today.month(), today.day()));

        for bad in ["group_by=week", "since=yesterday", "until=2026-13-01T00:00:00Z", "since=2026-05-10T00:00:00Z&until=2026-05-01T00:00:00Z"] {
            let res = app.get(&format!("/api/ai/usage?{bad}"), &s.access_token).await;
            assert_eq!(res.status, 400, "{bad}: {}", res.body);
            assert!(!res.body["error"]["message"].as_str().unwrap().is_empty());
        }
    }

    async fn an_ai_budget_reports_this_months_spend(app) {
        let s = app.signup().await;
        let none = app.get("/api/ai/budget", &s.access_token).await;
        assert_eq!(none.status, 200);
        assert_eq!(none.body["monthly_usd"], Value::Null);
        assert_eq!((none.body["spent_usd"].as_f64(), none.body["alerting"].as_bool()), (Some(0.0), Some(false)));

        let set = app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 10.0})).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!((set.body["monthly_usd"].as_f64(), set.body["alert_at"].as_f64()), (Some(10.0), Some(0.8)));
        assert_eq!(set.body["remaining_usd"], 10.0);

        let now = Utc::now();
        seed(&app, &s, None, "gpt-4o", 6.0, now).await;
        // Last month's spend does not count against this month.
        seed(&app, &s, None, "gpt-4o", 50.0, automatrix_engine::month_start(now) - Duration::seconds(1)).await;
        let under = app.get("/api/ai/budget", &s.access_token).await.body;
        assert_eq!((under["spent_usd"].as_f64(), under["remaining_usd"].as_f64(), under["alerting"].as_bool(), under["exhausted"].as_bool()), (Some(6.0), Some(4.0), Some(false), Some(false)));
        assert!(app.engine.ai_budget_check(s.organization_id, now).await.is_ok());

        seed(&app, &s, None, "gpt-4o", 2.5, now).await;
        let alerting = app.get("/api/ai/budget", &s.access_token).await.body;
        assert_eq!((alerting["alerting"].as_bool(), alerting["exhausted"].as_bool()), (Some(true), Some(false)));

        seed(&app, &s, None, "gpt-4o", 2.0, now).await;
        let over = app.get("/api/ai/budget", &s.access_token).await.body;
        assert_eq!((over["spent_usd"].as_f64(), over["remaining_usd"].as_f64(), over["exhausted"].as_bool()), (Some(10.5), Some(0.0), Some(true)));
        let refused = app.engine.ai_budget_check(s.organization_id, now).await.unwrap_err();
        assert!(refused.contains("budget"), "{refused}");

        let raised = app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 100, "alert_at": 0.5})).await;
        assert_eq!((raised.body["alert_at"].as_f64(), raised.body["alerting"].as_bool()), (Some(0.5), Some(false)));
        assert!(app.engine.ai_budget_check(s.organization_id, now).await.is_ok());

        let bad = app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": -1, "alert_at": 1.5})).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert_eq!(problem_paths(&bad.body), ["monthly_usd", "alert_at"]);
        assert_eq!(app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 5, "alert_at": 0})).await.status, 422);
    }

    async fn another_organization_sees_none_of_the_ai_routes_usage_or_budget(app) {
        let owner = app.signup().await;
        let cred = openai(&app, &owner).await;
        assert_eq!(app.put("/api/ai/routes/default", &owner.access_token, &json!({"targets": [target(&cred, "gpt-4o-mini")]})).await.status, 201);
        assert_eq!(app.put("/api/ai/budget", &owner.access_token, &json!({"monthly_usd": 1})).await.status, 200);
        seed(&app, &owner, None, "gpt-4o-mini", 3.0, Utc::now()).await;

        let other = app.signup().await;
        assert!(app.get("/api/ai/routes", &other.access_token).await.body["items"].as_array().unwrap().is_empty());
        assert_eq!(app.get("/api/ai/routes/default", &other.access_token).await.status, 404);
        assert_eq!(app.delete("/api/ai/routes/default", &other.access_token).await.status, 404);
        let usage = app.get("/api/ai/usage", &other.access_token).await.body;
        assert_eq!((usage["calls"].as_i64(), usage["total_cost_usd"].as_f64()), (Some(0), Some(0.0)));
        let budget = app.get("/api/ai/budget", &other.access_token).await.body;
        assert_eq!((budget["monthly_usd"].clone(), budget["spent_usd"].as_f64()), (Value::Null, Some(0.0)));
        assert!(app.engine.ai_budget_check(other.organization_id, Utc::now()).await.is_ok());
        // Their own route of the same alias is theirs alone.
        let theirs = openai(&app, &other).await;
        assert_eq!(app.put("/api/ai/routes/default", &other.access_token, &json!({"targets": [target(&theirs, "llama3.1")]})).await.status, 201);
        assert_eq!(app.get("/api/ai/routes/default", &owner.access_token).await.body["targets"][0]["model"], "gpt-4o-mini");
    }
}
