//! `demo`: thin binary over the conductor library. Parses the command line,
//! sets up logging and maps each command's outcome to an exit code.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use demo::cli::{Cli, Command};

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
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok(false)` is a verdict of failure (already reported).
async fn run(cli: Cli) -> Result<bool> {
    let target = cli.target;
    Ok(match cli.command {
        Command::Lab(command) => demo::lab::command(command).await?,
        Command::CheckCluster => demo::cluster::command(&target).await?,
        Command::KillNode { node, mode } => {
            demo::nemesis::kill_command(&target, &node, mode).await?
        }
        Command::StartNode { node } => demo::nemesis::start_command(&target, &node).await?,
        Command::Services(command) => demo::app::command(&target, command).await?,
        Command::Run(args) => demo::scenario::command(&target, args).await?,
    })
}
