//! ADF reading, on leads shaped like the ones providers really send (samples/), broken ones
//! included. Writing, the round trip and the nodes are in tests/writing.rs.

use serde_json::{Value, json};

use super::parse;

mod writing;

/// The samples that are leads, by name.
const LEADS: [(&str, &str); 12] = [
    ("cars_com", include_str!("samples/cars_com.xml")),
    ("autotrader", include_str!("samples/autotrader.xml")),
    ("dealer_website", include_str!("samples/dealer_website.xml")),
    (
        "provider_uppercase",
        include_str!("samples/provider_uppercase.xml"),
    ),
    ("cdata_comments", include_str!("samples/cdata_comments.xml")),
    ("full_name_only", include_str!("samples/full_name_only.xml")),
    (
        "missing_contact",
        include_str!("samples/missing_contact.xml"),
    ),
    (
        "trade_in_and_buy",
        include_str!("samples/trade_in_and_buy.xml"),
    ),
    (
        "multiple_phones",
        include_str!("samples/multiple_phones.xml"),
    ),
    ("us_dates", include_str!("samples/us_dates.xml")),
    ("doctype_bom", include_str!("samples/doctype_bom.xml")),
    ("docs_example", DOCS_EXAMPLE),
];

/// The lead of the `dealer.adf_parse` docs.
const DOCS_EXAMPLE: &str = r#"<adf><prospect><requestdate>11/21/2026 3:15 PM</requestdate><vehicle interest="buy" status="used"><year>2021</year><make>Honda</make><model>Civic</model></vehicle><customer><contact><name part="full">Maria Lopez</name><phone type="cellphone">(312) 555-0142</phone></contact></customer></prospect></adf>"#;

fn lead(name: &str) -> Value {
    let (_, xml) = LEADS.iter().find(|(n, _)| *n == name).expect("sample");
    let lead = parse::parse(xml, "US").unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::to_value(lead).unwrap()
}

fn error(xml: &str) -> String {
    parse::parse(xml, "US").expect_err("not a lead")
}

#[test]
fn a_cars_com_lead_is_read_whole() {
    assert_eq!(
        lead("cars_com"),
        json!({
            "id": "CC-88412093", "source": "cars.com",
            "request_date": "2026-11-21T15:15:00-05:00", "status": "new",
            "customer": {
                "first_name": "Maria", "last_name": "Lopez", "full_name": "Maria Lopez",
                "email": "maria.lopez@example.com",
                "phones": [{"number": "(312) 555-0142", "e164": "+13125550142", "type": "voice", "time": "evening"}],
                "address": {"street": "1420 W Fulton St, Unit 3", "city": "Chicago", "region": "IL", "postal_code": "60607", "country": "US"}
            },
            "vehicles": [{
                "interest": "buy", "status": "used", "year": 2021, "make": "Honda", "model": "Civic",
                "trim": "EX", "vin": "2HGFC2F59MH512345", "stock": "P4471",
                "odometer": {"value": 31402, "units": "mi"}
            }],
            "timeframe": {"description": null, "earliest_date": null, "latest_date": null},
            "comments": "Is this still available? Can I test drive Saturday?",
            "vendor": {"name": "Lakeshore Honda"},
            "provider": {"name": "Cars.com"}
        })
    );
}

#[test]
fn an_adf_instruction_before_the_xml_declaration_and_cdata_comments_are_read() {
    let lead = lead("autotrader");

    assert_eq!(lead["id"], "AT-5521-77");
    assert_eq!(lead["request_date"], "2026-11-20T09:02:11Z");
    assert_eq!(lead["vehicles"][0]["vin"], "JTMRWRFV5RD000001");
    assert_eq!(lead["customer"]["phones"][0]["e164"], "+13125550199");
    assert_eq!(lead["customer"]["phones"][0]["type"], Value::Null);
    assert_eq!(
        lead["comments"],
        "Looking for \"best price\" & availability.\nTrade-in: 2015 Camry, ~98k miles."
    );
    assert_eq!(lead["provider"]["name"], "AutoTrader.com");
}

#[test]
fn a_website_form_with_tabs_stray_ampersands_and_a_prospect_timeframe_is_read() {
    let lead = lead("dealer_website");

    assert_eq!(lead["request_date"], "2026-11-21T18:40:05");
    assert_eq!(lead["customer"]["first_name"], "Sam");
    assert_eq!(lead["customer"]["full_name"], "Sam O'Brien");
    assert_eq!(lead["vehicles"][0]["year"], 2027);
    assert_eq!(lead["vehicles"][0]["interest"], "test-drive");
    assert_eq!(
        lead["timeframe"],
        json!({"description": "Within 2 weeks", "earliest_date": "2026-11-23", "latest_date": "2026-12-05"})
    );
    assert_eq!(
        lead["comments"],
        "Prefers text\u{a0}messages. Works at Smith & Sons &copy; 2026."
    );
    assert_eq!(lead["vendor"]["name"], "Smith & Sons Ford");
}

#[test]
fn upper_case_tags_and_attributes_are_read_and_enumerations_lower_cased() {
    let lead = lead("provider_uppercase");

    assert_eq!(lead["status"], "resend");
    assert_eq!(lead["source"], "LeadGenius");
    assert_eq!(
        (
            &lead["vehicles"][0]["interest"],
            &lead["vehicles"][0]["status"]
        ),
        (&json!("lease"), &json!("new"))
    );
    assert_eq!(
        lead["customer"]["phones"][0],
        json!({"number": "+1 415 555 0133", "e164": "+14155550133", "type": "cellphone", "time": "morning"})
    );
    assert_eq!(lead["customer"]["email"], "WCHEN@EXAMPLE.COM");
    assert_eq!(lead["customer"]["address"]["city"], "San Francisco");
    assert_eq!(lead["provider"]["name"], "LeadGenius Auto");
}

#[test]
fn cdata_with_markup_in_it_is_kept_as_text() {
    let lead = lead("cdata_comments");

    assert_eq!(lead["vehicles"][0]["make"], "Mercedes-Benz");
    let comments = lead["comments"].as_str().unwrap();
    assert!(
        comments.starts_with("<p>Hi, I'd like a quote <b>out the door</b> & financing info.</p>")
    );
    assert!(comments.ends_with("Credit score: 720+"), "{comments}");
}

#[test]
fn a_full_name_alone_is_split_and_first_and_last_alone_are_joined() {
    let lead = lead("full_name_only");

    assert_eq!(lead["customer"]["first_name"], "José");
    assert_eq!(lead["customer"]["last_name"], "de la Cruz");
    assert_eq!(lead["customer"]["full_name"], "José de la Cruz");
    assert_eq!(lead["provider"]["name"], "Lead Hub");
    assert_eq!(
        lead["vehicles"][0]["interest"],
        Value::Null,
        "absent, not a default"
    );
    let split = |full| parse::split_full_name(full);
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(split("Smith, John"), (some("John"), some("Smith")));
    assert_eq!(split("John Smith Jr."), (some("John"), some("Smith Jr.")));
    assert_eq!(split("Mary Ann Smith"), (some("Mary Ann"), some("Smith")));
    assert_eq!(
        split("Ludwig van Beethoven"),
        (some("Ludwig"), some("van Beethoven"))
    );
    assert_eq!(split("Cher"), (some("Cher"), None));
    assert_eq!(split("John Smith, Jr."), (some("John"), some("Smith, Jr.")));
}

#[test]
fn missing_parts_are_null_or_empty_never_absent() {
    assert_eq!(
        lead("missing_contact"),
        json!({
            "id": null, "source": null, "request_date": null, "status": null,
            "customer": {
                "first_name": "Pat", "last_name": null, "full_name": "Pat", "email": null, "phones": [],
                "address": {"street": null, "city": null, "region": null, "postal_code": null, "country": null}
            },
            "vehicles": [],
            "timeframe": {"description": null, "earliest_date": null, "latest_date": null},
            "comments": null, "vendor": {"name": null}, "provider": {"name": null}
        })
    );
}

#[test]
fn a_trade_in_and_the_vehicle_to_buy_are_both_kept_in_order() {
    let vehicles = lead("trade_in_and_buy")["vehicles"].clone();

    assert_eq!(vehicles.as_array().unwrap().len(), 2);
    assert_eq!(vehicles[0]["interest"], "buy");
    assert_eq!(
        vehicles[1],
        json!({
            "interest": "trade-in", "status": "used", "year": 2018, "make": "Subaru", "model": "Forester",
            "trim": null, "vin": "JF2SJAEC8JH512345", "stock": null,
            "odometer": {"value": 42180, "units": "mi"}
        })
    );
}

#[test]
fn every_phone_is_kept_with_its_type_and_the_first_email_and_contact_are_taken() {
    let customer = lead("multiple_phones")["customer"].clone();

    assert_eq!(customer["email"], "tom.baker@example.com");
    assert_eq!(customer["full_name"], "Tom A. Baker");
    let phones: Vec<(&Value, &Value, &Value)> = customer["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p["e164"], &p["type"], &p["time"]))
        .collect();
    assert_eq!(
        phones,
        [
            (&json!("+12145550100"), &json!("voice"), &json!("day")),
            (
                &json!("+12145550111"),
                &json!("cellphone"),
                &json!("evening")
            ),
            (&json!("+442079460018"), &json!("fax"), &Value::Null),
            (&Value::Null, &json!("voice"), &Value::Null),
        ],
        "an empty <phone/> is left out; a bad number has no e164"
    );
    assert_eq!(customer["phones"][3]["number"], "555");
}

#[test]
fn us_dates_become_iso_and_unreadable_ones_stay_as_written() {
    let lead = lead("us_dates");

    assert_eq!(lead["request_date"], "2026-11-21T15:15:00");
    assert_eq!(
        lead["timeframe"],
        json!({"description": "Next month", "earliest_date": "2026-12-01", "latest_date": "sometime in December"})
    );
    assert_eq!(
        (&lead["id"], &lead["source"]),
        (&json!("OEM-1"), &json!("OEM Program"))
    );
    assert_eq!(
        (
            &lead["customer"]["first_name"],
            &lead["customer"]["last_name"]
        ),
        (&json!("John"), &json!("Smith"))
    );
    assert_eq!(lead["customer"]["full_name"], "Smith, John");
}

#[test]
fn a_byte_order_mark_leading_blanks_a_doctype_and_rfc_2822_dates_are_read() {
    let lead = lead("doctype_bom");

    assert_eq!(lead["request_date"], "2026-11-21T15:15:00-05:00");
    assert_eq!(lead["customer"]["first_name"], "Lee");
}

#[test]
fn text_that_is_not_an_adf_lead_says_what_it_is() {
    let cases = [
        (
            include_str!("samples/not_xml.txt"),
            "not an ADF lead: the text is not XML (it starts with `{\"first_name\": \"Mari`)",
        ),
        (
            include_str!("samples/html_page.html"),
            "not an ADF lead: the text is an HTML page, expected <adf>",
        ),
        (
            include_str!("samples/not_adf.xml"),
            "not an ADF lead: the root element is <Envelope>, expected <adf>",
        ),
        (
            include_str!("samples/no_prospect.xml"),
            "not an ADF lead: <adf> has no <prospect>",
        ),
        (
            include_str!("samples/truncated.xml"),
            "the ADF lead is not well-formed XML: ",
        ),
        ("   ", "not an ADF lead: the text is empty"),
        (
            "<html><body><p>Lead</p></body></html>",
            "not an ADF lead: the root element is <html>, expected <adf>",
        ),
        (
            "<adf><prospect><customer></prospect></adf>",
            "the ADF lead is not well-formed XML: expected 'customer' tag, not 'prospect'",
        ),
    ];

    // Cut off after many multi-byte characters: the error is still read safely.
    let cut = format!("<adf><prospect><comments>{}", "é".repeat(150));
    assert!(error(&cut).starts_with("the ADF lead is not well-formed XML: "));
    for (xml, expected) in cases {
        let error = error(xml);
        assert!(
            error.starts_with(expected),
            "{error:?} should start with {expected:?}"
        );
    }
}

#[test]
fn entity_expansion_bombs_are_refused_at_once() {
    let lol = |n: u32| {
        let previous = if n == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", n - 1)
        };
        format!(
            "<!ENTITY lol{n} \"{}\">",
            format!("&{previous};").repeat(10)
        )
    };
    let entities: String = (1..=9).map(lol).collect();
    let billion_laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE adf [<!ENTITY lol \"lol\">{entities}]><adf><prospect><comments>&lol9;</comments></prospect></adf>"
    );
    // One flat entity referenced many times: no nesting for a depth limit to catch.
    let quadratic = format!(
        "<!DOCTYPE adf [<!ENTITY a \"{}\">]><adf><prospect><comments>{}</comments></prospect></adf>",
        "a".repeat(50_000),
        "&a;".repeat(50_000)
    );

    let started = std::time::Instant::now();
    for bomb in [&billion_laughs, &quadratic] {
        assert!(error(bomb).contains("declares XML entities"));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // And roxmltree on its own stops the nested kind (the flat kind is why we refuse entities).
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    assert!(roxmltree::Document::parse_with_options(&billion_laughs, options).is_err());
}
