//! How one Cassandra node sees the others, from what it reports over CQL.
//!
//! Both the API (the dashboard's "PC1 sees PC2 DOWN") and the conductor's timeline
//! need a node's own view of the ring without SSH or JMX. Cassandra 5.0 exposes the
//! node's gossip state in `system_views.gossip_info`: every node increments its
//! heartbeat once a second and the others learn it by gossip, so a peer whose
//! heartbeat, as this node knows it, has not moved for [`SILENT_AFTER`] is one this
//! node no longer hears (down), as is a peer that announced its shutdown (a drained
//! stop: it turns at once). Cassandra's own failure detector (nodetool's DN) convicts
//! a few seconds later than a heartbeat that stops, so this view turns first, never
//! much later. The node's place in the ring (normal, joining...) is the first word
//! of its gossiped status.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use contract::api::{RingStatus, RingView};

/// A peer whose heartbeat has not advanced for this long is not heard (down). The
/// heartbeat moves every second and reaches a node within a gossip round or two.
pub const SILENT_AFTER: Duration = Duration::from_secs(5);

/// The columns [`GossipRow`] reads.
pub const GOSSIP_QUERY: &str = "SELECT address, generation, heartbeat, status_with_port, status, \
     host_id FROM system_views.gossip_info";

/// One row of [`GOSSIP_QUERY`]: address, generation, heartbeat, status (with port,
/// then the legacy column, which 5.0 fills for the local node only), host id.
pub type GossipRow = (
    IpAddr,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One node's memory of its peers' heartbeats, from one sample to the next.
#[derive(Debug, Default)]
pub struct Heartbeats {
    /// Per address: the last (generation, heartbeat) seen and when it last moved.
    heard: HashMap<IpAddr, ((i32, i32), Instant)>,
}

/// A node of the ring, as the observing node sees it at one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub address: IpAddr,
    pub host_id: Option<String>,
    pub view: RingView,
}

impl Heartbeats {
    /// Each node of `rows` (the observing node's gossip_info, read at `now`) as the
    /// observing node sees it. A node first seen now counts as heard.
    pub fn observe(&mut self, rows: &[GossipRow], now: Instant) -> Vec<Seen> {
        rows.iter()
            .map(
                |(address, generation, heartbeat, with_port, legacy, host_id)| {
                    let beat = (generation.unwrap_or(0), heartbeat.unwrap_or(0));
                    let moved_at = match self.heard.get(address) {
                        Some((before, at)) if *before == beat => *at,
                        _ => now,
                    };
                    self.heard.insert(*address, (beat, moved_at));
                    let status = with_port.as_deref().or(legacy.as_deref()).unwrap_or("");
                    let shut_down = status.starts_with("shutdown");
                    let silent = now.duration_since(moved_at) >= SILENT_AFTER;
                    Seen {
                        address: *address,
                        host_id: host_id.clone(),
                        view: RingView {
                            up: !(shut_down || silent),
                            status: ring_status(status),
                        },
                    }
                },
            )
            .collect()
    }
}

/// The ring status of a gossiped `STATUS` value (`NORMAL,<token>`, `BOOT,...`).
fn ring_status(status: &str) -> RingStatus {
    match status.split(',').next().unwrap_or("") {
        "BOOT" | "BOOT_REPLACE" => RingStatus::Joining,
        "LEAVING" | "LEFT" | "removing" | "removed" => RingStatus::Leaving,
        "MOVING" => RingStatus::Moving,
        _ => RingStatus::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: IpAddr, heartbeat: i32, status: &str) -> GossipRow {
        (
            address,
            Some(1_764_000_000),
            Some(heartbeat),
            Some(status.to_owned()),
            None,
            Some("8f0b1c2d-0000-4000-8000-000000000002".to_owned()),
        )
    }

    fn up_of(seen: &[Seen], address: IpAddr) -> bool {
        seen.iter().find(|s| s.address == address).unwrap().view.up
    }

    #[test]
    fn a_peer_is_down_once_its_heartbeat_stops_and_up_when_it_moves_again() {
        let pc2: IpAddr = "127.0.0.2".parse().unwrap();
        let start = Instant::now();
        let mut heartbeats = Heartbeats::default();
        assert!(up_of(
            &heartbeats.observe(&[row(pc2, 10, "NORMAL,1")], start),
            pc2
        ));
        let later = start + SILENT_AFTER - Duration::from_millis(1);
        assert!(up_of(
            &heartbeats.observe(&[row(pc2, 10, "NORMAL,1")], later),
            pc2
        ));
        let silent = start + SILENT_AFTER;
        let seen = heartbeats.observe(&[row(pc2, 10, "NORMAL,1")], silent);
        assert_eq!(seen[0].view.code(), "DN");
        let back = silent + Duration::from_secs(1);
        assert!(up_of(
            &heartbeats.observe(&[row(pc2, 11, "NORMAL,1")], back),
            pc2
        ));
        // A restart starts a new generation at a low heartbeat: it moved.
        let mut restarted = row(pc2, 1, "NORMAL,1");
        restarted.1 = Some(1_764_000_500);
        let much_later = back + SILENT_AFTER * 2;
        heartbeats.observe(&[row(pc2, 11, "NORMAL,1")], much_later);
        assert!(up_of(&heartbeats.observe(&[restarted], much_later), pc2));
    }

    #[test]
    fn a_drained_peer_is_down_at_once_and_statuses_map_to_nodetool_letters() {
        let pc3: IpAddr = "127.0.0.3".parse().unwrap();
        let now = Instant::now();
        let seen = Heartbeats::default().observe(&[row(pc3, 10, "shutdown,true")], now);
        assert_eq!(seen[0].view.code(), "DN");
        let joining = Heartbeats::default().observe(&[row(pc3, 10, "BOOT,42")], now);
        assert_eq!(joining[0].view.code(), "UJ");
        let leaving = Heartbeats::default().observe(&[row(pc3, 10, "LEAVING,42")], now);
        assert_eq!(leaving[0].view.code(), "UL");
        // Only the legacy column filled (the local node in 5.0).
        let mut legacy = row(pc3, 10, "");
        legacy.3 = None;
        legacy.4 = Some("NORMAL,42".to_owned());
        assert_eq!(
            Heartbeats::default().observe(&[legacy], now)[0].view.code(),
            "UN"
        );
    }
}
