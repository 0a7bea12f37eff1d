//! In-process engine benchmarks: expression evaluation (through the sandbox pool and on a
//! sandbox directly), definition validation, and an in-memory 10-step run.
//!
//! Run: `cargo bench -p automatrix-bench` (results in target/criterion).

use std::sync::Arc;
use std::time::Duration;

use automatrix_core::expr::{Expressions, Limits, Sandbox, Scope, SourceKind};
use automatrix_core::{ExecutionId, NodeRegistry, WorkflowId, validate_definition};
use automatrix_engine::{Executor, ExecutorConfig, NoCheckpoint, RunOutcome, RunPlan};
use automatrix_nodes::{HttpPolicy, NodesConfig, register_builtin};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const EXPR: &str =
    "({priority: $json.score > 50 ? 'hot' : 'cold', name: $json.name.toUpperCase()})";

fn scope() -> Arc<Scope> {
    Arc::new(Scope {
        json: json!({"score": 72, "name": "ada lovelace"}),
        ..Scope::default()
    })
}

fn registry() -> Arc<NodeRegistry> {
    let mut r = NodeRegistry::new();
    register_builtin(
        &mut r,
        &NodesConfig {
            http: HttpPolicy {
                allow_private: false,
                allow_hosts: Vec::new(),
            },
        },
    );
    Arc::new(r)
}

/// A trigger and nine `transform.set` steps in a chain; `with_expr` puts an expression in each.
fn ten_steps(with_expr: bool) -> Value {
    let mut nodes = vec![json!({"id": "n0", "type": "trigger.manual"})];
    let mut edges = Vec::new();
    for i in 1..10 {
        let value = if with_expr {
            json!("{{ $json.score + 1 }}")
        } else {
            json!(i)
        };
        nodes.push(json!({"id": format!("n{i}"), "type": "transform.set", "config": {"fields": {"score": value, format!("step{i}"): true}}}));
        edges.push(json!({"from": format!("n{}", i - 1), "to": format!("n{i}")}));
    }
    json!({"nodes": nodes, "edges": edges})
}

fn expressions(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = Expressions::new(1, Limits::default());
    let config = json!({"lead": format!("{{{{ {EXPR} }}}}")});
    c.bench_function("expression/pool_resolve", |b| {
        b.iter(|| rt.block_on(pool.resolve(&config, &[], scope())).unwrap());
    });
    let mut sandbox = Sandbox::new(&Limits::default()).unwrap();
    let s = scope();
    c.bench_function("expression/sandbox_call", |b| {
        b.iter(|| {
            sandbox
                .call(SourceKind::Expression, EXPR, &s, Duration::from_secs(1))
                .unwrap()
        });
    });
    c.bench_function("expression/fresh_sandbox_per_call", |b| {
        b.iter(|| {
            let mut sb = Sandbox::new(&Limits::default()).unwrap();
            sb.call(SourceKind::Expression, EXPR, &s, Duration::from_secs(1))
                .unwrap()
        });
    });
}

fn validation(c: &mut Criterion) {
    let reg = registry();
    let def = ten_steps(true);
    c.bench_function("validate/10_nodes_with_expressions", |b| {
        b.iter(|| validate_definition(&def, &reg).unwrap());
    });
}

fn runs(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg = registry();
    let executor = Executor::new(
        reg.clone(),
        Expressions::new(2, Limits::default()),
        ExecutorConfig::default(),
    );
    for (name, with_expr) in [
        ("run/10_steps_in_memory", false),
        ("run/10_steps_in_memory_with_expressions", true),
    ] {
        let wf = Arc::new(validate_definition(&ten_steps(with_expr), &reg).unwrap());
        c.bench_function(name, |b| {
            b.iter(|| {
                let plan = RunPlan {
                    execution_id: ExecutionId::new(),
                    workflow_id: WorkflowId::new(),
                    workflow: wf.clone(),
                    input: json!({"score": 1}),
                    attempt: 1,
                    prior: Default::default(),
                };
                let out = rt.block_on(executor.run(plan, &NoCheckpoint, CancellationToken::new()));
                assert!(matches!(out, RunOutcome::Completed(_)));
            });
        });
    }
}

criterion_group!(benches, expressions, validation, runs);
criterion_main!(benches);
