//! `start-services`: producer, ingest and api running and healthy on the app
//! PC, started as `demo services up` does; the run relies on that producer's ledger.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::app::{self, Service};
use crate::scenario::context::Context;

step_params! {
    pub struct StartServices {
        /// Per service.
        timeout: Duration = seconds(60.0),
    }
}

impl StepAction for StartServices {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let progress = context
            .ui()
            .progress(context.say().starting_services(), self.timeout);
        let started_at = Utc::now();
        let report = app::up(context.plan(), self.timeout, &|message| {
            progress.tick(message)
        })
        .await;
        drop(progress);
        let report = report.map_err(|err| Failed::new(err.to_string()))?;
        context.services_started(&report, started_at);
        for warning in &report.warnings {
            context.warn(warning.clone());
        }
        if !context.own_producer() {
            context.warn(
                "a producer was already running (started outside this run): its ledger is checked \
                 from this run's start, and it is not stopped"
                    .into(),
            );
        }
        let names = |services: &[Service]| -> String {
            services
                .iter()
                .map(|service| service.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let plan = context.plan();
        let summary = context.say().services_started(
            &names(&report.started),
            &names(&report.already_running),
            &plan.dashboard_url(),
        );
        Ok(Done {
            summary,
            details: json!({
                "started": report.started,
                "already_running": report.already_running,
                "ledger": context.ledger_path().map(|path| path.display().to_string()),
                "sensors": plan.producer.sensor_ids(),
                "rate_per_sensor": plan.producer.rate,
            }),
        })
    }
}
