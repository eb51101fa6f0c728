//! The cluster as the API sees it, for the dashboard's node cards.
//!
//! Each node is probed every second through a session pinned to it alone
//! (the driver must not route around it, or a dead node would look alive), with
//! a one-second timeout: a stopped node refuses, a frozen node stays silent,
//! and both show DOWN within a few seconds. The probes run in the background so
//! `GET /cluster` answers instantly whatever state the nodes are in.
//!
//! Each node is also asked, by a second task on its own pinned session (so a
//! slow answer never delays the liveness probe), what makes replication visible:
//! how it sees each node of the ring (its gossip, see [`crate::gossip`]) and the
//! hints it keeps for others (`system_views.pending_hints`). A third task counts,
//! every [`READINGS_EVERY`], the readings of the last 10 minutes each node's own
//! replica holds, on every node at once and from one window start, so the cards
//! compare like with like. The count is a range read at ONE coordinated by the
//! node itself: with `dynamic_snitch: false` and GossipingPropertyFileSnitch (the
//! nodes' configuration) a coordinator that holds a range reads it from its own
//! replica, range reads are never speculated, and with replication factor 3 on
//! three nodes each node holds every range; a lab test traces the query and
//! checks that no other node took part. The token restriction makes it a
//! partition-key restricted aggregate, which Cassandra does not warn about.
//! What a node that is not up said before is not shown.
//!
//! `pending_hints` lists the hint files a node has closed. Cassandra keeps
//! appending to an open file while the peer is away and closes it when the peer
//! is back (or at 128 MiB), so during a short outage the table may list nothing
//! (a drained stop) or the first file only (a crash: the hints written before the
//! peer was convicted); on the return the files appear, then go as they are
//! replayed.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::Keyspace;
use contract::api::{PendingHints, READINGS_WINDOW_MINUTES, RingView};
use contract::names::SENSOR_DATA_TABLE;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, Statement};
use scylla::value::CqlTimestamp;
use tokio::time::Instant;

use crate::cassandra::{DEFAULT_CQL_PORT, connect_single_node, prepare, rows};
use crate::gossip::{GOSSIP_QUERY, GossipRow, Heartbeats};
use tokio_util::sync::CancellationToken;

/// How long a node has to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often each node is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How often each node counts the readings it holds.
pub const READINGS_EVERY: Duration = Duration::from_secs(2);
/// How long a node has to count them (a range read of 10 minutes of readings).
const COUNT_TIMEOUT: Duration = Duration::from_secs(3);

const LIVENESS_QUERY: &str = "SELECT release_version FROM system.local";
const HINTS_QUERY: &str = "SELECT address, files, oldest, newest FROM system_views.pending_hints";

/// The last probe's outcome for one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub name: String,
    pub address: String,
    pub up: bool,
    pub latency_ms: Option<f64>,
    pub checked_at: Option<DateTime<Utc>>,
    /// Readings of the last 10 minutes in its own replica (None: not counted).
    pub readings: Option<u64>,
    /// What it keeps for other nodes.
    pub hints: Vec<PendingHints>,
    /// How it sees each node, by name.
    pub sees: BTreeMap<String, RingView>,
}

/// Latest status of every node, updated by the probes.
#[derive(Debug, Default)]
pub struct ClusterView {
    nodes: RwLock<Vec<NodeStatus>>,
}

/// What a node said of the ring at its last round of questions.
#[derive(Debug, Default)]
struct Details {
    hints: Vec<PendingHints>,
    sees: BTreeMap<String, RingView>,
}

impl ClusterView {
    /// Every node as last probed; what a node that is not up said before is not shown.
    pub fn snapshot(&self) -> Vec<NodeStatus> {
        let mut nodes = self
            .nodes
            .read()
            .map(|n| n.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        for node in nodes.iter_mut().filter(|node| !node.up) {
            node.readings = None;
            node.hints.clear();
            node.sees.clear();
        }
        nodes
    }

    fn update(&self, index: usize, up: bool, latency: Option<Duration>) {
        let mut nodes = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        if let Some(node) = nodes.get_mut(index) {
            node.up = up;
            node.latency_ms = latency.map(|l| (l.as_secs_f64() * 1e4).round() / 10.0);
            node.checked_at = Some(Utc::now());
        }
    }

    fn is_up(&self, index: usize) -> bool {
        let nodes = self.nodes.read().unwrap_or_else(|p| p.into_inner());
        nodes.get(index).is_some_and(|node| node.up)
    }

    fn update_readings(&self, index: usize, readings: Option<u64>) {
        let mut nodes = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        if let Some(node) = nodes.get_mut(index) {
            node.readings = readings;
        }
    }

    fn update_details(&self, index: usize, details: Details) {
        let mut nodes = self.nodes.write().unwrap_or_else(|p| p.into_inner());
        if let Some(node) = nodes.get_mut(index) {
            node.hints = details.hints;
            node.sees = details.sees;
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

/// The names of the nodes by the address Cassandra knows them by (a contact
/// point given as a host name is resolved once, at start).
#[derive(Debug, Default)]
struct NodeNames(HashMap<IpAddr, String>);

impl NodeNames {
    fn new(contact_points: &[String], names: &[String]) -> Self {
        let mut by_address = HashMap::new();
        for (point, name) in contact_points.iter().zip(names) {
            let host = host_of(point);
            let address = host.parse::<IpAddr>().ok().or_else(|| {
                (host.as_str(), DEFAULT_CQL_PORT)
                    .to_socket_addrs()
                    .ok()?
                    .next()
                    .map(|socket| socket.ip())
            });
            if let Some(address) = address {
                by_address.insert(address, name.clone());
            }
        }
        NodeNames(by_address)
    }

    /// The node's name, or its address if it is not one of the API's.
    fn of(&self, address: IpAddr) -> String {
        self.0
            .get(&address)
            .cloned()
            .unwrap_or_else(|| address.to_string())
    }
}

/// Starts one background probe per node; returns the view they keep fresh.
pub fn start_probes(
    contact_points: &[String],
    names: &[String],
    keyspace: &Keyspace,
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
                    readings: None,
                    hints: Vec::new(),
                    sees: BTreeMap::new(),
                })
                .collect(),
        ),
    });
    let node_names = Arc::new(NodeNames::new(contact_points, &names));
    for (index, point) in contact_points.iter().enumerate() {
        tokio::spawn(probe_forever(
            view.clone(),
            index,
            point.clone(),
            stop.clone(),
        ));
        let questions = NodeQuestions {
            address: point.clone(),
            names: node_names.clone(),
            session: None,
            heartbeats: Heartbeats::default(),
        };
        tokio::spawn(questions.forever(view.clone(), index, stop.clone()));
    }
    let counter = ReadingsCounter {
        cql: readings_query(keyspace),
        nodes: contact_points
            .iter()
            .map(|point| (point.clone(), None))
            .collect(),
    };
    tokio::spawn(counter.forever(view.clone(), stop.clone()));
    view
}

async fn probe_forever(
    view: Arc<ClusterView>,
    index: usize,
    address: String,
    stop: CancellationToken,
) {
    let mut session: Option<Session> = None;
    let mut statement = Statement::new(LIVENESS_QUERY);
    statement.set_request_timeout(Some(PROBE_TIMEOUT));
    statement.set_is_idempotent(true);
    let mut ticks = Ticks::new(PROBE_INTERVAL, stop);
    while ticks.next().await {
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
                // The driver would reconnect this pool on its own backoff, which
                // grows to tens of seconds while the node is away: its card would
                // stay red long after it is back. A fresh session each second
                // sees it as soon as it answers.
                session = None;
            }
            Err(_) => {
                view.update(index, false, None);
                session = None;
            }
        }
    }
}

/// The count of a node's own readings since a moment (see the module's doc).
pub fn readings_query(keyspace: &Keyspace) -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE token(sensor_id) >= ? AND timestamp >= ? ALLOW FILTERING",
        keyspace.table(SENSOR_DATA_TABLE)
    )
}

/// A session pinned to one node, with the probe's statements.
struct Pinned {
    session: Session,
    gossip: PreparedStatement,
    hints: PreparedStatement,
}

/// The questions to one node, with what it remembers between rounds.
struct NodeQuestions {
    address: String,
    names: Arc<NodeNames>,
    session: Option<Pinned>,
    heartbeats: Heartbeats,
}

impl NodeQuestions {
    async fn forever(mut self, view: Arc<ClusterView>, index: usize, stop: CancellationToken) {
        let mut ticks = Ticks::new(PROBE_INTERVAL, stop);
        while ticks.next().await {
            if !view.is_up(index) {
                // Asked again once the liveness probe hears it: a node that does not
                // answer would only make this task wait (and its driver log) too.
                self.session = None;
                view.update_details(index, Details::default());
                continue;
            }
            let details = match self.round().await {
                Ok(details) => details,
                Err(error) => {
                    tracing::debug!("questions to {}: {error}", self.address);
                    // Asked again on a new session: a dead pool would keep failing.
                    self.session = None;
                    Details::default()
                }
            };
            view.update_details(index, details);
        }
    }

    /// One round: the ring and the hints; an error when the node cannot tell how
    /// it sees the ring.
    async fn round(&mut self) -> Result<Details, String> {
        if self.session.is_none() {
            self.session = Some(self.connect().await?);
        }
        let (gossip, hints) = tokio::join!(self.gossip(), self.hints());
        let rows = gossip?;
        let names = self.names.clone();
        let sees = self
            .heartbeats
            .observe(&rows, std::time::Instant::now())
            .into_iter()
            .map(|seen| (names.of(seen.address), seen.view))
            .collect();
        let hints = hints.unwrap_or_else(|error| {
            tracing::debug!("hints of {}: {error}", self.address);
            Vec::new()
        });
        Ok(Details { hints, sees })
    }

    async fn connect(&self) -> Result<Pinned, String> {
        let session = connect_single_node(&self.address, PROBE_TIMEOUT)
            .await
            .map_err(|error| error.to_string())?;
        let gossip = prepare_within(&session, GOSSIP_QUERY).await?;
        let hints = prepare_within(&session, HINTS_QUERY).await?;
        Ok(Pinned {
            session,
            gossip,
            hints,
        })
    }

    async fn gossip(&self) -> Result<Vec<GossipRow>, String> {
        let pinned = self.session.as_ref().ok_or("no session")?;
        all_rows(&pinned.session, &pinned.gossip, "gossip_info").await
    }

    async fn hints(&self) -> Result<Vec<PendingHints>, String> {
        let pinned = self.session.as_ref().ok_or("no session")?;
        let rows = all_rows(&pinned.session, &pinned.hints, "pending_hints").await?;
        Ok(pending_hints(rows, &self.names))
    }
}

/// `cql` prepared as the services prepare every statement ([`prepare`]: idempotent),
/// at ONE on a pinned session, within [`PROBE_TIMEOUT`].
async fn prepare_within(session: &Session, cql: &str) -> Result<PreparedStatement, String> {
    tokio::time::timeout(PROBE_TIMEOUT, prepare(session, cql, Consistency::One))
        .await
        .map_err(|_| format!("preparing `{cql}` took over {PROBE_TIMEOUT:?}"))?
        .map_err(|error| error.to_string())
}

/// Every row of a virtual table's `statement`, within [`PROBE_TIMEOUT`].
async fn all_rows<Row>(
    session: &Session,
    statement: &PreparedStatement,
    table: &str,
) -> Result<Vec<Row>, String>
where
    Row: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata>,
{
    let result = tokio::time::timeout(PROBE_TIMEOUT, session.execute_unpaged(statement, ()))
        .await
        .map_err(|_| format!("{table} not answered within {PROBE_TIMEOUT:?}"))?
        .map_err(|error| error.to_string())?;
    rows(result).map_err(|error| error.to_string())
}

/// Counts, every [`READINGS_EVERY`], the readings each node that is up holds,
/// on all of them at once and from one window start.
struct ReadingsCounter {
    cql: String,
    /// Each node's contact point and its pinned session with the prepared count.
    nodes: Vec<(String, Option<(Session, PreparedStatement)>)>,
}

impl ReadingsCounter {
    async fn forever(mut self, view: Arc<ClusterView>, stop: CancellationToken) {
        let mut ticks = Ticks::new(READINGS_EVERY, stop);
        while ticks.next().await {
            let since = Utc::now() - chrono::Duration::minutes(READINGS_WINDOW_MINUTES);
            let cql = self.cql.as_str();
            let counts = self
                .nodes
                .iter_mut()
                .enumerate()
                .map(|(index, (address, pinned))| {
                    let up = view.is_up(index);
                    async move {
                        if !up {
                            *pinned = None;
                            return None;
                        }
                        match count(address, pinned, cql, since).await {
                            Ok(readings) => Some(readings),
                            Err(error) => {
                                tracing::debug!("readings of {address}: {error}");
                                *pinned = None;
                                None
                            }
                        }
                    }
                });
            let counts = futures::future::join_all(counts).await;
            for (index, readings) in counts.into_iter().enumerate() {
                view.update_readings(index, readings);
            }
        }
    }
}

/// The readings of the last 10 minutes `address` holds (connecting and preparing
/// first when `pinned` is empty).
async fn count(
    address: &str,
    pinned: &mut Option<(Session, PreparedStatement)>,
    cql: &str,
    since: DateTime<Utc>,
) -> Result<u64, String> {
    if pinned.is_none() {
        let session = connect_single_node(address, PROBE_TIMEOUT)
            .await
            .map_err(|error| error.to_string())?;
        let mut statement = prepare_within(&session, cql).await?;
        statement.set_request_timeout(Some(COUNT_TIMEOUT));
        *pinned = Some((session, statement));
    }
    let Some((session, statement)) = pinned.as_ref() else {
        return Err("no session".into());
    };
    let result = tokio::time::timeout(
        COUNT_TIMEOUT,
        session.execute_unpaged(
            statement,
            (i64::MIN, CqlTimestamp(since.timestamp_millis())),
        ),
    )
    .await
    .map_err(|_| format!("the count was not answered within {COUNT_TIMEOUT:?}"))?
    .map_err(|error| error.to_string())?;
    let (count,) = result
        .into_rows_result()
        .map_err(|error| error.to_string())?
        .single_row::<(i64,)>()
        .map_err(|error| error.to_string())?;
    u64::try_from(count).map_err(|_| format!("a negative count: {count}"))
}

/// The beat of a background task: every `period` (a late round delays the next
/// rather than piling up) until `stop`.
struct Ticks {
    interval: tokio::time::Interval,
    stop: CancellationToken,
}

impl Ticks {
    fn new(period: Duration, stop: CancellationToken) -> Ticks {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticks { interval, stop }
    }

    /// Waits for the next beat; false once stopped.
    async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.interval.tick() => true,
            () = self.stop.cancelled() => false,
        }
    }
}

/// One row of [`HINTS_QUERY`]: the node they are for, files, oldest, newest.
type HintsRow = (
    IpAddr,
    Option<i32>,
    Option<CqlTimestamp>,
    Option<CqlTimestamp>,
);

/// pending_hints rows → what a node keeps, by the node it is for, in name order.
fn pending_hints(rows: Vec<HintsRow>, names: &NodeNames) -> Vec<PendingHints> {
    let time = |t: Option<CqlTimestamp>| t.and_then(|t| DateTime::from_timestamp_millis(t.0));
    let mut hints: Vec<PendingHints> = rows
        .into_iter()
        .filter_map(|(address, files, oldest, newest)| {
            let files = u32::try_from(files?).ok().filter(|files| *files > 0)?;
            Some(PendingHints {
                node: names.of(address),
                files,
                oldest: time(oldest),
                newest: time(newest),
            })
        })
        .collect();
    hints.sort_by(|a, b| a.node.cmp(&b.node));
    hints
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
    fn hints_are_named_after_the_node_they_are_for() {
        let points = ["127.0.0.1:9042".to_owned(), "127.0.0.2".to_owned()];
        let names = NodeNames::new(&points, &node_names(&points, &[]));
        let pc2: IpAddr = "127.0.0.2".parse().unwrap();
        let stranger: IpAddr = "10.9.9.9".parse().unwrap();
        let hints = pending_hints(
            vec![
                (stranger, Some(1), None, None),
                (
                    pc2,
                    Some(2),
                    Some(CqlTimestamp(1_000)),
                    Some(CqlTimestamp(9_000)),
                ),
                ("127.0.0.1".parse().unwrap(), Some(0), None, None),
            ],
            &names,
        );
        assert_eq!(hints.len(), 2, "a row without files is nothing pending");
        assert_eq!(hints[0].node, "10.9.9.9");
        assert_eq!(hints[1].node, "PC2");
        assert_eq!(hints[1].files, 2);
        assert_eq!(hints[1].oldest.map(|t| t.timestamp_millis()), Some(1_000));
        assert_eq!(hints[1].newest.map(|t| t.timestamp_millis()), Some(9_000));
    }

    #[test]
    fn host_part() {
        assert_eq!(host_of("127.0.0.2"), "127.0.0.2");
        assert_eq!(host_of("127.0.0.2:9042"), "127.0.0.2");
        assert_eq!(host_of("[::1]:9042"), "::1");
        assert_eq!(host_of("::1"), "::1");
    }
}
