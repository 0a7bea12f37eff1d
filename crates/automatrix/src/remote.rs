//! `automatrix export` and `automatrix import`: clients of a running server's
//! `GET /api/workflows/{id}/export` and `POST /api/workflows/import` (docs/api.md, "Export and
//! import"), authenticated by an access token or an API key. Exit code 0 on success, 1 when the
//! server refuses (its error message and every detail printed) or cannot be reached; clap
//! answers bad usage with 2.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use uuid::Uuid;

/// Where the server is and how to authenticate to it.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(
        long,
        env = "AUTOMATRIX_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// An access token or an API key (`amx_…`).
    #[arg(long, env = "AUTOMATRIX_TOKEN", hide_env_values = true)]
    pub token: String,
}

/// Writes workflow `id`'s export document to `out`, or to stdout.
pub async fn export(server: &ServerArgs, id: Uuid, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let res = client()?
        .get(url(server, &format!("/api/workflows/{id}/export")))
        .bearer_auth(&server.token)
        .send()
        .await
        .with_context(|| format!("reaching {}", server.server))?;
    let Some(doc) = answer(res).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "exported `{}` to {}",
                doc["name"].as_str().unwrap_or(""),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports the document in `file` as a new workflow; prints its id on stdout.
pub async fn import(server: &ServerArgs, file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let doc: Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a JSON document", file.display()))?;
    let res = client()?
        .post(url(server, "/api/workflows/import"))
        .bearer_auth(&server.token)
        .json(&doc)
        .send()
        .await
        .with_context(|| format!("reaching {}", server.server))?;
    let Some(created) = answer(res).await? else {
        return Ok(ExitCode::FAILURE);
    };
    eprintln!(
        "imported `{}` as a new workflow",
        created["name"].as_str().unwrap_or("")
    );
    println!("{}", created["id"].as_str().unwrap_or(""));
    Ok(ExitCode::SUCCESS)
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

fn url(server: &ServerArgs, path: &str) -> String {
    format!("{}{path}", server.server.trim_end_matches('/'))
}

/// The body of a successful answer; otherwise prints the server's error (message and every
/// `path: issue` detail) on stderr and gives `None`.
async fn answer(res: reqwest::Response) -> anyhow::Result<Option<Value>> {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(Some(body));
    }
    let error = &body["error"];
    eprintln!(
        "error: {} {}: {}",
        status.as_u16(),
        error["code"].as_str().unwrap_or("ERROR"),
        error["message"]
            .as_str()
            .unwrap_or("the server gave no message"),
    );
    for detail in error["details"].as_array().into_iter().flatten() {
        eprintln!(
            "  {}: {}",
            detail["path"].as_str().unwrap_or(""),
            detail["issue"].as_str().unwrap_or("")
        );
    }
    Ok(None)
}
