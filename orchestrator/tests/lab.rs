//! The lab is a real cluster: these tests prove it at the database level.
//!
//! They need the lab up (the project's test command brings it up) and run
//! serially; the ones that stop nodes hold /tmp/lab-faults.lock and always
//! bring the cluster back whole with `demo lab up`, which is idempotent.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iot_services::cassandra::{SessionOptions, connect, connect_single_node};
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;
use test_support::FaultLock;

use common::{require_lab, root};

const NODES: [(&str, u16); 3] = [
    ("127.0.0.1", 7199),
    ("127.0.0.2", 7299),
    ("127.0.0.3", 7399),
];

fn demo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the demo binary runs")
}

/// Brings every node back (idempotent) when a fault test ends, even on panic.
struct RestoreLab;

impl Drop for RestoreLab {
    fn drop(&mut self) {
        let output = demo(&["lab", "up"]);
        if !output.status.success() && !std::thread::panicking() {
            panic!(
                "could not restore the lab: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

fn nodetool(jmx_port: u16, command: &str) -> String {
    let output = Command::new(root().join(".lab/cassandra/bin/nodetool"))
        .args(["-h", "127.0.0.1", "-p", &jmx_port.to_string(), command])
        .output()
        .expect("nodetool runs");
    assert!(
        output.status.success(),
        "nodetool {command} on port {jmx_port}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn node_script(node: usize, verb: &str) {
    let script = root().join(format!(".lab/node{node}/bin/{verb}"));
    let output = Command::new(&script).output().expect("node script runs");
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A zombie waiting for its parent to reap it no longer runs.
fn is_running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

fn unique_sensor(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("labtest_{tag}_{nanos}")
}

fn now_ms() -> CqlTimestamp {
    CqlTimestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

async fn insert(
    session: &Session,
    consistency: Consistency,
    sensor: &str,
    value: f64,
) -> Result<(), String> {
    let mut statement = session
        .prepare("INSERT INTO iot_demo.sensor_data (sensor_id, timestamp, value) VALUES (?, ?, ?)")
        .await
        .map_err(|e| format!("{e:?}"))?;
    statement.set_consistency(consistency);
    session
        .execute_unpaged(&statement, (sensor, now_ms(), value))
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

async fn read_value(
    session: &Session,
    consistency: Consistency,
    sensor: &str,
) -> Result<Option<f64>, String> {
    let mut statement = session
        .prepare("SELECT value FROM iot_demo.sensor_data WHERE sensor_id = ? LIMIT 1")
        .await
        .map_err(|e| format!("{e:?}"))?;
    statement.set_consistency(consistency);
    let rows = session
        .execute_unpaged(&statement, (sensor,))
        .await
        .map_err(|e| format!("{e:?}"))?
        .into_rows_result()
        .map_err(|e| format!("{e:?}"))?;
    let value = rows
        .maybe_first_row::<(f64,)>()
        .map_err(|e| format!("{e:?}"))?;
    Ok(value.map(|(v,)| v))
}

async fn whole_cluster_session() -> Session {
    connect(&SessionOptions::new(
        NODES.iter().map(|(a, _)| a.to_string()).collect(),
    ))
    .await
    .expect("session to the lab")
}

#[test]
fn every_node_sees_every_node_up_with_one_cluster_name_and_rf3() {
    require_lab();
    for (observer, jmx) in NODES {
        let status = nodetool(jmx, "status");
        for (address, _) in NODES {
            let line = status
                .lines()
                .find(|line| line.split_whitespace().nth(1) == Some(address))
                .unwrap_or_else(|| panic!("{observer} does not list {address}:\n{status}"));
            assert!(
                line.starts_with("UN "),
                "{observer} sees {address} as {line}"
            );
        }
        let describe = nodetool(jmx, "describecluster");
        let cluster =
            demo::nodetool::parse_describecluster(&describe).expect("describecluster parses");
        assert_eq!(cluster.name, "iot_demo_lab", "{observer}: {describe}");
        assert_eq!(
            cluster.schema_versions.len(),
            1,
            "{observer} sees schema disagreement:\n{describe}"
        );
        assert!(cluster.unreachable.is_empty(), "{observer}: {describe}");
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let session = whole_cluster_session().await;
        let rows = session
            .query_unpaged(
                "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'iot_demo'",
                (),
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let (replication,) = rows
            .single_row::<(std::collections::HashMap<String, String>,)>()
            .unwrap();
        assert_eq!(
            replication.get("replication_factor").map(String::as_str),
            Some("3")
        );
        assert!(
            replication
                .get("class")
                .is_some_and(|c| c.ends_with("SimpleStrategy"))
        );
    });
}

#[tokio::test]
async fn a_row_written_at_all_through_node1_is_read_at_one_on_node2_alone_and_node3_alone() {
    require_lab();
    let sensor = unique_sensor("replication");
    let node1 = connect_single_node("127.0.0.1", Duration::from_secs(5))
        .await
        .unwrap();
    insert(&node1, Consistency::All, &sensor, 42.5)
        .await
        .unwrap();
    for address in ["127.0.0.2", "127.0.0.3"] {
        let alone = connect_single_node(address, Duration::from_secs(5))
            .await
            .unwrap();
        let value = read_value(&alone, Consistency::One, &sensor).await.unwrap();
        assert_eq!(
            value,
            Some(42.5),
            "{address} does not hold the row written through node 1"
        );
    }
}

#[tokio::test]
async fn quorum_survives_one_node_down_and_is_unavailable_with_two_down() {
    require_lab();
    let _lock = FaultLock::acquire();
    let _restore = RestoreLab;
    let sensor = unique_sensor("tolerance");

    node_script(3, "stop");
    let session = whole_cluster_session().await;
    insert(&session, Consistency::Quorum, &sensor, 1.0)
        .await
        .expect("QUORUM write with node 3 down");
    assert_eq!(
        read_value(&session, Consistency::Quorum, &sensor)
            .await
            .unwrap(),
        Some(1.0)
    );

    node_script(2, "stop");
    let node1 = connect_single_node("127.0.0.1", Duration::from_secs(5))
        .await
        .unwrap();
    let write = insert(&node1, Consistency::Quorum, &sensor, 2.0).await;
    let error = write.expect_err("QUORUM must fail with two of three nodes down");
    assert!(
        error.contains("Unavailable"),
        "expected Unavailable, got {error}"
    );
    let read = read_value(&node1, Consistency::Quorum, &sensor).await;
    assert!(
        read.as_ref().is_err_and(|e| e.contains("Unavailable")),
        "QUORUM read: {read:?}"
    );
    assert_eq!(
        read_value(&node1, Consistency::One, &sensor).await.unwrap(),
        Some(1.0),
        "ONE still reads"
    );

    drop(_restore);
    for (observer, jmx) in NODES {
        let status = nodetool(jmx, "status");
        assert_eq!(
            status.lines().filter(|l| l.starts_with("UN ")).count(),
            3,
            "{observer}:\n{status}"
        );
    }
}

#[test]
fn lab_down_leaves_nothing_running_and_up_twice_is_harmless() {
    require_lab();
    let _lock = FaultLock::acquire();
    let _restore = RestoreLab;
    let pid_files: Vec<PathBuf> = (1..=3)
        .map(|n| root().join(format!(".lab/node{n}/cassandra.pid")))
        .chain([root().join(".lab/kafka/kafka.pid")])
        .collect();
    let pids: Vec<String> = pid_files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|p| p.trim().to_string())
        .collect();
    assert_eq!(pids.len(), 4, "every lab process has a pid file");

    let down = demo(&["lab", "down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    for pid in &pids {
        assert!(!is_running(pid), "pid {pid} still running after lab down");
    }
    for port in [
        "127.0.0.1:9042",
        "127.0.0.2:9042",
        "127.0.0.3:9042",
        "127.0.0.1:9092",
    ] {
        assert!(
            std::net::TcpStream::connect_timeout(
                &port.parse().unwrap(),
                Duration::from_millis(500)
            )
            .is_err(),
            "{port} still open"
        );
    }
    let status = demo(&["lab", "status"]);
    assert!(
        !status.status.success(),
        "lab status must fail when the lab is down"
    );

    for attempt in 1..=2 {
        let up = demo(&["lab", "up"]);
        assert!(
            up.status.success(),
            "lab up #{attempt}: {}",
            String::from_utf8_lossy(&up.stderr)
        );
    }
    let status = demo(&["lab", "status"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

/// A fresh checkout with nothing fetched: only what `lab up` reads first.
fn empty_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("schema.cql"), dir.path().join("schema.cql")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
    dir
}

fn lab_up_in(
    checkout: &std::path::Path,
    path: &str,
    java_home: Option<&str>,
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    command
        .args(["lab", "up"])
        .env("DEMO_ROOT", checkout)
        .env("PATH", path)
        .env_remove("JAVA_HOME");
    if let Some(home) = java_home {
        command.env("JAVA_HOME", home);
    }
    command.output().expect("the demo binary runs")
}

#[test]
fn lab_up_without_java_says_what_to_install() {
    let checkout = empty_checkout();
    let output = lab_up_in(checkout.path(), "/nonexistent", None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Java was not found") && stderr.contains("JDK 17"),
        "{stderr}"
    );
}

#[test]
fn lab_up_without_maven_says_what_to_install_before_fetching() {
    let java = Command::new("sh")
        .args(["-c", "readlink -f \"$(command -v java)\""])
        .output()
        .unwrap();
    let java = String::from_utf8_lossy(&java.stdout).trim().to_string();
    let java_home = std::path::Path::new(&java)
        .parent()
        .and_then(|bin| bin.parent())
        .expect("java in a JDK bin/");
    let checkout = empty_checkout();
    let output = lab_up_in(
        checkout.path(),
        "/nonexistent",
        Some(&java_home.to_string_lossy()),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`mvn`") && stderr.contains("apt-get install maven"),
        "{stderr}"
    );
}
