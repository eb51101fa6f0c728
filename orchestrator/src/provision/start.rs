//! The ordered start: the seeds first, then each other PC in the order of hosts.toml,
//! each only once the previous one is UN as seen by the nodes already running, so a PC
//! bootstraps into a settled ring (a PC added later joins the running cluster the same
//! way: shown joining, UJ, then UN). A node already running as planned is left alone.

use std::time::{Duration, Instant};

use super::ProvisionError;
use super::pc::{NodeAction, Pc};
use crate::cluster::{self, Expectation};
use crate::hosts::{Inventory, Verb};
use crate::progress::Progress;
use crate::remote::RemoteOptions;

/// JVM start, gossip and a bootstrap (streaming this PC's share) on a loaded PC.
const UN_TIMEOUT: Duration = Duration::from_secs(300);

/// Starts or restarts, in order, every PC whose plan says so.
pub async fn in_order(
    inventory: &Inventory,
    options: &RemoteOptions,
    pcs: &[Pc],
    progress: &dyn Progress,
) -> Result<(), ProvisionError> {
    let mut order: Vec<&Pc> = pcs.iter().filter(|pc| pc.node.seed).collect();
    order.extend(pcs.iter().filter(|pc| !pc.node.seed));
    // The nodes that run so far: the witnesses of the next one's state.
    let mut running = inventory.clone();
    running.nodes.clear();
    for pc in order {
        running.nodes.push(pc.node.clone());
        let name = &pc.plan.name;
        match pc.plan.action {
            NodeAction::UpToDate => {
                let pid = pc
                    .plan
                    .pid
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                if pc.plan.is_up_to_date() {
                    progress.step(&format!("{name}: up to date, running{pid}"));
                } else {
                    progress.step(&format!(
                        "{name}: running{pid}; its new control commands need no restart"
                    ));
                }
                continue;
            }
            NodeAction::Restart => {
                progress.waiting(&format!(
                    "{name}: stopping (drain) to restart with the new configuration"
                ));
                pc.remote.run_ok(pc.node.command(Verb::Stop)).await?;
            }
            NodeAction::Start => {}
        }
        let started = Instant::now();
        pc.remote.run_ok(pc.node.command(Verb::Start)).await?;
        let joining = running.nodes.len() > 1;
        if joining {
            // Shown joining: the moment a peer lists it UJ (streaming its share), then UN.
            progress.waiting(&format!("{name}: started, waiting until it joins the ring"));
            let seen = cluster::wait_for_state(
                &running,
                &pc.node,
                Expectation::InRing,
                options,
                UN_TIMEOUT,
                Some(progress),
            )
            .await?;
            progress.step(&format!(
                "{name}: in the ring after {:.0}s ({} sees it {})",
                started.elapsed().as_secs_f64(),
                seen.observer,
                seen.state
            ));
        }
        progress.waiting(&format!("{name}: started, waiting until it is UN"));
        cluster::wait_for_state(
            &running,
            &pc.node,
            Expectation::Up,
            options,
            UN_TIMEOUT.saturating_sub(started.elapsed()),
            Some(progress),
        )
        .await?;
        progress.step(&format!(
            "✓ {name}: {} and UN after {:.0}s",
            match pc.plan.action {
                NodeAction::Restart => "restarted",
                _ if joining => "joined",
                _ => "started",
            },
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}
