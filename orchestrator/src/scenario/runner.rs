//! The run loop: narrate, (in presenter mode) wait for Enter, execute, time,
//! record; stop at the first failure; then leave the cluster as it was found.
//!
//! Whatever happens (a failed step, Ctrl-C), the nodes this run took out are
//! brought back and the services it started are stopped, unless `--keep`
//! asks to leave a failed run as it is for inspection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::events::{Event, EventLog, EventStatus};
use super::fleet::Fleet;
use super::journal::{Journal, Restoration, RunDir, StepRecord, StepStatus};
use super::probe::ApiProbe;
use super::steps::{Action, KillMode, Scenario, Step};
use super::ui::{Ui, format_duration};
use crate::app::{self, ProducerSettings, Service, ServicesPlan};
use crate::hosts::NodeSpec;
use crate::nemesis::FaultMode;

/// Longest wait for a restored node to be seen UP again.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(180);
/// Each API request of a probe gives up after this long (continuity uses its own bound).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How the run was asked to go.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub presenter: bool,
    pub keep: bool,
    pub mode_override: Option<FaultMode>,
    /// Multiplies pauses and continuity windows.
    pub pace: f64,
    /// "lab" or the hosts file, for the journal.
    pub target: String,
    pub runs_dir: PathBuf,
}

/// A step that worked: one line for the console, figures for the journal.
pub struct Done {
    pub summary: String,
    pub details: serde_json::Value,
}

/// A step that did not.
pub struct Failed {
    pub message: String,
    pub details: serde_json::Value,
}

impl Failed {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }
}

pub type StepResult = Result<Done, Failed>;

/// When a node was taken out and brought back, for the catch-up check.
#[derive(Debug, Clone, Copy)]
pub struct Outage {
    pub out_at: DateTime<Utc>,
    pub back_at: Option<DateTime<Utc>>,
    /// When its peers saw it UP again (hints are handed over after that).
    pub seen_up_at: Option<Instant>,
}

/// Everything a run knows while it goes.
pub struct Run {
    pub scenario: Scenario,
    pub fleet: Fleet,
    pub ui: Ui,
    pub options: RunOptions,
    pub dir: RunDir,
    pub journal: Journal,
    pub events: Option<EventLog>,
    pub plan: ServicesPlan,
    pub probe: ApiProbe,
    /// Services this run started (and will stop).
    pub started_services: Vec<Service>,
    /// The ledger of the producer the run relies on.
    pub ledger: Option<PathBuf>,
    /// Whether that producer is the run's own (so the run may stop it).
    pub own_producer: bool,
    /// When the run's own producer started: older readings are not the run's.
    pub producer_started_at: Option<DateTime<Utc>>,
    /// Every outage of the run, by node name.
    pub outages: BTreeMap<String, Outage>,
    /// Nodes currently out because of this run, in the order they went out.
    pub out: Vec<(NodeSpec, KillMode)>,
    /// Becomes true on Ctrl-C.
    pub interrupt: watch::Receiver<bool>,
}

impl Run {
    /// Prepares a run: its directory, journal, services plan and event log
    /// (an unreachable event log is a warning, not a failure).
    pub async fn prepare(
        scenario_path: &Path,
        scenario: Scenario,
        fleet: Fleet,
        options: RunOptions,
    ) -> anyhow::Result<Self> {
        let started_at = Utc::now();
        let dir = RunDir::create(&options.runs_dir, started_at)?;
        let mut plan = ServicesPlan::from_inventory(&fleet.inventory);
        plan.producer = ProducerSettings {
            sensors: scenario.settings.sensors,
            rate: scenario.settings.rate,
            sensor_prefix: scenario.settings.sensor_prefix.clone(),
            ledger: dir.path.join("ledger.jsonl"),
        };
        let probe = ApiProbe::new(&plan.api_url, plan.producer.sensor_ids(), PROBE_TIMEOUT)?;
        let journal = Journal {
            run_id: dir.run_id.clone(),
            scenario: scenario_path.display().to_string(),
            title: scenario.title.clone(),
            target: options.target.clone(),
            presenter: options.presenter,
            mode_override: options
                .mode_override
                .map(|mode| KillMode::Fault(mode).to_string()),
            pace: options.pace,
            dashboard_url: plan.dashboard_url(),
            ledger: None,
            started_at,
            finished_at: None,
            verdict: "running".into(),
            steps: Vec::new(),
            captures: Vec::new(),
            restored: Vec::new(),
            warnings: Vec::new(),
        };
        let mut run = Self {
            scenario,
            ui: Ui::new(options.presenter),
            options,
            dir,
            journal,
            events: None,
            probe,
            started_services: Vec::new(),
            ledger: None,
            own_producer: false,
            producer_started_at: None,
            outages: BTreeMap::new(),
            out: Vec::new(),
            interrupt: watch_ctrl_c(),
            plan,
            fleet,
        };
        let contact_points = run.plan.contact_points.clone();
        let keyspace = run.fleet.inventory.cluster.keyspace.clone();
        match EventLog::connect(contact_points, &keyspace, &run.dir.run_id).await {
            Ok(events) => run.events = Some(events),
            Err(err) => run.warn(format!(
                "scenario events will not reach the dashboard: {err}"
            )),
        }
        Ok(run)
    }

    pub fn warn(&mut self, text: String) {
        self.ui.warn(&text);
        self.journal.warnings.push(text);
    }

    fn save_journal(&mut self) {
        if let Err(err) = self.dir.save(&self.journal) {
            self.ui.warn(&err.to_string());
        }
    }

    /// Runs every step, restores, records the verdict; true when every step passed.
    pub async fn conduct(mut self) -> bool {
        let total = self.scenario.steps.len();
        self.ui.title(
            &self.scenario.title,
            &format!(
                "{total} steps · dashboard {} · journal {}",
                self.journal.dashboard_url,
                self.dir.journal_path().display()
            ),
        );
        if let Some(description) = self.scenario.description.clone() {
            self.ui.info(&description);
        }
        self.save_journal();
        let started = Instant::now();
        let steps = self.scenario.steps.clone();
        let mut failure: Option<(usize, String)> = None;
        for step in &steps {
            if failure.is_none() && *self.interrupt.borrow() {
                failure = Some((step.number, "interrupted (Ctrl-C)".to_owned()));
            }
            if failure.is_some() {
                self.journal.steps.push(skipped(step, &self.label(step)));
                continue;
            }
            if let Err(message) = self.run_step(step, total).await {
                failure = Some((step.number, message));
            }
            self.save_journal();
        }
        let passed = failure.is_none();
        if passed || !self.options.keep {
            self.restore().await;
        } else {
            self.warn(
                "--keep: the cluster and the services are left as the failure found them".into(),
            );
        }
        self.journal.finished_at = Some(Utc::now());
        self.journal.verdict = if passed { "passed" } else { "failed" }.into();
        self.save_journal();
        let verdict = match &failure {
            None => format!(
                "PASSED: all {total} steps of « {} » in {}",
                self.scenario.title,
                format_duration(started.elapsed())
            ),
            Some((number, message)) => {
                let kind = steps.get(number - 1).map_or("?", |step| step.action.kind());
                format!("FAILED at step {number}/{total} ({kind}): {message}")
            }
        };
        self.ui.verdict(passed, &verdict);
        println!("journal: {}", self.dir.journal_path().display());
        println!("dashboard: {}", self.journal.dashboard_url);
        passed
    }

    /// One step, narrated, timed, recorded and sent to the dashboard.
    async fn run_step(&mut self, step: &Step, total: usize) -> Result<(), String> {
        let label = self.label(step);
        let kind = step.action.kind();
        self.ui.narrate(step.number, total, kind, &label, &step.say);
        let ui = self.ui;
        let entered = interruptible(
            self.interrupt.clone(),
            ui.wait_for_enter("Entrée pour continuer"),
        )
        .await;
        let started_at = Utc::now();
        self.event(step, &label, EventStatus::Running, started_at)
            .await;
        let clock = Instant::now();
        let result = match entered {
            Some(()) => interruptible(self.interrupt.clone(), self.execute(step))
                .await
                .unwrap_or_else(|| Err(Failed::new("interrupted (Ctrl-C)"))),
            None => Err(Failed::new("interrupted (Ctrl-C)")),
        };
        let elapsed = clock.elapsed();
        let (status, summary, details, error) = match result {
            Ok(done) => (StepStatus::Ok, done.summary, done.details, None),
            Err(failed) => (
                StepStatus::Failed,
                failed.message.clone(),
                failed.details,
                Some(failed.message),
            ),
        };
        let ok = status == StepStatus::Ok;
        self.ui.outcome(ok, elapsed, &summary);
        let event_status = if ok {
            EventStatus::Ok
        } else {
            EventStatus::Failed
        };
        self.event(step, &label, event_status, Utc::now()).await;
        self.journal.steps.push(StepRecord {
            number: step.number,
            kind,
            label,
            say: step.say.clone(),
            status,
            started_at: Some(started_at),
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            summary,
            details,
            error: error.clone(),
        });
        error.map_or(Ok(()), Err)
    }

    async fn execute(&mut self, step: &Step) -> StepResult {
        match &step.action {
            Action::CheckCluster { timeout } => self.check_cluster(*timeout).await,
            Action::StartServices { timeout } => self.start_services(*timeout).await,
            Action::ExpectData {
                within,
                max_staleness,
            } => self.expect_data(*within, *max_staleness).await,
            Action::KillNode {
                node,
                mode,
                timeout,
            } => {
                let mode = match (self.options.mode_override, mode) {
                    (Some(forced), _) => KillMode::Fault(forced),
                    (None, mode) => *mode,
                };
                self.kill_node(&self.node(node)?, mode, *timeout).await
            }
            Action::WaitNodeState {
                node,
                state,
                seen_from,
                timeout,
            } => {
                let seen_from = match seen_from {
                    Some(observer) => Some(self.node(observer)?),
                    None => None,
                };
                self.wait_node_state(&self.node(node)?, *state, seen_from, *timeout)
                    .await
            }
            Action::Capture { from, what: _ } => {
                let from = match from {
                    Some(from) => self.node(from)?,
                    None => self.first_running_node()?,
                };
                self.capture(step.number, &from).await
            }
            Action::ExpectContinuity {
                duration,
                max_staleness,
                poll,
            } => {
                self.expect_continuity(duration.mul_f64(self.options.pace), *max_staleness, *poll)
                    .await
            }
            Action::StartNode { node, timeout } => {
                self.start_node(&self.node(node)?, *timeout).await
            }
            Action::ExpectCatchUp { node, timeout } => {
                self.expect_catch_up(&self.node(node)?, *timeout).await
            }
            Action::Verify {
                timeout,
                consistency,
                stop_producer,
            } => self.verify(*timeout, *consistency, *stop_producer).await,
            Action::Pause { duration } => self.pause(duration.mul_f64(self.options.pace)).await,
        }
    }

    /// The inventory's node for a reference (all were checked before the run started).
    fn node(&self, arg: &super::steps::NodeArg) -> Result<NodeSpec, Failed> {
        self.fleet
            .inventory
            .node(&arg.node.to_string())
            .cloned()
            .map_err(|err| Failed::new(err.to_string()))
    }

    /// The first node of the inventory this run has not taken out.
    pub fn first_running_node(&self) -> Result<NodeSpec, Failed> {
        self.fleet
            .inventory
            .nodes
            .iter()
            .find(|node| !self.is_out(node))
            .cloned()
            .ok_or_else(|| Failed::new("every node is out"))
    }

    pub fn is_out(&self, node: &NodeSpec) -> bool {
        self.out.iter().any(|(out, _)| out.name == node.name)
    }

    /// The step's label, or a short one derived from its action (French, for the dashboard).
    fn label(&self, step: &Step) -> String {
        if let Some(label) = &step.label {
            return label.clone();
        }
        let name = |arg: &super::steps::NodeArg| {
            self.fleet
                .inventory
                .node(&arg.node.to_string())
                .map_or_else(|_| arg.node.to_string(), |node| node.name.clone())
        };
        match &step.action {
            Action::CheckCluster { .. } => "Cluster vérifié".into(),
            Action::StartServices { .. } => "Services démarrés".into(),
            Action::ExpectData { .. } => "Données reçues".into(),
            Action::KillNode { node, mode, .. } => {
                let mode = self.options.mode_override.map_or(*mode, KillMode::Fault);
                let verb = match mode {
                    KillMode::Fault(FaultMode::Stop) => "arrêté",
                    KillMode::Fault(FaultMode::Kill) => "planté",
                    KillMode::Fault(FaultMode::Freeze) => "gelé",
                    KillMode::Manual => "éteint",
                };
                format!("{} {verb}", name(node))
            }
            Action::WaitNodeState { node, state, .. } => format!("{} vu {state}", name(node)),
            Action::Capture { from, .. } => match from {
                Some(from) => format!("nodetool status ({})", name(from)),
                None => "nodetool status".into(),
            },
            Action::ExpectContinuity { .. } => "Continuité".into(),
            Action::StartNode { node, .. } => format!("{} redémarré", name(node)),
            Action::ExpectCatchUp { node, .. } => format!("{} a rattrapé", name(node)),
            Action::Verify { .. } => "Rien n'est perdu".into(),
            Action::Pause { .. } => "Pause".into(),
        }
    }

    async fn event(&mut self, step: &Step, label: &str, status: EventStatus, at: DateTime<Utc>) {
        let Some(events) = &self.events else {
            return;
        };
        let event = Event {
            at,
            step: step.number.to_string(),
            kind: step.action.kind(),
            label,
            status,
            narration: &step.say,
        };
        if let Err(err) = events.record(&event).await {
            self.journal
                .warnings
                .push(format!("step {}: event not written: {err}", step.number));
        }
    }

    /// Brings back every node the run took out, then stops the services it started.
    async fn restore(&mut self) {
        let out: Vec<(NodeSpec, KillMode)> = self.out.drain(..).rev().collect();
        for (node, mode) in out {
            if mode == KillMode::Manual {
                self.ui.warn(&format!(
                    "{} was switched off by hand: switch it back on",
                    node.name
                ));
            }
            self.ui.info(&format!("restoring {}...", node.name));
            let progress = self
                .ui
                .progress(&format!("bringing {} back", node.name), RESTORE_TIMEOUT);
            let result = match self.fleet.bring_back(&node).await {
                Ok(()) => self.fleet.wait_serving(&node, RESTORE_TIMEOUT).await,
                Err(err) => Err(err),
            };
            drop(progress);
            match &result {
                Ok(()) => self.ui.info(&format!("{} is back (UN)", node.name)),
                Err(err) => self.ui.warn(&format!("{} not restored: {err}", node.name)),
            }
            self.journal.restored.push(Restoration {
                node: node.name.clone(),
                action: "start".into(),
                ok: result.is_ok(),
                error: result.err(),
            });
        }
        // Also whatever a cut-short start (Ctrl-C) had already spawned.
        let mut services = std::mem::take(&mut self.started_services);
        for service in Service::START_ORDER {
            let started_by_run = self
                .plan
                .state
                .running(service.name())
                .is_some_and(|state| state.started_at >= self.journal.started_at);
            if started_by_run && !services.contains(&service) {
                services.push(service);
            }
        }
        if !services.is_empty() {
            match app::down(&self.plan.state, &services).await {
                Ok(stopped) => {
                    let names: Vec<&str> =
                        stopped.iter().map(|(service, _)| service.name()).collect();
                    self.ui.info(&format!(
                        "stopped the services this run started: {}",
                        names.join(", ")
                    ));
                    self.journal.restored.push(Restoration {
                        node: self.fleet.inventory.app.name.clone(),
                        action: format!("stop {}", names.join(", ")),
                        ok: true,
                        error: None,
                    });
                }
                Err(err) => {
                    self.warn(format!("could not stop the services: {err}"));
                }
            }
        }
        self.save_journal();
    }
}

/// A flag that turns true on Ctrl-C (and stays true): steps are cut short and
/// the run restores the cluster instead of dying with a node still out.
fn watch_ctrl_c() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = sender.send(true);
            // Keep the handler installed so further Ctrl-Cs do not kill the
            // run in the middle of its restoration (which is bounded).
            while tokio::signal::ctrl_c().await.is_ok() {}
        }
    });
    receiver
}

/// Runs `work` unless Ctrl-C comes first (`None`).
async fn interruptible<T>(
    mut interrupt: watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        value = work => Some(value),
        () = async {
            // Without a Ctrl-C handler (sender gone), never interrupt.
            if interrupt.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        } => None,
    }
}

fn skipped(step: &Step, label: &str) -> StepRecord {
    StepRecord {
        number: step.number,
        kind: step.action.kind(),
        label: label.to_owned(),
        say: step.say.clone(),
        status: StepStatus::Skipped,
        started_at: None,
        elapsed_ms: 0,
        summary: "not run: an earlier step failed".into(),
        details: json!(null),
        error: None,
    }
}
