//! `verify`: nothing acknowledged was lost. The producer's ledger (every
//! reading Kafka acknowledged) is checked against Cassandra, value by value,
//! after stopping the run's producer so the ledger is complete.

use std::time::{Duration, Instant};

use chrono::Utc;
use iot_services::cassandra::{SessionOptions, connect};
use iot_services::ledger::{self, RunSummary};
use scylla::statement::Consistency;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::app::{self, Service};
use crate::checker::{self, CheckOptions, CheckReport};
use crate::scenario::context::Context;
use crate::scenario::parse::{Fields, ScenarioError};

/// Pause between two attempts of the check (ingest may still be draining Kafka).
const RECHECK: Duration = Duration::from_secs(2);
/// Readings younger than this may still be on their way when the producer
/// keeps running: the final check leaves them out.
const IN_FLIGHT_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// Consistency of the final verification's reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyConsistency {
    Quorum,
    All,
}

step_params! {
    pub struct Verify {
        timeout: Duration = seconds(60.0),
        consistency: VerifyConsistency = consistency(),
        /// Stop the run's own producer first, so its ledger is complete.
        stop_producer: bool = flag(true),
    }
}

impl Fields<'_> {
    fn consistency(&self, key: &str) -> Result<VerifyConsistency, ScenarioError> {
        let Some(level) = self.text(key)? else {
            return Ok(VerifyConsistency::Quorum);
        };
        match level.get_ref().to_ascii_uppercase().as_str() {
            "QUORUM" => Ok(VerifyConsistency::Quorum),
            "ALL" => Ok(VerifyConsistency::All),
            _ => Err(self.error_at(
                &level,
                format!(
                    "unknown consistency \"{}\"; expected QUORUM or ALL",
                    level.get_ref()
                ),
            )),
        }
    }
}

impl Verify {
    /// What the run's own producers say they sent, summed over the runs that
    /// ended (a killed one writes no summary): `None` for a producer the run
    /// did not start, whose history is not the run's.
    fn attempted(&self, context: &mut Context) -> Option<serde_json::Value> {
        let ledger = context.ledger_path().filter(|_| context.own_producer())?;
        match ledger::read_summaries(ledger) {
            Ok(runs) if !runs.is_empty() => {
                let sum = |count: fn(&RunSummary) -> u64| runs.iter().map(count).sum::<u64>();
                Some(json!({
                    "sent": sum(|run| run.sent),
                    "acknowledged": sum(|run| run.acknowledged),
                    "failed": sum(|run| run.failed),
                    "producer_runs": runs.len(),
                }))
            }
            Ok(_) => None,
            Err(err) => {
                context.warn(format!("the producer's summaries are unreadable: {err}"));
                None
            }
        }
    }
}

impl StepAction for Verify {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let (timeout, consistency) = (self.timeout, self.consistency);
        let mut cutoff = None;
        if self.stop_producer && context.own_producer() {
            let stopped = app::stop(&context.plan().state, Service::Producer)
                .await
                .map_err(|err| Failed::new(format!("stopping the producer: {err}")))?;
            context.producer_stopped();
            context.ui().info(
                &context
                    .say()
                    .producer_stopped(context.say().stopped_how(stopped.into())),
            );
        } else {
            // Readings still on their way are not counted as missing.
            cutoff = Some(Utc::now() - IN_FLIGHT_MARGIN);
        }
        let since = (!context.own_producer()).then_some(context.run_started_at());
        let entries = checker::entries_between(&context.ledger_entries()?, since, cutoff);
        if entries.is_empty() {
            return Err(Failed::new("the ledger holds no reading to verify"));
        }
        let level = match consistency {
            VerifyConsistency::Quorum => Consistency::Quorum,
            VerifyConsistency::All => Consistency::All,
        };
        let mut session_options = SessionOptions::new(context.plan().contact_points.clone());
        session_options.consistency = level;
        session_options.request_timeout = Duration::from_secs(10);
        let session = connect(&session_options)
            .await
            .map_err(|err| Failed::new(err.to_string()))?;
        let options = CheckOptions {
            consistency: level,
            ..CheckOptions::default()
        };
        let keyspace = context.keyspace().to_owned();
        let progress = context
            .ui()
            .progress(&context.say().checking_readings(entries.len()), timeout);
        let started = Instant::now();
        let mut last: Result<CheckReport, String> = Err("not checked yet".into());
        while started.elapsed() < timeout {
            last = checker::check(&session, &keyspace, &entries, &options)
                .await
                .map_err(|err| err.to_string());
            match &last {
                Ok(report) if report.is_complete() => break,
                Ok(report) => {
                    progress.tick(format!("{} missing of {}", report.missing, report.expected))
                }
                Err(err) => progress.tick(err.clone()),
            }
            tokio::time::sleep(RECHECK).await;
        }
        drop(progress);
        let attempted = self.attempted(context);
        match last {
            Ok(report) if report.is_complete() => Ok(Done {
                summary: context.say().nothing_lost(
                    report.expected,
                    report.sensors,
                    &report.consistency,
                ),
                details: json!({ "report": report, "cutoff": cutoff, "attempted": attempted }),
            }),
            Ok(report) => {
                context.ui().info(&report.render());
                Err(Failed {
                    message: context
                        .say()
                        .readings_lost(report.missing + report.mismatched, report.expected),
                    details: json!({ "report": report, "cutoff": cutoff, "attempted": attempted }),
                })
            }
            Err(err) => Err(Failed::new(format!("could not read Cassandra: {err}"))),
        }
    }
}
