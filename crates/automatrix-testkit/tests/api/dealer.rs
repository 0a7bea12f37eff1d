//! Dealership nodes through the engine, over HTTP.

use automatrix_testkit::both_backends;
use serde_json::json;

both_backends! {
    async fn a_lead_vehicle_vin_is_checked_and_decoded_in_a_run(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Trade-in check", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "vin", "type": "dealer.vin_decode", "config": {"vin": "{{ $json.trade_in.vin }}"}},
                {"id": "route", "type": "logic.if", "config": {"condition": "{{ $json.valid }}"}},
                {"id": "ok", "type": "transform.set", "config": {"fields": {"make": "{{ $json.manufacturer }}", "year": "{{ $json.model_year }}"}, "keep_input": false}},
                {"id": "ask", "type": "transform.set", "config": {"fields": {"ask_again": "{{ $json.errors }}"}, "keep_input": false}}
            ],
            "edges": [
                {"from": "lead", "to": "vin"}, {"from": "vin", "to": "route"},
                {"from": "route", "output": "true", "to": "ok"}, {"from": "route", "output": "false", "to": "ask"}
            ]
        })).await;
        let id = wf["id"].as_str().unwrap();

        let good = app.execute_and_wait(&s, id, json!({"trade_in": {"vin": "1hgcm82633a004352"}})).await;
        assert_eq!(good["status"], "completed", "{good}");
        assert_eq!(good["output_data"], json!({"make": "Honda", "year": 2003}));

        let typo = app.execute_and_wait(&s, id, json!({"trade_in": {"vin": "1HGCM82643A004352"}})).await;
        assert_eq!(typo["status"], "completed", "an invalid VIN is an answer, not a failure: {typo}");
        let reasons = typo["output_data"]["ask_again"].to_string();
        assert!(reasons.contains("check digit"), "{reasons}");
    }

    async fn a_lead_phone_is_normalized_for_sms_in_a_run(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Phone check", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "phone", "type": "dealer.phone_normalize", "config": {"phone": "{{ $json.phone }}", "default_country": "{{ $json.country }}"}}
            ],
            "edges": [{"from": "lead", "to": "phone"}]
        })).await;
        let id = wf["id"].as_str().unwrap();
        let run = app.execute_and_wait(&s, id, json!({"phone": "1 (312) 555-0142 x7", "country": "US"})).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"]["e164"], "+13125550142");
        assert_eq!(run["output_data"]["extension"], "7");
        // A default country the node does not know fails the step: the config is wrong.
        let wrong = app.execute_and_wait(&s, id, json!({"phone": "0612345678", "country": "Narnia"})).await;
        assert_eq!(wrong["status"], "failed", "{wrong}");
    }

    async fn a_lead_after_hours_gets_the_next_opening(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Answer in hours", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "hours", "type": "dealer.business_hours", "config": {
                    "timezone": "America/Chicago",
                    "hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"], "sat": ["10:00-16:00"]},
                    "holidays": ["2026-11-26"],
                    "at": "{{ $json.received_at }}"
                }},
                {"id": "open", "type": "logic.if", "config": {"condition": "{{ $json.open }}"}},
                {"id": "now", "type": "transform.set", "config": {"fields": {"reply": "calling you now"}, "keep_input": false}},
                {"id": "later", "type": "transform.set", "config": {"fields": {"call_at": "{{ $json.next_open }}"}, "keep_input": false}}
            ],
            "edges": [
                {"from": "lead", "to": "hours"}, {"from": "hours", "to": "open"},
                {"from": "open", "output": "true", "to": "now"}, {"from": "open", "output": "false", "to": "later"}
            ]
        })).await;
        let id = wf["id"].as_str().unwrap();
        let weekday = app.execute_and_wait(&s, id, json!({"received_at": "2026-11-23T16:00:00Z"})).await;
        assert_eq!(weekday["output_data"], json!({"reply": "calling you now"}), "{weekday}");
        let thanksgiving = app.execute_and_wait(&s, id, json!({"received_at": "2026-11-26T16:00:00Z"})).await;
        assert_eq!(thanksgiving["output_data"], json!({"call_at": "2026-11-27T15:00:00Z"}), "{thanksgiving}");

        // A bad opening is refused when the workflow is saved, with its path.
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Bad hours", "definition": {
            "nodes": [{"id": "lead", "type": "trigger.manual"},
                      {"id": "hours", "type": "dealer.business_hours", "config": {"timezone": "UTC", "hours": {"sun": ["17:00-09:00"]}}}],
            "edges": [{"from": "lead", "to": "hours"}]
        }})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "nodes[1].config.hours.sun[0]");
    }
}
