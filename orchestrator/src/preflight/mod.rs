//! What would break the demonstration, found before the day: `demo preflight`, which
//! `demo run` also runs first.
//!
//! Real demonstrations fail on the same few things: a PC not reachable over SSH, a Java
//! Cassandra 5.0 cannot run on, two Cassandra versions, a firewall between two PCs, clocks
//! apart (Cassandra orders writes by timestamp), a full disk, a cassandra.yaml that does
//! not say what hosts.toml says, Kafka not answering. Each is a [`Check`] per PC, passed
//! or failed with what to do.
//!
//! Every PC is probed at once, each over one SSH connection: one script for its facts
//! (`facts`), `date` round trips for its clock (`clock`) and one script that tries every
//! node's ports from that PC (`ports`); PC4 (this machine) tries each node's CQL port and
//! Kafka itself. Every probe is bounded in time. [`judge`] turns what was learnt into
//! checks (pure); `config` compares cassandra.yaml with hosts.toml. Nodes reached with the
//! local transport (the loopback lab) share this machine: SSH, the installed version,
//! cassandra.yaml, ports between nodes and clocks do not apply there, and their rows say so.
//!
//! Public API: [`run`] → [`PreflightReport`] ([`PreflightReport::passed`]), [`Limits`].

mod clock;
mod config;
mod facts;
mod ports;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::hosts::{Inventory, NodeSpec, Transport};
use crate::remote::{Remote, RemoteError, RemoteOptions};
use facts::{Facts, JavaFact};
use ports::{NODE_PORTS, PortProbe, Reach};

/// The bounds of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest offset of a PC's clock from PC4's.
    pub clock_bound: Duration,
    /// One TCP connect attempt.
    pub port_timeout: Duration,
    /// One probe command on a PC.
    pub command_timeout: Duration,
    pub min_free_disk_kib: u64,
    pub min_total_memory_kib: u64,
    pub min_available_memory_kib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            clock_bound: Duration::from_millis(500),
            port_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(20),
            min_free_disk_kib: 2 * GIB_IN_KIB,
            min_total_memory_kib: 2 * GIB_IN_KIB,
            min_available_memory_kib: GIB_IN_KIB / 2,
        }
    }
}

const GIB_IN_KIB: u64 = 1024 * 1024;

/// What is checked, in the order the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckKind {
    Ssh,
    Java,
    CassandraVersion,
    Ports,
    Clock,
    Disk,
    Memory,
    Config,
    Kafka,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Ssh => "SSH",
            CheckKind::Java => "Java",
            CheckKind::CassandraVersion => "Cassandra version",
            CheckKind::Ports => "ports 7000/9042/7199",
            CheckKind::Clock => "clock",
            CheckKind::Disk => "free disk",
            CheckKind::Memory => "memory",
            CheckKind::Config => "cassandra.yaml",
            CheckKind::Kafka => "Kafka",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Does not apply here (the loopback lab), or could not be looked at (no SSH).
    Skip,
}

/// One row: a check on one PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub kind: CheckKind,
    pub pc: String,
    pub verdict: Verdict,
    pub detail: String,
    /// What to do (empty unless failed).
    pub remedy: String,
}

#[derive(Debug, Clone)]
pub struct PreflightReport {
    pub checks: Vec<Check>,
    pub took: Duration,
}

impl PreflightReport {
    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|check| check.verdict != Verdict::Fail)
    }

    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|check| check.verdict == Verdict::Fail)
    }
}

/// What was learnt on one PC (`None`: not looked at).
#[derive(Debug)]
struct PcProbe {
    ssh: Result<(), RemoteError>,
    facts: Option<Result<Facts, String>>,
    clock: Option<Result<clock::Offset, String>>,
    ports: Option<Result<Vec<PortProbe>, String>>,
}

/// What PC4 (this machine) learnt by itself.
#[derive(Debug)]
struct FromHere {
    /// Each node's CQL port, in inventory order.
    cql: Vec<Reach>,
    /// Each Kafka bootstrap endpoint.
    kafka: Vec<(String, Reach)>,
}

/// Checks every PC at once; never fails as a whole: what cannot be checked is a row.
pub async fn run(
    inventory: &Inventory,
    options: &RemoteOptions,
    limits: &Limits,
) -> PreflightReport {
    let started = Instant::now();
    let targets: Vec<(IpAddr, u16)> = inventory
        .nodes
        .iter()
        .flat_map(|node| NODE_PORTS.iter().map(|(port, _)| (node.address, *port)))
        .collect();
    let pcs = join_all(
        inventory
            .nodes
            .iter()
            .map(|node| probe_pc(inventory, node, options, limits, &targets)),
    );
    let here = probe_from_here(inventory, limits);
    let (pcs, here) = futures::join!(pcs, here);
    PreflightReport {
        checks: judge(inventory, &pcs, &here, limits),
        took: started.elapsed(),
    }
}

async fn probe_pc(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
    limits: &Limits,
    targets: &[(IpAddr, u16)],
) -> PcProbe {
    let remote = match Remote::connect(inventory, node, options).await {
        Ok(remote) => remote,
        Err(error) => {
            return PcProbe {
                ssh: Err(error),
                facts: None,
                clock: None,
                ports: None,
            };
        }
    };
    let on_a_pc = node.transport == Transport::Ssh;
    // The clock first, alone on the connection: its round trips stay short.
    let clock = if on_a_pc {
        Some(measure_clock(&remote, limits).await)
    } else {
        None
    };
    let facts = async {
        remote
            .run_with_timeout(&facts::script(&inventory.install), limits.command_timeout)
            .await
            .map(|output| facts::parse(&output.stdout))
            .map_err(|error| error.to_string())
    };
    let ports = async {
        if !on_a_pc {
            return None;
        }
        let script = ports::script(targets, limits.port_timeout);
        let bound = limits.port_timeout + limits.command_timeout;
        Some(
            remote
                .run_with_timeout(&script, bound)
                .await
                .map(|output| ports::parse(&output.stdout))
                .map_err(|error| error.to_string()),
        )
    };
    let (facts, ports) = futures::join!(facts, ports);
    remote.close().await;
    PcProbe {
        ssh: Ok(()),
        facts: Some(facts),
        clock,
        ports,
    }
}

async fn measure_clock(remote: &Remote, limits: &Limits) -> Result<clock::Offset, String> {
    let mut samples = Vec::new();
    let mut last_output = String::new();
    for _ in 0..clock::SAMPLES {
        let before = clock::now_ns();
        let output = remote
            .run_with_timeout(clock::DATE_COMMAND, limits.command_timeout)
            .await
            .map_err(|error| error.to_string())?;
        let after = clock::now_ns();
        match clock::parse_date(&output.stdout) {
            Some(remote) => samples.push(clock::Sample {
                before,
                remote,
                after,
            }),
            None => last_output = output.tail(2),
        }
    }
    clock::offset(&samples).ok_or_else(|| {
        format!(
            "`{}` did not print nanoseconds: {last_output:?}",
            clock::DATE_COMMAND
        )
    })
}

async fn probe_from_here(inventory: &Inventory, limits: &Limits) -> FromHere {
    let cql =
        join_all(inventory.nodes.iter().map(|node| {
            ports::probe_from_here((node.address, ports::CQL_PORT), limits.port_timeout)
        }));
    let endpoints: Vec<String> = inventory
        .app
        .kafka_bootstrap
        .split(',')
        .map(|endpoint| endpoint.trim().to_string())
        .collect();
    let kafka = join_all(
        endpoints
            .iter()
            .map(|endpoint| ports::probe_from_here(endpoint.as_str(), limits.port_timeout)),
    );
    let (cql, kafka) = futures::join!(cql, kafka);
    FromHere {
        cql,
        kafka: endpoints.into_iter().zip(kafka).collect(),
    }
}

/// A row in the making.
fn row(kind: CheckKind, pc: &str, verdict: Verdict, detail: String, remedy: String) -> Check {
    Check {
        kind,
        pc: pc.to_string(),
        verdict,
        detail,
        remedy,
    }
}

fn pass(kind: CheckKind, pc: &str, detail: String) -> Check {
    row(kind, pc, Verdict::Pass, detail, String::new())
}

fn fail(kind: CheckKind, pc: &str, detail: String, remedy: impl Into<String>) -> Check {
    row(kind, pc, Verdict::Fail, detail, remedy.into())
}

fn skip(kind: CheckKind, pc: &str, detail: impl Into<String>) -> Check {
    row(kind, pc, Verdict::Skip, detail.into(), String::new())
}

const LOOPBACK: &str = "loopback lab (local transport):";

/// Turns what was learnt into the report's rows, ordered by check, then PC.
fn judge(inventory: &Inventory, pcs: &[PcProbe], here: &FromHere, limits: &Limits) -> Vec<Check> {
    let mut checks = Vec::new();
    let versions: Vec<Option<&str>> = pcs
        .iter()
        .map(|probe| match &probe.facts {
            Some(Ok(facts)) => facts.cassandra_version.as_deref(),
            _ => None,
        })
        .collect();
    for (index, (node, probe)) in inventory.nodes.iter().zip(pcs).enumerate() {
        let pc = node.name.as_str();
        let local = node.transport == Transport::Local;
        checks.push(match (&probe.ssh, local) {
            (Ok(()), true) => skip(CheckKind::Ssh, pc, format!("{LOOPBACK} no SSH")),
            (Ok(()), false) => pass(
                CheckKind::Ssh,
                pc,
                format!("reached {}, host key known", node.ssh_host),
            ),
            (Err(error), _) => fail(
                CheckKind::Ssh,
                pc,
                error.to_string(),
                ssh_remedy(error, node),
            ),
        });
        let facts = match &probe.facts {
            Some(Ok(facts)) => Ok(facts),
            Some(Err(error)) => Err(format!("the checks could not run: {error}")),
            None => Err("not checked: no SSH".to_string()),
        };
        let kinds = [
            CheckKind::Java,
            CheckKind::CassandraVersion,
            CheckKind::Disk,
            CheckKind::Memory,
            CheckKind::Config,
        ];
        let facts = match facts {
            Ok(facts) => facts,
            Err(why) => {
                for kind in kinds {
                    checks.push(skip(kind, pc, why.clone()));
                }
                checks.push(clock_check(node, probe, limits));
                continue;
            }
        };
        checks.push(java_check(pc, &facts.java));
        checks.push(version_check(inventory, index, local, &versions));
        checks.push(disk_check(inventory, pc, facts, limits));
        checks.push(memory_check(pc, facts, limits));
        checks.push(config_check(inventory, node, local, facts));
        checks.push(clock_check(node, probe, limits));
    }
    for (index, node) in inventory.nodes.iter().enumerate() {
        checks.push(ports_check(inventory, index, pcs, here, node));
    }
    checks.push(kafka_check(inventory, here));
    checks.sort_by_key(|check| check.kind);
    checks
}

fn ssh_remedy(error: &RemoteError, node: &NodeSpec) -> String {
    let user = node
        .ssh_user
        .as_deref()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    match error {
        RemoteError::Unreachable { .. } | RemoteError::ConnectTimeout { .. } => format!(
            "is {} on, on the demo's network, with sshd running (`systemctl status ssh`)? \
             is {} its address?",
            node.name, node.ssh_host
        ),
        RemoteError::AuthenticationFailed { .. } => format!(
            "install PC4's key on {}: `ssh-copy-id {user}{}`",
            node.name, node.ssh_host
        ),
        // The message already says what to do (host keys), or shows what went wrong.
        _ => "see the message".to_string(),
    }
}

const INSTALL_JAVA: &str = "install Java 17 (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`), or point JAVA_HOME at one";

fn java_check(pc: &str, java: &JavaFact) -> Check {
    let kind = CheckKind::Java;
    match java {
        JavaFact::Missing => fail(
            kind,
            pc,
            "no Java (neither $JAVA_HOME/bin/java nor `java` on PATH)".into(),
            INSTALL_JAVA,
        ),
        JavaFact::Found {
            path,
            major: Some(major @ (11 | 17)),
            ..
        } => pass(kind, pc, format!("Java {major} ({path})")),
        JavaFact::Found {
            path,
            major: Some(major),
            ..
        } => fail(
            kind,
            pc,
            format!("Java {major} ({path}): Cassandra 5.0 runs on Java 11 or 17 only"),
            INSTALL_JAVA,
        ),
        JavaFact::Found {
            path, version_line, ..
        } => fail(
            kind,
            pc,
            format!("`{path} -version` did not say its version: {version_line}"),
            INSTALL_JAVA,
        ),
    }
}

fn version_check(
    inventory: &Inventory,
    index: usize,
    local: bool,
    versions: &[Option<&str>],
) -> Check {
    let kind = CheckKind::CassandraVersion;
    let pc = inventory.nodes[index].name.as_str();
    if local {
        return skip(kind, pc, format!("{LOOPBACK} the lab's own distribution"));
    }
    let Some(version) = versions[index] else {
        return fail(
            kind,
            pc,
            format!(
                "not installed: no {}",
                inventory.install.version_file().display()
            ),
            "run `demo provision`",
        );
    };
    let others: Vec<String> = inventory
        .nodes
        .iter()
        .zip(versions)
        .filter(|(_, other)| other.is_some_and(|other| other != version))
        .map(|(node, other)| format!("{} on {}", other.unwrap_or("?"), node.name))
        .collect();
    if !others.is_empty() {
        fail(
            kind,
            pc,
            format!("{version} here, {}", others.join(", ")),
            "run `demo provision`: it installs PC4's version on every PC",
        )
    } else if !version.starts_with("5.0") {
        fail(
            kind,
            pc,
            format!("Cassandra {version}: the demonstration is built for 5.0"),
            "run `demo provision`",
        )
    } else {
        pass(kind, pc, format!("{version}, the same on every PC"))
    }
}

fn gib(kib: u64) -> String {
    format!("{:.1} GiB", kib as f64 / GIB_IN_KIB as f64)
}

fn disk_check(inventory: &Inventory, pc: &str, facts: &Facts, limits: &Limits) -> Check {
    let kind = CheckKind::Disk;
    let path = inventory.install.path.display();
    match facts.free_disk_kib {
        None => fail(
            kind,
            pc,
            format!("`df` said nothing about {path}"),
            "check the file system",
        ),
        Some(free) if free < limits.min_free_disk_kib => fail(
            kind,
            pc,
            format!(
                "{} free at {path}, below {}",
                gib(free),
                gib(limits.min_free_disk_kib)
            ),
            "free some space, or choose another [install] path in hosts.toml",
        ),
        Some(free) => pass(kind, pc, format!("{} free at {path}", gib(free))),
    }
}

fn memory_check(pc: &str, facts: &Facts, limits: &Limits) -> Check {
    let kind = CheckKind::Memory;
    match facts.memory_kib {
        None => fail(
            kind,
            pc,
            "no MemTotal/MemAvailable in /proc/meminfo".into(),
            "a Linux PC is needed",
        ),
        Some((total, _)) if total < limits.min_total_memory_kib => fail(
            kind,
            pc,
            format!(
                "{} in all, below {}",
                gib(total),
                gib(limits.min_total_memory_kib)
            ),
            "Cassandra 5 needs a PC with more memory",
        ),
        Some((total, available)) if available < limits.min_available_memory_kib => fail(
            kind,
            pc,
            format!(
                "{} available of {}, below {}",
                gib(available),
                gib(total),
                gib(limits.min_available_memory_kib)
            ),
            "close what else runs on the PC",
        ),
        Some((total, available)) => pass(
            kind,
            pc,
            format!("{} available of {}", gib(available), gib(total)),
        ),
    }
}

fn config_check(inventory: &Inventory, node: &NodeSpec, local: bool, facts: &Facts) -> Check {
    let kind = CheckKind::Config;
    let pc = node.name.as_str();
    if local {
        return skip(kind, pc, format!("{LOOPBACK} `demo lab up` writes it"));
    }
    let path = inventory.install.cassandra_yaml();
    let Some(yaml) = &facts.cassandra_yaml else {
        return fail(
            kind,
            pc,
            format!("no {}", path.display()),
            "run `demo provision`",
        );
    };
    let expected = config::Expected {
        cluster_name: inventory.cluster.name.clone(),
        address: node.address,
        seeds: inventory
            .nodes
            .iter()
            .filter(|node| node.seed)
            .map(|node| node.address)
            .collect::<BTreeSet<_>>(),
    };
    let problems = config::mismatches(&config::read(yaml), &expected);
    if problems.is_empty() {
        pass(
            kind,
            pc,
            "cluster_name, seeds, listen and rpc addresses as hosts.toml says".into(),
        )
    } else {
        fail(
            kind,
            pc,
            format!("{}: {}", path.display(), problems.join("; ")),
            format!(
                "run `demo provision` (it writes cassandra.yaml from hosts.toml), or correct \
                 the file and restart the node (`demo kill-node {n}` then `demo start-node {n}`)",
                n = node.number
            ),
        )
    }
}

fn clock_check(node: &NodeSpec, probe: &PcProbe, limits: &Limits) -> Check {
    let kind = CheckKind::Clock;
    let pc = node.name.as_str();
    let bound = limits.clock_bound.as_millis();
    match &probe.clock {
        None if node.transport == Transport::Local => {
            skip(kind, pc, format!("{LOOPBACK} one machine, one clock"))
        }
        None => skip(kind, pc, "not checked: no SSH"),
        Some(Err(error)) => fail(
            kind,
            pc,
            format!("could not read its clock: {error}"),
            "the PC needs GNU date (coreutils)",
        ),
        Some(Ok(offset)) => {
            let detail = format!(
                "{:+} ms from PC4 (± {} ms)",
                offset.offset_ms, offset.uncertainty_ms
            );
            if offset.exceeds(limits.clock_bound) {
                fail(
                    kind,
                    pc,
                    format!("{detail}, beyond ± {bound} ms: Cassandra orders writes by timestamp"),
                    "synchronise the clocks: NTP on every PC (`timedatectl set-ntp true`, or \
                     chrony), or set it by hand (`date -s`)",
                )
            } else {
                pass(kind, pc, detail)
            }
        }
    }
}

/// What one source saw of one port of the node under check.
struct Seen<'a> {
    source: &'a str,
    port: u16,
    reach: &'a Reach,
}

fn ports_check(
    inventory: &Inventory,
    index: usize,
    pcs: &[PcProbe],
    here: &FromHere,
    node: &NodeSpec,
) -> Check {
    let kind = CheckKind::Ports;
    let pc = node.name.as_str();
    let app = inventory.app.name.as_str();
    let mut seen: Vec<Seen> = Vec::new();
    let mut unprobed: Vec<&str> = Vec::new();
    for (source, probe) in inventory.nodes.iter().zip(pcs) {
        match &probe.ports {
            Some(Ok(probes)) => seen.extend(
                probes
                    .iter()
                    .filter(|probe| probe.address == node.address)
                    .map(|probe| Seen {
                        source: source.name.as_str(),
                        port: probe.port,
                        reach: &probe.reach,
                    }),
            ),
            Some(Err(_)) => unprobed.push(source.name.as_str()),
            None => {}
        }
    }
    if let Some(reach) = here.cql.get(index) {
        seen.push(Seen {
            source: app,
            port: ports::CQL_PORT,
            reach,
        });
    }
    let mut problems: Vec<String> = Vec::new();
    let mut remedies: Vec<String> = Vec::new();
    let mut remedy = |text: String| {
        if !remedies.contains(&text) {
            remedies.push(text);
        }
    };
    // A port refused from everywhere, the PC itself included: nothing listens.
    let not_listening: Vec<u16> = NODE_PORTS
        .iter()
        .map(|(port, _)| *port)
        .filter(|port| {
            let on_port: Vec<&Seen> = seen.iter().filter(|seen| seen.port == *port).collect();
            !on_port.is_empty() && on_port.iter().all(|seen| *seen.reach == Reach::Refused)
        })
        .collect();
    if !not_listening.is_empty() {
        let list = join_ports(&not_listening);
        problems.push(format!(
            "{list} refused from every PC: Cassandra is not running on {pc} (or not listening on {})",
            node.address
        ));
        remedy(format!(
            "start it: `demo start-node {}` (a PC never provisioned: `demo provision`)",
            node.number
        ));
    }
    let open_on_itself = |port: u16| {
        seen.iter()
            .any(|seen| seen.source == pc && seen.port == port && *seen.reach == Reach::Open)
    };
    for seen in seen
        .iter()
        .filter(|seen| !not_listening.contains(&seen.port))
    {
        let (port, source) = (seen.port, seen.source);
        let what = format!(
            "{}:{port} ({}) from {source}",
            node.address,
            port_name(port)
        );
        match seen.reach {
            Reach::Open => {}
            Reach::TimedOut => {
                problems.push(format!(
                    "{what} timed out: a firewall drops it (on {pc}, or on {source} going out)"
                ));
                remedy(format!(
                    "open it on {pc}: `iptables -I INPUT -p tcp --dport {port} -j ACCEPT` (or \
                     `ufw allow {port}/tcp`); check {source}'s OUTPUT rules too"
                ));
            }
            Reach::Refused if open_on_itself(port) => {
                problems.push(format!(
                    "{what} refused, though open on {pc} itself: a REJECT rule, or Cassandra \
                     listening on another address"
                ));
                remedy(format!(
                    "on {pc}: check `iptables -L -n` and listen_address/rpc_address in cassandra.yaml"
                ));
            }
            Reach::Refused => {
                problems.push(format!("{what} refused: nothing listens there"));
                remedy(format!(
                    "is Cassandra running on {pc}? `demo start-node {}`",
                    node.number
                ));
            }
            Reach::NoRoute => {
                problems.push(format!("{what}: no route to {}", node.address));
                remedy(format!(
                    "{source} and {pc} must be on the same network: check their addresses and cables"
                ));
            }
            Reach::Failed(message) => {
                problems.push(format!("{what}: the probe failed: {message}"));
                remedy(format!("{source} needs bash and coreutils' `timeout`"));
            }
        }
    }
    if node.transport == Transport::Local && problems.is_empty() {
        return pass(
            kind,
            pc,
            format!(
                "CQL open from {app}; {LOOPBACK} the nodes share this machine's loopback, \
                 nothing between them to check"
            ),
        );
    }
    if problems.is_empty() {
        let mut sources: Vec<&str> = seen
            .iter()
            .filter(|seen| seen.source != app)
            .map(|seen| seen.source)
            .collect();
        sources.dedup();
        let mut detail = format!("open from {}; CQL from {app}", sources.join(", "));
        if !unprobed.is_empty() {
            detail.push_str(&format!(" (not tried from {})", unprobed.join(", ")));
        }
        return pass(kind, pc, detail);
    }
    fail(kind, pc, problems.join("; "), remedies.join("; "))
}

fn port_name(port: u16) -> &'static str {
    NODE_PORTS
        .iter()
        .find(|(known, _)| *known == port)
        .map_or("?", |(_, name)| name)
}

fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|port| format!("{port} ({})", port_name(*port)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kafka_check(inventory: &Inventory, here: &FromHere) -> Check {
    let kind = CheckKind::Kafka;
    let app = inventory.app.name.as_str();
    let mut problems = Vec::new();
    let mut remedies = Vec::new();
    for (endpoint, reach) in &here.kafka {
        match reach {
            Reach::Open => {}
            Reach::Refused => {
                problems.push(format!("{endpoint} refused: Kafka is not running"));
                remedies.push(
                    "start Kafka on PC4 (`demo provision` does; on the lab `demo lab up`)"
                        .to_string(),
                );
            }
            Reach::TimedOut => {
                problems.push(format!("{endpoint} timed out: a firewall drops it"));
                remedies.push(format!("open the port on {app} (`ufw allow 9092/tcp`)"));
            }
            Reach::NoRoute => {
                problems.push(format!("{endpoint}: no route"));
                remedies.push("check [app].kafka_bootstrap in hosts.toml".to_string());
            }
            Reach::Failed(message) => {
                problems.push(format!("{endpoint}: {message}"));
                remedies.push("check [app].kafka_bootstrap in hosts.toml".to_string());
            }
        }
    }
    if problems.is_empty() {
        pass(
            kind,
            app,
            format!("{} answers", inventory.app.kafka_bootstrap),
        )
    } else {
        fail(kind, app, problems.join("; "), remedies.join("; "))
    }
}

#[cfg(test)]
mod tests;
