//! Outbound HTTP shared by the nodes that call APIs (`http.request`, `sms.send`, `chat.post`):
//! one client per process behind the SSRF guard, and one way to send a request and read its
//! reply, with the same limits, error classes and redactions for every node.

use std::sync::{Arc, OnceLock};

use automatrix_core::{NodeContext, NodeError};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Request, Response, StatusCode, Url};
use serde_json::{Map, Value, json};
use tracing::instrument;

use super::guard::{self, HttpPolicy};

/// Larger response bodies fail the step rather than fill the worker's memory.
pub const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

/// The guarded client, built on first use: building needs the process's TLS crypto provider,
/// which the binary installs at start-up, after the registry may already exist.
#[derive(Debug)]
pub struct Outbound {
    policy: Arc<HttpPolicy>,
    client: OnceLock<Result<Client, String>>,
}

/// A response, read whole: `{status, headers, body}` as nodes output it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub json: Value,
}

impl Reply {
    pub fn body(&self) -> &Value {
        &self.json["body"]
    }

    /// The step's error for a status outside 200-299: retryable for 408, 429 and 5xx, fatal
    /// otherwise, with the reply as its data.
    pub fn status_error(self, message: String) -> NodeError {
        let error = if is_retryable_status(self.status) {
            NodeError::retryable(message)
        } else {
            NodeError::fatal(message)
        };
        error.with_data(self.json)
    }
}

impl Outbound {
    pub fn new(policy: HttpPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
            client: OnceLock::new(),
        }
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    pub fn client(&self, who: &str) -> Result<&Client, NodeError> {
        self.client
            .get_or_init(|| build_client(self.policy.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| NodeError::fatal(format!("{who}: cannot build the HTTP client: {e}")))
    }

    /// `url` parsed and checked by the guard (IP literals; names are checked when resolved).
    pub fn check_url(&self, who: &str, url: &str) -> Result<Url, NodeError> {
        let url = Url::parse(url).map_err(|e| {
            NodeError::fatal(format!("{who}: `url` must be an absolute http(s) URL: {e}"))
        })?;
        guard::check_url(&self.policy, &url)
            .map_err(|r| NodeError::fatal(format!("{who}: {r}")))?;
        Ok(url)
    }

    /// Sends `request` and reads the reply, until the step is cancelled. `who` starts every
    /// message (`sms.send: …`); messages never show a query string or user info.
    pub async fn send(
        &self,
        ctx: &NodeContext,
        who: &str,
        request: Request,
        timeout_ms: u64,
    ) -> Result<Reply, NodeError> {
        let label = format!("{} {}", request.method(), redact(request.url()));
        self.send_as(ctx, who, &label, request, timeout_ms).await
    }

    /// [`send`](Self::send), naming the request `label` in messages: for URLs whose path is
    /// a secret (chat webhooks).
    pub async fn send_as(
        &self,
        ctx: &NodeContext,
        who: &str,
        label: &str,
        request: Request,
        timeout_ms: u64,
    ) -> Result<Reply, NodeError> {
        let client = self.client(who)?;
        tokio::select! {
            result = exchange(client, request, who, label, timeout_ms) => result,
            () = ctx.cancel.cancelled() => Err(NodeError::retryable(format!(
                "{who}: {label} cancelled before it completed"
            ))),
        }
    }
}

fn build_client(policy: Arc<HttpPolicy>) -> Result<Client, reqwest::Error> {
    // reqwest (feature `rustls-no-provider`) panics when no provider is installed. The binary
    // installs ring first; this keeps tests and other embedders from crashing. Losing the race
    // to another installer is fine: then a provider is installed.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    Client::builder()
        .user_agent(concat!("automatrix/", env!("CARGO_PKG_VERSION")))
        // Through a proxy the target is resolved by the proxy, beyond the guard's reach.
        .no_proxy()
        // The previous URL may hold secrets in its query string.
        .referer(false)
        .redirect(guard::redirect_policy(policy.clone()))
        .dns_resolver(guard::GuardedResolver::new(policy))
        .build()
}

/// Sends the request and reads the response.
#[instrument(skip_all, fields(request = %label))]
async fn exchange(
    client: &Client,
    request: Request,
    who: &str,
    label: &str,
    timeout_ms: u64,
) -> Result<Reply, NodeError> {
    let response = client
        .execute(request)
        .await
        .map_err(|e| transport_error(e, who, label, timeout_ms))?;
    let status = response.status();
    tracing::debug!(status = status.as_u16(), "response");
    let headers = headers_json(response.headers());
    let is_json = is_json(response.headers());
    let bytes = read_capped(response, who, label, timeout_ms)
        .await
        .map_err(|e| e.with_data(json!({"status": status.as_u16(), "headers": headers})))?;
    let json =
        json!({"status": status.as_u16(), "headers": headers, "body": parse_body(&bytes, is_json)});
    Ok(Reply { status, json })
}

pub fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

async fn read_capped(
    mut response: Response,
    who: &str,
    label: &str,
    timeout_ms: u64,
) -> Result<Vec<u8>, NodeError> {
    let too_large = || {
        NodeError::fatal(format!(
            "{who}: the response to {label} is larger than the limit of {} MiB",
            MAX_RESPONSE_BYTES / (1024 * 1024)
        ))
    };
    let limit = MAX_RESPONSE_BYTES;
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(e, who, label, timeout_ms))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Classifies a transport failure. Messages never include the query string, which may hold
/// credentials (`?api_key=`).
fn transport_error(e: reqwest::Error, who: &str, label: &str, timeout_ms: u64) -> NodeError {
    if let Some(refusal) = guard::refusal_in(&e) {
        return NodeError::fatal(format!("{who}: {refusal}"));
    }
    let e = e.without_url();
    if e.is_timeout() {
        return NodeError::retryable(format!("{who}: {label} timed out after {timeout_ms}ms"));
    }
    let message = format!("{who}: {label} failed: {}", chain(&e));
    if e.is_builder() || e.is_redirect() {
        NodeError::fatal(message)
    } else {
        NodeError::retryable(message)
    }
}

/// An error and its causes, `: `-separated (reqwest's own message alone says little).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The URL without user info, query or fragment, for messages and logs.
pub fn redact(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// Shown in a dry run's preview in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// Header names whose values are secrets whatever they hold.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
];

/// What a dry run shows instead of sending `request`: `{method, url, query, headers, body}`,
/// exactly as it would go out except for secrets: user info is dropped from the URL; a header
/// marked sensitive (basic and bearer authentication, a credential's header), an
/// authentication or cookie header, or one holding any of `secrets` (a credential's values)
/// shows [`REDACTED`]; so does a query parameter holding one; in the body each occurrence of a
/// secret is replaced by it. The body is JSON when the request's `Content-Type` says so, text
/// otherwise.
pub fn preview(request: &Request, secrets: &[&str]) -> Value {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    let holds_secret = |text: &str| secrets.iter().any(|s| text.contains(s));
    let mut query = Vec::new();
    for (name, value) in request.url().query_pairs() {
        let value = if holds_secret(&value) || holds_secret(&name) {
            REDACTED.to_owned()
        } else {
            value.into_owned()
        };
        query.push(json!([name, value]));
    }
    let mut headers = Map::new();
    for (name, value) in request.headers() {
        let text = String::from_utf8_lossy(value.as_bytes());
        let shown = if value.is_sensitive()
            || SECRET_HEADERS.contains(&name.as_str())
            || holds_secret(&text)
        {
            REDACTED.to_owned()
        } else {
            text.into_owned()
        };
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(&shown);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(shown));
            }
        }
    }
    let body = request.body().and_then(|b| b.as_bytes()).map(|bytes| {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for secret in &secrets {
            text = text.replace(secret, REDACTED);
        }
        parse_body(text.as_bytes(), is_json(request.headers()))
    });
    let mut url = redact(request.url());
    for secret in &secrets {
        url = url.replace(secret, REDACTED);
    }
    json!({
        "method": request.method().as_str(),
        "url": url,
        "query": query,
        "headers": headers,
        "body": body,
    })
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(name.as_str().to_owned(), Value::String(joined));
    }
    Value::Object(out)
}

/// `application/json` and structured-syntax JSON types such as `application/problem+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// JSON when the response says so and parses; the text otherwise (an empty JSON body is null).
fn parse_body(bytes: &[u8], is_json: bool) -> Value {
    if is_json {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        if let Ok(v) = serde_json::from_slice(bytes) {
            return v;
        }
    }
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}
