//! The contract between the demo's crates.
//!
//! Everything that crosses from the services (producer, ingest, api) to the
//! conductor (`demo`) or to the tests is defined here once: the API's response
//! types and header names, the ingest metrics the conductor reads, the Kafka topic and Cassandra table names, the
//! `Keyspace` type and its one validation, the scenario event row, and the
//! services' typed command-line arguments. Both sides compile against these
//! types, so they cannot drift apart.

pub mod api;
pub mod args;
pub mod events;
pub mod headers;
pub mod keyspace;
pub mod metrics;
pub mod names;
pub mod time;

pub use keyspace::{Keyspace, KeyspaceError};
