//! `demo preflight` on virtual PCs: it fails, naming the PC and what to do, for a node not
//! running, a rule on one PC dropping another PC's storage traffic, a clock apart (a
//! stand-in `date` on that PC), a missing Java (the JDK hidden on that PC) and a
//! cluster_name other than hosts.toml's, each broken inside one PC only.
//!
//! First on bare PCs (no Cassandra yet: every node "not running"), then on fresh PCs
//! formed by `demo provision`: everything passes, until PC2's cassandra.yaml names another
//! cluster than hosts.toml. Needs root (skipped, saying so, otherwise). Uses
//! only 10.77.0.0/24, the bridge demo-br0 and namespaces pc1-pc3; iptables rules and mounts
//! are made inside the PCs' own namespaces, so they vanish with them. A guard runs
//! `demo lab down` whatever happens.

mod virtual_pcs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use test_support::{FaultLock, run_bounded};
use virtual_pcs::{Checkout, running_as_root};

/// Every command of this test ends within this.
const LIMIT: Duration = Duration::from_secs(60);
/// Provisioning bare PCs (Cassandra uploaded, three nodes started in turn, Kafka).
const PROVISION_LIMIT: Duration = Duration::from_secs(420);
/// The JDK the PCs see (the host's), hidden on one PC to stand for a missing Java.
const JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

impl Checkout {
    /// The pid of PC `n`'s init, whose mount namespace is the PC's.
    fn init_pid(&self, n: usize) -> String {
        let file = self.root().join(format!(".lab/pcs/pc{n}/unshare.pid"));
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .trim()
            .to_string()
    }

    /// Runs `args` inside PC `n`'s mount namespace.
    fn in_mounts_of(&self, n: usize, args: &[&str]) {
        let pid = self.init_pid(n);
        let ran = run_bounded(
            Command::new("nsenter")
                .args(["-t", &pid, "-m", "--"])
                .args(args),
            LIMIT,
        );
        assert!(ran.status == Some(0), "pc{n}: {args:?}: {}", ran.stderr);
    }
}

/// The table row of `check` for `pc`.
fn row<'a>(stdout: &'a str, mark: &str, check: &str, pc: &str) -> Option<&'a str> {
    stdout.lines().find(|line| {
        let words: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        words.first() == Some(&mark) && words.get(1) == Some(&check) && words.get(2) == Some(&pc)
    })
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write a script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn preflight_names_the_pc_and_what_to_do() {
    if !running_as_root() {
        return;
    }
    if !Path::new(JDK).is_dir() {
        eprintln!("skipped: the missing-Java case hides {JDK}, which this machine lacks");
        return;
    }
    let _lock = FaultLock::acquire_virtual_pcs();
    let pcs = Checkout::new("preflight-");
    let up = pcs.demo(&["lab", "up", "--pcs", "--bare"], LIMIT);
    up.expect_success("lab up --pcs --bare");

    // Bare PCs: SSH and Java fine; nothing of Cassandra, so every node "not running".
    let started = Instant::now();
    let bare = pcs.demo(&["--lab", "preflight"], LIMIT);
    eprintln!(
        "preflight on bare PCs took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        bare.status != Some(0),
        "preflight must fail on bare PCs:\n{}",
        bare.stdout
    );
    for n in 1..=3 {
        let pc = format!("PC{n}");
        assert!(
            row(&bare.stdout, "✓", "SSH", &pc).is_some(),
            "{}",
            bare.stdout
        );
        assert!(
            row(&bare.stdout, "✓", "Java", &pc).is_some(),
            "{}",
            bare.stdout
        );
        assert!(
            row(&bare.stdout, "✓", "clock", &pc).is_some(),
            "{}",
            bare.stdout
        );
        let ports = row(&bare.stdout, "✗", "ports 7000/9042/7199", &pc)
            .unwrap_or_else(|| panic!("no failed ports row for {pc}:\n{}", bare.stdout));
        assert!(
            ports.contains(&format!("Cassandra is not running on {pc}"))
                && ports.contains(&format!("`demo start-node {n}`")),
            "{ports}"
        );
        let version = row(&bare.stdout, "✗", "Cassandra version", &pc).expect("version row");
        assert!(version.contains("run `demo provision`"), "{version}");
    }

    // Broken inside one PC each: a firewall on PC2 against PC3's storage traffic, PC3's
    // clock 2 s ahead, PC1's JDK gone.
    let ran = run_bounded(
        Command::new("ip").args([
            "netns",
            "exec",
            "pc2",
            "iptables",
            "-A",
            "INPUT",
            "-s",
            "10.77.0.3",
            "-p",
            "tcp",
            "--dport",
            "7000",
            "-j",
            "DROP",
        ]),
        LIMIT,
    );
    assert!(ran.status == Some(0), "iptables in pc2: {}", ran.stderr);
    let dir: PathBuf = pcs.root().to_path_buf();
    let real_date = dir.join("real-date");
    std::fs::copy("/usr/bin/date", &real_date).expect("copy date");
    let fake_date = dir.join("fake-date");
    write_executable(
        &fake_date,
        &format!(
            "#!/bin/sh\n# Two seconds ahead.\nn=$('{}' +%s%N)\necho $((n + 2000000000))\n",
            real_date.display()
        ),
    );
    pcs.in_mounts_of(
        3,
        &[
            "mount",
            "--bind",
            &fake_date.to_string_lossy(),
            "/usr/bin/date",
        ],
    );
    let empty = dir.join("empty-jdk");
    std::fs::create_dir(&empty).expect("an empty dir");
    pcs.in_mounts_of(1, &["mount", "--bind", &empty.to_string_lossy(), JDK]);

    let started = Instant::now();
    let broken = pcs.demo(&["--lab", "preflight"], LIMIT);
    eprintln!(
        "preflight on broken PCs took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert!(broken.status != Some(0));
    let ports = row(&broken.stdout, "✗", "ports 7000/9042/7199", "PC2").expect("PC2 ports");
    assert!(
        ports.contains("10.77.0.2:7000 (storage) from PC3 timed out: a firewall drops it")
            && ports.contains("open it on PC2: `iptables -I INPUT -p tcp --dport 7000 -j ACCEPT`"),
        "{ports}"
    );
    let clock = row(&broken.stdout, "✗", "clock", "PC3")
        .unwrap_or_else(|| panic!("no failed clock row for PC3:\n{}", broken.stdout));
    assert!(
        clock.contains("ms from PC4") && clock.contains("NTP"),
        "{clock}"
    );
    for pc in ["PC1", "PC2"] {
        assert!(
            row(&broken.stdout, "✓", "clock", pc).is_some(),
            "{}",
            broken.stdout
        );
    }
    let java = row(&broken.stdout, "✗", "Java", "PC1")
        .unwrap_or_else(|| panic!("no failed Java row for PC1:\n{}", broken.stdout));
    assert!(java.contains("openjdk-17"), "{java}");
    for pc in ["PC2", "PC3"] {
        assert!(
            row(&broken.stdout, "✓", "Java", pc).is_some(),
            "{}",
            broken.stdout
        );
    }
    let down = pcs.demo(&["lab", "down"], LIMIT);
    down.expect_success("lab down");

    // Fresh PCs, provisioned: everything passes; then PC2's cluster_name is changed by hand.
    let up = pcs.demo(&["lab", "up", "--pcs", "--bare"], LIMIT);
    up.expect_success("lab up --pcs --bare");
    pcs.demo(&["--lab", "provision"], PROVISION_LIMIT)
        .expect_success("provision");
    let healthy = pcs.demo(&["--lab", "preflight"], LIMIT);
    assert!(
        healthy.status == Some(0),
        "preflight on a provisioned cluster:\n{}",
        healthy.stdout
    );
    let yaml = pcs.lab().join("pcs/pc2/root/conf/cassandra.yaml");
    let text = std::fs::read_to_string(&yaml).expect("PC2's cassandra.yaml");
    let renamed = text.replace(
        "cluster_name: iot_demo_cluster",
        "cluster_name: 'Test Cluster'",
    );
    assert_ne!(renamed, text, "no cluster_name line in:\n{text}");
    std::fs::write(&yaml, renamed).expect("write PC2's cassandra.yaml");
    let wrong = pcs.demo(&["--lab", "preflight"], LIMIT);
    assert!(wrong.status != Some(0));
    let config = row(&wrong.stdout, "✗", "cassandra.yaml", "PC2")
        .unwrap_or_else(|| panic!("no failed cassandra.yaml row for PC2:\n{}", wrong.stdout));
    assert!(
        config.contains("cluster_name is \"Test Cluster\", hosts.toml says \"iot_demo_cluster\"")
            && config.contains("demo provision"),
        "{config}"
    );
    let down = pcs.demo(&["lab", "down"], LIMIT);
    down.expect_success("lab down");
}
