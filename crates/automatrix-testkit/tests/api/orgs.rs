//! Organizations over HTTP: several per user, chosen by `X-Organization-Id`; members and their
//! roles; the last owner; invitations; API keys capped by their creator's role; the audit log.

use automatrix_testkit::{Session, TestApp, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn manual() -> Value {
    json!({"nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []})
}

fn new_workflow(name: &str) -> Value {
    json!({"name": name, "definition": manual()})
}

fn org_path(s: &Session, rest: &str) -> String {
    format!("/api/orgs/{}{rest}", s.organization_id)
}

async fn login(app: &TestApp, email: &str, password: &str) -> String {
    let res = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["access_token"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn a_user_works_in_several_organizations_chosen_by_header(app) {
        let s = app.signup().await;
        let t = &s.access_token;
        let created = app.post("/api/orgs", t, &json!({"name": "  Valley Honda Service  "})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!((created.body["name"].as_str(), created.body["role"].as_str()), (Some("Valley Honda Service"), Some("owner")));
        let second: Uuid = created.body["id"].as_str().unwrap().parse().unwrap();

        let orgs = app.get("/api/orgs", t).await;
        let ids: Vec<&str> = orgs.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [s.organization_id.to_string(), second.to_string()], "first organization first");
        let me = app.get("/api/auth/me", t).await;
        assert_eq!(me.body["organization_id"], s.organization_id.to_string());

        // A workflow made in the second organization is only there.
        let wf = app.request_in(second, Method::POST, "/api/workflows", t, Some(&new_workflow("Service reminders"))).await;
        assert_eq!(wf.status, 201, "{}", wf.body);
        let wf_id = wf.body["id"].as_str().unwrap();
        let in_second = app.request_in(second, Method::GET, "/api/workflows", t, None).await;
        assert_eq!(in_second.body["items"][0]["id"], wf_id);
        let by_default = app.get("/api/workflows", t).await;
        assert!(by_default.body["items"].as_array().unwrap().is_empty(), "{}", by_default.body);
        app.get(&format!("/api/workflows/{wf_id}"), t).await.assert_error(404, "NOT_FOUND");

        // An organization one is not in, and one that cannot exist.
        let stranger = app.signup().await;
        app.request_in(stranger.organization_id, Method::GET, "/api/workflows", t, None).await.assert_error(404, "NOT_FOUND");
        let bad = app.http.get(app.url("/api/workflows")).bearer_auth(t).header("x-organization-id", "nope").send().await.unwrap();
        assert_eq!(bad.status(), 400);

        app.post("/api/orgs", t, &json!({"name": " "})).await.assert_error(422, "VALIDATION_ERROR");
        let renamed = app.put(&format!("/api/orgs/{second}"), t, &json!({"name": "Valley Honda"})).await;
        assert_eq!(renamed.body["name"], "Valley Honda");
        assert_eq!(app.get(&format!("/api/orgs/{second}"), t).await.body["name"], "Valley Honda");
    }

    async fn members_are_added_changed_and_removed_and_the_last_owner_stays(app) {
        let owner = app.signup().await;
        let t = &owner.access_token;
        let org = owner.organization_id;
        let admin = app.member_of(&owner, "admin").await;
        let other = app.signup().await;

        // Adding: an existing account only, once; only owners grant the owner role.
        let res = app.post(&org_path(&owner, "/members"), &admin.access_token, &json!({"email": "nobody@nowhere.test", "role": "viewer"})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "email");
        app.post(&org_path(&owner, "/members"), &admin.access_token, &json!({"email": other.email, "role": "owner"})).await.assert_error(403, "FORBIDDEN");
        app.post(&org_path(&owner, "/members"), &admin.access_token, &json!({"email": other.email, "role": "superuser"})).await.assert_error(422, "VALIDATION_ERROR");
        let added = app.post(&org_path(&owner, "/members"), &admin.access_token, &json!({"email": other.email.to_uppercase(), "role": "viewer"})).await;
        assert_eq!(added.status, 201, "{}", added.body);
        assert_eq!((added.body["user_id"].as_str(), added.body["role"].as_str()), (Some(other.user_id.to_string().as_str()), Some("viewer")));
        app.post(&org_path(&owner, "/members"), t, &json!({"email": other.email, "role": "editor"})).await.assert_error(409, "CONFLICT");

        let members = app.get(&org_path(&owner, "/members"), &other.access_token).await;
        let roles: Vec<&str> = members.body["items"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["owner", "admin", "viewer"]);

        // A viewer reads and cannot write; promoted, the same token can at once.
        let ot = &other.access_token;
        assert_eq!(app.request_in(org, Method::GET, "/api/workflows", ot, None).await.status, 200);
        app.request_in(org, Method::POST, "/api/workflows", ot, Some(&new_workflow("x"))).await.assert_error(403, "FORBIDDEN");
        let promoted = app.put(&org_path(&owner, &format!("/members/{}", other.user_id)), &admin.access_token, &json!({"role": "editor"})).await;
        assert_eq!(promoted.body["role"], "editor", "{}", promoted.body);
        assert_eq!(app.request_in(org, Method::POST, "/api/workflows", ot, Some(&new_workflow("x"))).await.status, 201);

        // Admins do not touch owners; the last owner can neither be demoted, removed nor leave.
        let owner_path = org_path(&owner, &format!("/members/{}", owner.user_id));
        app.put(&owner_path, &admin.access_token, &json!({"role": "viewer"})).await.assert_error(403, "FORBIDDEN");
        app.delete(&owner_path, &admin.access_token).await.assert_error(403, "FORBIDDEN");
        app.put(&owner_path, t, &json!({"role": "admin"})).await.assert_error(409, "CONFLICT");
        app.delete(&owner_path, t).await.assert_error(409, "CONFLICT");
        app.post(&org_path(&owner, "/leave"), t, &json!({})).await.assert_error(409, "CONFLICT");
        app.delete(&org_path(&owner, &format!("/members/{}", Uuid::now_v7())), t).await.assert_error(404, "NOT_FOUND");

        // With a second owner, the first may step down.
        let admin_path = org_path(&owner, &format!("/members/{}", admin.user_id));
        assert_eq!(app.put(&admin_path, t, &json!({"role": "owner"})).await.status, 200);
        assert_eq!(app.put(&owner_path, &admin.access_token, &json!({"role": "admin"})).await.status, 200);

        // Removed: the organization is gone for them, and so are their keys in it.
        let me = app.get("/api/auth/me", ot).await;
        assert_eq!(me.body["organization_id"], other.organization_id.to_string(), "their own organization stays their first");
        let key = app.request_in(org, Method::POST, "/api/api-keys", ot, Some(&json!({"name": "not allowed", "role": "viewer"}))).await;
        key.assert_error(403, "FORBIDDEN");
        let removed = app.delete(&org_path(&owner, &format!("/members/{}", other.user_id)), &admin.access_token).await;
        assert_eq!(removed.status, 204, "{}", removed.body);
        app.request_in(org, Method::GET, "/api/workflows", ot, None).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/orgs/{org}"), ot).await.assert_error(404, "NOT_FOUND");

        // Leaving.
        let leaver = app.member_of(&owner, "viewer").await;
        assert_eq!(app.post(&org_path(&owner, "/leave"), &leaver.access_token, &json!({})).await.status, 204);
        app.get(&format!("/api/orgs/{org}"), &leaver.access_token).await.assert_error(404, "NOT_FOUND");
    }

    async fn an_api_key_acts_with_the_lesser_of_its_role_and_its_creators(app) {
        let owner = app.signup().await;
        let admin = app.member_of(&owner, "admin").await;
        let org = owner.organization_id;
        let at = &admin.access_token;
        app.request_in(org, Method::POST, "/api/api-keys", at, Some(&json!({"name": "too much", "role": "owner"}))).await.assert_error(403, "FORBIDDEN");
        let key = app.request_in(org, Method::POST, "/api/api-keys", at, Some(&json!({"name": "DMS sync", "role": "admin"}))).await;
        assert_eq!(key.status, 201, "{}", key.body);
        let key = key.body["key"].as_str().unwrap().to_owned();
        // The key acts in its organization without a header, and only there.
        assert_eq!(app.post("/api/workflows", &key, &new_workflow("by key")).await.status, 201);
        app.request_in(admin.organization_id, Method::GET, "/api/workflows", &key, None).await.assert_error(404, "NOT_FOUND");

        // Its creator demoted to viewer: the key is a viewer's too.
        let demoted = app.put(&org_path(&owner, &format!("/members/{}", admin.user_id)), &owner.access_token, &json!({"role": "viewer"})).await;
        assert_eq!(demoted.status, 200, "{}", demoted.body);
        app.post("/api/workflows", &key, &new_workflow("by key")).await.assert_error(403, "FORBIDDEN");
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);

        // Its creator removed: the key is gone.
        app.delete(&org_path(&owner, &format!("/members/{}", admin.user_id)), &owner.access_token).await;
        app.get("/api/workflows", &key).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn an_invitation_makes_an_account_or_adds_an_existing_one_once(app) {
        let owner = app.signup().await;
        let t = &owner.access_token;
        let email = format!("new-{}@dealer.test", Uuid::now_v7().simple());
        let inv = app.post(&org_path(&owner, "/invitations"), t, &json!({"email": email, "role": "editor"})).await;
        assert_eq!(inv.status, 201, "{}", inv.body);
        let token = inv.body["token"].as_str().unwrap().to_owned();
        let listed = app.get(&org_path(&owner, "/invitations"), t).await;
        assert_eq!(listed.body["items"][0]["email"], email.as_str());
        assert!(listed.body["items"][0].get("token").is_none(), "the token is shown once");
        assert!(!listed.body.to_string().contains(&token));

        let accept = format!("/api/invitations/{token}/accept");
        let res = app.request(Method::POST, &accept, None, Some(&json!({"name": "Nia"}))).await;
        res.assert_error(422, "VALIDATION_ERROR");
        let res = app.request(Method::POST, &accept, None, Some(&json!({"name": "Nia New", "password": "a long password"}))).await;
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!((res.body["organization_id"].as_str(), res.body["role"].as_str()), (Some(owner.organization_id.to_string().as_str()), Some("editor")));
        let nt = res.body["tokens"]["access_token"].as_str().unwrap().to_owned();
        // The new account's first organization is the inviting one.
        assert_eq!(app.post("/api/workflows", &nt, &new_workflow("by invitee")).await.status, 201);
        assert!(!login(&app, &email, "a long password").await.is_empty());
        // Once only.
        app.request(Method::POST, &accept, None, Some(&json!({"name": "Again", "password": "a long password"}))).await.assert_error(404, "NOT_FOUND");
        app.request(Method::POST, "/api/invitations/garbage/accept", None, Some(&json!({}))).await.assert_error(404, "NOT_FOUND");

        // An existing account signs in to accept, as the invited address.
        let existing = app.signup().await;
        let inv = app.post(&org_path(&owner, "/invitations"), t, &json!({"email": existing.email, "role": "viewer"})).await;
        let accept = format!("/api/invitations/{}/accept", inv.body["token"].as_str().unwrap());
        app.request(Method::POST, &accept, None, Some(&json!({"name": "X", "password": "a long password"}))).await.assert_error(409, "CONFLICT");
        let someone = app.signup().await;
        app.post(&accept, &someone.access_token, &json!({})).await.assert_error(403, "FORBIDDEN");
        let joined = app.post(&accept, &existing.access_token, &json!({})).await;
        assert_eq!(joined.status, 200, "{}", joined.body);
        assert!(joined.body["tokens"].is_null());
        assert_eq!(app.request_in(owner.organization_id, Method::GET, "/api/workflows", &existing.access_token, None).await.status, 200);
        app.post(&org_path(&owner, "/invitations"), t, &json!({"email": existing.email, "role": "viewer"})).await.assert_error(409, "CONFLICT");

        // Withdrawn; only owners invite owners.
        let inv = app.post(&org_path(&owner, "/invitations"), t, &json!({"email": "later@dealer.test", "role": "viewer"})).await;
        let id = inv.body["id"].as_str().unwrap();
        assert_eq!(app.delete(&org_path(&owner, &format!("/invitations/{id}")), t).await.status, 204);
        let accept = format!("/api/invitations/{}/accept", inv.body["token"].as_str().unwrap());
        app.request(Method::POST, &accept, None, Some(&json!({"name": "L", "password": "a long password"}))).await.assert_error(404, "NOT_FOUND");
        let admin = app.member_of(&owner, "admin").await;
        app.post(&org_path(&owner, "/invitations"), &admin.access_token, &json!({"email": "boss@dealer.test", "role": "owner"})).await.assert_error(403, "FORBIDDEN");
    }

    async fn the_audit_log_records_changes_and_sign_ins(app) {
        let owner = app.signup().await;
        let t = &owner.access_token;
        let viewer = app.member_of(&owner, "viewer").await;
        let wf = app.create_workflow(&owner, "Audited", manual()).await;
        let wf_id = wf["id"].as_str().unwrap();
        app.put(&format!("/api/workflows/{wf_id}"), t, &json!({"name": "Audited twice"})).await;
        app.delete(&format!("/api/workflows/{}", Uuid::now_v7()), t).await.assert_error(404, "NOT_FOUND");
        login(&app, &viewer.email, &viewer.password).await;
        let bad = app.request(Method::POST, "/api/auth/login", None, Some(&json!({"email": viewer.email, "password": "wrong password"}))).await;
        bad.assert_error(401, "UNAUTHORIZED");

        let log = app.get("/api/audit-log?limit=200", t).await;
        assert_eq!(log.status, 200, "{}", log.body);
        let items = log.body["items"].as_array().unwrap();
        let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["auth.register", "auth.login", "member.add", "workflow.create", "workflow.update", "auth.login_failed"] {
            assert!(actions.contains(&action), "{action} missing from {actions:?}");
        }
        assert!(!actions.contains(&"workflow.delete"), "a failed change is not recorded: {actions:?}");
        let created = items.iter().find(|e| e["action"] == "workflow.create").unwrap();
        assert_eq!((created["actor_id"].as_str(), created["target"].as_str()), (Some(owner.user_id.to_string().as_str()), Some(wf_id)));
        assert_eq!(created["ip"], "127.0.0.1");
        let failed = items.iter().find(|e| e["action"] == "auth.login_failed").unwrap();
        assert_eq!(failed["actor_id"], viewer.user_id.to_string(), "a member's failed sign-in is shown");

        let filtered = app.get("/api/audit-log?action=workflow.", t).await;
        let actions: Vec<&str> = filtered.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["workflow.update", "workflow.create"], "newest first");
        let page = app.get("/api/audit-log?limit=1&action=workflow.", t).await;
        let cursor = page.body["next_cursor"].as_str().unwrap();
        let next = app.get(&format!("/api/audit-log?limit=1&action=workflow.&cursor={cursor}"), t).await;
        assert_eq!(next.body["items"][0]["action"], "workflow.create");
        assert!(next.body["next_cursor"].is_null());
        app.get("/api/audit-log?since=yesterday", t).await.assert_error(400, "BAD_REQUEST");

        // Viewers do not read it; another organization's log is its own.
        app.request_in(owner.organization_id, Method::GET, "/api/audit-log", &viewer.access_token, None).await.assert_error(403, "FORBIDDEN");
        let stranger = app.signup().await;
        let theirs = app.get("/api/audit-log", &stranger.access_token).await;
        assert!(!theirs.body.to_string().contains(wf_id), "{}", theirs.body);
    }
}
