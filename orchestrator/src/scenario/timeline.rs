//! The run's timeline: what the cluster, the API and ingest did, second by second,
//! recorded while the scenario runs and kept in the journal.
//!
//! A step's outcome says what was checked; the timeline says what happened around it,
//! so a report can line everything up: each fault (when its command ran, when it took
//! effect, when the node came back), each node's view of each other node, the hints
//! each node keeps for a fallen one, the API as a client sees it (success, latency,
//! staleness, the consistency it answered at) and ingest's rate and Kafka lag.
//!
//! The types and the pure derivations (a view's transitions, a fault's effect) are
//! here; the sampling is `recorder`'s. A field a sample does not have is written as
//! null and read back from null or absence alike.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contract::events::SeenState;
use serde::{Deserialize, Serialize};

/// Everything sampled during one run, in time order within each series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The API as the dashboard sees it, a few probes a second.
    #[serde(default)]
    pub api: Vec<ApiSample>,
    /// Each node's view of the others, once a second per node.
    #[serde(default)]
    pub views: Vec<ViewSample>,
    /// The hints each node keeps on disk for the others, once a second per node.
    #[serde(default)]
    pub hints: Vec<HintsSample>,
    /// Ingest's throughput and lag, from its metrics, once a second.
    #[serde(default)]
    pub ingest: Vec<IngestSample>,
    /// Each running service's resident memory, every 5 seconds (a soak's growth check).
    #[serde(default)]
    pub memory: Vec<MemorySample>,
}

/// One service's resident memory at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    pub at: DateTime<Utc>,
    /// "producer", "ingest" or "api".
    pub service: String,
    pub rss_kb: u64,
}

/// One `GET /sensors` of the run's sensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSample {
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// From the request to the whole answer (or the failure).
    pub latency_ms: u64,
    /// Age of the oldest "newest reading" among the run's sensors.
    pub staleness_ms: Option<u64>,
    /// "QUORUM", or "ONE" when the API fell back to it for this answer.
    pub consistency: Option<String>,
    pub error: Option<String>,
}

/// How one node saw the others at one moment (its `system_views.gossip_info`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewSample {
    pub at: DateTime<Utc>,
    /// The node asked.
    pub observer: String,
    /// Each other node, by name, as the observer sees it; `None` when the observer
    /// did not answer (it is down, frozen or cut off).
    pub sees: Option<BTreeMap<String, SeenState>>,
    pub error: Option<String>,
}

/// The hints one node keeps on disk for each other node at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HintsSample {
    pub at: DateTime<Utc>,
    pub node: String,
    /// Bytes of hint files, by the name of the node they are for (nodes with none are
    /// absent); `None` when the node's files could not be read.
    pub bytes: Option<BTreeMap<String, u64>>,
    pub error: Option<String>,
}

impl ViewSample {
    /// What `observer` answered at `at`: how it sees each peer, or why it did not say.
    pub fn new(
        at: DateTime<Utc>,
        observer: String,
        sees: Result<BTreeMap<String, SeenState>, String>,
    ) -> Self {
        let (sees, error) = split(sees);
        ViewSample {
            at,
            observer,
            sees,
            error,
        }
    }
}

impl HintsSample {
    /// The hint files `node` held at `at`, or why they could not be read.
    pub fn new(
        at: DateTime<Utc>,
        node: String,
        bytes: Result<BTreeMap<String, u64>, String>,
    ) -> Self {
        let (bytes, error) = split(bytes);
        HintsSample {
            at,
            node,
            bytes,
            error,
        }
    }
}

/// A sample's value or the reason it has none, as its two optional fields.
fn split<T>(result: Result<T, String>) -> (Option<T>, Option<String>) {
    match result {
        Ok(value) => (Some(value), None),
        Err(error) => (None, Some(error)),
    }
}

/// Ingest's metrics at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestSample {
    pub at: DateTime<Utc>,
    /// Readings written to Cassandra per second since the previous sample.
    pub rate_per_s: Option<f64>,
    /// Messages in Kafka not yet consumed, over all partitions.
    pub lag: Option<f64>,
    /// Ingest says it can consume.
    pub consuming: Option<bool>,
    pub error: Option<String>,
}

/// One node taken out by the run and (perhaps) brought back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub node: String,
    /// "stop", "kill", "freeze", "isolate" or "manual".
    pub mode: String,
    /// The fault's command started.
    pub commanded_at: DateTime<Utc>,
    /// The fault's command returned.
    pub command_done_at: Option<DateTime<Utc>>,
    /// The command bringing it back started.
    pub return_commanded_at: Option<DateTime<Utc>>,
    /// Its peers saw it UP again.
    pub back_at: Option<DateTime<Utc>>,
}

/// A change in how one node sees another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub observer: String,
    pub peer: String,
    /// `None`: the first sample of that pair.
    pub from: Option<SeenState>,
    pub to: SeenState,
}

/// Every change of state per (observer, peer), in time order; the first sample of a
/// pair counts as one (from `None`). A sample the observer did not answer changes
/// nothing: it says nothing about the peer.
pub fn transitions(views: &[ViewSample]) -> Vec<Transition> {
    let mut last: BTreeMap<(&str, &str), SeenState> = BTreeMap::new();
    let mut out = Vec::new();
    for sample in views {
        let Some(sees) = &sample.sees else { continue };
        for (peer, &state) in sees {
            let key = (sample.observer.as_str(), peer.as_str());
            let before = last.insert(key, state);
            if before != Some(state) {
                out.push(Transition {
                    at: sample.at,
                    observer: sample.observer.clone(),
                    peer: peer.clone(),
                    from: before,
                    to: state,
                });
            }
        }
    }
    out
}

/// When `fault` took effect: the first moment after its command started that a peer
/// saw the node DOWN or the node itself stopped answering; `None` if neither happened
/// before it was brought back.
pub fn fault_effect(fault: &FaultRecord, views: &[ViewSample]) -> Option<DateTime<Utc>> {
    views
        .iter()
        .filter(|sample| sample.at >= fault.commanded_at)
        .filter(|sample| fault.return_commanded_at.is_none_or(|end| sample.at <= end))
        .find(|sample| {
            if sample.observer == fault.node {
                sample.sees.is_none()
            } else {
                sample
                    .sees
                    .as_ref()
                    .and_then(|sees| sees.get(&fault.node))
                    .is_some_and(|state| *state == SeenState::Down)
            }
        })
        .map(|sample| sample.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).expect("a valid time")
    }

    fn view(second: i64, observer: &str, sees: Option<&[(&str, SeenState)]>) -> ViewSample {
        ViewSample {
            at: at(second),
            observer: observer.into(),
            sees: sees.map(|pairs| {
                pairs
                    .iter()
                    .map(|(peer, state)| (peer.to_string(), *state))
                    .collect()
            }),
            error: None,
        }
    }

    use SeenState::{Down, Up};

    #[test]
    fn transitions_are_changes_per_pair_and_silence_changes_nothing() {
        let views = vec![
            view(0, "PC1", Some(&[("PC2", Up), ("PC3", Up)])),
            view(1, "PC1", Some(&[("PC2", Up), ("PC3", Up)])),
            view(1, "PC2", None),
            view(5, "PC1", Some(&[("PC2", Down), ("PC3", Up)])),
            view(9, "PC1", None),
            view(20, "PC1", Some(&[("PC2", Up), ("PC3", Up)])),
        ];
        let found = transitions(&views);
        let changes: Vec<(i64, &str, Option<SeenState>, SeenState)> = found
            .iter()
            .map(|t| {
                (
                    t.at.timestamp() - 1_800_000_000,
                    t.peer.as_str(),
                    t.from,
                    t.to,
                )
            })
            .collect();
        assert_eq!(
            changes,
            vec![
                (0, "PC2", None, Up),
                (0, "PC3", None, Up),
                (5, "PC2", Some(Up), Down),
                (20, "PC2", Some(Down), Up),
            ]
        );
        assert!(transitions(&[]).is_empty());
    }

    #[test]
    fn a_fault_takes_effect_when_a_peer_sees_it_down_or_it_goes_silent() {
        let fault = FaultRecord {
            node: "PC2".into(),
            mode: "kill".into(),
            commanded_at: at(10),
            command_done_at: Some(at(10)),
            return_commanded_at: Some(at(30)),
            back_at: Some(at(35)),
        };
        let seen_down = vec![
            view(9, "PC1", Some(&[("PC2", Down)])),
            view(11, "PC1", Some(&[("PC2", Up)])),
            view(14, "PC3", Some(&[("PC2", Down)])),
        ];
        assert_eq!(fault_effect(&fault, &seen_down), Some(at(14)));
        let silent = vec![
            view(12, "PC2", None),
            view(14, "PC3", Some(&[("PC2", Down)])),
        ];
        assert_eq!(fault_effect(&fault, &silent), Some(at(12)));
        let never = vec![view(40, "PC1", Some(&[("PC2", Down)]))];
        assert_eq!(fault_effect(&fault, &never), None);
    }

    #[test]
    fn a_timeline_round_trips_and_an_old_journal_has_none() {
        let timeline = Timeline {
            views: vec![view(0, "PC1", Some(&[("PC2", Up)]))],
            ..Timeline::default()
        };
        let text = serde_json::to_string(&timeline).unwrap();
        assert!(text.contains(r#""sees":{"PC2":"up"}"#), "{text}");
        assert_eq!(serde_json::from_str::<Timeline>(&text).unwrap(), timeline);
        assert_eq!(
            serde_json::from_str::<Timeline>("{}").unwrap(),
            Timeline::default()
        );
    }
}
