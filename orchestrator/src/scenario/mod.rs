//! Conducting a scenario: the demonstration as a TOML file of narrated steps.
//!
//! Like a Chaos Toolkit experiment, a run checks the steady state, injects the
//! fault, checks again, and keeps a journal; like a Jepsen test, it ends with a
//! checker's verdict on the history (the producer's ledger against Cassandra).
//!
//! `parse` reads and checks the file into `steps`' types; `runner` conducts
//! the run (what each step kind does is in `actions`, `watch` and `proofs`;
//! `fleet` reaches the Cassandra PCs, `probe` the API); `ui`, `journal` and
//! `events` report it to the presenter, to the run directory and to the dashboard.
//! The `demo run` command (`commands::run`) loads the file, checks its nodes
//! against the inventory and hands a [`Run`] its [`Fleet`] and [`RunOptions`].

mod actions;
pub mod events;
mod fleet;
pub mod journal;
pub mod parse;
pub mod probe;
mod proofs;
mod runner;
pub mod steps;
pub mod ui;
mod watch;

pub use fleet::Fleet;
pub use runner::{Run, RunOptions};
