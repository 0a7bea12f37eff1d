//! The command line (DESIGN.md §1).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::{local_run, runtime};

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
    /// Run a workflow file locally, in-process; progress on stderr, output JSON on stdout.
    Run {
        file: PathBuf,
        /// Execution input as JSON.
        #[arg(long)]
        input: Option<String>,
    },
    /// Validate a workflow file; prints every problem with its JSON path.
    Validate { file: PathBuf },
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
    let mut overrides = Overrides {
        database_url: cli.global.database_url,
        data_dir: cli.global.data_dir,
        ..Overrides::default()
    };
    match &cli.command {
        Command::Serve(a) => {
            overrides.bind = a.bind.clone();
            overrides.workers = a.workers;
        }
        Command::Worker(a) => overrides.workers = a.workers,
        _ => {}
    }
    let config = Config::load(cli.global.config.as_deref(), overrides)
        .context("loading the configuration")?;
    match cli.command {
        Command::Serve(_) => runtime::serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Worker(_) => runtime::worker(config).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => runtime::migrate(config).await.map(|()| ExitCode::SUCCESS),
        Command::Run { file, input } => local_run::run(&config, &file, input.as_deref()).await,
        Command::Validate { file } => local_run::validate(&config, &file),
    }
}
