//! `demo kill-node N --mode M` and `demo start-node N`: a fault and its undoing,
//! each followed by a bounded watch of what the peers see.

use crate::cli::Target;
use crate::cluster::{self, Expectation};
use crate::hosts::Verb;
use crate::nemesis::{self, DETECTION_TIMEOUT, FaultMode, FaultReport, RECOVERY_TIMEOUT};
use crate::progress::Progress;
use crate::ui::{self, TermProgress};

/// What a fault or its undoing ran, how long it took and what it printed.
fn print_ran(report: &FaultReport) {
    println!(
        "✓ ran `{}` in {:.1} s",
        report.commands.join("; "),
        report.took.as_secs_f64()
    );
    for line in report.output.lines() {
        println!("    {line}");
    }
}

/// Runs the fault, then watches (bounded) for a peer to see the node down.
/// `Ok(false)` when no peer noticed in time.
pub async fn kill(target: &Target, key: &str, mode: FaultMode) -> anyhow::Result<bool> {
    let (inventory, options) = super::reach(target)?;
    let node = inventory.node(key)?;
    nemesis::check_mode(node, mode)?;
    let mode_name = match mode {
        FaultMode::Stop => "stop (drain, then graceful stop)",
        FaultMode::Kill => "kill (SIGKILL: a crash)",
        FaultMode::Freeze => "freeze (SIGSTOP: a hung PC)",
        FaultMode::Isolate => "isolate (network cable pulled: Cassandra traffic dropped, SSH kept)",
    };
    println!("{}: {mode_name}", node.label());
    let progress = ui::spinner(format!(
        "running `{}`",
        node.command(nemesis::verb_for(mode))
    ));
    let report = nemesis::kill(&inventory, node, mode, &options).await;
    progress.finish_and_clear();
    print_ran(&report?);
    if inventory.nodes.len() < 2 {
        return Ok(true);
    }
    let progress = TermProgress::default();
    progress.waiting(&format!("waiting for a peer to see {} down", node.name));
    let seen = cluster::wait_for_state(
        &inventory,
        node,
        Expectation::Down,
        &options,
        DETECTION_TIMEOUT,
        Some(&progress),
    )
    .await;
    drop(progress);
    match seen {
        Ok(seen) => {
            println!(
                "✓ {} sees {} {} after {:.1} s; undo with `demo start-node {}`",
                seen.observer,
                node.name,
                seen.state,
                seen.after.as_secs_f64(),
                node.number
            );
            Ok(true)
        }
        Err(err) => {
            println!("✗ the fault ran, but {err}");
            Ok(false)
        }
    }
}

/// Heal, thaw, start, then wait (bounded) until the node is UN for a peer and
/// answers CQL. `Ok(false)` when it does not come back in time.
pub async fn start(target: &Target, key: &str) -> anyhow::Result<bool> {
    let (inventory, options) = super::reach(target)?;
    let node = inventory.node(key)?;
    println!("{}: heal, thaw, then start", node.label());
    let progress = ui::spinner(format!("running `{}`", node.command(Verb::Start)));
    let report = nemesis::start(&inventory, node, &options).await;
    progress.finish_and_clear();
    print_ran(&report?);
    let progress = TermProgress::default();
    progress.waiting(&format!(
        "waiting for {} to be UN and answer CQL (at most {} s)",
        node.name,
        RECOVERY_TIMEOUT.as_secs()
    ));
    let serving = nemesis::wait_until_serving(
        &inventory,
        node,
        &options,
        RECOVERY_TIMEOUT,
        Some(&progress),
    )
    .await;
    drop(progress);
    match serving {
        Ok(took) => {
            println!(
                "✓ {} is UN for its peers and answers CQL after {:.1} s",
                node.label(),
                took.as_secs_f64()
            );
            Ok(true)
        }
        Err(err) => {
            println!("✗ {err}");
            Ok(false)
        }
    }
}
