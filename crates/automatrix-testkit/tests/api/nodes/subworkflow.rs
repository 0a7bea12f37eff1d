//! `flow.subworkflow` through the engine: the called workflow runs as its own execution, in
//! another worker slot, and its output or its failure becomes the calling step's.

use automatrix_testkit::{Session, TestApp, both_backends};
use serde_json::{Value, json};

/// A workflow whose second node is `node`.
async fn workflow(app: &TestApp, s: &Session, name: &str, node: Value) -> String {
    let wf = app
        .create_workflow(
            s,
            name,
            json!({
                "nodes": [{"id": "start", "type": "trigger.manual"}, node],
                "edges": [{"from": "start", "to": node["id"]}]
            }),
        )
        .await;
    wf["id"].as_str().unwrap().to_owned()
}

/// A parent that calls `child_id` (a literal or an expression) with the lead.
async fn parent(app: &TestApp, s: &Session, child_id: &str) -> String {
    workflow(
        app,
        s,
        "New lead",
        json!({"id": "assign", "type": "flow.subworkflow",
        "config": {"workflow_id": child_id, "input": {"lead": "{{ $json }}"}}}),
    )
    .await
}

both_backends! {
    async fn a_parent_gets_the_output_of_the_workflow_it_calls(app) {
        let s = app.signup().await;
        let child = workflow(&app, &s, "Assign", json!({"id": "pick", "type": "transform.set",
            "config": {"fields": {"salesperson": "Ann", "email": "{{ $json.lead.email }}"}, "keep_input": false}})).await;
        let caller = parent(&app, &s, &child).await;

        let run = app.execute_and_wait(&s, &caller, json!({"email": "bo@buyer.example"})).await;
        let children = app.get(&format!("/api/workflows/{child}/executions"), &s.access_token).await;

        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"], json!({"salesperson": "Ann", "email": "bo@buyer.example"}));
        let items = children.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", children.body);
        assert_eq!(items[0]["status"], "completed");
        assert_eq!(items[0]["input_data"], json!({"lead": {"email": "bo@buyer.example"}}));
    }

    async fn a_failed_child_fails_the_parent_with_its_message(app) {
        let s = app.signup().await;
        let child = workflow(&app, &s, "Assign", json!({"id": "refuse", "type": "flow.stop",
            "config": {"error": true, "message": "no salesperson on shift"}})).await;
        let caller = parent(&app, &s, &child).await;

        let run = app.execute_and_wait(&s, &caller, json!({})).await;

        assert_eq!(run["status"], "failed", "{run}");
        let message = run["error_message"].as_str().unwrap();
        assert!(message.contains("sub-workflow \"Assign\"") && message.contains("no salesperson on shift"), "{message}");
    }

    async fn an_unknown_workflow_or_the_caller_itself_fails_the_step(app) {
        let s = app.signup().await;
        let missing = "0193a5c2-7d1e-7c3a-9b2f-5e8d4c1a2b3c";
        let unknown = parent(&app, &s, missing).await;
        let itself = parent(&app, &s, "{{ $execution.workflow_id }}").await;

        let unknown = app.execute_and_wait(&s, &unknown, json!({})).await;
        let itself = app.execute_and_wait(&s, &itself, json!({})).await;

        assert_eq!(unknown["status"], "failed");
        assert!(unknown["error_message"].as_str().unwrap().contains(&format!("workflow {missing} does not exist")), "{unknown}");
        assert_eq!(itself["status"], "failed");
        assert!(itself["error_message"].as_str().unwrap().contains("cannot call itself"), "{itself}");
    }

    async fn a_workflow_id_that_is_not_a_uuid_is_refused_when_saved(app) {
        let s = app.signup().await;

        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Broken", "definition": {
            "nodes": [{"id": "start", "type": "trigger.manual"},
                      {"id": "assign", "type": "flow.subworkflow", "config": {"workflow_id": "assign-leads"}}],
            "edges": [{"from": "start", "to": "assign"}]
        }})).await;

        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "nodes[1].config.workflow_id");
        assert!(res.body["error"]["details"][0]["issue"].as_str().unwrap().contains("not a workflow id"), "{}", res.body);
    }
}
