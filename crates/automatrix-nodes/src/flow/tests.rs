use chrono::{Duration, Utc};
use serde_json::json;

use super::*;
use crate::test_support::ctx_with_input;

fn resumed(state: Value) -> NodeContext {
    let mut ctx = ctx_with_input("wait", &json!({}));
    ctx.resume = Some(state);
    ctx
}

#[tokio::test]
async fn a_delay_suspends_until_its_duration_has_passed() {
    let before = Utc::now();
    let err = FlowDelay
        .execute(
            &ctx_with_input("wait", &json!({})),
            json!({"duration_ms": 60_000}),
            json!({"a": 1}),
        )
        .await
        .unwrap_err();
    let Some(Wait::Delay { until }) = err.wait else {
        panic!("{err:?}")
    };
    assert!(until >= before + Duration::seconds(60) && until <= Utc::now() + Duration::seconds(60));
}

#[tokio::test]
async fn a_delay_until_a_past_time_passes_its_input_at_once() {
    let out = FlowDelay
        .execute(
            &ctx_with_input("wait", &json!({})),
            json!({"until": "2020-01-01T00:00:00Z"}),
            json!({"a": 1}),
        )
        .await
        .unwrap();
    assert_eq!(out, NodeOutput::main(json!({"a": 1})));
}

#[tokio::test]
async fn a_resumed_delay_keeps_its_recorded_time() {
    let future = Utc::now() + Duration::hours(1);
    let ctx = resumed(json!({"wait": {"kind": "delay", "until": future}}));
    let err = FlowDelay
        .execute(&ctx, json!({"duration_ms": 1}), json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.wait, Some(Wait::Delay { until: future }));
    let past = Utc::now() - Duration::seconds(1);
    let ctx = resumed(json!({"wait": {"kind": "delay", "until": past}}));
    let out = FlowDelay
        .execute(&ctx, json!({"duration_ms": 999_999}), json!({"lead": 7}))
        .await
        .unwrap();
    assert_eq!(out.data, json!({"lead": 7}));
}

#[tokio::test]
async fn a_bad_until_is_a_fatal_error() {
    let err = FlowDelay
        .execute(
            &ctx_with_input("wait", &json!({})),
            json!({"until": "next tuesday"}),
            json!({}),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("not an ISO-8601"), "{err:?}");
}

#[tokio::test]
async fn an_approval_suspends_with_its_message_and_deadline() {
    let err = FlowApproval
        .execute(
            &ctx_with_input("ok", &json!({})),
            json!({"message": "Approve 7 % off?", "timeout_ms": 1000}),
            json!({}),
        )
        .await
        .unwrap_err();
    let Some(Wait::Approval {
        message,
        expires_at: Some(_),
    }) = err.wait
    else {
        panic!("{err:?}")
    };
    assert_eq!(message, "Approve 7 % off?");
}

#[tokio::test]
async fn an_approved_step_outputs_the_approvers_data() {
    let ctx = resumed(
        json!({"wait": {"kind": "approval", "message": "m", "expires_at": null}, "decision": {"approved": true, "data": {"discount": 7}}}),
    );
    let out = FlowApproval
        .execute(&ctx, json!({"message": "m"}), json!({}))
        .await
        .unwrap();
    assert_eq!(out, NodeOutput::main(json!({"discount": 7})));
}

#[tokio::test]
async fn a_rejected_step_fails_with_the_decision_attached() {
    let ctx = resumed(
        json!({"wait": {"kind": "approval", "message": "m", "expires_at": null}, "decision": {"approved": false, "data": {"reason": "too much"}}}),
    );
    let err = FlowApproval
        .execute(&ctx, json!({"message": "m"}), json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.message, "approval rejected");
    assert_eq!(err.data.unwrap()["decision"]["data"]["reason"], "too much");
}

#[tokio::test]
async fn an_undecided_approval_past_its_deadline_times_out() {
    let ctx = resumed(
        json!({"wait": {"kind": "approval", "message": "m", "expires_at": Utc::now() - Duration::seconds(1)}}),
    );
    let err = FlowApproval
        .execute(&ctx, json!({"message": "m"}), json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.message, "approval timed out");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn in_a_dry_run_a_delay_passes_its_input_at_once_and_an_approval_is_approved() {
    let dry = NodeContext {
        dry_run: true,
        ..ctx_with_input("wait", &json!({}))
    };

    let delayed = FlowDelay
        .execute(&dry, json!({"duration_ms": 86_400_000}), json!({"lead": 7}))
        .await
        .unwrap();
    let approved = FlowApproval
        .execute(&dry, json!({"message": "Approve 7 % off?"}), json!({}))
        .await
        .unwrap();
    let bad = FlowDelay
        .execute(&dry, json!({"until": "soon"}), json!({}))
        .await
        .unwrap_err();

    assert_eq!(delayed, NodeOutput::main(json!({"lead": 7})));
    assert_eq!(
        approved.data,
        json!({"approved": true, "dry_run": true, "would_ask": {"message": "Approve 7 % off?", "expires_at": null}})
    );
    assert!(bad.message.contains("not an ISO-8601"), "{}", bad.message);
}

#[tokio::test]
async fn noop_passes_its_input_on() {
    let input = serde_json::json!({"lead": {"email": "ann@buyer.example"}});
    let out = crate::test_support::run(&FlowNoop, serde_json::json!({}), input.clone())
        .await
        .unwrap();
    assert_eq!(out, NodeOutput::main(input));
}

#[tokio::test]
async fn stop_ends_with_its_input_or_fails_with_its_message() {
    use crate::test_support::run;
    let input = serde_json::json!({"lead": 1});
    let done = run(
        &FlowStop,
        serde_json::json!({"message": "duplicate"}),
        input.clone(),
    )
    .await
    .unwrap();
    assert_eq!(done.data, input);
    assert!(FlowStop.spec().outputs.is_empty());
    let failed = run(
        &FlowStop,
        serde_json::json!({"error": true, "message": "no consent"}),
        input,
    )
    .await
    .unwrap_err();
    assert_eq!(failed.message, "no consent");
    assert!(!failed.is_retryable());
}
