//! Workload W5 of the suite (`bench/suite.py`): what an expression or code step costs, the way
//! the executor runs one: the step's config expanded (`Expressions::resolve`, which reads
//! plain paths directly and hands anything else to a QuickJS sandbox thread), then the node's
//! `execute`. Each case runs its step back to back from one async task on a one-thread
//! runtime, with the product's sandbox pool; it reports the latency of a step (p50 / p99, µs)
//! and steps per second per core (steps ÷ CPU seconds of the whole process, sandbox thread
//! included).
//!
//! Run: `cargo bench -p automatrix-bench --bench sandbox` (prints a Markdown table). Without
//! `--bench` (`cargo test --all-targets`) it is a smoke test of 50 steps per case.
//! Environment: `AUTOMATRIX_BENCH_STEPS` (steps per case, default 20,000),
//! `AUTOMATRIX_BENCH_JSON` (a file to write the rows to as JSON as well).

use std::sync::Arc;
use std::time::{Duration, Instant};

use automatrix_bench::{process_cpu_seconds, registry};
use automatrix_core::expr::{Expressions, Limits, Scope};
use automatrix_core::{ExecutionId, NoServices, NodeContext, WorkflowId};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The suite's request body, as the webhook trigger hands it on.
fn input() -> Value {
    json!({"body": {"lead": {"name": "Ana", "email": "ana@example.com", "vehicle": "2024 Civic"}, "score": 72},
           "query": {}, "headers": {"content-type": "application/json"}, "method": "POST"})
}

struct Case {
    name: &'static str,
    kind: &'static str,
    config: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "transform.set, no expression",
            kind: "transform.set",
            config: json!({"fields": {"priority": "hot"}}),
        },
        Case {
            name: "transform.set, a plain read (`$json.body.lead.email`)",
            kind: "transform.set",
            config: json!({"fields": {"email": "{{ $json.body.lead.email }}"}}),
        },
        Case {
            name: "transform.set, W1's ternary (`$json.body.score > 50 ? \"hot\" : \"cold\"`)",
            kind: "transform.set",
            config: json!({"fields": {"priority": "{{ $json.body.score > 50 ? \"hot\" : \"cold\" }}"}}),
        },
        Case {
            name: "logic.if (`$json.body.score > 50`)",
            kind: "logic.if",
            config: json!({"condition": "{{ $json.body.score > 50 }}"}),
        },
        Case {
            name: "transform.set, a method call (`$json.body.lead.name.toUpperCase()`)",
            kind: "transform.set",
            config: json!({"fields": {"name": "{{ $json.body.lead.name.toUpperCase() }}"}}),
        },
        Case {
            name: "code.js (spread the input, add priority)",
            kind: "code.js",
            config: json!({"code": "return { ...$json.body, priority: $json.body.score > 50 ? 'hot' : 'cold' };"}),
        },
    ]
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let steps: usize = match std::env::var("AUTOMATRIX_BENCH_STEPS") {
        Ok(v) if full => v.trim().parse().expect("AUTOMATRIX_BENCH_STEPS: a number"),
        _ if full => 20_000,
        _ => 50,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let reg = registry();
    // The server's pool: as many sandbox threads as it starts by default.
    let expressions = Expressions::new(2, Limits::default());
    println!("# sandbox (W5): {steps} steps per case, one caller");
    println!();
    println!("| step | p50 (µs) | p99 (µs) | steps/s per core |");
    println!("|---|---|---|---|");
    let mut rows = Vec::new();
    for case in cases() {
        let spec = reg.get(case.kind).expect("a built-in node");
        let node = spec.node.clone();
        let skip = spec.spec.code_fields.clone();
        let scope = Arc::new(Scope {
            json: input(),
            trigger: input(),
            ..Scope::default()
        });
        let ctx = NodeContext {
            execution_id: ExecutionId::new(),
            workflow_id: WorkflowId::new(),
            node_id: "bench".into(),
            attempt: 1,
            cancel: CancellationToken::new(),
            expressions: expressions.clone(),
            scope: scope.clone(),
            resume: None,
            services: Arc::new(NoServices),
            dry_run: false,
        };
        let step = || async {
            let config = expressions
                .resolve(&case.config, &skip, scope.clone())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            node.execute(&ctx, config, input())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.name))
        };
        let (latencies, cpu) = runtime.block_on(async {
            for _ in 0..steps.min(1000) / 10 {
                step().await; // warm-up
            }
            let mut latencies = Vec::with_capacity(steps);
            let cpu = process_cpu_seconds();
            for _ in 0..steps {
                let t = Instant::now();
                step().await;
                latencies.push(t.elapsed());
            }
            (latencies, process_cpu_seconds() - cpu)
        });
        let mut sorted = latencies;
        sorted.sort();
        let (p50, p99) = (percentile(&sorted, 50), percentile(&sorted, 99));
        let per_core = steps as f64 / cpu.max(1e-9);
        println!("| {} | {p50:.1} | {p99:.1} | {per_core:.0} |", case.name);
        rows.push(json!({"step": case.name, "node": case.kind, "p50_us": p50, "p99_us": p99, "steps_per_core_s": per_core, "steps": steps}));
    }
    if let Ok(path) = std::env::var("AUTOMATRIX_BENCH_JSON") {
        std::fs::write(&path, serde_json::to_vec_pretty(&rows).expect("json"))
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}
