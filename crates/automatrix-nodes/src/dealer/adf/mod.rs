//! ADF (Auto-lead Data Format 1.0), the XML in which lead providers and dealer websites send
//! leads and CRMs take them: `dealer.adf_parse` reads a lead into JSON, `dealer.adf_build` writes
//! JSON of the same shape back as ADF.

mod build;
mod lead;
mod parse;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_country, country_schema, output, us};
use lead::Lead;

/// Reads an ADF lead.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdfParse;

impl AdfParse {
    pub const KIND: &'static str = "dealer.adf_parse";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseConfig {
    #[serde(default)]
    xml: Option<String>,
    #[serde(default = "us")]
    default_country: String,
}

const PARSE_DOCS: &str = r#"Reads an ADF 1.0 lead (the XML cars.com, AutoTrader, OEM programs, third-party providers and dealer website forms send) into JSON a workflow can route, score and answer.

**Input:** the XML in `xml`, usually `{{ $json.body }}` after a `trigger.webhook` (an XML body arrives as its text). Without `xml`, the step's input itself must be the XML text (a JSON string).

**Real-world ADF is read as it comes:** tag and attribute names in any case (`<ADF><PROSPECT>`); `<?ADF VERSION "1.0"?>` before or instead of `<?xml …?>`; CDATA; blanks and line breaks anywhere; a `<!DOCTYPE>` (nothing is fetched); `&` left unescaped (`Smith & Sons`) and HTML's `&nbsp;`. A `<name part="full">` alone is split into first and last name (`Last, First` at the comma; otherwise the last word, with `Jr.`/`III` and particles such as `van`/`de la` kept with it); first, middle and last alone make `full_name`.

**Output:** `{id, source, request_date, status, customer: {first_name, last_name, full_name, email, phones: [{number, e164, type, time}], address: {street, city, region, postal_code, country}}, vehicles: [{interest, status, year, make, model, trim, vin, stock, odometer: {value, units}}], timeframe: {description, earliest_date, latest_date}, comments, vendor: {name}, provider: {name}}`. Every field is there: what the lead does not say is null (or `[]`), so `{{ $json.customer.address.city }}` never fails.

- Where ADF allows several of a thing in one place, the **first** is taken: the first `<prospect>`, the first `<id>` (its text is `id`, its `source` attribute `source`), the first `<contact>` of the customer, the first non-empty `<email>`, the first `<name>` of each part. Every `<phone>` and every `<vehicle>` is kept, in document order.
- `request_date` and the timeframe's dates are ISO 8601 when they can be read: with the offset the lead gave (`2026-11-21T15:15:00-05:00`), without one when it gave none (`11/21/2026 3:15 PM` is `2026-11-21T15:15:00`); text that is no date is kept as written.
- `e164` is the phone number in E.164 (as `dealer.phone_normalize` reads it, national numbers in `default_country`), null when it is no valid number. `type` and `time` are the attributes (`voice`, `cellphone`, `fax`; `morning`, `evening`), lower case.
- `street` is the street lines and the apartment joined with `, `. `region` is `<regioncode>`.
- `interest` (`buy`, `lease`, `trade-in`, `test-drive`, `sell`) and `status` (`new`, `used`) are lower case, null when absent (the ADF DTD's defaults are `buy` and `new`). `year` and `odometer.value` are numbers (`42,180` reads as 42180); `vin` upper case.
- `<timeframe>` and `<comments>` are read from `<customer>`, or from `<prospect>` where some providers put them; `vendor.name` is `<vendorname>`, `provider.name` the provider's `<name>`. Everything else in the lead (prices, colors, vehicle comments) is not read.

**Errors** (fatal, retrying gives the same): text that is not an ADF lead, with what it is instead: `not an ADF lead: the root element is <html>, expected <adf>`, `… the text is an HTML page`, `… the text is not XML`, `… <adf> has no <prospect>`; a lead that is not well-formed XML (cut off, tags crossed) with the XML reader's reason and position. Documents that declare XML entities are refused (leads never do; it rules out entity-expansion attacks).

**Example**

```json
{"id": "lead", "type": "dealer.adf_parse", "config": {"xml": "{{ $json.body }}"}}
```

With `<adf><prospect><requestdate>11/21/2026 3:15 PM</requestdate><vehicle interest="buy" status="used"><year>2021</year><make>Honda</make><model>Civic</model></vehicle><customer><contact><name part="full">Maria Lopez</name><phone type="cellphone">(312) 555-0142</phone></contact></customer></prospect></adf>` the output has `"request_date": "2026-11-21T15:15:00"`, `"customer": {"first_name": "Maria", "last_name": "Lopez", "full_name": "Maria Lopez", "email": null, "phones": [{"number": "(312) 555-0142", "e164": "+13125550142", "type": "cellphone", "time": null}], …}` and `"vehicles": [{"interest": "buy", "status": "used", "year": 2021, "make": "Honda", "model": "Civic", …}]`.
"#;

#[async_trait]
impl Node for AdfParse {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Reads an ADF/XML lead (customer, phones, vehicles, trade-in, timeframe, provider) into JSON, as lead providers really send it.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "xml": {
                        "description": "The ADF document, usually `{{ $json.body }}`; without it, the step's input must be the XML text.",
                        "type": "string",
                    },
                    "default_country": country_schema(),
                },
                "additionalProperties": false,
            }),
            docs: PARSE_DOCS,
            ..NodeSpec::new(Self::KIND, "ADF Parse", "dealer")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: ParseConfig = parse_config(config)?;
        check_country(&config.default_country)?;
        let xml = match (config.xml, input) {
            (Some(xml), _) | (None, Value::String(xml)) => xml,
            (None, _) => {
                return Err(NodeError::fatal(
                    "no ADF to read: `xml` is not set (or is null) and the input is not text; \
                     set `xml`, e.g. to `{{ $json.body }}`",
                ));
            }
        };
        let lead = parse::parse(&xml, &config.default_country).map_err(NodeError::fatal)?;
        output(lead)
    }
}

/// Writes a lead as ADF.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdfBuild;

impl AdfBuild {
    pub const KIND: &'static str = "dealer.adf_build";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildConfig {
    lead: Lead,
}

const BUILD_DOCS: &str = r#"Writes a lead as an ADF 1.0 document, to forward it to a CRM or a DMS that takes ADF by email or HTTP (with `http.request`).

**Input:** `lead`, an object of the shape `dealer.adf_parse` outputs: `{id, source, request_date, status, customer: {first_name, last_name, full_name, email, phones: [{number, e164, type, time}], address: {street, city, region, postal_code, country}}, vehicles: [{interest, status, year, make, model, trim, vin, stock, odometer: {value, units}}], timeframe: {description, earliest_date, latest_date}, comments, vendor: {name}, provider: {name}}`. After `dealer.adf_parse` that is `{{ $json }}`; for a lead from a web form, write the fields you have (`transform.set` or a literal object with expressions in it). Every field may be left out or null; `year` and `odometer.value` may be numbers or text of numbers. Fields of its own that a workflow added to the lead (`score`, `assigned_to`) are ignored at the top level; inside `customer`, a vehicle and the other parts, a field the shape does not have fails the step (it catches typos such as `firstname`).

**Output:** `{xml}`: a well-formed document that starts with `<?xml version="1.0" encoding="UTF-8"?>` and `<?ADF VERSION "1.0"?>`, with the elements in the order of the ADF DTD (`<prospect>`: `<id sequence="1" source>`, `<requestdate>`, `<vehicle interest status>`…, `<customer>` with `<contact>` (`<name part="first|last|full">`, `<email>`, `<phone type time>`, `<address>`), `<timeframe>`, `<comments>`; `<vendor><vendorname>`, `<provider><name part="full">`). Text is escaped; characters XML cannot hold (control characters) are dropped. Parts with nothing in them are left out, not written empty. `<name part="full">` is written only when it is not just first and last name; a phone without `number` is written as its `e164`; `street` is one `<street line="1">`.

Reading the output with `dealer.adf_parse` gives the lead back, so a parsed lead can be changed (a field set, a vehicle added) and forwarded.

**Example**

```json
{
  "id": "to_crm",
  "type": "dealer.adf_build",
  "config": {"lead": "{{ $json }}"}
}
```

With `{"id": "L-1001", "source": "dealer-site", "customer": {"first_name": "Maria", "last_name": "Lopez", "email": "maria@example.com"}, "vehicles": [{"interest": "buy", "status": "new", "year": 2027, "make": "Toyota", "model": "RAV4"}]}` the output `xml` holds `<id sequence="1" source="dealer-site">L-1001</id>`, `<vehicle interest="buy" status="new">` with `<year>2027</year>`, and `<name part="first">Maria</name>`.
"#;

#[async_trait]
impl Node for AdfBuild {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Writes a lead (the shape dealer.adf_parse outputs) as an ADF 1.0 XML document, to forward it to a CRM.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "lead": {
                        "description": "The lead, in the shape `dealer.adf_parse` outputs; `{{ $json }}` after it.",
                        "type": "object",
                    },
                },
                "required": ["lead"],
                "additionalProperties": false,
            }),
            docs: BUILD_DOCS,
            ..NodeSpec::new(Self::KIND, "ADF Build", "dealer")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: BuildConfig = parse_config(config)?;
        output(json!({"xml": build::build(&config.lead)}))
    }
}
