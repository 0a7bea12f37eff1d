//! Typed request helpers over real HTTP.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestApp;

/// A response: status, JSON body (`Null` when empty or not JSON) and headers.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Res {
    /// The error code of an error-shaped body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and the one error shape: `{error: {code, message}}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without message: {}",
            self.body
        );
    }
}

/// A signed-up, logged-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Res {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::read(req.send().await.expect("request")).await
    }

    /// A request acting in organization `org` (`X-Organization-Id`).
    pub async fn request_in(
        &self,
        org: Uuid,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Res {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("x-organization-id", org.to_string());
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::read(req.send().await.expect("request")).await
    }

    /// Signs up a fresh user and makes them a member of `owner`'s organization with `role`
    /// (the session's `organization_id` stays their own, first, organization).
    pub async fn member_of(&self, owner: &Session, role: &str) -> Session {
        let member = self.signup().await;
        let added = self
            .post(
                &format!("/api/orgs/{}/members", owner.organization_id),
                &owner.access_token,
                &json!({"email": member.email, "role": role}),
            )
            .await;
        assert_eq!(added.status, 201, "add member: {}", added.body);
        member
    }

    /// A request with a raw body and content type (for malformed input).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Res {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.expect("request")).await
    }

    /// A call to a webhook path (no bearer token), with extra headers and a raw body.
    pub async fn hook(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> Res {
        let mut req = self.http.request(method, self.url(path)).body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Self::read(req.send().await.expect("request")).await
    }

    async fn read(res: reqwest::Response) -> Res {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Res {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Res {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Res {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Registers a fresh user and logs in.
    pub async fn signup(&self) -> Session {
        let email = format!("bdc-{}@dealer.example", Uuid::now_v7().simple());
        let password = "correct horse battery".to_owned();
        let res = self
            .request(
                Method::POST,
                "/api/auth/register",
                None,
                Some(&json!({"email": email, "password": password, "name": "Dana Dealer"})),
            )
            .await;
        assert_eq!(res.status, 201, "register: {}", res.body);
        let login = self
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(&json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(login.status, 200, "login: {}", login.body);
        Session {
            email,
            password,
            access_token: login.body["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh_token: login.body["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
            user_id: res.body["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("user id"),
            organization_id: res.body["organization_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("org id"),
        }
    }

    /// Creates a workflow; panics unless it is created.
    pub async fn create_workflow(&self, s: &Session, name: &str, definition: Value) -> Value {
        let res = self
            .post(
                "/api/workflows",
                &s.access_token,
                &json!({"name": name, "definition": definition}),
            )
            .await;
        assert_eq!(res.status, 201, "create workflow: {}", res.body);
        res.body
    }

    /// Saves a credential and returns its id.
    pub async fn create_credential(
        &self,
        s: &Session,
        name: &str,
        kind: &str,
        data: Value,
    ) -> String {
        let res = self
            .post(
                "/api/credentials",
                &s.access_token,
                &json!({"name": name, "type": kind, "data": data}),
            )
            .await;
        assert_eq!(res.status, 201, "create credential: {}", res.body);
        res.body["id"].as_str().expect("credential id").to_owned()
    }

    /// Executes a workflow, runs the worker until idle, and returns the execution.
    pub async fn execute_and_wait(&self, s: &Session, workflow_id: &str, input: Value) -> Value {
        let id = self.start_execution(s, workflow_id, input).await;
        self.run_jobs().await;
        let exec = self
            .get(&format!("/api/executions/{id}"), &s.access_token)
            .await;
        assert_eq!(exec.status, 200, "get execution: {}", exec.body);
        exec.body
    }

    /// A fresh WebSocket ticket for `token` (its first organization).
    pub async fn ws_ticket(&self, token: &str) -> String {
        let res = self.post("/api/auth/ws-ticket", token, &json!({})).await;
        assert_eq!(res.status, 200, "ws-ticket: {}", res.body);
        res.body["ticket"].as_str().expect("a ticket").to_owned()
    }

    /// The `ws://` URL of `path` with `ticket`.
    pub fn ws_url(&self, path: &str, ticket: &str) -> String {
        let url = self.url(path).replacen("http://", "ws://", 1);
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{url}{sep}ticket={ticket}")
    }

    /// Opens the socket at `path` with a fresh ticket for `token`.
    pub async fn ws(&self, path: &str, token: &str) -> crate::WsClient {
        let ticket = self.ws_ticket(token).await;
        match crate::WsClient::connect(&self.ws_url(path, &ticket)).await {
            Ok(client) => client,
            Err(refused) => panic!("{path} refused: {refused:?}"),
        }
    }

    /// Queues an execution of `workflow_id` with `input` (202) and returns its id.
    pub async fn start_execution(&self, s: &Session, workflow_id: &str, input: Value) -> String {
        let res = self
            .post(
                &format!("/api/workflows/{workflow_id}/execute"),
                &s.access_token,
                &json!({"input": input}),
            )
            .await;
        assert_eq!(res.status, 202, "execute: {}", res.body);
        res.body["execution_id"]
            .as_str()
            .expect("an execution id")
            .to_owned()
    }
}
