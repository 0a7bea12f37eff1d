//! HTTP nodes: `http.request`, an outbound HTTP call guarded against SSRF (see [`guard`]).
//!
//! The node owns one `reqwest::Client` (built on first use, then shared by every step, so
//! connections are pooled) whose resolver and redirect policy enforce the [`HttpPolicy`].
//! Response bodies are read in chunks up to [`HttpRequest::MAX_RESPONSE_BYTES`] and the whole
//! exchange races the step's cancellation token.

mod auth;
mod guard;
pub(crate) mod outbound;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Credential, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, RequestBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tracing::instrument;

pub use guard::HttpPolicy;
pub use outbound::Outbound;
use outbound::{chain, redact};

use crate::logic::type_name;

/// Calls an HTTP API and outputs `{status, headers, body}`.
#[derive(Debug)]
pub struct HttpRequest {
    outbound: Arc<Outbound>,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestConfig {
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    query: Map<String, Value>,
    /// `null` and absent both mean no body.
    #[serde(default)]
    body: Option<Value>,
    /// How `body` is sent; by default JSON, or text for a string.
    #[serde(default)]
    body_type: Option<BodyType>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    /// An `http_bearer`, `http_basic`, `http_header` or `http_query` credential.
    #[serde(default)]
    credential_id: Option<String>,
    /// A status outside 200-299 fails the step (the default); with false it is an output.
    #[serde(default = "yes")]
    fail_on_status: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum BodyType {
    Json,
    Form,
    Raw,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn default_timeout_ms() -> u64 {
    HttpRequest::DEFAULT_TIMEOUT_MS
}

const DOCS: &str = r#"Calls an HTTP API: a CRM, a DMS, an inventory feed, a messaging service.

**Request:** `query` parameters are added to any already in `url`; an array value repeats the parameter and `null` leaves it out. `body` is sent as JSON (`Content-Type: application/json`), except a string, which is sent as text (`text/plain; charset=utf-8`); a `Content-Type` header you set wins; no `body` (or `null`) sends none. `timeout_ms` covers the whole exchange, from connecting to the last byte of the response.

Every request carries an `Idempotency-Key` header, `<execution id>:<node id>`, the same on every retry of the step, so APIs that honour it apply the call once; set the header yourself to override it. Redirects are followed, at most 5.

**Output:** `{status, headers, body}` on `main`: `headers` has lower-case names (repeated headers joined with `, `); `body` is the parsed JSON when the response's `Content-Type` is JSON (`application/json` or `*/*+json`), otherwise the text.

**Body:** `body_type` says how `body` is sent: `json` (the default), `form` (an object of fields, `application/x-www-form-urlencoded`; arrays repeat a field, `null` leaves it out) or `raw` (a string as given; other JSON as its text).

**Authentication:** `credential_id` names a saved credential (`POST /api/credentials`), so tokens stay out of workflow definitions and step logs: `http_bearer` sends `Authorization: Bearer <token>`, `http_basic` basic authentication, `http_header` its header (`X-Api-Key: …`), `http_query` its query parameter. The credential's header replaces one of the same name in `headers`.

**Errors**
- A status outside 200-299 fails the step, with `{status, headers, body}` as the error's data, unless `fail_on_status` is false: then every status is an output, for workflows that branch on `{{ $json.status }}`. `408`, `429` and `5xx` are retryable (the node's retry policy applies); other statuses are fatal.
- Connection failures and timeouts are retryable. Cancelling the execution, or the step's own timeout, stops the request at once.
- A response body over 10 MiB is a fatal error.
- Private addresses are refused (fatal): loopback, private networks (10/8, 172.16/12, 192.168/16), link-local and the cloud metadata address 169.254.169.254, CGNAT 100.64/10, 0.0.0.0/8, multicast, broadcast and reserved ranges, IPv6 loopback, unique-local and link-local addresses, and IPv4-mapped forms of those. This holds for IP addresses in the URL, for host names that resolve to such addresses, and for every redirect. An administrator can allow them all (`AUTOMATRIX_HTTP_ALLOW_PRIVATE=1`) or allow-list hosts, addresses and CIDR networks (`AUTOMATRIX_HTTP_ALLOW_HOSTS=dms.dealer.internal,10.20.0.0/16`). System proxy settings (`HTTP_PROXY`, ...) are not used.

**Example**

```json
{
  "id": "crm",
  "type": "http.request",
  "config": {
    "method": "POST",
    "url": "https://crm.example.com/api/leads",
    "headers": {"Authorization": "Bearer {{ $vars.crm_token }}"},
    "query": {"source": "website"},
    "body": {"email": "{{ $json.body.email }}", "vehicle": "{{ $json.body.vehicle_interest }}"},
    "timeout_ms": 10000
  }
}
```

A later node reads the new lead's id as `{{ $node["crm"].body.id }}`.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) `GET`, `HEAD` and `OPTIONS` requests are sent as usual: reading changes nothing, and later nodes need the answer. Any other method is built and checked exactly as for a real run (the config, the credential and its type, the URL against the private-address guard for IP addresses; host names are checked only when resolved, which a dry run does not do) and then not sent; the step completes on `main` with the request it would have sent:

```text
{"dry_run": true, "would_send": {"method": "POST", "url": "https://crm.example.com/api/leads",
  "query": [["source", "website"]],
  "headers": {"authorization": "[redacted]", "content-type": "application/json", "idempotency-key": "…"},
  "body": {"email": "jo@example.com", "vehicle": "Civic"}}}
```

`url` is without user info and query string; `query` lists the parameters in order. Secrets never appear: the `Authorization`, `Proxy-Authorization`, `Cookie` and `X-Api-Key` headers, a credential's header, and any header, query parameter or part of the body holding one of the credential's secrets show `[redacted]`. `body` is JSON when the request's `Content-Type` is JSON, the text otherwise (a form as its URL-encoded text).
"#;

impl HttpRequest {
    pub const KIND: &'static str = "http.request";
    pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
    pub const MAX_TIMEOUT_MS: u64 = 300_000;
    /// Larger response bodies fail the step rather than fill the worker's memory.
    pub const MAX_RESPONSE_BYTES: usize = outbound::MAX_RESPONSE_BYTES;

    /// A node with a client of its own, under `policy`.
    pub fn new(policy: HttpPolicy) -> Self {
        Self::sharing(Arc::new(Outbound::new(policy)))
    }

    /// A node that sends through `outbound`, shared with the other API-calling nodes.
    pub fn sharing(outbound: Arc<Outbound>) -> Self {
        Self { outbound }
    }

    /// Turns the expanded config into a request, checking what the schema could not (values
    /// that came from expressions) and IP-literal URLs.
    fn build(
        &self,
        ctx: &NodeContext,
        config: RequestConfig,
        credential: Option<&Credential>,
    ) -> Result<Request, NodeError> {
        let method = config.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(NodeError::fatal(format!(
                "http.request: unsupported method `{}`; use one of {}",
                config.method,
                METHODS.join(", ")
            )));
        }
        let method = Method::from_bytes(method.as_bytes()).expect("listed methods are valid");
        let url = self.outbound.check_url(Self::KIND, &config.url)?;
        if !(1..=Self::MAX_TIMEOUT_MS).contains(&config.timeout_ms) {
            return Err(NodeError::fatal(format!(
                "http.request: timeout_ms must be between 1 and {}, got {}",
                Self::MAX_TIMEOUT_MS,
                config.timeout_ms
            )));
        }

        let mut headers = header_map(config.headers)?;
        let idempotency_key = HeaderName::from_static("idempotency-key");
        if !headers.contains_key(&idempotency_key) {
            let key = HeaderValue::from_str(&ctx.idempotency_key()).map_err(|_| {
                NodeError::fatal("http.request: the node id cannot be sent in a header")
            })?;
            headers.insert(idempotency_key, key);
        }
        if matches!(config.body, Some(Value::String(_))) && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        let request = self
            .outbound
            .client(Self::KIND)?
            .request(method, url)
            .headers(headers)
            .query(&query_pairs(config.query)?)
            .timeout(Duration::from_millis(config.timeout_ms));
        let request = match credential {
            Some(credential) => auth::apply(request, credential),
            None => request,
        };
        with_body(request, config.body, config.body_type)?
            .build()
            .map_err(|e| {
                NodeError::fatal(format!(
                    "http.request: invalid request: {}",
                    chain(&e.without_url())
                ))
            })
    }
}

/// Adds `body` as `body_type` says. `.json()` and `.form()` add their content type only when
/// the headers have none.
fn with_body(
    request: RequestBuilder,
    body: Option<Value>,
    body_type: Option<BodyType>,
) -> Result<RequestBuilder, NodeError> {
    let Some(body) = body else {
        return Ok(request);
    };
    Ok(match (body_type, body) {
        (None | Some(BodyType::Raw), Value::String(text)) => request.body(text),
        (Some(BodyType::Raw), other) => request.body(other.to_string()),
        (Some(BodyType::Form), Value::Object(fields)) => {
            let pairs = query_pairs(fields)?;
            request.form(&pairs)
        }
        (Some(BodyType::Form), other) => {
            return Err(NodeError::fatal(format!(
                "http.request: a form body must be an object of fields, got {}",
                type_name(&other)
            )));
        }
        (None | Some(BodyType::Json), json) => request.json(&json),
    })
}

#[async_trait]
impl Node for HttpRequest {
    fn spec(&self) -> NodeSpec {
        let scalar = json!({"type": ["string", "number", "boolean", "null"]});
        NodeSpec {
            side_effects: true,
            description: "Calls an HTTP API and outputs its status, headers and body.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "method": {
                        "description": "HTTP method.",
                        "enum": METHODS,
                        "default": "GET",
                    },
                    "url": {
                        "description": "Absolute http:// or https:// URL.",
                        "type": "string",
                        "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+",
                    },
                    "headers": {
                        "description": "Request headers, name to value.",
                        "type": "object",
                        "propertyNames": {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
                        "additionalProperties": {"type": "string"},
                    },
                    "query": {
                        "description": "Query-string parameters; an array value repeats the parameter, null leaves it out.",
                        "type": "object",
                        "additionalProperties": {
                            "anyOf": [scalar, {"type": "array", "items": scalar}],
                        },
                    },
                    "body": {
                        "description": "Request body: any JSON, sent as JSON; a string is sent as text (see `body_type`).",
                    },
                    "body_type": {
                        "description": "`json` (the default; a string body goes as text), `form` (an object of fields, URL-encoded) or `raw` (text as given).",
                        "enum": ["json", "form", "raw"],
                    },
                    "credential_id": {
                        "description": "Authenticates with a saved credential: `http_bearer`, `http_basic`, `http_header` or `http_query`.",
                        "type": "string",
                    },
                    "fail_on_status": {
                        "description": "Fail the step on a status outside 200-299 (the default); false outputs it like any other response.",
                        "type": "boolean",
                        "default": true,
                    },
                    "timeout_ms": {
                        "description": "Limit for the whole exchange, in milliseconds.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": Self::MAX_TIMEOUT_MS,
                        "default": Self::DEFAULT_TIMEOUT_MS,
                    },
                },
                "required": ["url"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "HTTP Request", "http")
        }
    }

    #[instrument(skip_all, fields(node_id = %ctx.node_id))]
    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: RequestConfig = parse_config(config)?;
        let timeout_ms = config.timeout_ms;
        let fail_on_status = config.fail_on_status;
        let credential = match &config.credential_id {
            Some(id) => Some(auth::credential(ctx, id).await?),
            None => None,
        };
        let request = self.build(ctx, config, credential.as_ref())?;
        // Reads are safe to run in a dry run; anything else is previewed, not sent.
        if ctx.dry_run && !is_read(request.method()) {
            let secrets = credential.as_ref().map(auth::secrets).unwrap_or_default();
            return Ok(NodeOutput::main(json!({
                "dry_run": true,
                "would_send": outbound::preview(&request, &secrets),
            })));
        }
        let label = format!("{} {}", request.method(), redact(request.url()));
        let reply = self
            .outbound
            .send(ctx, Self::KIND, request, timeout_ms)
            .await?;
        if reply.status.is_success() || !fail_on_status {
            return Ok(NodeOutput::main(reply.json));
        }
        let message = format!("http.request: {label} returned {}", reply.status);
        Err(reply.status_error(message))
    }
}

/// GET, HEAD and OPTIONS: methods that do not change anything, so dry runs send them.
fn is_read(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS].contains(method)
}

fn header_map(headers: Map<String, Value>) -> Result<HeaderMap, NodeError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(_) | Value::Number(_) => value.to_string(),
            other => {
                return Err(NodeError::fatal(format!(
                    "http.request: header `{name}` must be a string, got {}",
                    type_name(&other)
                )));
            }
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            NodeError::fatal(format!("http.request: `{name}` is not a valid header name"))
        })?;
        // The value is left out of the message: headers often hold credentials.
        let value = HeaderValue::from_str(&text).map_err(|_| {
            NodeError::fatal(format!(
                "http.request: the value of header `{name}` has invalid characters"
            ))
        })?;
        map.append(header, value);
    }
    Ok(map)
}

fn query_pairs(query: Map<String, Value>) -> Result<Vec<(String, String)>, NodeError> {
    fn text(name: &str, v: Value) -> Result<Option<String>, NodeError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Bool(_) | Value::Number(_) => Ok(Some(v.to_string())),
            other => Err(NodeError::fatal(format!(
                "http.request: query parameter `{name}` must be a string, number, boolean or \
                 an array of those, got {}",
                type_name(&other)
            ))),
        }
    }
    let mut pairs = Vec::new();
    for (name, value) in query {
        let values = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for v in values {
            if let Some(v) = text(&name, v)? {
                pairs.push((name.clone(), v));
            }
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod body_auth_tests;
#[cfg(test)]
mod tests;
