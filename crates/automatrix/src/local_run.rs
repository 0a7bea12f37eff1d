//! `automatrix run` and `automatrix validate`: a workflow file, in-process, no database.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use async_trait::async_trait;
use automatrix_core::{ExecutionId, StepStatus, WorkflowId, validate_definition};
use automatrix_engine::{
    Checkpoint, CheckpointError, Executor, ExecutorConfig, PriorStep, RunOutcome, RunPlan,
    StepRecord,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::runtime::{expressions, gateway, registry};

fn read_definition(file: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))
}

pub fn validate(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let def = read_definition(file)?;
    match validate_definition(&def, &registry(config, &gateway()?)) {
        Ok(wf) => {
            println!(
                "{}: valid ({} nodes, {} edges)",
                file.display(),
                wf.definition.nodes.len(),
                wf.definition.edges.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for p in &problems {
                let path = if p.path.is_empty() { "(root)" } else { &p.path };
                println!("{path}: {}", p.issue);
            }
            eprintln!("{}: {} problem(s)", file.display(), problems.len());
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn run(config: &Config, file: &Path, input: Option<&str>) -> anyhow::Result<ExitCode> {
    let def = read_definition(file)?;
    let input: Value = match input {
        Some(text) => serde_json::from_str(text).context("--input is not valid JSON")?,
        None => Value::Object(Default::default()),
    };
    let registry = Arc::new(registry(config, &gateway()?));
    let workflow = match validate_definition(&def, &registry) {
        Ok(wf) => wf,
        Err(problems) => {
            for p in &problems {
                eprintln!("{}: {}", p.path, p.issue);
            }
            anyhow::bail!(
                "{} is invalid ({} problem(s))",
                file.display(),
                problems.len()
            );
        }
    };
    // Every step start is shown, however quick.
    let config = ExecutorConfig {
        show_running_after: std::time::Duration::ZERO,
        ..ExecutorConfig::default()
    };
    let executor = Executor::new(registry, expressions(), config);
    let workflow = Arc::new(workflow);
    let (execution_id, workflow_id) = (ExecutionId::new(), WorkflowId::new());
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    let progress = Progress::default();
    let started = Instant::now();
    let mut prior = HashMap::new();
    let outcome = loop {
        let plan = RunPlan {
            execution_id,
            workflow_id,
            workflow: workflow.clone(),
            input: input.clone(),
            attempt: 1,
            prior,
            services: Arc::new(automatrix_core::NoServices),
            dry_run: false,
        };
        match executor.run(plan, &progress, cancel.clone()).await {
            // A durable wait: there is no store here, so wait in-process and resume.
            RunOutcome::Waiting {
                resume_at: Some(at),
            } => {
                eprintln!("… waiting until {}", at.to_rfc3339());
                let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = cancel.cancelled() => break RunOutcome::Cancelled,
                }
                prior = progress.prior();
            }
            RunOutcome::Waiting { resume_at: None } => {
                break RunOutcome::Failed("the workflow waits for an approval; run it on a server (`automatrix serve`) to decide".into());
            }
            other => break other,
        }
    };
    let elapsed = started.elapsed().as_millis();
    match outcome {
        RunOutcome::Completed(output) => {
            eprintln!("completed in {elapsed} ms");
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(ExitCode::SUCCESS)
        }
        RunOutcome::Failed(msg) => {
            eprintln!("failed after {elapsed} ms: {msg}");
            Ok(ExitCode::from(1))
        }
        RunOutcome::Waiting { .. } | RunOutcome::Cancelled | RunOutcome::Abandoned => {
            eprintln!("cancelled after {elapsed} ms");
            Ok(ExitCode::from(130))
        }
    }
}

/// Prints one line per step state to stderr and keeps each node's latest state, so a run
/// that waited can resume.
#[derive(Default)]
struct Progress {
    latest: Mutex<HashMap<String, StepRecord>>,
}

impl Progress {
    fn prior(&self) -> HashMap<String, PriorStep> {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        latest
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    PriorStep::from_latest(r.status, r.attempt, r.port.clone(), r.output.clone()),
                )
            })
            .collect()
    }
}

#[async_trait]
impl Checkpoint for Progress {
    async fn record(&self, s: &StepRecord) -> Result<(), CheckpointError> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(s.node_id.clone(), s.clone());
        let ms = s
            .duration_ms
            .map(|d| format!(" ({d} ms)"))
            .unwrap_or_default();
        let retry = if s.attempt > 1 {
            format!(" attempt {}", s.attempt)
        } else {
            String::new()
        };
        let line = match s.status {
            StepStatus::Running => format!("▶ {} [{}]{retry}", s.node_id, s.node_type),
            StepStatus::Completed => {
                let port = s
                    .port
                    .as_deref()
                    .filter(|p| *p != "main")
                    .map(|p| format!(" → {p}"))
                    .unwrap_or_default();
                format!("✓ {}{port}{ms}", s.node_id)
            }
            StepStatus::Failed => format!(
                "✗ {}{retry}{ms}: {}",
                s.node_id,
                s.error.as_deref().unwrap_or("failed")
            ),
            StepStatus::Skipped => format!("– {} skipped", s.node_id),
            other => format!("· {} {other}", s.node_id),
        };
        eprintln!("{line}");
        Ok(())
    }
}
