//! Scenario events in Cassandra, for the dashboard's timeline.
//!
//! The audience watches the chart, not the terminal: every step of a run is
//! written to the scenario events table (running, then ok or failed) so the
//! dashboard can mark "PC2 stopped" on the chart at the moment it happened.
//! A row is a `contract::events::ScenarioEvent`: kind, node and figures, which
//! the page words in its language. Events are cosmetic: they are written at
//! consistency ONE with a short timeout, and a failed write is noted in the
//! journal, never fatal.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::events::ScenarioEvent;
use contract::names::SCENARIO_EVENTS_TABLE;
use iot_services::cassandra::{CassandraError, SessionOptions, connect, prepare};
use scylla::client::session::Session;
use scylla::errors::ExecutionError;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlTimestamp, CqlTimeuuid};

/// Upper bound of one event write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("keyspace name {0:?} is not a plain CQL identifier")]
    BadKeyspace(String),
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    #[error("writing a scenario event: {0}")]
    Write(Box<ExecutionError>),
}

/// Writes one run's events.
pub struct EventLog {
    session: Session,
    insert: PreparedStatement,
    clock: TimeuuidClock,
}

impl EventLog {
    /// Connects to the cluster through `contact_points` and prepares the insert.
    pub async fn connect(contact_points: Vec<String>, keyspace: &str) -> Result<Self, EventError> {
        if !keyspace
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            || !keyspace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(EventError::BadKeyspace(keyspace.to_owned()));
        }
        let mut options = SessionOptions::new(contact_points);
        options.consistency = Consistency::One;
        options.request_timeout = WRITE_TIMEOUT;
        let session = connect(&options).await?;
        // The keyspace is a checked identifier from the inventory; the values are bound.
        let cql = format!(
            "INSERT INTO {keyspace}.{SCENARIO_EVENTS_TABLE} (day, at, id, run_id, step, kind, node, figures, label, status, narration) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        let mut insert = prepare(&session, &cql, Consistency::One).await?;
        insert.set_request_timeout(Some(WRITE_TIMEOUT));
        Ok(Self {
            session,
            insert,
            clock: TimeuuidClock::new(),
        })
    }

    /// Writes one row (its `tone` is derived again by whoever reads it).
    pub async fn record(&self, event: &ScenarioEvent) -> Result<(), EventError> {
        let day = event.at.format("%Y-%m-%d").to_string();
        let id = self.clock.next(event.at);
        self.session
            .execute_unpaged(
                &self.insert,
                (
                    day,
                    CqlTimestamp(event.at.timestamp_millis()),
                    id,
                    &event.run_id,
                    i32::try_from(event.step).unwrap_or(i32::MAX),
                    event.kind.name(),
                    &event.node,
                    event.figures.to_json(),
                    &event.label,
                    event.status.as_str(),
                    &event.narration,
                ),
            )
            .await
            .map_err(|err| EventError::Write(Box::new(err)))?;
        Ok(())
    }
}

/// Makes version-1 (time-based) UUIDs, strictly increasing within the run, as
/// the `timeuuid` column requires: 100 ns ticks since 1582-10-15, a random
/// clock sequence and a random node id with the multicast bit set (RFC 4122
/// §4.5: not a real MAC address).
struct TimeuuidClock {
    last_ticks: Mutex<u64>,
    clock_seq_and_node: [u8; 8],
}

/// 100 ns ticks between 1582-10-15 (the UUID epoch) and 1970-01-01.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

impl TimeuuidClock {
    fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let random = hasher.finish().to_be_bytes();
        let mut clock_seq_and_node = random;
        clock_seq_and_node[0] = (clock_seq_and_node[0] & 0x3f) | 0x80; // RFC 4122 variant
        clock_seq_and_node[2] |= 0x01; // multicast bit of the node id
        Self {
            last_ticks: Mutex::new(0),
            clock_seq_and_node,
        }
    }

    fn next(&self, at: DateTime<Utc>) -> CqlTimeuuid {
        let since_unix = at
            .timestamp_nanos_opt()
            .map_or(0, |nanos| u64::try_from(nanos / 100).unwrap_or(0));
        let mut ticks = since_unix + UUID_EPOCH_OFFSET;
        if let Ok(mut last) = self.last_ticks.lock() {
            ticks = ticks.max(*last + 1);
            *last = ticks;
        }
        let time_low = (ticks & 0xffff_ffff) as u32;
        let time_mid = ((ticks >> 32) & 0xffff) as u16;
        let time_high_and_version = (((ticks >> 48) & 0x0fff) as u16) | 0x1000;
        CqlTimeuuid::from_fields(
            time_low,
            time_mid,
            time_high_and_version,
            &self.clock_seq_and_node,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeuuids_are_version_1_and_increase_within_a_millisecond() {
        let clock = TimeuuidClock::new();
        let at = DateTime::parse_from_rfc3339("2026-01-04T10:00:01.250Z")
            .expect("valid")
            .with_timezone(&Utc);
        let first = clock.next(at);
        let second = clock.next(at);
        assert!(second > first);
        let (_, _, version_and_high, tail) = first.as_fields();
        assert_eq!(version_and_high >> 12, 1);
        assert_eq!(tail[0] & 0xc0, 0x80);
        // The timestamp reads back as the event's time.
        let (low, mid, high, _) = first.as_fields();
        let ticks = (u64::from(high & 0x0fff) << 48) | (u64::from(mid) << 32) | u64::from(low);
        assert_eq!(
            (ticks - UUID_EPOCH_OFFSET) / 10_000,
            at.timestamp_millis() as u64
        );
    }
}
