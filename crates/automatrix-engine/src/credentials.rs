//! The credentials vault: saving, listing and removing an organization's credentials, and
//! opening one for a running node. Data goes in sealed ([`crate::vault`]) and never comes back
//! out through these methods: only [`open_credential`], used by node services and the AI proxy
//! ([`Engine::open_credential`]), sees it.

use automatrix_core::Credential as OpenCredential;
use automatrix_core::NodeError;
use automatrix_core::credentials::check_credential;
use automatrix_store::{Credential, CredentialUpdate, NewCredential, Store};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use crate::error::name_taken;
use crate::vault::{SealedFor, Vault};
use crate::{Engine, EngineError};

/// A credential to save.
#[derive(Clone)]
pub struct NewCredentialRequest {
    pub name: String,
    pub kind: String,
    pub data: Value,
}

/// A change to a credential: a new name, new data (of the same type), or both.
#[derive(Clone, Default)]
pub struct CredentialChange {
    pub name: Option<String>,
    pub data: Option<Value>,
}

impl Engine {
    pub async fn create_credential(
        &self,
        org: Uuid,
        req: NewCredentialRequest,
    ) -> Result<Credential, EngineError> {
        let problems = check_credential(&req.kind, &req.data);
        if !problems.is_empty() {
            return Err(EngineError::InvalidCredential(problems));
        }
        let id = Uuid::now_v7();
        let owner = SealedFor {
            organization_id: org,
            credential_id: id,
            kind: &req.kind,
        };
        let new = NewCredential {
            id,
            organization_id: org,
            sealed: self.vault.seal(owner, &req.data),
            name: req.name,
            kind: req.kind,
            now: Utc::now(),
        };
        self.store()
            .create_credential(new)
            .await
            .map_err(name_taken)
    }

    pub async fn update_credential(
        &self,
        org: Uuid,
        id: Uuid,
        change: CredentialChange,
    ) -> Result<Credential, EngineError> {
        let current = self
            .store()
            .get_credential(org, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let sealed = match &change.data {
            None => None,
            Some(data) => {
                let problems = check_credential(&current.kind, data);
                if !problems.is_empty() {
                    return Err(EngineError::InvalidCredential(problems));
                }
                let owner = SealedFor {
                    organization_id: org,
                    credential_id: id,
                    kind: &current.kind,
                };
                Some(self.vault.seal(owner, data))
            }
        };
        let update = CredentialUpdate {
            name: change.name,
            sealed,
        };
        self.store()
            .update_credential(org, id, update, Utc::now())
            .await
            .map_err(name_taken)
    }
}

impl Engine {
    /// Credential `id` of `org`, decrypted: for callers that act for the organization outside
    /// a run (the AI proxy calls its providers). Never hand the data to a response.
    pub async fn open_credential(&self, org: Uuid, id: Uuid) -> Result<OpenCredential, NodeError> {
        open_credential(&**self.store(), &self.vault, org, &id.to_string()).await
    }
}

/// Credential `id` of `org`, decrypted, for a running node. The messages never hold the data;
/// a credential that does not open (the secret key changed) says so.
pub(crate) async fn open_credential(
    store: &dyn Store,
    vault: &Vault,
    org: Uuid,
    id: &str,
) -> Result<OpenCredential, NodeError> {
    let Ok(uuid) = Uuid::parse_str(id.trim()) else {
        return Err(NodeError::fatal(format!(
            "credential_id `{id}` is not a credential id (a UUID)"
        )));
    };
    let row = match store.get_credential(org, uuid).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            return Err(NodeError::fatal(format!(
                "credential {uuid} does not exist (or was deleted)"
            )));
        }
        Err(e) => {
            return Err(NodeError::retryable(format!(
                "reading credential {uuid}: {e}"
            )));
        }
    };
    let owner = SealedFor {
        organization_id: org,
        credential_id: uuid,
        kind: &row.kind,
    };
    let data = vault
        .open(owner, &row.sealed)
        .map_err(|e| NodeError::fatal(format!("credential {uuid}: {e}")))?;
    Ok(OpenCredential {
        kind: row.kind,
        data,
    })
}
