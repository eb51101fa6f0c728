//! `demo`: thin binary over the conductor library. Parses the command line,
//! sets up logging, runs the command (`demo::commands`) and maps its outcome
//! to an exit code.

use std::process::ExitCode;

use clap::Parser;
use demo::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEMO_LOG")
                // The driver's warnings about a frozen node would print over the narration.
                .unwrap_or_else(|_| "warn,scylla=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match demo::commands::run(Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
