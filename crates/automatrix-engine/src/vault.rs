//! Credential data and users' TOTP secrets at rest: sealed with XChaCha20-Poly1305 under a key derived from the
//! master secret (`AUTOMATRIX_SECRET_KEY`).
//!
//! A sealed value is `version (1 byte) ‖ nonce (24 random bytes) ‖ ciphertext and tag`. The
//! associated data binds it to its row (organization, credential id and type), so a sealed
//! value copied into another row, or another organization, does not open.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Seals and opens credential data. `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(<key redacted>)")
    }
}

/// Why sealed data did not open: another key, another row, or damaged bytes. Says nothing
/// more (there is nothing more a caller may learn).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the credential's data cannot be decrypted with this server's secret key")]
pub struct Unsealable;

/// What a sealed value belongs to.
#[derive(Clone, Copy, Debug)]
pub struct SealedFor<'a> {
    pub organization_id: Uuid,
    pub credential_id: Uuid,
    pub kind: &'a str,
}

impl SealedFor<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(48 + self.kind.len());
        aad.extend_from_slice(b"automatrix/credential/v1\0");
        aad.extend_from_slice(self.organization_id.as_bytes());
        aad.extend_from_slice(self.credential_id.as_bytes());
        aad.extend_from_slice(self.kind.as_bytes());
        aad
    }
}

impl Vault {
    /// The vault keyed by `SHA-256("automatrix/credentials/v1\0" ‖ secret)`: a key of its own,
    /// unrelated to the token-signing key derived from the same secret.
    pub fn from_master_secret(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"automatrix/credentials/v1\0");
        h.update(secret);
        let key: [u8; 32] = h.finalize().into();
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn seal(&self, owner: SealedFor<'_>, data: &Value) -> Vec<u8> {
        let plain = serde_json::to_vec(data).expect("a JSON value serializes");
        self.seal_bytes(&owner.aad(), &plain)
    }

    pub fn open(&self, owner: SealedFor<'_>, sealed: &[u8]) -> Result<Value, Unsealable> {
        let plain = self.open_bytes(&owner.aad(), sealed)?;
        serde_json::from_slice(&plain).map_err(|_| Unsealable)
    }

    /// Opens `sealed` with this vault's key and seals the same bytes again, with a fresh
    /// nonce, under `to`'s key for the same owner: the master-key rotation. The data is never
    /// parsed, so it comes out exactly as it went in.
    pub fn reseal(
        &self,
        to: &Vault,
        owner: SealedFor<'_>,
        sealed: &[u8],
    ) -> Result<Vec<u8>, Unsealable> {
        let aad = owner.aad();
        Ok(to.seal_bytes(&aad, &self.open_bytes(&aad, sealed)?))
    }

    /// [`reseal`](Self::reseal) for a user's TOTP secret.
    pub fn reseal_mfa_secret(
        &self,
        to: &Vault,
        user_id: Uuid,
        sealed: &[u8],
    ) -> Result<Vec<u8>, Unsealable> {
        let aad = mfa_aad(user_id);
        Ok(to.seal_bytes(&aad, &self.open_bytes(&aad, sealed)?))
    }

    /// Seals a user's TOTP secret. Its associated data (`automatrix/mfa/v1` and the user id)
    /// is its own, so neither a credential's sealed data nor another user's secret opens as it.
    pub fn seal_mfa_secret(&self, user_id: Uuid, secret: &[u8]) -> Vec<u8> {
        self.seal_bytes(&mfa_aad(user_id), secret)
    }

    pub fn open_mfa_secret(&self, user_id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        self.open_bytes(&mfa_aad(user_id), sealed)
    }

    fn seal_bytes(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&nonce.into(), Payload { msg: plain, aad })
            .expect("encryption of an in-memory buffer does not fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    fn open_bytes(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        let (&version, rest) = sealed.split_first().ok_or(Unsealable)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Unsealable)?;
        self.cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| Unsealable)
    }
}

fn mfa_aad(user_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(34);
    aad.extend_from_slice(b"automatrix/mfa/v1\0");
    aad.extend_from_slice(user_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn owner(kind: &str) -> SealedFor<'_> {
        SealedFor {
            organization_id: Uuid::nil(),
            credential_id: Uuid::from_u128(7),
            kind,
        }
    }

    #[test]
    fn sealed_data_opens_with_the_same_secret_and_row_only() {
        let vault = Vault::from_master_secret(b"a secret of at least thirty-two bytes!!");
        let data = json!({"token": "sk-live-123"});
        let sealed = vault.seal(owner("http_bearer"), &data);

        assert!(
            !sealed.windows(11).any(|w| w == b"sk-live-123"),
            "the plain text is not in the sealed bytes"
        );
        assert_eq!(vault.open(owner("http_bearer"), &sealed), Ok(data.clone()));
        assert_ne!(
            vault.seal(owner("http_bearer"), &data),
            sealed,
            "a fresh nonce each time"
        );

        let other_key = Vault::from_master_secret(b"another secret of thirty-two bytes!!!");
        assert_eq!(
            other_key.open(owner("http_bearer"), &sealed),
            Err(Unsealable)
        );
        assert_eq!(vault.open(owner("http_basic"), &sealed), Err(Unsealable));
        let other_row = SealedFor {
            credential_id: Uuid::from_u128(8),
            ..owner("http_bearer")
        };
        assert_eq!(vault.open(other_row, &sealed), Err(Unsealable));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(vault.open(owner("http_bearer"), &damaged), Err(Unsealable));
        assert_eq!(vault.open(owner("http_bearer"), &[]), Err(Unsealable));
    }

    #[test]
    fn resealed_data_opens_with_the_new_secret_only() {
        let old = Vault::from_master_secret(b"the old secret of thirty-two bytes!!!!");
        let new = Vault::from_master_secret(b"the new secret of thirty-two bytes!!!!");
        let data = json!({"user": "svc", "password": "hunter2"});
        let sealed = old.seal(owner("http_basic"), &data);

        let resealed = old.reseal(&new, owner("http_basic"), &sealed).unwrap();
        assert_eq!(new.open(owner("http_basic"), &resealed), Ok(data));
        assert_eq!(old.open(owner("http_basic"), &resealed), Err(Unsealable));
        assert_eq!(
            new.reseal(&old, owner("http_basic"), &sealed),
            Err(Unsealable),
            "only the key it was sealed with opens it"
        );
    }

    #[test]
    fn an_mfa_secret_opens_for_its_user_only() {
        let vault = Vault::from_master_secret(b"a secret of at least thirty-two bytes!!");
        let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let sealed = vault.seal_mfa_secret(alice, b"12345678901234567890");
        assert_eq!(
            vault.open_mfa_secret(alice, &sealed).as_deref(),
            Ok(&b"12345678901234567890"[..])
        );
        assert_eq!(vault.open_mfa_secret(bob, &sealed), Err(Unsealable));
        let credential = vault.seal(owner("http_bearer"), &json!("x"));
        assert_eq!(vault.open_mfa_secret(alice, &credential), Err(Unsealable));
    }
}
