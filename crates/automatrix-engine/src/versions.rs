//! A workflow's version history: each version with its author and a change summary, the diff
//! between two versions, and restoring one. History is never rewritten: a restore makes a new
//! version equal to the old one.
//!
//! Summaries are computed when read, from the definitions: "created" for version 1, "restored
//! from version v" for a restore (the one fact stored for it, `restored_from`), else the
//! [`DefinitionDiff::summary`] against the previous version. So they are never out of step with
//! the definitions, and older versions have them too.

use std::collections::HashMap;

use automatrix_core::diff::{DefinitionDiff, diff_definitions};
use automatrix_store::{Workflow, WorkflowVersion};
use serde_json::json;
use uuid::Uuid;

use crate::{Engine, EngineError, WorkflowChange};

/// A version with what a person reads about it.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    pub version: WorkflowVersion,
    /// Who made it; `None` when unknown or the user is gone.
    pub author: Option<Author>,
    pub summary: String,
}

/// The user who made a version.
#[derive(Clone, Debug)]
pub struct Author {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// The changes from version `against` to version `version`.
#[derive(Clone, Debug)]
pub struct VersionDiff {
    pub version: i64,
    /// `None` for version 1 compared with nothing (everything in it is added).
    pub against: Option<i64>,
    pub diff: DefinitionDiff,
}

impl Engine {
    /// Every version of a workflow, newest first.
    pub async fn list_versions(
        &self,
        org: Uuid,
        id: Uuid,
    ) -> Result<Vec<VersionInfo>, EngineError> {
        self.store()
            .get_workflow(org, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let versions = self.store().list_workflow_versions(org, id).await?;
        let authors = self.authors(org, &versions).await?;
        let infos = versions
            .iter()
            .enumerate()
            .map(|(i, v)| VersionInfo {
                version: v.clone(),
                author: v.created_by.and_then(|u| authors.get(&u).cloned()),
                summary: summary_of(v, versions.get(i + 1)),
            })
            .collect();
        Ok(infos)
    }

    /// Version `version` of a workflow.
    pub async fn get_version(
        &self,
        org: Uuid,
        id: Uuid,
        version: i64,
    ) -> Result<VersionInfo, EngineError> {
        let v = self.version(org, id, version).await?;
        let previous = match version {
            1 => None,
            _ => {
                self.store()
                    .get_workflow_version(org, id, version - 1)
                    .await?
            }
        };
        let authors = self.authors(org, std::slice::from_ref(&v)).await?;
        Ok(VersionInfo {
            author: v.created_by.and_then(|u| authors.get(&u).cloned()),
            summary: summary_of(&v, previous.as_ref()),
            version: v,
        })
    }

    /// What changed from version `against` (default: the one before) to `version`.
    pub async fn diff_versions(
        &self,
        org: Uuid,
        id: Uuid,
        version: i64,
        against: Option<i64>,
    ) -> Result<VersionDiff, EngineError> {
        let newer = self.version(org, id, version).await?;
        let against = against.or((version > 1).then(|| version - 1));
        let older = match against {
            Some(w) => self.version(org, id, w).await?.definition.0,
            None => json!({"nodes": [], "edges": []}),
        };
        Ok(VersionDiff {
            version,
            against,
            diff: diff_definitions(&older, &newer.definition.0),
        })
    }

    /// Makes version `version`'s definition current again as a new version, through the same
    /// checks and side effects as any update (validation, webhook token, schedule). Restoring
    /// the definition that is already current changes nothing and makes no version.
    pub async fn restore_version(
        &self,
        org: Uuid,
        id: Uuid,
        user: Option<Uuid>,
        version: i64,
    ) -> Result<Workflow, EngineError> {
        let old = self.version(org, id, version).await?;
        let change = WorkflowChange {
            definition: Some(old.definition.0),
            ..WorkflowChange::default()
        };
        self.change_workflow(org, id, user, change, Some(version))
            .await
    }

    async fn version(
        &self,
        org: Uuid,
        id: Uuid,
        version: i64,
    ) -> Result<WorkflowVersion, EngineError> {
        self.store()
            .get_workflow_version(org, id, version)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// The authors of `versions` that still exist in `org`, by id.
    async fn authors(
        &self,
        org: Uuid,
        versions: &[WorkflowVersion],
    ) -> Result<HashMap<Uuid, Author>, EngineError> {
        let mut authors = HashMap::new();
        for id in versions.iter().filter_map(|v| v.created_by) {
            if authors.contains_key(&id) {
                continue;
            }
            if let Some(user) = self.store().get_user(id).await?
                && user.organization_id == org
            {
                let author = Author {
                    id,
                    name: user.name,
                    email: user.email,
                };
                authors.insert(id, author);
            }
        }
        Ok(authors)
    }
}

fn summary_of(version: &WorkflowVersion, previous: Option<&WorkflowVersion>) -> String {
    match (version.restored_from, previous) {
        (Some(from), _) => format!("restored from version {from}"),
        (None, None) => "created".to_owned(),
        (None, Some(p)) => diff_definitions(&p.definition.0, &version.definition.0).summary(),
    }
}
