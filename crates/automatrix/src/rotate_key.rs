//! `automatrix rotate-key`: re-seals every sealed value under a new master secret (the work is
//! the engine's [`rotate_master_key`]); here: where the keys come from and go, and the report.
//! The procedure around it is in docs/key-rotation.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use automatrix_engine::{RotationReport, Vault, check_master_key, rotate_master_key};
use clap::Args;

use crate::config::Config;
use crate::runtime::open_store;
use crate::secret::{self, Secret, Source, StagedKey};
use crate::telemetry::init_logs;

/// The environment variable that may hold the new key (never a flag: command lines are
/// visible to every user of the machine).
const NEW_KEY_ENV: &str = "AUTOMATRIX_NEW_SECRET_KEY";

#[derive(Args, Debug)]
pub struct RotateKeyArgs {
    /// File holding the new secret key (at least 32 characters; surrounding whitespace is
    /// trimmed). Or set AUTOMATRIX_NEW_SECRET_KEY. With neither, a random key is generated,
    /// which needs the current key to be the data dir's key file (it then receives the new one).
    #[arg(long, value_name = "PATH")]
    pub new_key_file: Option<PathBuf>,
    /// Open every sealed value with the current key and report the counts; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn rotate_key(config: &Config, args: RotateKeyArgs) -> anyhow::Result<ExitCode> {
    init_logs(config);
    let Some((current, source)) = secret::load(config.secret_key.as_ref(), &config.data_dir)?
    else {
        anyhow::bail!(
            "no secret key to rotate: AUTOMATRIX_SECRET_KEY is unset and {} does not exist",
            config.data_dir.join("secret.key").display()
        );
    };
    let given = new_key(args.new_key_file.as_deref())?;
    if let Some(new) = &given {
        anyhow::ensure!(
            new.bytes() != current.bytes(),
            "the new secret key is the current one"
        );
    }
    let old = Vault::from_master_secret(current.bytes());
    if args.dry_run {
        let store = open_store(&config.database_url()).await?;
        let report = check_master_key(&*store, &old).await?;
        print_counts(
            &report,
            "open with the current key; nothing was changed (dry run)",
        );
        return Ok(ExitCode::SUCCESS);
    }
    let new = match (given, &source) {
        (Some(key), _) => key,
        (None, Source::File(_)) => secret::generate(),
        // Printing a generated key instead would leave the only copy of the key the database
        // needs in a terminal's scroll-back or a CI log, or lose it with the output.
        (None, Source::Configured) => anyhow::bail!(
            "the current key comes from AUTOMATRIX_SECRET_KEY, so there is no file to keep a \
             generated key in: give the new key with --new-key-file or {NEW_KEY_ENV} (make \
             one with e.g. `openssl rand -base64 32`)"
        ),
    };
    let store = open_store(&config.database_url()).await?;
    let Source::File(path) = source else {
        let to = Vault::from_master_secret(new.bytes());
        print_counts(&rotate_master_key(&*store, &old, &to).await?, RESEALED);
        println!(
            "Set AUTOMATRIX_SECRET_KEY to the new key for every server and worker before \
             starting them."
        );
        print_tokens_note();
        return Ok(ExitCode::SUCCESS);
    };
    // The new key is on disk before the database needs it, and stays there unless the
    // rotation certainly wrote nothing.
    let staged = StagedKey::write(&path, &new)?;
    let to = Vault::from_master_secret(new.bytes());
    let report = match rotate_master_key(&*store, &old, &to).await {
        Ok(report) => report,
        Err(e) if e.wrote_nothing() => {
            staged.discard();
            return Err(e.into());
        }
        Err(e) => {
            let at = staged.path().display().to_string();
            return Err(anyhow::Error::new(e).context(format!(
                "the rotation may or may not have been committed; the new key is kept in {at}: \
                 if `rotate-key --dry-run` with it as AUTOMATRIX_SECRET_KEY succeeds, move it \
                 to {}, otherwise delete it",
                path.display()
            )));
        }
    };
    print_counts(&report, RESEALED);
    let at = staged.path().display().to_string();
    let backup = staged.install().with_context(|| {
        format!("the data is sealed under the new key, which is in {at}: move it to the key file")
    })?;
    println!(
        "The new key is in {}; the old one is kept in {} (delete it once the new key works and \
         no backup made before this rotation needs restoring).",
        path.display(),
        backup.display()
    );
    print_tokens_note();
    Ok(ExitCode::SUCCESS)
}

const RESEALED: &str = "re-sealed under the new key";

fn print_tokens_note() {
    println!(
        "Access tokens issued before the rotation are no longer valid: clients refresh them \
         (refresh tokens and API keys still work) or log in again."
    );
}

/// The new key from `--new-key-file` or the environment (not both), if given.
fn new_key(file: Option<&Path>) -> anyhow::Result<Option<Secret>> {
    let env = std::env::var(NEW_KEY_ENV).ok().filter(|v| !v.is_empty());
    match (file, env) {
        (Some(_), Some(_)) => {
            anyhow::bail!("give the new key either with --new-key-file or with {NEW_KEY_ENV}")
        }
        (Some(path), None) => secret::read_file(path).map(Some),
        (None, Some(text)) => secret::exact(&text, NEW_KEY_ENV).map(Some),
        (None, None) => Ok(None),
    }
}

/// The counts per column and organization, on stdout.
fn print_counts(report: &RotationReport, what: &str) {
    for column in &report.columns {
        println!("{} {} {what}", column.total, column.noun);
        for (org, n) in &column.per_organization {
            match org {
                Some(org) => println!("  organization {org}: {n}"),
                None => println!("  no organization: {n}"),
            }
        }
    }
}
