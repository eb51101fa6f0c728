//! Day-J over SSH on the virtual PCs, once per fault mode: `demo lab up --pcs` builds
//! and provisions PC1-PC3 (and the app PC's Kafka), then `demo --lab run
//! scenario/day-j.toml --mode <m>` runs exactly as on four real PCs (preflight first,
//! faults on the PC itself, `nodetool status` captured over SSH) for stop, kill, freeze
//! and isolate, each checked from its journal as on the loopback lab.
//!
//! Provisioning and the four runs took 427 s on this 2-core machine. Needs root (namespaces, a bridge): skipped, saying so, otherwise. Holds the virtual
//! PCs' lock; its checkout root is a temporary directory under target/ (its `.lab` gets
//! the PCs and the distributions from Maven's local cache; `web/` and `scenario/` are
//! the checkout's). `demo lab down` runs whatever happens.

mod day_j_support;
mod virtual_pcs;

use std::path::Path;
use std::time::{Duration, Instant};

use day_j_support::{Stage, assert_day_j_passed};
use test_support::FaultLock;
use virtual_pcs::{Checkout, running_as_root};

/// Building and provisioning the PCs (about 2-4 minutes on 2 cores).
const PROVISION_LIMIT: Duration = Duration::from_secs(600);

#[test]
fn day_j_passes_over_ssh_on_virtual_pcs_in_every_fault_mode() {
    if !running_as_root() {
        return;
    }
    let _lock = FaultLock::acquire_virtual_pcs();
    let checkout = Checkout::new("pcs-day-j-");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for shared in ["web", "scenario"] {
        std::os::unix::fs::symlink(repo.join(shared), checkout.root().join(shared))
            .expect("link the checkout's web/ and scenario/");
    }
    let started = Instant::now();
    checkout
        .demo(&["lab", "up", "--pcs"], PROVISION_LIMIT)
        .expect_success("lab up --pcs");
    eprintln!(
        "virtual PCs built and provisioned in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    let pcs = Stage {
        root: checkout.root().to_path_buf(),
        pc2_address: "10.77.0.2".into(),
        dashboard: "http://10.77.0.4:8080/".into(),
        restore: ["--lab", "start-node", "2"].map(String::from).to_vec(),
    };
    for mode in ["stop", "kill", "freeze", "isolate"] {
        assert_day_j_passed(&pcs, mode);
    }
}
