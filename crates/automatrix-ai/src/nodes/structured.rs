//! Structured answers (`ai.classify`, `ai.extract`): ask for a JSON object, check it against a
//! JSON Schema, and when it does not pass, ask once more with the problems named (the repair);
//! a second miss fails the step. The built-in mock cannot follow a schema, so for it the
//! answer is built from the schema instead ([`super::instance`]).

use automatrix_core::{NodeContext, NodeError};
use serde_json::{Value, json};

use super::ask;
use super::instance::mock_instance;
use crate::ask::is_mock;
use crate::gateway::{Answer, Gateway};
use crate::provider::{Message, Prompt};

/// How many schema problems an error or a repair request names.
const MAX_PROBLEMS: usize = 5;

/// A structured answer: the data and every call it took (one, or two with a repair).
pub(super) struct Structured {
    pub data: Value,
    pub answers: Vec<Answer>,
    pub repaired: bool,
}

/// What one structured ask is about.
pub(super) struct Ask<'a> {
    pub who: &'a str,
    pub alias: &'a str,
    pub schema: &'a Value,
    pub validator: &'a jsonschema::Validator,
    /// The text being worked on: the mock picks enum values it mentions.
    pub hint: &'a str,
    /// Tidies an answer before it is checked (a label's letter case).
    pub normalize: &'a (dyn Fn(Value) -> Value + Sync),
}

impl Ask<'_> {
    /// Asks `prompt` (as a JSON request) and checks the answer, repairing once.
    pub async fn run(
        &self,
        gateway: &Gateway,
        ctx: &NodeContext,
        mut prompt: Prompt,
    ) -> Result<Structured, NodeError> {
        prompt.json = true;
        let mut answers = Vec::new();
        loop {
            let answer = ask(gateway, ctx, self.who, self.alias, &prompt).await?;
            let text = answer.text.clone();
            let mock = is_mock(&answer);
            answers.push(answer);
            let repaired = answers.len() > 1;
            if mock {
                return self.mock_answer(answers);
            }
            let problems = match parse_object(&text) {
                Ok(data) => {
                    let data = (self.normalize)(data);
                    let problems = self.problems(&data);
                    if problems.is_empty() {
                        return Ok(Structured {
                            data,
                            answers,
                            repaired,
                        });
                    }
                    problems
                }
                Err(why) => vec![why],
            };
            if repaired {
                return Err(NodeError::fatal(format!(
                    "{}: the answer did not match the schema, even after a repair: {}",
                    self.who,
                    problems.join("; ")
                ))
                .with_data(json!({"answer": text, "problems": problems})));
            }
            prompt.messages.push(Message::assistant(text));
            prompt.messages.push(Message::user(format!(
                "That answer is not valid: {}. Answer again with only the corrected JSON object.",
                problems.join("; ")
            )));
        }
    }

    /// What is wrong with `data`, as `path: problem` lines.
    fn problems(&self, data: &Value) -> Vec<String> {
        self.validator
            .iter_errors(data)
            .take(MAX_PROBLEMS)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("{at}: {e}")
            })
            .collect()
    }

    fn mock_answer(&self, answers: Vec<Answer>) -> Result<Structured, NodeError> {
        let data = mock_instance(self.schema, self.hint);
        let problems = self.problems(&data);
        if !problems.is_empty() {
            return Err(NodeError::fatal(format!(
                "{}: the built-in mock cannot build data for this schema ({}); configure an AI \
                 route for `{}`",
                self.who,
                problems.join("; "),
                self.alias
            )));
        }
        Ok(Structured {
            data,
            answers,
            repaired: false,
        })
    }
}

/// A structured request: `system` (what to answer and how), the config's `instructions` after
/// it, `text` as the user message, temperature 0 (the same text should get the same answer).
pub(super) fn prompt(mut system: String, instructions: Option<&str>, text: &str) -> Prompt {
    if let Some(extra) = instructions.filter(|s| !s.trim().is_empty()) {
        system.push('\n');
        system.push_str(extra);
    }
    Prompt {
        messages: vec![Message::system(system), Message::user(text)],
        temperature: Some(0.0),
        ..Prompt::default()
    }
}

/// The JSON Schema validator of `schema`, or a fatal error of `who`.
pub(super) fn validator(who: &str, schema: &Value) -> Result<jsonschema::Validator, NodeError> {
    jsonschema::validator_for(schema).map_err(|e| NodeError::fatal(format!("{who}: {e}")))
}

/// The JSON object in a model's answer: the whole text, else the text inside a code fence,
/// else from its first `{` to its last `}`.
pub(super) fn parse_object(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let fenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.rsplit_once("```"))
        .map(|(inside, _)| inside.trim());
    let braces = trimmed
        .find('{')
        .zip(trimmed.rfind('}'))
        .filter(|(a, b)| a < b)
        .map(|(a, b)| &trimmed[a..=b]);
    [Some(trimmed), fenced, braces]
        .into_iter()
        .flatten()
        .find_map(|candidate| {
            serde_json::from_str::<Value>(candidate)
                .ok()
                .filter(Value::is_object)
        })
        .ok_or_else(|| "/: the answer is not a JSON object".to_owned())
}
