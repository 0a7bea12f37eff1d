//! High-entropy bearer secrets (refresh tokens, API keys) and what the store keeps of them.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of `token`, lower-case hex: what the store keeps instead of the token, and
/// looks it up by. A fast hash is right here: the tokens are 256 random bits, so there is no
/// guessable input for a slow hash to protect (passwords are another matter: argon2id).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
