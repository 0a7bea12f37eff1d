//! Authentication of `http.request` from a saved credential.

use automatrix_core::{Credential, NodeContext, NodeError};
use reqwest::RequestBuilder;
use reqwest::header::{HeaderName, HeaderValue};

/// The credential types `http.request` takes.
pub const KINDS: [&str; 4] = ["http_bearer", "http_basic", "http_header", "http_query"];

/// Credential `id`, when it is one of [`KINDS`].
pub async fn credential(ctx: &NodeContext, id: &str) -> Result<Credential, NodeError> {
    ctx.credential("http.request", id, &KINDS).await
}

/// The credential's secret values, for redaction (a basic-auth username is not one; it goes
/// out inside the `Authorization` header, which is redacted whole).
pub fn secrets(credential: &Credential) -> Vec<&str> {
    ["token", "password", "value"]
        .into_iter()
        .filter_map(|field| credential.optional_text(field))
        .collect()
}

/// Adds the credential to the request. A header of the credential replaces one of the same
/// name set in the node's `headers`.
pub fn apply(request: RequestBuilder, credential: &Credential) -> RequestBuilder {
    match credential.kind.as_str() {
        "http_bearer" => request.bearer_auth(credential.text("token")),
        "http_basic" => request.basic_auth(
            credential.text("username"),
            credential.optional_text("password"),
        ),
        "http_header" => {
            let name = HeaderName::from_bytes(credential.text("name").as_bytes());
            let value = HeaderValue::from_str(credential.text("value"));
            match (name, value) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    let mut headers = reqwest::header::HeaderMap::new();
                    headers.insert(name, value);
                    request.headers(headers)
                }
                // Caught when the request is built: a builder error, without the value.
                _ => request.header("", ""),
            }
        }
        "http_query" => request.query(&[(credential.text("name"), credential.text("value"))]),
        _ => request,
    }
}
