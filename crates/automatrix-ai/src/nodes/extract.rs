//! `ai.extract`: structured data out of free text (a trade-in from an email, a callback time
//! from a voicemail transcript), valid against a JSON Schema the config gives.

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::structured::{Ask, prompt, validator};
use super::{default_model, model_schema, with_account};
use crate::gateway::Gateway;

/// Extracts data matching a JSON Schema from a text.
pub struct AiExtract {
    gateway: Arc<Gateway>,
}

impl AiExtract {
    pub const KIND: &'static str = "ai.extract";

    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractConfig {
    #[serde(default = "default_model")]
    model: String,
    text: String,
    schema: Value,
    #[serde(default)]
    instructions: Option<String>,
}

/// What is wrong with a schema: not an object schema, or not a valid JSON Schema.
fn schema_issues(schema: &Value) -> Vec<ConfigIssue> {
    let issue = |issue: String| {
        vec![ConfigIssue {
            field: "schema".into(),
            issue,
        }]
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return issue("must be a JSON Schema of an object (`\"type\": \"object\"`)".into());
    }
    match jsonschema::validator_for(schema) {
        Ok(_) => Vec::new(),
        Err(e) => issue(format!("is not a valid JSON Schema: {e}")),
    }
}

const DOCS: &str = r#"Pulls structured data out of free text: the trade-in vehicle from a customer's email, the callback time from a voicemail transcript, the parts from a counter note. `schema` is a JSON Schema of an object; the output's `data` is always valid against it.

The model is asked for a JSON object following the schema (which goes into the instructions). The answer is checked against the schema; when it fails (not JSON, a missing required field, a wrong type), the model gets one repair: it is told each problem (`/year: "2019" is not of type "integer"`) and asked again. A second miss fails the step (fatal), with the answer and the problems in the error's data. Both calls are accounted for and counted in the output's `usage` and `cost_usd`.

Write the schema for what a text really holds: make fields optional (leave them out of `required`, or allow `null`) when a customer may not mention them, or the model will invent values to satisfy it. `description`s on the properties help the model.

`model` is an AI route, as for `ai.generate`. The route `default` works offline: the built-in mock answers with the plainest data the schema admits (every property present; empty strings, zeros, `false`, the first `enum` value the text mentions, `default`s where given), which is enough to try a workflow end to end. Budget, errors and accounting are as for `ai.generate`.

**Output** `{data, repaired, provider, model, route, variant, usage: {input_tokens, output_tokens}, cost_usd, attempts}`.

**Example:** the trade-in of an ADF lead's comments.

```json
{"id": "trade_in", "type": "ai.extract", "config": {"model": "default", "text": "{{ $json.comments }}", "schema": {"type": "object", "properties": {"year": {"type": ["integer", "null"]}, "make": {"type": ["string", "null"]}, "model": {"type": ["string", "null"]}, "mileage": {"type": ["integer", "null"], "description": "Odometer miles"}, "has_trade": {"type": "boolean"}}, "required": ["has_trade"]}, "instructions": "Only the vehicle the customer wants to trade in, not the one they want to buy."}}
```

Output for "I'd like to trade my 2017 F-150 with 82k miles": `{"data": {"year": 2017, "make": "Ford", "model": "F-150", "mileage": 82000, "has_trade": true}, "repaired": false, "provider": "openai", "model": "gpt-4o-mini", "usage": {"input_tokens": 161, "output_tokens": 31}, "cost_usd": 0.0000428, ...}`.
"#;

#[async_trait]
impl Node for AiExtract {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Extracts structured data matching a JSON Schema from a text with a language model; one repair when the answer does not validate.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "model": model_schema(),
                    "text": {"description": "The text to extract from; expressions put the run's data in it.", "type": "string"},
                    "schema": {"description": "A JSON Schema of an object: the output's `data` is valid against it.", "type": "object"},
                    "instructions": {"description": "Guidance for the extraction (which vehicle, which units).", "type": "string"},
                },
                "required": ["text", "schema"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            side_effects: true,
            ..NodeSpec::new(Self::KIND, "AI Extract", "ai")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        config.get("schema").map(schema_issues).unwrap_or_default()
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let c: ExtractConfig = parse_config(config)?;
        ConfigIssue::refuse(Self::KIND, schema_issues(&c.schema))?;
        let validator = validator(Self::KIND, &c.schema)?;
        let system = format!(
            "You extract data from texts. Answer with a single JSON object valid against this \
             JSON Schema, and nothing else:\n{}\nUse null (where the schema allows it) for what \
             the text does not say; never invent values.",
            c.schema
        );
        let prompt = prompt(system, c.instructions.as_deref(), &c.text);
        let found = Ask {
            who: Self::KIND,
            alias: &c.model,
            schema: &c.schema,
            validator: &validator,
            hint: &c.text,
            normalize: &|v| v,
        }
        .run(&self.gateway, ctx, prompt)
        .await?;
        Ok(NodeOutput::main(with_account(
            json!({"data": found.data, "repaired": found.repaired}),
            &c.model,
            &found.answers,
        )))
    }
}
