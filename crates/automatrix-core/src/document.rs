//! The export document: a workflow as a self-contained JSON file that another organization (or
//! server) can import. Credentials are named, never identified: every `credential_id` in a node's
//! config holding a credential's id is written as a reference to its name,
//! `{"credential": "Twilio main"}`. An object cannot be mistaken for an id (ids are strings)
//! and no node accepts one, so a reference that was not resolved fails validation instead of
//! running. The document never holds credential data.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The value of `format`.
pub const DOCUMENT_FORMAT: &str = "automatrix.workflow";
/// The `format_version` this build writes and reads.
pub const DOCUMENT_FORMAT_VERSION: u32 = 1;

/// `GET /api/workflows/{id}/export`'s answer and `POST /api/workflows/import`'s body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDocument {
    /// Always `automatrix.workflow`.
    pub format: String,
    /// Always 1 for now; a newer one is refused rather than half-read.
    pub format_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The definition (DESIGN.md §3), its credential ids replaced by
    /// `{"credential": "<name>"}`.
    pub definition: Value,
    /// The credentials the definition names, with their types.
    #[serde(default)]
    pub credentials: Vec<CredentialRef>,
}

/// A credential the document names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CredentialRef {
    /// The credential's name.
    #[serde(rename = "ref")]
    pub name: String,
    /// Its type (`twilio`, `smtp`, ...).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The reference that stands for credential `name` in a document.
pub fn credential_ref(name: &str) -> Value {
    json!({ "credential": name })
}

/// The name in a reference written by [`credential_ref`].
pub fn referenced_name(value: &Value) -> Option<&str> {
    match value.as_object() {
        Some(o) if o.len() == 1 => o.get("credential")?.as_str(),
        _ => None,
    }
}

/// Calls `f` with the JSON path (`nodes[2].config.credential_id`) and the value of every
/// `credential_id` field in the nodes' configs, at any depth.
pub fn for_each_credential_slot(definition: &mut Value, mut f: impl FnMut(&str, &mut Value)) {
    let Some(nodes) = definition.get_mut("nodes").and_then(Value::as_array_mut) else {
        return;
    };
    for (i, node) in nodes.iter_mut().enumerate() {
        if let Some(config) = node.get_mut("config") {
            walk(config, &format!("nodes[{i}].config"), &mut f);
        }
    }
}

fn walk(value: &mut Value, path: &str, f: &mut impl FnMut(&str, &mut Value)) {
    match value {
        Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                let here = format!("{path}.{key}");
                if key == "credential_id" {
                    f(&here, v);
                } else {
                    walk(v, &here, f);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                walk(v, &format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_id_in_node_configs_is_visited_with_its_path() {
        let mut def = json!({"nodes": [
            {"id": "a", "type": "sms.send", "config": {"credential_id": "x"}},
            {"id": "b", "type": "t", "config": {"targets": [{"credential_id": "y"}]}},
            {"id": "c", "type": "t"}
        ], "credential_id": "not in a node"});
        let mut seen = Vec::new();
        for_each_credential_slot(&mut def, |path, v| {
            seen.push((path.to_owned(), v.clone()));
            *v = credential_ref("named");
        });
        assert_eq!(
            seen,
            [
                ("nodes[0].config.credential_id".to_owned(), json!("x")),
                (
                    "nodes[1].config.targets[0].credential_id".to_owned(),
                    json!("y")
                ),
            ]
        );
        assert_eq!(
            referenced_name(&def["nodes"][0]["config"]["credential_id"]),
            Some("named")
        );
        assert_eq!(referenced_name(&json!("named")), None);
        assert_eq!(referenced_name(&json!({"credential": "n", "x": 1})), None);
    }
}
