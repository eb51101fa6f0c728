//! Harness of the services' integration tests, on the real lab.
//!
//! Each test starts the binaries it needs on free ports with its own topics,
//! consumer group and sensor-id prefix (so reruns and other tests never mix),
//! and stops them by pid when it ends, even on panic. Fault tests take the
//! lab-wide fault lock and always bring the node back before releasing it.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use iot_services::cassandra::{self, SessionOptions};
use iot_services::kafka::{client_config, ensure_topics};
use iot_services::ledger::LedgerEntry;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

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

/// A TCP port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if started.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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

/// A spawned service binary, killed by pid when dropped.
pub struct Service {
    pub name: &'static str,
    child: Child,
    pub log: PathBuf,
}

impl Service {
    pub fn spawn(name: &'static str, args: &[String], log_dir: &Path) -> Service {
        let log = log_dir.join(format!("{name}-{}.log", Utc::now().timestamp_micros()));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(binary(name))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Service { name, child, log }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit by itself (a producer with a
    /// `--duration`), failing the test after.
    pub fn wait_finished(&mut self, timeout: Duration) {
        let started = Instant::now();
        while self.is_running() {
            assert!(started.elapsed() < timeout, "{} did not finish", self.name);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = kill(self.pid(), Signal::SIGKILL);
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `timeout` for a clean exit (SIGKILL after).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = kill(self.pid(), Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.is_running() {
            self.kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} log ({}) ----\n{}",
                self.name,
                self.log.display(),
                tail(&self.log_text(), 60)
            );
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// target/<profile>/<name>, built by cargo alongside the tests.
pub fn binary(name: &str) -> PathBuf {
    match name {
        "producer" => PathBuf::from(env!("CARGO_BIN_EXE_producer")),
        "ingest" => PathBuf::from(env!("CARGO_BIN_EXE_ingest")),
        "api" => PathBuf::from(env!("CARGO_BIN_EXE_api")),
        other => panic!("unknown binary {other}"),
    }
}

/// Starts ingest on `topics` with its own group and metrics port.
pub fn start_ingest(
    topics: &Topics,
    group: &str,
    log_dir: &Path,
    extra: &[&str],
) -> (Service, u16) {
    let metrics_port = free_port();
    let mut args = vec![
        "--topic".to_owned(),
        topics.readings.clone(),
        "--dlq-topic".to_owned(),
        topics.dlq.clone(),
        "--group-id".to_owned(),
        group.to_owned(),
        "--metrics-listen".to_owned(),
        format!("127.0.0.1:{metrics_port}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let service = Service::spawn("ingest", &args, log_dir);
    wait_for("ingest metrics endpoint", Duration::from_secs(30), || {
        http_get(&format!("http://127.0.0.1:{metrics_port}/metrics"))
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    (service, metrics_port)
}

/// Starts the API on a free port and waits until `/health` is 200.
pub fn start_api(log_dir: &Path, extra: &[&str]) -> (Service, String) {
    let port = free_port();
    let mut args = vec!["--listen".to_owned(), format!("127.0.0.1:{port}")];
    args.extend(extra.iter().map(|s| s.to_string()));
    let service = Service::spawn("api", &args, log_dir);
    let base = format!("http://127.0.0.1:{port}");
    wait_for("api /health 200", Duration::from_secs(30), || {
        http_get(&format!("{base}/health"))
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    (service, base)
}

/// The producer's arguments: its topic, sensor prefix and ledger, then `extra`.
pub fn producer_args(topic: &str, prefix: &str, ledger: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--topic".to_owned(),
        topic.to_owned(),
        "--sensor-prefix".to_owned(),
        prefix.to_owned(),
        "--ledger".to_owned(),
        ledger.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs the producer to completion; returns its stdout summary.
pub fn run_producer(
    topic: &str,
    prefix: &str,
    ledger: &Path,
    extra: &[&str],
    timeout: Duration,
) -> String {
    let args = producer_args(topic, prefix, ledger, extra);
    let mut child = Command::new(binary("producer"))
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("producer starts");
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut out = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                use std::io::Read;
                let _ = stdout.read_to_string(&mut out);
            }
            assert!(status.success(), "producer failed ({status}): {out}");
            return out;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("producer did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking GET: (status, body).
pub fn http_get(url: &str) -> Result<(u16, String), reqwest::Error> {
    let (status, _, body) = http_get_with_headers(url)?;
    Ok((status, body))
}

/// A blocking GET: (status, headers, body), 5 s timeout.
pub fn http_get_with_headers(
    url: &str,
) -> Result<(u16, reqwest::header::HeaderMap, String), reqwest::Error> {
    let url = url.to_owned();
    // reqwest's async client on a private runtime: the tests stay synchronous.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let response = client.get(url).send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok((status, headers, body))
    })
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
        let started = Instant::now();
        loop {
            let missing = self.missing(ledger, Consistency::Quorum);
            if missing.is_empty() {
                return;
            }
            if started.elapsed() > timeout {
                panic!(
                    "{} of {} ledger entries not in Cassandra after {timeout:?}, e.g. {:?}",
                    missing.len(),
                    ledger.len(),
                    &missing[..missing.len().min(3)]
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
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

/// The lab-wide fault lock (`flock /tmp/lab-faults.lock`), held while alive.
pub struct FaultLock {
    _lock: Flock<File>,
}

impl FaultLock {
    pub fn acquire() -> FaultLock {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/tmp/lab-faults.lock")
            .expect("open /tmp/lab-faults.lock");
        eprintln!("waiting for the lab fault lock…");
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .expect("flock");
        FaultLock { _lock: lock }
    }
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
    loop {
        let cql = runtime.block_on(async {
            let session = cassandra::connect_single_node(&address, Duration::from_secs(2))
                .await
                .ok()?;
            session
                .query_unpaged("SELECT release_version FROM system.local", ())
                .await
                .ok()
        });
        if cql.is_some() && seen_up_by_all(&address) {
            eprintln!("node {node} healthy again after {:?}", started.elapsed());
            return;
        }
        if started.elapsed() > timeout {
            panic!("node {node} not healthy {timeout:?} after restore");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
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
