//! The conductor through real SSH: a private sshd on a loopback port stands
//! in for the demo's three Cassandra PCs, each reached through it to drive
//! the lab's real nodes with the lab's own commands.
//!
//! Needs `/usr/sbin/sshd` and `ssh-keygen` (Debian's openssh-server and
//! openssh-client). The cluster tests need the lab (`demo lab up`); the host
//! key and unreachable-host tests do not. Fault tests hold the exclusive
//! lock /tmp/lab-faults.lock while they run and always restore the node.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use demo::cluster;
use demo::hosts::{Inventory, NodeSpec, Transport, Verb};
use demo::remote::{Remote, RemoteError, RemoteOptions};
use demo::ui::Render;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tempfile::TempDir;
use test_support::{FaultLock, Ran, Wait, assert_contains, released_port, run_bounded};

const SSHD: &str = "/usr/sbin/sshd";

/// How many ports a private sshd tries before the test gives up.
const SSHD_PORT_ATTEMPTS: usize = 5;

fn keygen(path: &Path) {
    let ran = run_bounded(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "demo-ssh-test", "-f"])
            .arg(path),
        Duration::from_secs(20),
    );
    assert_eq!(ran.status, Some(0), "ssh-keygen failed: {}", ran.stderr);
}

/// A private sshd on a free loopback port: generated host and user keys,
/// root login by key only, killed (with its sessions) when dropped.
struct Sshd {
    dir: TempDir,
    port: u16,
    child: Child,
}

impl Sshd {
    fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} missing: install Debian's openssh-server"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        keygen(&path.join("host_key"));
        keygen(&path.join("user_key"));
        std::fs::copy(path.join("user_key.pub"), path.join("authorized_keys"))
            .expect("authorized_keys");
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        // sshd binds its own port (it cannot take an inherited listener), so
        // the port is picked free and released first: another process may
        // take it meanwhile, and then sshd exits and a fresh port is tried.
        let mut failures = Vec::new();
        for _ in 0..SSHD_PORT_ATTEMPTS {
            let port = released_port();
            match Self::start_on(dir.path(), port) {
                Ok(child) => return Sshd { dir, port, child },
                Err(failure) => failures.push(failure),
            }
        }
        panic!("sshd could not listen:\n{}", failures.join("\n"))
    }

    /// sshd on `port`, once it accepts connections; on failure, why (its log).
    fn start_on(dir: &Path, port: u16) -> Result<Child, String> {
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             UsePAM no\nStrictModes no\nMaxStartups 100\nMaxSessions 100\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("sshd_config"), config).expect("sshd_config");
        let log = dir.join("sshd.log");
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start sshd");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let listening = Wait::new(
            format!("sshd listening on {address}"),
            Duration::from_secs(10),
        )
        .every(Duration::from_millis(50))
        .try_until(|| {
            if let Ok(Some(status)) = child.try_wait() {
                // Exited (could not bind): no use waiting longer.
                return Ok(Err(format!("sshd exited with {status}")));
            }
            TcpStream::connect_timeout(&address, Duration::from_millis(200))
                .map(|_| Ok(()))
                .map_err(|e| e.to_string())
        });
        let why = match listening {
            Ok(Ok(())) => return Ok(child),
            Ok(Err(exited)) => exited,
            Err(timed_out) => {
                let _ = child.kill();
                let _ = child.wait();
                timed_out.to_string()
            }
        };
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        Err(format!("port {port}: {why}: {said}"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// A known_hosts file holding `key_file`'s public key for this sshd.
    fn known_hosts_with(&self, name: &str, key_file: &Path) -> PathBuf {
        let key = std::fs::read_to_string(key_file).expect("public key");
        let path = self.path(name);
        std::fs::write(&path, format!("[127.0.0.1]:{} {key}", self.port)).expect("known_hosts");
        path
    }

    /// known_hosts with the true host key.
    fn known_hosts(&self) -> PathBuf {
        self.known_hosts_with("known_hosts", &self.path("host_key.pub"))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // The whole group: the listener and the per-connection processes.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let exited = Wait::new("sshd to exit on SIGTERM", Duration::from_secs(5))
            .every(Duration::from_millis(50))
            .try_until(|| self.child.try_wait().ok().flatten());
        if exited.is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A hosts file whose nodes are reached through `sshd`.
struct NodeLine {
    name: String,
    address: IpAddr,
    seed: bool,
    ssh_port: u16,
    commands: Vec<(Verb, String)>,
}

fn hosts_text(
    cluster: &demo::hosts::ClusterSpec,
    identity: &Path,
    known_hosts: &Path,
    connect_timeout_secs: u64,
    nodes: &[NodeLine],
) -> String {
    let mut text = format!(
        "[cluster]\nname = {}\nkeyspace = {}\nreplication_factor = {}\n\n\
         [ssh]\nuser = \"root\"\nidentity_file = {}\nknown_hosts = \"strict\"\nknown_hosts_file = {}\n\
         connect_timeout_secs = {connect_timeout_secs}\ncommand_timeout_secs = 120\n\n",
        toml_string(&cluster.name),
        toml_string(&cluster.keyspace),
        cluster.replication_factor,
        toml_string(&identity.display().to_string()),
        toml_string(&known_hosts.display().to_string()),
    );
    for node in nodes {
        text.push_str(&format!(
            "[[nodes]]\nname = {}\naddress = \"{}\"\nseed = {}\ntransport = \"ssh\"\n\
             ssh_host = \"127.0.0.1\"\nssh_port = {}\n[nodes.commands]\n",
            toml_string(&node.name),
            node.address,
            node.seed,
            node.ssh_port
        ));
        for (verb, command) in &node.commands {
            text.push_str(&format!("{} = {}\n", verb.as_str(), toml_string(command)));
        }
        text.push('\n');
    }
    text.push_str("[app]\naddress = \"127.0.0.1\"\nkafka_bootstrap = \"127.0.0.1:9092\"\n");
    text
}

const VERBS: [Verb; 6] = [
    Verb::Nodetool,
    Verb::Start,
    Verb::Stop,
    Verb::Kill,
    Verb::Freeze,
    Verb::Thaw,
];

/// The lab's inventory; fails fast when the lab is not up.
fn lab() -> Inventory {
    let cql = SocketAddr::from(([127, 0, 0, 1], 9042));
    assert!(
        TcpStream::connect_timeout(&cql, Duration::from_secs(2)).is_ok(),
        "lab not up: run `demo lab up` (127.0.0.1:9042 does not answer)"
    );
    Inventory::load(demo::paths::lab_hosts_file())
        .unwrap_or_else(|e| panic!("lab not up: run `demo lab up` ({e})"))
}

/// Writes a hosts file reaching the lab's nodes through `sshd`.
fn lab_through_ssh(sshd: &Sshd, lab: &Inventory, known_hosts: &Path) -> PathBuf {
    let nodes: Vec<NodeLine> = lab
        .nodes
        .iter()
        .map(|node| NodeLine {
            name: node.name.clone(),
            address: node.address,
            seed: node.seed,
            ssh_port: sshd.port,
            commands: VERBS
                .iter()
                .map(|verb| (*verb, node.command(*verb).to_string()))
                .collect(),
        })
        .collect();
    let text = hosts_text(&lab.cluster, &sshd.path("user_key"), known_hosts, 5, &nodes);
    let path = sshd.path("hosts.toml");
    std::fs::write(&path, text).expect("hosts file");
    path
}

/// A one-node inventory for connection tests (no lab needed).
fn single_node(sshd: &Sshd, port: u16, known_hosts: &Path, connect_timeout_secs: u64) -> Inventory {
    let cluster = demo::hosts::ClusterSpec {
        name: "ssh_test".to_string(),
        keyspace: "ks".to_string(),
        replication_factor: 1,
    };
    let node = NodeLine {
        name: "PC1".to_string(),
        address: "127.0.0.1".parse().expect("ip"),
        seed: true,
        ssh_port: port,
        commands: Vec::new(),
    };
    let text = hosts_text(
        &cluster,
        &sshd.path("user_key"),
        known_hosts,
        connect_timeout_secs,
        &[node],
    );
    let inventory = Inventory::parse(&text, &sshd.path("single.toml")).expect("hosts text");
    assert_eq!(inventory.nodes[0].transport, Transport::Ssh);
    inventory
}

fn demo_bin(hosts: &Path, args: &[&str], limit: Duration) -> Ran {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo"))
            .arg("--hosts")
            .arg(hosts)
            .args(args),
        limit,
    )
}

/// Puts a lab node back whatever happened (thaw, start, wait for CQL).
struct RestoreNode {
    node: NodeSpec,
}

impl Drop for RestoreNode {
    fn drop(&mut self) {
        for verb in [Verb::Thaw, Verb::Start] {
            let _ = run_bounded(
                Command::new("sh").arg("-c").arg(self.node.command(verb)),
                Duration::from_secs(60),
            );
        }
        let cql = SocketAddr::new(self.node.address, 9042);
        // No panic here (it may run while a test is failing): the next test's
        // wait for a whole cluster reports a node that did not come back.
        let _ = Wait::new(format!("{cql} answering"), Duration::from_secs(180))
            .every(Duration::from_secs(1))
            .try_until(|| TcpStream::connect_timeout(&cql, Duration::from_secs(1)));
    }
}

/// Waits (bounded) until the cluster is whole: a previous test may have
/// just restarted a node.
async fn wait_whole(inventory: &Inventory, options: &RemoteOptions) {
    Wait::new("the lab whole", Duration::from_secs(180))
        .every(Duration::from_secs(2))
        .until_async(|| async {
            let report = cluster::check(inventory, options).await.expect("check");
            if report.is_whole() {
                Ok(())
            } else {
                Err(format!("not whole:\n{}", report.render()))
            }
        })
        .await
}

/// The lab reached through a private sshd, whole, with the lab-fault lock held.
struct LabThroughSsh {
    /// The generated hosts file, every node reached through sshd.
    hosts: PathBuf,
    /// What `hosts` says.
    inventory: Inventory,
    /// The lab's own inventory: its nodes driven directly (to restore them).
    direct: Inventory,
    // Fields drop in this order: sshd is stopped before the lock is released.
    sshd: Sshd,
    _lock: FaultLock,
}

impl LabThroughSsh {
    /// Takes the lock, starts sshd, writes the hosts file, and waits until
    /// the cluster is whole.
    async fn whole() -> LabThroughSsh {
        let direct = lab();
        let lock = FaultLock::acquire();
        let sshd = Sshd::start();
        let hosts = lab_through_ssh(&sshd, &direct, &sshd.known_hosts());
        let inventory = Inventory::load(&hosts).expect("generated hosts file");
        let options = RemoteOptions::from_inventory(&inventory);
        wait_whole(&inventory, &options).await;
        LabThroughSsh {
            hosts,
            inventory,
            direct,
            sshd,
            _lock: lock,
        }
    }
}

#[tokio::test]
async fn check_cluster_through_ssh_passes() {
    let lab = LabThroughSsh::whole().await;

    let ran = demo_bin(&lab.hosts, &["check-cluster"], Duration::from_secs(120));
    ran.expect_status(0, "demo check-cluster");
    assert_contains(&ran.stdout, "✓ cluster whole");
    for node in &lab.inventory.nodes {
        assert!(
            ran.stdout
                .contains(&format!("{}  {}  UN", node.name, node.address)),
            "{}",
            ran.stdout
        );
    }
    // The commands really went through sshd.
    assert!(
        lab.sshd.log().contains("Accepted publickey for root"),
        "{}",
        lab.sshd.log()
    );
}

#[tokio::test]
async fn kill_node_2_then_start_node_2_through_ssh() {
    let lab = LabThroughSsh::whole().await;
    let pc2 = lab.inventory.node("2").expect("node 2").clone();
    let _restore = RestoreNode {
        node: lab.direct.node("2").expect("lab node 2").clone(),
    };

    let killed = demo_bin(
        &lab.hosts,
        &["kill-node", "2", "--mode", "stop"],
        Duration::from_secs(300),
    );
    killed.expect_status(0, "demo kill-node 2 --mode stop");
    assert_contains(&killed.stdout, "sees PC2 DN");

    let broken = demo_bin(&lab.hosts, &["check-cluster"], Duration::from_secs(120));
    broken.expect_status(1, "demo check-cluster (PC2 stopped)");
    assert_contains(&broken.stdout, "✗ cluster NOT whole");
    assert!(
        broken
            .stdout
            .contains(&format!("{} is DN as seen by PC1, PC3", pc2.label())),
        "{}",
        broken.stdout
    );

    let started = demo_bin(&lab.hosts, &["start-node", "PC2"], Duration::from_secs(300));
    started.expect_status(0, "demo start-node PC2");
    assert_contains(&started.stdout, "answers CQL");

    let whole = demo_bin(&lab.hosts, &["check-cluster"], Duration::from_secs(120));
    whole.expect_status(0, "demo check-cluster (PC2 back)");
    assert_contains(&whole.stdout, "✓ cluster whole");
}

#[tokio::test]
async fn changed_host_key_is_refused() {
    let sshd = Sshd::start();
    keygen(&sshd.path("impostor_key"));
    let known_hosts = sshd.known_hosts_with("changed_known_hosts", &sshd.path("impostor_key.pub"));
    let inventory = single_node(&sshd, sshd.port, &known_hosts, 5);
    // Even accept-new refuses a key that changed.
    for accept_new_host_keys in [false, true] {
        let options = RemoteOptions {
            accept_new_host_keys,
            ..RemoteOptions::from_inventory(&inventory)
        };
        let err = Remote::connect(&inventory, &inventory.nodes[0], &options)
            .await
            .expect_err("a changed host key must be refused");
        println!("changed key: {err}");
        assert!(matches!(err, RemoteError::HostKeyChanged { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("PC1 (ssh root@127.0.0.1:{})", sshd.port)),
            "{message}"
        );
        assert_contains(&message, "host key has CHANGED");
    }
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());

    // The command line says so too, and fails.
    let hosts = sshd.path("hosts-changed.toml");
    let text = hosts_text(
        &inventory.cluster,
        &sshd.path("user_key"),
        &known_hosts,
        5,
        &[NodeLine {
            name: "PC1".to_string(),
            address: "127.0.0.1".parse().expect("ip"),
            seed: true,
            ssh_port: sshd.port,
            commands: Vec::new(),
        }],
    );
    std::fs::write(&hosts, text).expect("hosts file");
    let ran = demo_bin(&hosts, &["kill-node", "1"], Duration::from_secs(60));
    ran.expect_status(1, "demo kill-node 1 (changed host key)");
    assert_contains(&ran.stderr, "host key has CHANGED");
}

#[tokio::test]
async fn unknown_host_key_is_refused_unless_accept_new() {
    let sshd = Sshd::start();
    let known_hosts = sshd.path("empty_known_hosts");
    std::fs::write(&known_hosts, "").expect("known_hosts");
    let inventory = single_node(&sshd, sshd.port, &known_hosts, 5);
    let strict = RemoteOptions::from_inventory(&inventory);
    assert!(!strict.accept_new_host_keys);
    let err = Remote::connect(&inventory, &inventory.nodes[0], &strict)
        .await
        .expect_err("an unknown host key must be refused by default");
    assert!(matches!(err, RemoteError::HostKeyUnknown { .. }), "{err}");
    assert!(err.to_string().contains("--accept-new-host-keys"), "{err}");

    let accept_new = RemoteOptions {
        accept_new_host_keys: true,
        ..strict.clone()
    };
    let remote = Remote::connect(&inventory, &inventory.nodes[0], &accept_new)
        .await
        .expect("accept-new connects");
    remote.close().await;
    // Debian hashes host names in known_hosts; the key itself is plain.
    let remembered = std::fs::read_to_string(&known_hosts).expect("known_hosts");
    let host_key = std::fs::read_to_string(sshd.path("host_key.pub")).expect("host key");
    let key_material = host_key.split_whitespace().nth(1).expect("key material");
    assert_contains(&remembered, key_material);
    // Remembered: strict checking now accepts it.
    Remote::connect(&inventory, &inventory.nodes[0], &strict)
        .await
        .expect("the remembered key is accepted")
        .close()
        .await;
}

#[tokio::test]
async fn remote_commands_over_ssh_report_output_status_and_timeouts() {
    let sshd = Sshd::start();
    let inventory = single_node(&sshd, sshd.port, &sshd.known_hosts(), 5);
    let options = RemoteOptions::from_inventory(&inventory);
    let remote = Remote::connect(&inventory, &inventory.nodes[0], &options)
        .await
        .expect("connect through sshd");
    let output = remote
        .run("echo out; echo err >&2; exit 7")
        .await
        .expect("run");
    assert_eq!(output.status, Some(7));
    assert_eq!(output.stdout, "out\n");
    assert_eq!(output.stderr, "err\n");
    let missing = remote.run("no-such-command-here").await.expect("run");
    assert_eq!(missing.status, Some(127));
    assert_contains(&missing.stderr, "not found");
    let failed = remote.run_ok("exit 255").await.expect_err("exit 255 fails");
    assert!(failed.to_string().contains("exit status 255"), "{failed}");

    let started = Instant::now();
    let err = remote
        .run_with_timeout("sleep 30", Duration::from_secs(1))
        .await
        .expect_err("a slow command times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, RemoteError::CommandTimeout { .. }), "{err}");
    assert!(err.to_string().contains("PC1 (ssh root@127.0.0.1"), "{err}");
    // The connection survives a timed-out command.
    assert_eq!(
        remote.run("echo again").await.expect("run").stdout,
        "again\n"
    );
    remote.close().await;
}

#[tokio::test]
async fn closed_port_is_reported_unreachable_at_once() {
    let sshd = Sshd::start();
    // Nothing listens there (a bound port would answer, or never refuse).
    let closed = released_port();
    let (took, err) = failed_connect(&sshd, closed, 3, "a closed port").await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    println!("closed port: {err}");
    assert!(matches!(err, RemoteError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("PC1 (ssh root@127.0.0.1:{closed})")),
        "{err}"
    );
    assert!(err.to_string().contains("Connection refused"), "{err}");
}

#[tokio::test]
async fn blackholed_port_is_reported_within_the_connect_timeout() {
    let sshd = Sshd::start();
    // A listener that never accepts, with its accept queue full: the kernel
    // drops further SYNs, as a switched-off PC on the network would.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let address = listener.local_addr().expect("address");
    let mut fillers = Vec::new();
    while fillers.len() < 16 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    assert!(fillers.len() < 16, "the accept queue never filled");
    let (took, err) = failed_connect(&sshd, address.port(), 2, "a blackholed port").await;
    println!("blackholed after {took:?}: {err}");
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(matches!(err, RemoteError::ConnectTimeout { .. }), "{err}");
    assert!(err.to_string().contains("connect timeout (2s)"), "{err}");
}

/// Connects, with a connect timeout of `timeout_secs`, to `port` (which `what`
/// cannot serve); how long the refusal took, and the error.
async fn failed_connect(
    sshd: &Sshd,
    port: u16,
    timeout_secs: u64,
    what: &str,
) -> (Duration, RemoteError) {
    let inventory = single_node(sshd, port, &sshd.known_hosts(), timeout_secs);
    let options = RemoteOptions::from_inventory(&inventory);
    let started = Instant::now();
    let err = Remote::connect(&inventory, &inventory.nodes[0], &options)
        .await
        .err()
        .unwrap_or_else(|| panic!("{what} cannot connect"));
    (started.elapsed(), err)
}

#[tokio::test]
async fn silent_host_is_reported_within_the_connect_timeout() {
    let sshd = Sshd::start();
    // Accepts TCP but never speaks SSH, like a frozen machine's sshd.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let (took, err) = failed_connect(&sshd, address.port(), 2, "a silent host").await;
    holder.abort();
    println!("silent after {took:?}: {err}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(matches!(err, RemoteError::ConnectTimeout { .. }), "{err}");
}
