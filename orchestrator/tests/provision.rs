//! `demo provision` for real, on the virtual PCs: from bare PCs a dry run touches
//! nothing; provisioning forms the cluster (check-cluster passes, schema applied) and
//! starts the app PC's Kafka; a second run changes no file, restarts no process and says
//! so; a dry run on provisioned PCs changes nothing either. Then `lab down` and `lab up
//! --pcs` (without --bare): the PCs are rebuilt and provisioned in one command.
//!
//! Needs root (namespaces, a bridge): skipped, saying so, otherwise. Holds the virtual
//! PCs' lock (tests/pcs.rs builds them too); its checkout root is a temporary directory
//! under target/, whose `.lab` receives the distributions (from Maven's local cache);
//! a guard runs `demo lab down` whatever happens. Prints the figures: bare PCs to a
//! formed cluster with schema, and a no-op provision.

mod virtual_pcs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use test_support::{FaultLock, Ran, assert_contains};
use virtual_pcs::{Checkout, running_as_root};

/// Bare PCs to a formed cluster: the target is 4 minutes on a 2-core machine.
const PROVISION_LIMIT: Duration = Duration::from_secs(600);
const SHORT_LIMIT: Duration = Duration::from_secs(180);

impl Checkout {
    fn demo_ok(&self, args: &[&str], limit: Duration) -> Ran {
        let ran = self.demo(args, limit);
        assert_eq!(
            ran.status,
            Some(0),
            "demo {args:?}:\n{}\n{}",
            ran.stdout,
            ran.stderr
        );
        ran
    }

    /// Each PC's own install directory, as the host sees it.
    fn pc_root(&self, n: usize) -> PathBuf {
        self.lab().join(format!("pcs/pc{n}/root"))
    }

    /// Every file provisioning manages (the distribution, conf/, bin/) on the three PCs
    /// and the app PC's Kafka files: content and modification time.
    fn managed_files(&self) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
        let mut files = BTreeMap::new();
        let mut roots: Vec<PathBuf> = (1..=3)
            .flat_map(|n| ["cassandra", "conf", "bin"].map(|dir| self.pc_root(n).join(dir)))
            .collect();
        roots.push(self.lab().join("app-kafka/bin"));
        for file in ["server.properties", "log4j2.properties"] {
            collect(&self.lab().join("app-kafka").join(file), &mut files);
        }
        for root in roots {
            collect(&root, &mut files);
        }
        files
    }

    /// Every file under the PCs' install directories, with its mtime (the dry-run check).
    fn all_pc_files(&self) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
        let mut files = BTreeMap::new();
        for n in 1..=3 {
            collect(&self.pc_root(n), &mut files);
        }
        collect(&self.lab().join("app-kafka"), &mut files);
        files
    }

    /// The pids of the three nodes (in their PCs' PID namespaces) and of the app PC's
    /// Kafka (on this machine), as their pid files say.
    fn pids(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = (1..=3)
            .map(|n| self.pc_root(n).join("cassandra.pid"))
            .collect();
        files.push(self.lab().join("app-kafka/kafka.pid"));
        files
            .iter()
            .map(|file| {
                std::fs::read_to_string(file)
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            })
            .collect()
    }
}

fn collect(path: &Path, files: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("read a PC's directory")
            .flatten()
            .map(|entry| entry.path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, files);
        }
    } else {
        let content = std::fs::read(path).unwrap_or_default();
        let mtime = meta.modified().expect("mtime");
        files.insert(path.to_path_buf(), (content, mtime));
    }
}

/// A process that runs: a zombie (dead, not yet reaped by its new parent) does not.
fn pid_alive(pid: &str) -> bool {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat"));
    !pid.is_empty()
        && stat.is_ok_and(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
}

#[test]
fn bare_virtual_pcs_are_provisioned_into_a_cluster_and_a_second_run_changes_nothing() {
    if !running_as_root() {
        return;
    }
    let _lock = FaultLock::acquire_virtual_pcs();
    let test_started = Instant::now();
    let checkout = Checkout::new("provision-");

    checkout.demo_ok(&["lab", "up", "--pcs", "--bare"], SHORT_LIMIT);

    // A dry run on bare PCs: the plan is shown, nothing is touched.
    let before = checkout.all_pc_files();
    let dry = checkout.demo_ok(&["--lab", "provision", "--dry-run"], PROVISION_LIMIT);
    for n in 1..=3 {
        assert!(
            dry.stdout
                .contains(&format!("== PC{n} (10.77.0.{n}): Java ")),
            "{}",
            dry.stdout
        );
    }
    assert_eq!(
        dry.stdout
            .matches("would upload the Cassandra distribution")
            .count(),
        3
    );
    assert!(
        dry.stdout
            .contains("+endpoint_snitch: GossipingPropertyFileSnitch"),
        "{}",
        dry.stdout
    );
    assert_contains(&dry.stdout, "would start Kafka");
    assert_eq!(checkout.all_pc_files(), before, "a dry run touched a PC");
    assert!(checkout.pids().iter().all(String::is_empty));

    // Bare PCs to a formed cluster with the schema, and Kafka on the app PC.
    let started = Instant::now();
    let provisioned = checkout.demo_ok(&["--lab", "provision"], PROVISION_LIMIT);
    let formed = started.elapsed();
    eprintln!(
        "bare virtual PCs to a formed cluster with schema: {:.0}s",
        formed.as_secs_f64()
    );
    assert_contains(&provisioned.stdout, "✓ PC2: joined and UN");
    let check = checkout.demo(&["--lab", "check-cluster"], SHORT_LIMIT);
    check.expect_success("check-cluster");

    // Again: no file changes, no process restarts, and it says so.
    let files = checkout.managed_files();
    let pids = checkout.pids();
    // The nodes' pids are their PCs' (check-cluster proved they run); Kafka's is ours.
    assert!(pids.iter().all(|pid| !pid.is_empty()), "{pids:?}");
    assert!(pid_alive(&pids[3]), "the app PC's Kafka: {pids:?}");
    let started = Instant::now();
    let again = checkout.demo_ok(&["--lab", "provision"], SHORT_LIMIT);
    let no_op = started.elapsed();
    eprintln!("no-op provision: {:.1}s", no_op.as_secs_f64());
    for n in 1..=3 {
        assert_contains(&again.stdout, format!("PC{n}: up to date"));
    }
    assert_contains(&again.stdout, "PC4: Kafka up to date");
    assert_contains(&again.stdout, "no file changed, nothing restarted");
    assert_eq!(
        checkout.managed_files(),
        files,
        "a second provision changed a file"
    );
    assert_eq!(
        checkout.pids(),
        pids,
        "a second provision restarted a process"
    );

    let dry = checkout.demo_ok(&["--lab", "provision", "--dry-run"], SHORT_LIMIT);
    assert_contains(&dry.stdout, "everything is up to date");
    assert_eq!(checkout.managed_files(), files, "a dry run changed a file");
    assert_eq!(checkout.pids(), pids);

    // `lab down` stops everything, the app PC's Kafka included; `lab up --pcs` rebuilds
    // the PCs and provisions them in one go.
    checkout.demo_ok(&["lab", "down"], SHORT_LIMIT);
    // The nodes went with their PCs' namespaces (lab down checks that nothing is left).
    assert!(
        !pid_alive(&pids[3]),
        "the app PC's Kafka {} survived lab down",
        pids[3]
    );
    let started = Instant::now();
    let up = checkout.demo_ok(&["lab", "up", "--pcs"], PROVISION_LIMIT);
    eprintln!(
        "lab up --pcs (PCs kept their files): {:.0}s",
        started.elapsed().as_secs_f64()
    );
    assert_contains(&up.stdout, "✓ PC3: joined and UN");
    let check = checkout.demo(&["--lab", "check-cluster"], SHORT_LIMIT);
    check.expect_success("check-cluster");
    eprintln!(
        "provision test took {:.0}s",
        test_started.elapsed().as_secs_f64()
    );
}
