//! Helpers shared by the orchestrator's integration tests that use the lab.

use std::path::PathBuf;
use std::time::Duration;

/// The project's root: `DEMO_ROOT` when set, else the workspace above this crate.
// The checker tests do not need it; the day-J, lab and services tests do.
#[allow(dead_code)]
pub fn root() -> PathBuf {
    std::env::var_os("DEMO_ROOT")
        .filter(|root| !root.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Fails fast, clearly, when the lab's Cassandra does not answer.
pub fn require_lab() {
    let address = "127.0.0.1:9042".parse().expect("valid address");
    let answering = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2));
    assert!(
        answering.is_ok(),
        "lab not up: run `demo lab up` (or the project's test command) first"
    );
}
