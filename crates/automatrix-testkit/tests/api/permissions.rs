//! The permission matrix, walked whole: every route of the OpenAPI document × every role (as
//! a signed-in member and as an API key of that role) × the caller's own organization and
//! another one. A route without an access rule fails the walk.

use std::collections::HashMap;

use automatrix_api::{ACCESS_RULES, Access, Rule};
use automatrix_core::Role;
use automatrix_testkit::{Session, TestApp, both_backends};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Who calls: a role, held by a member or carried by an API key.
struct Caller {
    role: Role,
    token: String,
    is_key: bool,
    /// For members: the session (re-added after leaving).
    session: Option<Session>,
}

impl Caller {
    fn label(&self) -> String {
        format!(
            "{} {}",
            self.role.as_str(),
            if self.is_key { "key" } else { "member" }
        )
    }
}

/// The two organizations: A, where the callers are, and B, whose resources they must not
/// reach.
struct World {
    a: Uuid,
    owner: Session,
    callers: Vec<Caller>,
    b: Uuid,
    b_owner: Session,
    /// B's resources by kind (`workflow`, `execution`, …).
    b_ids: HashMap<&'static str, String>,
}

fn manual() -> Value {
    json!({"nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []})
}

fn template() -> Value {
    json!({"name": "Matrix template", "category": "Sales", "description": "d", "parameters": [],
           "definition": manual()})
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

/// A body the route accepts when the caller may call it (so a foreign id reaches the lookup
/// and answers 404, not a validation error).
fn body_for(method: &str, path: &str) -> Option<Value> {
    let body = match (method, path) {
        ("POST", "/api/auth/change-password") => {
            json!({"current_password": "not the password", "new_password": "another secret 1"})
        }
        ("POST", "/api/orgs") => json!({"name": "Matrix org"}),
        ("PUT", "/api/orgs/{id}") => json!({"name": "Org A"}),
        ("PUT", "/api/orgs/{id}/sso") => {
            json!({"domains": [format!("{}.dealer.test", unique("d"))], "role": "viewer"})
        }
        ("POST", "/api/orgs/{id}/members") => {
            json!({"email": format!("{}@nobody.test", unique("x")), "role": "viewer"})
        }
        ("PUT", "/api/orgs/{id}/members/{user_id}") => json!({"role": "viewer"}),
        ("POST", "/api/orgs/{id}/invitations") => {
            json!({"email": format!("{}@invitee.test", unique("i")), "role": "viewer"})
        }
        ("POST", "/api/workflows") => json!({"name": unique("wf"), "definition": manual()}),
        ("PUT", "/api/workflows/{id}") => json!({"name": "renamed"}),
        ("POST", "/api/workflows/validate") => json!({"definition": manual()}),
        ("POST", "/api/workflows/{id}/execute") => json!({"input": {}}),
        ("POST", "/api/credentials") => {
            json!({"name": unique("cred"), "type": "http_bearer", "data": {"token": "t"}})
        }
        ("PUT", "/api/credentials/{id}") => json!({"name": unique("cred")}),
        ("POST", "/api/api-keys") => json!({"name": unique("key"), "role": "viewer"}),
        ("PUT", "/api/ai/routes/{alias}") => json!({"targets": [{"provider": "mock"}]}),
        ("PUT", "/api/ai/budget") => json!({"monthly_usd": 100}),
        ("POST", "/api/ai/v1/chat/completions") => {
            json!({"model": "default", "messages": [{"role": "user", "content": "hi"}]})
        }
        ("POST", "/api/templates") | ("PUT", "/api/templates/{id}") => template(),
        ("POST", "/api/templates/{id}/instantiate") => {
            json!({"name": unique("wf"), "parameters": {}})
        }
        ("GET" | "DELETE", _) => return None,
        _ => json!({}),
    };
    Some(body)
}

/// The kind of B's resource a route's `{id}` names, when it names one.
fn resource_kind(path: &str) -> Option<&'static str> {
    let kinds = [
        ("/api/workflows/{id}", "workflow"),
        ("/api/executions/{id}", "execution"),
        ("/api/credentials/{id}", "credential"),
        ("/api/api-keys/{id}", "api_key"),
        ("/api/templates/{id}", "template"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

/// The route's path with its parameters filled: `org` for an organization's `{id}`, `ids` for
/// a resource `{id}`, made-up values for the rest.
fn concrete(path: &str, org: Uuid, resource: Option<&str>) -> String {
    let random = Uuid::now_v7().to_string();
    let id = if path.starts_with("/api/orgs/{id}") {
        org.to_string()
    } else {
        resource.unwrap_or(&random).to_owned()
    };
    path.replace("{id}", &id)
        .replace("{user_id}", &Uuid::now_v7().to_string())
        .replace("{invitation_id}", &Uuid::now_v7().to_string())
        .replace("{version}", "1")
        .replace("{node_id}", "approve")
        .replace("{alias}", "matrix-route")
        .replace("{token}", "no-such-token")
}

async fn build_world(app: &TestApp) -> World {
    let owner = app.signup().await;
    let a = owner.organization_id;
    let mut callers = vec![Caller {
        role: Role::Owner,
        token: owner.access_token.clone(),
        is_key: false,
        session: Some(owner.clone()),
    }];
    for role in [Role::Admin, Role::Editor, Role::Viewer] {
        let member = app.member_of(&owner, role.as_str()).await;
        callers.push(Caller {
            role,
            token: member.access_token.clone(),
            is_key: false,
            session: Some(member),
        });
    }
    for role in Role::ALL {
        let key = app
            .post(
                "/api/api-keys",
                &owner.access_token,
                &json!({"name": unique("matrix"), "role": role.as_str()}),
            )
            .await;
        assert_eq!(key.status, 201, "{}", key.body);
        callers.push(Caller {
            role,
            token: key.body["key"].as_str().unwrap().to_owned(),
            is_key: true,
            session: None,
        });
    }

    let b_owner = app.signup().await;
    let t = &b_owner.access_token;
    let mut b_ids = HashMap::new();
    let wf = app
        .create_workflow(&b_owner, "B's workflow", manual())
        .await;
    let wf_id = wf["id"].as_str().unwrap().to_owned();
    let run = app.execute_and_wait(&b_owner, &wf_id, json!({})).await;
    b_ids.insert("execution", run["id"].as_str().unwrap().to_owned());
    b_ids.insert("workflow", wf_id);
    let cred = app
        .create_credential(&b_owner, "B's token", "http_bearer", json!({"token": "b"}))
        .await;
    b_ids.insert("credential", cred);
    let key = app
        .post(
            "/api/api-keys",
            t,
            &json!({"name": "B's key", "role": "viewer"}),
        )
        .await;
    b_ids.insert("api_key", key.body["id"].as_str().unwrap().to_owned());
    let tpl = app.post("/api/templates", t, &template()).await;
    assert_eq!(tpl.status, 201, "{}", tpl.body);
    b_ids.insert("template", tpl.body["id"].as_str().unwrap().to_owned());
    World {
        a,
        owner,
        callers,
        b: b_owner.organization_id,
        b_owner,
        b_ids,
    }
}

/// One check's outcome, kept to report every mismatch at once.
fn expect(failures: &mut Vec<String>, ok: bool, what: String) {
    if !ok {
        failures.push(what);
    }
}

fn allowed(status: u16) -> bool {
    status != 401 && status != 403 && status < 500
}

async fn walk_rule(app: &TestApp, w: &World, rule: &Rule, failures: &mut Vec<String>) {
    let (method, path) = (rule.method, rule.path);
    let body = body_for(method, path);
    let send = |path: String, token: Option<String>, org: Option<Uuid>| {
        let body = body.clone();
        async move {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = app.http.request(m, app.url(&path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(o) = org {
                req = req.header("x-organization-id", o.to_string());
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let needed = match rule.access {
        Access::Public => return,
        Access::OptionalAccount | Access::Account => None,
        Access::Member(r) | Access::OrgMember(r) => Some(r),
        // A bearer opens no socket (tickets and roles on sockets: tests/api/live.rs).
        Access::Ticket(_) => {
            let token = Some(w.owner.access_token.clone());
            let (status, body) = send(concrete(path, w.a, None), token, Some(w.a)).await;
            expect(
                failures,
                !(200..300).contains(&status) && status < 500,
                format!("{method} {path} with a bearer and no ticket: {status} {body}"),
            );
            return;
        }
    };
    if rule.access != Access::OptionalAccount {
        let (status, _) = send(concrete(path, w.a, None), None, None).await;
        expect(
            failures,
            status == 401,
            format!("{method} {path} without a bearer: {status}"),
        );
    }
    for caller in &w.callers {
        let who = caller.label();
        let token = Some(caller.token.clone());
        let Some(needed) = needed else {
            // Account routes: people, not keys.
            let (status, body) = send(concrete(path, w.a, None), token, None).await;
            let ok = if caller.is_key {
                status == 403
            } else {
                allowed(status)
            };
            expect(
                failures,
                ok,
                format!("{method} {path} as {who}: {status} {body}"),
            );
            continue;
        };
        let may = caller.role.allows(needed);
        // Own organization.
        let (status, body) = send(concrete(path, w.a, None), token.clone(), Some(w.a)).await;
        let ok = if may { allowed(status) } else { status == 403 };
        expect(
            failures,
            ok,
            format!("{method} {path} as {who} in own org: {status} {body}"),
        );
        if path == "/api/orgs/{id}/leave" && status == 204 {
            let s = caller.session.as_ref().unwrap();
            let back = app
                .post(
                    &format!("/api/orgs/{}/members", w.a),
                    &w.owner.access_token,
                    &json!({"email": s.email, "role": caller.role.as_str()}),
                )
                .await;
            assert_eq!(back.status, 201, "{}", back.body);
        }
        // Another organization chosen: not a member there.
        let (status, body) = send(concrete(path, w.b, None), token.clone(), Some(w.b)).await;
        expect(
            failures,
            status == 404,
            format!("{method} {path} as {who} in org B: {status} {body}"),
        );
        // Another organization's resource, from the own one.
        if let Some(kind) = resource_kind(path) {
            let id = &w.b_ids[kind];
            let (status, body) =
                send(concrete(path, w.a, Some(id)), token.clone(), Some(w.a)).await;
            let ok = if may { status == 404 } else { status == 403 };
            expect(
                failures,
                ok,
                format!("{method} {path} as {who} on B's {kind}: {status} {body}"),
            );
        }
    }
}

both_backends! {
    async fn every_route_answers_by_the_matrix(app) {
        let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.body;
        let rules: HashMap<(String, &str), &Rule> = ACCESS_RULES.iter().map(|r| ((r.method.to_lowercase(), r.path), r)).collect();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let rule = rules.get(&(method.clone(), path.as_str()));
                assert!(rule.is_some(), "{method} {path} has no access rule (crates/automatrix-api/src/access/policy.rs)");
                documented.push(rule.unwrap());
            }
        }
        assert_eq!(documented.len(), ACCESS_RULES.len(), "every rule names a documented route");

        let w = build_world(&app).await;
        let mut failures = Vec::new();
        for rule in ACCESS_RULES {
            walk_rule(&app, &w, rule, &mut failures).await;
        }
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));

        // B's resources are all still there.
        let t = &w.b_owner.access_token;
        for (kind, prefix) in [("workflow", "/api/workflows"), ("execution", "/api/executions"), ("credential", "/api/credentials"), ("template", "/api/templates")] {
            let res = app.get(&format!("{prefix}/{}", w.b_ids[kind]), t).await;
            assert_eq!(res.status, 200, "B's {kind}: {}", res.body);
        }
        let keys = app.get("/api/api-keys", t).await;
        assert_eq!(keys.body["items"].as_array().unwrap().len(), 1, "{}", keys.body);
        assert_eq!(app.get(&format!("/api/orgs/{}/members", w.b), t).await.body["items"].as_array().unwrap().len(), 1);
    }

    async fn every_json_body_is_limited(app) {
        let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.body;
        let owner = app.signup().await;
        // 3 MiB of valid JSON: over the 2 MiB limit.
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op.get("requestBody").is_none() || path.starts_with("/hooks") {
                    continue;
                }
                let concrete = concrete(path, owner.organization_id, None);
                let res = app
                    .raw(method.to_uppercase().parse().unwrap(), &concrete, Some(&owner.access_token), "application/json", big.clone())
                    .await;
                assert_eq!(res.status, 413, "{method} {path}: {}", res.body);
                assert_eq!(res.code(), "PAYLOAD_TOO_LARGE", "{method} {path}");
                checked += 1;
            }
        }
        assert!(checked >= 25, "{checked} routes with a body");
    }
}
