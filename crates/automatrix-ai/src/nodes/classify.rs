//! `ai.classify`: one of a list of labels for a text (hot / warm / cold lead, sales / service /
//! parts inquiry), with the model's confidence. The label is always one of `labels`.

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::structured::{Ask, prompt, validator};
use super::{default_model, model_schema, with_account};
use crate::gateway::Gateway;

/// The most labels one node may offer.
const MAX_LABELS: usize = 50;

/// Classifies a text into one of given labels.
pub struct AiClassify {
    gateway: Arc<Gateway>,
}

impl AiClassify {
    pub const KIND: &'static str = "ai.classify";

    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyConfig {
    #[serde(default = "default_model")]
    model: String,
    text: String,
    labels: Vec<String>,
    #[serde(default)]
    instructions: Option<String>,
}

impl ClassifyConfig {
    /// Labels must be distinct (ignoring letter case, since answers are matched that way) and
    /// not blank.
    fn issues(&self) -> Vec<ConfigIssue> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, label) in self.labels.iter().enumerate() {
            let issue = if label.trim().is_empty() {
                "must not be blank"
            } else if !seen.insert(label.trim().to_lowercase()) {
                "repeats an earlier label (labels are matched ignoring letter case)"
            } else {
                continue;
            };
            out.push(ConfigIssue {
                field: format!("labels[{i}]"),
                issue: issue.to_owned(),
            });
        }
        if !(1..=MAX_LABELS).contains(&self.labels.len()) {
            out.push(ConfigIssue {
                field: "labels".into(),
                issue: format!("must have 1 to {MAX_LABELS} labels"),
            });
        }
        out
    }

    /// The schema of an answer: one of the labels, and a confidence from 0 to 1.
    fn answer_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "label": {"enum": self.labels},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["label", "confidence"],
        })
    }

    /// An answer with its label spelled as in `labels` when it matches one ignoring case and
    /// surrounding space.
    fn normalize(&self, mut answer: Value) -> Value {
        let given = answer["label"].as_str().map(|l| l.trim().to_lowercase());
        if let Some(label) = given.and_then(|g| {
            self.labels
                .iter()
                .find(|l| l.trim().to_lowercase() == g)
                .cloned()
        }) {
            answer["label"] = Value::String(label);
        }
        answer
    }
}

const DOCS: &str = r#"Puts a text into one of the given `labels`: is this lead hot, warm or cold; is this email about sales, service or parts. The output's `label` is always exactly one of `labels` (matched ignoring letter case, and given back as written in the config), with the model's `confidence` from 0 to 1.

The model is asked for a JSON object `{label, confidence}`. An answer that is not one, or names no label of the list, gets one repair: the model is told what was wrong and asked again. A second miss fails the step (fatal), with the answer and the problems in the error's data. Both calls are accounted for and counted in the output's `usage` and `cost_usd`.

`model` is an AI route, as for `ai.generate` (the route `default` works offline: the built-in mock picks the first label the text mentions, else the first label, with confidence 0). `instructions` adds guidance, such as what makes a lead hot. Budget, errors and accounting are as for `ai.generate`.

**Output** `{label, confidence, repaired, provider, model, route, variant, usage: {input_tokens, output_tokens}, cost_usd, attempts}` (`repaired`: whether the answer needed the repair).

**Example:** triage an inbound email, then a `logic.switch` on `{{ $json.label }}`.

```json
{"id": "triage", "type": "ai.classify", "config": {"model": "default", "text": "{{ $json.subject }}\n{{ $json.body }}", "labels": ["sales", "service", "parts", "other"], "instructions": "Service covers appointments, recalls and repairs."}}
```

Output (mock, for an email asking to book an oil change for service): `{"label": "service", "confidence": 0, "repaired": false, "provider": "mock", "model": "mock", ...}`.
"#;

#[async_trait]
impl Node for AiClassify {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Classifies a text into one of given labels with a language model, with a confidence.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "model": model_schema(),
                    "text": {"description": "The text to classify; expressions put the run's data in it.", "type": "string"},
                    "labels": {"description": "The labels to choose from; the output's `label` is always one of them.", "type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": MAX_LABELS},
                    "instructions": {"description": "Guidance for the choice (what each label means).", "type": "string"},
                },
                "required": ["text", "labels"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            side_effects: true,
            ..NodeSpec::new(Self::KIND, "AI Classify", "ai")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        ConfigIssue::of(config, |c: ClassifyConfig| c.issues())
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let c: ClassifyConfig = parse_config(config)?;
        ConfigIssue::refuse(Self::KIND, c.issues())?;
        let schema = c.answer_schema();
        let validator = validator(Self::KIND, &schema)?;
        let system = format!(
            "You classify texts. Answer with a JSON object {{\"label\": ..., \"confidence\": ...}}: \
             `label` is exactly one of {}, and `confidence` a number from 0 to 1.",
            serde_json::to_string(&c.labels).unwrap_or_default()
        );
        let prompt = prompt(system, c.instructions.as_deref(), &c.text);
        let normalize = |v| c.normalize(v);
        let found = Ask {
            who: Self::KIND,
            alias: &c.model,
            schema: &schema,
            validator: &validator,
            hint: &c.text,
            normalize: &normalize,
        }
        .run(&self.gateway, ctx, prompt)
        .await?;
        let result = json!({
            "label": found.data["label"],
            "confidence": found.data["confidence"],
            "repaired": found.repaired,
        });
        Ok(NodeOutput::main(with_account(
            result,
            &c.model,
            &found.answers,
        )))
    }
}
