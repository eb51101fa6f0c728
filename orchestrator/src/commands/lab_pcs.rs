//! `demo lab up --pcs [--bare]`, and `lab down` / `lab status` while the
//! virtual PCs are up: calls the `lab::pcs` domain module (and `provision`) and prints
//! their results.

use crate::hosts::Inventory;
use crate::lab::layout::Layout;
use crate::lab::pcs;
use crate::lab::{self, LabError};
use crate::remote::RemoteOptions;
use crate::ui::TermProgress;

/// `demo lab up --pcs [--bare]`: the bare PCs; without --bare, then provisions them over
/// SSH through the `.lab/hosts.toml` just written, exactly as real PCs are.
pub async fn up(layout: &Layout, bare: bool) -> anyhow::Result<bool> {
    let started = std::time::Instant::now();
    let ready = lab::up_pcs(layout).await?;
    println!(
        "Virtual PCs ready in {:.1}s (bare: sshd and the host's JDK, nothing installed).",
        started.elapsed().as_secs_f64()
    );
    for (name, address, pid) in &ready.pcs {
        println!(
            "  {name}  {address}  sshd :22  own {}  (init pid {pid})",
            ready.install_path.display()
        );
    }
    println!(
        "  PC{}  this machine at {} (bridge {}): Kafka and the services listen here",
        ready.pcs.len() + 1,
        ready.app_address,
        ready.bridge
    );
    println!(
        "  Inventory for --lab: {}\n  By hand: ssh -F none -i {} -o UserKnownHostsFile={} root@{}",
        ready.hosts_file.display(),
        ready.identity_file.display(),
        ready.known_hosts_file.display(),
        ready
            .pcs
            .first()
            .map(|pc| pc.1.to_string())
            .unwrap_or_default()
    );
    if bare {
        return Ok(true);
    }
    println!();
    let inventory = Inventory::load(&ready.hosts_file)?;
    let options = RemoteOptions::from_inventory(&inventory);
    super::provision::provision_and_print(&inventory, &options, false).await?;
    Ok(true)
}

/// `demo lab down [--purge]` while the virtual PCs are recorded as up.
pub async fn down(layout: &Layout, purge: bool) -> Result<bool, LabError> {
    // The app PC's Kafka runs on this machine: the PCs' namespaces do not take it along.
    if lab::stop_app_kafka(layout, &TermProgress::default()).await? > 0 {
        println!("Stopped the app PC's Kafka.");
    }
    let done = if purge {
        pcs::purge(&layout.lab).await?
    } else {
        pcs::down(&layout.lab).await?
    };
    if done.is_empty() {
        println!("Nothing of the virtual PCs was left.");
    }
    for killed in &done.killed {
        println!("Killed {killed}.");
    }
    for removed in &done.removed {
        println!("Removed {removed}.");
    }
    if !purge {
        println!(
            "Virtual PCs removed (keys and logs kept in {}).",
            layout.lab.join("pcs").display()
        );
    }
    Ok(true)
}

/// `demo lab status` while the virtual PCs are recorded as up.
pub async fn status(layout: &Layout) -> Result<bool, LabError> {
    let status = pcs::status(&layout.lab).await?;
    print!("{}", status.render());
    Ok(status.all_up())
}
