//! Is the cluster whole? `demo check-cluster` and the checks the scenario reuses.
//!
//! The cluster is judged the way an operator would judge it, from every PC:
//! each node runs `nodetool status` and `nodetool describecluster` (over SSH
//! or locally), and each node is asked over CQL, alone, how the keyspace is
//! replicated. Whole means: every node UN as seen by every node, one cluster
//! name (the expected one), schema agreement, CQL answering everywhere and
//! the keyspace at the expected replication factor.
//!
//! Public API (stable, used by `nemesis` and `scenario`):
//! - [`check`] → [`ClusterReport`] ([`ClusterReport::is_whole`], [`ClusterReport::render`])
//! - [`node_states_seen_by`] → [`NodeStates`]: how one PC sees every node
//! - [`capture_status`]: the raw `nodetool status` text from one PC
//! - [`wait_for_state`]: bounded wait until peers see a node up (UN) or down
//! - [`command`]: the `check-cluster` subcommand
//! - [`replication_via`] / [`Replication`]: one node's view of a keyspace over CQL

mod cql;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use indicatif::{ProgressBar, ProgressStyle};

pub use cql::{CQL_PORT, Replication, replication_via};

use crate::cli::Target;
use crate::hosts::{ClusterSpec, HostsError, Inventory, NodeSpec};
use crate::nodetool::{self, DescribeCluster, NodeState, ParseError, Status};
use crate::remote::{Remote, RemoteError, RemoteOptions};

/// nodetool starts a JVM each time; against a frozen node it can hang until
/// the command timeout, so checks cap it lower than a start or stop.
const NODETOOL_TIMEOUT_CAP: Duration = Duration::from_secs(20);

/// The shortest CQL probe: a loaded laptop may take a few seconds to answer.
const CQL_TIMEOUT_FLOOR: Duration = Duration::from_secs(5);

/// Pause between two polls of a wait.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why a check could not be carried out at all (a node that is down is not
/// an error: it is a problem in the report).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Hosts(#[from] HostsError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("{host}: {source}")]
    Nodetool {
        host: String,
        #[source]
        source: ParseError,
    },
    #[error(
        "{node} was not seen {wanted} within {}s{}",
        waited.as_secs(),
        last.as_deref().map(|last| format!(" (last: {last})")).unwrap_or_default()
    )]
    WaitTimedOut {
        node: String,
        wanted: Expectation,
        waited: Duration,
        last: Option<String>,
    },
}

/// How one PC sees the cluster, and whether it answers CQL.
#[derive(Debug, Clone)]
pub struct ObserverReport {
    pub name: String,
    pub address: IpAddr,
    pub status: Result<Status, String>,
    pub describe: Result<DescribeCluster, String>,
    /// The keyspace's replication read over CQL from this node alone
    /// (`Ok(None)`: answered, but no such keyspace; `Err`: CQL did not answer).
    pub replication: Result<Option<Replication>, String>,
}

/// One line of the table: a PC and how every PC sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub name: String,
    pub address: IpAddr,
    /// State as seen by each observer, in inventory order; `None` when that
    /// observer could not tell or does not list the node.
    pub seen: Vec<Option<NodeState>>,
    pub load: Option<String>,
    pub owns_percent: Option<f64>,
    /// The node answered the CQL probe.
    pub cql: bool,
}

/// The verdict of `check-cluster`, with everything that led to it.
#[derive(Debug, Clone)]
pub struct ClusterReport {
    pub expected: ClusterSpec,
    pub observers: Vec<ObserverReport>,
    pub nodes: Vec<NodeRow>,
    /// Cluster names reported by describecluster (one when all agree).
    pub cluster_names: BTreeSet<String>,
    /// Schema versions reported by describecluster (one means agreement).
    pub schema_versions: BTreeSet<String>,
    /// The keyspace's replication, as the first answering node reports it.
    pub replication: Option<Replication>,
    /// Everything that keeps the cluster from being whole; empty when whole.
    pub problems: Vec<String>,
    pub took: Duration,
}

impl ClusterReport {
    pub fn is_whole(&self) -> bool {
        self.problems.is_empty()
    }

    fn assemble(inventory: &Inventory, observers: Vec<ObserverReport>, took: Duration) -> Self {
        let expected = inventory.cluster.clone();
        let mut problems = Vec::new();
        for observer in &observers {
            if let Err(err) = &observer.status {
                problems.push(format!("{}: no nodetool status: {err}", observer.name));
            }
        }
        let nodes: Vec<NodeRow> = inventory
            .nodes
            .iter()
            .map(|node| node_row(node, &observers))
            .collect();
        for (node, row) in inventory.nodes.iter().zip(&nodes) {
            state_problems(node, row, &observers, &mut problems);
        }
        unknown_node_problems(inventory, &observers, &mut problems);

        let mut cluster_names = BTreeSet::new();
        let mut schema_versions = BTreeSet::new();
        for observer in &observers {
            match &observer.describe {
                // Already reported: its nodetool status failed.
                Err(_) if observer.status.is_err() => {}
                Err(err) => problems.push(format!(
                    "{}: no nodetool describecluster: {err}",
                    observer.name
                )),
                Ok(described) => {
                    cluster_names.insert(described.name.clone());
                    if described.name != expected.name {
                        problems.push(format!(
                            "{} belongs to cluster {:?}, expected {:?}",
                            observer.name, described.name, expected.name
                        ));
                    }
                    schema_versions.extend(
                        described
                            .schema_versions
                            .iter()
                            .map(|schema| schema.version.clone()),
                    );
                }
            }
        }
        unreachable_problems(inventory, &observers, &nodes, &mut problems);
        if schema_versions.len() > 1 {
            problems.push(format!(
                "schema disagreement: {} schema versions ({})",
                schema_versions.len(),
                schema_versions
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let replication = replication_problems(&expected, &observers, &mut problems);
        ClusterReport {
            expected,
            observers,
            nodes,
            cluster_names,
            schema_versions,
            replication,
            problems,
            took,
        }
    }

    /// A table (PC, address, state as seen by each PC, load, ownership, CQL)
    /// followed by the cluster-wide facts and the verdict.
    pub fn render(&self) -> String {
        let mut header = vec!["PC".to_string(), "address".to_string()];
        header.extend(
            self.observers
                .iter()
                .map(|observer| format!("seen by {}", observer.name)),
        );
        header.extend(["load", "owns", "CQL"].map(String::from));
        let mut table = vec![header];
        for row in &self.nodes {
            let mut line = vec![row.name.clone(), row.address.to_string()];
            line.extend(row.seen.iter().map(|state| match state {
                Some(state) => state.to_string(),
                None => "?".to_string(),
            }));
            line.push(row.load.clone().unwrap_or_else(|| "?".to_string()));
            line.push(
                row.owns_percent
                    .map(|owns| format!("{owns:.1}%"))
                    .unwrap_or_else(|| "?".to_string()),
            );
            line.push(if row.cql { "ok" } else { "no answer" }.to_string());
            table.push(line);
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Cluster {:?}: {} nodes expected, keyspace {} with replication factor {}",
            self.expected.name,
            self.nodes.len(),
            self.expected.keyspace,
            self.expected.replication_factor
        );
        out.push('\n');
        out.push_str(&format_table(&table));
        out.push('\n');
        let names = if self.cluster_names.is_empty() {
            "unknown".to_string()
        } else {
            self.cluster_names
                .iter()
                .map(|name| format!("{name:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "cluster name:   {names}");
        let schema = match self.schema_versions.len() {
            0 => "unknown".to_string(),
            1 => "agreement (1 version)".to_string(),
            n => format!("DISAGREEMENT ({n} versions)"),
        };
        let _ = writeln!(out, "schema:         {schema}");
        let replication = self
            .replication
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "unknown".to_string());
        let _ = writeln!(
            out,
            "replication:    {} {replication}",
            self.expected.keyspace
        );
        let _ = writeln!(out, "checked in:     {:.1} s", self.took.as_secs_f64());
        out.push('\n');
        if self.is_whole() {
            let _ = writeln!(
                out,
                "✓ cluster whole: {n} nodes UN as seen by all {n}, one cluster name, schema agreement, \
                 {} at replication factor {}",
                self.expected.keyspace,
                self.expected.replication_factor,
                n = self.nodes.len()
            );
        } else {
            let _ = writeln!(out, "✗ cluster NOT whole:");
            for problem in &self.problems {
                let _ = writeln!(out, "  - {problem}");
            }
        }
        out
    }
}

fn node_row(node: &NodeSpec, observers: &[ObserverReport]) -> NodeRow {
    let rows: Vec<Option<&nodetool::StatusRow>> = observers
        .iter()
        .map(|observer| observer.status.as_ref().ok()?.row(node.address))
        .collect();
    // The node's own view first: its load is freshest there.
    let own = observers.iter().position(|o| o.address == node.address);
    let ordered = own
        .and_then(|index| rows[index])
        .into_iter()
        .chain(rows.iter().flatten().copied());
    let mut load = None;
    let mut owns_percent = None;
    for row in ordered {
        if load.is_none() {
            load = row.load.as_ref().map(|load| load.text.clone());
        }
        if owns_percent.is_none() {
            owns_percent = row.owns_percent;
        }
    }
    NodeRow {
        name: node.name.clone(),
        address: node.address,
        seen: rows.iter().map(|row| row.map(|row| row.state)).collect(),
        load,
        owns_percent,
        cql: own.is_some_and(|index| observers[index].replication.is_ok()),
    }
}

/// "PC2 (127.0.0.2) is DN as seen by PC1, PC3", one line per distinct state.
fn state_problems(
    node: &NodeSpec,
    row: &NodeRow,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) {
    let mut by_state: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (observer, seen) in observers.iter().zip(&row.seen) {
        if observer.status.is_err() {
            continue;
        }
        let state = match seen {
            Some(state) if *state == NodeState::UN => continue,
            Some(state) => format!("is {state}"),
            None => "is missing".to_string(),
        };
        by_state.entry(state).or_default().push(&observer.name);
    }
    for (state, seen_by) in by_state {
        problems.push(format!(
            "{} {state} as seen by {}",
            node.label(),
            seen_by.join(", ")
        ));
    }
    if !row.cql {
        let why = observers
            .iter()
            .find(|observer| observer.address == node.address)
            .and_then(|observer| observer.replication.as_ref().err())
            .cloned()
            .unwrap_or_default();
        problems.push(format!("{} does not answer CQL: {why}", node.label()));
    }
}

/// Endpoints describecluster calls unreachable although nodetool status
/// shows every observer's view of them UN (gossip and the failure detector
/// disagree for a moment, or a node is partitioned from some peers only).
fn unreachable_problems(
    inventory: &Inventory,
    observers: &[ObserverReport],
    nodes: &[NodeRow],
    problems: &mut Vec<String>,
) {
    for observer in observers {
        let Ok(described) = &observer.describe else {
            continue;
        };
        for endpoint in &described.unreachable {
            let address = nodetool::endpoint_ip(endpoint);
            let already_reported = nodes.iter().any(|row| {
                Some(row.address) == address && row.seen.iter().any(|s| *s != Some(NodeState::UN))
            });
            if !already_reported {
                let name = address
                    .and_then(|address| inventory.node_by_address(address))
                    .map(NodeSpec::label)
                    .unwrap_or_else(|| endpoint.clone());
                problems.push(format!(
                    "{} cannot reach {name} (describecluster)",
                    observer.name
                ));
            }
        }
    }
}

/// Ring members the hosts file does not know about.
fn unknown_node_problems(
    inventory: &Inventory,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) {
    let mut unknown: BTreeMap<IpAddr, Vec<&str>> = BTreeMap::new();
    for observer in observers {
        let Ok(status) = &observer.status else {
            continue;
        };
        for row in &status.rows {
            if inventory.node_by_address(row.address).is_none() {
                unknown.entry(row.address).or_default().push(&observer.name);
            }
        }
    }
    for (address, seen_by) in unknown {
        problems.push(format!(
            "{address} is in the ring (seen by {}) but not in {}",
            seen_by.join(", "),
            inventory.path.display()
        ));
    }
}

fn replication_problems(
    expected: &ClusterSpec,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) -> Option<Replication> {
    let answers: Vec<(&str, &Option<Replication>)> = observers
        .iter()
        .filter_map(|observer| Some((observer.name.as_str(), observer.replication.as_ref().ok()?)))
        .collect();
    let Some((_, first)) = answers.first() else {
        problems.push(format!(
            "replication of {} unknown: no node answered CQL",
            expected.keyspace
        ));
        return None;
    };
    let distinct: BTreeSet<String> = answers
        .iter()
        .map(|(_, replication)| describe_replication(replication))
        .collect();
    if distinct.len() > 1 {
        let views: Vec<String> = answers
            .iter()
            .map(|(name, replication)| format!("{name}: {}", describe_replication(replication)))
            .collect();
        problems.push(format!(
            "nodes disagree on {}'s replication ({})",
            expected.keyspace,
            views.join("; ")
        ));
    }
    match first {
        None => problems.push(format!("keyspace {} does not exist", expected.keyspace)),
        Some(replication) if !replication.has_factor(expected.replication_factor) => {
            problems.push(format!(
                "keyspace {} is replicated {replication}, expected replication factor {}",
                expected.keyspace, expected.replication_factor
            ))
        }
        Some(_) => {}
    }
    (*first).clone()
}

fn describe_replication(replication: &Option<Replication>) -> String {
    replication
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "no such keyspace".to_string())
}

fn format_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Checks the cluster from every node at once.
pub async fn check(
    inventory: &Inventory,
    options: &RemoteOptions,
) -> Result<ClusterReport, ClusterError> {
    let started = Instant::now();
    let observers = join_all(
        inventory
            .nodes
            .iter()
            .map(|node| observe(inventory, node, options)),
    )
    .await;
    Ok(ClusterReport::assemble(
        inventory,
        observers,
        started.elapsed(),
    ))
}

async fn observe(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
) -> ObserverReport {
    let keyspace = &inventory.cluster.keyspace;
    let nodetool_views = async {
        let remote = match Remote::connect(inventory, node, options).await {
            Ok(remote) => remote,
            Err(err) => return (Err(err.to_string()), Err(err.to_string())),
        };
        let status = fetch_status(&remote, node, keyspace, options)
            .await
            .and_then(|raw| parse(&remote, nodetool::parse_status(&raw)))
            .map_err(|err| err.to_string());
        // A node whose nodetool failed (down, frozen) would only fail again,
        // after another timeout.
        let describe = if status.is_ok() {
            run_nodetool(&remote, node, "describecluster", options)
                .await
                .and_then(|raw| parse(&remote, nodetool::parse_describecluster(&raw)))
                .map_err(|err| err.to_string())
        } else {
            Err("not asked: nodetool status failed there".to_string())
        };
        remote.close().await;
        (status, describe)
    };
    let cql_view = replication_via(node.address, keyspace, cql_timeout(options));
    let ((status, describe), replication) = tokio::join!(nodetool_views, cql_view);
    ObserverReport {
        name: node.name.clone(),
        address: node.address,
        status,
        describe,
        replication,
    }
}

fn parse<T>(remote: &Remote, parsed: Result<T, ParseError>) -> Result<T, ClusterError> {
    parsed.map_err(|source| ClusterError::Nodetool {
        host: remote.host().to_string(),
        source,
    })
}

fn nodetool_timeout(options: &RemoteOptions) -> Duration {
    options.command_timeout.min(NODETOOL_TIMEOUT_CAP)
}

/// How long a CQL probe may take.
pub fn cql_timeout(options: &RemoteOptions) -> Duration {
    options.connect_timeout.max(CQL_TIMEOUT_FLOOR)
}

/// Runs `<nodetool> <subcommand>` on `node`; its stdout when it succeeded.
async fn run_nodetool(
    remote: &Remote,
    node: &NodeSpec,
    subcommand: &str,
    options: &RemoteOptions,
) -> Result<String, ClusterError> {
    let command = node.nodetool(subcommand);
    let output = remote
        .run_with_timeout(&command, nodetool_timeout(options))
        .await?;
    if output.success() {
        Ok(output.stdout)
    } else {
        Err(RemoteError::Failed {
            host: remote.host().to_string(),
            command,
            status: output.status,
            output: output.tail(3),
        }
        .into())
    }
}

/// `nodetool status <keyspace>` (effective ownership), or plain `nodetool
/// status` when the keyspace does not exist yet.
async fn fetch_status(
    remote: &Remote,
    node: &NodeSpec,
    keyspace: &str,
    options: &RemoteOptions,
) -> Result<String, ClusterError> {
    match run_nodetool(remote, node, &format!("status {keyspace}"), options).await {
        Err(ClusterError::Remote(RemoteError::Failed { output, .. }))
            if output.contains("does not exist") || output.contains("Unknown keyspace") =>
        {
            run_nodetool(remote, node, "status", options).await
        }
        other => other,
    }
}

/// How one PC sees every node of the ring.
#[derive(Debug, Clone)]
pub struct NodeStates {
    /// The observing PC's name.
    pub observer: String,
    pub status: Status,
    /// nodetool's text as printed.
    pub raw: String,
}

impl NodeStates {
    /// `node`'s state, or `None` when the observer does not list it.
    pub fn state_of(&self, node: &NodeSpec) -> Option<NodeState> {
        self.status.row(node.address).map(|row| row.state)
    }
}

/// Runs `nodetool status` on `observer` and parses it.
pub async fn node_states_seen_by(
    inventory: &Inventory,
    observer: &NodeSpec,
    options: &RemoteOptions,
) -> Result<NodeStates, ClusterError> {
    let remote = Remote::connect(inventory, observer, options).await?;
    let states = states_via(&remote, inventory, observer, options).await;
    remote.close().await;
    states
}

async fn states_via(
    remote: &Remote,
    inventory: &Inventory,
    observer: &NodeSpec,
    options: &RemoteOptions,
) -> Result<NodeStates, ClusterError> {
    let raw = fetch_status(remote, observer, &inventory.cluster.keyspace, options).await?;
    let status = parse(remote, nodetool::parse_status(&raw))?;
    Ok(NodeStates {
        observer: observer.name.clone(),
        status,
        raw,
    })
}

/// The raw `nodetool status <keyspace>` text as `observer` prints it (for
/// the scenario's capture step: shown to the audience and saved).
pub async fn capture_status(
    inventory: &Inventory,
    observer: &NodeSpec,
    options: &RemoteOptions,
) -> Result<String, ClusterError> {
    let remote = Remote::connect(inventory, observer, options).await?;
    let raw = fetch_status(&remote, observer, &inventory.cluster.keyspace, options).await;
    remote.close().await;
    raw
}

/// What a wait expects the node's peers to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// UN: up and normal.
    Up,
    /// Down (DN, or any D state).
    Down,
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expectation::Up => "UN",
            Expectation::Down => "down",
        })
    }
}

impl Expectation {
    fn met_by(self, state: Option<NodeState>) -> bool {
        match self {
            Expectation::Up => state == Some(NodeState::UN),
            Expectation::Down => state.is_some_and(|state| !state.is_up()),
        }
    }
}

/// The moment a wait succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSeen {
    /// The peer that saw it.
    pub observer: String,
    pub state: NodeState,
    pub after: Duration,
}

/// Polls the other nodes' `nodetool status` until one of them sees `node`
/// as `wanted`, for at most `timeout`. Peers that cannot answer are skipped
/// and retried; `progress` (if any) shows the latest view.
pub async fn wait_for_state(
    inventory: &Inventory,
    node: &NodeSpec,
    wanted: Expectation,
    options: &RemoteOptions,
    timeout: Duration,
    progress: Option<&ProgressBar>,
) -> Result<StateSeen, ClusterError> {
    let started = Instant::now();
    let peers: Vec<&NodeSpec> = inventory
        .nodes
        .iter()
        .filter(|peer| peer.address != node.address)
        .collect();
    // With a single node, it is its own only witness.
    let peers = if peers.is_empty() { vec![node] } else { peers };
    let mut connections: Vec<Option<Remote>> = peers.iter().map(|_| None).collect();
    let mut last = None;
    let poll = async {
        loop {
            for (peer, connection) in peers.iter().zip(connections.iter_mut()) {
                if connection.is_none() {
                    match Remote::connect(inventory, peer, options).await {
                        Ok(remote) => *connection = Some(remote),
                        Err(err) => {
                            last = Some(err.to_string());
                            continue;
                        }
                    }
                }
                let Some(remote) = connection.as_ref() else {
                    continue;
                };
                match states_via(remote, inventory, peer, options).await {
                    Ok(states) => {
                        let state = states.state_of(node);
                        let shown = state.map_or("absent".to_string(), |s| s.to_string());
                        let seen = format!("{} sees {} {shown}", peer.name, node.name);
                        if let Some(progress) = progress {
                            progress.set_message(format!(
                                "waiting for {} to be {wanted}: {seen}",
                                node.name
                            ));
                        }
                        last = Some(seen);
                        if let Some(state) = state.filter(|state| wanted.met_by(Some(*state))) {
                            return StateSeen {
                                observer: peer.name.clone(),
                                state,
                                after: started.elapsed(),
                            };
                        }
                    }
                    Err(err) => {
                        last = Some(err.to_string());
                        // A lost SSH connection is re-established next round.
                        if matches!(err, ClusterError::Remote(_)) {
                            *connection = None;
                        }
                    }
                }
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    };
    let outcome = tokio::time::timeout(timeout, poll).await;
    for remote in connections.into_iter().flatten() {
        remote.close().await;
    }
    outcome.map_err(|_elapsed| ClusterError::WaitTimedOut {
        node: node.label(),
        wanted,
        waited: timeout,
        last,
    })
}

/// A spinner on stderr with the elapsed time (hidden when not a terminal).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed:>3}] {msg}") {
        bar.set_style(style);
    }
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// `demo check-cluster`: prints the table and verdict; `Ok(false)` when the
/// cluster is not whole.
pub async fn command(target: &Target) -> anyhow::Result<bool> {
    let inventory = Inventory::from_target(target)?;
    let options = RemoteOptions::new(&inventory, target);
    let progress = spinner(format!(
        "checking {} nodes from each of them ({})",
        inventory.nodes.len(),
        inventory.path.display()
    ));
    let report = check(&inventory, &options).await;
    progress.finish_and_clear();
    let report = report?;
    print!("{}", report.render());
    Ok(report.is_whole())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const HOSTS: &str = r#"
[cluster]
name = "iot_demo_lab"
keyspace = "iot_demo"
replication_factor = 3
[[nodes]]
name = "PC1"
address = "127.0.0.1"
seed = true
[[nodes]]
name = "PC2"
address = "127.0.0.2"
[[nodes]]
name = "PC3"
address = "127.0.0.3"
[app]
address = "127.0.0.1"
kafka_bootstrap = "127.0.0.1:9092"
"#;

    fn inventory() -> Inventory {
        Inventory::parse(HOSTS, Path::new("hosts.toml")).unwrap()
    }

    fn status(states: &[(&str, &str)]) -> Status {
        let mut text = String::from(
            "Datacenter: datacenter1\n--  Address    Load       Token  Owns (effective)  Host ID  Rack\n",
        );
        for (state, address) in states {
            text.push_str(&format!(
                "{state}  {address}  120.5 KiB  -9223372036854775808  100.0%  id  rack1\n"
            ));
        }
        nodetool::parse_status(&text).unwrap()
    }

    fn describe(name: &str, version: &str) -> DescribeCluster {
        nodetool::parse_describecluster(&format!(
            "Cluster Information:\n\tName: {name}\n\tSchema versions:\n\t\t{version}: [127.0.0.1, 127.0.0.2, 127.0.0.3]\n"
        ))
        .unwrap()
    }

    fn simple(rf: &str) -> Replication {
        Replication {
            class: "SimpleStrategy".to_string(),
            options: [("replication_factor".to_string(), rf.to_string())].into(),
        }
    }

    fn observer(name: &str, address: &str, status: Result<Status, String>) -> ObserverReport {
        ObserverReport {
            name: name.to_string(),
            address: address.parse().unwrap(),
            status,
            describe: Ok(describe("iot_demo_lab", "v1")),
            replication: Ok(Some(simple("3"))),
        }
    }

    fn all_up() -> Status {
        status(&[
            ("UN", "127.0.0.1"),
            ("UN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
        ])
    }

    #[test]
    fn a_whole_cluster_renders_its_table_and_verdict() {
        let observers = vec![
            observer("PC1", "127.0.0.1", Ok(all_up())),
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ];
        let report = ClusterReport::assemble(&inventory(), observers, Duration::from_secs(2));
        assert!(report.is_whole(), "{:?}", report.problems);
        let text = report.render();
        assert!(
            text.contains("PC   address    seen by PC1  seen by PC2  seen by PC3  load"),
            "{text}"
        );
        assert!(
            text.contains(
                "PC2  127.0.0.2  UN           UN           UN           120.5 KiB  100.0%  ok"
            ),
            "{text}"
        );
        assert!(text.contains("✓ cluster whole"), "{text}");
        assert!(
            text.contains("SimpleStrategy {replication_factor=3}"),
            "{text}"
        );
    }

    #[test]
    fn a_stopped_node_is_reported_once_per_state() {
        let down = status(&[
            ("UN", "127.0.0.1"),
            ("DN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
        ]);
        let mut pc2 = observer(
            "PC2",
            "127.0.0.2",
            Err("PC2 (local): nodetool failed".into()),
        );
        pc2.describe = Err("PC2 (local): nodetool failed".into());
        pc2.replication = Err("CQL connection to 127.0.0.2:9042 failed".into());
        let observers = vec![
            observer("PC1", "127.0.0.1", Ok(down.clone())),
            pc2,
            observer("PC3", "127.0.0.3", Ok(down)),
        ];
        let report = ClusterReport::assemble(&inventory(), observers, Duration::from_secs(2));
        assert!(!report.is_whole());
        assert_eq!(
            report.nodes[1].seen,
            [Some(NodeState::DN), None, Some(NodeState::DN)]
        );
        assert!(!report.nodes[1].cql);
        let problems = report.problems.join("\n");
        assert!(
            problems.contains("PC2 (127.0.0.2) is DN as seen by PC1, PC3"),
            "{problems}"
        );
        assert!(
            problems.contains("PC2 (127.0.0.2) does not answer CQL"),
            "{problems}"
        );
        assert!(problems.contains("PC2: no nodetool status"), "{problems}");
        let text = report.render();
        assert!(text.contains("✗ cluster NOT whole:"), "{text}");
        assert!(
            text.contains("PC2  127.0.0.2  DN           ?            DN"),
            "{text}"
        );
    }

    #[test]
    fn wrong_name_schema_split_rf_and_strangers_are_problems() {
        let with_stranger = status(&[
            ("UN", "127.0.0.1"),
            ("UN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
            ("UN", "127.0.0.9"),
        ]);
        let mut pc1 = observer("PC1", "127.0.0.1", Ok(with_stranger));
        pc1.describe = Ok(describe("Test Cluster", "v1"));
        let mut pc2 = observer("PC2", "127.0.0.2", Ok(all_up()));
        pc2.describe = Ok(describe("iot_demo_lab", "v2"));
        pc2.replication = Ok(Some(simple("2")));
        let pc3 = observer("PC3", "127.0.0.3", Ok(all_up()));
        let report =
            ClusterReport::assemble(&inventory(), vec![pc1, pc2, pc3], Duration::from_secs(1));
        let problems = report.problems.join("\n");
        assert!(
            problems.contains("PC1 belongs to cluster \"Test Cluster\", expected \"iot_demo_lab\""),
            "{problems}"
        );
        assert!(
            problems.contains("schema disagreement: 2 schema versions (v1, v2)"),
            "{problems}"
        );
        assert!(
            problems.contains("127.0.0.9 is in the ring (seen by PC1) but not in hosts.toml"),
            "{problems}"
        );
        assert!(
            problems.contains("nodes disagree on iot_demo's replication"),
            "{problems}"
        );
    }

    #[test]
    fn missing_keyspace_and_wrong_factor() {
        let mut observers = vec![
            observer("PC1", "127.0.0.1", Ok(all_up())),
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ];
        for o in &mut observers {
            o.replication = Ok(None);
        }
        let report = ClusterReport::assemble(&inventory(), observers.clone(), Duration::ZERO);
        assert_eq!(report.problems, ["keyspace iot_demo does not exist"]);
        for o in &mut observers {
            o.replication = Ok(Some(simple("1")));
        }
        let report = ClusterReport::assemble(&inventory(), observers, Duration::ZERO);
        assert_eq!(
            report.problems,
            [
                "keyspace iot_demo is replicated SimpleStrategy {replication_factor=1}, expected replication factor 3"
            ]
        );
    }

    #[test]
    fn unreachable_only_in_describecluster_is_a_problem() {
        let mut pc1 = observer("PC1", "127.0.0.1", Ok(all_up()));
        pc1.describe = Ok(nodetool::parse_describecluster(
            "Cluster Information:\n\tName: iot_demo_lab\n\tSchema versions:\n\t\tv1: [127.0.0.1, 127.0.0.2]\n\n\t\tUNREACHABLE: [127.0.0.3]\n",
        )
        .unwrap());
        let observers = vec![
            pc1,
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ];
        let report = ClusterReport::assemble(&inventory(), observers, Duration::ZERO);
        assert_eq!(
            report.problems,
            ["PC1 cannot reach PC3 (127.0.0.3) (describecluster)"]
        );
    }

    #[test]
    fn expectations() {
        assert!(Expectation::Up.met_by(Some(NodeState::UN)));
        assert!(!Expectation::Up.met_by(Some("UJ".parse().unwrap())));
        assert!(Expectation::Down.met_by(Some(NodeState::DN)));
        assert!(!Expectation::Down.met_by(None));
    }
}
