//! Writing ADF: the round trip (reading what was written gives the lead back), escaping, and
//! the two nodes as a workflow step runs them.

use serde_json::{Value, json};

use super::super::{AdfBuild, AdfParse, build, lead::Lead, parse};
use super::{DOCS_EXAMPLE, LEADS};
use crate::test_support::run;
#[test]
fn every_sample_lead_reads_back_the_same_after_being_written() {
    for (name, xml) in LEADS {
        let lead = parse::parse(xml, "US").unwrap();

        let written = build::build(&lead);
        let again =
            parse::parse(&written, "US").unwrap_or_else(|e| panic!("{name}: {e}\n{written}"));

        assert_eq!(again, lead, "{name}:\n{written}");
        assert!(written.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?ADF VERSION \"1.0\"?>\n<adf>"
        ));
    }
}

#[test]
fn awkward_text_is_escaped_and_survives_the_round_trip() {
    let lead: Lead = serde_json::from_value(json!({
        "id": "<L&1>", "source": "Tom's \"Cars\" & Co", "status": "new",
        "request_date": "2026-11-21T15:15:00.250+01:00",
        "customer": {"first_name": "Zoë", "last_name": "O'Neil-Smith", "email": "z@example.com",
                     "phones": [{"number": "+1 312 555 0142", "e164": "+13125550142", "type": "cellphone", "time": null}]},
        "vehicles": [{"interest": "buy", "year": 2027, "make": "Škoda", "model": "Kodiaq ]]> <x/>",
                      "odometer": {"value": 12, "units": "km"}}],
        "comments": "Line one\nLine two: 5 < 6 & 7 > 3\r\n\tindented",
        "vendor": {"name": "A&B Motors"}, "provider": {"name": "<script>alert(1)</script>"}
    }))
    .unwrap();

    let written = build::build(&lead);
    let mut again = parse::parse(&written, "US").unwrap();

    assert!(roxmltree::Document::parse(&written).is_ok(), "{written}");
    assert!(written.contains("<id sequence=\"1\" source=\"Tom&apos;s &quot;Cars&quot; &amp; Co\">&lt;L&amp;1&gt;</id>"), "{written}");
    assert_eq!(
        again.customer.full_name.take().as_deref(),
        Some("Zoë O'Neil-Smith")
    );
    assert_eq!(again, lead);
}

#[test]
fn control_characters_xml_cannot_hold_are_dropped() {
    let lead = Lead {
        comments: Some("bell\u{7} and nul\u{0}".to_owned()),
        ..Lead::default()
    };

    let again = parse::parse(&build::build(&lead), "US").unwrap();

    assert_eq!(again.comments.as_deref(), Some("bell and nul"));
}

#[tokio::test]
async fn the_parse_node_gives_the_documented_output_from_config_or_from_a_text_input() {
    let from_config = run(&AdfParse, json!({"xml": DOCS_EXAMPLE}), Value::Null)
        .await
        .unwrap();
    let from_input = run(&AdfParse, json!({}), json!(DOCS_EXAMPLE))
        .await
        .unwrap();

    assert_eq!(from_config.data, from_input.data);
    let out = from_config.data;
    assert_eq!(out["request_date"], "2026-11-21T15:15:00");
    assert_eq!(
        out["customer"],
        json!({"first_name": "Maria", "last_name": "Lopez", "full_name": "Maria Lopez", "email": null,
               "phones": [{"number": "(312) 555-0142", "e164": "+13125550142", "type": "cellphone", "time": null}],
               "address": {"street": null, "city": null, "region": null, "postal_code": null, "country": null}})
    );
    assert_eq!(out["vehicles"][0]["year"], 2021);
}

#[tokio::test]
async fn the_parse_node_fails_without_xml_or_on_a_page_that_is_no_lead() {
    let nothing = run(&AdfParse, json!({}), json!({"body": "<adf/>"})).await;
    let html = run(
        &AdfParse,
        json!({"xml": include_str!("../samples/html_page.html")}),
        Value::Null,
    )
    .await;
    let country = run(
        &AdfParse,
        json!({"xml": DOCS_EXAMPLE, "default_country": "XX"}),
        Value::Null,
    )
    .await;

    assert!(nothing.unwrap_err().message.contains("set `xml`"));
    assert!(html.unwrap_err().message.contains("HTML page"));
    assert!(country.unwrap_err().message.contains("default_country"));
}

#[tokio::test]
async fn a_canadian_dealer_reads_national_numbers_as_canadian() {
    let xml = "<adf><prospect><customer><contact><phone>020 7946 0018</phone></contact></customer></prospect></adf>";

    let out = run(
        &AdfParse,
        json!({"xml": xml, "default_country": "GB"}),
        Value::Null,
    )
    .await
    .unwrap();

    assert_eq!(out.data["customer"]["phones"][0]["e164"], "+442079460018");
}

#[tokio::test]
async fn the_build_node_writes_the_documented_example_and_refuses_unknown_fields_in_the_parts() {
    let lead = json!({"id": "L-1001", "source": "dealer-site",
        "customer": {"first_name": "Maria", "last_name": "Lopez", "email": "maria@example.com"},
        "vehicles": [{"interest": "buy", "status": "new", "year": "2027", "make": "Toyota", "model": "RAV4"}],
        "timeframe": null});

    let out = run(&AdfBuild, json!({"lead": lead}), Value::Null)
        .await
        .unwrap();
    let extra = run(
        &AdfBuild,
        json!({"lead": {"score": 80, "customer": {"first_name": "Bo"}}}),
        Value::Null,
    )
    .await;
    let typo = run(
        &AdfBuild,
        json!({"lead": {"customer": {"firstname": "Maria"}}}),
        Value::Null,
    )
    .await;

    let xml = out.data["xml"].as_str().unwrap();
    for part in [
        "<id sequence=\"1\" source=\"dealer-site\">L-1001</id>",
        "<vehicle interest=\"buy\" status=\"new\">",
        "<year>2027</year>",
        "<name part=\"first\">Maria</name>",
    ] {
        assert!(xml.contains(part), "{part} missing in\n{xml}");
    }
    assert!(
        !xml.contains("<timeframe"),
        "empty parts are left out:\n{xml}"
    );
    assert!(
        extra.unwrap().data["xml"]
            .as_str()
            .unwrap()
            .contains("<name part=\"first\">Bo</name>")
    );
    assert!(typo.unwrap_err().message.contains("firstname"));
}
