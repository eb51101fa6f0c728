//! `expect-continuity`: the chart goes on. For a window, poll `GET /sensors`
//! as the dashboard does: every answer must come, with every sensor of the
//! run fresher than the bound, while a PC is out.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Done, Failed, StepAction, StepResult, millis};
use crate::scenario::context::Context;
use crate::scenario::ui::format_duration;

step_params! {
    pub struct ExpectContinuity {
        /// The window (scaled by the run's pace).
        duration: Duration = seconds(20.0),
        max_staleness: Duration = seconds(5.0),
        poll: Duration = seconds(0.25),
    }
}

impl StepAction for ExpectContinuity {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let (window, max_staleness, poll) =
            (context.paced(self.duration), self.max_staleness, self.poll);
        let probe = context
            .probe_bounded(max_staleness)
            .map_err(|err| Failed::new(err.to_string()))?;
        let progress = context
            .ui()
            .progress(&context.say().watching_continuity(window), window);
        let started = Instant::now();
        // One entry per poll: the age of the oldest sensor's newest reading,
        // or None when the poll failed.
        let mut staleness_ms: Vec<Option<u64>> = Vec::new();
        // How long each poll waited for the API: says whether a breach was
        // old data served fast or an answer that came late.
        let mut answer_ms: Vec<u64> = Vec::new();
        let mut breaches: Vec<String> = Vec::new();
        let mut degraded = 0usize;
        while started.elapsed() < window {
            let asked = Instant::now();
            let offset = format_duration(started.elapsed());
            let outcome = probe.freshness().await;
            let took = asked.elapsed();
            answer_ms.push(millis(took));
            match outcome {
                Ok(freshness) => {
                    degraded += usize::from(freshness.degraded_reads);
                    let worst = freshness.worst_staleness.unwrap_or(Duration::MAX);
                    staleness_ms.push(freshness.worst_staleness.map(millis));
                    if !freshness.all_fresh(max_staleness) {
                        breaches.push(if freshness.unseen.is_empty() {
                            format!(
                                "+{offset}: newest readings {} old (answered in {})",
                                format_duration(worst),
                                format_duration(took)
                            )
                        } else {
                            format!("+{offset}: no reading for {}", freshness.unseen.join(", "))
                        });
                    }
                }
                Err(err) => {
                    staleness_ms.push(None);
                    breaches.push(format!(
                        "+{offset}: {err} (after {})",
                        format_duration(took)
                    ));
                }
            }
            let worst = staleness_ms.iter().flatten().max();
            progress.tick(format!(
                "{} polls, worst {}, {} over {}",
                staleness_ms.len(),
                worst.map_or("-".into(), |ms| format_duration(Duration::from_millis(*ms))),
                breaches.len(),
                format_duration(max_staleness)
            ));
            tokio::time::sleep(poll.saturating_sub(asked.elapsed())).await;
        }
        drop(progress);
        let polls = staleness_ms.len();
        let worst_ms = staleness_ms.iter().flatten().copied().max().unwrap_or(0);
        let details = json!({
            "window_ms": window.as_millis(),
            "bound_ms": max_staleness.as_millis(),
            "polls": polls,
            "breaches": breaches.len(),
            "first_breaches": breaches.iter().take(5).collect::<Vec<_>>(),
            "worst_staleness_ms": worst_ms,
            "answers_at_one": degraded,
            "staleness_ms": staleness_ms,
            "answer_ms": answer_ms,
        });
        if polls > 0 && breaches.is_empty() {
            let summary = context.say().continuity_held(
                polls,
                window,
                Duration::from_millis(worst_ms),
                max_staleness,
                degraded,
            );
            Ok(Done { summary, details })
        } else {
            Err(Failed {
                message: context.say().continuity_broken(
                    breaches.len(),
                    polls,
                    max_staleness,
                    breaches.first().map_or("-", String::as_str),
                ),
                details,
            })
        }
    }
}
