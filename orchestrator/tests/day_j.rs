//! The whole day-J scenario on the lab, in auto mode, once per fault mode.
//!
//! Each test runs the built `demo` binary exactly as the README does
//! (`demo --lab run scenario/day-j.toml --mode <m>`), asserts exit code 0,
//! then reads the run's journal to check that every step passed and that the
//! proofs are in it: a `nodetool status` capture showing a node DN, the
//! returned node serving what it missed, and a verification with nothing
//! missing. The lab must be up; the tests hold /tmp/lab-faults.lock while
//! they take nodes out, and bring the lab back whole even if they fail.
//! The scenario's `lab_pace` halves its observation windows on the lab, so
//! the three runs take a few minutes together.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_lab, root};
use contract::events::StepKind;
use demo::scenario::journal::{Journal, StepRecord, StepStatus};
use test_support::{FaultLock, Wait, assert_contains};

/// Upper bound of one run (cluster checks, restarts and waits included).
const RUN_TIMEOUT: Duration = Duration::from_secs(480);

/// Whatever happens, the run's process is ended (Ctrl-C first, so it restores
/// what it took out), its services are stopped and the lab is brought back whole.
struct Cleanup {
    child: Option<Child>,
    services_dir: PathBuf,
}

impl Drop for Cleanup {
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
        let _ = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--lab", "services", "down"])
            .env("DEMO_SERVICES_DIR", &self.services_dir)
            .current_dir(root())
            .output();
        let _ = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["lab", "up"])
            .current_dir(root())
            .output();
    }
}

/// Runs day-J with `--mode mode`; returns (exit success, stdout, journal).
fn run_day_j(mode: &str) -> (bool, String, Journal) {
    require_lab();
    let _lock = FaultLock::acquire();
    let services_dir = tempfile::tempdir().expect("temporary directory");
    let stdout_file = tempfile::NamedTempFile::new().expect("temporary file");
    let child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--lab", "run", "scenario/day-j.toml", "--mode", mode])
        .env("DEMO_SERVICES_DIR", services_dir.path())
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(stdout_file.reopen().expect("reopen"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the demo binary runs");
    let mut cleanup = Cleanup {
        child: Some(child),
        services_dir: services_dir.path().to_path_buf(),
    };
    let started = Instant::now();
    let child = cleanup.child.as_mut().expect("child");
    let status = Wait::new(format!("day-J with --mode {mode} to end"), RUN_TIMEOUT)
        .every(Duration::from_millis(500))
        .until(|| child.try_wait().expect("wait"));
    let mut stdout = String::new();
    stdout_file
        .reopen()
        .expect("reopen")
        .read_to_string(&mut stdout)
        .expect("stdout");
    println!("{stdout}");
    let journal_path = stdout
        .lines()
        .find_map(|line| line.strip_prefix("journal: "))
        .map(|path| root().join(Path::new(path.trim())))
        .unwrap_or_else(|| panic!("no journal path printed:\n{stdout}"));
    let journal: Journal =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("journal readable"))
            .expect("the journal reads back as a Journal");
    println!(
        "day-J --mode {mode}: {:?} in {:?}",
        status.code(),
        started.elapsed()
    );
    if !status.success() {
        print_service_warnings(services_dir.path());
    }
    (status.success(), stdout, journal)
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

fn assert_day_j_passed(mode: &str) {
    let (success, stdout, journal) = run_day_j(mode);
    assert!(success, "day-J --mode {mode} failed:\n{stdout}");
    assert_eq!(journal.verdict, "passed");
    assert_eq!(journal.mode_override.as_deref(), Some(mode));
    assert_eq!(journal.steps.len(), 12);
    for step in &journal.steps {
        assert_eq!(step.status, StepStatus::Ok, "step {step:?}");
    }
    // The audience saw PC2 down in nodetool status, from PC1.
    let captures = &journal.captures;
    assert!(
        captures
            .iter()
            .any(|capture| capture.from == "PC1" && capture.output.contains("DN  127.0.0.2")),
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
    // PC2 holds what it missed: read from PC2 alone at ONE for the sensors it
    // serves itself, and compared across replicas at ALL (no digest mismatch)
    // for those its snitch reads from peers.
    let catch_up = &step(&journal, StepKind::ExpectCatchUp)[0].details;
    let local = &catch_up["report"];
    let compared = &catch_up["agreement_at_all"];
    let mut found = 0;
    if !local.is_null() {
        assert_eq!(local["missing"], 0, "{catch_up}");
        assert_eq!(local["consistency"], "ONE");
        found += local["found"].as_u64().unwrap_or(0);
    }
    if !compared.is_null() {
        assert_eq!(compared["report"]["missing"], 0, "{catch_up}");
        assert_eq!(
            compared["mismatched_sensors"].as_array().map(Vec::len),
            Some(0)
        );
        found += compared["report"]["found"].as_u64().unwrap_or(0);
    }
    assert!(found > 0, "{catch_up}");
    assert_eq!(
        Some(found),
        catch_up["missed_while_out"].as_u64(),
        "{catch_up}"
    );
    // Nothing acknowledged was lost.
    let verify = &step(&journal, StepKind::Verify)[0].details["report"];
    assert!(
        verify["expected"].as_u64().is_some_and(|count| count > 0),
        "{verify}"
    );
    assert_eq!(verify["missing"], 0);
    assert_eq!(verify["mismatched"], 0);
    // The run left the cluster as it found it and stopped its services.
    let restored = &journal.restored;
    assert!(restored.iter().all(|action| action.ok), "{restored:?}");
    assert_contains(&stdout, "dashboard: http://127.0.0.1:8080/");
}

#[test]
fn day_j_passes_on_the_lab_with_a_graceful_stop() {
    assert_day_j_passed("stop");
}

#[test]
fn day_j_passes_on_the_lab_with_a_crash() {
    assert_day_j_passed("kill");
}

#[test]
fn day_j_passes_on_the_lab_with_a_frozen_node() {
    assert_day_j_passed("freeze");
}
