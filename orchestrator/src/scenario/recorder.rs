//! Samples the run's timeline in the background while the steps run.
//!
//! Four kinds of task, each on its own clock so a slow answer delays only its own
//! series: the API as a client sees it (`GET /sensors`, four times a second), each
//! node (once a second: how it sees the others, and the hints it keeps for them),
//! ingest's metrics (once a second) and the services' memory (every 5 s). Every request is bounded well under its period,
//! and the tasks end when the recorder is stopped or dropped.
//!
//! How a node sees another is read over CQL from that node alone, by the rule the API
//! uses too ([`iot_services::gossip`]: a peer whose heartbeat stops moving, or that
//! announced its shutdown, is one the node no longer hears). Hints are read on disk, not from
//! `system_views.pending_hints`: that table lists closed hint files only, and a node
//! keeps writing to an open file for as long as the peer is down; the files' names
//! start with the host id of the node they are for.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use contract::events::SeenState;
use contract::metrics;
use iot_services::cassandra;
use iot_services::gossip::{GOSSIP_QUERY, GossipRow, Heartbeats};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::probe::{ApiProbe, ProbeError};
use super::timeline::{ApiSample, HintsSample, IngestSample, MemorySample, Timeline, ViewSample};
use crate::app::{Service, StateDir};
use crate::hosts::{Inventory, NodeSpec};
use crate::node_config::{CQL_PORT, shell_word};
use crate::procinfo;
use crate::remote::{Remote, RemoteOptions};

/// How often the API is probed.
const API_EVERY: Duration = Duration::from_millis(250);
/// Each probe gives up after this long (and is recorded as failed): the API's own
/// bound on a request (`--http-timeout-ms`, 5 s), so a slow answer (QUORUM out of
/// reach, then a fallback to ONE) is seen as slow, not as missing.
const API_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the services' memory is read.
const MEMORY_EVERY: Duration = Duration::from_secs(5);
/// How often each node and ingest are sampled.
const NODE_EVERY: Duration = Duration::from_secs(1);
/// A node's CQL answer (connection or query) is waited for this long.
const CQL_TIMEOUT: Duration = Duration::from_millis(900);
/// Listing a node's hint files is waited for this long.
const HINTS_TIMEOUT: Duration = Duration::from_secs(2);
const HINTS_DIR_QUERY: &str = "SELECT value FROM system_views.settings WHERE name = ?";

/// What the recorder watches.
#[derive(Debug, Clone)]
pub struct Sources {
    pub inventory: Inventory,
    pub remote: RemoteOptions,
    /// The API's base URL, e.g. "http://127.0.0.1:8080".
    pub api_url: String,
    /// The run's sensors.
    pub sensors: Vec<String>,
    /// Ingest's metrics endpoint, host:port.
    pub ingest_metrics: String,
    /// Where the services' pid files are.
    pub services: StateDir,
}

/// The sampling tasks and what they recorded so far.
pub struct Recorder {
    timeline: Arc<Mutex<Timeline>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Recorder {
    /// Starts sampling now.
    pub fn start(sources: Sources) -> Result<Recorder, ProbeError> {
        let timeline = Arc::new(Mutex::new(Timeline::default()));
        let probe = ApiProbe::new(&sources.api_url, sources.sensors.clone(), API_TIMEOUT)?;
        let client = reqwest::Client::builder()
            .timeout(CQL_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(ProbeError::Client)?;
        let mut tasks = vec![
            tokio::spawn(sample_api(probe, timeline.clone())),
            tokio::spawn(sample_ingest(
                client,
                format!("http://{}/metrics", sources.ingest_metrics),
                timeline.clone(),
            )),
            tokio::spawn(sample_memory(sources.services.clone(), timeline.clone())),
        ];
        for node in &sources.inventory.nodes {
            let watcher = NodeWatcher::new(&sources, node);
            tasks.push(tokio::spawn(watcher.sample(timeline.clone())));
        }
        Ok(Recorder { timeline, tasks })
    }

    /// What was recorded so far.
    pub fn snapshot(&self) -> Timeline {
        self.timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops sampling; returns everything recorded.
    pub fn stop(self) -> Timeline {
        self.snapshot()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

fn push<T>(timeline: &Mutex<Timeline>, add: impl FnOnce(&mut Timeline) -> &mut Vec<T>, item: T) {
    let mut timeline = timeline.lock().unwrap_or_else(PoisonError::into_inner);
    add(&mut timeline).push(item);
}

/// A sample's value and error fields from one result.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

async fn sample_api(probe: ApiProbe, timeline: Arc<Mutex<Timeline>>) {
    let mut ticks = ticker(API_EVERY);
    loop {
        ticks.tick().await;
        let at = Utc::now();
        let clock = Instant::now();
        let answer = probe.freshness().await;
        let latency_ms = millis(clock.elapsed());
        let sample = match answer {
            Ok(fresh) => ApiSample {
                at,
                ok: true,
                latency_ms,
                staleness_ms: fresh.worst_staleness.map(millis),
                consistency: Some(
                    if fresh.degraded_reads {
                        "ONE"
                    } else {
                        "QUORUM"
                    }
                    .into(),
                ),
                error: None,
            },
            Err(err) => ApiSample {
                at,
                ok: false,
                latency_ms,
                staleness_ms: None,
                consistency: None,
                error: Some(err.to_string()),
            },
        };
        push(&timeline, |t| &mut t.api, sample);
    }
}

async fn sample_ingest(client: reqwest::Client, url: String, timeline: Arc<Mutex<Timeline>>) {
    let mut ticks = ticker(NODE_EVERY);
    let mut previous: Option<(f64, Instant)> = None;
    loop {
        ticks.tick().await;
        let at = Utc::now();
        let text = match client.get(&url).send().await {
            Ok(response) => response.text().await.map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        let sample = match text {
            Ok(text) => {
                let written = metrics::value(&text, &metrics::counter(metrics::INGEST_WRITTEN));
                let now = Instant::now();
                let rate = match (previous, written) {
                    (Some((before, then)), Some(written)) if written >= before => {
                        Some((written - before) / now.duration_since(then).as_secs_f64())
                    }
                    _ => None,
                };
                previous = written.map(|written| (written, now));
                IngestSample {
                    at,
                    rate_per_s: rate,
                    lag: metrics::sum(&text, metrics::INGEST_CONSUMER_LAG),
                    consuming: metrics::value(&text, metrics::INGEST_KAFKA_CONSUMING)
                        .map(|value| value >= 1.0),
                    error: None,
                }
            }
            Err(error) => {
                previous = None;
                IngestSample {
                    at,
                    rate_per_s: None,
                    lag: None,
                    consuming: None,
                    error: Some(format!("GET {url}: {error}")),
                }
            }
        };
        push(&timeline, |t| &mut t.ingest, sample);
    }
}

async fn sample_memory(services: StateDir, timeline: Arc<Mutex<Timeline>>) {
    let mut ticks = ticker(MEMORY_EVERY);
    loop {
        ticks.tick().await;
        let at = Utc::now();
        for service in Service::START_ORDER {
            let Some(state) = services.running(service.name()) else {
                continue;
            };
            if let Some(rss_kb) = procinfo::resident_kb(state.pid) {
                let sample = MemorySample {
                    at,
                    service: service.name().to_owned(),
                    rss_kb,
                };
                push(&timeline, |t| &mut t.memory, sample);
            }
        }
    }
}

/// A CQL session to one node alone, with the recorder's statements.
struct NodeSession {
    session: Session,
    gossip: PreparedStatement,
    hints_dir: PreparedStatement,
}

/// Watches one node: its view of the others, the hints it keeps.
struct NodeWatcher {
    node: NodeSpec,
    inventory: Inventory,
    remote_options: RemoteOptions,
    session: Option<NodeSession>,
    remote: Option<Remote>,
    /// The peers' heartbeats as this node last reported them.
    heartbeats: Heartbeats,
    /// Host id → node name, from gossip (hint files are named after host ids).
    host_names: BTreeMap<String, String>,
    hints_dir: Option<String>,
}

impl NodeWatcher {
    fn new(sources: &Sources, node: &NodeSpec) -> Self {
        Self {
            node: node.clone(),
            inventory: sources.inventory.clone(),
            remote_options: sources.remote.clone(),
            session: None,
            remote: None,
            heartbeats: Heartbeats::default(),
            host_names: BTreeMap::new(),
            hints_dir: None,
        }
    }

    async fn sample(mut self, timeline: Arc<Mutex<Timeline>>) {
        let mut ticks = ticker(NODE_EVERY);
        loop {
            ticks.tick().await;
            let at = Utc::now();
            let gossip = self.gossip().await;
            let sees = gossip.map(|rows| self.seen(&rows, Instant::now()));
            let view = ViewSample::new(at, self.node.name.clone(), sees);
            push(&timeline, |t| &mut t.views, view);
            if self.hints_dir.is_none() {
                continue;
            }
            let at = Utc::now();
            let hints = HintsSample::new(at, self.node.name.clone(), self.hint_files().await);
            push(&timeline, |t| &mut t.hints, hints);
        }
    }

    /// This node's gossip_info (connecting first if needed), within [`CQL_TIMEOUT`]s.
    async fn gossip(&mut self) -> Result<Vec<GossipRow>, String> {
        if self.session.is_none() {
            let socket = SocketAddr::new(self.node.address, CQL_PORT);
            // A closed port is answer enough: the driver is asked only when it may
            // succeed, since each failed attempt logs an error over the narration.
            tokio::time::timeout(CQL_TIMEOUT, tokio::net::TcpStream::connect(socket))
                .await
                .map_err(|_| format!("CQL port {socket} not answering"))?
                .map_err(|err| format!("CQL port {socket} closed: {err}"))?;
            let address = socket.to_string();
            let session = tokio::time::timeout(CQL_TIMEOUT, connect(&address))
                .await
                .map_err(|_| format!("no CQL connection to {address} within {CQL_TIMEOUT:?}"))??;
            self.session = Some(session);
        }
        let Some(node) = &self.session else {
            return Err("no session".into());
        };
        let rows = tokio::time::timeout(CQL_TIMEOUT, async {
            let result = node
                .session
                .execute_unpaged(&node.gossip, ())
                .await
                .map_err(|err| err.to_string())?;
            cassandra::rows::<GossipRow>(result).map_err(|err| err.to_string())
        })
        .await
        .map_err(|_| format!("gossip_info not answered within {CQL_TIMEOUT:?}"))
        .and_then(|rows| rows);
        let rows = match rows {
            Ok(rows) => rows,
            Err(err) => {
                // Dropped, so the driver does not keep reconnecting (and logging) in the
                // background while the node is out; opened again once its port answers.
                self.session = None;
                return Err(err);
            }
        };
        let Some(node) = &self.session else {
            return Err("no session".into());
        };
        if self.hints_dir.is_none() {
            self.hints_dir = hints_directory(node).await;
        }
        Ok(rows)
    }

    /// How this node sees each other node of the inventory, from its gossip rows.
    fn seen(&mut self, rows: &[GossipRow], now: Instant) -> BTreeMap<String, SeenState> {
        let mut sees = BTreeMap::new();
        for seen in self.heartbeats.observe(rows, now) {
            let Some(peer) = self.inventory.node_by_address(seen.address) else {
                continue;
            };
            if let Some(host_id) = seen.host_id {
                self.host_names.insert(host_id, peer.name.clone());
            }
            if peer.name == self.node.name {
                continue;
            }
            let state = if seen.view.up {
                SeenState::Up
            } else {
                SeenState::Down
            };
            sees.insert(peer.name.clone(), state);
        }
        sees
    }

    /// Bytes of hint files on this node, by the node they are for.
    async fn hint_files(&mut self) -> Result<BTreeMap<String, u64>, String> {
        let Some(dir) = &self.hints_dir else {
            return Ok(BTreeMap::new());
        };
        if self.remote.is_none() {
            let remote = Remote::connect(&self.inventory, &self.node, &self.remote_options)
                .await
                .map_err(|err| err.to_string())?;
            self.remote = Some(remote);
        }
        let Some(remote) = &self.remote else {
            return Err("no connection".into());
        };
        let command = format!(
            "find {} -maxdepth 1 -name '*.hints' -printf '%f %s\\n'",
            shell_word(dir)
        );
        let output = remote
            .run_with_timeout(&command, HINTS_TIMEOUT)
            .await
            .map_err(|err| err.to_string());
        let output = match output {
            Ok(output) => output,
            Err(err) => {
                // A broken connection is opened again at the next sample.
                self.remote = None;
                return Err(err);
            }
        };
        Ok(hint_bytes(&output.stdout, &self.host_names))
    }
}

async fn connect(address: &str) -> Result<NodeSession, String> {
    let session = cassandra::connect_single_node(address, CQL_TIMEOUT)
        .await
        .map_err(|err| format!("CQL connection to {address} failed: {err}"))?;
    let gossip = session
        .prepare(GOSSIP_QUERY)
        .await
        .map_err(|err| format!("{address}: {err}"))?;
    let hints_dir = session
        .prepare(HINTS_DIR_QUERY)
        .await
        .map_err(|err| format!("{address}: {err}"))?;
    Ok(NodeSession {
        session,
        gossip,
        hints_dir,
    })
}

/// The node's `hints_directory` setting (`None` if it does not say).
async fn hints_directory(node: &NodeSession) -> Option<String> {
    let rows = node
        .session
        .execute_unpaged(&node.hints_dir, ("hints_directory",))
        .await
        .ok()?
        .into_rows_result()
        .ok()?;
    let (value,) = rows.maybe_first_row::<(Option<String>,)>().ok()??;
    value.filter(|dir| !dir.is_empty())
}

/// `find -printf '%f %s\n'` of hint files → bytes per node name. A file's name starts
/// with the host id (36 characters) of the node it is for; unknown ids keep the id.
fn hint_bytes(listing: &str, host_names: &BTreeMap<String, String>) -> BTreeMap<String, u64> {
    let mut bytes = BTreeMap::new();
    for line in listing.lines() {
        let Some((file, size)) = line.rsplit_once(' ') else {
            continue;
        };
        let (Some(host_id), Ok(size)) = (file.get(..36), size.trim().parse::<u64>()) else {
            continue;
        };
        let name = host_names
            .get(host_id)
            .cloned()
            .unwrap_or_else(|| host_id.to_owned());
        *bytes.entry(name).or_insert(0) += size;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use iot_services::gossip::SILENT_AFTER;

    const PC2_ID: &str = "8f0b1c2d-0000-4000-8000-000000000002";

    #[test]
    fn hint_files_are_summed_per_node_they_are_for() {
        let names = BTreeMap::from([(PC2_ID.to_string(), "PC2".to_string())]);
        let listing = format!(
            "{PC2_ID}-1764748800000-2.hints 1048\n{PC2_ID}-1764748810000-2.hints 52\n\
             0a0a0a0a-0000-4000-8000-00000000000a-1764748800000-2.hints 7\nbroken\n"
        );
        let bytes = hint_bytes(&listing, &names);
        assert_eq!(bytes["PC2"], 1100);
        assert_eq!(bytes["0a0a0a0a-0000-4000-8000-00000000000a"], 7);
        assert_eq!(bytes.len(), 2);
        assert!(hint_bytes("", &names).is_empty());
    }

    fn watcher() -> NodeWatcher {
        let inventory = Inventory::load(crate::paths::project_root().join("hosts.toml"))
            .expect("the repository's hosts.toml");
        let sources = Sources {
            remote: RemoteOptions::from_inventory(&inventory),
            inventory: inventory.clone(),
            api_url: String::new(),
            sensors: Vec::new(),
            ingest_metrics: String::new(),
            services: StateDir::new(std::env::temp_dir()),
        };
        NodeWatcher::new(&sources, &inventory.nodes[0])
    }

    #[test]
    fn a_peer_is_down_once_its_heartbeat_stops_or_it_announced_its_shutdown() {
        let mut pc1 = watcher();
        let [pc1_at, pc2_at, pc3_at] = [0, 1, 2].map(|n| pc1.inventory.nodes[n].address);
        let rows = |pc2_beat: i32, pc3_status: &str| -> Vec<GossipRow> {
            vec![
                (
                    pc1_at,
                    Some(1),
                    Some(100),
                    Some("NORMAL".into()),
                    None,
                    None,
                ),
                (
                    pc2_at,
                    Some(1),
                    Some(pc2_beat),
                    Some("NORMAL".into()),
                    None,
                    Some(PC2_ID.into()),
                ),
                (
                    pc3_at,
                    Some(1),
                    Some(7),
                    Some(pc3_status.into()),
                    None,
                    None,
                ),
            ]
        };
        let start = Instant::now();
        let first = pc1.seen(&rows(10, "NORMAL"), start);
        assert_eq!(first.get("PC2"), Some(&SeenState::Up));
        assert!(!first.contains_key("PC1"), "a node does not list itself");
        assert_eq!(pc1.host_names[PC2_ID], "PC2");
        let later = pc1.seen(&rows(10, "shutdown,true"), start + SILENT_AFTER);
        assert_eq!(later.get("PC2"), Some(&SeenState::Down), "silent for 5 s");
        assert_eq!(
            later.get("PC3"),
            Some(&SeenState::Down),
            "announced its shutdown"
        );
        let back = pc1.seen(&rows(11, "NORMAL"), start + SILENT_AFTER * 2);
        assert_eq!(back.get("PC2"), Some(&SeenState::Up), "its heartbeat moved");
    }
}
