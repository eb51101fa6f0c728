//! `expect-data`: readings arrive. Every sensor of the run has a reading
//! fresher than the bound in `GET /sensors`, as the dashboard reads them.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::scenario::context::Context;
use crate::scenario::ui::format_duration;

step_params! {
    pub struct ExpectData {
        within: Duration = seconds(30.0),
        max_staleness: Duration = seconds(5.0),
    }
}

impl StepAction for ExpectData {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let (within, max_staleness) = (self.within, self.max_staleness);
        let progress = context
            .ui()
            .progress(context.say().waiting_for_readings(), within);
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < within {
            // Readings older than the run's producer are a previous run's.
            let bound = context
                .producer_started_at()
                .map_or(max_staleness, |since| {
                    max_staleness.min((Utc::now() - since).to_std().unwrap_or_default())
                });
            match context.probe().freshness().await {
                Ok(freshness) if freshness.all_fresh(bound) => {
                    let worst = freshness.worst_staleness.unwrap_or_default();
                    return Ok(Done {
                        summary: context
                            .say()
                            .data_flows(freshness.seen, worst, started.elapsed()),
                        details: json!({
                            "sensors": freshness.seen,
                            "worst_staleness_ms": worst.as_millis(),
                            "after_ms": started.elapsed().as_millis(),
                        }),
                    });
                }
                Ok(freshness) => {
                    last = format!(
                        "{} of {} sensors listed, worst {}",
                        freshness.seen,
                        freshness.seen + freshness.unseen.len(),
                        freshness
                            .worst_staleness
                            .map_or("-".into(), format_duration)
                    );
                }
                Err(err) => last = err.to_string(),
            }
            progress.tick(last.clone());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(Failed::new(context.say().no_fresh_data(
            max_staleness,
            within,
            &last,
        )))
    }
}
