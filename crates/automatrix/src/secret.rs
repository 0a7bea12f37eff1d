//! The master secret: from configuration, or generated once into the data dir (mode 0600),
//! and replaced there by `automatrix rotate-key` ([`StagedKey`]). Never a built-in default;
//! `Debug` and logs never show it.

use std::io::Write;
use std::path::{Path, PathBuf};

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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const FILE: &str = "secret.key";
/// Shorter keys are refused: they would make token forgery practical.
const MIN_LEN: usize = 32;

/// Where the master secret came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `AUTOMATRIX_SECRET_KEY` or the config file's `secret_key`.
    Configured,
    /// The key file in the data dir.
    File(PathBuf),
}

/// `text` as a secret, if it is long enough; `what` names it in the error. Taken as it is:
/// a secret from the environment is used byte for byte by `serve`.
pub fn exact(text: &str, what: &str) -> anyhow::Result<Secret> {
    anyhow::ensure!(
        text.len() >= MIN_LEN,
        "{what} must be at least {MIN_LEN} characters"
    );
    Ok(Secret(text.to_owned()))
}

/// The secret in the file at `path`, trimmed as `serve` trims the key file.
pub fn read_file(path: &Path) -> anyhow::Result<Secret> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    exact(text.trim(), &path.display().to_string())
}

/// 256 random bits, base64url.
pub fn generate() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The configured secret, or the one stored in `data_dir`; `None` when there is neither.
pub fn load(
    configured: Option<&Secret>,
    data_dir: &Path,
) -> anyhow::Result<Option<(Secret, Source)>> {
    if let Some(s) = configured {
        let s = exact(&s.0, "AUTOMATRIX_SECRET_KEY")?;
        return Ok(Some((s, Source::Configured)));
    }
    let path = data_dir.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let key = read_file(&path).context("delete the key file to generate a new key")?;
    Ok(Some((key, Source::File(path))))
}

/// The configured secret, or the one stored in `data_dir`, generating it on first start.
pub fn load_or_create(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<Secret> {
    if let Some((s, _)) = load(configured, data_dir)? {
        return Ok(s);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = generate();
    let path = data_dir.join(FILE);
    write_private(&path, &key)?;
    tracing::warn!(path = %path.display(), "no AUTOMATRIX_SECRET_KEY configured; generated a new secret key");
    Ok(key)
}

/// Writes `key` to a new file at `path` (never over an existing one), readable by its owner
/// only, and flushes it to disk.
fn write_private(path: &Path, key: &Secret) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.0.as_bytes())?;
    file.sync_all()
        .with_context(|| format!("writing {}", path.display()))
}

/// A new key written next to the key file (`secret.key.new`) before the database is
/// re-sealed under it, so that the key the database needs is on disk at every moment: if the
/// process dies between the commit and [`install`](Self::install), the key is in that file.
pub struct StagedKey {
    staged: PathBuf,
    target: PathBuf,
}

impl StagedKey {
    /// Stages `key` for the key file `target`. Refuses when a staged key is already there: it
    /// may be the only copy of the key an interrupted rotation sealed the database under.
    pub fn write(target: &Path, key: &Secret) -> anyhow::Result<Self> {
        let staged = sibling(target, "new");
        if staged.exists() {
            anyhow::bail!(
                "{} exists: an earlier rotation did not finish. If the credentials open with \
                 it (`automatrix rotate-key --dry-run` with it as AUTOMATRIX_SECRET_KEY), move \
                 it to {}; otherwise delete it",
                staged.display(),
                target.display()
            );
        }
        write_private(&staged, key)?;
        sync_dir_of(&staged)?;
        Ok(Self {
            staged,
            target: target.to_owned(),
        })
    }

    /// Where the staged key is.
    pub fn path(&self) -> &Path {
        &self.staged
    }

    /// Makes the staged key the key file: the current one is kept as `secret.key.old`
    /// (replacing an older backup) by a hard link, then the staged file is renamed over it, so
    /// the key file exists at every moment. Returns the backup's path.
    pub fn install(self) -> anyhow::Result<PathBuf> {
        let backup = sibling(&self.target, "old");
        match std::fs::remove_file(&backup) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", backup.display()));
            }
            _ => {}
        }
        std::fs::hard_link(&self.target, &backup)
            .with_context(|| format!("keeping the old key as {}", backup.display()))?;
        std::fs::rename(&self.staged, &self.target)
            .with_context(|| format!("renaming {}", self.staged.display()))?;
        sync_dir_of(&self.target)?;
        Ok(backup)
    }

    /// Removes the staged key (the rotation did not happen).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.staged);
    }
}

/// Flushes the directory holding `path`, so that a file created or renamed there stays after
/// a crash.
fn sync_dir_of(path: &Path) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("flushing {}", dir.display()))
}

/// `secret.key.<ext>` next to `path`.
fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".");
    name.push(ext);
    path.with_file_name(name)
}
