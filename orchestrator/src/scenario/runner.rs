//! The run loop: narrate, (in presenter mode) wait for Enter, execute, time,
//! record; stop at the first failure; then leave the cluster as it was found.
//!
//! Whatever happens (a failed step, Ctrl-C), the nodes this run took out are
//! brought back before the verdict, unless `--keep` asks to leave a failed run
//! as it is for inspection. The services the run started outlive the verdict:
//! the audience still has the dashboard, which shows it, until the presenter
//! ends the run (Enter, Ctrl-C, the end of standard input, or
//! `--exit-after-verdict`); then they are stopped. What each step does is in
//! `step/<kind>.rs`; the state they share is the run's `Context`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use contract::events::{EventKind, EventStatus, Figures, ScenarioEvent, VerdictFigures};
use serde_json::json;
use tokio::sync::watch;

use super::context::{Context, ContextParts};
use super::events::EventLog;
use super::fleet::Fleet;
use super::journal::{Journal, Restoration, RunDir, StepRecord, StepStatus};
use super::model::{Scenario, Step};
use super::probe::ApiProbe;
use super::step::{Failed, KillMode};
use super::ui::{Language, Ui, step_label};
use crate::app::{self, ProducerSettings, ServicesPlan};
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
    /// The seed the scenario's random choices were drawn from, if it had any.
    pub seed: Option<u64>,
    /// Stop the services right after the verdict instead of waiting for the presenter.
    pub exit_after_verdict: bool,
    /// `--contrast`: the contrast lane on, whatever the scenario says.
    pub contrast: bool,
    /// `--lang`: the conductor's words in this language instead of the file's.
    pub lang: Option<Language>,
}

/// A run: the scenario, the state its steps share, and where it reports.
pub struct Run {
    scenario: Scenario,
    context: Context,
    events: Option<EventLog>,
    keep: bool,
    exit_after_verdict: bool,
    /// Becomes true on Ctrl-C.
    interrupt: watch::Receiver<bool>,
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
        plan.contrast = options.contrast || scenario.settings.contrast;
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
            lang: options.lang.unwrap_or(scenario.settings.lang),
            seed: options.seed,
            max_duration_ms: scenario
                .settings
                .max_duration
                .map(|bound| u64::try_from(bound.as_millis()).unwrap_or(u64::MAX)),
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
            faults: Vec::new(),
            timeline: Default::default(),
        };
        let contact_points = plan.contact_points.clone();
        let keyspace = fleet.inventory.cluster.keyspace.clone();
        let mut context = Context::new(ContextParts {
            fleet,
            ui: Ui::new(options.presenter),
            lang: options.lang.unwrap_or(scenario.settings.lang),
            pace: options.pace,
            mode_override: options.mode_override,
            dir,
            journal,
            plan,
            probe,
        });
        let events = match EventLog::connect(contact_points, &keyspace).await {
            Ok(events) => Some(events),
            Err(err) => {
                context.warn(format!(
                    "scenario events will not reach the dashboard: {err}"
                ));
                None
            }
        };
        Ok(Self {
            scenario,
            context,
            events,
            keep: options.keep,
            exit_after_verdict: options.exit_after_verdict,
            interrupt: watch_ctrl_c(),
        })
    }

    /// Runs every step, restores, records the verdict; true when every step passed.
    pub async fn conduct(mut self) -> bool {
        let total = self.scenario.steps.len();
        let ui = self.context.ui();
        ui.title(
            &self.scenario.title,
            &self.context.say().run_heading(
                total,
                self.context.dashboard_url(),
                &self.context.journal_path().display().to_string(),
            ),
        );
        if let Some(description) = &self.scenario.description {
            ui.info(description);
        }
        self.context.start_recording();
        self.context.save_journal();
        let started = Instant::now();
        let steps = self.scenario.steps.clone();
        let mut failure: Option<(usize, String)> = None;
        for step in &steps {
            if failure.is_none() && *self.interrupt.borrow() {
                failure = Some((step.number, self.context.say().interrupted()));
            }
            if let Some(bound) = self.scenario.settings.max_duration
                && failure.is_none()
                && started.elapsed() > bound
            {
                failure = Some((step.number, self.context.say().out_of_time(bound)));
            }
            if failure.is_some() {
                let label = self.label(step);
                let not_run = self.context.say().not_run();
                self.context.record_step(skipped(step, &label, not_run));
                continue;
            }
            if let Err(message) = self.run_step(step, total).await {
                failure = Some((step.number, message));
            }
            self.context.save_journal();
        }
        let passed = failure.is_none();
        let restoring = passed || !self.keep;
        if restoring {
            self.restore_nodes().await;
        } else {
            let kept = self.context.say().kept_as_found();
            self.context.warn(kept);
        }
        self.context.stop_recording();
        self.context.finish(passed);
        self.context.save_journal();
        let say = self.context.say();
        let verdict = match &failure {
            None => say.passed(total, &self.scenario.title, started.elapsed()),
            Some((number, message)) => {
                let kind = steps
                    .get(number - 1)
                    .map_or("?", |step| step.action.kind().name());
                say.failed(*number, total, kind, message)
            }
        };
        ui.verdict(passed, &verdict);
        self.verdict_event(&steps, failure.as_ref().map(|(number, _)| *number))
            .await;
        println!("journal: {}", self.context.journal_path().display());
        match crate::report::write(self.context.run_dir()) {
            Ok(report) => println!("report: {}", report.display()),
            Err(err) => ui.warn(&format!("no report: {err}")),
        }
        if restoring {
            self.hold_dashboard().await;
            if self.stop_services().await {
                // The journal now says the services were stopped: so should the report.
                if let Err(err) = crate::report::write(self.context.run_dir()) {
                    ui.warn(&format!("report not updated: {err}"));
                }
            }
        } else {
            println!("dashboard: {}", self.context.dashboard_url());
        }
        passed
    }

    /// Keeps the services this run started (and so the dashboard, which now
    /// shows the verdict) until the presenter ends the run. Returns at once
    /// with `--exit-after-verdict`, after a Ctrl-C, or when the run started
    /// nothing (services already running stay as they were).
    async fn hold_dashboard(&mut self) {
        let url = self.context.dashboard_url().to_owned();
        let ui = self.context.ui();
        let say = self.context.say();
        if !self.context.started_any_service() {
            println!("dashboard: {url} ({})", say.dashboard_not_ours());
            return;
        }
        if self.exit_after_verdict || *self.interrupt.borrow() {
            println!("dashboard: {url} ({})", say.dashboard_closing());
            return;
        }
        println!("dashboard: {url} ({})", say.dashboard_kept());
        let prompt = say.enter_to_end();
        interruptible(self.interrupt.clone(), ui.wait_for_end(prompt)).await;
        println!();
    }

    /// The verdict, for the dashboard: passed or failed (and where), with the
    /// figures of the last verify step if one ran.
    async fn verdict_event(&mut self, steps: &[Step], failed_step: Option<usize>) {
        let Some(events) = &self.events else {
            return;
        };
        let to_u32 = |number: usize| u32::try_from(number).unwrap_or(u32::MAX);
        let checked = self.context.last_check();
        let status = if failed_step.is_none() {
            EventStatus::Ok
        } else {
            EventStatus::Failed
        };
        let event = ScenarioEvent {
            at: Utc::now(),
            run_id: self.context.run_id().to_owned(),
            step: 0,
            kind: EventKind::Verdict,
            node: None,
            figures: Figures {
                verdict: Some(VerdictFigures {
                    steps: to_u32(steps.len()),
                    failed_step: failed_step.map(to_u32),
                    readings: checked.map(|(readings, _)| readings),
                    lost: checked.map(|(_, lost)| lost),
                }),
                // No author's words: the page words the verdict itself.
                lang: None,
                ..Figures::default()
            },
            label: None,
            status,
            narration: String::new(),
            tone: ScenarioEvent::tone_of(EventKind::Verdict, status),
        };
        if let Err(err) = events.record(&event).await {
            self.context
                .note(format!("verdict event not written: {err}"));
        }
    }

    /// One step, narrated, timed, recorded and sent to the dashboard.
    async fn run_step(&mut self, step: &Step, total: usize) -> Result<(), String> {
        let label = self.label(step);
        let kind = step.action.kind();
        let ui = self.context.ui();
        ui.narrate(step.number, total, kind, &label, &step.say);
        let entered = interruptible(
            self.interrupt.clone(),
            ui.wait_for_enter(self.context.say().enter_to_continue()),
        )
        .await;
        let started_at = Utc::now();
        self.event(step, EventStatus::Running, started_at).await;
        let clock = Instant::now();
        let result = match entered {
            Some(()) => interruptible(
                self.interrupt.clone(),
                step.action.run(&mut self.context, step.number),
            )
            .await
            .unwrap_or_else(|| Err(Failed::new(self.context.say().interrupted()))),
            None => Err(Failed::new(self.context.say().interrupted())),
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
        ui.outcome(ok, elapsed, &summary);
        let event_status = if ok {
            EventStatus::Ok
        } else {
            EventStatus::Failed
        };
        self.event(step, event_status, Utc::now()).await;
        self.context.record_step(StepRecord {
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

    /// The step's label, or the terminal's words for its facts.
    fn label(&self, step: &Step) -> String {
        if let Some(label) = &step.label {
            return label.clone();
        }
        let (node, figures) = step.action.facts(&self.context);
        step_label(
            self.context.lang(),
            step.action.kind(),
            node.as_deref(),
            &figures,
        )
    }

    async fn event(&mut self, step: &Step, status: EventStatus, at: DateTime<Utc>) {
        let Some(events) = &self.events else {
            return;
        };
        let kind = step.action.kind();
        let (node, mut figures) = step.action.facts(&self.context);
        // The author's words (label, narration) are in the file's language.
        figures.lang = Some(self.scenario.settings.lang);
        let event = ScenarioEvent {
            at,
            run_id: self.context.run_id().to_owned(),
            step: u32::try_from(step.number).unwrap_or(u32::MAX),
            kind: kind.into(),
            node,
            figures,
            label: step.label.clone(),
            status,
            narration: step.say.clone(),
            tone: ScenarioEvent::tone_of(kind.into(), status),
        };
        if let Err(err) = events.record(&event).await {
            self.context
                .note(format!("step {}: event not written: {err}", step.number));
        }
    }

    /// Brings back every node the run took out.
    async fn restore_nodes(&mut self) {
        let ui = self.context.ui();
        let say = self.context.say();
        for (node, mode) in self.context.take_nodes_out() {
            if mode == KillMode::Manual {
                ui.warn(&say.switch_back_on_by_hand(&node.name));
            }
            ui.info(&say.restoring(&node.name));
            let progress = ui.progress(&say.bringing_back(&node.name), RESTORE_TIMEOUT);
            let fleet = self.context.fleet();
            let commanded_at = Utc::now();
            let result = match fleet.bring_back(&node).await {
                Ok(()) => fleet.wait_serving(&node, RESTORE_TIMEOUT).await,
                Err(err) => Err(err),
            };
            drop(progress);
            if result.is_ok() {
                self.context.mark_back(&node, commanded_at, Utc::now());
                self.context.mark_serving(&node);
            }
            match &result {
                Ok(()) => ui.info(&say.restored(&node.name)),
                Err(err) => ui.warn(&say.not_restored(&node.name, err)),
            }
            self.context.record_restoration(Restoration {
                node: node.name.clone(),
                action: "start".into(),
                ok: result.is_ok(),
                error: result.err(),
            });
        }
        self.context.save_journal();
    }

    /// Stops the services the run started; true when it stopped any.
    async fn stop_services(&mut self) -> bool {
        let ui = self.context.ui();
        let services = self.context.take_services_started();
        if services.is_empty() {
            return false;
        }
        match app::down(&self.context.plan().state, &services).await {
            Ok(stopped) => {
                let names: Vec<&str> = stopped.iter().map(|(service, _)| service.name()).collect();
                ui.info(&self.context.say().services_stopped(&names.join(", ")));
                let app_pc = self.context.fleet().inventory.app.name.clone();
                self.context.record_restoration(Restoration {
                    node: app_pc,
                    action: format!("stop {}", names.join(", ")),
                    ok: true,
                    error: None,
                });
            }
            Err(err) => {
                self.context
                    .warn(format!("could not stop the services: {err}"));
            }
        }
        self.context.save_journal();
        true
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

fn skipped(step: &Step, label: &str, not_run: String) -> StepRecord {
    StepRecord {
        number: step.number,
        kind: step.action.kind(),
        label: label.to_owned(),
        say: step.say.clone(),
        status: StepStatus::Skipped,
        started_at: None,
        elapsed_ms: 0,
        summary: not_run,
        details: json!(null),
        error: None,
    }
}
