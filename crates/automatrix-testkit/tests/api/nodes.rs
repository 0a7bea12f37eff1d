//! General-purpose node types through the engine, over HTTP.

mod kv;
mod subworkflow;

use automatrix_testkit::both_backends;
use serde_json::json;

both_backends! {
    async fn a_reply_is_written_from_a_template_and_passed_on(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Reply", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "reply", "type": "transform.template", "config": {"template":
                    "Hi {{ $json.customer.first_name }}, thanks for asking about the {{ $json.vehicle.year }} {{ $json.vehicle.model }}.{{ $json.missing }}"}},
                {"id": "out", "type": "flow.noop", "config": {}}
            ],
            "edges": [{"from": "lead", "to": "reply"}, {"from": "reply", "to": "out"}]
        })).await;
        let input = json!({"customer": {"first_name": "Ann"}, "vehicle": {"year": 2024, "model": "Tacoma"}});
        let run = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), input).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"], json!({"text": "Hi Ann, thanks for asking about the 2024 Tacoma."}));
    }

    async fn hot_leads_are_filtered_out_of_a_list(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Hot leads", json!({
            "nodes": [
                {"id": "batch", "type": "trigger.manual"},
                {"id": "hot", "type": "logic.filter", "config": {"items": "{{ $json.leads }}", "condition": "$json.score > $vars.threshold"}}
            ],
            "edges": [{"from": "batch", "to": "hot"}],
            "variables": {"threshold": 50}
        })).await;
        let leads = json!({"leads": [{"email": "ann@buyer.example", "score": 72}, {"email": "bo@buyer.example", "score": 31}]});
        let run = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), leads).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"], json!({"items": [{"email": "ann@buyer.example", "score": 72}], "dropped": 1}));

        let broken = app.post("/api/workflows", &s.access_token, &json!({"name": "Broken", "definition": {
            "nodes": [{"id": "batch", "type": "trigger.manual"},
                      {"id": "hot", "type": "logic.filter", "config": {"items": [], "condition": "$json.score >"}}],
            "edges": [{"from": "batch", "to": "hot"}]
        }})).await;
        broken.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(broken.body["error"]["details"][0]["path"], "nodes[1].config.condition");
    }

    async fn a_reminder_time_is_computed_in_the_stores_zone(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Reminder time", json!({
            "nodes": [
                {"id": "booked", "type": "trigger.manual"},
                {"id": "remind_at", "type": "transform.datetime", "config": {"value": "{{ $json.appointment }}", "timezone": "America/Chicago", "add": {"days": -1}, "format": "%-I:%M %p"}}
            ],
            "edges": [{"from": "booked", "to": "remind_at"}]
        })).await;
        let run = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"appointment": "11/25/2026 2:15 PM"})).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"]["utc"], "2026-11-24T20:15:00Z");
        assert_eq!(run["output_data"]["formatted"], "2:15 PM");
        let unreadable = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"appointment": "soon"})).await;
        assert_eq!(unreadable["status"], "failed");
    }

    async fn a_csv_export_is_read_filtered_and_written_again(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Service list", json!({
            "nodes": [
                {"id": "export", "type": "trigger.manual"},
                {"id": "read", "type": "data.csv", "config": {"operation": "parse", "text": "{{ $json.csv }}"}},
                {"id": "due", "type": "logic.filter", "config": {"items": "{{ $json.rows }}", "condition": "Number($json.miles) >= 5000"}},
                {"id": "write", "type": "data.csv", "config": {"operation": "build", "rows": "{{ $json.items }}", "delimiter": ";"}}
            ],
            "edges": [{"from": "export", "to": "read"}, {"from": "read", "to": "due"}, {"from": "due", "to": "write"}]
        })).await;
        let csv = "customer,miles\n\"Lee, Ann\",5200\nBo,1200\n";
        let run = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"csv": csv})).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"], json!({"text": "customer;miles\nLee, Ann;5200\n", "count": 1}));
    }

    async fn a_failed_delivery_starts_the_workflow_with_the_error_trigger(app) {
        let s = app.signup().await;
        let alert = app.create_workflow(&s, "Alert the BDC manager", json!({
            "nodes": [
                {"id": "failed", "type": "trigger.error", "config": {}},
                {"id": "alert", "type": "transform.set", "config": {"fields": {"alert": "{{ $trigger.error.message }}", "lead": "{{ $trigger.error.input.email }}"}, "keep_input": false}}
            ],
            "edges": [{"from": "failed", "to": "alert"}]
        })).await;
        let alert_id = alert["id"].as_str().unwrap();
        let deliver = app.create_workflow(&s, "Deliver to CRM", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "crm", "type": "code.js", "config": {"code": "throw new Error('CRM rejected the lead')"}}
            ],
            "edges": [{"from": "lead", "to": "crm"}],
            "settings": {"error_workflow_id": alert_id}
        })).await;
        let run = app.execute_and_wait(&s, deliver["id"].as_str().unwrap(), json!({"email": "ann@buyer.example"})).await;
        assert_eq!(run["status"], "failed", "{run}");
        app.run_jobs().await;
        let alerts = app.get(&format!("/api/workflows/{alert_id}/executions"), &s.access_token).await;
        let first = &alerts.body["items"][0];
        assert_eq!(first["status"], "completed", "{}", alerts.body);
        assert_eq!(first["output_data"]["lead"], "ann@buyer.example");
        assert!(first["output_data"]["alert"].as_str().unwrap().contains("CRM rejected the lead"), "{first}");
    }

    async fn a_duplicate_lead_stops_its_branch_and_a_refused_one_fails(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Dedupe", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "seen", "type": "logic.if", "config": {"condition": "{{ $json.duplicate }}"}},
                {"id": "stop", "type": "flow.stop", "config": {"message": "duplicate lead"}},
                {"id": "consent", "type": "logic.if", "config": {"condition": "{{ $json.sms_ok }}"}},
                {"id": "refuse", "type": "flow.stop", "config": {"error": true, "message": "no consent to text"}},
                {"id": "text", "type": "transform.set", "config": {"fields": {"texted": true}, "keep_input": false}}
            ],
            "edges": [
                {"from": "lead", "to": "seen"}, {"from": "seen", "output": "true", "to": "stop"},
                {"from": "seen", "output": "false", "to": "consent"},
                {"from": "consent", "output": "false", "to": "refuse"}, {"from": "consent", "output": "true", "to": "text"}
            ]
        })).await;
        let id = wf["id"].as_str().unwrap();
        let dup = app.execute_and_wait(&s, id, json!({"duplicate": true})).await;
        assert_eq!((dup["status"].clone(), dup["output_data"].clone()), (json!("completed"), json!({"duplicate": true})));
        let refused = app.execute_and_wait(&s, id, json!({"duplicate": false, "sms_ok": false})).await;
        assert_eq!(refused["status"], "failed");
        assert!(refused["error_message"].as_str().unwrap().contains("no consent to text"), "{refused}");
        let ok = app.execute_and_wait(&s, id, json!({"duplicate": false, "sms_ok": true})).await;
        assert_eq!(ok["output_data"], json!({"texted": true}));

        let after = app.post("/api/workflows", &s.access_token, &json!({"name": "After stop", "definition": {
            "nodes": [{"id": "lead", "type": "trigger.manual"}, {"id": "stop", "type": "flow.stop"}, {"id": "more", "type": "flow.noop"}],
            "edges": [{"from": "lead", "to": "stop"}, {"from": "stop", "to": "more"}]
        }})).await;
        after.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(after.body["error"]["details"][0]["path"], "edges[1].from");
        assert!(after.body["error"]["details"][0]["issue"].as_str().unwrap().contains("ends its branch"));
    }

    async fn json_text_from_a_crm_is_parsed_and_picked_with_jsonpath(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Cheap stock", json!({
            "nodes": [
                {"id": "feed", "type": "trigger.manual"},
                {"id": "read", "type": "transform.json", "config": {"operation": "parse", "text": "{{ $json.payload }}"}},
                {"id": "cheap", "type": "transform.json", "config": {"operation": "pick", "path": "$.value.vehicles[?@.price < 30000].vin"}},
                {"id": "write", "type": "transform.json", "config": {"operation": "stringify", "value": "{{ $json.value }}"}}
            ],
            "edges": [{"from": "feed", "to": "read"}, {"from": "read", "to": "cheap"}, {"from": "cheap", "to": "write"}]
        })).await;
        let id = wf["id"].as_str().unwrap();
        let payload = r#"{"vehicles": [{"vin": "1HGCM82633A004352", "price": 28500}, {"vin": "WVW123", "price": 41900}]}"#;
        let run = app.execute_and_wait(&s, id, json!({"payload": payload})).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output_data"], json!({"text": "[\"1HGCM82633A004352\"]"}));

        let broken = app.execute_and_wait(&s, id, json!({"payload": "{\"vehicles\": [\n  {\"vin\" 1}]}"})).await;
        assert_eq!(broken["status"], "failed");
        let message = broken["error_message"].as_str().unwrap();
        assert!(message.contains("not valid JSON") && message.contains("line 2 column 10"), "{message}");

        let bad_path = app.post("/api/workflows", &s.access_token, &json!({"name": "Bad path", "definition": {
            "nodes": [{"id": "feed", "type": "trigger.manual"},
                      {"id": "cheap", "type": "transform.json", "config": {"operation": "pick", "path": "$.vehicles[?"}}],
            "edges": [{"from": "feed", "to": "cheap"}]
        }})).await;
        bad_path.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(bad_path.body["error"]["details"][0]["path"], "nodes[1].config.path");
        assert!(bad_path.body["error"]["details"][0]["issue"].as_str().unwrap().contains("at position"), "{}", bad_path.body);
    }

    async fn a_lead_is_routed_by_its_source_and_the_other_branches_are_skipped(app) {
        let s = app.signup().await;
        let branch = |id: &str| json!({"id": id, "type": "transform.set", "config": {"fields": {"branch": id}, "keep_input": false}});
        let wf = app.create_workflow(&s, "Lead router", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "by_source", "type": "logic.switch", "config": {
                    "value": "{{ $json.source }}",
                    "cases": [
                        {"equals": "web", "output": "online"},
                        {"equals": "chat", "output": "online"},
                        {"equals": "phone", "output": "phone"},
                        {"condition": "{{ $json.source === 'showroom' || $json.walk_in === true }}", "output": "showroom"}
                    ],
                    "default_output": "bdc"
                }},
                branch("web_reply"), branch("call_back"), branch("greeter"), branch("bdc_queue")
            ],
            "edges": [
                {"from": "lead", "to": "by_source"},
                {"from": "by_source", "output": "online", "to": "web_reply"},
                {"from": "by_source", "output": "phone", "to": "call_back"},
                {"from": "by_source", "output": "showroom", "to": "greeter"},
                {"from": "by_source", "output": "bdc", "to": "bdc_queue"}
            ]
        })).await;
        let id = wf["id"].as_str().unwrap();
        for (lead, taken) in [
            (json!({"source": "web"}), "web_reply"),
            (json!({"source": "chat"}), "web_reply"),
            (json!({"source": "phone"}), "call_back"),
            (json!({"source": "referral", "walk_in": true}), "greeter"),
            (json!({"source": "facebook"}), "bdc_queue"),
        ] {
            let run = app.execute_and_wait(&s, id, lead.clone()).await;
            assert_eq!(run["status"], "completed", "{lead}: {run}");
            assert_eq!(run["output_data"], json!({"branch": taken}), "{lead}");
            let logs = app.get(&format!("/api/executions/{}/logs", run["id"].as_str().unwrap()), &s.access_token).await;
            for step in logs.body["items"].as_array().unwrap() {
                let node = step["node_id"].as_str().unwrap();
                let want = if ["web_reply", "call_back", "greeter", "bdc_queue"].contains(&node) && node != taken { "skipped" } else { "completed" };
                assert_eq!(step["status"], want, "{lead}: {node}");
            }
        }
    }

    async fn an_edge_from_a_port_the_switch_config_does_not_name_is_refused(app) {
        let s = app.signup().await;
        let definition = |port: &str, output: &str| json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "by_source", "type": "logic.switch", "config": {"value": "{{ $json.source }}", "cases": [{"equals": "web", "output": output}]}},
                {"id": "reply", "type": "flow.noop"}
            ],
            "edges": [{"from": "lead", "to": "by_source"}, {"from": "by_source", "output": port, "to": "reply"}]
        });

        let undeclared = app.post("/api/workflows", &s.access_token, &json!({"name": "Undeclared", "definition": definition("phone", "web")})).await;
        let bad_name = app.post("/api/workflows", &s.access_token, &json!({"name": "Bad name", "definition": definition("web", "web site")})).await;
        let default = app.post("/api/workflows", &s.access_token, &json!({"name": "Default", "definition": definition("default", "web")})).await;

        undeclared.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(undeclared.body["error"]["details"], json!([{"path": "edges[1].output",
            "issue": "unknown output port `phone` of `by_source` (logic.switch); it has: web, default"}]));
        bad_name.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(bad_name.body["error"]["details"][0]["path"], "nodes[1].config.cases[0].output");
        assert_eq!(default.status, 201, "{}", default.body);
    }
}
