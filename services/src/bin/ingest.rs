//! `ingest`: Kafka sensor-readings → Cassandra, at least once. See `ingest --help`.

use clap::Parser;
use contract::args::IngestArgs;
use iot_services::config::init_tracing;
use iot_services::ingest::run;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = IngestArgs::parse();
    init_tracing();
    Ok(run(args).await?)
}
