//! `logic.foreach` over HTTP: the body runs once per item against a mock vehicle service, in
//! parallel up to the loop's concurrency, with the results collected in input order, each body
//! step logged per item, and a failed item resumed (not the others) when the execution is
//! retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use automatrix_testkit::{MockServer, Session, TestApp, both_backends};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

/// trigger → each(vehicles) —item→ enrich (GET /vehicles/{vin}) → pick; each —done→ report.
fn enrich_vehicles(mock: &MockServer, concurrency: u64) -> Value {
    json!({
        "nodes": [
            {"id": "batch", "type": "trigger.manual"},
            {"id": "each", "type": "logic.foreach", "config": {"items": "{{ $json.vehicles }}", "concurrency": concurrency}},
            {"id": "enrich", "type": "http.request", "config": {"url": format!("{}/{{{{ $json.vin }}}}", mock.url("/vehicles")), "timeout_ms": 5000}},
            {"id": "pick", "type": "transform.set", "config": {"fields": {"vin": "{{ $json.body.vin }}", "make": "{{ $json.body.make }}", "position": "{{ $node['each'].index }}"}, "keep_input": false}},
            {"id": "report", "type": "transform.set", "config": {"fields": {"dealer": "{{ $trigger.dealer }}"}}}
        ],
        "edges": [
            {"from": "batch", "to": "each"},
            {"from": "each", "output": "item", "to": "enrich"},
            {"from": "enrich", "to": "pick"},
            {"from": "each", "output": "done", "to": "report"}
        ]
    })
}

fn batch(vins: &[&str]) -> Value {
    let vehicles: Vec<Value> = vins.iter().map(|v| json!({"vin": v})).collect();
    json!({"dealer": "Lakeside Motors", "vehicles": vehicles})
}

fn decoded(vin: &str) -> Json<Value> {
    Json(json!({"vin": vin, "make": format!("make-of-{vin}")}))
}

fn results(vins: &[&str]) -> Value {
    let out: Vec<Value> = vins
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"vin": v, "make": format!("make-of-{v}"), "position": i}))
        .collect();
    json!(out)
}

async fn execution(app: &TestApp, s: &Session, id: &str) -> Value {
    app.get(&format!("/api/executions/{id}"), &s.access_token)
        .await
        .body
}

async fn logs(app: &TestApp, s: &Session, id: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/executions/{id}/logs"), &s.access_token)
        .await;
    res.body["items"].as_array().unwrap().clone()
}

/// `(attempt, status)` of each log row of `node_id`.
fn rows(logs: &[Value], node_id: &str) -> Vec<(i64, String)> {
    logs.iter()
        .filter(|r| r["node_id"] == node_id)
        .map(|r| {
            (
                r["attempt"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Counts calls in flight and keeps the most seen at once and the order calls arrived in.
#[derive(Default)]
struct Traffic {
    now: usize,
    most: usize,
    arrived: Vec<String>,
}

fn paced_mock(traffic: Arc<Mutex<Traffic>>) -> axum::Router {
    axum::Router::new().route(
        "/vehicles/{vin}",
        get(move |Path(vin): Path<String>| {
            let traffic = traffic.clone();
            async move {
                {
                    let mut t = traffic.lock().unwrap();
                    t.now += 1;
                    t.most = t.most.max(t.now);
                    t.arrived.push(vin.clone());
                }
                // The first vehicle is the slowest to decode.
                let ms = match vin.as_str() {
                    "A" => 150,
                    "B" => 10,
                    _ => 60,
                };
                tokio::time::sleep(Duration::from_millis(ms)).await;
                traffic.lock().unwrap().now -= 1;
                decoded(&vin)
            }
        }),
    )
}

both_backends! {
    async fn three_vehicles_are_enriched_in_parallel_and_collected_in_order(app) {
        // Each call waits until all three arrived: run one after another, they would time out.
        let barrier = Arc::new(tokio::sync::Barrier::new(3));
        let mock = MockServer::start(axum::Router::new().route("/vehicles/{vin}", get(move |Path(vin): Path<String>| {
            let b = barrier.clone();
            async move { b.wait().await; decoded(&vin) }
        }))).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Enrich trade-ins", enrich_vehicles(&mock, 3)).await;

        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), batch(&["1HGCM", "WVWZZ", "JTDKB"])).await;

        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"], json!({
            "results": results(&["1HGCM", "WVWZZ", "JTDKB"]), "count": 3, "dealer": "Lakeside Motors"
        }));
        let logs = logs(&app, &s, exec["id"].as_str().unwrap()).await;
        for k in 0..3 {
            assert_eq!(rows(&logs, &format!("enrich[{k}]")), [(1, "completed".to_owned())]);
            assert_eq!(rows(&logs, &format!("pick[{k}]")), [(1, "completed".to_owned())]);
        }
        assert!(rows(&logs, "enrich").is_empty(), "body steps are logged per item");
        assert_eq!(rows(&logs, "each"), [(1, "completed".to_owned())]);
        let row = logs.iter().find(|r| r["node_id"] == "enrich[1]").unwrap();
        assert_eq!(row["node_type"], "http.request");
        assert_eq!(row["input_data"], json!({"vin": "WVWZZ"}));
    }

    async fn concurrency_one_runs_items_in_turn_and_three_runs_them_together(app) {
        let s = app.signup().await;
        for (concurrency, most, arrived) in [(1, 1, ["A", "B", "C"]), (3, 3, ["A", "B", "C"])] {
            let traffic = Arc::new(Mutex::new(Traffic::default()));
            let mock = MockServer::start(paced_mock(traffic.clone())).await;
            let wf = app.create_workflow(&s, "Paced", enrich_vehicles(&mock, concurrency)).await;

            let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), batch(&["A", "B", "C"])).await;

            assert_eq!(exec["status"], "completed", "{exec}");
            assert_eq!(exec["output_data"]["results"], results(&["A", "B", "C"]), "input order, whatever finished first");
            {
                let t = traffic.lock().unwrap();
                assert_eq!(t.most, most, "concurrency {concurrency}");
                if concurrency == 1 {
                    assert_eq!(t.arrived, arrived);
                }
            }
            let logs = logs(&app, &s, exec["id"].as_str().unwrap()).await;
            let finished: Vec<&str> = logs.iter()
                .filter(|r| r["node_id"].as_str().unwrap().starts_with("enrich["))
                .map(|r| r["node_id"].as_str().unwrap())
                .collect();
            assert_eq!(finished.len(), 3, "{finished:?}");
        }
    }

    async fn a_failing_item_fails_the_loop_and_a_retry_runs_only_what_is_left(app) {
        let calls = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = calls.clone();
        let mock = MockServer::start(axum::Router::new().route("/vehicles/{vin}", get(move |Path(vin): Path<String>| {
            let seen = seen.clone();
            async move {
                let first_try = {
                    let mut c = seen.lock().unwrap();
                    c.push(vin.clone());
                    c.iter().filter(|v| **v == vin).count() == 1
                };
                if vin == "BAD" && first_try {
                    return Err((StatusCode::NOT_FOUND, "no such VIN"));
                }
                Ok(decoded(&vin))
            }
        }))).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Enrich in turn", enrich_vehicles(&mock, 1)).await;

        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), batch(&["A", "BAD", "C"])).await;

        assert_eq!(exec["status"], "failed", "{exec}");
        let message = exec["error_message"].as_str().unwrap();
        assert!(message.contains("`each` failed: item 1: node `enrich[1]` failed"), "{message}");
        assert_eq!(*calls.lock().unwrap(), ["A", "BAD"], "item 2 never started");

        let id = exec["id"].as_str().unwrap();
        let res = app.post(&format!("/api/executions/{id}/retry"), &s.access_token, &json!({})).await;
        assert_eq!(res.status, 202, "{}", res.body);
        app.run_jobs().await;
        let done = execution(&app, &s, id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"]["results"], results(&["A", "BAD", "C"]));
        assert_eq!(*calls.lock().unwrap(), ["A", "BAD", "BAD", "C"], "item 0 was reused, not called again");
        let logs = logs(&app, &s, id).await;
        assert_eq!(rows(&logs, "enrich[0]"), [(1, "completed".to_owned())]);
        assert_eq!(rows(&logs, "enrich[1]"), [(1, "failed".to_owned()), (2, "completed".to_owned())]);
        assert_eq!(rows(&logs, "each"), [(1, "failed".to_owned()), (2, "completed".to_owned())]);
    }

    async fn the_node_catalog_tells_the_canvas_which_port_holds_the_body(app) {
        let s = app.signup().await;

        let res = app.get("/api/node-types", &s.access_token).await;

        let types = res.body.as_array().unwrap();
        let foreach = types.iter().find(|n| n["type"] == "logic.foreach").unwrap();
        assert_eq!(foreach["outputs"], json!(["item", "done"]));
        assert_eq!(foreach["fan_out"], json!({"body": "item", "done": "done"}));
        let set = types.iter().find(|n| n["type"] == "transform.set").unwrap();
        assert_eq!(set["fan_out"], Value::Null);
    }

    async fn each_item_of_a_loop_waits_for_its_own_approval(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Discounts", json!({
            "nodes": [
                {"id": "deals", "type": "trigger.manual"},
                {"id": "each", "type": "logic.foreach", "config": {"items": "{{ $json.deals }}"}},
                {"id": "manager", "type": "flow.approval", "config": {"message": "Approve {{ $json.discount }} % off?"}}
            ],
            "edges": [{"from": "deals", "to": "each"}, {"from": "each", "output": "item", "to": "manager"}]
        })).await;
        let res = app.post(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), &s.access_token,
            &json!({"input": {"deals": [{"discount": 5}, {"discount": 40}]}})).await;
        let id = res.body["execution_id"].as_str().unwrap().to_owned();
        app.run_jobs().await;

        assert_eq!(execution(&app, &s, &id).await["status"], "waiting");
        let l = logs(&app, &s, &id).await;
        assert_eq!(rows(&l, "manager[1]"), [(1, "waiting".to_owned())]);
        let second = l.iter().find(|r| r["node_id"] == "manager[1]").unwrap();
        assert_eq!(second["output_data"]["wait"]["message"], "Approve 40 % off?");

        for (k, by) in [(1, "Sam"), (0, "Kim")] {
            let res = app.post(&format!("/api/executions/{id}/steps/manager%5B{k}%5D/approve"), &s.access_token,
                &json!({"data": {"by": by}})).await;
            assert_eq!(res.status, 200, "{}", res.body);
            app.run_jobs().await;
        }

        let done = execution(&app, &s, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"]["results"][0]["by"], "Kim");
        assert_eq!(done["output_data"]["results"][1]["by"], "Sam");
    }

    async fn an_empty_list_goes_straight_to_done(app) {
        let mock = MockServer::start(axum::Router::new()).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Nothing to enrich", enrich_vehicles(&mock, 4)).await;

        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), batch(&[])).await;

        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"], json!({"results": [], "count": 0, "dealer": "Lakeside Motors"}));
    }

    async fn a_body_that_rejoins_the_main_graph_is_refused_with_its_path(app) {
        let mock = MockServer::start(axum::Router::new()).await;
        let s = app.signup().await;
        let mut def = enrich_vehicles(&mock, 2);
        def["edges"].as_array_mut().unwrap().push(json!({"from": "pick", "to": "report"}));
        def["nodes"].as_array_mut().unwrap().push(json!({"id": "inner", "type": "logic.foreach", "config": {"items": []}}));
        def["edges"].as_array_mut().unwrap().push(json!({"from": "enrich", "to": "inner"}));

        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Rejoins", "definition": def})).await;

        res.assert_error(422, "VALIDATION_ERROR");
        let details = res.body["error"]["details"].as_array().unwrap();
        let paths: Vec<&str> = details.iter().map(|d| d["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["edges[4]", "nodes[5].type"], "{details:?}");
        assert!(details[0]["issue"].as_str().unwrap().contains("cannot also follow `pick`"), "{details:?}");
    }
}
