//! The command line (DESIGN.md §1).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use uuid::Uuid;

use crate::backup::{self, BackupArgs};
use crate::config::{Config, Overrides};
use crate::remote::ServerArgs;
use crate::rotate_key::{self, RotateKeyArgs};
use crate::{local_run, remote, runtime};

#[derive(Parser, Debug)]
#[command(
    name = "automatrix",
    version,
    about = "Durable workflow automation for automotive dealerships"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Default)]
pub struct GlobalArgs {
    /// TOML file with the same keys as the environment variables (lower-case, no prefix).
    #[arg(long, global = true, env = "AUTOMATRIX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://...
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for the SQLite database and the generated secret key.
    #[arg(long, global = true, env = "AUTOMATRIX_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// HTTP API + in-process workers.
    Serve(ServeArgs),
    /// Workers only (no HTTP), for scale-out against PostgreSQL.
    Worker(WorkerArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Re-seal every credential under a new master secret key, in one transaction (stop every
    /// server and worker first; see docs/key-rotation.md).
    RotateKey(RotateKeyArgs),
    /// Copy the SQLite database to a new file while servers and workers keep running
    /// (PostgreSQL: use pg_dump; see docs/operations.md).
    Backup(BackupArgs),
    /// Run a workflow file locally, in-process; progress on stderr, output JSON on stdout.
    Run {
        file: PathBuf,
        /// Execution input as JSON.
        #[arg(long)]
        input: Option<String>,
    },
    /// Validate a workflow file; prints every problem with its JSON path.
    Validate { file: PathBuf },
    /// Export a workflow from a server as a self-contained JSON document (credentials by name).
    Export {
        /// The workflow's id.
        id: Uuid,
        /// Write the document here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Import an exported document into a server as a new workflow; prints its id.
    Import {
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AUTOMATRIX_BIND")]
    pub bind: Option<String>,
    /// In-process worker concurrency; 0 = no workers.
    #[arg(long, env = "AUTOMATRIX_WORKERS")]
    pub workers: Option<usize>,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Worker concurrency.
    #[arg(long, env = "AUTOMATRIX_WORKERS")]
    pub workers: Option<usize>,
}

pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli { global, command } = cli;
    // The configuration of a local mode; the clients of a server need none.
    let load = |bind: Option<String>, workers: Option<usize>| {
        let overrides = Overrides {
            bind,
            workers,
            database_url: global.database_url.clone(),
            data_dir: global.data_dir.clone(),
        };
        Config::load(global.config.as_deref(), overrides).context("loading the configuration")
    };
    match command {
        Command::Serve(a) => runtime::serve(load(a.bind, a.workers)?)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Worker(a) => runtime::worker(load(None, a.workers)?)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Migrate => runtime::migrate(load(None, None)?)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::RotateKey(a) => rotate_key::rotate_key(&load(None, None)?, a).await,
        Command::Backup(a) => backup::backup(&load(None, None)?, a).await,
        Command::Run { file, input } => {
            local_run::run(&load(None, None)?, &file, input.as_deref()).await
        }
        Command::Validate { file } => local_run::validate(&load(None, None)?, &file),
        Command::Export { id, out, server } => remote::export(&server, id, out.as_deref()).await,
        Command::Import { file, server } => remote::import(&server, &file).await,
    }
}
