//! Dealership nodes through the engine, over HTTP.

use automatrix_testkit::{Res, Session, TestApp, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

/// A lead as a third-party provider sends it: upper-case tags, the ADF instruction first,
/// a full name only, a trade-in, an unescaped `&`.
const PROVIDER_LEAD: &str = r#"<?ADF VERSION "1.0"?>
<?xml version="1.0"?>
<ADF><PROSPECT STATUS="NEW">
  <ID SEQUENCE="1" SOURCE="LeadGenius">LG-7</ID>
  <REQUESTDATE>11/21/2026 3:15 PM</REQUESTDATE>
  <VEHICLE INTEREST="BUY" STATUS="NEW"><YEAR>2027</YEAR><MAKE>Toyota</MAKE><MODEL>RAV4</MODEL></VEHICLE>
  <VEHICLE INTEREST="TRADE-IN" STATUS="USED"><YEAR>2016</YEAR><MAKE>Honda</MAKE><MODEL>CR-V</MODEL><ODOMETER UNITS="MI">88,120</ODOMETER></VEHICLE>
  <CUSTOMER><CONTACT>
    <NAME PART="FULL">Maria Lopez</NAME>
    <PHONE TYPE="CELLPHONE">(312) 555-0142</PHONE>
  </CONTACT><COMMENTS>Works at Smith & Sons</COMMENTS></CUSTOMER>
</PROSPECT></ADF>"#;

/// A webhook that reads the ADF it is sent, notes the forwarding in the comments and writes
/// the lead as ADF for the CRM.
async fn lead_forwarder(app: &TestApp, s: &Session) -> String {
    let wf = app.create_workflow(s, "Forward ADF leads", json!({
        "nodes": [
            {"id": "hook", "type": "trigger.webhook"},
            {"id": "read", "type": "dealer.adf_parse", "config": {"xml": "{{ $json.body }}"}},
            {"id": "note", "type": "transform.set", "config": {"fields": {"comments": "{{ $json.comments }} (forwarded)"}}},
            {"id": "write", "type": "dealer.adf_build", "config": {"lead": "{{ $json }}"}}
        ],
        "edges": [{"from": "hook", "to": "read"}, {"from": "read", "to": "note"}, {"from": "note", "to": "write"}]
    })).await;
    wf["webhook_url"]
        .as_str()
        .expect("a webhook URL")
        .to_owned()
}

async fn execution_of(app: &TestApp, s: &Session, call: &Res) -> Value {
    assert_eq!(call.status, 202, "{}", call.body);
    app.run_jobs().await;
    let id = call.body["execution_id"]
        .as_str()
        .expect("the execution id");
    app.get(&format!("/api/executions/{id}"), &s.access_token)
        .await
        .body
}

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

    async fn an_adf_lead_posted_to_a_webhook_is_read_changed_and_written_for_the_crm(app) {
        let s = app.signup().await;
        let path = lead_forwarder(&app, &s).await;

        let call = app.hook(Method::POST, &path, &[("content-type", "application/xml")], PROVIDER_LEAD).await;
        let exec = execution_of(&app, &s, &call).await;

        assert_eq!(exec["status"], "completed", "{exec}");
        let xml = exec["output_data"]["xml"].as_str().expect("the ADF");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?ADF VERSION \"1.0\"?>\n<adf>"), "{xml}");
        for part in [
            "<prospect status=\"new\">",
            "<id sequence=\"1\" source=\"LeadGenius\">LG-7</id>",
            "<requestdate>2026-11-21T15:15:00</requestdate>",
            "<vehicle interest=\"trade-in\" status=\"used\">",
            "<odometer units=\"mi\">88120</odometer>",
            "<name part=\"first\">Maria</name>",
            "<name part=\"last\">Lopez</name>",
            "<phone type=\"cellphone\">(312) 555-0142</phone>",
            "<comments>Works at Smith &amp; Sons (forwarded)</comments>",
        ] {
            assert!(xml.contains(part), "{part} missing in\n{xml}");
        }
    }

    async fn a_page_that_is_not_an_adf_lead_fails_the_run_with_what_it_is(app) {
        let s = app.signup().await;
        let path = lead_forwarder(&app, &s).await;
        let page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>502</title></head><body>Bad Gateway</body></html>";

        let html = execution_of(&app, &s, &app.hook(Method::POST, &path, &[("content-type", "text/html")], page).await).await;
        let other = execution_of(&app, &s, &app.hook(Method::POST, &path, &[("content-type", "application/xml")], "<lead><name>Bo</name></lead>").await).await;

        assert_eq!(html["status"], "failed", "{html}");
        assert!(html["error_message"].as_str().unwrap().contains("not an ADF lead: the text is an HTML page"), "{html}");
        assert_eq!(other["status"], "failed", "{other}");
        assert!(other["error_message"].as_str().unwrap().contains("the root element is <lead>, expected <adf>"), "{other}");
    }
}
