//! Another organization's workflows and executions are 404 — never 403, never their data.

use automatrix_testkit::both_backends;
use serde_json::json;

use crate::fixtures;

both_backends! {
    async fn another_organizations_workflow_is_not_found_for_every_verb(app) {
        let owner = app.signup().await;
        let other = app.signup().await;
        let wf = app.create_workflow(&owner, "Private", fixtures::lead_router()).await;
        let id = wf["id"].as_str().unwrap();
        let t = &other.access_token;
        app.get(&format!("/api/workflows/{id}"), t).await.assert_error(404, "NOT_FOUND");
        app.put(&format!("/api/workflows/{id}"), t, &json!({"name": "mine now"})).await.assert_error(404, "NOT_FOUND");
        app.delete(&format!("/api/workflows/{id}"), t).await.assert_error(404, "NOT_FOUND");
        app.post(&format!("/api/workflows/{id}/execute"), t, &json!({})).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/workflows/{id}/executions"), t).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/workflows/{id}/versions"), t).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/workflows/{id}/versions/1"), t).await.assert_error(404, "NOT_FOUND");
        app.post(&format!("/api/workflows/{id}/versions/1/restore"), t, &json!({})).await.assert_error(404, "NOT_FOUND");
        assert_eq!(app.get("/api/workflows", t).await.body["items"], json!([]));
        let still = app.get(&format!("/api/workflows/{id}"), &owner.access_token).await;
        assert_eq!(still.body["name"], "Private");
    }

    async fn another_organizations_execution_is_not_found_for_every_verb(app) {
        let owner = app.signup().await;
        let other = app.signup().await;
        let wf = app.create_workflow(&owner, "Private", fixtures::lead_router()).await;
        let res = app.post(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), &owner.access_token, &json!({"input": {"score": 3}})).await;
        let id = res.body["execution_id"].as_str().unwrap();
        let t = &other.access_token;
        app.get(&format!("/api/executions/{id}"), t).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/executions/{id}/logs"), t).await.assert_error(404, "NOT_FOUND");
        app.post(&format!("/api/executions/{id}/cancel"), t, &json!({})).await.assert_error(404, "NOT_FOUND");
        assert_eq!(app.get("/api/executions", t).await.body["items"], json!([]));
        assert_eq!(app.get(&format!("/api/executions/{id}"), &owner.access_token).await.body["status"], "pending");
    }
}
