//! Conducting a scenario: the demonstration as a TOML file of narrated steps.
//!
//! Like a Chaos Toolkit experiment, a run checks the steady state, injects the
//! fault, checks again, and keeps a journal; like a Jepsen test, it ends with a
//! checker's verdict on the history (the producer's ledger against Cassandra).

pub mod events;
pub mod journal;
pub mod parse;
pub mod probe;
pub mod steps;
pub mod ui;

pub async fn command(_t: &crate::cli::Target, _a: crate::cli::RunArgs) -> anyhow::Result<bool> {
    anyhow::bail!("run: not written yet")
}
