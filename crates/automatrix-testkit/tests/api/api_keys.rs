//! API keys over HTTP: shown once, stored as a hash, accepted as a bearer wherever an access
//! token is, acting as their creator in their organization; deleted, expired and unknown keys
//! get the 401 of a bad token.

use automatrix_core::Role;
use automatrix_store::NewApiKey;
use automatrix_testkit::{Session, TestApp, both_backends};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Creates a key named `name` for `s`; returns the creation's body.
async fn create_key(app: &TestApp, s: &Session, name: &str) -> Value {
    let res = app
        .post(
            "/api/api-keys",
            &s.access_token,
            &json!({"name": name, "role": "editor"}),
        )
        .await;
    assert_eq!(res.status, 201, "create API key: {}", res.body);
    res.body
}

fn key_of(created: &Value) -> String {
    created["key"].as_str().expect("the key").to_owned()
}

/// The one listed key of `s`'s organization named `name`.
async fn listed(app: &TestApp, s: &Session, name: &str) -> Value {
    let list = app.get("/api/api-keys", &s.access_token).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not listed: {}", list.body))
}

both_backends! {
    async fn a_key_is_shown_once_and_authenticates_as_its_creator(app) {
        let s = app.signup().await;
        let expires_at = (Utc::now() + Duration::days(90)).to_rfc3339();
        let created = app.post("/api/api-keys", &s.access_token, &json!({
            "name": "DMS sync", "role": "admin", "expires_at": expires_at
        })).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let key = key_of(&created.body);
        let random = key.strip_prefix("amx_").expect("amx_ marker");
        assert!(random.len() >= 43 && random.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{key}");
        assert_eq!(created.body["prefix"], key[..10]);
        assert_eq!((created.body["name"].as_str(), created.body["role"].as_str()), (Some("DMS sync"), Some("admin")));
        assert!(created.body["expires_at"].is_string() && created.body["created_at"].is_string());
        assert!(created.body["last_used_at"].is_null());
        let fields: Vec<&String> = created.body.as_object().unwrap().keys().collect();
        assert_eq!(fields.len(), 8, "{fields:?}");

        // Lists show the prefix, never the key nor its hash.
        let list = app.get("/api/api-keys", &s.access_token).await;
        assert_eq!(list.status, 200);
        let item = &list.body["items"][0];
        assert_eq!((&item["id"], &item["prefix"]), (&created.body["id"], &created.body["prefix"]));
        assert!(item.get("key").is_none() && item.get("key_hash").is_none(), "{item}");
        assert!(!list.body.to_string().contains(random), "the key is listed: {}", list.body);

        // The key works on the organization's routes, for its creator in its organization.
        let wf = app.create_workflow(&s, "Made by a person", json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []
        })).await;
        let workflows = app.get("/api/workflows", &key).await;
        assert_eq!(workflows.status, 200, "{}", workflows.body);
        assert_eq!(workflows.body["items"][0]["id"], wf["id"]);
        // It acts in an organization, never on its creator's account.
        let me = app.get("/api/auth/me", &key).await;
        me.assert_error(403, "FORBIDDEN");
        let by_key = app.post("/api/workflows", &key, &json!({
            "name": "Made by a program", "definition": {"nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []}
        })).await;
        assert_eq!(by_key.status, 201, "{}", by_key.body);
        assert_eq!(app.get("/api/workflows", &s.access_token).await.body["items"].as_array().unwrap().len(), 2);
    }

    async fn last_used_at_is_set_on_use_and_written_at_most_once_a_minute(app) {
        let s = app.signup().await;
        let key = key_of(&create_key(&app, &s, "Zapier").await);
        assert!(listed(&app, &s, "Zapier").await["last_used_at"].is_null());

        let before = Utc::now() - Duration::seconds(1);
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);
        let first = listed(&app, &s, "Zapier").await["last_used_at"].clone();
        let at: chrono::DateTime<Utc> = first.as_str().expect("set after use").parse().unwrap();
        assert!(at >= before && at <= Utc::now(), "{at}");

        // Used again within the minute: not written again.
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);
        assert_eq!(listed(&app, &s, "Zapier").await["last_used_at"], first);
    }

    async fn another_organization_can_neither_see_nor_delete_a_key(app) {
        let owner = app.signup().await;
        let created = create_key(&app, &owner, "Zapier").await;
        let key = key_of(&created);
        let id = created["id"].as_str().unwrap();
        let other = app.signup().await;
        let theirs = app.get("/api/api-keys", &other.access_token).await;
        assert_eq!(theirs.body["items"], json!([]));
        app.delete(&format!("/api/api-keys/{id}"), &other.access_token).await.assert_error(404, "NOT_FOUND");

        // The key still works, and only in its own organization.
        app.create_workflow(&other, "Theirs", json!({"nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []})).await;
        let seen = app.get("/api/workflows", &key).await;
        assert_eq!(seen.status, 200);
        assert_eq!(seen.body["items"], json!([]));
        // Another organization may use the same name.
        create_key(&app, &other, "Zapier").await;
    }

    async fn deleted_expired_and_unknown_keys_get_the_401_of_a_bad_token(app) {
        let s = app.signup().await;
        let bad_token = app.get("/api/workflows", "not.a.token").await;
        bad_token.assert_error(401, "UNAUTHORIZED");

        let created = create_key(&app, &s, "Old integration").await;
        let key = key_of(&created);
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.delete(&format!("/api/api-keys/{id}"), &s.access_token).await.status, 204);
        app.delete(&format!("/api/api-keys/{id}"), &s.access_token).await.assert_error(404, "NOT_FOUND");
        let deleted = app.get("/api/workflows", &key).await;
        deleted.assert_error(401, "UNAUTHORIZED");
        assert_eq!(deleted.body, bad_token.body);

        // A key past its expiry (made in the store: the API accepts only future expiries).
        let expired_key = format!("amx_{}", automatrix_engine::random_token());
        let now = Utc::now();
        app.store().create_api_key(NewApiKey {
            id: Uuid::now_v7(),
            organization_id: s.organization_id,
            user_id: s.user_id,
            name: "Expired".into(),
            role: Role::Viewer,
            prefix: expired_key[..10].to_owned(),
            key_hash: automatrix_engine::token_hash(&expired_key),
            expires_at: Some(now - Duration::seconds(1)),
            now: now - Duration::days(1),
        }).await.unwrap();
        let expired = app.get("/api/workflows", &expired_key).await;
        assert_eq!(expired.body, bad_token.body, "expired: {}", expired.status);
        assert!(listed(&app, &s, "Expired").await["last_used_at"].is_null(), "an expired key was not used");

        let unknown = app.get("/api/workflows", &format!("amx_{}", automatrix_engine::random_token())).await;
        assert_eq!((unknown.status, &unknown.body), (401, &bad_token.body));
        assert_eq!(app.get("/api/workflows", "amx_").await.status, 401);
    }

    async fn bad_names_roles_and_expiries_are_refused_with_paths(app) {
        let s = app.signup().await;
        let past = (Utc::now() - Duration::minutes(1)).to_rfc3339();
        let bad = app.post("/api/api-keys", &s.access_token, &json!({"name": " ", "role": "superuser", "expires_at": past})).await;
        bad.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(bad.body["error"]["message"], "API key is invalid");
        let paths: Vec<&str> = bad.body["error"]["details"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["name", "role", "expires_at"]);

        let long = app.post("/api/api-keys", &s.access_token, &json!({"name": "n".repeat(101), "role": "Owner"})).await;
        assert_eq!(long.status, 422);
        assert_eq!(long.body["error"]["details"][0]["path"], "name");
        assert_eq!(long.body["error"]["details"][1]["path"], "role");
        let garbled = app.post("/api/api-keys", &s.access_token, &json!({"name": "x", "role": "viewer", "expires_at": "next tuesday"})).await;
        assert_eq!(garbled.status, 422, "{}", garbled.body);
        assert!(garbled.body["error"]["details"][0]["issue"].as_str().unwrap().contains("expires_at"), "{}", garbled.body);
        assert_eq!(app.post("/api/api-keys", &s.access_token, &json!({"name": "x"})).await.status, 422);

        let longest = "n".repeat(100);
        create_key(&app, &s, &longest).await;
        let again = app.post("/api/api-keys", &s.access_token, &json!({"name": longest, "role": "viewer"})).await;
        again.assert_error(409, "CONFLICT");
        assert!(again.body["error"]["message"].as_str().unwrap().contains("name"), "{}", again.body);
        assert_eq!(app.get("/api/api-keys", &s.access_token).await.body["items"].as_array().unwrap().len(), 1);
    }

    async fn api_keys_need_authentication(app) {
        let id = Uuid::now_v7();
        for (method, path) in [(Method::GET, "/api/api-keys".to_owned()), (Method::POST, "/api/api-keys".to_owned()), (Method::DELETE, format!("/api/api-keys/{id}"))] {
            let body = (method == Method::POST).then(|| json!({"name": "x", "role": "viewer"}));
            app.request(method.clone(), &path, None, body.as_ref()).await.assert_error(401, "UNAUTHORIZED");
        }
    }
}
