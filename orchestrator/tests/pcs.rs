//! The virtual PCs for real: `demo lab up --pcs --bare` builds them from nothing, the
//! conductor's own SSH layer reaches each one through the `.lab/hosts.toml` it wrote (its
//! hostname, a JDK, its own files at the fixed install path), refuses a PC whose host key
//! it does not know, and `demo lab down` leaves nothing behind, even from a half-broken
//! state.
//!
//! Needs root (namespaces, a bridge, mounts): skipped, saying so, otherwise. Uses only
//! 10.77.0.0/24, the bridge demo-br0 and namespaces pc1-pc3, never the shared lab on
//! 127.0.0.1-3; its `.lab` is a temporary directory under target/ (not /tmp, which every
//! PC replaces with its own). A guard runs `demo lab down` whatever happens. Provisioning
//! them (`lab up --pcs` without --bare) is tests/provision.rs's.

mod virtual_pcs;

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use demo::hosts::Inventory;
use demo::remote::{Remote, RemoteError, RemoteOptions};
use test_support::{assert_contains, run_bounded};
use virtual_pcs::{Checkout, DEMO, running_as_root};

const NAMESPACES: [&str; 3] = ["pc1", "pc2", "pc3"];
const LINKS: [&str; 4] = ["demo-br0", "demo-pc1", "demo-pc2", "demo-pc3"];
const INSTALL_PATH: &str = "/opt/cassandra-demo";
/// Every `demo` run and every remote command of this test ends within this.
const LIMIT: Duration = Duration::from_secs(60);

fn ip(args: &[&str]) -> String {
    let ran = run_bounded(Command::new("ip").args(args), Duration::from_secs(10));
    ran.expect_success(&format!("ip {args:?}"));
    ran.stdout
}

/// The lab's names that `ip netns list` and `ip -o link` still show.
fn lab_names_present() -> Vec<String> {
    let namespaces = ip(&["netns", "list"]);
    let links = ip(&["-o", "link"]);
    let mut present: Vec<String> = NAMESPACES
        .iter()
        .filter(|name| namespaces.split_whitespace().any(|word| word == **name))
        .map(|name| format!("netns {name}"))
        .collect();
    present.extend(
        LINKS
            .iter()
            .filter(|name| {
                links.lines().any(|line| {
                    line.split_whitespace().nth(1).is_some_and(|link| {
                        link.trim_end_matches(':').split('@').next() == Some(**name)
                    })
                })
            })
            .map(|name| format!("link {name}")),
    );
    present
}

/// Live processes whose command line names `dir` (zombies have none).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .contains(&needle)
                .then(|| format!("{}: {cmdline}", entry.file_name().to_string_lossy()))
        })
        .collect()
}

/// A link of that name that is not the lab's (an empty bridge), deleted when dropped.
struct ForeignLink(&'static str);

impl ForeignLink {
    fn add(name: &'static str) -> ForeignLink {
        ip(&["link", "add", name, "type", "bridge"]);
        ForeignLink(name)
    }
}

impl Drop for ForeignLink {
    fn drop(&mut self) {
        let _ = run_bounded(
            Command::new("ip").args(["link", "del", self.0]),
            Duration::from_secs(10),
        );
    }
}

async fn connect(inventory: &Inventory, index: usize) -> Result<Remote, RemoteError> {
    let options = RemoteOptions::from_inventory(inventory);
    Remote::connect(inventory, &inventory.nodes[index], &options).await
}

#[tokio::test]
async fn virtual_pcs_are_reached_over_ssh_and_leave_nothing_behind() {
    if !running_as_root() {
        return;
    }
    // One set of virtual PCs per machine: tests/provision.rs builds them too.
    let _lock = test_support::FaultLock::acquire_virtual_pcs();
    let leftovers = lab_names_present();
    assert!(
        leftovers.is_empty(),
        "names of the virtual PCs already exist on this host (an earlier run?): {leftovers:?}"
    );
    let install_path_existed = Path::new(INSTALL_PATH).exists();
    let pcs = Checkout::new("pcs-");

    // Refused before anything is touched: without root, and with the bridge's name taken.
    let not_root = run_bounded(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", DEMO])
            .args(["lab", "up", "--pcs", "--bare"])
            .env("DEMO_ROOT", pcs.root()),
        LIMIT,
    );
    assert_ne!(not_root.status, Some(0));
    assert_contains(
        &not_root.stderr,
        "need root: network namespaces, a bridge and mounts; run it as root, e.g. `sudo demo lab up --pcs`",
    );
    {
        let _foreign = ForeignLink::add("demo-br0");
        let taken = pcs.demo(&["lab", "up", "--pcs", "--bare"], LIMIT);
        assert_ne!(taken.status, Some(0));
        assert!(
            taken
                .stderr
                .contains("\"demo-br0\" already exists and is not this lab's"),
            "{}",
            taken.stderr
        );
        assert_eq!(lab_names_present(), vec!["link demo-br0".to_string()]);
        assert!(!pcs.lab().join("pcs/state.toml").exists());
    }
    assert_eq!(lab_names_present(), Vec::<String>::new());

    // From nothing to three PCs.
    let started = Instant::now();
    let up = pcs.demo(&["lab", "up", "--pcs", "--bare"], LIMIT);
    up.expect_success("lab up --pcs --bare");
    eprintln!(
        "lab up --pcs --bare took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(lab_names_present().len(), NAMESPACES.len() + LINKS.len());

    // Each PC, through the conductor's SSH layer and the inventory the lab wrote.
    let hosts_file = pcs.lab().join("hosts.toml");
    let inventory = Inventory::load(&hosts_file).expect("the written inventory loads");
    assert_eq!(inventory.nodes.len(), 3);
    let mut remotes = Vec::new();
    for index in 0..3 {
        let remote = connect(&inventory, index)
            .await
            .unwrap_or_else(|err| panic!("PC{}: {err}", index + 1));
        remote
            .run_ok(&format!(
                "echo I am pc{} > {INSTALL_PATH}/whoami",
                index + 1
            ))
            .await
            .expect("write at the install path");
        remotes.push(remote);
    }
    for (index, remote) in remotes.into_iter().enumerate() {
        let pc = format!("pc{}", index + 1);
        let output = remote
            .run_with_timeout(
                &format!(
                    "hostname; cat /proc/1/comm; cat {INSTALL_PATH}/whoami; java -version 2>&1"
                ),
                LIMIT,
            )
            .await
            .expect("run on the PC");
        assert!(output.success(), "{pc}: {output:?}");
        let lines: Vec<&str> = output.stdout.lines().collect();
        assert_eq!(
            lines.first(),
            Some(&pc.as_str()),
            "{pc}'s hostname: {output:?}"
        );
        assert_eq!(lines.get(1), Some(&"sshd"), "{pc}'s PID 1: {output:?}");
        assert_eq!(
            lines.get(2).copied(),
            Some(format!("I am {pc}").as_str()),
            "{output:?}"
        );
        assert!(
            lines.iter().any(|line| line.contains("version \"")),
            "{pc} has no Java: {output:?}"
        );
        let on_host = pcs.lab().join(format!("pcs/{pc}/root/whoami"));
        assert_eq!(
            std::fs::read_to_string(&on_host).expect("the PC's file on the host"),
            format!("I am {pc}\n")
        );
        remote.close().await;
    }
    assert!(
        !Path::new(INSTALL_PATH).join("whoami").exists(),
        "a PC's file leaked to the host's {INSTALL_PATH}"
    );

    // Host keys are checked: unknown, or filed under another PC's address, is refused.
    let known_hosts =
        std::fs::read_to_string(pcs.lab().join("pcs/known_hosts")).expect("known_hosts");
    let pc2_key = known_hosts
        .lines()
        .find_map(|line| line.strip_prefix("10.77.0.2 "))
        .expect("pc2's host key in known_hosts");
    let hosts_text = std::fs::read_to_string(&hosts_file).expect("hosts.toml");
    let with_known_hosts = |name: &str, content: &str| {
        std::fs::write(pcs.lab().join(name), content).expect("write a known_hosts");
        let text = hosts_text.replace("\"pcs/known_hosts\"", &format!("{name:?}"));
        assert_ne!(text, hosts_text);
        Inventory::parse(&text, &hosts_file).expect("the altered inventory parses")
    };
    match connect(&with_known_hosts("empty_known_hosts", ""), 0).await {
        Err(err @ RemoteError::HostKeyUnknown { .. }) => {
            assert!(
                err.to_string().contains("PC1 (ssh root@10.77.0.1)"),
                "{err}"
            )
        }
        other => panic!("an unknown host key must be refused: {other:?}"),
    }
    let swapped = format!("10.77.0.1 {pc2_key}\n");
    match connect(&with_known_hosts("swapped_known_hosts", &swapped), 0).await {
        Err(RemoteError::HostKeyChanged { .. }) => {}
        other => panic!("another PC's host key must be refused: {other:?}"),
    }

    // `--lab` commands reach the PCs: status, and check-cluster running (and failing on)
    // the not yet provisioned nodetool over SSH on each PC.
    let status = pcs.demo(&["--lab", "lab", "status"], LIMIT);
    status.expect_success("lab status");
    assert_eq!(
        status.stdout.matches(" listening ").count(),
        3,
        "{}",
        status.stdout
    );
    let check = pcs.demo(&["--lab", "check-cluster"], LIMIT);
    assert_ne!(
        check.status,
        Some(0),
        "check-cluster cannot pass on bare PCs"
    );
    for n in 1..=3 {
        let expected = format!(
            "PC{n} (ssh root@10.77.0.{n}): `{INSTALL_PATH}/bin/nodetool status iot_demo` failed (exit status 127)"
        );
        assert!(
            check.stdout.contains(&expected),
            "{expected} in:\n{}",
            check.stdout
        );
    }

    // Half broken: pc2's pid file lost and its namespace's name deleted by hand.
    std::fs::remove_file(pcs.lab().join("pcs/pc2/unshare.pid")).expect("remove pc2's pid file");
    ip(&["netns", "del", "pc2"]);
    let started = Instant::now();
    let down = pcs.demo(&["lab", "down"], LIMIT);
    down.expect_success("lab down");
    eprintln!("lab down took {:.2}s", started.elapsed().as_secs_f64());
    assert_eq!(lab_names_present(), Vec::<String>::new());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = processes_naming(pcs.root());
    while !left.is_empty() && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
        left = processes_naming(pcs.root());
    }
    assert_eq!(
        left,
        Vec::<String>::new(),
        "processes of the PCs survived lab down"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(INSTALL_PATH) && !mounts.contains("/run/netns/pc"),
        "{mounts}"
    );
    assert_eq!(Path::new(INSTALL_PATH).exists(), install_path_existed);
    let again = pcs.demo(&["lab", "down"], LIMIT);
    again.expect_success("a second lab down");
}
