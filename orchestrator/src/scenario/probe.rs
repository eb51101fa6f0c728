//! Watching the chart's source: how fresh are the readings the API returns?
//!
//! "The chart goes on" is checked the way the dashboard sees it: by asking the
//! API (`GET /sensors`) for the newest reading of each of the run's sensors and
//! measuring how old it is. The API reads only Cassandra, so fresh answers
//! while a PC is out prove that the cluster kept taking writes and serving reads.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::api::SensorSummary;
use contract::headers::{READ_CONSISTENCY, READ_CONSISTENCY_ONE};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot build an HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("GET {url}: {message}")]
    Request { url: String, message: String },
}

/// One answer of `GET /sensors`, reduced to what the run cares about.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    /// Sensors of the run the API listed.
    pub seen: usize,
    /// Sensors of the run the API did not list, or listed without a reading yet.
    pub unseen: Vec<String>,
    /// Age of the oldest "newest reading" among the listed sensors.
    pub worst_staleness: Option<Duration>,
    /// Age of the freshest reading.
    pub best_staleness: Option<Duration>,
    /// The API fell back to consistency ONE for this answer.
    pub degraded_reads: bool,
}

impl Freshness {
    /// Every sensor of the run is listed, none older than `bound`.
    pub fn all_fresh(&self, bound: Duration) -> bool {
        self.unseen.is_empty() && self.worst_staleness.is_some_and(|age| age <= bound)
    }
}

/// Asks the API about the run's sensors.
pub struct ApiProbe {
    client: reqwest::Client,
    sensors_url: String,
    sensors: Vec<String>,
}

impl ApiProbe {
    /// `api_url` like "http://127.0.0.1:8080"; each request gives up after `timeout`.
    pub fn new(api_url: &str, sensors: Vec<String>, timeout: Duration) -> Result<Self, ProbeError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .build()
            .map_err(ProbeError::Client)?;
        Ok(Self {
            client,
            sensors_url: format!("{}/sensors", api_url.trim_end_matches('/')),
            sensors,
        })
    }

    pub async fn freshness(&self) -> Result<Freshness, ProbeError> {
        let failed = |message: String| ProbeError::Request {
            url: self.sensors_url.clone(),
            message,
        };
        let response = self
            .client
            .get(&self.sensors_url)
            .send()
            .await
            .map_err(|err| failed(describe(&err)))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(failed(format!(
                "HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        let degraded_reads = response
            .headers()
            .get(READ_CONSISTENCY)
            .is_some_and(|value| {
                value
                    .as_bytes()
                    .eq_ignore_ascii_case(READ_CONSISTENCY_ONE.as_bytes())
            });
        let listed: Vec<SensorSummary> = response
            .json()
            .await
            .map_err(|err| failed(format!("unexpected answer: {}", describe(&err))))?;
        Ok(summarize(
            &self.sensors,
            &listed,
            Utc::now(),
            degraded_reads,
        ))
    }
}

fn summarize(
    sensors: &[String],
    listed: &[SensorSummary],
    now: DateTime<Utc>,
    degraded_reads: bool,
) -> Freshness {
    let mut ages = Vec::new();
    let mut unseen = Vec::new();
    for sensor in sensors {
        let newest = listed
            .iter()
            .find(|summary| &summary.sensor_id == sensor)
            .and_then(|summary| summary.last_timestamp);
        match newest {
            Some(at) => ages.push((now - at).to_std().unwrap_or(Duration::ZERO)),
            None => unseen.push(sensor.clone()),
        }
    }
    Freshness {
        seen: ages.len(),
        unseen,
        worst_staleness: ages.iter().max().copied(),
        best_staleness: ages.iter().min().copied(),
        degraded_reads,
    }
}

/// reqwest's errors hide their cause in `source()`; say it.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "no answer in time".to_owned()
    } else if err.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sensor: &str, at: &str) -> SensorSummary {
        SensorSummary {
            sensor_id: sensor.into(),
            last_timestamp: Some(
                DateTime::parse_from_rfc3339(at)
                    .expect("valid")
                    .with_timezone(&Utc),
            ),
            last_value: Some(21.5),
        }
    }

    #[test]
    fn staleness_is_measured_over_the_runs_sensors_only() {
        let now = DateTime::parse_from_rfc3339("2026-01-04T10:00:10Z")
            .expect("valid")
            .with_timezone(&Utc);
        let listed = [
            summary("sensor_01", "2026-01-04T10:00:09.500Z"),
            summary("sensor_02", "2026-01-04T10:00:07Z"),
            summary("other_01", "2026-01-04T09:00:00Z"),
        ];
        let sensors = vec![
            "sensor_01".to_owned(),
            "sensor_02".to_owned(),
            "sensor_03".to_owned(),
        ];
        let freshness = summarize(&sensors, &listed, now, false);
        assert_eq!(freshness.seen, 2);
        assert_eq!(freshness.unseen, vec!["sensor_03".to_owned()]);
        assert_eq!(freshness.worst_staleness, Some(Duration::from_secs(3)));
        assert_eq!(freshness.best_staleness, Some(Duration::from_millis(500)));
        assert!(!freshness.all_fresh(Duration::from_secs(5)));
        let freshness = summarize(&sensors[..2], &listed, now, false);
        assert!(freshness.all_fresh(Duration::from_secs(5)));
        assert!(!freshness.all_fresh(Duration::from_secs(2)));
    }

    #[test]
    fn a_sensor_listed_without_a_reading_counts_as_unseen_not_as_an_error() {
        let body = r#"[{"sensor_id":"sensor_01","last_timestamp":"2026-01-04T10:00:09.500Z","last_value":21.5},
                       {"sensor_id":"sensor_02","last_timestamp":null,"last_value":null}]"#;
        let listed: Vec<SensorSummary> = serde_json::from_str(body).expect("the API's answer");
        let now = DateTime::parse_from_rfc3339("2026-01-04T10:00:10Z")
            .expect("valid")
            .with_timezone(&Utc);
        let sensors = vec!["sensor_01".to_owned(), "sensor_02".to_owned()];
        let freshness = summarize(&sensors, &listed, now, false);
        assert_eq!(freshness.seen, 1);
        assert_eq!(freshness.unseen, vec!["sensor_02".to_owned()]);
        assert_eq!(freshness.worst_staleness, Some(Duration::from_millis(500)));
    }
}
