//! Per-node cost: one `execute` of the dealership and data nodes on realistic input, called
//! directly (no executor, no expressions to expand), so each figure is the node's own work.
//!
//! Run: `cargo bench -p automatrix-bench --bench nodes` (results in target/criterion).

use std::sync::Arc;

use automatrix_bench::registry;
use automatrix_core::expr::{Expressions, Limits, Scope};
use automatrix_core::{ExecutionId, NoServices, NodeContext, WorkflowId};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const CARS_COM: &str =
    include_str!("../../crates/automatrix-nodes/src/dealer/adf/samples/cars_com.xml");

fn ctx() -> NodeContext {
    NodeContext {
        execution_id: ExecutionId::new(),
        workflow_id: WorkflowId::new(),
        node_id: "bench".into(),
        attempt: 1,
        cancel: CancellationToken::new(),
        expressions: Expressions::new(1, Limits::default()),
        scope: Arc::new(Scope::default()),
        resume: None,
        services: Arc::new(NoServices),
        dry_run: false,
    }
}

fn csv_text(rows: usize) -> String {
    let mut text = String::from("stock,vin,year,make,model,price\n");
    for i in 0..rows {
        text.push_str(&format!(
            "S{i:04},1HGCM82633A{i:06},2021,Honda,Civic,{}\n",
            20_000 + i
        ));
    }
    text
}

fn nodes(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reg = registry();
    let ctx = ctx();
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        (
            "node/dealer.adf_parse/cars_com",
            "dealer.adf_parse",
            json!({"xml": CARS_COM}),
            Value::Null,
        ),
        (
            "node/dealer.vin_decode",
            "dealer.vin_decode",
            json!({"vin": "1HGCM82633A004352"}),
            Value::Null,
        ),
        (
            "node/dealer.phone_normalize",
            "dealer.phone_normalize",
            json!({"phone": "(555) 987-6543 x27"}),
            Value::Null,
        ),
        (
            "node/data.csv/parse_100_rows",
            "data.csv",
            json!({"operation": "parse", "text": csv_text(100)}),
            Value::Null,
        ),
        (
            "node/transform.json/pick_filter",
            "transform.json",
            json!({"operation": "pick", "path": "$.vehicles[?@.price < 30000].vin"}),
            json!({"vehicles": (0..50).map(|i| json!({"vin": format!("V{i}"), "price": 25_000 + i * 200})).collect::<Vec<_>>()}),
        ),
        (
            "node/logic.switch/equals_4_cases",
            "logic.switch",
            json!({"value": "autotrader", "cases": [
                {"equals": "cars.com", "output": "cars"}, {"equals": "web", "output": "web"},
                {"equals": "phone", "output": "phone"}, {"equals": "autotrader", "output": "at"}]}),
            Value::Null,
        ),
    ];
    for (name, kind, config, input) in cases {
        let node = reg
            .get(kind)
            .unwrap_or_else(|| panic!("{kind}"))
            .node
            .clone();
        rt.block_on(node.execute(&ctx, config.clone(), input.clone()))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        c.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(node.execute(&ctx, config.clone(), input.clone()))
                    .unwrap()
            });
        });
    }
}

criterion_group!(benches, nodes);
criterion_main!(benches);
