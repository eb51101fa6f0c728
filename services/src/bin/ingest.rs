//! `ingest`: Kafka sensor-readings → Cassandra, at least once. See `ingest --help`.

use clap::Parser;
use iot_services::config::init_tracing;
use iot_services::ingest::{IngestArgs, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = IngestArgs::parse();
    init_tracing();
    run(args).await?;
    Ok(())
}
