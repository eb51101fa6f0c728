//! `demo provision` for real, on the virtual PCs: from bare PCs a dry run touches
//! nothing, nor does a provision asking for a systemd unit the PCs cannot have; provisioning forms the cluster of the PCs hosts.toml lists (schema applied)
//! and starts the app PC's Kafka; a PC added to hosts.toml later joins the running
//! cluster with the next provision (check-cluster passes); a second run changes no file, restarts no process and says
//! so; a dry run on provisioned PCs changes nothing either. Then `lab down` and `lab up
//! --pcs` (without --bare): the PCs are rebuilt and provisioned in one command.
//!
//! Needs root (namespaces, a bridge): skipped, saying so, otherwise. Holds the virtual
//! PCs' lock (tests/pcs.rs builds them too); its checkout root is a temporary directory
//! under target/, whose `.lab` receives the distributions (from Maven's local cache);
//! a guard runs `demo lab down` whatever happens. Prints the figures: bare PCs to a
//! formed cluster with schema (two PCs, then the third joining), and a no-op provision.

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

/// The virtual PCs' inventory without PC3's `[[nodes]]` table, and a replication factor
/// that two nodes can hold (hosts.toml refuses one larger than the number of nodes).
fn without_pc3(hosts: &str) -> String {
    let (before, rest) = hosts
        .split_once("[[nodes]]\nname = \"PC3\"")
        .expect("PC3's table in .lab/hosts.toml");
    let after = &rest[rest.find("\n[").expect("a table after PC3's")..];
    let two = format!("{before}{}", after.trim_start_matches('\n'));
    assert!(two.contains("replication_factor = 3"), "{two}");
    two.replace("replication_factor = 3", "replication_factor = 2")
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

    // A systemd unit asked for on PCs whose init is not systemd (the virtual PCs'):
    // refused, naming the PC and what to do, before anything is touched.
    let hosts = checkout.lab().join("hosts.toml");
    let three_pcs = std::fs::read_to_string(&hosts).expect("read .lab/hosts.toml");
    assert!(three_pcs.contains("[install]\n"), "{three_pcs}");
    std::fs::write(
        &hosts,
        three_pcs.replacen("[install]\n", "[install]\nsystemd = true\n", 1),
    )
    .expect("write a hosts.toml asking for systemd");
    let refused = checkout.demo(&["--lab", "provision"], SHORT_LIMIT);
    assert_ne!(refused.status, Some(0), "{}", refused.stdout);
    assert_contains(
        &refused.stderr,
        "(10.77.0.1): hosts.toml's [install] systemd = true, but systemd does not run this PC",
    );
    assert_contains(&refused.stderr, "set systemd = false");
    assert_eq!(
        checkout.all_pc_files(),
        before,
        "a refused provision touched a PC"
    );

    // Bare PCs to a formed cluster with the schema, and Kafka on the app PC; PC3 comes
    // later, as a PC not ready on the first day would: first hosts.toml without it
    // (two nodes, so a replication factor of 2 there; schema.cql keeps 3), then with it.
    std::fs::write(&hosts, without_pc3(&three_pcs)).expect("write a hosts.toml without PC3");
    let started = Instant::now();
    let two = checkout.demo_ok(&["--lab", "provision"], PROVISION_LIMIT);
    let two_formed = started.elapsed();
    assert_contains(&two.stdout, "✓ PC2: joined and UN");
    assert!(!two.stdout.contains("PC3"), "{}", two.stdout);

    std::fs::write(&hosts, &three_pcs).expect("restore .lab/hosts.toml");
    let started = Instant::now();
    let added = checkout.demo_ok(&["--lab", "provision"], PROVISION_LIMIT);
    let joined = started.elapsed();
    for n in 1..=2 {
        assert_contains(&added.stdout, format!("PC{n}: up to date, running"));
    }
    // Shown joining (a peer lists it UJ while it streams its share), then UN.
    // (Cassandra announces the bootstrap, then waits ring_delay, 30 s, before streaming.)
    assert_contains(&added.stdout, "PC3: in the ring after");
    assert_contains(&added.stdout, "sees it UJ)");
    assert_contains(&added.stdout, "✓ PC3: joined and UN");
    eprintln!(
        "bare virtual PCs to a formed cluster with schema: {:.0}s for PC1-PC2, \
         then {:.0}s for PC3 to be uploaded and join ({:.0}s in all)",
        two_formed.as_secs_f64(),
        joined.as_secs_f64(),
        (two_formed + joined).as_secs_f64()
    );
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
