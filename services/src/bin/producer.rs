//! `producer`: simulated sensors → Kafka sensor-readings. See `producer --help`.

use clap::Parser;
use contract::args::ProducerArgs;
use iot_services::config::init_tracing;
use iot_services::producer::run;

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let args = ProducerArgs::parse();
    init_tracing();
    let summary = run(args).await?;
    println!("{summary}");
    Ok(if summary.failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
