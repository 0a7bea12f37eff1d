//! Master-key rotation: every value sealed under the master secret is opened with the old key
//! and sealed again under the new one, and all of them are written back in one transaction
//! ([`CredentialStore::replace_sealed`](automatrix_store::CredentialStore::replace_sealed)),
//! or none is.
//!
//! What holds sealed values is the list [`COLUMNS`]: each entry lists its column's values and
//! re-seals them. Another sealed column (a user's TOTP secret) is one more entry there, one
//! more [`SealedColumn`] variant with its SQL in the store, and nothing else.
//!
//! Everything is opened before anything is written: a value that does not open with the old
//! key (sealed under another key, or damaged) stops the rotation with nothing changed, and
//! the error names every such value.

use std::collections::BTreeMap;

use async_trait::async_trait;
use automatrix_store::{SealedColumn, SealedRewrite, Store, StoreError};
use tracing::instrument;
use uuid::Uuid;

use crate::vault::{SealedFor, Unsealable, Vault};

/// How many values of one column were re-sealed (or, in a check, open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnCount {
    /// What the values are, plural: `credentials`.
    pub noun: &'static str,
    /// Per organization; `None` counts values of no one organization.
    pub per_organization: BTreeMap<Option<Uuid>, usize>,
    pub total: usize,
}

/// What a rotation or a check found: a count per sealed column, in [`COLUMNS`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub columns: Vec<ColumnCount>,
}

/// The values of one column that did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsealableValues {
    pub noun: &'static str,
    pub ids: Vec<Uuid>,
}

/// Why a rotation did not happen. Nothing was written, except perhaps after a
/// [`Store`](Self::Store) error (see [`wrote_nothing`](Self::wrote_nothing)).
///
/// Its own type rather than an [`EngineError`](crate::EngineError) variant: only the operator's
/// command meets it, and the API's error mapping has nothing to say about it.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Values that do not open with the current key.
    #[error("{}; nothing was changed", describe(.0))]
    Unsealable(Vec<UnsealableValues>),
    /// The sealed values changed while they were re-sealed (a server or worker still running).
    #[error(
        "the sealed values changed during the rotation ({0}); stop every server and worker, \
         then run it again; nothing was changed"
    )]
    Changed(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RotateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Stale(m) => Self::Changed(m),
            other => Self::Store(other),
        }
    }
}

impl RotateError {
    /// Whether nothing was written for certain: a store error may have come from the commit
    /// itself, whose outcome the client cannot know.
    pub fn wrote_nothing(&self) -> bool {
        !matches!(self, Self::Store(_))
    }
}

fn describe(failed: &[UnsealableValues]) -> String {
    failed
        .iter()
        .map(|f| {
            let ids: Vec<String> = f.ids.iter().map(Uuid::to_string).collect();
            format!(
                "{} {} do not open with the current secret key: {}",
                f.ids.len(),
                f.noun,
                ids.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One value of a column, re-sealed or not.
struct Resealed {
    id: Uuid,
    organization_id: Option<Uuid>,
    old: Vec<u8>,
    new: Result<Vec<u8>, Unsealable>,
}

/// A column of values sealed under the master secret.
#[async_trait]
trait Column: Sync {
    fn column(&self) -> SealedColumn;
    /// What its values are, plural.
    fn noun(&self) -> &'static str;
    /// Every value of the column, each opened with `from` and sealed again under `to`.
    async fn reseal_all(
        &self,
        store: &dyn Store,
        from: &Vault,
        to: &Vault,
    ) -> Result<Vec<Resealed>, StoreError>;
}

/// `credentials.sealed`, sealed for its organization, id and type.
struct CredentialData;

#[async_trait]
impl Column for CredentialData {
    fn column(&self) -> SealedColumn {
        SealedColumn::CredentialData
    }

    fn noun(&self) -> &'static str {
        "credentials"
    }

    async fn reseal_all(
        &self,
        store: &dyn Store,
        from: &Vault,
        to: &Vault,
    ) -> Result<Vec<Resealed>, StoreError> {
        let all = store.list_all_credentials().await?;
        Ok(all
            .into_iter()
            .map(|c| {
                let owner = SealedFor {
                    organization_id: c.organization_id,
                    credential_id: c.id,
                    kind: &c.kind,
                };
                Resealed {
                    id: c.id,
                    organization_id: Some(c.organization_id),
                    new: from.reseal(to, owner, &c.sealed),
                    old: c.sealed,
                }
            })
            .collect())
    }
}

/// `user_mfa.secret_sealed`, sealed for its user.
struct MfaSecret;

#[async_trait]
impl Column for MfaSecret {
    fn column(&self) -> SealedColumn {
        SealedColumn::MfaSecret
    }

    fn noun(&self) -> &'static str {
        "MFA secrets"
    }

    async fn reseal_all(
        &self,
        store: &dyn Store,
        from: &Vault,
        to: &Vault,
    ) -> Result<Vec<Resealed>, StoreError> {
        let all = store.list_all_mfa_secrets().await?;
        Ok(all
            .into_iter()
            .map(|m| Resealed {
                id: m.user_id,
                organization_id: None,
                new: from.reseal_mfa_secret(to, m.user_id, &m.secret_sealed),
                old: m.secret_sealed,
            })
            .collect())
    }
}

/// Every column holding values sealed under the master secret.
const COLUMNS: &[&dyn Column] = &[&CredentialData, &MfaSecret];

/// Re-seals every sealed value from `from` to `to` and writes them all in one transaction.
/// Every process using the database must be stopped first (a running one would keep sealing
/// under the old key); a value written meanwhile makes the rotation fail with
/// [`RotateError::Changed`] rather than leave it behind.
#[instrument(skip_all)]
pub async fn rotate_master_key(
    store: &dyn Store,
    from: &Vault,
    to: &Vault,
) -> Result<RotationReport, RotateError> {
    let (rewrites, report) = reseal_everything(store, from, to).await?;
    store.replace_sealed(&rewrites).await?;
    tracing::info!(values = rewrites.len(), "master key rotated");
    Ok(report)
}

/// A dry run: opens every sealed value with `key` and counts them; writes nothing.
#[instrument(skip_all)]
pub async fn check_master_key(
    store: &dyn Store,
    key: &Vault,
) -> Result<RotationReport, RotateError> {
    Ok(reseal_everything(store, key, key).await?.1)
}

async fn reseal_everything(
    store: &dyn Store,
    from: &Vault,
    to: &Vault,
) -> Result<(Vec<SealedRewrite>, RotationReport), RotateError> {
    let mut rewrites = Vec::new();
    let mut report = RotationReport::default();
    let mut failed = Vec::new();
    for column in COLUMNS {
        let mut count = ColumnCount {
            noun: column.noun(),
            per_organization: BTreeMap::new(),
            total: 0,
        };
        let mut unsealable = Vec::new();
        for value in column.reseal_all(store, from, to).await? {
            match value.new {
                Ok(new) => rewrites.push(SealedRewrite {
                    column: column.column(),
                    id: value.id,
                    old: value.old,
                    new,
                }),
                Err(Unsealable) => unsealable.push(value.id),
            }
            *count
                .per_organization
                .entry(value.organization_id)
                .or_default() += 1;
            count.total += 1;
        }
        if !unsealable.is_empty() {
            failed.push(UnsealableValues {
                noun: column.noun(),
                ids: unsealable,
            });
        }
        report.columns.push(count);
    }
    if failed.is_empty() {
        Ok((rewrites, report))
    } else {
        Err(RotateError::Unsealable(failed))
    }
}
