//! The Cassandra PCs as a run sees them: checks, views, captures and faults,
//! through the `cluster` and `nemesis` modules, with their errors turned into
//! the one-line reasons a step reports.

use std::time::Duration;

use crate::cli::FaultMode;
use crate::cluster::{self, ClusterReport, NodeStates};
use crate::hosts::{Inventory, NodeSpec};
use crate::nemesis;
use crate::remote::RemoteOptions;

/// The inventory and how to reach its nodes.
pub struct Fleet {
    pub inventory: Inventory,
    pub remote: RemoteOptions,
}

impl Fleet {
    pub async fn check(&self) -> Result<ClusterReport, String> {
        cluster::check(&self.inventory, &self.remote)
            .await
            .map_err(|err| err.to_string())
    }

    pub async fn states_seen_by(&self, observer: &NodeSpec) -> Result<NodeStates, String> {
        cluster::node_states_seen_by(&self.inventory, observer, &self.remote)
            .await
            .map_err(|err| err.to_string())
    }

    /// The command run and its output.
    pub async fn capture_status(&self, from: &NodeSpec) -> Result<(String, String), String> {
        let command = from.nodetool(&format!("status {}", self.inventory.cluster.keyspace));
        cluster::capture_status(&self.inventory, from, &self.remote)
            .await
            .map(|output| (command, output))
            .map_err(|err| err.to_string())
    }

    pub async fn take_out(&self, node: &NodeSpec, mode: FaultMode) -> Result<(), String> {
        nemesis::kill(&self.inventory, node, mode, &self.remote)
            .await
            .map(drop)
            .map_err(|err| err.to_string())
    }

    /// Undoes any fault (thaw, then start).
    pub async fn bring_back(&self, node: &NodeSpec) -> Result<(), String> {
        nemesis::start(&self.inventory, node, &self.remote)
            .await
            .map(drop)
            .map_err(|err| err.to_string())
    }

    /// Bounded wait until a peer sees `node` UN and it answers CQL (used when restoring).
    pub async fn wait_serving(&self, node: &NodeSpec, timeout: Duration) -> Result<(), String> {
        nemesis::wait_until_serving(&self.inventory, node, &self.remote, timeout, None)
            .await
            .map(drop)
            .map_err(|err| err.to_string())
    }
}
