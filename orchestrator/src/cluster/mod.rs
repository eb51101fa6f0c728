//! Is the cluster whole? The checks behind `demo check-cluster`, reused by
//! the faults and the scenario.
//!
//! The cluster is judged the way an operator would judge it, from every PC:
//! each node runs `nodetool status` and `nodetool describecluster` (over SSH
//! or locally), and each node is asked over CQL, alone, how the keyspace is
//! replicated. Whole means: every node UN as seen by every node, one cluster
//! name (the expected one), schema agreement, CQL answering everywhere and
//! the keyspace at the expected replication factor.
//!
//! Split by what each part does: `observe` asks the nodes (nodetool and CQL
//! I/O), `cql` is the one-node CQL probe, `report` judges the observations
//! (pure: no I/O, fully unit-tested), `poll` waits until a node is seen in a
//! state. The table is drawn by `ui` (the command layer).
//!
//! Public API (stable, used by `nemesis`, `scenario` and the commands):
//! - [`check`] → [`ClusterReport`] ([`ClusterReport::is_whole`])
//! - [`node_states_seen_by`] → [`NodeStates`]: how one PC sees every node
//! - [`capture_status`]: the raw `nodetool status` text from one PC
//! - [`wait_for_state`]: bounded wait until peers see a node up (UN) or down
//! - [`replication_via`] / [`Replication`]: one node's view of a keyspace over CQL

mod cql;
mod observe;
mod poll;
pub(crate) mod report;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;

pub use cql::{CQL_PORT, Replication, replication_via};
pub use observe::{NodeStates, capture_status, cql_timeout, node_states_seen_by};
pub use poll::{Expectation, StateSeen, wait_for_state};

use crate::hosts::{ClusterSpec, HostsError, Inventory};
use crate::nodetool::{DescribeCluster, NodeState, ParseError, Status};
use crate::remote::{RemoteError, RemoteOptions};

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
            .map(|node| observe::observe(inventory, node, options)),
    )
    .await;
    Ok(report::assemble(inventory, observers, started.elapsed()))
}
