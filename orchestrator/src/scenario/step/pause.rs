//! `pause`: a deliberate wait, at the run's pace; in presenter mode Enter
//! (already pressed to start the step) ends it.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Done, StepAction, StepResult};
use crate::scenario::context::Context;

step_params! {
    pub struct Pause {
        duration: Duration = seconds(5.0),
    }
}

impl StepAction for Pause {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let ui = context.ui();
        if ui.presenter {
            return Ok(Done {
                summary: context.say().presenter_went_on(),
                details: json!(null),
            });
        }
        let duration = context.paced(self.duration);
        let progress = ui.progress("pause", duration);
        let started = Instant::now();
        while started.elapsed() < duration {
            progress.tick("");
            tokio::time::sleep(
                duration
                    .saturating_sub(started.elapsed())
                    .min(Duration::from_millis(200)),
            )
            .await;
        }
        Ok(Done {
            summary: context.say().paused(duration),
            details: json!({ "ms": duration.as_millis() }),
        })
    }
}
