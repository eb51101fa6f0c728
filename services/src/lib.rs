//! The demo's data path, shared by the `producer`, `ingest` and `api` binaries.
//!
//! The binaries are thin: each parses its arguments and calls [`producer::run`],
//! [`ingest::run`] or [`api::run`]. What they share (the reading model, the
//! ledger, Cassandra sessions tuned for failover, Kafka settings, metrics)
//! lives in the other modules, so the three agree by construction.

pub mod api;
pub mod backoff;
pub mod cassandra;
pub mod config;
pub mod gossip;
pub mod ingest;
pub mod kafka;
pub mod ledger;
pub mod metrics;
pub mod producer;
pub mod reading;
pub mod shutdown;
pub mod simulate;
