//! The cluster as the API sees it, for the dashboard's node cards.
//!
//! Each node is probed every second through a session pinned to it alone
//! (the driver must not route around it, or a dead node would look alive), with
//! a one-second timeout: a stopped node refuses, a frozen node stays silent,
//! and both show DOWN within a few seconds. The probes run in the background so
//! `GET /cluster` answers instantly whatever state the nodes are in.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::Statement;
use tokio::time::Instant;

use crate::cassandra::connect_single_node;
use tokio_util::sync::CancellationToken;

/// How long a node has to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often each node is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The last probe's outcome for one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub name: String,
    pub address: String,
    pub up: bool,
    pub latency_ms: Option<f64>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// Latest status of every node, updated by the probes.
#[derive(Debug, Default)]
pub struct ClusterView {
    nodes: RwLock<Vec<NodeStatus>>,
}

impl ClusterView {
    pub fn snapshot(&self) -> Vec<NodeStatus> {
        self.nodes
            .read()
            .map(|n| n.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn update(&self, index: usize, up: bool, latency: Option<Duration>) {
        let mut nodes = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        if let Some(node) = nodes.get_mut(index) {
            node.up = up;
            node.latency_ms = latency.map(|l| (l.as_secs_f64() * 1e4).round() / 10.0);
            node.checked_at = Some(Utc::now());
        }
    }
}

/// Node names for the contact points: `names` if given (one per contact
/// point), else PC1, PC2... in contact-point order.
pub fn node_names(contact_points: &[String], names: &[String]) -> Vec<String> {
    (0..contact_points.len())
        .map(|i| {
            names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("PC{}", i + 1))
        })
        .collect()
}

/// The host part of `host[:port]`, for display.
pub fn host_of(contact_point: &str) -> String {
    let trimmed = contact_point.trim();
    if let Some(rest) = trimmed.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_owned();
    }
    match trimmed.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host.to_owned(),
        _ => trimmed.to_owned(),
    }
}

/// Starts one background probe per node; returns the view they keep fresh.
pub fn start_probes(
    contact_points: &[String],
    names: &[String],
    stop: &CancellationToken,
) -> Arc<ClusterView> {
    let names = node_names(contact_points, names);
    let view = Arc::new(ClusterView {
        nodes: RwLock::new(
            contact_points
                .iter()
                .zip(&names)
                .map(|(point, name)| NodeStatus {
                    name: name.clone(),
                    address: host_of(point),
                    up: false,
                    latency_ms: None,
                    checked_at: None,
                })
                .collect(),
        ),
    });
    for (index, point) in contact_points.iter().enumerate() {
        tokio::spawn(probe_forever(
            view.clone(),
            index,
            point.clone(),
            stop.clone(),
        ));
    }
    view
}

async fn probe_forever(
    view: Arc<ClusterView>,
    index: usize,
    address: String,
    stop: CancellationToken,
) {
    let mut session: Option<Session> = None;
    let mut statement = Statement::new("SELECT release_version FROM system.local");
    statement.set_request_timeout(Some(PROBE_TIMEOUT));
    statement.set_is_idempotent(true);
    let mut tick = tokio::time::interval(PROBE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if session.is_none() {
            match connect_single_node(&address, PROBE_TIMEOUT).await {
                Ok(connected) => session = Some(connected),
                Err(error) => {
                    tracing::debug!("probe of {address}: {error}");
                    view.update(index, false, None);
                    continue;
                }
            }
        }
        let Some(pinned) = &session else { continue };
        let started = Instant::now();
        let answered =
            tokio::time::timeout(PROBE_TIMEOUT, pinned.query_unpaged(statement.clone(), ())).await;
        match answered {
            Ok(Ok(_)) => view.update(index, true, Some(started.elapsed())),
            Ok(Err(error)) => {
                tracing::debug!("probe of {address}: {error}");
                view.update(index, false, None);
            }
            Err(_) => view.update(index, false, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_default_to_pc_n() {
        let points = vec![
            "127.0.0.1".to_owned(),
            "127.0.0.2".to_owned(),
            "127.0.0.3".to_owned(),
        ];
        assert_eq!(node_names(&points, &[]), ["PC1", "PC2", "PC3"]);
        assert_eq!(
            node_names(&points, &["A".into(), "B".into()]),
            ["A", "B", "PC3"]
        );
    }

    #[test]
    fn host_part() {
        assert_eq!(host_of("127.0.0.2"), "127.0.0.2");
        assert_eq!(host_of("127.0.0.2:9042"), "127.0.0.2");
        assert_eq!(host_of("[::1]:9042"), "::1");
        assert_eq!(host_of("::1"), "::1");
    }
}
