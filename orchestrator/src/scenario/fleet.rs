//! The Cassandra PCs as a run sees them: checks, views, captures and faults,
//! through the `cluster` and `nemesis` modules, with their errors turned into
//! the one-line reasons a step reports.

use std::time::Duration;

use crate::cluster::{self, ClusterReport, NodeStates};
use crate::hosts::{Inventory, NodeSpec};
use crate::nemesis;
use crate::nemesis::FaultMode;
use crate::remote::{Remote, RemoteOptions};

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

    /// How `peer` stands with its hints for `node`: `nodetool listpendinghints`
    /// and the HintsDispatcher pool of `nodetool tpstats`, in one round trip.
    pub async fn hints_toward(
        &self,
        peer: &NodeSpec,
        node: &NodeSpec,
    ) -> Result<HintsState, String> {
        let remote = Remote::connect(&self.inventory, peer, &self.remote)
            .await
            .map_err(|err| err.to_string())?;
        let command = format!(
            "{} && echo {SEPARATOR} && {}",
            peer.nodetool("listpendinghints"),
            peer.nodetool("tpstats")
        );
        let output = remote.run_ok(&command).await;
        remote.close().await;
        let output = output.map_err(|err| err.to_string())?;
        let (listing, tpstats) = output
            .stdout
            .split_once(SEPARATOR)
            .ok_or_else(|| format!("{}: unexpected nodetool output", peer.name))?;
        let dispatcher = dispatcher_pool(tpstats)
            .ok_or_else(|| format!("{}: no HintsDispatcher pool in nodetool tpstats", peer.name))?;
        Ok(HintsState {
            holds_hints: lists_hints_for(listing, &node.address.to_string()),
            dispatching: dispatcher.0 + dispatcher.1,
            dispatched: dispatcher.2,
        })
    }
}

/// Separates the two outputs of `hints_toward`'s command.
const SEPARATOR: &str = "---demo-hints---";

/// A peer's hints toward one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintsState {
    /// Closed hint files for the node wait to be sent.
    pub holds_hints: bool,
    /// Hint files being sent or queued to be (to any node).
    pub dispatching: u64,
    /// Hint files sent so far (to any node).
    pub dispatched: u64,
}

impl HintsState {
    pub fn is_quiet(&self) -> bool {
        !self.holds_hints && self.dispatching == 0
    }
}

/// `nodetool listpendinghints` prints one row per target node with pending
/// hints (its address among the columns), or "does not have any pending hints".
fn lists_hints_for(listing: &str, address: &str) -> bool {
    listing
        .lines()
        .any(|line| line.split_whitespace().any(|column| column == address))
}

/// Active, pending and completed of the HintsDispatcher pool in `nodetool tpstats`.
fn dispatcher_pool(tpstats: &str) -> Option<(u64, u64, u64)> {
    let line = tpstats
        .lines()
        .find(|line| line.starts_with("HintsDispatcher"))?;
    let mut numbers = line
        .split_whitespace()
        .skip(1)
        .map(|column| column.parse::<u64>().ok());
    Some((numbers.next()??, numbers.next()??, numbers.next()??))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_hints_are_found_by_the_target_address() {
        let listing = "Host ID                               Address    Rack   DC           Status  Total files  Newest                   Oldest\n\
                       9b9b6771-20ef-4290-97b2-85a324184772  127.0.0.2  rack1  datacenter1  DOWN    2            2026-11-26 11:45:40,000  2026-11-26 11:45:30,000\n";
        assert!(lists_hints_for(listing, "127.0.0.2"));
        assert!(!lists_hints_for(listing, "127.0.0.3"));
        assert!(!lists_hints_for(
            "This node does not have any pending hints\n",
            "127.0.0.2"
        ));
    }
}
