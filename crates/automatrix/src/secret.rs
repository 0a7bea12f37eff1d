//! The master secret: from configuration, or generated once into the data dir (mode 0600).
//! Never a built-in default; `Debug` and logs never show it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

const FILE: &str = "secret.key";
/// Shorter keys are refused: they would make token forgery practical.
const MIN_LEN: usize = 32;

/// The configured secret, or the one stored in `data_dir`, generating it on first start.
pub fn load_or_create(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<Secret> {
    if let Some(s) = configured {
        anyhow::ensure!(
            s.0.len() >= MIN_LEN,
            "AUTOMATRIX_SECRET_KEY must be at least {MIN_LEN} characters"
        );
        return Ok(s.clone());
    }
    let path = data_dir.join(FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let s = text.trim().to_owned();
        anyhow::ensure!(
            s.len() >= MIN_LEN,
            "{} is too short; delete it to generate a new key",
            path.display()
        );
        return Ok(Secret(s));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    tracing::warn!(path = %path.display(), "no AUTOMATRIX_SECRET_KEY configured; generated a new secret key");
    Ok(Secret(key))
}
