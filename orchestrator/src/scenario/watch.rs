//! The steps that watch the chart's source: readings arrive (`expect-data`)
//! and keep arriving while a PC is out (`expect-continuity`), as the API
//! serves them to the dashboard.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::probe::ApiProbe;
use super::runner::{Done, Failed, Run, StepResult};
use super::ui::format_duration;

impl Run {
    pub(super) async fn expect_data(
        &mut self,
        within: Duration,
        max_staleness: Duration,
    ) -> StepResult {
        let progress = self
            .ui
            .progress("waiting for fresh readings in the API", within);
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < within {
            // Readings older than the run's producer are a previous run's.
            let bound = self.producer_started_at.map_or(max_staleness, |since| {
                max_staleness.min((Utc::now() - since).to_std().unwrap_or_default())
            });
            match self.probe.freshness().await {
                Ok(freshness) if freshness.all_fresh(bound) => {
                    let worst = freshness.worst_staleness.unwrap_or_default();
                    return Ok(Done {
                        summary: format!(
                            "{} sensors in the API, newest readings at most {} old, after {}",
                            freshness.seen,
                            format_duration(worst),
                            format_duration(started.elapsed())
                        ),
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
        Err(Failed::new(format!(
            "no fresh readings (at most {} old) within {}: {last}",
            format_duration(max_staleness),
            format_duration(within)
        )))
    }

    pub(super) async fn expect_continuity(
        &mut self,
        window: Duration,
        max_staleness: Duration,
        poll: Duration,
    ) -> StepResult {
        let probe = ApiProbe::new(
            &self.plan.api_url,
            self.plan.producer.sensor_ids(),
            max_staleness,
        )
        .map_err(|err| Failed::new(err.to_string()))?;
        let progress = self.ui.progress("watching the API's readings", window);
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
            let mut summary = format!(
                "{polls} polls over {}: readings never older than {} (bound {})",
                format_duration(window),
                format_duration(Duration::from_millis(worst_ms)),
                format_duration(max_staleness)
            );
            if degraded > 0 {
                summary.push_str(&format!("; {degraded} answers read at ONE"));
            }
            Ok(Done { summary, details })
        } else {
            Err(Failed {
                message: format!(
                    "{} of {polls} polls over the {} bound; first: {}",
                    breaches.len(),
                    format_duration(max_staleness),
                    breaches.first().map_or("no poll completed", String::as_str)
                ),
                details,
            })
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
