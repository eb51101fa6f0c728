//! `api`: REST API over Cassandra and the dashboard's web server. See `api --help`.

use clap::Parser;
use contract::args::ApiArgs;
use iot_services::api::run;
use iot_services::config::init_tracing;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = ApiArgs::parse();
    init_tracing();
    Ok(run(args).await?)
}
