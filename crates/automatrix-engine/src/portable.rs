//! Export and import: a workflow as a [`WorkflowDocument`] that names its credentials instead of
//! identifying them, and back, in any organization that has credentials of those names.
//!
//! Export replaces each `credential_id` that holds the id of one of the organization's
//! credentials with `{"credential": "<name>"}`; an id that names none (the credential was
//! deleted) is left as it is, since it identifies nothing. Import resolves every reference to
//! the importing organization's credential of that name, and refuses the document (listing each
//! reference with its path) when one is missing or of another type than the document says: a
//! workflow that cannot reach its credentials is not created half-working. It then creates a
//! new workflow (new id, new webhook token) through the same checks as any create.

use std::collections::{BTreeMap, HashMap};

use automatrix_core::Problem;
use automatrix_core::document::{
    CredentialRef, DOCUMENT_FORMAT, DOCUMENT_FORMAT_VERSION, WorkflowDocument, credential_ref,
    for_each_credential_slot, referenced_name,
};
use automatrix_store::Workflow;
use serde_json::Value;
use uuid::Uuid;

use crate::{Engine, EngineError, NewWorkflowRequest};

impl Engine {
    /// Workflow `id` as a self-contained document, its credentials named.
    pub async fn export_workflow(
        &self,
        org: Uuid,
        id: Uuid,
    ) -> Result<WorkflowDocument, EngineError> {
        let workflow = self
            .store()
            .get_workflow(org, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let by_id: HashMap<Uuid, (String, String)> = self
            .store()
            .list_credentials(org)
            .await?
            .into_iter()
            .map(|c| (c.id, (c.name, c.kind)))
            .collect();
        let mut definition = workflow.definition.0;
        let mut named = BTreeMap::new();
        for_each_credential_slot(&mut definition, |_, slot| {
            let id = slot.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok());
            if let Some((name, kind)) = id.and_then(|id| by_id.get(&id)) {
                named.insert(name.clone(), kind.clone());
                *slot = credential_ref(name);
            }
        });
        Ok(WorkflowDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            format_version: DOCUMENT_FORMAT_VERSION,
            name: workflow.name,
            description: workflow.description,
            definition,
            credentials: named
                .into_iter()
                .map(|(name, kind)| CredentialRef { name, kind })
                .collect(),
        })
    }

    /// A new workflow in `org` from `doc` (its name already checked by the caller), active.
    pub async fn import_workflow(
        &self,
        org: Uuid,
        user: Option<Uuid>,
        doc: WorkflowDocument,
    ) -> Result<Workflow, EngineError> {
        check_format(&doc)?;
        let by_name: HashMap<String, (Uuid, String)> = self
            .store()
            .list_credentials(org)
            .await?
            .into_iter()
            .map(|c| (c.name, (c.id, c.kind)))
            .collect();
        let wanted: HashMap<&str, &str> = doc
            .credentials
            .iter()
            .map(|c| (c.name.as_str(), c.kind.as_str()))
            .collect();
        let mut definition = doc.definition.clone();
        let mut problems = Vec::new();
        for_each_credential_slot(&mut definition, |path, slot| {
            let Some(name) = referenced_name(slot) else {
                return;
            };
            let path = format!("definition.{path}");
            match (by_name.get(name), wanted.get(name)) {
                (None, _) => problems.push(Problem {
                    path,
                    issue: format!("no credential named `{name}` in this organization"),
                }),
                (Some((_, kind)), Some(want)) if kind != want => problems.push(Problem {
                    path,
                    issue: format!(
                        "credential `{name}` is a `{kind}` credential; the workflow needs `{want}`"
                    ),
                }),
                (Some((id, _)), _) => *slot = Value::String(id.to_string()),
            }
        });
        if !problems.is_empty() {
            return Err(EngineError::InvalidDocument(problems));
        }
        let new = NewWorkflowRequest {
            name: doc.name,
            description: doc.description,
            definition,
            is_active: true,
        };
        self.create_workflow(org, user, new)
            .await
            .map_err(|e| match e {
                // The definition sits under `definition` in the document.
                EngineError::Invalid(problems) => EngineError::Invalid(
                    problems
                        .into_iter()
                        .map(|p| Problem {
                            path: format!("definition.{}", p.path),
                            issue: p.issue,
                        })
                        .collect(),
                ),
                other => other,
            })
    }
}

fn check_format(doc: &WorkflowDocument) -> Result<(), EngineError> {
    let mut problems = Vec::new();
    if doc.format != DOCUMENT_FORMAT {
        problems.push(Problem {
            path: "format".into(),
            issue: format!("must be `{DOCUMENT_FORMAT}`"),
        });
    }
    if doc.format_version != DOCUMENT_FORMAT_VERSION {
        problems.push(Problem {
            path: "format_version".into(),
            issue: format!(
                "version {} is not supported; this server reads version {DOCUMENT_FORMAT_VERSION}",
                doc.format_version
            ),
        });
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(EngineError::InvalidDocument(problems)),
    }
}
