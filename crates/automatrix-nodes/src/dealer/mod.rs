//! Dealership nodes: the automotive building blocks no general-purpose tool has.

mod adf;
mod hours;
pub(crate) mod phone;
mod vin;

pub use adf::{AdfBuild, AdfParse};

use std::collections::BTreeMap;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

/// Checks and decodes a VIN.
#[derive(Clone, Copy, Debug, Default)]
pub struct VinDecode;

impl VinDecode {
    pub const KIND: &'static str = "dealer.vin_decode";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VinConfig {
    vin: String,
    #[serde(default)]
    mode: vin::Mode,
}

const VIN_DOCS: &str = r#"Checks and decodes a vehicle identification number: a trade-in from a web form, a VIN from a DMS export, a vehicle of interest in a lead.

**Checks:** 17 characters, letters and digits only, never `I`, `O` or `Q`; the check digit in position 9 (49 CFR 565) and a model-year code in position 10. `mode` says how strictly:

- `strict` (the default): North American rules; a wrong check digit makes the VIN invalid.
- `iso`: ISO 3779 VINs from markets without check digits pass with a mismatch (still reported in `check_digit`).
- `lenient`: as typed by people: `I` is read as `1`, `O` and `Q` as `0`, and a check-digit mismatch does not make the VIN invalid.

**Output:** `{vin, valid, check_digit: {expected, actual, valid}, wmi, manufacturer, country, model_year, plant_code, serial, errors}`. `vin` is the VIN as read (upper case, blanks trimmed, corrected in lenient mode). The model year comes from position 10, in 1980–2009 when position 7 is a digit and 2010–2039 when it is a letter (the rule for cars, light trucks and MPVs). `manufacturer` comes from a table of the world manufacturer identifiers (positions 1–3) of the makes sold most in North America (null when not in it); `country` from the first two characters.

**Errors:** none for a bad VIN: the step completes with `valid: false` and every reason in `errors`, so a workflow can branch on `{{ $json.valid }}`.

**Example**

```json
{"id": "vin", "type": "dealer.vin_decode", "config": {"vin": "{{ $json.trade_in.vin }}"}}
```

With `1HGCM82633A004352` the output is `{"vin": "1HGCM82633A004352", "valid": true, "check_digit": {"expected": "3", "actual": "3", "valid": true}, "wmi": "1HG", "manufacturer": "Honda", "country": "United States", "model_year": 2003, "plant_code": "A", "serial": "004352", "errors": []}`.
"#;

#[async_trait]
impl Node for VinDecode {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Checks a VIN (check digit, characters) and decodes its maker, country and model year.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "vin": {
                        "description": "The VIN, usually an expression such as `{{ $json.vehicle.vin }}`.",
                        "type": "string",
                    },
                    "mode": {
                        "description": "`strict` (check digit required), `iso` (check digit optional) or `lenient` (typing slips corrected).",
                        "enum": ["strict", "iso", "lenient"],
                        "default": "strict",
                    },
                },
                "required": ["vin"],
                "additionalProperties": false,
            }),
            docs: VIN_DOCS,
            ..NodeSpec::new(Self::KIND, "VIN Decode", "dealer")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: VinConfig = parse_config(config)?;
        output(vin::decode(&config.vin, config.mode))
    }
}

/// Normalizes a phone number to E.164.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhoneNormalize;

impl PhoneNormalize {
    pub const KIND: &'static str = "dealer.phone_normalize";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneConfig {
    phone: String,
    #[serde(default = "us")]
    default_country: String,
}

fn us() -> String {
    "US".to_owned()
}

const PHONE_DOCS: &str = r#"Normalizes a phone number to E.164 (`+13125550142`), the form SMS providers, dialers and CRMs want, whatever way the customer typed it: `(312) 555-0142`, `312.555.0142`, `1-312-555-0142`, `+44 20 7946 0018`, `312-555-0142 ext. 27`.

**Reading:** a number starting with `+` (or an international prefix: `011` in North America, `00` elsewhere) is read by its country code; any other is a national number of `default_country` (ISO 3166 code, `US` by default), its trunk prefix dropped (`0` in most of Europe, a leading `1` in North America). An extension (`x27`, `ext. 27`, `#27`) is split off.

**Checks:** the national number's length for its country; North American numbers by the numbering plan (area code and exchange start with 2–9, no `N11` service codes). `+1` numbers are `CA` when the area code is Canadian, else `US`.

**Output:** `{input, valid, e164, country, calling_code, national_number, extension, errors}`.

**Errors:** none for a bad number: the step completes with `valid: false`, `e164: null` and the reasons in `errors`. A `default_country` the node does not know (from an expression) fails the step.

**Example**

```json
{"id": "phone", "type": "dealer.phone_normalize", "config": {"phone": "{{ $json.customer.phones[0].number }}", "default_country": "US"}}
```

With `(416) 555-0199` the output is `{"input": "(416) 555-0199", "valid": true, "e164": "+14165550199", "country": "CA", "calling_code": "1", "national_number": "4165550199", "extension": null, "errors": []}`.
"#;

#[async_trait]
impl Node for PhoneNormalize {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Normalizes a phone number to E.164 (+13125550142), reading national numbers in a default country.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "phone": {
                        "description": "The number as typed, usually an expression.",
                        "type": "string",
                    },
                    "default_country": country_schema(),
                },
                "required": ["phone"],
                "additionalProperties": false,
            }),
            docs: PHONE_DOCS,
            ..NodeSpec::new(Self::KIND, "Phone Normalize", "dealer")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: PhoneConfig = parse_config(config)?;
        check_country(&config.default_country)?;
        output(phone::normalize(&config.phone, &config.default_country))
    }
}

/// A `default_country` from an expression is checked when the node runs: a wrong one is the
/// config's fault, not the number's.
pub(crate) fn check_country(country: &str) -> Result<(), NodeError> {
    if phone::countries().any(|c| c == country) {
        Ok(())
    } else {
        Err(NodeError::fatal(format!(
            "default_country `{country}` is not one of the countries this node knows"
        )))
    }
}

/// The schema of a `default_country` property.
pub(crate) fn country_schema() -> Value {
    let countries: Vec<&str> = phone::countries().collect();
    json!({
        "description": "ISO 3166 code of the country a number without a country code is read in.",
        "enum": countries,
        "default": "US",
    })
}

/// Whether the dealership is open, and when it next opens or closes.
#[derive(Clone, Copy, Debug, Default)]
pub struct BusinessHours;

impl BusinessHours {
    pub const KIND: &'static str = "dealer.business_hours";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursConfig {
    timezone: String,
    #[serde(default)]
    hours: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    at: Option<chrono::DateTime<chrono::Utc>>,
}

impl HoursConfig {
    fn hours(&self) -> Result<hours::Hours, ConfigIssue> {
        hours::Hours::parse(&self.timezone, &self.hours, &self.holidays)
    }
}

const HOURS_DOCS: &str = r#"Says whether the dealership (or its service desk, or its BDC) is open, in its time zone, and when that changes: for "answer within business hours" flows that text a lead at once when someone can pick up, and otherwise promise a call at the next opening.

**Hours:** per weekday (`mon` … `sun`), a list of `HH:MM-HH:MM` openings (`24:00` ends at midnight; openings that touch are one); a day left out is closed. `holidays` lists dates (`YYYY-MM-DD`, local) closed all day. Times are local to `timezone` (IANA; daylight saving handled). Checked when the workflow is saved.

**Moment:** now, or `at` (ISO-8601) to ask about another time.

**Output:** `{open, at, local_time, closes_at, next_open}`: `closes_at` (UTC, ISO-8601) is when the current opening ends, null while closed; `next_open` when the next one starts, null while open (or when none is within a year).

**Example**

```json
{
  "id": "hours",
  "type": "dealer.business_hours",
  "config": {
    "timezone": "America/Chicago",
    "hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"], "sat": ["10:00-16:00"]},
    "holidays": ["2026-11-26", "2026-12-25"]
  }
}
```

On Saturday 2026-11-28 at 19:00 in Chicago the output is `{"open": false, "at": "2026-11-29T01:00:00Z", "local_time": "2026-11-28T19:00:00-06:00", "closes_at": null, "next_open": "2026-11-30T15:00:00Z"}`; a `logic.if` on `{{ $json.open }}` then picks the path.
"#;

#[async_trait]
impl Node for BusinessHours {
    fn spec(&self) -> NodeSpec {
        let day = json!({
            "description": "Openings as `HH:MM-HH:MM`, local time.",
            "type": "array",
            "items": {"type": "string", "pattern": "^\\s*\\d{2}:\\d{2}\\s*-\\s*\\d{2}:\\d{2}\\s*$"},
        });
        let days: serde_json::Map<String, Value> = hours::DAYS
            .iter()
            .map(|d| ((*d).to_owned(), day.clone()))
            .collect();
        NodeSpec {
            description: "Whether the dealership is open now (in its time zone, with holidays), and when it next opens or closes.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "timezone": {"description": "IANA time zone of the hours.", "type": "string"},
                    "hours": {
                        "description": "Per weekday (`mon` … `sun`), the openings; a day left out is closed.",
                        "type": "object",
                        "properties": days,
                        "additionalProperties": false,
                    },
                    "holidays": {
                        "description": "Local dates (`YYYY-MM-DD`) closed all day.",
                        "type": "array",
                        "items": {"type": "string"},
                    },
                    "at": {
                        "description": "The moment to ask about (ISO-8601); now when absent.",
                        "type": "string",
                    },
                },
                "required": ["timezone"],
                "additionalProperties": false,
            }),
            docs: HOURS_DOCS,
            ..NodeSpec::new(Self::KIND, "Business Hours", "dealer")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        let Ok(config) = serde_json::from_value::<HoursConfig>(config.clone()) else {
            return vec![ConfigIssue {
                field: "at".into(),
                issue: "not an ISO-8601 time".into(),
            }];
        };
        config.hours().err().into_iter().collect()
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: HoursConfig = parse_config(config)?;
        let hours = config
            .hours()
            .map_err(|e| NodeError::fatal(format!("{}: {}", e.field, e.issue)))?;
        output(hours.status(config.at.unwrap_or_else(chrono::Utc::now)))
    }
}

/// A node's result on `main`, as JSON.
fn output(result: impl serde::Serialize) -> Result<NodeOutput, NodeError> {
    serde_json::to_value(result)
        .map(NodeOutput::main)
        .map_err(|e| NodeError::fatal(format!("encoding the output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn a_vin_is_decoded_into_the_documented_output() {
        let out = run(&VinDecode, json!({"vin": "1HGCM82633A004352"}), Value::Null)
            .await
            .unwrap();
        assert_eq!(
            out.data,
            json!({
                "vin": "1HGCM82633A004352", "valid": true,
                "check_digit": {"expected": "3", "actual": "3", "valid": true},
                "wmi": "1HG", "manufacturer": "Honda", "country": "United States",
                "model_year": 2003, "plant_code": "A", "serial": "004352", "errors": []
            })
        );
    }

    #[tokio::test]
    async fn an_invalid_vin_completes_with_its_reasons() {
        let out = run(
            &VinDecode,
            json!({"vin": "12345", "mode": "iso"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(out.data["valid"], false);
        assert_eq!(out.data["errors"][0], "a VIN has 17 characters, not 5");
        assert!(
            run(
                &VinDecode,
                json!({"vin": "1HGCM82633A004352", "mode": "loose"}),
                Value::Null
            )
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn a_phone_is_normalized_into_the_documented_output() {
        let out = run(
            &PhoneNormalize,
            json!({"phone": "(416) 555-0199"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(
            out.data,
            json!({
                "input": "(416) 555-0199", "valid": true, "e164": "+14165550199",
                "country": "CA", "calling_code": "1", "national_number": "4165550199",
                "extension": null, "errors": []
            })
        );
        let bad = run(
            &PhoneNormalize,
            json!({"phone": "555", "default_country": "GB"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(
            (bad.data["valid"].clone(), bad.data["e164"].clone()),
            (json!(false), Value::Null)
        );
    }

    #[tokio::test]
    async fn the_documented_example_gives_the_documented_output() {
        let config = json!({
            "timezone": "America/Chicago",
            "hours": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"], "sat": ["10:00-16:00"]},
            "holidays": ["2026-11-26", "2026-12-25"],
            "at": "2026-11-29T01:00:00Z"
        });
        let out = run(&BusinessHours, config, Value::Null).await.unwrap();
        assert_eq!(
            out.data,
            json!({"open": false, "at": "2026-11-29T01:00:00Z", "local_time": "2026-11-28T19:00:00-06:00", "closes_at": null, "next_open": "2026-11-30T15:00:00Z"})
        );
        let fields = |config: Value| -> Vec<String> {
            BusinessHours
                .check_config(&config)
                .into_iter()
                .map(|i| i.field)
                .collect()
        };
        assert_eq!(fields(json!({"timezone": "Mars/Base"})), ["timezone"]);
        assert_eq!(
            fields(json!({"timezone": "UTC", "hours": {"mon": ["18:00-09:00"]}})),
            ["hours.mon[0]"]
        );
        assert_eq!(fields(json!({"timezone": "UTC", "at": "tomorrow"})), ["at"]);
    }
}
