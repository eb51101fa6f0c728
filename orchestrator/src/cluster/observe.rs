//! Asks the nodes: `nodetool status` and `describecluster` on each PC (over
//! SSH or locally) and the one-node CQL probe, gathered into one
//! [`ObserverReport`] per PC. Every call is bounded.

use std::time::Duration;

use super::cql::replication_via;
use super::{ClusterError, ObserverReport};
use crate::hosts::{Inventory, NodeSpec};
use crate::nodetool::{self, NodeState, ParseError, Status};
use crate::remote::{Remote, RemoteError, RemoteOptions};

/// nodetool starts a JVM each time; against a frozen node it can hang until
/// the command timeout, so checks cap it lower than a start or stop.
const NODETOOL_TIMEOUT_CAP: Duration = Duration::from_secs(20);

/// The shortest CQL probe: a loaded laptop may take a few seconds to answer.
const CQL_TIMEOUT_FLOOR: Duration = Duration::from_secs(5);

/// How `node` sees the cluster, and whether it answers CQL.
pub(super) async fn observe(
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

pub(super) async fn states_via(
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
