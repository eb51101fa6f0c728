//! `demo lab up --pcs [--bare]`, and `lab down` / `lab status` while the
//! virtual PCs are up: calls the `lab::pcs` domain module and prints its results.

use crate::lab::layout::Layout;
use crate::lab::pcs::{self, PcsError};
use crate::lab::{self, LabError};

/// `demo lab up --pcs [--bare]`: the bare PCs; without --bare, says that provisioning
/// is not available yet and fails, after building them.
pub async fn up(layout: &Layout, bare: bool) -> Result<bool, LabError> {
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
        Ok(true)
    } else {
        Err(PcsError::ProvisioningNotAvailable {
            hosts_file: ready.hosts_file,
        }
        .into())
    }
}

/// `demo lab down [--purge]` while the virtual PCs are recorded as up.
pub async fn down(layout: &Layout, purge: bool) -> Result<bool, LabError> {
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
