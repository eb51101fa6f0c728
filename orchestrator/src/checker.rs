//! The verdict: was anything the producer had acknowledged lost on the way to
//! Cassandra?
//!
//! The producer's ledger lists every reading Kafka acknowledged. The checker
//! reads, per sensor, the one range of `sensor_data` that the ledger covers
//! (paged, at QUORUM, ALL or, for a single node, ONE) and compares: every
//! acknowledged reading must be stored with the same value. One range query
//! per sensor, not one query per reading, so a ledger of an hour of readings
//! is checked in seconds.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use contract::Keyspace;
use futures::{StreamExt, TryStreamExt, stream};
use iot_services::cassandra::{CassandraError, prepare};
use iot_services::ledger::LedgerEntry;
use scylla::client::session::Session;
use scylla::errors::{NextRowError, PagerExecutionError, TypeCheckError};
use scylla::response::query_result::QueryResult;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;

use crate::wait;

/// Rows per page of a range read.
const PAGE_SIZE: i32 = 5000;
/// Sensors read at once.
const CONCURRENT_SENSORS: usize = 4;
/// How long a query trace is fetched again before giving up on it (trace
/// events are written asynchronously), and the pause between two fetches.
const TRACE_PATIENCE: Duration = Duration::from_secs(12);
const TRACE_RETRY: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    #[error("keyspace name {0:?} is not a plain CQL identifier")]
    BadKeyspace(String),
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    #[error("reading sensor {sensor}'s readings from Cassandra: {message}")]
    Read { sensor: String, message: String },
}

impl CheckerError {
    fn read(sensor: &str, err: impl std::fmt::Display) -> Self {
        CheckerError::Read {
            sensor: sensor.to_owned(),
            message: err.to_string(),
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Consistency of the range reads.
    pub consistency: Consistency,
    /// Upper bound of each page's request.
    pub request_timeout: Duration,
    /// How many missing (and how many mismatched) readings the report lists.
    pub first_few: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            consistency: Consistency::Quorum,
            request_timeout: Duration::from_secs(10),
            first_few: 5,
        }
    }
}

/// A reading stored with another value than the one acknowledged.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    pub entry: LedgerEntry,
    pub stored: f64,
}

/// A row read back, inside a sensor's acknowledged time range, that the
/// ledger does not list: a reading Kafka took whose acknowledgement the
/// producer never saw (it was killed, or the broker went away before
/// answering), or another writer's. Not a loss; counted so nothing is hidden.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredRow {
    pub sensor_id: String,
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    /// Distinct readings the ledger asks for.
    pub expected: usize,
    /// Of those, stored with the acknowledged value.
    pub found: usize,
    pub missing: usize,
    pub mismatched: usize,
    pub sensors: usize,
    /// Rows read back from Cassandra (including rows the ledger does not list).
    pub rows_read: usize,
    /// Rows read back that the ledger does not list (see [`StoredRow`]).
    pub unexpected: usize,
    /// The first few of each kind of problem, earliest first ([`CheckOptions::first_few`]).
    pub first_missing: Vec<LedgerEntry>,
    pub first_mismatched: Vec<Mismatch>,
    pub first_unexpected: Vec<StoredRow>,
    /// Consistency of the reads, e.g. "QUORUM".
    pub consistency: String,
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// Every acknowledged reading is there, with its value.
    pub fn is_complete(&self) -> bool {
        self.missing == 0 && self.mismatched == 0
    }

    /// A short human summary, with the first few problems.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} readings acknowledged ({} sensors): {} found, {} missing, {} with another value, \
             {} stored but not in the ledger (read at {}, {} rows, {} ms)",
            self.expected,
            self.sensors,
            self.found,
            self.missing,
            self.mismatched,
            self.unexpected,
            self.consistency,
            self.rows_read,
            self.elapsed_ms
        );
        let at = |timestamp: &DateTime<Utc>| timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        for entry in &self.first_missing {
            let (sensor, value) = (&entry.sensor_id, entry.value);
            let (partition, offset) = (entry.partition, entry.offset);
            let when = at(&entry.timestamp);
            let _ = write!(
                out,
                "\n  missing: {sensor} at {when} = {value} (Kafka partition {partition}, offset {offset})"
            );
        }
        for mismatch in &self.first_mismatched {
            let (sensor, when) = (&mismatch.entry.sensor_id, at(&mismatch.entry.timestamp));
            let (acknowledged, stored) = (mismatch.entry.value, mismatch.stored);
            let _ = write!(
                out,
                "\n  different: {sensor} at {when}: acknowledged {acknowledged}, stored {stored}"
            );
        }
        for row in &self.first_unexpected {
            let (sensor, when, value) = (&row.sensor_id, at(&row.timestamp), row.value);
            let _ = write!(out, "\n  not in the ledger: {sensor} at {when} = {value}");
        }
        out
    }
}

/// The ledger entries whose reading time lies in `[since, until]` (either bound optional).
pub fn entries_between(
    entries: &[LedgerEntry],
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Vec<LedgerEntry> {
    entries
        .iter()
        .filter(|entry| since.is_none_or(|since| entry.timestamp >= since))
        .filter(|entry| until.is_none_or(|until| entry.timestamp <= until))
        .cloned()
        .collect()
}

/// Rows as read back: per sensor, millisecond timestamp → value.
pub type StoredReadings = HashMap<String, BTreeMap<i64, f64>>;

/// Compares the ledger with what was read back. Cassandra keeps milliseconds,
/// so readings are matched on the millisecond; a reading listed twice (a
/// retried send) counts once.
pub fn compare(expected: &[LedgerEntry], stored: &StoredReadings, first_few: usize) -> CheckReport {
    let mut distinct: BTreeMap<(&str, i64), &LedgerEntry> = BTreeMap::new();
    for entry in expected {
        distinct.insert(
            (entry.sensor_id.as_str(), entry.timestamp.timestamp_millis()),
            entry,
        );
    }
    let mut report = CheckReport {
        expected: distinct.len(),
        found: 0,
        missing: 0,
        mismatched: 0,
        sensors: expected
            .iter()
            .map(|entry| entry.sensor_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        rows_read: stored.values().map(BTreeMap::len).sum(),
        unexpected: 0,
        first_missing: Vec::new(),
        first_mismatched: Vec::new(),
        first_unexpected: Vec::new(),
        consistency: String::new(),
        elapsed_ms: 0,
    };
    // Reported in ledger order, so "the first missing" is the earliest acknowledged.
    let mut ordered: Vec<&LedgerEntry> = distinct.values().copied().collect();
    ordered.sort_by_key(|entry| (entry.timestamp, entry.partition, entry.offset));
    for entry in ordered {
        let millis = entry.timestamp.timestamp_millis();
        match stored
            .get(&entry.sensor_id)
            .and_then(|rows| rows.get(&millis))
        {
            Some(value) if same_value(*value, entry.value) => report.found += 1,
            Some(value) => {
                report.mismatched += 1;
                if report.first_mismatched.len() < first_few {
                    report.first_mismatched.push(Mismatch {
                        entry: entry.clone(),
                        stored: *value,
                    });
                }
            }
            None => {
                report.missing += 1;
                if report.first_missing.len() < first_few {
                    report.first_missing.push(entry.clone());
                }
            }
        }
    }
    // Rows outside a sensor's acknowledged range were not asked for (a range
    // read returns none); any that are passed in are still counted.
    let mut unlisted: Vec<StoredRow> = Vec::new();
    for (sensor, rows) in stored {
        for (millis, value) in rows {
            if distinct.contains_key(&(sensor.as_str(), *millis)) {
                continue;
            }
            report.unexpected += 1;
            if let Some(timestamp) = DateTime::from_timestamp_millis(*millis) {
                let (sensor_id, value) = (sensor.clone(), *value);
                unlisted.push(StoredRow {
                    sensor_id,
                    timestamp,
                    value,
                });
            }
        }
    }
    unlisted.sort_by(|a, b| (a.timestamp, &a.sensor_id).cmp(&(b.timestamp, &b.sensor_id)));
    unlisted.truncate(first_few);
    report.first_unexpected = unlisted;
    report
}

/// A double goes through JSON and CQL unchanged; NaN never reaches the ledger.
fn same_value(stored: f64, acknowledged: f64) -> bool {
    stored.to_bits() == acknowledged.to_bits() || stored == acknowledged
}

/// The CQL that reads one sensor's readings between two timestamps (bound:
/// sensor, low, high) from `keyspace`; refused unless `keyspace` is a plain
/// identifier.
fn range_query(keyspace: &str) -> Result<String, CheckerError> {
    if !Keyspace::is_valid(keyspace) {
        return Err(CheckerError::BadKeyspace(keyspace.to_owned()));
    }
    // The keyspace is a checked identifier from the inventory, not data; the
    // values are bound.
    Ok(format!(
        "SELECT timestamp, value FROM {keyspace}.sensor_data \
         WHERE sensor_id = ? AND timestamp >= ? AND timestamp <= ?"
    ))
}

/// [`range_query`] prepared at `consistency`, each request bounded by the options.
async fn range_statement(
    session: &Session,
    keyspace: &str,
    consistency: Consistency,
    options: &CheckOptions,
) -> Result<PreparedStatement, CheckerError> {
    let mut statement = prepare(session, &range_query(keyspace)?, consistency).await?;
    statement.set_request_timeout(Some(options.request_timeout));
    Ok(statement)
}

/// `compare`'s report, saying at which consistency it read and how long the
/// check took since `started`.
fn timed_report(
    entries: &[LedgerEntry],
    stored: &StoredReadings,
    first_few: usize,
    consistency: String,
    started: Instant,
) -> CheckReport {
    let mut report = compare(entries, stored, first_few);
    report.consistency = consistency;
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// Reads back, per sensor, the time range the entries cover, and compares.
pub async fn check(
    session: &Session,
    keyspace: &str,
    entries: &[LedgerEntry],
    options: &CheckOptions,
) -> Result<CheckReport, CheckerError> {
    let started = Instant::now();
    let mut statement = range_statement(session, keyspace, options.consistency, options).await?;
    statement.set_page_size(PAGE_SIZE);

    let statement = &statement;
    let stored: StoredReadings = stream::iter(sensor_ranges(entries))
        .map(|(sensor, (low, high))| async move {
            read_range(session, statement, sensor, low, high)
                .await
                .map(|rows| (sensor.to_owned(), rows))
        })
        .buffer_unordered(CONCURRENT_SENSORS)
        .try_collect()
        .await?;

    let consistency = options.consistency.to_string().to_ascii_uppercase();
    Ok(timed_report(
        entries,
        &stored,
        options.first_few,
        consistency,
        started,
    ))
}

async fn read_range(
    session: &Session,
    statement: &PreparedStatement,
    sensor: &str,
    low: i64,
    high: i64,
) -> Result<BTreeMap<i64, f64>, CheckerError> {
    let pager = session
        .execute_iter(
            statement.clone(),
            (sensor, CqlTimestamp(low), CqlTimestamp(high)),
        )
        .await
        .map_err(|err: PagerExecutionError| CheckerError::read(sensor, err))?;
    let rows = pager
        .rows_stream::<(CqlTimestamp, f64)>()
        .map_err(|err: TypeCheckError| CheckerError::read(sensor, err))?;
    rows.map_ok(|(timestamp, value)| (timestamp.0, value))
        .try_collect()
        .await
        .map_err(|err: NextRowError| CheckerError::read(sensor, err))
}

/// Which replica answered a read at consistency ONE, as the query's trace says.
///
/// A node asked alone (the driver talks to it only) still coordinates: it may
/// pass a read at ONE to another replica when its snitch ranks that one first
/// (SimpleSnitch does, in ring order). Only reads it served from its own
/// replica prove what that node holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadSource {
    /// "reading data locally": the coordinator's own replica.
    Local,
    /// "reading data from /<address>:<port>": another replica.
    Remote(String),
    /// The trace did not say (not written yet, or tracing unavailable).
    Unknown,
}

/// One event of a query's trace: what happened, and on which node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    pub activity: String,
    pub source: Option<IpAddr>,
}

/// Where a read's data came from, from its trace: a data request sent to
/// another replica ("reading data from /<address>:<port>"), or the query
/// executed on the coordinator itself.
pub fn read_source(events: &[TraceEvent], coordinator: Option<IpAddr>) -> ReadSource {
    for event in events {
        if let Some(target) = event.activity.strip_prefix("reading data from ") {
            let address = target.split_whitespace().next().unwrap_or(target);
            let address = address.trim_start_matches('/');
            let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
            return ReadSource::Remote(host.to_owned());
        }
    }
    let executed_here = events.iter().any(|event| {
        (event.activity.starts_with("reading data locally")
            || event
                .activity
                .starts_with("Executing single-partition query"))
            && coordinator.is_some_and(|coordinator| event.source == Some(coordinator))
    });
    if executed_here {
        ReadSource::Local
    } else {
        ReadSource::Unknown
    }
}

/// For each sensor, one traced read at ONE through `session`: which replica served it.
pub async fn read_sources(
    session: &Session,
    keyspace: &str,
    sensors: &[String],
) -> Result<BTreeMap<String, ReadSource>, CheckerError> {
    if !Keyspace::is_valid(keyspace) {
        return Err(CheckerError::BadKeyspace(keyspace.to_owned()));
    }
    let cql = format!("SELECT timestamp FROM {keyspace}.sensor_data WHERE sensor_id = ? LIMIT 1");
    let mut statement = prepare(session, &cql, Consistency::One).await?;
    statement.set_tracing(true);
    let mut sources = BTreeMap::new();
    for sensor in sensors {
        let result = session
            .execute_unpaged(&statement, (sensor.as_str(),))
            .await
            .map_err(|err| CheckerError::read(sensor, err))?;
        let source = trace_events(session, &result, |events, coordinator| {
            read_source(events, coordinator) != ReadSource::Unknown
        })
        .await
        .map_or(ReadSource::Unknown, |(events, coordinator)| {
            read_source(&events, coordinator)
        });
        sources.insert(sensor.clone(), source);
    }
    Ok(sources)
}

/// What a read at ALL, traced, says about the replicas of the entries' sensors.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AgreementReport {
    /// The entries were found with their values (at ALL).
    pub report: CheckReport,
    /// Sensors whose replicas answered different data ("Digest mismatch"):
    /// the coordinator then repaired them, so a later read cannot show it.
    pub mismatched_sensors: Vec<String>,
    /// Sensors whose trace could not be read.
    pub untraced_sensors: Vec<String>,
}

impl AgreementReport {
    pub fn replicas_agree(&self) -> bool {
        self.report.is_complete()
            && self.mismatched_sensors.is_empty()
            && self.untraced_sensors.is_empty()
    }
}

/// Did a trace record a digest mismatch between replicas?
pub fn saw_digest_mismatch(events: &[TraceEvent]) -> bool {
    events
        .iter()
        .any(|event| event.activity.starts_with("Digest mismatch"))
}

/// Reads each sensor's range of `entries` once at consistency ALL, traced:
/// every replica answers, the coordinator compares their digests. No
/// mismatch means every replica, the returned node included, holds exactly
/// the same rows. Read once only: a mismatch triggers a read repair.
pub async fn check_replicas_agree(
    session: &Session,
    keyspace: &str,
    entries: &[LedgerEntry],
    options: &CheckOptions,
) -> Result<AgreementReport, CheckerError> {
    let started = Instant::now();
    let mut statement = range_statement(session, keyspace, Consistency::All, options).await?;
    statement.set_tracing(true);
    let mut stored = StoredReadings::new();
    let mut mismatched_sensors = Vec::new();
    let mut untraced_sensors = Vec::new();
    for (sensor, (low, high)) in sensor_ranges(entries) {
        let result = session
            .execute_unpaged(&statement, (sensor, CqlTimestamp(low), CqlTimestamp(high)))
            .await
            .map_err(|err| CheckerError::read(sensor, err))?;
        // Wait for the requests to the replicas to show in the trace, then
        // fetch it once more for any event written just after (a mismatch comes last).
        let started_reading = trace_events(session, &result, |events, _| {
            events
                .iter()
                .any(|event| event.activity.starts_with("reading "))
        })
        .await;
        let activities = match started_reading {
            Some(_) => {
                tokio::time::sleep(TRACE_RETRY).await;
                trace_events(session, &result, |_, _| true)
                    .await
                    .map(|(events, _)| events)
            }
            None => None,
        };
        let rows = result
            .into_rows_result()
            .map_err(|err| CheckerError::read(sensor, err))?;
        let rows: BTreeMap<i64, f64> = rows
            .rows::<(CqlTimestamp, f64)>()
            .map_err(|err| CheckerError::read(sensor, err))?
            .map(|row| row.map(|(timestamp, value)| (timestamp.0, value)))
            .collect::<Result<_, _>>()
            .map_err(|err| CheckerError::read(sensor, err))?;
        stored.insert(sensor.to_owned(), rows);
        match activities {
            Some(events) if saw_digest_mismatch(&events) => {
                mismatched_sensors.push(sensor.to_owned());
            }
            Some(_) => {}
            None => untraced_sensors.push(sensor.to_owned()),
        }
    }
    let report = timed_report(
        entries,
        &stored,
        options.first_few,
        "ALL".to_owned(),
        started,
    );
    Ok(AgreementReport {
        report,
        mismatched_sensors,
        untraced_sensors,
    })
}

/// A query's trace events and its coordinator, once `complete` says they are
/// all there (trace events are written asynchronously); `None` if they never are.
async fn trace_events(
    session: &Session,
    result: &QueryResult,
    complete: impl Fn(&[TraceEvent], Option<IpAddr>) -> bool,
) -> Option<(Vec<TraceEvent>, Option<IpAddr>)> {
    let tracing_id = result.tracing_id()?;
    let complete = &complete;
    wait::until(TRACE_PATIENCE, TRACE_RETRY, || async move {
        let Ok(trace) = session.get_tracing_info(&tracing_id).await else {
            return ControlFlow::Continue(());
        };
        let events: Vec<TraceEvent> = trace
            .events
            .iter()
            .filter_map(|event| {
                event.activity.clone().map(|activity| TraceEvent {
                    activity,
                    source: event.source,
                })
            })
            .collect();
        if complete(&events, trace.coordinator) {
            ControlFlow::Break((events, trace.coordinator))
        } else {
            ControlFlow::Continue(())
        }
    })
    .await
    .ok()
}

/// Per sensor, the time range (milliseconds) its entries cover.
fn sensor_ranges(entries: &[LedgerEntry]) -> BTreeMap<&str, (i64, i64)> {
    let mut ranges: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for entry in entries {
        let millis = entry.timestamp.timestamp_millis();
        ranges
            .entry(entry.sensor_id.as_str())
            .and_modify(|(low, high)| {
                *low = (*low).min(millis);
                *high = (*high).max(millis);
            })
            .or_insert((millis, millis));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_contains;

    fn entry(sensor: &str, millis: i64, value: f64, offset: i64) -> LedgerEntry {
        LedgerEntry {
            sensor_id: sensor.into(),
            timestamp: DateTime::from_timestamp_millis(millis).expect("valid time"),
            value,
            partition: 0,
            offset,
        }
    }

    fn stored(rows: &[(&str, i64, f64)]) -> StoredReadings {
        let mut stored = StoredReadings::new();
        for (sensor, millis, value) in rows {
            stored
                .entry((*sensor).into())
                .or_default()
                .insert(*millis, *value);
        }
        stored
    }

    #[test]
    fn everything_present_is_complete() {
        let ledger = [entry("s1", 1_000, 20.5, 1), entry("s2", 1_000, 7.25, 2)];
        let report = compare(
            &ledger,
            &stored(&[("s1", 1_000, 20.5), ("s2", 1_000, 7.25), ("s2", 2_000, 1.0)]),
            5,
        );
        assert!(report.is_complete());
        assert_eq!(
            (
                report.expected,
                report.found,
                report.sensors,
                report.rows_read,
                report.unexpected
            ),
            (2, 2, 2, 3, 1)
        );
    }

    #[test]
    fn rows_the_ledger_does_not_list_are_unexpected_listed_earliest_first_and_not_a_loss() {
        let ledger = [entry("s1", 1_000, 1.0, 1), entry("s2", 1_000, 2.0, 2)];
        let rows = stored(&[
            ("s1", 1_000, 1.0),
            ("s1", 4_000, 8.0),
            ("s2", 1_000, 2.0),
            ("s2", 3_000, 6.0),
            ("s2", 1_001, 5.0),
        ]);
        let report = compare(&ledger, &rows, 2);
        assert!(report.is_complete(), "nothing acknowledged is missing");
        assert_eq!(
            (report.found, report.unexpected, report.rows_read),
            (2, 3, 5)
        );
        let first: Vec<(&str, i64, f64)> = report
            .first_unexpected
            .iter()
            .map(|row| {
                (
                    row.sensor_id.as_str(),
                    row.timestamp.timestamp_millis(),
                    row.value,
                )
            })
            .collect();
        assert_eq!(first, vec![("s2", 1_001, 5.0), ("s2", 3_000, 6.0)]);
        let text = report.render();
        assert_contains(&text, "3 stored but not in the ledger");
        assert_contains(
            &text,
            "not in the ledger: s2 at 1970-01-01T00:00:01.001Z = 5",
        );
    }

    #[test]
    fn an_empty_run_reads_nothing_and_counts_zero() {
        let report = compare(&[], &StoredReadings::new(), 5);
        assert_eq!(
            (
                report.expected,
                report.found,
                report.missing,
                report.unexpected
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(report.sensors, 0);
        assert!(sensor_ranges(&[]).is_empty(), "no sensor, no range read");
        assert_contains(report.render(), "0 readings acknowledged (0 sensors)");
    }

    #[test]
    fn missing_and_changed_readings_are_counted_and_listed_earliest_first() {
        let ledger = [
            entry("s1", 3_000, 3.0, 3),
            entry("s1", 1_000, 1.0, 1),
            entry("s1", 2_000, 2.0, 2),
            entry("s2", 1_500, 9.0, 4),
        ];
        let report = compare(
            &ledger,
            &stored(&[("s1", 2_000, 2.0), ("s2", 1_500, 9.5)]),
            1,
        );
        assert!(!report.is_complete());
        assert_eq!((report.found, report.missing, report.mismatched), (1, 2, 1));
        assert_eq!(report.first_missing, vec![entry("s1", 1_000, 1.0, 1)]);
        assert_eq!(report.first_mismatched[0].stored, 9.5);
        let text = report.render();
        assert_contains(&text, "2 missing");
        assert_contains(&text, "missing: s1 at 1970-01-01T00:00:01.000Z = 1");
    }

    #[test]
    fn a_reading_sent_twice_counts_once_and_sub_millisecond_digits_are_ignored() {
        let mut precise = entry("s1", 1_000, 4.0, 1);
        precise.timestamp += chrono::Duration::microseconds(400);
        let ledger = [precise, entry("s1", 1_000, 4.0, 7)];
        let report = compare(&ledger, &stored(&[("s1", 1_000, 4.0)]), 5);
        assert_eq!((report.expected, report.found), (1, 1));
    }

    #[test]
    fn entries_are_filtered_by_reading_time() {
        let ledger = [
            entry("s1", 1_000, 1.0, 1),
            entry("s1", 2_000, 2.0, 2),
            entry("s1", 3_000, 3.0, 3),
        ];
        let since = DateTime::from_timestamp_millis(1_500);
        let until = DateTime::from_timestamp_millis(2_000);
        assert_eq!(
            entries_between(&ledger, since, until),
            vec![entry("s1", 2_000, 2.0, 2)]
        );
        assert_eq!(entries_between(&ledger, None, until).len(), 2);
    }

    fn event(activity: &str, source: &str) -> TraceEvent {
        TraceEvent {
            activity: activity.into(),
            source: source.parse().ok(),
        }
    }

    #[test]
    fn the_trace_tells_which_replica_served_the_read() {
        let coordinator = "127.0.0.2".parse().ok();
        // At ONE, a local read shows only as the query executed on the coordinator.
        let local = [
            event(
                "Parsing SELECT timestamp FROM iot_demo.sensor_data",
                "127.0.0.2",
            ),
            event(
                "Executing single-partition query on sensor_data",
                "127.0.0.2",
            ),
        ];
        assert_eq!(read_source(&local, coordinator), ReadSource::Local);
        let remote = [
            event("reading data from /127.0.0.1:7000", "127.0.0.2"),
            event(
                "Executing single-partition query on sensor_data",
                "127.0.0.1",
            ),
        ];
        assert_eq!(
            read_source(&remote, coordinator),
            ReadSource::Remote("127.0.0.1".into())
        );
        let incomplete = [event("Parsing SELECT", "127.0.0.2")];
        assert_eq!(read_source(&incomplete, coordinator), ReadSource::Unknown);
    }

    #[test]
    fn a_digest_mismatch_is_seen_in_the_trace() {
        assert!(saw_digest_mismatch(&[
            event("reading digest from /127.0.0.3:7000", "127.0.0.2"),
            event(
                "Digest mismatch: Mismatch for key DecoratedKey(1, 73656e736f725f3031)",
                "127.0.0.2"
            ),
        ]));
        assert!(!saw_digest_mismatch(&[event(
            "reading digest from /127.0.0.3:7000",
            "127.0.0.2"
        )]));
    }

    #[test]
    fn only_plain_keyspace_names_reach_the_query() {
        assert!(range_query("iot_demo").is_ok_and(|cql| cql.contains(" iot_demo.sensor_data ")));
        for bad in ["iot_demo; DROP", "1abc", ""] {
            assert!(
                matches!(range_query(bad), Err(CheckerError::BadKeyspace(name)) if name == bad),
                "{bad:?}"
            );
        }
    }
}
