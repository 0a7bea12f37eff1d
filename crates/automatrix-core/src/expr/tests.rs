use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;

fn pool() -> Expressions {
    let limits = Limits {
        memory_bytes: 16 * 1024 * 1024,
        expression_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    Expressions::new(1, limits)
}

fn scope() -> Arc<Scope> {
    Arc::new(Scope {
        json: json!({"score": 72, "name": "ada", "tags": ["a", "b"]}),
        trigger: json!({"body": {"email": "a@b.c"}}),
        nodes: json!({"lead": {"id": 7}}).as_object().unwrap().clone(),
        vars: json!({"dealer": "Main St Motors"}),
        execution: json!({"id": "x", "workflow_id": "y", "attempt": 1}),
        now: "2026-11-22T00:00:00Z".into(),
    })
}

#[tokio::test]
async fn a_whole_expression_keeps_its_json_type() {
    let out = pool()
        .resolve(
            &json!({"hot": "{{ $json.score > 50 }}", "n": "{{ $json.score + 1 }}"}),
            &[],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"hot": true, "n": 73}));
}

#[tokio::test]
async fn text_with_expressions_is_interpolated() {
    let out = pool()
        .resolve(
            &json!(["Hi {{ $json.name.toUpperCase() }} from {{ $vars.dealer }}{{ null }}"]),
            &[],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(out, json!(["Hi ADA from Main St Motors"]));
}

#[tokio::test]
async fn every_context_variable_is_visible() {
    let out = pool()
        .resolve(
            &json!({"a": "{{ $trigger.body.email }}", "b": "{{ $node['lead'].id }}", "c": "{{ $execution.attempt }}", "d": "{{ $now }}"}),
            &[],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"a": "a@b.c", "b": 7, "c": 1, "d": "2026-11-22T00:00:00Z"})
    );
}

#[tokio::test]
async fn skipped_fields_are_left_alone() {
    let out = pool()
        .resolve(
            &json!({"code": "{{ 1 }}", "x": "{{ 2 }}"}),
            &["code"],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"code": "{{ 1 }}", "x": 2}));
}

#[tokio::test]
async fn code_returns_its_value() {
    let out = pool()
        .run_code(
            "const s = $json.tags.join('+'); return {s, n: $json.score * 2};",
            scope(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"s": "a+b", "n": 144}));
}

#[tokio::test]
async fn an_infinite_loop_times_out_and_the_pool_recovers() {
    let p = pool();
    let err = p
        .run_code("while (true) {}", scope(), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err, ExprError::Timeout(Duration::from_millis(100)));
    assert_eq!(
        p.resolve(&json!("{{ 1 + 1 }}"), &[], scope())
            .await
            .unwrap(),
        json!(2)
    );
}

#[tokio::test]
async fn a_memory_bomb_hits_the_limit_and_the_pool_recovers() {
    let p = pool();
    let err = p
        .run_code(
            "let a = []; while (true) { a.push('x'.repeat(1 << 16)); }",
            scope(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(err, ExprError::MemoryLimit);
    assert_eq!(
        p.resolve(&json!("{{ 2 * 21 }}"), &[], scope())
            .await
            .unwrap(),
        json!(42)
    );
}

#[tokio::test]
async fn deep_recursion_is_a_clean_error() {
    let err = pool()
        .run_code(
            "function f(n) { return f(n + 1) + 1; } return f(0);",
            scope(),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExprError::StackOverflow | ExprError::Runtime { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn there_is_no_io_and_no_module_loading() {
    let out = pool()
        .resolve(
            &json!("{{ [typeof require, typeof fetch, typeof std, typeof os, typeof process, typeof XMLHttpRequest].join(',') }}"),
            &[],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        json!("undefined,undefined,undefined,undefined,undefined,undefined")
    );
}

#[tokio::test]
async fn one_call_cannot_leave_state_for_the_next() {
    let p = pool();
    let err = p
        .run_code(
            "globalThis.leak = 1; return 1;",
            scope(),
            Duration::from_secs(1),
        )
        .await;
    assert!(err.is_err(), "writing a global must fail: {err:?}");
    let err = p
        .run_code(
            "Array.prototype.evil = 1; return 1;",
            scope(),
            Duration::from_secs(1),
        )
        .await;
    assert!(err.is_err(), "changing a prototype must fail: {err:?}");
    let out = p
        .resolve(
            &json!("{{ typeof leak + ' ' + typeof [].evil }}"),
            &[],
            scope(),
        )
        .await
        .unwrap();
    assert_eq!(out, json!("undefined undefined"));
}

#[tokio::test]
async fn a_thrown_error_names_its_message() {
    let err = pool()
        .run_code(
            "throw new TypeError('bad lead')",
            scope(),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    match err {
        ExprError::Runtime { message, .. } => assert_eq!(message, "TypeError: bad lead"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn syntax_errors_are_found_without_running() {
    let mut sb = Sandbox::new(&Limits::default()).unwrap();
    assert!(sb.check(SourceKind::Expression, "$json.a +").is_err());
    assert!(sb.check(SourceKind::Expression, "while(true){}").is_err());
    assert!(sb.check(SourceKind::Code, "while (true) {}").is_ok());
}

#[test]
fn truthiness_follows_javascript() {
    for v in [json!(null), json!(false), json!(0), json!(""), json!(0.0)] {
        assert!(!truthy(&v), "{v}");
    }
    for v in [json!(true), json!(1), json!("x"), json!([]), json!({})] {
        assert!(truthy(&v), "{v}");
    }
}

#[tokio::test]
async fn a_call_nobody_waits_for_is_stopped_and_frees_its_thread() {
    let p = pool();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        p.run_code("while (true) {}", scope(), Duration::from_secs(60)),
    )
    .await;
    assert!(gave_up.is_err());
    let started = std::time::Instant::now();
    assert_eq!(
        p.resolve(&json!("{{ 6 * 7 }}"), &[], scope())
            .await
            .unwrap(),
        json!(42)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the abandoned loop held the thread for {:?}",
        started.elapsed()
    );
}
