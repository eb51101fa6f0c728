//! The JSON bodies of the REST API.
//!
//! The API serialises these types and the conductor and the tests deserialise
//! them, so a field the API may leave `null` is an `Option` for every reader.
//! Times are written as `2026-01-04T10:00:01.250Z` (see [`crate::time`]).
//! The scenario events of `GET /events` are the event row's own type.

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
            }],
        };
        let value = serde_json::to_value(&cluster).unwrap();
        assert_eq!(
            value,
            json!({"checked_at": "2026-01-04T10:00:01.000Z", "nodes": [
                {"name": "PC2", "address": "127.0.0.2", "up": false, "latency_ms": null}
            ]})
        );
        assert_eq!(
            serde_json::from_value::<ClusterStatus>(value).unwrap(),
            cluster
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
