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
                // The driver logs every failed reconnection to a node that is out (an
                // ERROR every 2 s) over the narration; what a step needs from it comes
                // back as a Result. `DEMO_LOG=scylla=warn` shows them.
                .unwrap_or_else(|_| "warn,scylla=off".into()),
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
