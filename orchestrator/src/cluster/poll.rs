//! Waits until a node's peers see it in a state (UN, or down), polling
//! their `nodetool status` through [`crate::wait::until`].

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::ClusterError;
use super::observe::states_via;
use crate::hosts::{Inventory, NodeSpec};
use crate::nodetool::{Membership, NodeState};
use crate::progress::Progress;
use crate::remote::{Remote, RemoteOptions};
use crate::wait;

/// Pause between two polls of a wait.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// What a wait expects the node's peers to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// UN: up and normal.
    Up,
    /// Up and in the ring, joining (UJ, streaming its share) or already UN.
    InRing,
    /// Down (DN, or any D state).
    Down,
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expectation::Up => "UN",
            Expectation::InRing => "UJ or UN",
            Expectation::Down => "down",
        })
    }
}

impl Expectation {
    /// Whether a peer's view of the node (None: not listed) is the wanted one.
    pub fn met_by(self, state: Option<NodeState>) -> bool {
        match self {
            Expectation::Up => state == Some(NodeState::UN),
            Expectation::InRing => state.is_some_and(|state| {
                state.is_up()
                    && matches!(state.membership, Membership::Joining | Membership::Normal)
            }),
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
/// and retried; `progress` (if any) is told the latest view.
pub async fn wait_for_state(
    inventory: &Inventory,
    node: &NodeSpec,
    wanted: Expectation,
    options: &RemoteOptions,
    timeout: Duration,
    progress: Option<&dyn Progress>,
) -> Result<StateSeen, ClusterError> {
    let started = Instant::now();
    let peers: Vec<&NodeSpec> = inventory
        .nodes
        .iter()
        .filter(|peer| peer.address != node.address)
        .collect();
    // With a single node, it is its own only witness.
    let peers = if peers.is_empty() { vec![node] } else { peers };
    // One connection per peer, kept from one poll to the next.
    let connections: Mutex<Vec<Option<Remote>>> = Mutex::new(peers.iter().map(|_| None).collect());
    let (peers, connections) = (&peers, &connections);
    let outcome = wait::until(timeout, POLL_INTERVAL, move || async move {
        let mut connections = connections.lock().await;
        let mut last = String::new();
        for (peer, connection) in peers.iter().zip(connections.iter_mut()) {
            if connection.is_none() {
                match Remote::connect(inventory, peer, options).await {
                    Ok(remote) => *connection = Some(remote),
                    Err(err) => {
                        last = err.to_string();
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
                    last = format!("{} sees {} {shown}", peer.name, node.name);
                    if let Some(progress) = progress {
                        progress
                            .waiting(&format!("waiting for {} to be {wanted}: {last}", node.name));
                    }
                    if let Some(state) = state.filter(|state| wanted.met_by(Some(*state))) {
                        return ControlFlow::Break(StateSeen {
                            observer: peer.name.clone(),
                            state,
                            after: started.elapsed(),
                        });
                    }
                }
                Err(err) => {
                    last = err.to_string();
                    // A lost SSH connection is re-established next round.
                    if matches!(err, ClusterError::Remote(_)) {
                        *connection = None;
                    }
                }
            }
        }
        ControlFlow::Continue(last)
    })
    .await;
    for remote in connections.lock().await.drain(..).flatten() {
        remote.close().await;
    }
    outcome.map_err(|timed_out| ClusterError::WaitTimedOut {
        node: node.label(),
        wanted,
        waited: timeout,
        last: timed_out.last.filter(|last| !last.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        assert!(Expectation::Up.met_by(Some(NodeState::UN)));
        assert!(!Expectation::Up.met_by(Some("UJ".parse().unwrap())));
        assert!(Expectation::Down.met_by(Some(NodeState::DN)));
        assert!(!Expectation::Down.met_by(None));
        for (state, in_ring) in [("UJ", true), ("UN", true), ("DN", false), ("UL", false)] {
            assert_eq!(
                Expectation::InRing.met_by(Some(state.parse().unwrap())),
                in_ring,
                "{state}"
            );
        }
        assert!(!Expectation::InRing.met_by(None));
    }
}
