//! Conducting a scenario: the demonstration as a TOML file of narrated steps.
//!
//! Like a Chaos Toolkit experiment, a run checks the steady state, injects the
//! fault, checks again, and keeps a journal; like a Jepsen test, it ends with a
//! checker's verdict on the history (the producer's ledger against Cassandra).
//!
//! `parse` reads and checks the file into `model`'s types; `step` has one
//! file per step kind (its keys, its parse, what it does) and the one list of
//! kinds is `contract::events::StepKind`; `runner` conducts the run over the
//! state the steps share (`context`, private behind methods); `fleet` reaches
//! the Cassandra PCs, `probe` the API; `ui`, `journal` and `events` report it
//! to the presenter (in the scenario's language), to the run directory and to
//! the dashboard (facts, which the page words in its own).
//! The `demo run` command (`commands::run`) loads the file, checks its nodes
//! against the inventory and hands a [`Run`] its [`Fleet`] and [`RunOptions`].

pub mod chaos;
mod context;
pub mod events;
mod fleet;
pub mod journal;
pub mod model;
pub mod parse;
pub mod probe;
mod recorder;
mod runner;
pub mod step;
pub mod timeline;
pub mod ui;
mod words;

pub use fleet::Fleet;
pub use runner::{Run, RunOptions};
