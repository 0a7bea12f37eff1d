//! The credentials vault over HTTP: write-only data, sealed at rest, used by nodes by id.

use automatrix_testkit::{MockServer, both_backends};
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::json;

const SECRET: &str = "sk-live-7f3a9c";

both_backends! {
    async fn a_credential_is_saved_listed_rotated_and_deleted_without_its_data_ever_shown(app) {
        let s = app.signup().await;
        let created = app.post("/api/credentials", &s.access_token, &json!({
            "name": "CRM token", "type": "http_bearer", "data": {"token": SECRET}
        })).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["type"], "http_bearer");
        assert_eq!(created.body["name"], "CRM token");
        let id = created.body["id"].as_str().unwrap().to_owned();

        let list = app.get("/api/credentials", &s.access_token).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["items"][0]["id"], id.as_str());
        let one = app.get(&format!("/api/credentials/{id}"), &s.access_token).await;
        assert_eq!(one.status, 200);
        for body in [&created.body, &list.body, &one.body] {
            assert!(!body.to_string().contains(SECRET), "data shown: {body}");
            assert!(body.get("data").is_none() && body["items"][0].get("data").is_none());
        }

        // At rest it is sealed: the row holds no plain text.
        let org = app.store().list_credentials(s.organization_id).await.unwrap();
        assert!(!org[0].sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));

        let rotated = app.put(&format!("/api/credentials/{id}"), &s.access_token, &json!({"name": "CRM", "data": {"token": "new"}})).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        assert_eq!(rotated.body["name"], "CRM");
        assert!(!rotated.body.to_string().contains("new\""));

        assert_eq!(app.delete(&format!("/api/credentials/{id}"), &s.access_token).await.status, 204);
        assert_eq!(app.get(&format!("/api/credentials/{id}"), &s.access_token).await.status, 404);
        assert_eq!(app.delete(&format!("/api/credentials/{id}"), &s.access_token).await.status, 404);
    }

    async fn bad_credentials_are_refused_with_paths_and_never_echo_the_data(app) {
        let s = app.signup().await;
        let unknown = app.post("/api/credentials", &s.access_token, &json!({"name": "x", "type": "ftp", "data": {}})).await;
        assert_eq!(unknown.status, 422);
        assert_eq!(unknown.body["error"]["details"][0]["path"], "type");

        let bad = app.post("/api/credentials", &s.access_token, &json!({
            "name": "Mail", "type": "smtp", "data": {"host": "smtp.dealer.com", "port": SECRET, "tls": "maybe"}
        })).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert_eq!(bad.body["error"]["message"], "credential is invalid");
        let paths: Vec<&str> = bad.body["error"]["details"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"data.port") && paths.contains(&"data.tls"), "{paths:?}");
        assert!(!bad.body.to_string().contains(SECRET), "{}", bad.body);

        let ok = json!({"name": "Mail", "type": "smtp", "data": {"host": "smtp.dealer.com", "port": 587, "tls": "starttls"}});
        assert_eq!(app.post("/api/credentials", &s.access_token, &ok).await.status, 201);
        let again = app.post("/api/credentials", &s.access_token, &ok).await;
        assert_eq!(again.status, 409, "{}", again.body);
        assert!(again.body["error"]["message"].as_str().unwrap().contains("name"));

        let nameless = app.post("/api/credentials", &s.access_token, &json!({"name": " ", "type": "http_bearer", "data": {"token": "t"}})).await;
        assert_eq!(nameless.status, 422);
        let unauthenticated = app.request(axum::http::Method::GET, "/api/credentials", None, None).await;
        assert_eq!(unauthenticated.status, 401);
    }

    async fn another_organization_cannot_see_use_or_delete_a_credential(app) {
        let owner = app.signup().await;
        let id = app.create_credential(&owner, "Twilio", "twilio", json!({"account_sid": "AC1", "auth_token": SECRET})).await;
        let other = app.signup().await;
        assert_eq!(app.get(&format!("/api/credentials/{id}"), &other.access_token).await.status, 404);
        assert_eq!(app.delete(&format!("/api/credentials/{id}"), &other.access_token).await.status, 404);
        assert!(app.get("/api/credentials", &other.access_token).await.body["items"].as_array().unwrap().is_empty());

        // A workflow of the other organization naming it fails: the id is not theirs.
        let wf = app.create_workflow(&other, "Borrow", json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "call", "type": "http.request", "config": {"url": "http://127.0.0.1:9/", "credential_id": id}}
            ],
            "edges": [{"from": "start", "to": "call"}]
        })).await;
        let exec = app.execute_and_wait(&other, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("does not exist"), "{exec}");
    }

    async fn an_http_request_authenticates_with_a_credential_and_the_token_stays_out_of_the_logs(app) {
        let mock = MockServer::start(axum::Router::new().route("/crm/me", get(|headers: HeaderMap| async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            if auth == format!("Bearer {SECRET}") { (axum::http::StatusCode::OK, "welcome") } else { (axum::http::StatusCode::UNAUTHORIZED, "who?") }
        }))).await;
        let s = app.signup().await;
        let id = app.create_credential(&s, "CRM", "http_bearer", json!({"token": SECRET})).await;
        let wf = app.create_workflow(&s, "Authenticated call", json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "call", "type": "http.request", "config": {"url": mock.url("/crm/me"), "credential_id": id}}
            ],
            "edges": [{"from": "start", "to": "call"}]
        })).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"]["body"], "welcome");
        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        assert!(!logs.body.to_string().contains(SECRET), "the token is in the step logs");
        assert!(!exec.to_string().contains(SECRET));
    }

    async fn the_credential_types_describe_their_data(app) {
        let res = app.request(axum::http::Method::GET, "/api/credential-types", None, None).await;
        assert_eq!(res.status, 200);
        let types: Vec<&str> = res.body.as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
        for kind in ["smtp", "http_bearer", "http_basic", "http_header", "http_query", "twilio", "postgres", "chat_webhook"] {
            assert!(types.contains(&kind), "{kind} missing from {types:?}");
        }
        let smtp = res.body.as_array().unwrap().iter().find(|t| t["type"] == "smtp").unwrap();
        assert_eq!(smtp["data_schema"]["properties"]["tls"]["enum"], json!(["none", "starttls", "tls"]));
    }
}
