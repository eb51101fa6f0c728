//! `pause`: a deliberate wait, at the run's pace; in presenter mode Enter
//! (already pressed to start the step) ends it.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Done, StepAction, StepResult};
use crate::scenario::context::Context;
use crate::scenario::parse::{Fields, ScenarioError};
use crate::scenario::ui::format_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub duration: Duration,
}

impl StepAction for Pause {
    const KEYS: &'static [&'static str] = &["duration"];

    fn parse(fields: &Fields<'_>) -> Result<Self, ScenarioError> {
        Ok(Self {
            duration: fields.seconds("duration", 5.0)?,
        })
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let ui = context.ui();
        if ui.presenter {
            return Ok(Done {
                summary: "the presenter went on".into(),
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
            summary: format!("paused {}", format_duration(duration)),
            details: json!({ "ms": duration.as_millis() }),
        })
    }
}
