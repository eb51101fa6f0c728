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
//! the three runs take a few minutes together. A short run checks that the
//! dashboard outlives the verdict until the presenter presses Enter, and the
//! rehearsal runs with its contrast lane.

mod common;
mod day_j_support;

use std::time::Duration;

use common::{require_lab, root};
use day_j_support::{RunningScenario, Stage, assert_day_j_passed};
use test_support::{FaultLock, Wait, assert_contains};

/// The loopback lab, brought back whole by `demo lab up` after each run.
fn assert_passes_on_the_lab(mode: &str) {
    require_lab();
    let _lock = FaultLock::acquire();
    let lab = Stage::loopback_lab(root());
    assert_day_j_passed(&lab, mode);
}

#[test]
fn day_j_passes_on_the_lab_with_a_graceful_stop() {
    assert_passes_on_the_lab("stop");
}

#[test]
fn day_j_passes_on_the_lab_with_a_crash() {
    assert_passes_on_the_lab("kill");
}

#[test]
fn day_j_passes_on_the_lab_with_a_frozen_node() {
    assert_passes_on_the_lab("freeze");
}

/// Three steps, no fault: enough for a verdict with a verify step's figures.
const SHORT_RUN: &str = r#"
title = "The dashboard outlives the verdict"
[settings]
sensors = 2
rate = 2
lang = "en"
sensor_prefix = "held_"

[[steps]]
kind = "start-services"
say = "Services up."

[[steps]]
kind = "expect-data"
say = "Readings flow."

[[steps]]
kind = "verify"
say = "Nothing lost."
"#;

/// `GET <api>/<path>` as JSON, or the reason it failed (bounded).
fn get_json(runtime: &tokio::runtime::Runtime, url: &str) -> Result<serde_json::Value, String> {
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|err| err.to_string())?;
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|err| err.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url}: {}", response.status()));
        }
        response.json().await.map_err(|err| err.to_string())
    })
}

#[test]
fn the_dashboard_outlives_the_verdict_until_enter() {
    require_lab();
    let _lock = FaultLock::acquire();
    let lab = Stage::loopback_lab(root());
    let api = lab.dashboard.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scenario = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temporary scenario");
    std::fs::write(scenario.path(), SHORT_RUN).expect("scenario written");
    let scenario_path = scenario.path().display().to_string();
    let mut run = RunningScenario::start(&lab, &scenario_path, &["--no-preflight"], &[]);

    Wait::new(
        "the verdict, then the dashboard held",
        Duration::from_secs(300),
    )
    .every(Duration::from_millis(500))
    .until(|| run.stdout().contains("still live").then_some(()));
    let journal = day_j_support::journal_printed(&lab, &run.stdout());
    assert_eq!(journal.verdict, "passed", "{}", run.stdout());

    // The run waits; the page still answers, and tells the verdict.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        run.running(),
        "the run ended before Enter:\n{}",
        run.stdout()
    );
    let events = get_json(&runtime, &format!("{api}/events")).expect("the API still answers");
    let verdict = events
        .as_array()
        .and_then(|events| {
            events.iter().find(|event| {
                event["kind"] == "verdict" && event["run_id"] == journal.run_id.as_str()
            })
        })
        .unwrap_or_else(|| panic!("no verdict event for {}: {events}", journal.run_id))
        .clone();
    println!("verdict event: {verdict}");
    assert_eq!(verdict["status"], "ok");
    assert_eq!(verdict["tone"], "recovery");
    assert_eq!(verdict["step"], 0);
    let figures = &verdict["figures"]["verdict"];
    assert_eq!(figures["steps"], 3);
    assert_eq!(figures["failed_step"], serde_json::Value::Null);
    assert_eq!(figures["lost"], 0);
    assert!(
        figures["readings"].as_u64().is_some_and(|n| n > 0),
        "{verdict}"
    );
    assert_eq!(verdict["figures"]["lang"], serde_json::Value::Null);
    let sensors = get_json(&runtime, &format!("{api}/sensors")).expect("sensors");
    assert!(
        sensors.to_string().contains("held_01"),
        "the run's sensors are still served: {sensors}"
    );

    // Enter ends the run: its services stop.
    run.press_enter();
    let (success, stdout, journal) = run.wait();
    assert!(success, "{stdout}");
    assert_contains(&stdout, "stopped the services this run started");
    assert!(
        journal
            .restored
            .iter()
            .any(|action| action.action.starts_with("stop ") && action.action.contains("api")),
        "{:?}",
        journal.restored
    );
    let gone = get_json(&runtime, &format!("{api}/health"));
    assert!(
        gone.is_err(),
        "the API still answers after the run ended: {gone:?}"
    );
}

/// scenario/rehearsal.toml, contrast lane on, in French (`--lang fr` over the
/// file's English): it passes, the conductor named, before PC2 went out, the
/// sensors whose only copy PC2 holds, and stopped the contrast ingest with the rest.
#[test]
fn the_rehearsal_passes_with_its_contrast_lane() {
    require_lab();
    let _lock = FaultLock::acquire();
    let lab = Stage::loopback_lab(root());
    let (success, stdout, journal) = day_j_support::run_scenario(
        &lab,
        "scenario/rehearsal.toml",
        &["--no-preflight", "--lang", "fr"],
        &[],
    );
    assert!(success, "{stdout}");
    assert_eq!(journal.verdict, "passed");
    assert_contains(&stdout, "RÉUSSI : les 8 étapes");
    assert!(!stdout.contains("PASSED"), "{stdout}");
    let kill = journal
        .steps
        .iter()
        .find(|step| step.kind == contract::events::StepKind::KillNode)
        .expect("a kill-node step");
    let single_copies = kill.details["single_copies"]
        .as_array()
        .unwrap_or_else(|| panic!("no single copies in {}", kill.details));
    println!("sensors with their only copy on PC2: {single_copies:?}");
    // Said before the fault, in the run's language: the sensors and the PC.
    let held: Vec<&str> = single_copies.iter().filter_map(|id| id.as_str()).collect();
    // The lab's tokens are fixed (initial_token): which sensors PC2 holds is known.
    assert!(
        !held.is_empty(),
        "no sensor of the rehearsal keeps its only copy on PC2"
    );
    let said = stdout.lines().any(|line| {
        line.contains("PC2")
            && line.contains("Sans réplication")
            && held.iter().all(|id| line.contains(id))
    });
    assert!(said, "no line names {held:?} on PC2:\n{stdout}");
    let start = journal
        .steps
        .iter()
        .find(|step| step.kind == contract::events::StepKind::StartServices)
        .expect("a start-services step");
    assert!(
        start.details["started"]
            .as_array()
            .is_some_and(|started| started.iter().any(|service| service == "ingest-rf1")),
        "{}",
        start.details
    );
    assert!(
        journal
            .restored
            .iter()
            .any(|action| action.action.contains("ingest-rf1")),
        "{:?}",
        journal.restored
    );
}
