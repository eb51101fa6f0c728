//! What each step kind does, and what it counts as success.
//!
//! Every wait is bounded by the step's timeout or window, shows a progress
//! bar, and ends with a summary line for the console and figures for the
//! journal.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;
use iot_services::cassandra::{SessionOptions, connect, connect_single_node};
use iot_services::ledger::{LedgerEntry, read_ledger};
use scylla::statement::Consistency;
use serde_json::json;

use super::journal::Capture;
use super::probe::ApiProbe;
use super::runner::{Done, Failed, Outage, Run, StepResult};
use super::steps::{KillMode, VerifyConsistency, WantedState};
use super::ui::{Progress, format_duration};
use crate::app::{self, Service};
use crate::checker::{self, CheckOptions, CheckReport, ReadSource};
use crate::cluster::Expectation;
use crate::hosts::NodeSpec;
use crate::nodetool::{self, NodeState};

/// Pause between two polls of a wait (nodetool starts a JVM: not faster).
const POLL: Duration = Duration::from_secs(1);
/// After a node is seen up, how long before its peers' hint listings are
/// trusted (two dispatch rounds of 10 s; see `wait_hints_handed_over`).
const HINTS_SETTLE: Duration = Duration::from_secs(22);
/// Pause between two attempts of a data check.
const RECHECK: Duration = Duration::from_secs(2);
/// Readings younger than this may still be on their way when the producer
/// keeps running: the final check leaves them out.
const IN_FLIGHT_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

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
                let progress = self.ui.progress(&format!("{mode} {}", node.name), timeout);
                let result = tokio::time::timeout(timeout, self.fleet.take_out(node, fault)).await;
                drop(progress);
                // Whatever the outcome, the node may be out now: restore it at the end.
                self.out.push((node.clone(), mode));
                self.outages.insert(
                    node.name.clone(),
                    Outage {
                        out_at,
                        back_at: None,
                        seen_up_at: None,
                    },
                );
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => return Err(Failed::new(err)),
                    Err(_) => {
                        return Err(Failed::new(format!(
                            "{mode} {} did not finish within {}",
                            node.name,
                            format_duration(timeout)
                        )));
                    }
                }
                let how = match mode {
                    KillMode::Fault(crate::cli::FaultMode::Stop) => "stopped (drain, then stop)",
                    KillMode::Fault(crate::cli::FaultMode::Kill) => "killed (SIGKILL, a crash)",
                    KillMode::Fault(crate::cli::FaultMode::Freeze) => "frozen (SIGSTOP, a hung PC)",
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
                self.out.push((node.clone(), mode));
                self.outages.insert(
                    node.name.clone(),
                    Outage {
                        out_at,
                        back_at: None,
                        seen_up_at: None,
                    },
                );
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
        let mut breaches: Vec<String> = Vec::new();
        let mut degraded = 0usize;
        while started.elapsed() < window {
            let asked = Instant::now();
            let offset = format_duration(started.elapsed());
            match probe.freshness().await {
                Ok(freshness) => {
                    degraded += usize::from(freshness.degraded_reads);
                    let worst = freshness.worst_staleness.unwrap_or(Duration::MAX);
                    staleness_ms.push(freshness.worst_staleness.map(millis));
                    if !freshness.all_fresh(max_staleness) {
                        breaches.push(if freshness.unseen.is_empty() {
                            format!("+{offset}: newest readings {} old", format_duration(worst))
                        } else {
                            format!("+{offset}: no reading for {}", freshness.unseen.join(", "))
                        });
                    }
                }
                Err(err) => {
                    staleness_ms.push(None);
                    breaches.push(format!("+{offset}: {err}"));
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
            let progress = self
                .ui
                .progress(&format!("bringing {} back", node.name), timeout);
            let result = tokio::time::timeout(timeout, self.fleet.bring_back(node)).await;
            drop(progress);
            match result {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return Err(Failed::new(err)),
                Err(_) => {
                    return Err(Failed::new(format!(
                        "starting {} did not finish within {}",
                        node.name,
                        format_duration(timeout)
                    )));
                }
            }
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

    pub(super) async fn expect_catch_up(
        &mut self,
        node: &NodeSpec,
        timeout: Duration,
    ) -> StepResult {
        let Some(Outage {
            out_at,
            back_at: Some(back_at),
            seen_up_at,
        }) = self.outages.get(&node.name).copied()
        else {
            return Err(Failed::new(format!(
                "{} was not taken out and brought back earlier in this run",
                node.name
            )));
        };
        let ledger = self.ledger_entries()?;
        // A little before the fault: writes in flight when it struck count too.
        let missed = checker::entries_between(
            &ledger,
            Some(out_at - chrono::TimeDelta::seconds(1)),
            Some(back_at),
        );
        if missed.is_empty() {
            return Err(Failed::new(format!(
                "no reading was acknowledged while {} was out: is the producer running?",
                node.name
            )));
        }
        let progress = self.ui.progress(
            &format!(
                "reading {} readings through {} alone",
                missed.len(),
                node.name
            ),
            timeout,
        );
        let deadline = Instant::now() + timeout;
        let session = self.connect_alone(node, deadline, &progress).await?;
        let keyspace = self.fleet.inventory.cluster.keyspace.clone();
        let mut sensors: Vec<String> = missed.iter().map(|entry| entry.sensor_id.clone()).collect();
        sensors.sort();
        sensors.dedup();
        // A node that coordinates a read at ONE may pass it to another
        // replica: only reads it served from its own replica show what it holds.
        let served = checker::read_sources(&session, &keyspace, &sensors)
            .await
            .map_err(|err| Failed::new(err.to_string()))?;
        let (local, elsewhere): (Vec<LedgerEntry>, Vec<LedgerEntry>) = missed
            .iter()
            .cloned()
            .partition(|entry| served.get(&entry.sensor_id) == Some(&ReadSource::Local));
        let mut details = json!({
            "node": node.name,
            "out_at": out_at,
            "back_at": back_at,
            "missed_while_out": missed.len(),
            "read_sources": served,
        });
        let mut found = 0;
        if !local.is_empty() {
            progress.tick(format!(
                "{} readings served by {} itself",
                local.len(),
                node.name
            ));
            let report = self
                .wait_served_locally(&session, &local, deadline, &progress)
                .await?;
            found += report.found;
            details["report"] = json!(report);
        }
        if !elsewhere.is_empty() {
            // Those sensors' reads go to peers: once the peers have handed
            // over their hints, one read at ALL compares every replica.
            self.wait_hints_handed_over(node, seen_up_at, deadline, &progress)
                .await?;
            let agreement = checker::check_replicas_agree(
                &session,
                &keyspace,
                &elsewhere,
                &CheckOptions::default(),
            )
            .await
            .map_err(|err| Failed::new(err.to_string()))?;
            details["agreement_at_all"] = json!(agreement);
            if !agreement.replicas_agree() {
                return Err(Failed {
                    message: format!(
                        "{}'s replica did not match its peers after the hints were replayed \
                         (digest mismatch for {:?}, untraced {:?}; {})",
                        node.name,
                        agreement.mismatched_sensors,
                        agreement.untraced_sensors,
                        agreement.report.render()
                    ),
                    details,
                });
            }
            found += agreement.report.found;
        }
        let elapsed = timeout.saturating_sub(deadline.saturating_duration_since(Instant::now()));
        let mut summary = format!(
            "{} holds all {found} readings acknowledged during its {} s outage (checked in {})",
            node.name,
            (back_at - out_at).num_seconds(),
            format_duration(elapsed)
        );
        if !local.is_empty() {
            summary.push_str(&format!(
                "; {} read from {} alone at ONE",
                local.len(),
                node.name
            ));
        }
        if !elsewhere.is_empty() {
            summary.push_str(&format!(
                "; {} (sensors its snitch reads from peers: {}) identical on every replica at ALL after the hints \
                 were handed over",
                elsewhere.len(),
                describe_sources(&served)
            ));
        }
        Ok(Done { summary, details })
    }

    /// A session to `node` alone (it coordinates every request), retried until `deadline`.
    async fn connect_alone(
        &self,
        node: &NodeSpec,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<scylla::client::session::Session, Failed> {
        let address = node.address.to_string();
        loop {
            match connect_single_node(&address, Duration::from_secs(5)).await {
                Ok(session) => return Ok(session),
                Err(err) if Instant::now() + RECHECK >= deadline => {
                    return Err(Failed::new(format!(
                        "{} does not answer CQL: {err}",
                        node.name
                    )));
                }
                Err(err) => progress.tick(err.to_string()),
            }
            tokio::time::sleep(RECHECK).await;
        }
    }

    /// Reads `entries` at ONE through `session` until all are there or `deadline`.
    async fn wait_served_locally(
        &self,
        session: &scylla::client::session::Session,
        entries: &[LedgerEntry],
        deadline: Instant,
        progress: &Progress,
    ) -> Result<CheckReport, Failed> {
        let keyspace = &self.fleet.inventory.cluster.keyspace;
        let options = CheckOptions {
            consistency: Consistency::One,
            ..CheckOptions::default()
        };
        loop {
            let last = match checker::check(session, keyspace, entries, &options).await {
                Ok(report) if report.is_complete() => return Ok(report),
                Ok(report) => report.render(),
                Err(err) => err.to_string(),
            };
            if Instant::now() + RECHECK >= deadline {
                return Err(Failed::new(format!("not caught up in time: {last}")));
            }
            progress.tick(last.lines().next().unwrap_or("").to_owned());
            tokio::time::sleep(RECHECK).await;
        }
    }

    /// Waits until the peers have handed their hints for `node` over.
    ///
    /// A peer closes the hint file it writes for a node at its next dispatch
    /// round (every 10 s) after seeing it up, and sends it at the round after;
    /// `nodetool listpendinghints` lists closed files only, and not the one
    /// being sent. So: from `HINTS_SETTLE` after the node was seen up, every
    /// peer must list no hints for it and have no dispatch running or queued,
    /// twice in a row with no dispatch completed in between.
    async fn wait_hints_handed_over(
        &self,
        node: &NodeSpec,
        seen_up_at: Option<Instant>,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<(), Failed> {
        let trusted_from = seen_up_at.unwrap_or_else(Instant::now) + HINTS_SETTLE;
        let peers: Vec<&NodeSpec> = self
            .fleet
            .inventory
            .nodes
            .iter()
            .filter(|peer| peer.name != node.name && !self.is_out(peer))
            .collect();
        let mut previous: Option<Vec<u64>> = None;
        loop {
            let answers =
                join_all(peers.iter().map(|peer| self.fleet.hints_toward(peer, node))).await;
            let mut busy = Vec::new();
            let mut dispatched = Vec::new();
            for (peer, answer) in peers.iter().zip(&answers) {
                match answer {
                    Ok(state) if state.is_quiet() => dispatched.push(state.dispatched),
                    Ok(_) => busy.push(format!("{} is sending hints", peer.name)),
                    Err(err) => busy.push(format!(
                        "{}: {}",
                        peer.name,
                        err.lines().next().unwrap_or("")
                    )),
                }
            }
            let waiting = if !busy.is_empty() {
                previous = None;
                busy.join(", ")
            } else if Instant::now() < trusted_from {
                format!("letting the peers close their hint files for {}", node.name)
            } else if previous.as_ref() == Some(&dispatched) {
                return Ok(());
            } else {
                previous = Some(dispatched);
                format!("no hints left for {}; confirming", node.name)
            };
            if Instant::now() + RECHECK >= deadline {
                return Err(Failed::new(format!("not caught up in time: {waiting}")));
            }
            progress.tick(waiting);
            tokio::time::sleep(RECHECK).await;
        }
    }

    pub(super) async fn verify(
        &mut self,
        timeout: Duration,
        consistency: VerifyConsistency,
        stop_producer: bool,
    ) -> StepResult {
        let mut cutoff = None;
        if stop_producer && self.own_producer {
            let stopped = app::stop(&self.plan.state, Service::Producer)
                .await
                .map_err(|err| Failed::new(format!("stopping the producer: {err}")))?;
            self.started_services
                .retain(|service| *service != Service::Producer);
            self.ui.info(&format!(
                "producer stopped ({stopped:?}): its ledger is complete"
            ));
        } else {
            // Readings still on their way are not counted as missing.
            cutoff = Some(Utc::now() - IN_FLIGHT_MARGIN);
        }
        let since = (!self.own_producer).then_some(self.journal.started_at);
        let entries = checker::entries_between(&self.ledger_entries()?, since, cutoff);
        if entries.is_empty() {
            return Err(Failed::new("the ledger holds no reading to verify"));
        }
        let level = match consistency {
            VerifyConsistency::Quorum => Consistency::Quorum,
            VerifyConsistency::All => Consistency::All,
        };
        let mut session_options = SessionOptions::new(self.plan.contact_points.clone());
        session_options.consistency = level;
        session_options.request_timeout = Duration::from_secs(10);
        let session = connect(&session_options)
            .await
            .map_err(|err| Failed::new(err.to_string()))?;
        let options = CheckOptions {
            consistency: level,
            ..CheckOptions::default()
        };
        let keyspace = self.fleet.inventory.cluster.keyspace.clone();
        let progress = self
            .ui
            .progress(&format!("checking {} readings", entries.len()), timeout);
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
        match last {
            Ok(report) if report.is_complete() => Ok(Done {
                summary: format!(
                    "nothing lost: all {} readings Kafka acknowledged ({} sensors) are in Cassandra with their \
                     values (read at {})",
                    report.expected, report.sensors, report.consistency
                ),
                details: json!({ "report": report, "cutoff": cutoff }),
            }),
            Ok(report) => {
                self.ui.info(&report.render());
                Err(Failed {
                    message: format!(
                        "{} of {} acknowledged readings missing or different",
                        report.missing + report.mismatched,
                        report.expected
                    ),
                    details: json!({ "report": report, "cutoff": cutoff }),
                })
            }
            Err(err) => Err(Failed::new(format!("could not read Cassandra: {err}"))),
        }
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

    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, Failed> {
        let ledger = self.ledger.as_ref().ok_or_else(|| {
            Failed::new("no producer ledger: the run has no start-services step before")
        })?;
        read_ledger(ledger).map_err(|err| Failed::new(err.to_string()))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn meets(wanted: Expectation, seen: Option<NodeState>) -> bool {
    match wanted {
        Expectation::Up => seen == Some(NodeState::UN),
        Expectation::Down => seen.is_some_and(|state| !state.is_up()),
    }
}

/// "sensor_01 → 127.0.0.1, sensor_04 → local".
fn describe_sources(sources: &BTreeMap<String, ReadSource>) -> String {
    sources
        .iter()
        .map(|(sensor, source)| match source {
            ReadSource::Local => format!("{sensor} → local"),
            ReadSource::Remote(address) => format!("{sensor} → {address}"),
            ReadSource::Unknown => format!("{sensor} → ?"),
        })
        .collect::<Vec<_>>()
        .join(", ")
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
