//! In-process engine benchmarks: expression evaluation (through the sandbox pool and on a
//! sandbox directly), definition validation, and in-memory runs (a 10-step chain; a 100-wide
//! fan-out joined by a merge), no checkpoint.
//!
//! Run: `cargo bench -p automatrix-bench --bench engine` (results in target/criterion). The
//! durable (checkpointed) runs are in `drain.rs`.

use std::sync::Arc;
use std::time::Duration;

use automatrix_bench::{chain, fan_out, registry};
use automatrix_core::expr::{Expressions, Limits, Sandbox, Scope, SourceKind};
use automatrix_core::{ExecutionId, WorkflowId, validate_definition};
use automatrix_engine::{Executor, ExecutorConfig, NoCheckpoint, RunOutcome, RunPlan};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const EXPR: &str =
    "({priority: $json.score > 50 ? 'hot' : 'cold', name: $json.name.toUpperCase()})";

fn scope() -> Arc<Scope> {
    Arc::new(Scope {
        json: json!({"score": 72, "name": "ada lovelace"}),
        ..Scope::default()
    })
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
    let def = chain(10, true);
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
    for (name, def) in [
        ("run/10_steps_in_memory", chain(10, false)),
        ("run/10_steps_in_memory_with_expressions", chain(10, true)),
        // 1 trigger -> 100 parallel `transform.set` -> `logic.merge`, at most
        // `max_parallel_steps` (16 by default) running at once.
        ("run/fan_out_100_in_memory", fan_out(100)),
    ] {
        let wf = Arc::new(validate_definition(&def, &reg).unwrap());
        c.bench_function(name, |b| {
            b.iter(|| {
                let plan = RunPlan {
                    execution_id: ExecutionId::new(),
                    workflow_id: WorkflowId::new(),
                    workflow: wf.clone(),
                    input: json!({"score": 1}),
                    attempt: 1,
                    prior: Default::default(),
                    services: Arc::new(automatrix_core::NoServices),
                    dry_run: false,
                };
                let out = rt.block_on(executor.run(plan, &NoCheckpoint, CancellationToken::new()));
                assert!(matches!(out, RunOutcome::Completed(_)));
            });
        });
    }
}

criterion_group!(benches, expressions, validation, runs);
criterion_main!(benches);
