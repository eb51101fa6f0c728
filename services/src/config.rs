//! Command-line and environment settings shared by the three services.
//!
//! Each binary flattens the groups it needs, so a flag has the same name,
//! environment variable and default everywhere, and the defaults point at the
//! local lab: with the lab up every service runs with no flag at all.

use std::time::Duration;

use clap::Args;

use crate::cassandra::{Keyspace, SessionOptions, split_contact_points};

/// The lab's three Cassandra nodes.
pub const DEFAULT_CONTACT_POINTS: &str = "127.0.0.1,127.0.0.2,127.0.0.3";

/// Where and how to reach Cassandra.
#[derive(Debug, Clone, Args)]
pub struct CassandraArgs {
    /// Cassandra contact points, comma-separated `host[:port]` (port 9042 by default).
    #[arg(long = "cassandra", env = "CASSANDRA_CONTACT_POINTS", default_value = DEFAULT_CONTACT_POINTS)]
    pub contact_points: String,

    /// Keyspace holding sensor_data, sensors and scenario_events.
    #[arg(long, env = "CASSANDRA_KEYSPACE", default_value = "iot_demo", value_parser = Keyspace::parse)]
    pub keyspace: Keyspace,

    /// Upper bound of one Cassandra request, retries and speculative executions included.
    #[arg(
        long,
        env = "CASSANDRA_REQUEST_TIMEOUT_MS",
        default_value_t = 2000,
        value_name = "MS"
    )]
    pub request_timeout_ms: u64,

    /// Also send a request to another node when it is unanswered after this long
    /// (a frozen node never answers); 0 disables speculative execution.
    #[arg(
        long,
        env = "CASSANDRA_SPECULATIVE_DELAY_MS",
        default_value_t = 150,
        value_name = "MS"
    )]
    pub speculative_delay_ms: u64,
}

impl CassandraArgs {
    /// Session options tuned for failover, with these settings applied.
    pub fn session_options(&self) -> SessionOptions {
        let mut options = SessionOptions::new(split_contact_points(&self.contact_points));
        options.request_timeout = Duration::from_millis(self.request_timeout_ms.max(1));
        options.speculative_delay = (self.speculative_delay_ms > 0)
            .then(|| Duration::from_millis(self.speculative_delay_ms));
        options
    }

    pub fn contact_points(&self) -> Vec<String> {
        split_contact_points(&self.contact_points)
    }
}

/// Where the readings flow.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(
        long = "kafka",
        env = "KAFKA_BOOTSTRAP",
        default_value = "127.0.0.1:9092"
    )]
    pub bootstrap: String,

    /// Topic of sensor readings.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "sensor-readings")]
    pub topic: String,
}

/// Logs to stderr; `RUST_LOG` filters (default: info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
