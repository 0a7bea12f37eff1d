//! The HTTP exchange every remote provider shares: send a JSON body, class the status, parse
//! the JSON answer (or hand over the response of a stream), and keep the API key out of every
//! error.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, header::HeaderMap};
use serde_json::Value;

use crate::provider::ProviderError;

/// How much of a server's error message an error keeps.
const MAX_MESSAGE: usize = 300;

/// Sends `request` and returns the JSON body of a 2xx answer. `secret` (the API key, if any)
/// is removed from any text of the server that ends up in an error.
pub(crate) async fn exchange(
    request: RequestBuilder,
    secret: Option<&str>,
) -> Result<Value, ProviderError> {
    let bytes = open(request, secret)
        .await?
        .bytes()
        .await
        .map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed(format!("not JSON ({e})")))
}

/// Sends `request` and returns a 2xx response once its headers are in, with the body unread;
/// any other status is classed as [`exchange`] classes it.
pub(crate) async fn open(
    request: RequestBuilder,
    secret: Option<&str>,
) -> Result<Response, ProviderError> {
    let response = request.send().await.map_err(transport)?;
    if response.status().is_success() {
        return Ok(response);
    }
    let mut error = classify(
        response.status().as_u16(),
        retry_after(response.headers(), chrono::Utc::now()),
    );
    if let ProviderError::Rejected { message, .. } = &mut error {
        *message = error_message(&response.text().await.unwrap_or_default(), secret);
    }
    Err(error)
}

/// A failed request or body read, classed. Never the error's text: it names the URL, and a
/// base URL may carry user:password.
pub(crate) fn transport(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else if e.is_body() || e.is_decode() {
        ProviderError::Malformed("the body could not be read".into())
    } else {
        ProviderError::Connect
    }
}

/// The error for a status that is not a success; a rejection's message is left empty for
/// the caller to fill.
fn classify(status: u16, retry_after: Option<Duration>) -> ProviderError {
    match status {
        429 => ProviderError::RateLimited { retry_after },
        408 => ProviderError::Timeout,
        500..=599 => ProviderError::Server(status),
        status => ProviderError::Rejected {
            status,
            message: String::new(),
        },
    }
}

/// An error event inside a stream (`{"type": "error", "error": {"type", "message"}}` from
/// Anthropic, `{"error": {…}}` from OpenAI), classed by the status its type stands for:
/// rate limits as 429, `overloaded_error` as 529, client errors by their status, anything
/// else as 500.
pub(crate) fn stream_error(body: &Value, secret: Option<&str>) -> ProviderError {
    let status = match body.pointer("/error/type").and_then(Value::as_str) {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("request_too_large") => 413,
        Some("rate_limit_error" | "rate_limit_exceeded") => 429,
        Some("overloaded_error") => 529,
        _ => 500,
    };
    let mut error = classify(status, None);
    if let ProviderError::Rejected { message, .. } = &mut error {
        *message = error_message(&body.to_string(), secret);
    }
    error
}

/// The message of an OpenAI or Anthropic error body (`{"error": {"message": …}}`), else the
/// body's text; shortened, and with the secret replaced.
pub(crate) fn error_message(body: &str, secret: Option<&str>) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let text = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error"))
        })
        .and_then(Value::as_str)
        .unwrap_or(body)
        .trim();
    let mut text = match secret {
        Some(s) if !s.is_empty() => text.replace(s, "[redacted]"),
        _ => text.to_owned(),
    };
    if text.chars().count() > MAX_MESSAGE {
        text = text.chars().take(MAX_MESSAGE).collect::<String>() + "…";
    }
    if text.is_empty() {
        "no message".into()
    } else {
        text
    }
}

/// `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`.
pub(crate) fn retry_after(
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return millis(ms);
    }
    let value = get("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return millis(seconds * 1000.0);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

fn millis(ms: f64) -> Option<Duration> {
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
}

/// `base` without a trailing slash, then `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// A token count from a usage object (absent counts as 0: some compatible servers omit usage).
pub(crate) fn count(usage: Option<&Value>, field: &str) -> u64 {
    usage
        .and_then(|u| u.get(field))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Thu, 01 Jan 2026 00:00:05 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(150)));
    }

    #[test]
    fn error_messages_lose_the_key_and_stay_short() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-live-123.","type":"invalid_request_error"}}"#;
        assert_eq!(
            error_message(body, Some("sk-live-123")),
            "Incorrect API key provided: [redacted]."
        );
        assert_eq!(
            error_message("plain sk-live-123", Some("sk-live-123")),
            "plain [redacted]"
        );
        assert_eq!(error_message("", None), "no message");
        assert_eq!(error_message(&"x".repeat(1000), None).chars().count(), 301);
    }
}
