//! What a run knows while it goes, behind methods.
//!
//! Steps share state: the nodes the run took out (to restore them and time
//! their outage), the services it started (to stop them), the producer's
//! ledger (to prove nothing was lost), the journal (captures, warnings). The
//! state is private so each rule lives in one place: a node marked out is
//! always restored, a warning is always both shown and journaled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use contract::events::StepKind;
use iot_services::ledger::{LedgerEntry, read_ledger};

use super::fleet::Fleet;
use super::journal::{Capture, Journal, JournalError, Restoration, RunDir, StepRecord, StepStatus};
use super::model::NodeArg;
use super::probe::{ApiProbe, ProbeError};
use super::recorder::{Recorder, Sources};
use super::step::{Failed, KillMode};
use super::timeline::FaultRecord;
use super::ui::{Language, Ui};
use super::words::Say;
use crate::app::{Service, ServicesPlan, UpReport};
use crate::hosts::NodeSpec;
use crate::nemesis::FaultMode;

/// When a node was taken out and brought back, for the catch-up check.
#[derive(Debug, Clone, Copy)]
pub struct Outage {
    /// How it was taken out.
    pub mode: KillMode,
    pub out_at: DateTime<Utc>,
    pub back_at: Option<DateTime<Utc>>,
    /// When its peers saw it UP again (hints are handed over after that).
    pub seen_up_at: Option<Instant>,
}

/// The run's shared state.
pub struct Context {
    fleet: Fleet,
    ui: Ui,
    lang: Language,
    /// Multiplies pauses and continuity windows.
    pace: f64,
    mode_override: Option<FaultMode>,
    dir: RunDir,
    journal: Journal,
    plan: ServicesPlan,
    probe: ApiProbe,
    /// Services this run started (and will stop).
    started_services: Vec<Service>,
    /// The ledger of the producer the run relies on.
    ledger: Option<PathBuf>,
    /// Whether that producer is the run's own (so the run may stop it).
    own_producer: bool,
    /// When the run's own producer started: older readings are not the run's.
    producer_started_at: Option<DateTime<Utc>>,
    /// Every outage of the run, by node name.
    outages: BTreeMap<String, Outage>,
    /// Nodes currently out because of this run, in the order they went out.
    out: Vec<(NodeSpec, KillMode)>,
    /// Samples the timeline while the run goes (none before `start_recording`).
    recorder: Option<Recorder>,
}

/// What a [`Context`] starts from.
pub struct ContextParts {
    pub fleet: Fleet,
    pub ui: Ui,
    pub lang: Language,
    pub pace: f64,
    pub mode_override: Option<FaultMode>,
    pub dir: RunDir,
    pub journal: Journal,
    pub plan: ServicesPlan,
    pub probe: ApiProbe,
}

impl Context {
    pub fn new(parts: ContextParts) -> Self {
        Self {
            fleet: parts.fleet,
            ui: parts.ui,
            lang: parts.lang,
            pace: parts.pace,
            mode_override: parts.mode_override,
            dir: parts.dir,
            journal: parts.journal,
            plan: parts.plan,
            probe: parts.probe,
            started_services: Vec::new(),
            ledger: None,
            own_producer: false,
            producer_started_at: None,
            outages: BTreeMap::new(),
            out: Vec::new(),
            recorder: None,
        }
    }

    /// Starts sampling the timeline (the API, each node's view and hints, ingest);
    /// a recorder that cannot start is a warning: the run goes on without a timeline.
    pub fn start_recording(&mut self) {
        let sources = Sources {
            inventory: self.fleet.inventory.clone(),
            remote: self.fleet.remote.clone(),
            api_url: self.plan.api_url.clone(),
            sensors: self.plan.producer.sensor_ids(),
            ingest_metrics: self.plan.metrics_listen.clone(),
            services: self.plan.state.clone(),
        };
        match Recorder::start(sources) {
            Ok(recorder) => self.recorder = Some(recorder),
            Err(err) => self.warn(format!("the run's timeline is not recorded: {err}")),
        }
    }

    /// Stops sampling and keeps the whole timeline in the journal.
    pub fn stop_recording(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            self.journal.timeline = recorder.stop();
        }
    }

    pub fn ui(&self) -> Ui {
        self.ui
    }

    /// The conductor's words, in the scenario's language.
    pub fn say(&self) -> Say {
        Say(self.lang)
    }

    pub fn lang(&self) -> Language {
        self.lang
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn keyspace(&self) -> &str {
        &self.fleet.inventory.cluster.keyspace
    }

    pub fn plan(&self) -> &ServicesPlan {
        &self.plan
    }

    /// The probe of the run's sensors in the API, with the run's request bound.
    pub fn probe(&self) -> &ApiProbe {
        &self.probe
    }

    /// A probe of the run's sensors whose requests give up after `timeout`.
    pub fn probe_bounded(&self, timeout: Duration) -> Result<ApiProbe, ProbeError> {
        ApiProbe::new(&self.plan.api_url, self.plan.producer.sensor_ids(), timeout)
    }

    /// A deliberate wait (pause, continuity window) at the run's pace.
    pub fn paced(&self, duration: Duration) -> Duration {
        duration.mul_f64(self.pace)
    }

    /// The mode a kill-node step uses: `--mode` wins over the file.
    pub fn kill_mode(&self, written: KillMode) -> KillMode {
        self.mode_override.map_or(written, KillMode::Fault)
    }

    /// Shown under the current step and kept in the journal.
    pub fn warn(&mut self, text: String) {
        self.ui.warn(&text);
        self.journal.warnings.push(text);
    }

    /// Kept in the journal only (a cosmetic problem the audience need not see).
    pub fn note(&mut self, text: String) {
        self.journal.warnings.push(text);
    }

    // ----------------------------------------------------------------- nodes

    /// The inventory's node for a reference (all were checked before the run started).
    pub fn node(&self, arg: &NodeArg) -> Result<NodeSpec, Failed> {
        self.fleet
            .inventory
            .node(&arg.node.to_string())
            .cloned()
            .map_err(|err| Failed::new(err.to_string()))
    }

    /// The inventory name of a reference, or the reference as written.
    pub fn node_name(&self, arg: &NodeArg) -> String {
        self.fleet
            .inventory
            .node(&arg.node.to_string())
            .map_or_else(|_| arg.node.to_string(), |node| node.name.clone())
    }

    /// The inventory name of the node at `address`, or the address.
    pub fn name_at(&self, address: std::net::IpAddr) -> String {
        self.fleet
            .inventory
            .node_by_address(address)
            .map_or_else(|| address.to_string(), |node| node.name.clone())
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

    /// The other nodes this run has not taken out.
    pub fn running_peers(&self, node: &NodeSpec) -> Vec<NodeSpec> {
        self.fleet
            .inventory
            .nodes
            .iter()
            .filter(|peer| peer.name != node.name && !self.is_out(peer))
            .cloned()
            .collect()
    }

    /// Records `node` as out since `out_at`: restored when the run ends, and
    /// its outage timed for the catch-up check.
    pub fn mark_out(&mut self, node: &NodeSpec, mode: KillMode, out_at: DateTime<Utc>) {
        self.journal.faults.push(FaultRecord {
            node: node.name.clone(),
            mode: mode.to_string(),
            commanded_at: out_at,
            command_done_at: Some(Utc::now()),
            return_commanded_at: None,
            back_at: None,
        });
        self.out.push((node.clone(), mode));
        self.outages.insert(
            node.name.clone(),
            Outage {
                mode,
                out_at,
                back_at: None,
                seen_up_at: None,
            },
        );
    }

    /// The presenter switched `node` off by hand (and must switch it on).
    pub fn switched_off_by_hand(&self, node: &NodeSpec) -> bool {
        self.out
            .iter()
            .any(|(out, mode)| out.name == node.name && *mode == KillMode::Manual)
    }

    /// `node` was brought back at `at` by a command that started at `commanded_at`
    /// (its peers may not see it yet).
    pub fn mark_back(&mut self, node: &NodeSpec, commanded_at: DateTime<Utc>, at: DateTime<Utc>) {
        if let Some(outage) = self.outages.get_mut(&node.name) {
            outage.back_at = Some(at);
        }
        if let Some(fault) = self.open_fault(node) {
            fault.return_commanded_at = Some(commanded_at);
        }
    }

    /// `node`'s peers see it UP: it is no longer the run's to restore.
    pub fn mark_serving(&mut self, node: &NodeSpec) {
        self.out.retain(|(out, _)| out.name != node.name);
        if let Some(outage) = self.outages.get_mut(&node.name) {
            outage.seen_up_at = Some(Instant::now());
        }
        if let Some(fault) = self.open_fault(node) {
            fault.back_at = Some(Utc::now());
        }
    }

    /// The journal's record of `node`'s current outage.
    fn open_fault(&mut self, node: &NodeSpec) -> Option<&mut FaultRecord> {
        self.journal
            .faults
            .iter_mut()
            .rev()
            .find(|fault| fault.node == node.name && fault.back_at.is_none())
    }

    pub fn outage(&self, node: &NodeSpec) -> Option<Outage> {
        self.outages.get(&node.name).copied()
    }

    /// The nodes still out, last out first, no longer the run's to restore.
    pub fn take_nodes_out(&mut self) -> Vec<(NodeSpec, KillMode)> {
        self.out.drain(..).rev().collect()
    }

    // -------------------------------------------------------------- services

    /// What `demo services up` did for the run; the producer it relies on.
    pub fn services_started(&mut self, report: &UpReport, started_at: DateTime<Utc>) {
        self.started_services.extend(report.started.iter().copied());
        self.own_producer = report.started.contains(&Service::Producer);
        if self.own_producer {
            self.producer_started_at = Some(started_at);
        }
        self.ledger = report.ledger.clone();
        self.journal.ledger = self.ledger_path().map(|path| path.display().to_string());
    }

    /// A restart-service step started `service` again at `started_at`: the run's
    /// to stop at the end. A restarted producer appends to the run's ledger, so
    /// it is the run's own from then on (checked from its first start).
    pub fn service_restarted(&mut self, service: Service, started_at: DateTime<Utc>) {
        if !self.started_services.contains(&service) {
            self.started_services.push(service);
        }
        if service == Service::Producer {
            if !self.own_producer || self.ledger.as_ref() != Some(&self.plan.producer.ledger) {
                self.producer_started_at = Some(started_at);
            }
            self.own_producer = true;
            self.ledger = Some(self.plan.producer.ledger.clone());
            self.journal.ledger = self.ledger_path().map(|path| path.display().to_string());
        }
    }

    /// The run started `service` (so it stops it at the end).
    pub fn started_by_run(&self, service: Service) -> bool {
        self.started_services.contains(&service)
    }

    pub fn ledger_path(&self) -> Option<&Path> {
        self.ledger.as_deref()
    }

    /// The producer the run relies on is its own (started by it).
    pub fn own_producer(&self) -> bool {
        self.own_producer
    }

    pub fn producer_started_at(&self) -> Option<DateTime<Utc>> {
        self.producer_started_at
    }

    /// The run stopped its producer itself: not to be stopped again.
    pub fn producer_stopped(&mut self) {
        self.started_services
            .retain(|service| *service != Service::Producer);
    }

    /// The services to stop at the end: the run's, and whatever a cut-short
    /// start (Ctrl-C) had already spawned.
    pub fn services_started_by_run(&self) -> Vec<Service> {
        let mut services = self.started_services.clone();
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
        services
    }

    /// Did the run start any service (still to be stopped)?
    pub fn started_any_service(&self) -> bool {
        !self.services_started_by_run().is_empty()
    }

    /// [`Context::services_started_by_run`], forgotten: the caller stops them.
    pub fn take_services_started(&mut self) -> Vec<Service> {
        let services = self.services_started_by_run();
        self.started_services.clear();
        services
    }

    /// What the last verify step that ran found: (readings checked, of those
    /// missing or different).
    pub fn last_check(&self) -> Option<(u64, u64)> {
        let report = self
            .journal
            .steps
            .iter()
            .rev()
            .find(|step| step.kind == StepKind::Verify && step.status != StepStatus::Skipped)
            .map(|step| &step.details["report"])?;
        let count = |key: &str| report[key].as_u64();
        let lost = count("missing")? + count("mismatched")?;
        Some((count("expected")?, lost))
    }

    pub fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, Failed> {
        let ledger = self.ledger.as_ref().ok_or_else(|| {
            Failed::new("no producer ledger: the run has no start-services step before")
        })?;
        read_ledger(ledger).map_err(|err| Failed::new(err.to_string()))
    }

    // --------------------------------------------------------------- journal

    pub fn run_id(&self) -> &str {
        &self.dir.run_id
    }

    pub fn run_started_at(&self) -> DateTime<Utc> {
        self.journal.started_at
    }

    pub fn dashboard_url(&self) -> &str {
        &self.journal.dashboard_url
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.journal_path()
    }

    /// Where the journal, captures, ledger and report live.
    pub fn run_dir(&self) -> &Path {
        &self.dir.path
    }

    /// Saves `output` next to the journal and keeps it there; returns the file's name.
    pub fn keep_capture(
        &mut self,
        step: usize,
        from: &NodeSpec,
        command: &str,
        output: &str,
    ) -> Result<String, JournalError> {
        let file = self
            .dir
            .write_text(&format!("capture-{step:02}-{}.txt", from.name), output)?;
        self.journal.captures.push(Capture {
            step,
            from: from.name.clone(),
            command: command.to_owned(),
            file: file.clone(),
            output: output.to_owned(),
        });
        Ok(file)
    }

    pub fn record_step(&mut self, record: StepRecord) {
        self.journal.steps.push(record);
    }

    pub fn record_restoration(&mut self, restoration: Restoration) {
        self.journal.restored.push(restoration);
    }

    /// The verdict, once every step ran or was skipped.
    pub fn finish(&mut self, passed: bool) {
        self.journal.finished_at = Some(Utc::now());
        self.journal.verdict = if passed { "passed" } else { "failed" }.into();
    }

    pub fn save_journal(&mut self) {
        if let Some(recorder) = &self.recorder {
            self.journal.timeline = recorder.snapshot();
        }
        if let Err(err) = self.dir.save(&self.journal) {
            self.ui.warn(&err.to_string());
        }
    }
}
