//! Azure OpenAI: OpenAI's chat completions at
//! `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`, with the key
//! in an `api-key` header. The deployment picks the model; the body's `model` is ignored there.

use reqwest::Client;

use crate::http;
use crate::openai::{Auth, OpenAiChat};

/// An Azure OpenAI deployment.
pub fn azure_openai(
    client: Client,
    endpoint: &str,
    deployment: &str,
    api_version: &str,
    api_key: &str,
) -> OpenAiChat {
    let url = format!(
        "{}/chat/completions?api-version={}",
        http::join(
            endpoint,
            &format!("/openai/deployments/{}", encode(deployment))
        ),
        encode(api_version)
    );
    OpenAiChat {
        kind: "azure_openai",
        client,
        url,
        auth: Auth::ApiKey(api_key.to_owned()),
        organization: None,
    }
}

/// Percent-encodes everything but unreserved characters, so a name stays one path segment.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_deployment_and_version() {
        let p = azure_openai(
            crate::gateway::http_client().unwrap(),
            "https://acme.openai.azure.com/",
            "gpt4o mini",
            "2024-10-21",
            "k",
        );
        assert_eq!(
            p.url,
            "https://acme.openai.azure.com/openai/deployments/gpt4o%20mini/chat/completions?api-version=2024-10-21"
        );
    }
}
