//! Writing readings to Cassandra, retried until Cassandra takes them.
//!
//! A write that fails (two nodes down at QUORUM, a timeout) is retried with
//! backoff, for ever, until it succeeds or ingest is told to give up at
//! shutdown: the reading stays uncommitted in Kafka meanwhile, so it is never
//! lost. The first failure and the recovery are logged once each, so an
//! outage says so without flooding the log.
//!
//! The contrast lane's ingest (a keyspace with a single copy) is the one
//! exception: it gives a write up after `give_up_after` and counts it, which
//! is what data stored once suffers when its PC goes down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::errors::ExecutionError;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use contract::Keyspace;
use contract::names::{SENSOR_DATA_TABLE, SENSORS_TABLE};

use crate::backoff::Backoff;
use crate::cassandra::{CassandraError, prepare};
use crate::ingest::{Abandoned, IngestMetrics};
use crate::reading::Reading;
use tokio_util::sync::CancellationToken;

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Cassandra took it.
    Yes,
    /// Given up after `give_up_after` (the contrast lane only).
    GivenUp,
}

/// Writes to `sensor_data` and `sensors`, with retries.
pub struct Writer {
    session: Arc<Session>,
    insert_reading: PreparedStatement,
    upsert_sensor: PreparedStatement,
    metrics: Arc<IngestMetrics>,
    /// Is Cassandra currently refusing writes? (for once-only logging)
    failing: AtomicBool,
    /// The contrast lane only: how long a write is retried before it is given up.
    give_up_after: Option<Duration>,
}

impl Writer {
    pub async fn new(
        session: Arc<Session>,
        keyspace: &Keyspace,
        consistency: Consistency,
        metrics: Arc<IngestMetrics>,
        give_up_after: Option<Duration>,
    ) -> Result<Self, CassandraError> {
        let insert_reading = format!(
            "INSERT INTO {} (sensor_id, timestamp, value) VALUES (?, ?, ?)",
            keyspace.table(SENSOR_DATA_TABLE)
        );
        // The reading's own time (µs) is the write time, so an older reading
        // replayed after a crash never overwrites a newer one.
        let upsert_sensor = format!(
            "UPDATE {} USING TIMESTAMP ? SET last_timestamp = ?, last_value = ? WHERE sensor_id = ?",
            keyspace.table(SENSORS_TABLE)
        );
        let insert_reading = prepare(&session, &insert_reading, consistency).await?;
        let upsert_sensor = prepare(&session, &upsert_sensor, consistency).await?;
        Ok(Writer {
            session,
            insert_reading,
            upsert_sensor,
            metrics,
            failing: AtomicBool::new(false),
            give_up_after,
        })
    }

    /// Inserts the reading into `sensor_data`, retrying until it is accepted
    /// (or, in the contrast lane, given up).
    pub async fn insert_reading(
        &self,
        reading: &Reading,
        give_up: &CancellationToken,
    ) -> Result<Written, Abandoned> {
        let values = (
            reading.sensor_id.as_str(),
            CqlTimestamp(reading.timestamp_millis()),
            reading.value,
        );
        self.retry(give_up, || {
            self.session.execute_unpaged(&self.insert_reading, &values)
        })
        .await
    }

    /// Upserts the sensor's latest reading into `sensors`, retrying until accepted
    /// (a contrast lane's given-up upsert leaves the row as it was: the next one
    /// carries a newer reading).
    pub async fn upsert_sensor(
        &self,
        reading: &Reading,
        give_up: &CancellationToken,
    ) -> Result<(), Abandoned> {
        let millis = reading.timestamp_millis();
        let values = (
            millis.saturating_mul(1000),
            CqlTimestamp(millis),
            reading.value,
            reading.sensor_id.as_str(),
        );
        self.retry(give_up, || {
            self.session.execute_unpaged(&self.upsert_sensor, &values)
        })
        .await
        .map(|_| ())
    }

    async fn retry<F, Fut, T>(
        &self,
        give_up: &CancellationToken,
        mut attempt: F,
    ) -> Result<Written, Abandoned>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ExecutionError>>,
    {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let first_attempt = Instant::now();
        loop {
            let started = Instant::now();
            match attempt().await {
                Ok(_) => {
                    self.metrics
                        .write_latency
                        .observe(started.elapsed().as_secs_f64());
                    if self.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("Cassandra takes writes again: resuming and committing");
                        self.metrics.cassandra_writable.set(1);
                    }
                    return Ok(Written::Yes);
                }
                Err(error) => {
                    self.metrics.write_errors.inc();
                    if !self.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "Cassandra cannot take writes ({error}); holding offsets uncommitted and retrying with backoff"
                        );
                        self.metrics.cassandra_writable.set(0);
                    } else {
                        tracing::debug!("write failed again: {error}");
                    }
                    if self
                        .give_up_after
                        .is_some_and(|limit| first_attempt.elapsed() >= limit)
                    {
                        tracing::debug!("write given up (contrast lane): {error}");
                        return Ok(Written::GivenUp);
                    }
                }
            }
            backoff.sleep(give_up).await.ok_or(Abandoned)?;
        }
    }
}
