//! Harness of the services' integration tests, on the real lab.
//!
//! Each test starts the binaries it needs, from the typed arguments of
//! `contract::args`, on listeners it bound itself (handed over as inherited
//! descriptors, so no test races for a port), with its own topics, consumer
//! group and sensor-id prefix (so reruns and other tests never mix); they are
//! killed when the test ends, even on panic. Fault tests take the lab-wide
//! fault lock and always bring the node back before releasing it. What is not
//! specific to the services (waits, the lock, spawning) is in `test_support`.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use contract::args::{self, ApiArgs, IngestArgs, ProducerArgs};
use iot_services::cassandra::{self, SessionOptions};
use iot_services::kafka::{client_config, ensure_topics};
use iot_services::ledger::{LedgerEntry, read_ledger};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;
use test_support::{
    BoundListener, Service, Wait, run_bounded, wait_for, wait_for_metric_at_least, wait_ok,
};

pub const KAFKA: &str = "127.0.0.1:9092";
pub const CONTACT_POINTS: &str = "127.0.0.1,127.0.0.2,127.0.0.3";

/// Fails fast, clearly, when the lab is not running.
pub fn require_lab() {
    for address in ["127.0.0.1:9042", "127.0.0.1:9092"] {
        let addr: SocketAddr = address.parse().expect("static address");
        if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
            panic!("lab not up: run `demo lab up` ({address} does not answer)");
        }
    }
}

/// A name no other test run uses: `<tag>-<pid>-<millis>`.
pub fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    )
}

/// A sensor-id prefix no other run uses (only `[A-Za-z0-9_.-]`).
pub fn unique_prefix(tag: &str) -> String {
    format!(
        "{tag}_{}_{}_",
        std::process::id(),
        Utc::now().timestamp_millis() % 100_000_000
    )
}

/// The topics of one test.
pub struct Topics {
    pub readings: String,
    pub dlq: String,
}

impl Topics {
    pub fn create(runtime: &tokio::runtime::Runtime, tag: &str) -> Topics {
        let topics = Topics {
            readings: unique(&format!("{tag}-readings")),
            dlq: unique(&format!("{tag}-dlq")),
        };
        runtime
            .block_on(ensure_topics(
                KAFKA,
                &[(&topics.readings, 6), (&topics.dlq, 1)],
            ))
            .expect("test topics created");
        topics
    }
}

/// target/<profile>/<name>, built by cargo alongside the tests.
/// What a pipeline test starts from, all its own, each named after its tag and
/// made unique: (runtime, directory for the services' logs and the producer's
/// ledger, topics, sensor prefix, consumer group, ledger path).
pub type Scene = (
    Arc<tokio::runtime::Runtime>,
    tempfile::TempDir,
    Topics,
    String,
    String,
    PathBuf,
);

pub fn scene(tag: &str) -> Scene {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let topics = Topics::create(&rt, tag);
    let ledger = dir.path().join("ledger.jsonl");
    let group = unique(&format!("{tag}-group"));
    (rt, dir, topics, unique_prefix(tag), group, ledger)
}

pub fn binary(name: &str) -> PathBuf {
    match name {
        "producer" => PathBuf::from(env!("CARGO_BIN_EXE_producer")),
        "ingest" => PathBuf::from(env!("CARGO_BIN_EXE_ingest")),
        "api" => PathBuf::from(env!("CARGO_BIN_EXE_api")),
        other => panic!("unknown binary {other}"),
    }
}

/// Starts service binary `name` with `args`, handing it `listeners`, its log in `log_dir`.
fn spawn(name: &str, args: Vec<String>, listeners: Vec<BoundListener>, log_dir: &Path) -> Service {
    let mut command = Command::new(binary(name));
    command.args(args).env("RUST_LOG", "info");
    Service::spawn(name, command, listeners, log_dir)
}

/// What a service would parse with no flag (the lab's defaults).
pub fn defaults<T: clap::Parser>() -> T {
    args::from_environment().unwrap_or_else(|e| panic!("default service arguments: {e}"))
}

/// Ingest's arguments: the lab's defaults on `topics`, with its own `group`.
pub fn ingest_args(topics: &Topics, group: &str) -> IngestArgs {
    let mut args: IngestArgs = defaults();
    args.kafka.topic = topics.readings.clone();
    args.dlq_topic = topics.dlq.clone();
    args.group_id = group.to_owned();
    args
}

/// Starts ingest with `args`, its metrics on a listener bound here; returns
/// it and its metrics URL once that answers.
pub fn start_ingest(mut args: IngestArgs, log_dir: &Path) -> (Service, String) {
    let metrics = BoundListener::loopback();
    args.metrics_listen = metrics.address();
    args.metrics_fd = Some(metrics.fd());
    let url = format!("{}/metrics", metrics.base_url());
    let service = spawn("ingest", args.to_args(), vec![metrics], log_dir);
    wait_ok(&url, Duration::from_secs(30));
    (service, url)
}

/// The API's arguments: the lab's defaults.
pub fn api_args() -> ApiArgs {
    defaults()
}

/// Starts the API with `args` on a listener bound here; returns it and its
/// base URL once `/health` is 200.
pub fn start_api(mut args: ApiArgs, log_dir: &Path) -> (Service, String) {
    let listener = BoundListener::loopback();
    args.listen = listener.address();
    args.listen_fd = Some(listener.fd());
    let base = listener.base_url();
    let service = spawn("api", args.to_args(), vec![listener], log_dir);
    wait_ok(&format!("{base}/health"), Duration::from_secs(30));
    (service, base)
}

/// Waits until ingest (metrics at `metrics_url`) has written at least `readings`.
pub fn wait_written(metrics_url: &str, readings: f64, timeout: Duration) {
    let written = contract::metrics::counter(contract::metrics::INGEST_WRITTEN);
    wait_for_metric_at_least(metrics_url, &written, readings, timeout);
}

/// The producer's arguments: the lab's defaults on `topic`, with its sensor prefix and
/// ledger, `sensors` sensors sending `rate` readings a second each.
pub fn producer_args(
    topic: &str,
    prefix: &str,
    ledger: &Path,
    sensors: usize,
    rate: f64,
) -> ProducerArgs {
    let mut args: ProducerArgs = defaults();
    args.kafka.topic = topic.to_owned();
    args.sensor_prefix = prefix.to_owned();
    args.ledger = Some(ledger.to_owned());
    (args.sensors, args.rate) = (sensors, rate);
    args
}

/// Starts the producer in the background (it has a `--duration` or `--count`).
pub fn spawn_producer(args: &ProducerArgs, log_dir: &Path) -> Service {
    spawn("producer", args.to_args(), Vec::new(), log_dir)
}

/// Runs the producer to completion; returns its stdout summary.
pub fn run_producer(args: &ProducerArgs, timeout: Duration) -> String {
    let ran = run_bounded(
        Command::new(binary("producer"))
            .args(args.to_args())
            .env("RUST_LOG", "warn"),
        timeout,
    );
    eprint!("{}", ran.stderr);
    assert_eq!(
        ran.status,
        Some(0),
        "producer failed: {}{}",
        ran.stdout,
        ran.stderr
    );
    ran.stdout
}

/// How many readings the producer's ledger holds so far (it flushes as it goes).
pub fn acknowledged(ledger: &Path) -> Result<usize, String> {
    read_ledger(ledger)
        .map(|entries| entries.len())
        .map_err(|e| e.to_string())
}

/// Waits until the producer's ledger holds at least `count` readings.
pub fn wait_acknowledged(ledger: &Path, count: usize, timeout: Duration) -> usize {
    wait_for(
        &format!("{count} readings in the ledger {}", ledger.display()),
        timeout,
        || {
            let held = acknowledged(ledger)?;
            if held >= count {
                Ok(held)
            } else {
                Err(format!("{held} readings"))
            }
        },
    )
}

/// A blocking GET: (status, body).
pub fn http_get(url: &str) -> Result<(u16, String), reqwest::Error> {
    test_support::http::get(url).map(|answer| (answer.status, answer.body))
}

/// GET expecting 200 JSON.
pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = http_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}

/// A Cassandra session on the lab, for checking what ingest wrote.
pub struct Cassandra {
    pub runtime: Arc<tokio::runtime::Runtime>,
    session: Session,
}

impl Cassandra {
    pub fn connect(runtime: Arc<tokio::runtime::Runtime>) -> Cassandra {
        let options = SessionOptions::new(cassandra::split_contact_points(CONTACT_POINTS));
        let session = runtime
            .block_on(cassandra::connect(&options))
            .expect("Cassandra session");
        Cassandra { runtime, session }
    }

    /// Every (timestamp ms → value) of a sensor, read at `consistency`.
    pub fn readings(
        &self,
        sensor_id: &str,
        consistency: Consistency,
    ) -> Result<BTreeMap<i64, f64>, String> {
        self.runtime.block_on(async {
            let statement = cassandra::prepare(
                &self.session,
                "SELECT timestamp, value FROM iot_demo.sensor_data WHERE sensor_id = ?",
                consistency,
            )
            .await
            .map_err(|e| e.to_string())?;
            let result = self
                .session
                .execute_unpaged(&statement, (sensor_id,))
                .await
                .map_err(|e| e.to_string())?;
            let rows = result.into_rows_result().map_err(|e| e.to_string())?;
            rows.rows::<(CqlTimestamp, f64)>()
                .map_err(|e| e.to_string())?
                .map(|row| row.map(|(t, v)| (t.0, v)).map_err(|e| e.to_string()))
                .collect()
        })
    }

    /// Ledger entries missing from Cassandra (read at QUORUM... or ALL when asked).
    pub fn missing(&self, ledger: &[LedgerEntry], consistency: Consistency) -> Vec<LedgerEntry> {
        let sensors: BTreeSet<&str> = ledger.iter().map(|e| e.sensor_id.as_str()).collect();
        let mut stored: BTreeMap<&str, BTreeMap<i64, f64>> = BTreeMap::new();
        for sensor in sensors {
            let rows = self
                .readings(sensor, consistency)
                .unwrap_or_else(|e| panic!("reading {sensor}: {e}"));
            stored.insert(sensor, rows);
        }
        ledger
            .iter()
            .filter(|e| {
                stored
                    .get(e.sensor_id.as_str())
                    .and_then(|rows| rows.get(&e.timestamp.timestamp_millis()))
                    != Some(&e.value)
            })
            .cloned()
            .collect()
    }

    /// Waits until every ledger entry is in Cassandra, or panics with what is missing.
    pub fn wait_all_stored(&self, ledger: &[LedgerEntry], timeout: Duration) {
        Wait::new("every ledger entry in Cassandra", timeout)
            .every(Duration::from_millis(500))
            .until(|| {
                let missing = self.missing(ledger, Consistency::Quorum);
                if missing.is_empty() {
                    return Ok(());
                }
                Err(format!(
                    "{} of {} ledger entries not in Cassandra, e.g. {:?}",
                    missing.len(),
                    ledger.len(),
                    &missing[..missing.len().min(3)]
                ))
            });
    }
}

/// A dead-lettered message as read back from the DLQ topic.
#[derive(Debug)]
pub struct DeadLettered {
    pub reason_header: Option<String>,
    pub envelope: serde_json::Value,
}

/// Reads the DLQ topic from the beginning until `count` messages or `timeout`.
pub fn read_dlq(topic: &str, count: usize, timeout: Duration) -> Vec<DeadLettered> {
    let consumer: BaseConsumer = client_config(KAFKA)
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("DLQ consumer");
    consumer.subscribe(&[topic]).expect("subscribe to DLQ");
    let mut letters = Vec::new();
    let started = Instant::now();
    while letters.len() < count && started.elapsed() < timeout {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let reason_header = message.headers().and_then(|headers| {
            headers
                .iter()
                .find(|h| h.key == iot_services::kafka::DLQ_REASON_HEADER)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let envelope = message
            .payload()
            .and_then(|p| serde_json::from_slice(p).ok())
            .unwrap_or(serde_json::Value::Null);
        letters.push(DeadLettered {
            reason_header,
            envelope,
        });
    }
    letters
}

/// The committed offsets of `group` on the 6 partitions of `topic` (-1: none).
pub fn committed_offsets(topic: &str, group: &str) -> Vec<(i32, i64)> {
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = client_config(KAFKA)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for partition in 0..6 {
        list.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => (e.partition(), o),
            _ => (e.partition(), -1),
        })
        .collect()
}

/// Parses an API timestamp.
pub fn api_time(value: &serde_json::Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    iot_services::reading::parse_timestamp(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn millis_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("in range")
}

/// A tokio runtime for the async helpers of a test.
pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
    )
}

// ---- faults -------------------------------------------------------------

/// The lab's directory.
pub fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.lab")
}

/// Runs `.lab/nodeN/bin/<verb>`.
pub fn node_script(node: u8, verb: &str) {
    let script = lab_dir().join(format!("node{node}/bin/{verb}"));
    let output = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    eprintln!(
        "{} → {}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// A node taken out by the test; brought back (thaw, start, wait) when dropped.
pub struct NodeFault {
    pub node: u8,
}

impl NodeFault {
    pub fn apply(node: u8, verb: &str) -> NodeFault {
        node_script(node, verb);
        NodeFault { node }
    }

    /// Brings the node back now and waits until it is usable again.
    pub fn restore(self) {
        drop(self)
    }
}

impl Drop for NodeFault {
    fn drop(&mut self) {
        node_script(self.node, "thaw");
        node_script(self.node, "start");
        wait_node_healthy(self.node, Duration::from_secs(180));
    }
}

/// Waits until node N answers CQL and every node sees it UN.
pub fn wait_node_healthy(node: u8, timeout: Duration) {
    let address = format!("127.0.0.{node}");
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    Wait::new(format!("node {node} healthy (CQL, UN everywhere)"), timeout)
        .every(Duration::from_secs(1))
        .until(|| {
            runtime.block_on(async {
                let session = cassandra::connect_single_node(&address, Duration::from_secs(2))
                    .await
                    .map_err(|e| format!("no CQL session: {e}"))?;
                session
                    .query_unpaged("SELECT release_version FROM system.local", ())
                    .await
                    .map_err(|e| format!("CQL does not answer: {e}"))
            })?;
            if seen_up_by_all(&address) {
                Ok(())
            } else {
                Err("answers CQL, not yet UN for every node".to_owned())
            }
        });
    eprintln!("node {node} healthy again after {:?}", started.elapsed());
}

/// Does every running node's `nodetool status` show `address` as UN? (A node
/// whose nodetool does not answer is down and has no opinion.)
fn seen_up_by_all(address: &str) -> bool {
    let nodetool = lab_dir().join("cassandra/bin/nodetool");
    let mut opinions = 0;
    for port in [7199, 7299, 7399] {
        let Ok(out) = Command::new(&nodetool)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "status"])
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        opinions += 1;
        let up = String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|line| line.starts_with("UN") && line.split_whitespace().nth(1) == Some(address));
        if !up {
            return false;
        }
    }
    opinions > 0
}
