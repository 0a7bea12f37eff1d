//! `automatrix backup DEST`: an online copy of the SQLite database (the store's
//! [`SqliteStore::backup_into`]), published under its final name only once it is complete.
//! PostgreSQL has its own tools (`pg_dump`); see docs/operations.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use automatrix_store_sqlite::SqliteStore;
use clap::Args;

use crate::config::Config;
use crate::runtime::is_postgres;
use crate::telemetry;

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The file to write the copy to; it must not exist (see --force).
    pub dest: PathBuf,
    /// Replace DEST if it exists.
    #[arg(long)]
    pub force: bool,
}

pub async fn backup(config: &Config, args: BackupArgs) -> anyhow::Result<ExitCode> {
    telemetry::init_logs(config);
    let url = config.database_url();
    anyhow::ensure!(
        !is_postgres(&url),
        "`automatrix backup` copies SQLite databases; back up PostgreSQL with pg_dump \
         (e.g. `pg_dump -Fc -f automatrix.dump \"$DATABASE_URL\"`), see docs/operations.md"
    );
    anyhow::ensure!(
        url.starts_with("sqlite:"),
        "unsupported database URL scheme (use sqlite:// or postgres://)"
    );
    let dest = &args.dest;
    anyhow::ensure!(
        args.force || !dest.exists(),
        "{} exists; give --force to replace it",
        dest.display()
    );
    let partial = partial_name(dest)?;
    let store = SqliteStore::connect_existing(&url)
        .await
        .context("opening the SQLite database")?;
    let copied = store.backup_into(&partial).await;
    store.close().await;
    let size = match copied {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(anyhow::Error::new(e).context("copying the database"));
        }
    };
    let published = publish(&partial, dest, args.force);
    let _ = std::fs::remove_file(&partial);
    published?;
    println!(
        "Backed up the database to {} ({size} bytes)",
        dest.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A name beside `dest` (so the final rename stays on one file system) that no other run
/// uses, hidden, ending in `.partial`.
fn partial_name(dest: &Path) -> anyhow::Result<PathBuf> {
    let name = dest
        .file_name()
        .with_context(|| format!("{} is not a file name", dest.display()))?;
    let unique = uuid::Uuid::now_v7().simple().to_string();
    Ok(dest.with_file_name(format!(".{}.{unique}.partial", name.to_string_lossy())))
}

/// Gives the complete copy its final name: a rename with `force`, else a hard link, which
/// fails rather than replace a file created at `dest` meanwhile. Then syncs the directory so
/// the name survives a crash.
fn publish(partial: &Path, dest: &Path, force: bool) -> anyhow::Result<()> {
    let placed = if force {
        std::fs::rename(partial, dest)
    } else {
        std::fs::hard_link(partial, dest)
    };
    placed.with_context(|| format!("writing {}", dest.display()))?;
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}
