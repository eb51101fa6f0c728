//! What the cluster and service steps do: check the cluster, start the
//! services, take a PC out and bring it back, watch its state, capture
//! `nodetool status`, pause. (The API watches are in `watch`, the proofs in
//! `proofs`.) Every wait is bounded by the step's timeout, shows a progress
//! bar, and ends with a summary line for the console and figures for the journal.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::json;

use super::journal::Capture;
use super::runner::{Done, Failed, Outage, Run, StepResult};
use super::steps::{KillMode, WantedState};
use super::ui::format_duration;
use crate::app::{self, Service};
use crate::cluster::Expectation;
use crate::hosts::NodeSpec;
use crate::nodetool::{self, NodeState};
use crate::ui::Render;

/// Pause between two polls of a wait (nodetool starts a JVM: not faster).
const POLL: Duration = Duration::from_secs(1);

impl Run {
    pub(super) async fn check_cluster(&mut self, timeout: Duration) -> StepResult {
        let progress = self
            .ui
            .progress("checking the cluster from every PC", timeout);
        let deadline = Instant::now() + timeout;
        loop {
            let report = self.fleet.check().await.map_err(Failed::new)?;
            let rendered = report.render();
            if report.is_whole() {
                drop(progress);
                self.ui.info(&rendered);
                return Ok(Done {
                    summary: format!(
                        "cluster whole: {} nodes UN as seen from every node (checked in {})",
                        report.nodes.len(),
                        format_duration(report.took)
                    ),
                    details: json!({ "report": rendered }),
                });
            }
            let problems = report.problems.join("; ");
            progress.tick(problems.clone());
            if Instant::now() + POLL >= deadline {
                drop(progress);
                self.ui.info(&rendered);
                return Err(Failed {
                    message: format!("cluster not whole: {problems}"),
                    details: json!({ "report": rendered }),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn start_services(&mut self, timeout: Duration) -> StepResult {
        let progress = self.ui.progress("starting the services", timeout);
        let started_at = Utc::now();
        let report = app::up(&self.plan, timeout, &|message| progress.tick(message)).await;
        drop(progress);
        let report = report.map_err(|err| Failed::new(err.to_string()))?;
        self.started_services.extend(report.started.iter().copied());
        self.own_producer = report.started.contains(&Service::Producer);
        if self.own_producer {
            self.producer_started_at = Some(started_at);
        }
        self.ledger = report.ledger.clone();
        self.journal.ledger = self.ledger.as_ref().map(|path| path.display().to_string());
        for warning in report.warnings {
            self.warn(warning);
        }
        if !self.own_producer {
            self.warn(
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
        let mut summary = match (report.started.is_empty(), report.already_running.is_empty()) {
            (false, true) => format!("{} started", names(&report.started)),
            (true, _) => format!("{} already running", names(&report.already_running)),
            (false, false) => format!(
                "{} started; {} already running",
                names(&report.started),
                names(&report.already_running)
            ),
        };
        summary.push_str(&format!(" · dashboard {}", self.plan.dashboard_url()));
        Ok(Done {
            summary,
            details: json!({
                "started": report.started,
                "already_running": report.already_running,
                "ledger": self.journal.ledger,
                "sensors": self.plan.producer.sensor_ids(),
                "rate_per_sensor": self.plan.producer.rate,
            }),
        })
    }

    pub(super) async fn kill_node(
        &mut self,
        node: &NodeSpec,
        mode: KillMode,
        timeout: Duration,
    ) -> StepResult {
        if self.is_out(node) {
            return Err(Failed::new(format!("{} is already out", node.name)));
        }
        let out_at = Utc::now();
        let clock = Instant::now();
        match mode {
            KillMode::Fault(fault) => {
                let what = format!("{mode} {}", node.name);
                let result = self
                    .run_bounded(&what, &what, timeout, self.fleet.take_out(node, fault))
                    .await;
                // Whatever the outcome, the node may be out now: restore it at the end.
                self.mark_out(node, mode, out_at);
                result?;
                let how = match mode {
                    KillMode::Fault(crate::nemesis::FaultMode::Stop) => {
                        "stopped (drain, then stop)"
                    }
                    KillMode::Fault(crate::nemesis::FaultMode::Kill) => "killed (SIGKILL, a crash)",
                    KillMode::Fault(crate::nemesis::FaultMode::Freeze) => {
                        "frozen (SIGSTOP, a hung PC)"
                    }
                    KillMode::Manual => "switched off",
                };
                Ok(Done {
                    summary: format!(
                        "{} {how} in {}",
                        node.label(),
                        format_duration(clock.elapsed())
                    ),
                    details: json!({ "node": node.name, "mode": mode.to_string(), "at": out_at }),
                })
            }
            KillMode::Manual => {
                self.ui.info(&format!(
                    ">>> Switch {} off now (power button or plug); waiting until its peers see it DOWN",
                    node.label()
                ));
                let seen = self
                    .wait_seen(node, WantedState::Down, None, timeout)
                    .await?;
                self.mark_out(node, mode, out_at);
                Ok(Done {
                    summary: format!("{} switched off by hand: {seen}", node.label()),
                    details: json!({ "node": node.name, "mode": "manual", "at": out_at }),
                })
            }
        }
    }

    pub(super) async fn wait_node_state(
        &mut self,
        node: &NodeSpec,
        state: WantedState,
        seen_from: Option<NodeSpec>,
        timeout: Duration,
    ) -> StepResult {
        let clock = Instant::now();
        let seen = self.wait_seen(node, state, seen_from, timeout).await?;
        Ok(Done {
            summary: format!("{} seen {state}: {seen}", node.name),
            details: json!({
                "node": node.name,
                "state": state.to_string(),
                "after_ms": clock.elapsed().as_millis(),
            }),
        })
    }

    /// Polls the observers (`seen_from`, or every other node the run has not
    /// taken out) until all of them see `node` in `state`.
    async fn wait_seen(
        &self,
        node: &NodeSpec,
        state: WantedState,
        seen_from: Option<NodeSpec>,
        timeout: Duration,
    ) -> Result<String, Failed> {
        let observers: Vec<NodeSpec> = match seen_from {
            Some(observer) => vec![observer],
            None => self
                .fleet
                .inventory
                .nodes
                .iter()
                .filter(|peer| peer.name != node.name && !self.is_out(peer))
                .cloned()
                .collect(),
        };
        if observers.is_empty() {
            return Err(Failed::new(format!(
                "no running node left to ask about {}",
                node.name
            )));
        }
        let wanted = match state {
            WantedState::Up => Expectation::Up,
            WantedState::Down => Expectation::Down,
        };
        let progress = self.ui.progress(
            &format!("waiting for {} to be seen {state}", node.name),
            timeout,
        );
        let started = Instant::now();
        let mut views = Vec::new();
        while started.elapsed() < timeout {
            let answers = join_all(
                observers
                    .iter()
                    .map(|observer| self.fleet.states_seen_by(observer)),
            )
            .await;
            views = observers
                .iter()
                .zip(answers)
                .map(|(observer, answer)| {
                    (
                        observer.name.clone(),
                        answer.map(|states| states.state_of(node)),
                    )
                })
                .collect::<Vec<_>>();
            let all_met = views
                .iter()
                .all(|(_, answer)| answer.as_ref().is_ok_and(|seen| meets(wanted, *seen)));
            let shown = describe_views(&views);
            if all_met {
                return Ok(format!(
                    "{shown} (after {})",
                    format_duration(started.elapsed())
                ));
            }
            progress.tick(shown);
            tokio::time::sleep(POLL).await;
        }
        Err(Failed {
            message: format!(
                "{} not seen {state} within {} (last: {})",
                node.name,
                format_duration(timeout),
                describe_views(&views)
            ),
            details: json!({ "node": node.name, "state": state.to_string() }),
        })
    }

    pub(super) async fn capture(&mut self, step: usize, from: &NodeSpec) -> StepResult {
        if self.is_out(from) {
            return Err(Failed::new(format!(
                "{} is out: capture from another node",
                from.name
            )));
        }
        let (command, output) = self.fleet.capture_status(from).await.map_err(Failed::new)?;
        self.ui.info(&format!("{}$ {command}", from.name));
        self.ui.block(&output, |line| line.starts_with('D'));
        let file = self
            .dir
            .write_text(&format!("capture-{step:02}-{}.txt", from.name), &output)
            .map_err(|err| Failed::new(err.to_string()))?;
        let seen = nodetool::parse_status(&output)
            .map(|status| {
                status
                    .rows
                    .iter()
                    .map(|row| {
                        let name = self
                            .fleet
                            .inventory
                            .node_by_address(row.address)
                            .map_or_else(|| row.address.to_string(), |node| node.name.clone());
                        format!("{name} {}", row.state)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|err| format!("unparsed: {err}"));
        self.journal.captures.push(Capture {
            step,
            from: from.name.clone(),
            command: command.clone(),
            file: file.clone(),
            output,
        });
        Ok(Done {
            summary: format!("{} sees: {seen} (saved as {file})", from.name),
            details: json!({ "from": from.name, "command": command, "file": file, "seen": seen }),
        })
    }

    pub(super) async fn start_node(&mut self, node: &NodeSpec, timeout: Duration) -> StepResult {
        let clock = Instant::now();
        let manual = self
            .out
            .iter()
            .any(|(out, mode)| out.name == node.name && *mode == KillMode::Manual);
        if manual {
            self.ui.info(&format!(
                ">>> Switch {} back on; waiting until its peers see it UP",
                node.label()
            ));
        } else {
            self.run_bounded(
                &format!("bringing {} back", node.name),
                &format!("starting {}", node.name),
                timeout,
                self.fleet.bring_back(node),
            )
            .await?;
        }
        let back_at = Utc::now();
        if let Some(outage) = self.outages.get_mut(&node.name) {
            outage.back_at = Some(back_at);
        }
        let remaining = timeout.saturating_sub(clock.elapsed()).max(POLL * 5);
        let seen = self
            .wait_seen(node, WantedState::Up, None, remaining)
            .await?;
        self.out.retain(|(out, _)| out.name != node.name);
        if let Some(outage) = self.outages.get_mut(&node.name) {
            outage.seen_up_at = Some(Instant::now());
        }
        Ok(Done {
            summary: format!("{} is back: {seen}", node.label()),
            details: json!({ "node": node.name, "at": back_at, "after_ms": clock.elapsed().as_millis() }),
        })
    }

    pub(super) async fn pause(&mut self, duration: Duration) -> StepResult {
        if self.ui.presenter {
            return Ok(Done {
                summary: "the presenter went on".into(),
                details: json!(null),
            });
        }
        let progress = self.ui.progress("pause", duration);
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

    /// Runs a fleet action behind a progress bar (`progress`), bounded by
    /// `timeout`: its own error as is, or "<what> did not finish within …".
    async fn run_bounded(
        &self,
        progress: &str,
        what: &str,
        timeout: Duration,
        action: impl Future<Output = Result<(), String>>,
    ) -> Result<(), Failed> {
        let progress = self.ui.progress(progress, timeout);
        let result = tokio::time::timeout(timeout, action).await;
        drop(progress);
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Failed::new(err)),
            Err(_) => Err(Failed::new(format!(
                "{what} did not finish within {}",
                format_duration(timeout)
            ))),
        }
    }

    /// Records `node` as out since `out_at`: restored when the run ends, and
    /// its outage timed for the catch-up check.
    fn mark_out(&mut self, node: &NodeSpec, mode: KillMode, out_at: DateTime<Utc>) {
        self.out.push((node.clone(), mode));
        self.outages.insert(
            node.name.clone(),
            Outage {
                out_at,
                back_at: None,
                seen_up_at: None,
            },
        );
    }
}

fn meets(wanted: Expectation, seen: Option<NodeState>) -> bool {
    match wanted {
        Expectation::Up => seen == Some(NodeState::UN),
        Expectation::Down => seen.is_some_and(|state| !state.is_up()),
    }
}

fn describe_views(views: &[(String, Result<Option<NodeState>, String>)]) -> String {
    views
        .iter()
        .map(|(observer, answer)| match answer {
            Ok(Some(state)) => format!("{observer} sees {state}"),
            Ok(None) => format!("{observer} does not list it"),
            Err(err) => format!("{observer}: {}", err.lines().next().unwrap_or("")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
