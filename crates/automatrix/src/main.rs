//! `automatrix`: the one binary. Parses the command line, loads the configuration, sets up
//! tracing and hands off to the library crates; all behaviour lives there.

mod backup;
mod cli;
mod config;
mod local_run;
mod remote;
mod rotate_key;
mod runtime;
mod secret;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a request allocates and frees many small JSON values across threads, which
/// glibc's allocator serves with locks and consolidation passes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One TLS provider for the whole process (ring); see DEPENDENCIES.md §5.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
