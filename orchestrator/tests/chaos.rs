//! The short chaos scenario on the lab, with its fixed seed: one random single-node
//! fault, two nodes out at once, a Kafka broker restart, an ingest crash and an API
//! restart, then the checker, with the API allowed to fall back to ONE. The run must pass with nothing lost, print and journal
//! its seed, and leave a report.html that holds its plots with every fault window
//! shaded and fetches nothing: Chromium opens it with every host unresolvable and
//! renders it. The same seed draws the same faults (the draw is also unit-tested in
//! scenario::chaos). Holds the lab's fault lock; the lab is brought back whole after.

mod common;
mod day_j_support;

use std::process::Command;
use std::time::Duration;

use common::{require_lab, root};
use contract::events::StepKind;
use day_j_support::{Stage, assert_report_written, run_scenario};
use demo::scenario::journal::StepStatus;
use test_support::{FaultLock, assert_contains, run_bounded};

#[test]
fn the_short_chaos_run_loses_nothing_and_leaves_an_offline_report() {
    require_lab();
    let _lock = FaultLock::acquire();
    let lab = Stage::loopback_lab(root());
    // The API may answer at ONE when QUORUM is out of reach (and says so in a header).
    let (success, stdout, journal) = run_scenario(
        &lab,
        "scenario/chaos-short.toml",
        &[],
        &[("API_FALLBACK_TO_ONE", "true")],
    );
    assert!(success, "the chaos run failed:\n{stdout}");
    assert_eq!(journal.verdict, "passed");
    assert_contains(&stdout, "chaos: seed 7 (replay with --seed 7): step 4 PC");
    assert_eq!(journal.seed, Some(7));
    for step in &journal.steps {
        assert_eq!(step.status, StepStatus::Ok, "step {step:?}");
    }
    // One random fault, then two PCs out at once: three outages, all back.
    assert_eq!(journal.faults.len(), 3, "{:?}", journal.faults);
    assert!(journal.faults.iter().all(|fault| fault.back_at.is_some()));
    let [_, first, second] = &journal.faults[..] else {
        unreachable!()
    };
    assert_ne!(first.node, second.node, "two different PCs out at once");
    let kinds: Vec<StepKind> = journal.steps.iter().map(|step| step.kind).collect();
    for kind in [
        StepKind::RestartKafka,
        StepKind::KillService,
        StepKind::RestartService,
    ] {
        assert!(kinds.contains(&kind), "{kind} ran");
    }
    let verify = &journal
        .steps
        .iter()
        .find(|step| step.kind == StepKind::Verify)
        .expect("a verify step")
        .details["report"];
    assert!(
        verify["expected"].as_u64().is_some_and(|n| n > 0),
        "{verify}"
    );
    assert_eq!(verify["missing"], 0, "{verify}");
    assert_eq!(verify["mismatched"], 0, "{verify}");
    // While two PCs were out the API went on answering, at ONE, and said so.
    let timeline = &journal.timeline;
    let both_out = |at| {
        at > second.command_done_at.unwrap_or(second.commanded_at)
            && second.return_commanded_at.is_some_and(|back| at < back)
    };
    let at_one = timeline
        .api
        .iter()
        .filter(|sample| both_out(sample.at))
        .filter(|sample| sample.ok && sample.consistency.as_deref() == Some("ONE"))
        .count();
    assert!(at_one > 0, "no answer at ONE while two PCs were out");
    println!(
        "chaos: faults {:?}; {at_one} API answers at ONE while two PCs were out; \
         {} API probes, {} failed in all",
        journal
            .faults
            .iter()
            .map(|fault| format!("{} {}", fault.node, fault.mode))
            .collect::<Vec<_>>(),
        timeline.api.len(),
        timeline.api.iter().filter(|sample| !sample.ok).count()
    );

    // The evidence: plots, every outage shaded on each of them, nothing fetched.
    let html = assert_report_written(&lab, &stdout);
    assert_eq!(html.matches("<svg class=\"plot\"").count(), 4);
    assert_eq!(
        html.matches("<rect class=\"fault\"").count(),
        4 * journal.faults.len(),
        "each outage shaded on each plot"
    );
    for outside in ["http://", "https://", "<script", "<link", "url("] {
        assert!(!html.contains(outside), "the report refers to {outside}");
    }
    let report = stdout
        .lines()
        .find_map(|line| line.strip_prefix("report: "))
        .map(|path| lab.root.join(path.trim()))
        .expect("report path");
    let screenshot = tempfile::NamedTempFile::with_suffix(".png").expect("temporary file");
    let shot = run_bounded(
        Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                // No name resolves: a report that needed the network would not render whole.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--window-size=1200,2400",
            ])
            .arg(format!("--screenshot={}", screenshot.path().display()))
            .arg(format!("file://{}", report.display())),
        Duration::from_secs(90),
    );
    shot.expect_success("chromium (Debian: apt-get install chromium) rendering the report");
    let png = std::fs::metadata(screenshot.path())
        .expect("a screenshot")
        .len();
    println!("chaos: report rendered offline, screenshot {png} bytes");
    assert!(
        png > 50_000,
        "a rendered page, not a blank one ({png} bytes)"
    );
}
