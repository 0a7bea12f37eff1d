//! Dealership nodes: the automotive building blocks no general-purpose tool has.

mod vin;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
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
        let decoded = vin::decode(&config.vin, config.mode);
        let out = serde_json::to_value(decoded)
            .map_err(|e| NodeError::fatal(format!("encoding the decoded VIN: {e}")))?;
        Ok(NodeOutput::main(out))
    }
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
}
