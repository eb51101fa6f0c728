//! The API's reads from Cassandra, at the configured consistency, with an
//! optional fallback to ONE.
//!
//! With QUORUM a read needs two of the three replicas; when only one node is
//! left the API can still answer from it if the operator allowed a fallback
//! to ONE, and every answer says which consistency it was read at.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;

use chrono::{DateTime, TimeZone, Utc};
use contract::events::{EventKind, EventStatus, Figures, ScenarioEvent};
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use contract::Keyspace;
use contract::api::{HistoryPoint, SensorSummary};
use contract::names::{SCENARIO_EVENTS_TABLE, SENSOR_DATA_TABLE, SENSORS_TABLE};

use crate::api::params::HistoryQuery;
use crate::cassandra::{CassandraError, QueryError, prepare, rows};

/// Most rows `GET /sensors` returns.
const MAX_SENSORS: i32 = 10_000;

/// A scan of the sensors index takes milliseconds; when it does not, a replica
/// is probably gone but not yet declared down (a killed or frozen PC), and the
/// coordinator would wait its whole range timeout. Give up early and read the
/// known sensors one partition at a time: single-partition reads are
/// speculatively retried on another replica, range scans are not.
const SCAN_TIMEOUT: Duration = Duration::from_millis(800);

/// After a scan gave up, the next ones would likely wait as long again until
/// the cluster declares the silent replica down: read the known sensors one by
/// one for this long before trying a scan again (a sensor that first reports
/// meanwhile shows up after it).
const SCAN_PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A read that fails for a node-level reason (a pool broken by a node killed a
/// moment ago) is retried this many times, this long apart, with a fresh plan.
const TRANSIENT_RETRIES: u32 = 2;
const TRANSIENT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// Single-partition reads of the sensors index in flight at once.
const PARTITION_READS_IN_FLIGHT: usize = 32;

/// A value and whether it had to be read at ONE instead of the configured level.
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub fell_back: bool,
    /// Part of the value is the last good copy, not a fresh read.
    pub stale: bool,
}

/// The prepared reads at one consistency level.
struct Statements {
    sensors: PreparedStatement,
    sensor: PreparedStatement,
    latest: PreparedStatement,
    tail: PreparedStatement,
    history: PreparedStatement,
    known: PreparedStatement,
    /// The main lane's only: the contrast lane's keyspace keeps no events.
    events: Option<PreparedStatement>,
}

impl Statements {
    async fn prepare(
        session: &Session,
        keyspace: &Keyspace,
        consistency: Consistency,
        with_events: bool,
    ) -> Result<Self, CassandraError> {
        let sensors = keyspace.table(SENSORS_TABLE);
        let sensor_data = keyspace.table(SENSOR_DATA_TABLE);
        let scenario_events = keyspace.table(SCENARIO_EVENTS_TABLE);
        let mut scan = prepare(
            session,
            &format!("SELECT sensor_id, last_timestamp, last_value FROM {sensors} LIMIT ?"),
            consistency,
        )
        .await?;
        scan.set_request_timeout(Some(SCAN_TIMEOUT));
        let events = if with_events {
            Some(
                prepare(
                    session,
                    &format!(
                        "SELECT at, run_id, step, kind, node, figures, label, status, narration FROM {scenario_events} WHERE day = ? LIMIT ?"
                    ),
                    consistency,
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Statements {
            sensors: scan,
            sensor: prepare(
                session,
                &format!(
                    "SELECT sensor_id, last_timestamp, last_value FROM {sensors} WHERE sensor_id = ?"
                ),
                consistency,
            )
            .await?,
            latest: prepare(
                session,
                &format!("SELECT timestamp, value FROM {sensor_data} WHERE sensor_id = ? LIMIT 1"),
                consistency,
            )
            .await?,
            tail: prepare(
                session,
                &format!("SELECT timestamp, value FROM {sensor_data} WHERE sensor_id = ? LIMIT ?"),
                consistency,
            )
            .await?,
            history: prepare(
                session,
                &format!(
                    "SELECT timestamp, value FROM {sensor_data} WHERE sensor_id = ? AND timestamp >= ? AND timestamp <= ? LIMIT ?"
                ),
                consistency,
            )
            .await?,
            known: prepare(
                session,
                &format!("SELECT sensor_id FROM {sensors} WHERE sensor_id = ?"),
                consistency,
            )
            .await?,
            events,
        })
    }
}

/// Reads of the API.
pub struct Store {
    session: Arc<Session>,
    primary: Statements,
    fallback: Option<Statements>,
    health: PreparedStatement,
    /// What `sensors()` keeps between calls.
    sensors_memory: Mutex<SensorsMemory>,
}

#[derive(Debug, Default)]
struct SensorsMemory {
    /// The last answer: its ids are read partition by partition when a scan
    /// cannot finish, and its rows stand in for a sensor whose own read fails too.
    last_good: Vec<SensorSummary>,
    /// When the last scan of the index gave up, if it did.
    scan_failed_at: Option<Instant>,
}

impl Store {
    /// Prepares the reads at `consistency`, and at ONE too when `fallback_to_one`.
    pub async fn new(
        session: Arc<Session>,
        keyspace: &Keyspace,
        consistency: Consistency,
        fallback_to_one: bool,
    ) -> Result<Self, CassandraError> {
        let primary = Statements::prepare(&session, keyspace, consistency, true).await?;
        let fallback = if fallback_to_one && consistency != Consistency::One {
            Some(Statements::prepare(&session, keyspace, Consistency::One, true).await?)
        } else {
            None
        };
        Self::with_statements(session, primary, fallback).await
    }

    /// The contrast lane's reads: its keyspace's readings at ONE (a single copy:
    /// there is no other replica to ask), no fallback, no events.
    pub async fn contrast(
        session: Arc<Session>,
        keyspace: &Keyspace,
    ) -> Result<Self, CassandraError> {
        let primary = Statements::prepare(&session, keyspace, Consistency::One, false).await?;
        Self::with_statements(session, primary, None).await
    }

    async fn with_statements(
        session: Arc<Session>,
        primary: Statements,
        fallback: Option<Statements>,
    ) -> Result<Self, CassandraError> {
        let health = prepare(
            &session,
            "SELECT release_version FROM system.local",
            Consistency::One,
        )
        .await?;
        Ok(Store {
            session,
            primary,
            fallback,
            health,
            sensors_memory: Mutex::default(),
        })
    }

    /// Every known sensor with its latest reading, ordered by id.
    ///
    /// One scan of the index normally; when the scan fails (a replica silent
    /// but not yet known down), the sensors of the last good scan are read
    /// one partition at a time instead, so the list stays fresh.
    pub async fn sensors(&self) -> Result<Read<Vec<SensorSummary>>, QueryError> {
        let (last_good, scan_paused) = {
            let memory = self.sensors_memory();
            let paused = memory
                .scan_failed_at
                .is_some_and(|at| at.elapsed() < SCAN_PAUSE_AFTER_FAILURE);
            (memory.last_good.clone(), paused)
        };
        if !last_good.is_empty() && scan_paused {
            return Ok(self.sensors_one_by_one(last_good).await);
        }
        let scanned = if last_good.is_empty() {
            self.read(|s| self.scan_sensors(s)).await
        } else {
            self.scan_sensors(&self.primary).await.map(|value| Read {
                value,
                fell_back: false,
                stale: false,
            })
        };
        match scanned {
            Ok(read) => {
                self.sensors_memory().last_good.clone_from(&read.value);
                Ok(read)
            }
            Err(error) if !last_good.is_empty() => {
                self.sensors_memory().scan_failed_at = Some(Instant::now());
                tracing::warn!(
                    "scanning the sensors index failed ({error}); reading its {} known sensors one by one",
                    last_good.len()
                );
                Ok(self.sensors_one_by_one(last_good).await)
            }
            Err(error) => Err(error),
        }
    }

    fn sensors_memory(&self) -> MutexGuard<'_, SensorsMemory> {
        self.sensors_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads each known sensor's own partition (speculatively retried by the
    /// coordinator, unlike a scan); a sensor whose read still fails keeps its
    /// last good row and the answer is flagged stale.
    async fn sensors_one_by_one(&self, last_good: Vec<SensorSummary>) -> Read<Vec<SensorSummary>> {
        let results: Vec<_> = futures::stream::iter(last_good)
            .map(|known: SensorSummary| async move {
                let id = known.sensor_id.clone();
                let read = self.read(|s| self.sensor_row(s, id.clone())).await;
                (known, read)
            })
            .buffer_unordered(PARTITION_READS_IN_FLIGHT)
            .collect()
            .await;
        let mut stale = false;
        let mut fell_back = false;
        let mut sensors: Vec<SensorSummary> = results
            .into_iter()
            .filter_map(|(known, read)| match read {
                Ok(read) => {
                    fell_back |= read.fell_back;
                    read.value
                }
                Err(error) => {
                    tracing::debug!("reading sensor {} failed: {error}", known.sensor_id);
                    stale = true;
                    Some(known)
                }
            })
            .collect();
        sensors.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
        // A sensor whose next read fails falls back to this answer, not to
        // the last scan, which grows older for as long as scans fail.
        self.sensors_memory().last_good.clone_from(&sensors);
        Read {
            value: sensors,
            fell_back,
            stale,
        }
    }

    async fn sensor_row(
        &self,
        s: &Statements,
        sensor_id: String,
    ) -> Result<Option<SensorSummary>, QueryError> {
        let result = self
            .session
            .execute_unpaged(&s.sensor, (sensor_id.as_str(),))
            .await?;
        rows::<SummaryRow>(result)?
            .into_iter()
            .next()
            .map(to_summary)
            .transpose()
    }

    async fn scan_sensors(&self, s: &Statements) -> Result<Vec<SensorSummary>, QueryError> {
        let result = self
            .session
            .execute_unpaged(&s.sensors, (MAX_SENSORS,))
            .await?;
        let mut sensors = rows::<SummaryRow>(result)?
            .into_iter()
            .map(to_summary)
            .collect::<Result<Vec<_>, QueryError>>()?;
        sensors.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
        Ok(sensors)
    }

    /// The newest reading of `sensor_id`, if it has any.
    pub async fn latest(&self, sensor_id: &str) -> Result<Read<Option<HistoryPoint>>, QueryError> {
        self.read(|s| async move {
            let result = self
                .session
                .execute_unpaged(&s.latest, (sensor_id,))
                .await?;
            rows::<(CqlTimestamp, f64)>(result)?
                .into_iter()
                .next()
                .map(to_point)
                .transpose()
        })
        .await
    }

    /// The newest `count` readings of `sensor_id`, whatever their time, newest first.
    pub async fn tail(
        &self,
        sensor_id: &str,
        count: i32,
    ) -> Result<Read<Vec<HistoryPoint>>, QueryError> {
        self.read(|s| async move {
            let result = self
                .session
                .execute_unpaged(&s.tail, (sensor_id, count))
                .await?;
            rows::<(CqlTimestamp, f64)>(result)?
                .into_iter()
                .map(to_point)
                .collect()
        })
        .await
    }

    /// The newest `limit` readings of the window, oldest first.
    pub async fn history(
        &self,
        sensor_id: &str,
        query: &HistoryQuery,
    ) -> Result<Read<Vec<HistoryPoint>>, QueryError> {
        let values = (
            sensor_id,
            CqlTimestamp(query.since.timestamp_millis()),
            CqlTimestamp(query.until.timestamp_millis()),
            query.limit,
        );
        self.read(|s| async move {
            let result = self.session.execute_unpaged(&s.history, &values).await?;
            // The table is newest first; charts want oldest first.
            let mut points = rows::<(CqlTimestamp, f64)>(result)?
                .into_iter()
                .map(to_point)
                .collect::<Result<Vec<_>, _>>()?;
            points.reverse();
            Ok(points)
        })
        .await
    }

    /// Has ingest ever seen `sensor_id`?
    pub async fn is_known(&self, sensor_id: &str) -> Result<Read<bool>, QueryError> {
        self.read(|s| async move {
            let result = self.session.execute_unpaged(&s.known, (sensor_id,)).await?;
            Ok(!rows::<(String,)>(result)?.is_empty())
        })
        .await
    }

    /// The newest `limit` events of the given UTC days (`YYYY-MM-DD`), newest first.
    /// A row this API cannot read as a [`ScenarioEvent`] (a kind or status it does
    /// not know, a column left empty) is skipped: the timeline is cosmetic.
    pub async fn events(
        &self,
        days: &[String],
        limit: i32,
    ) -> Result<Read<Vec<ScenarioEvent>>, QueryError> {
        self.read(|s| async move {
            let Some(statement) = &s.events else {
                return Err(QueryError::Result(
                    "this lane keeps no scenario events".into(),
                ));
            };
            let mut events = Vec::new();
            for day in days {
                let result = self
                    .session
                    .execute_unpaged(statement, (day.as_str(), limit))
                    .await?;
                for row in rows::<EventRow>(result)? {
                    events.extend(to_event(row)?);
                }
            }
            events.sort_by_key(|e| std::cmp::Reverse(e.at));
            events.truncate(usize::try_from(limit).unwrap_or(0));
            Ok(events)
        })
        .await
    }

    /// Does any node answer? (`GET /health`)
    pub async fn ping(&self) -> Result<(), QueryError> {
        self.session.execute_unpaged(&self.health, ()).await?;
        Ok(())
    }

    /// Runs `op` with the primary statements, then with the ONE statements if
    /// that failed for lack of replicas and a fallback is configured.
    async fn read<'s, T, F, Fut>(&'s self, op: F) -> Result<Read<T>, QueryError>
    where
        F: Fn(&'s Statements) -> Fut,
        Fut: Future<Output = Result<T, QueryError>> + 's,
    {
        let mut retries = 0;
        let primary = loop {
            match op(&self.primary).await {
                Err(error) if error.is_transient() && retries < TRANSIENT_RETRIES => {
                    retries += 1;
                    tracing::debug!(
                        "read hit a node-level error ({error}); retrying with a fresh plan"
                    );
                    tokio::time::sleep(TRANSIENT_RETRY_DELAY).await;
                }
                outcome => break outcome,
            }
        };
        match (primary, &self.fallback) {
            (Ok(value), _) => Ok(Read {
                value,
                fell_back: false,
                stale: false,
            }),
            (Err(QueryError::Execution(error)), Some(fallback)) => {
                tracing::debug!(
                    "read failed at the configured consistency ({error}); falling back to ONE"
                );
                op(fallback).await.map(|value| Read {
                    value,
                    fell_back: true,
                    stale: false,
                })
            }
            (Err(error), _) => Err(error),
        }
    }
}
fn to_time(t: CqlTimestamp) -> Result<DateTime<Utc>, QueryError> {
    Utc.timestamp_millis_opt(t.0)
        .single()
        .ok_or_else(|| QueryError::Result(format!("timestamp {} out of range", t.0)))
}

/// A row of the scenario events table, column by column.
type EventRow = (
    CqlTimestamp,
    Option<String>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn to_event(
    (at, run_id, step, kind, node, figures, label, status, narration): EventRow,
) -> Result<Option<ScenarioEvent>, QueryError> {
    let at = to_time(at)?;
    let kind = kind.as_deref().and_then(EventKind::from_name);
    let status = status.as_deref().and_then(EventStatus::from_name);
    let step = step.and_then(|step| u32::try_from(step).ok());
    let (Some(run_id), Some(step), Some(kind), Some(status)) = (run_id, step, kind, status) else {
        return Ok(None);
    };
    Ok(Some(ScenarioEvent {
        at,
        run_id,
        step,
        kind,
        node,
        figures: Figures::from_json(figures.as_deref()),
        label,
        status,
        narration: narration.unwrap_or_default(),
        tone: ScenarioEvent::tone_of(kind, status),
    }))
}

type SummaryRow = (String, Option<CqlTimestamp>, Option<f64>);

fn to_summary((sensor_id, at, value): SummaryRow) -> Result<SensorSummary, QueryError> {
    Ok(SensorSummary {
        sensor_id,
        last_timestamp: at.map(to_time).transpose()?,
        last_value: value,
    })
}

fn to_point((timestamp, value): (CqlTimestamp, f64)) -> Result<HistoryPoint, QueryError> {
    Ok(HistoryPoint {
        timestamp: to_time(timestamp)?,
        value,
    })
}
