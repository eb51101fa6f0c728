//! Day-J run as the README does (`demo --lab run scenario/day-j.toml --mode
//! <m>`) and checked from its journal: every step passed, a `nodetool status`
//! capture shows PC2 DN, the chart went on, PC2 holds what it missed and the
//! checker found nothing missing. Shared by the loopback lab's test (day_j.rs)
//! and the virtual PCs' (reached over SSH).

// Each suite that includes this module uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use contract::events::{SeenState, StepKind};
use demo::scenario::journal::{Journal, StepRecord, StepStatus};
use demo::scenario::timeline;
use test_support::{Wait, assert_contains};

/// Where day-J runs: the lab directory's root, what PC2 is called in
/// `nodetool status`, where the dashboard is, and how the stage is brought
/// back whole after a run, whatever happened.
pub struct Stage {
    /// `DEMO_ROOT` of the run (its `.lab/hosts.toml` is the inventory).
    pub root: PathBuf,
    pub pc2_address: String,
    /// As printed for the audience, e.g. "http://127.0.0.1:8080/".
    pub dashboard: String,
    /// `demo` arguments that restore the stage, e.g. `lab up`.
    pub restore: Vec<String>,
}

impl Stage {
    /// The loopback lab, brought back whole by `demo lab up` after each run.
    pub fn loopback_lab(root: PathBuf) -> Stage {
        Stage {
            root,
            pc2_address: "127.0.0.2".into(),
            dashboard: "http://127.0.0.1:8080/".into(),
            restore: vec!["lab".into(), "up".into()],
        }
    }

    /// `demo` with `args`, run from the checkout on this stage's lab.
    fn demo(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
        command
            .args(args)
            .env("DEMO_ROOT", &self.root)
            .current_dir(env!("CARGO_MANIFEST_DIR").to_owned() + "/..");
        command
    }
}

/// Upper bound of one run (cluster checks, restarts and waits included).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// Whatever happens, the run's process is ended (Ctrl-C first, so it restores
/// what it took out), its services are stopped and the lab is brought back whole.
struct Cleanup<'a> {
    child: Option<Child>,
    services_dir: PathBuf,
    stage: &'a Stage,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGINT,
                );
            }
            let _ = Wait::new("the run to end on Ctrl-C", Duration::from_secs(240))
                .every(Duration::from_millis(200))
                .try_until(|| child.try_wait().ok().flatten());
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self
            .stage
            .demo(&["--lab", "services", "down"])
            .env("DEMO_SERVICES_DIR", &self.services_dir)
            .output();
        let restore: Vec<&str> = self.stage.restore.iter().map(String::as_str).collect();
        let _ = self.stage.demo(&restore).output();
    }
}

/// Runs day-J with `--mode mode`; returns (exit success, stdout, journal).
fn run_day_j(stage: &Stage, mode: &str) -> (bool, String, Journal) {
    run_scenario(stage, "scenario/day-j.toml", &["--mode", mode], &[])
}

/// A `demo --lab run` in progress: its process (ended and cleaned up on drop,
/// whatever happened), what it printed so far, and its standard input.
pub struct RunningScenario<'a> {
    cleanup: Cleanup<'a>,
    stdin: Option<ChildStdin>,
    stdout_file: tempfile::NamedTempFile,
    services_dir: tempfile::TempDir,
    label: String,
}

impl<'a> RunningScenario<'a> {
    /// Starts `demo --lab run <scenario> <args>` on `stage` with `env` added, its
    /// standard input a pipe this side holds (closed by [`RunningScenario::wait`]).
    pub fn start(stage: &'a Stage, scenario: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let services_dir = tempfile::tempdir().expect("temporary directory");
        let stdout_file = tempfile::NamedTempFile::new().expect("temporary file");
        let mut command_line = vec!["--lab", "run", scenario];
        command_line.extend_from_slice(args);
        let mut child = stage
            .demo(&command_line)
            .envs(env.iter().copied())
            .env("DEMO_SERVICES_DIR", services_dir.path())
            .stdin(Stdio::piped())
            .stdout(stdout_file.reopen().expect("reopen"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the demo binary runs");
        let stdin = child.stdin.take();
        Self {
            cleanup: Cleanup {
                child: Some(child),
                services_dir: services_dir.path().to_path_buf(),
                stage,
            },
            stdin,
            stdout_file,
            services_dir,
            label: format!("{scenario} {args:?}"),
        }
    }

    /// What the run printed so far.
    pub fn stdout(&self) -> String {
        let mut stdout = String::new();
        self.stdout_file
            .reopen()
            .expect("reopen")
            .read_to_string(&mut stdout)
            .expect("stdout");
        stdout
    }

    /// Is the run's process still there?
    pub fn running(&mut self) -> bool {
        let child = self.cleanup.child.as_mut().expect("child");
        matches!(child.try_wait(), Ok(None))
    }

    /// Presses Enter on the run's terminal.
    pub fn press_enter(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(b"\n").expect("Enter written");
        stdin.flush().expect("flushed");
    }

    /// Closes standard input (the end of a script's input), waits for the run to
    /// end (bounded) and returns (exit success, stdout, journal).
    pub fn wait(mut self) -> (bool, String, Journal) {
        self.stdin = None;
        let started = Instant::now();
        let child = self.cleanup.child.as_mut().expect("child");
        let status = Wait::new(format!("{} to end", self.label), RUN_TIMEOUT)
            .every(Duration::from_millis(500))
            .until(|| child.try_wait().expect("wait"));
        let stdout = self.stdout();
        println!("{stdout}");
        let journal = journal_printed(self.cleanup.stage, &stdout);
        println!(
            "{}: {:?} after {:?}",
            self.label,
            status.code(),
            started.elapsed()
        );
        if !status.success() {
            print_service_warnings(self.services_dir.path());
        }
        (status.success(), stdout, journal)
    }
}

/// Runs `demo --lab run <scenario> <args> --exit-after-verdict` on `stage` with `env`
/// added (bounded, always cleaned up); returns (exit success, stdout, journal).
pub fn run_scenario(
    stage: &Stage,
    scenario: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, Journal) {
    let mut args = args.to_vec();
    args.push("--exit-after-verdict");
    RunningScenario::start(stage, scenario, &args, env).wait()
}

/// The file a run's output names on its line `<label>: <path>` (journal, report).
fn printed_path(stage: &Stage, stdout: &str, label: &str) -> PathBuf {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{label}: ")))
        .map(|path| stage.root.join(Path::new(path.trim())))
        .unwrap_or_else(|| panic!("no {label} path printed:\n{stdout}"))
}

/// The journal of the run whose output is `stdout` (it prints where it is).
pub fn journal_printed(stage: &Stage, stdout: &str) -> Journal {
    let journal_path = printed_path(stage, stdout, "journal");
    serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("journal readable"))
        .expect("the journal reads back as a Journal")
}

/// What the services logged above INFO: after a failed run this says whether
/// ingest stalled or the API waited, before the temporary directory goes.
fn print_service_warnings(services_dir: &Path) {
    for service in ["producer", "ingest", "api"] {
        let log = services_dir.join(format!("{service}.log"));
        let Ok(text) = std::fs::read_to_string(&log) else {
            continue;
        };
        let notable: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .collect();
        println!(
            "--- {service}: {} warnings and errors (last 30)",
            notable.len()
        );
        for line in &notable[notable.len().saturating_sub(30)..] {
            println!("{line}");
        }
    }
}

fn step(journal: &Journal, kind: StepKind) -> Vec<&StepRecord> {
    journal
        .steps
        .iter()
        .filter(|step| step.kind == kind)
        .collect()
}

/// Runs day-J on `stage` with `--mode mode` and checks that it passed with
/// every proof in its journal.
pub fn assert_day_j_passed(stage: &Stage, mode: &str) {
    let (success, stdout, journal) = run_day_j(stage, mode);
    assert!(success, "day-J --mode {mode} failed:\n{stdout}");
    assert_eq!(journal.verdict, "passed");
    assert_eq!(journal.mode_override.as_deref(), Some(mode));
    assert_eq!(journal.steps.len(), 12);
    for step in &journal.steps {
        assert_eq!(step.status, StepStatus::Ok, "step {step:?}");
    }
    print_figures(&journal, mode);
    // The audience saw PC2 down in nodetool status, from PC1.
    let captures = &journal.captures;
    assert!(
        captures.iter().any(|capture| capture.from == "PC1"
            && capture
                .output
                .contains(&format!("DN  {}", stage.pc2_address))),
        "no capture shows PC2 DN: {captures:?}"
    );
    // The chart went on while PC2 was out: every poll fresh.
    let continuity = step(&journal, StepKind::ExpectContinuity);
    assert_eq!(continuity.len(), 2);
    for window in continuity {
        assert_eq!(window.details["breaches"], 0);
        assert!(
            window.details["polls"]
                .as_u64()
                .is_some_and(|polls| polls >= 10)
        );
    }
    // PC2 holds what it missed, read from PC2 alone at ONE: with the local
    // replica ranked first (no dynamic snitch), PC2 serves every sensor from
    // its own replica, so no sensor needs the comparison at ALL.
    let catch_up = &step(&journal, StepKind::ExpectCatchUp)[0].details;
    assert!(catch_up["agreement_at_all"].is_null(), "{catch_up}");
    let local = &catch_up["report"];
    assert_eq!(local["missing"], 0, "{catch_up}");
    assert_eq!(local["consistency"], "ONE");
    assert!(
        local["found"].as_u64().is_some_and(|found| found > 0),
        "{catch_up}"
    );
    assert_eq!(local["found"], catch_up["missed_while_out"], "{catch_up}");
    // Nothing acknowledged was lost.
    let details = &step(&journal, StepKind::Verify)[0].details;
    let verify = &details["report"];
    assert!(
        verify["expected"].as_u64().is_some_and(|count| count > 0),
        "{verify}"
    );
    assert_eq!(verify["missing"], 0);
    assert_eq!(verify["mismatched"], 0);
    // Kafka stayed up: every row stored is one the producer saw acknowledged.
    assert_eq!(verify["unexpected"], 0, "{verify}");
    // The run's one producer, stopped by verify, said what it sent.
    let attempted = &details["attempted"];
    assert_eq!(attempted["producer_runs"], 1, "{details}");
    assert_eq!(attempted["failed"], 0, "{details}");
    assert_eq!(attempted["acknowledged"], verify["expected"], "{details}");
    // The run left the cluster as it found it and stopped its services.
    let restored = &journal.restored;
    assert!(restored.iter().all(|action| action.ok), "{restored:?}");
    assert_contains(&stdout, format!("dashboard: {}", stage.dashboard));
    // A French scenario speaks French from its first result to its verdict.
    assert_contains(&stdout, "RÉUSSI : les 12 étapes");
    assert_contains(&stdout, "rien de perdu : les ");
    for english in ["PASSED", "nothing lost", " seen DOWN", " steps · dashboard"] {
        assert!(
            !stdout.contains(english),
            "{english:?} in a French run:\n{stdout}"
        );
    }
    assert_timeline_shows_the_outage(&journal, mode);
    assert_report_written(stage, &stdout);
}

/// The timeline recorded around the steps shows the fault as it happened: PC2's
/// outage in the faults, PC1 and PC3 no longer hearing PC2 while it was out, hints
/// kept for it on disk, the API answering all along, ingest writing.
fn assert_timeline_shows_the_outage(journal: &Journal, mode: &str) {
    let [fault] = &journal.faults[..] else {
        panic!("one fault expected: {:?}", journal.faults);
    };
    assert_eq!((fault.node.as_str(), fault.mode.as_str()), ("PC2", mode));
    let back = fault.back_at.expect("PC2 came back");
    let timeline = &journal.timeline;
    let effect = timeline::fault_effect(fault, &timeline.views)
        .unwrap_or_else(|| panic!("PC2 never seen out: {:?}", timeline.views));
    for peer in ["PC1", "PC3"] {
        assert!(
            timeline.views.iter().any(|view| view.observer == peer
                && view.at > fault.commanded_at
                && view.at < back
                && view
                    .sees
                    .as_ref()
                    .is_some_and(|sees| sees.get("PC2") == Some(&SeenState::Down))),
            "{peer} never saw PC2 DOWN"
        );
    }
    let hints_kept = timeline
        .hints
        .iter()
        .filter(|sample| sample.at > fault.commanded_at && sample.node != "PC2")
        .filter_map(|sample| sample.bytes.as_ref()?.get("PC2").copied())
        .max()
        .unwrap_or(0);
    let during = |at: chrono::DateTime<chrono::Utc>| at > fault.commanded_at && at < back;
    let probes: Vec<_> = timeline
        .api
        .iter()
        .filter(|sample| during(sample.at))
        .collect();
    let failed = probes.iter().filter(|sample| !sample.ok).count();
    let written: f64 = timeline
        .ingest
        .iter()
        .filter(|sample| during(sample.at))
        .filter_map(|sample| sample.rate_per_s)
        .sum();
    println!(
        "day-J --mode {mode} timeline: PC2 out {} ms after the command; most hints kept \
         for it {hints_kept} bytes; {} API probes during the outage, {failed} failed; \
         {} view samples, {} hint samples, {} ingest samples",
        (effect - fault.commanded_at).num_milliseconds(),
        probes.len(),
        timeline.views.len(),
        timeline.hints.len(),
        timeline.ingest.len()
    );
    assert!(hints_kept > 0, "no peer kept hints for PC2 on disk");
    assert!(probes.len() >= 40, "{} probes", probes.len());
    assert!(written > 0.0, "ingest wrote nothing during the outage");
}

/// The run printed where its report.html is, and the file is there; its text.
pub fn assert_report_written(stage: &Stage, stdout: &str) -> String {
    let report = printed_path(stage, stdout, "report");
    let html = std::fs::read_to_string(&report).expect("report.html readable");
    assert!(html.contains("<svg"), "{}", report.display());
    html
}

/// The figures a run is judged by: how long the peers took to see PC2 DOWN,
/// the stalest answer the API served while it was out, and how long the
/// returned PC took to serve again.
fn print_figures(journal: &Journal, mode: &str) {
    let detected = step(journal, StepKind::WaitNodeState)
        .first()
        .map(|seen| seen.details["after_ms"].clone());
    let worst: Vec<_> = step(journal, StepKind::ExpectContinuity)
        .iter()
        .map(|window| window.details["worst_staleness_ms"].clone())
        .collect();
    let back = step(journal, StepKind::StartNode)
        .first()
        .map(|start| start.elapsed_ms);
    println!(
        "day-J --mode {mode}: PC2 seen DOWN after {detected:?} ms; worst staleness per \
         window {worst:?} ms; start-node took {back:?} ms"
    );
}
