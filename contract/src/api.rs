//! The JSON bodies of the REST API.
//!
//! The API serialises these types and the conductor and the tests deserialise
//! them, so a field the API may leave `null` is an `Option` for every reader.
//! Times are written as `2026-01-04T10:00:01.250Z` (see [`crate::time`]).
//! The scenario events of `GET /events` are the event row's own type.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::time;

/// One element of `GET /sensors`: a sensor and its latest reading.
///
/// The sensors index may hold a sensor without a reading yet (or one whose
/// reading is being written), so `last_timestamp` and `last_value` may be null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorSummary {
    pub sensor_id: String,
    #[serde(with = "time::millis_or_null")]
    pub last_timestamp: Option<DateTime<Utc>>,
    pub last_value: Option<f64>,
}

/// `GET /sensors/{id}/latest`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestReading {
    pub sensor_id: String,
    #[serde(with = "time::millis")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

/// One element of `GET /sensors/{id}/history` (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    #[serde(with = "time::millis")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

/// `GET /cluster`: each Cassandra node as the API's probes last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// When the newest probe answered or gave up.
    #[serde(with = "time::millis")]
    pub checked_at: DateTime<Utc>,
    pub nodes: Vec<ClusterNode>,
}

/// One node of [`ClusterStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// `PC1`, `PC2`... or the names given to the API.
    pub name: String,
    /// The host part of its contact point.
    pub address: String,
    /// It answered its last probe in time.
    pub up: bool,
    /// How long that answer took; null when it did not answer.
    pub latency_ms: Option<f64>,
    /// Readings of the last [`READINGS_WINDOW_MINUTES`] minutes this node holds
    /// in its own replica; null while it does not answer (or before the first count).
    #[serde(default)]
    pub readings: Option<u64>,
    /// What this node keeps aside for other nodes (its `system_views.pending_hints`),
    /// empty when nothing is pending.
    #[serde(default)]
    pub hints: Vec<PendingHints>,
    /// How this node sees each node of the ring (itself included), by node name;
    /// empty while it does not answer.
    #[serde(default)]
    pub sees: BTreeMap<String, RingView>,
}

/// The window of [`ClusterNode::readings`].
pub const READINGS_WINDOW_MINUTES: i64 = 10;

/// Hints one node keeps for another, as Cassandra lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingHints {
    /// The node they are for (its name, or its address if it is not one of the API's).
    pub node: String,
    /// Hint files ready to be replayed.
    pub files: u32,
    /// When the oldest and newest of those files were started.
    #[serde(with = "time::millis_or_null")]
    pub oldest: Option<DateTime<Utc>>,
    #[serde(with = "time::millis_or_null")]
    pub newest: Option<DateTime<Utc>>,
}

/// One node as another sees it, like a line of `nodetool status`: up or down, and
/// its place in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingView {
    pub up: bool,
    pub status: RingStatus,
}

/// The second letter of `nodetool status`'s UN, UJ, UL, UM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RingStatus {
    Normal,
    Joining,
    Leaving,
    Moving,
}

impl RingView {
    /// `UN`, `DN`, `UJ`...: what `nodetool status` would print.
    pub fn code(&self) -> &'static str {
        match (self.up, self.status) {
            (true, RingStatus::Normal) => "UN",
            (false, RingStatus::Normal) => "DN",
            (true, RingStatus::Joining) => "UJ",
            (false, RingStatus::Joining) => "DJ",
            (true, RingStatus::Leaving) => "UL",
            (false, RingStatus::Leaving) => "DL",
            (true, RingStatus::Moving) => "UM",
            (false, RingStatus::Moving) => "DM",
        }
    }
}

/// `GET /health`: 200 with `ok` when a Cassandra node answers, 503 with
/// `degraded` and the reason otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

impl Health {
    pub fn ok() -> Self {
        Health {
            status: HealthStatus::Ok,
            error: None,
        }
    }

    pub fn degraded(error: String) -> Self {
        Health {
            status: HealthStatus::Degraded,
            error: Some(error),
        }
    }
}

/// The body of every 4xx/5xx answer of the API's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).unwrap()
    }

    #[test]
    fn a_sensor_without_a_reading_has_nulls() {
        let listed: Vec<SensorSummary> = serde_json::from_value(json!([
            {"sensor_id": "sensor_01", "last_timestamp": "2026-01-04T10:00:01.250Z", "last_value": 22.7},
            {"sensor_id": "sensor_02", "last_timestamp": null, "last_value": null},
        ]))
        .unwrap();
        assert_eq!(listed[0].last_timestamp, Some(at(1_767_520_801_250)));
        assert_eq!(listed[1].last_timestamp, None);
        assert_eq!(listed[1].last_value, None);
        assert_eq!(
            serde_json::to_value(&listed[1]).unwrap(),
            json!({"sensor_id": "sensor_02", "last_timestamp": null, "last_value": null})
        );
    }

    #[test]
    fn bodies_keep_their_documented_shape() {
        let point = HistoryPoint {
            timestamp: at(1_767_520_801_000),
            value: 21.5,
        };
        assert_eq!(
            serde_json::to_string(&point).unwrap(),
            r#"{"timestamp":"2026-01-04T10:00:01.000Z","value":21.5}"#
        );
        let latest = LatestReading {
            sensor_id: "sensor_01".into(),
            timestamp: at(1_767_520_801_000),
            value: 21.5,
        };
        assert_eq!(
            serde_json::to_value(&latest).unwrap(),
            json!({"sensor_id": "sensor_01", "timestamp": "2026-01-04T10:00:01.000Z", "value": 21.5})
        );
        let cluster = ClusterStatus {
            checked_at: at(1_767_520_801_000),
            nodes: vec![ClusterNode {
                name: "PC2".into(),
                address: "127.0.0.2".into(),
                up: false,
                latency_ms: None,
                readings: None,
                hints: Vec::new(),
                sees: BTreeMap::new(),
            }],
        };
        let value = serde_json::to_value(&cluster).unwrap();
        assert_eq!(
            value,
            json!({"checked_at": "2026-01-04T10:00:01.000Z", "nodes": [
                {"name": "PC2", "address": "127.0.0.2", "up": false, "latency_ms": null,
                 "readings": null, "hints": [], "sees": {}}
            ]})
        );
        assert_eq!(
            serde_json::from_value::<ClusterStatus>(value).unwrap(),
            cluster
        );
    }

    #[test]
    fn a_node_that_answers_says_what_it_holds_keeps_and_sees() {
        let pc1 = ClusterNode {
            name: "PC1".into(),
            address: "127.0.0.1".into(),
            up: true,
            latency_ms: Some(1.5),
            readings: Some(5400),
            hints: vec![PendingHints {
                node: "PC2".into(),
                files: 2,
                oldest: Some(at(1_767_520_801_000)),
                newest: Some(at(1_767_520_811_000)),
            }],
            sees: BTreeMap::from([
                (
                    "PC1".into(),
                    RingView {
                        up: true,
                        status: RingStatus::Normal,
                    },
                ),
                (
                    "PC2".into(),
                    RingView {
                        up: false,
                        status: RingStatus::Normal,
                    },
                ),
            ]),
        };
        let value = serde_json::to_value(&pc1).unwrap();
        assert_eq!(value["readings"], json!(5400));
        assert_eq!(
            value["hints"],
            json!([{"node": "PC2", "files": 2, "oldest": "2026-01-04T10:00:01.000Z",
                    "newest": "2026-01-04T10:00:11.000Z"}])
        );
        assert_eq!(
            value["sees"]["PC2"],
            json!({"up": false, "status": "normal"})
        );
        assert_eq!(serde_json::from_value::<ClusterNode>(value).unwrap(), pc1);
        assert_eq!(pc1.sees["PC2"].code(), "DN");
        assert_eq!(
            RingView {
                up: true,
                status: RingStatus::Joining
            }
            .code(),
            "UJ"
        );
        // A body of an API from before these fields still reads.
        let old: ClusterNode = serde_json::from_value(
            json!({"name": "PC3", "address": "127.0.0.3", "up": true, "latency_ms": 2.0}),
        )
        .unwrap();
        assert_eq!(
            (old.readings, old.hints.len(), old.sees.len()),
            (None, 0, 0)
        );
    }

    #[test]
    fn health_and_errors() {
        assert_eq!(
            serde_json::to_value(Health::ok()).unwrap(),
            json!({"status": "ok"})
        );
        let degraded = Health::degraded("Cassandra unreachable: timeout".into());
        let value = serde_json::to_value(&degraded).unwrap();
        assert_eq!(
            value,
            json!({"status": "degraded", "error": "Cassandra unreachable: timeout"})
        );
        assert_eq!(serde_json::from_value::<Health>(value).unwrap(), degraded);
        assert_eq!(
            serde_json::from_value::<ErrorBody>(json!({"error": "bad limit"})).unwrap(),
            ErrorBody {
                error: "bad limit".into()
            }
        );
    }
}
