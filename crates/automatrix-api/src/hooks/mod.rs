//! `ANY /hooks/{token}`: the public entry point of workflows whose trigger is
//! `trigger.webhook`. The token (128 bits or more) is the caller's credential; the trigger's
//! config may demand more (an HMAC signature of the body, or a header), limits the methods, and
//! says whether the caller waits for the workflow's output.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use automatrix_core::ExecutionStatus;
use automatrix_core::definition::raw_config;
use automatrix_engine::Awaited;

use crate::error::ApiError;
use crate::request_id::RequestOrigin;
use crate::state::AppState;

use crate::limits::RateLimit;

/// The signature header of a webhook with a `secret`.
pub const SIGNATURE_HEADER: &str = "x-signature-256";
/// The header that makes a call idempotent.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Set on the answer to a repeated `Idempotency-Key`.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What a `respond: immediately` call (or a call that waited too long) gets.
#[derive(serde::Serialize, ToSchema)]
pub struct HookAccepted {
    pub execution_id: Uuid,
}

/// The config of `trigger.webhook` (see the node's schema; validated when the workflow was
/// saved).
#[derive(Deserialize, Default)]
#[serde(default)]
struct HookConfig {
    respond: Respond,
    methods: Option<Vec<String>>,
    secret: Option<String>,
    header: Option<RequiredHeader>,
    timeout_ms: Option<u64>,
    rate_limit: Option<RateLimit>,
}

#[derive(Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Respond {
    #[default]
    Immediately,
    OnCompletion,
}

#[derive(Deserialize)]
struct RequiredHeader {
    name: String,
    value: String,
}

/// How long `respond: on_completion` waits by default.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Runs the workflow of a webhook with the request as its input: 202 with the execution id,
/// or (`respond: on_completion`) 200 with its output once it finished.
#[utoipa::path(
    method(get, post, put, patch, delete), path = "/hooks/{token}", tag = "webhooks",
    params(("token" = String, Path, description = "The webhook's token (from `webhook_url`)")),
    request_body(content = String, description = "Any body: JSON is parsed, a form post becomes a map, anything else arrives as text", content_type = "application/json"),
    responses(
        (status = 200, description = "`respond: on_completion`: the workflow's output, or what its `respond.webhook` step set (status, headers and body)", body = Object),
        (status = 202, description = "Stored; the workflow runs (or is still running)", body = HookAccepted),
        (status = 400, description = "Malformed JSON sent as JSON", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong signature or header", body = crate::ErrorBody),
        (status = 404, description = "No active webhook has this token", body = crate::ErrorBody),
        (status = 405, description = "The webhook does not accept this method", body = crate::ErrorBody),
        (status = 413, description = "The body is over the webhook limit", body = crate::ErrorBody),
        (status = 429, description = "Over the webhook's rate limit; `Retry-After` says when to come back", body = crate::ErrorBody),
        (status = 500, description = "`respond: on_completion`: the workflow failed", body = crate::ErrorBody),
    ),
    security(())
)]
pub async fn call_hook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    request: Request,
) -> Result<Response, ApiError> {
    let workflow = state
        .engine
        .find_webhook(&token)
        .await?
        .filter(|w| w.is_active)
        .ok_or(ApiError::NotFound)?;
    let config = hook_config(&workflow.definition.0);
    if let Some(limit) = config.rate_limit {
        state
            .hook_limits
            .take(workflow.id, limit, std::time::Instant::now())
            .map_err(crate::limits::retry_after)?;
    }
    let (parts, body) = request.into_parts();
    if let Some(methods) = &config.methods
        && !methods.iter().any(|m| m == parts.method.as_str())
    {
        return Err(ApiError::MethodNotAllowed);
    }
    let raw = read_body(body, state.config.webhook_max_bytes).await?;
    authenticate(&config, &parts.headers, &raw)?;
    let input = json!({
        "body": parse_body(&parts.headers, &raw)?,
        "query": query_map(parts.uri.query()),
        "headers": header_map(&parts.headers),
        "method": parts.method.as_str(),
    });
    let key = idempotency_key(&parts.headers)?;
    if config.respond == Respond::Immediately {
        let (execution, created) = state
            .engine
            .start_workflow(&workflow, input, key.as_deref(), origin)
            .await?;
        return Ok(accepted(execution.id, !created));
    }
    // The caller waits for the outcome: run it here and now when this process may.
    let started = state
        .engine
        .start_here(&workflow, input, key.as_deref(), origin)
        .await?;
    let (id, replayed) = (started.execution.id, !started.created);
    let wait = config
        .timeout_ms
        .map_or(DEFAULT_WAIT, Duration::from_millis);
    let look = state.engine.answers_webhooks(&workflow.definition.0);
    let awaited = match started.run {
        Some(run) if !look => state.engine.wait_for_run(run, wait).await,
        _ => {
            state
                .engine
                .wait_for_answer(workflow.organization_id, id, look, wait)
                .await?
        }
    };
    match awaited {
        Awaited::Responded(answer) => Ok(respond_with(&answer, replayed)),
        Awaited::Finished(done) if done.status == ExecutionStatus::Completed => {
            let output = done.output.unwrap_or(Value::Null);
            Ok(answer(StatusCode::OK, Json(output), replayed))
        }
        Awaited::Finished(_) => Err(ApiError::ExecutionFailed(id)),
        Awaited::Pending => Ok(accepted(id, replayed)),
    }
}

/// 202 with the execution's id.
fn accepted(execution_id: Uuid, replayed: bool) -> Response {
    answer(
        StatusCode::ACCEPTED,
        Json(HookAccepted { execution_id }),
        replayed,
    )
}

fn answer(status: StatusCode, body: impl IntoResponse, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}

/// The answer a `respond.webhook`-style step set: `{status, body, headers}`; a string body
/// goes as text, anything else as JSON; a header that is not a valid header is left out.
fn respond_with(set: &Value, replayed: bool) -> Response {
    let status = set["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = match &set["body"] {
        Value::String(text) => answer(status, text.clone(), replayed),
        body => answer(status, Json(body.clone()), replayed),
    };
    for (name, value) in set["headers"].as_object().into_iter().flatten() {
        let (Ok(name), Some(Ok(value))) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) else {
            continue;
        };
        response.headers_mut().insert(name, value);
    }
    response
}

/// The webhook trigger's config in the workflow's current definition.
fn hook_config(definition: &Value) -> HookConfig {
    raw_config(definition, "trigger.webhook")
        .and_then(|c| HookConfig::deserialize(c).ok())
        .unwrap_or_default()
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// The signature (`X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`) and the
/// required header, each compared in constant time.
fn authenticate(config: &HookConfig, headers: &HeaderMap, raw: &[u8]) -> Result<(), ApiError> {
    if let Some(secret) = &config.secret {
        let given = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("sha256="))
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or(ApiError::Unauthorized(
                "missing or malformed X-Signature-256",
            ))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| ApiError::Internal(format!("hmac key: {e}")))?;
        mac.update(raw);
        mac.verify_slice(&given)
            .map_err(|_| ApiError::Unauthorized("the signature does not match the body"))?;
    }
    if let Some(required) = &config.header {
        let given = headers
            .get(required.name.as_str())
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(given.ct_eq(required.value.as_bytes())) {
            return Err(ApiError::Unauthorized(
                "missing or wrong authentication header",
            ));
        }
    }
    Ok(())
}

/// JSON (any `…/json` or `…+json` type) parsed, a form post as a map of its fields, anything
/// else as text; null when empty.
fn parse_body(headers: &HeaderMap, raw: &[u8]) -> Result<Value, ApiError> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime.ends_with("/json") || mime.ends_with("+json") {
        return serde_json::from_slice(raw)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")));
    }
    if mime == "application/x-www-form-urlencoded" {
        return Ok(Value::Object(pairs(raw)));
    }
    Ok(Value::String(String::from_utf8_lossy(raw).into_owned()))
}

fn query_map(query: Option<&str>) -> Value {
    Value::Object(pairs(query.unwrap_or_default().as_bytes()))
}

/// `a=1&b=2` as `{a, b}`; a repeated name keeps its last value.
fn pairs(encoded: &[u8]) -> Map<String, Value> {
    form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// Lower-case names; a repeated header's values joined with `, `.
fn header_map(headers: &HeaderMap) -> Value {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    json!(map)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible characters".into())
        })?;
    Ok(Some(key.to_owned()))
}

/// The webhook route, for every method (a trigger's `methods` narrows them per workflow).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(call_hook))
}
