//! Built-in node types, one module per family: triggers, transforms, logic, flow, code, HTTP,
//! email and dealership.
//!
//! The binary calls [`register_builtin`] once at start-up with the [`NodesConfig`] it loaded;
//! the engine then only sees the nodes through [`NodeRegistry`]. Every node keeps its typed
//! config private, declares a JSON Schema for it (the definition validator and the canvas forms
//! are generated from it) and exposes its durable type name as a `KIND` constant.

mod code;
mod csv_node;
mod datetime;
mod db;
mod dealer;
mod email;
mod fields;
mod filter;
mod flow;
mod foreach;
mod http;
mod json_node;
mod kv;
mod logic;
mod messaging;
mod respond;
mod switch;
mod transform;
mod trigger;

#[cfg(test)]
mod dry_run_tests;
#[cfg(test)]
mod test_support;

use automatrix_core::NodeRegistry;
use serde::Deserialize;

pub use code::CodeJs;
pub use csv_node::DataCsv;
pub use datetime::TransformDatetime;
pub use db::DbQuery;
pub use dealer::{AdfBuild, AdfParse, BusinessHours, PhoneNormalize, VinDecode};
pub use email::EmailSend;
pub use filter::LogicFilter;
pub use flow::{FlowApproval, FlowDelay, FlowNoop, FlowStop, FlowSubworkflow};
pub use foreach::LogicForeach;
pub use http::{HttpPolicy, HttpRequest, Outbound};
pub use json_node::TransformJson;
pub use kv::DataKv;
pub use logic::{LogicIf, LogicMerge};
pub use messaging::{ChatPost, SmsSend};
pub use respond::RespondWebhook;
pub use switch::LogicSwitch;
pub use transform::{TransformSet, TransformTemplate};
pub use trigger::{ErrorTrigger, ManualTrigger, ScheduleTrigger, WebhookTrigger};

/// Settings of the built-in nodes, loaded once by the binary and passed down explicitly.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodesConfig {
    /// Which hosts `http.request` may reach (the SSRF guard).
    pub http: HttpPolicy,
}

/// Registers every built-in node type.
///
/// # Panics
/// Like [`NodeRegistry::register`]: when a kind is already registered (calling this twice on
/// one registry) or a schema does not compile (caught by this crate's tests).
pub fn register_builtin(registry: &mut NodeRegistry, config: &NodesConfig) {
    // One guarded HTTP client for every node that calls APIs.
    let outbound = std::sync::Arc::new(Outbound::new(config.http.clone()));
    registry
        .register(ManualTrigger)
        .register(WebhookTrigger)
        .register(ScheduleTrigger)
        .register(ErrorTrigger)
        .register(TransformSet)
        .register(TransformTemplate)
        .register(TransformDatetime)
        .register(TransformJson)
        .register(DataCsv)
        .register(DataKv)
        .register(DbQuery)
        .register(LogicIf)
        .register(LogicMerge)
        .register(LogicFilter)
        .register(LogicSwitch)
        .register(LogicForeach)
        .register(CodeJs)
        .register(FlowDelay)
        .register(FlowApproval)
        .register(FlowNoop)
        .register(FlowStop)
        .register(FlowSubworkflow)
        .register(RespondWebhook)
        .register(VinDecode)
        .register(PhoneNormalize)
        .register(BusinessHours)
        .register(AdfParse)
        .register(AdfBuild)
        .register(HttpRequest::sharing(outbound.clone()))
        .register(EmailSend)
        .register(SmsSend::new(outbound.clone()))
        .register(ChatPost::new(outbound));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_builtin_registers_every_node_kind_with_compiling_schemas() {
        let mut registry = NodeRegistry::new();

        register_builtin(&mut registry, &NodesConfig::default());

        let kinds: Vec<&str> = registry.specs().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                "chat.post",
                "code.js",
                "data.csv",
                "data.kv",
                "db.query",
                "dealer.adf_build",
                "dealer.adf_parse",
                "dealer.business_hours",
                "dealer.phone_normalize",
                "dealer.vin_decode",
                "email.send",
                "flow.approval",
                "flow.delay",
                "flow.noop",
                "flow.stop",
                "flow.subworkflow",
                "http.request",
                "logic.filter",
                "logic.foreach",
                "logic.if",
                "logic.merge",
                "logic.switch",
                "respond.webhook",
                "sms.send",
                "transform.datetime",
                "transform.json",
                "transform.set",
                "transform.template",
                "trigger.error",
                "trigger.manual",
                "trigger.schedule",
                "trigger.webhook"
            ]
        );
    }

    #[test]
    fn every_spec_is_documented_and_its_schema_describes_every_property() {
        let mut registry = NodeRegistry::new();
        register_builtin(&mut registry, &NodesConfig::default());

        for spec in registry.specs() {
            assert!(!spec.display_name.is_empty(), "{}", spec.kind);
            assert!(!spec.description.is_empty(), "{}", spec.kind);
            assert!(
                spec.docs.contains("```json"),
                "{} docs need an example",
                spec.kind
            );
            // No ports: the node ends its branch (flow.stop), or its config names them.
            assert!(
                !spec.outputs.is_empty() || spec.kind == FlowStop::KIND || spec.dynamic_outputs,
                "{}",
                spec.kind
            );
            assert!(
                !spec.dynamic_outputs || spec.outputs.is_empty(),
                "{} lists ports its config names",
                spec.kind
            );
            let schema = &spec.config_schema;
            assert_eq!(schema["type"], "object", "{}", spec.kind);
            assert_eq!(schema["additionalProperties"], false, "{}", spec.kind);
            let props = schema["properties"].as_object().expect("properties");
            for (name, prop) in props {
                assert!(
                    prop["description"].is_string(),
                    "{}.{name} has no description",
                    spec.kind
                );
            }
        }
    }

    #[test]
    fn nodes_config_deserializes_with_defaults_for_missing_fields() {
        let empty: NodesConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        let custom: NodesConfig = serde_json::from_value(serde_json::json!({
            "http": {"allow_hosts": ["crm.internal"]}
        }))
        .unwrap();

        assert!(!empty.http.allow_private);
        assert!(empty.http.allow_hosts.is_empty());
        assert!(!custom.http.allow_private);
        assert_eq!(custom.http.allow_hosts, ["crm.internal"]);
    }
}
