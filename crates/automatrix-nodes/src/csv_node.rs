//! `data.csv`: reads CSV text into rows, and writes rows as CSV text (DMS exports, inventory
//! feeds, lists for a mailing house).

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Parses and builds CSV.
#[derive(Clone, Copy, Debug, Default)]
pub struct DataCsv;

impl DataCsv {
    pub const KIND: &'static str = "data.csv";
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Parse,
    Build,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvConfig {
    operation: Operation,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    rows: Option<Vec<Value>>,
    #[serde(default = "comma")]
    delimiter: String,
    #[serde(default = "yes")]
    header: bool,
}

fn comma() -> String {
    ",".to_owned()
}

fn yes() -> bool {
    true
}

const DOCS: &str = r#"Reads CSV text into rows, or writes rows as CSV text: a DMS export of service customers, an inventory feed, a list for a mailing house.

**Parse** (`operation: "parse"`, `text`): with `header: true` (the default) the first line names the columns and each row is an object `{column: value}`; with `false` each row is a list of values. Values stay text. Quoted fields, embedded delimiters, quotes and line breaks are read as CSV has them; a row with another number of fields than the header fails the step, naming the line.

**Build** (`operation: "build"`, `rows`): rows that are objects become a header line (the columns of the first row in name order, then those first seen in later rows) and one line per row, a missing column left empty; rows that are lists are written as they are. Values that are not text are written as JSON (`42`, `true`; null is empty). Fields are quoted where CSV needs it.

**Delimiter:** one character, `,` by default (`;` and a tab are common in exports).

**Output:** parse gives `{rows, count}`; build gives `{text, count}`.

**Example**

```json
{"id": "customers", "type": "data.csv", "config": {"operation": "parse", "text": "{{ $json.body }}"}}
```

With the text `name,email\nAnn Lee,ann@buyer.example\n` the output is `{"rows": [{"name": "Ann Lee", "email": "ann@buyer.example"}], "count": 1}`.
"#;

#[async_trait]
impl Node for DataCsv {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Reads CSV text into rows, or writes rows as CSV text.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "operation": {"description": "`parse` text into rows, or `build` text from rows.", "enum": ["parse", "build"]},
                    "text": {"description": "The CSV text to parse.", "type": "string"},
                    "rows": {"description": "The rows to build from: objects, or lists of values.", "type": "array"},
                    "delimiter": {"description": "The field delimiter, one character.", "type": "string", "minLength": 1, "maxLength": 1, "default": ","},
                    "header": {"description": "Parse: the first line names the columns (rows are objects).", "type": "boolean", "default": true},
                },
                "required": ["operation"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "CSV", "data")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: CsvConfig = parse_config(config)?;
        let fatal = |e: String| NodeError::fatal(format!("data.csv: {e}"));
        let delimiter = match config.delimiter.as_bytes() {
            [d] => *d,
            _ => return Err(fatal("the delimiter must be one ASCII character".into())),
        };
        let out = match config.operation {
            Operation::Parse => {
                let text = config
                    .text
                    .ok_or_else(|| fatal("parse needs `text`".into()))?;
                let rows = parse(&text, delimiter, config.header).map_err(fatal)?;
                json!({"count": rows.len(), "rows": rows})
            }
            Operation::Build => {
                let rows = config
                    .rows
                    .ok_or_else(|| fatal("build needs `rows`".into()))?;
                json!({"count": rows.len(), "text": build(&rows, delimiter).map_err(fatal)?})
            }
        };
        Ok(NodeOutput::main(out))
    }
}

fn parse(text: &str, delimiter: u8, header: bool) -> Result<Vec<Value>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(header)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = if header {
        reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| e.to_string())?;
            Ok(if header {
                Value::Object(
                    columns
                        .iter()
                        .zip(record.iter())
                        .map(|(c, v)| (c.clone(), Value::String(v.to_owned())))
                        .collect::<Map<_, _>>(),
                )
            } else {
                Value::Array(record.iter().map(|v| Value::String(v.to_owned())).collect())
            })
        })
        .collect()
}

fn build(rows: &[Value], delimiter: u8) -> Result<String, String> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    let field = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        if let Value::Object(o) = row {
            for k in o.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    if !columns.is_empty() {
        writer.write_record(&columns).map_err(|e| e.to_string())?;
    }
    for (i, row) in rows.iter().enumerate() {
        let record: Vec<String> = match row {
            Value::Object(o) => columns.iter().map(|c| field(o.get(c))).collect(),
            Value::Array(a) => a.iter().map(|v| field(Some(v))).collect(),
            other => return Err(format!("row {i} is neither an object nor a list: {other}")),
        };
        writer.write_record(&record).map_err(|e| e.to_string())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    async fn csv(config: Value) -> Result<Value, NodeError> {
        run(&DataCsv, config, Value::Null).await.map(|o| o.data)
    }

    #[tokio::test]
    async fn a_dms_export_is_read_with_quotes_and_line_breaks() {
        let text = "name;email;note\n\"Lee, Ann\";ann@buyer.example;\"said \"\"call after 5\"\"\nand again\"\nBo;bo@buyer.example;\n";
        let out = csv(json!({"operation": "parse", "text": text, "delimiter": ";"}))
            .await
            .unwrap();
        assert_eq!(out["count"], 2);
        assert_eq!(
            out["rows"][0],
            json!({"name": "Lee, Ann", "email": "ann@buyer.example", "note": "said \"call after 5\"\nand again"})
        );
        let lists = csv(json!({"operation": "parse", "text": "a,b\n1,2\n", "header": false}))
            .await
            .unwrap();
        assert_eq!(lists["rows"], json!([["a", "b"], ["1", "2"]]));
        let ragged = csv(json!({"operation": "parse", "text": "a,b\n1,2,3\n"}))
            .await
            .unwrap_err();
        assert!(ragged.message.contains("line: 2"), "{}", ragged.message);
    }

    #[tokio::test]
    async fn rows_are_written_back_and_read_again_unchanged() {
        let rows = json!([{"name": "Lee, Ann", "visits": 3, "vip": true}, {"name": "Bo \"B\"", "email": "bo@buyer.example"}]);
        let built = csv(json!({"operation": "build", "rows": rows}))
            .await
            .unwrap();
        let text = built["text"].as_str().unwrap();
        assert_eq!(
            text,
            "name,vip,visits,email\n\"Lee, Ann\",true,3,\n\"Bo \"\"B\"\"\",,,bo@buyer.example\n"
        );
        let again = csv(json!({"operation": "parse", "text": text}))
            .await
            .unwrap();
        assert_eq!(again["rows"][1]["email"], "bo@buyer.example");
        assert!(
            csv(json!({"operation": "build", "rows": [1]}))
                .await
                .unwrap_err()
                .message
                .contains("row 0")
        );
        assert!(
            csv(json!({"operation": "parse"}))
                .await
                .unwrap_err()
                .message
                .contains("`text`")
        );
    }
}
