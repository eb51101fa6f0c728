//! Failover on the real lab: one Cassandra node stopped, killed (SIGKILL) or
//! frozen (SIGSTOP) while readings flow, then two nodes down. Every test holds
//! the lab-wide fault lock and brings its nodes back before finishing, even on
//! failure.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use contract::args::{ApiArgs, ProducerArgs};
use iot_services::ledger::read_ledger;
use serde_json::Value;
use test_support::{FaultLock, Service, read_metric, wait_for, wait_for_metric_to_be};

/// The longest the API or ingest may stall when one node goes away.
const MAX_STALL: Duration = Duration::from_millis(2500);

struct Flow {
    dir: tempfile::TempDir,
    topics: Topics,
    group: String,
    prefix: String,
    ledger: std::path::PathBuf,
    ingest: Service,
    ingest_metrics: String,
    api: Service,
    base: String,
    producer: Service,
}

/// ingest + api + a producer of 2 sensors at 10 readings/s each for `seconds`.
fn start_flow(tag: &str, seconds: u32, api_args: ApiArgs) -> Flow {
    let (_, dir, topics, prefix, group, ledger) = scene(tag);
    let (ingest, ingest_metrics) = start_ingest(ingest_args(&topics, &group), dir.path());
    let (api, base) = start_api(api_args, dir.path());
    let args = ProducerArgs {
        duration: Some(f64::from(seconds)),
        ..producer_args(&topics.readings, &prefix, &ledger, 2, 10.0)
    };
    let producer = spawn_producer(&args, dir.path());
    let flow = Flow {
        dir,
        topics,
        group,
        prefix,
        ledger,
        ingest,
        ingest_metrics,
        api,
        base,
        producer,
    };
    wait_for("first readings in the API", Duration::from_secs(20), || {
        fresh_latest(&flow).ok()
    });
    flow
}

/// Age of the newest reading of sensor 01 as served by the API, and how long the request took.
fn fresh_latest(flow: &Flow) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let url = format!("{}/sensors/{}01/latest", flow.base, flow.prefix);
    let (status, body) = http_get(&url).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    if status != 200 {
        return Err(format!("{status}: {body}"));
    }
    let json: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let age = (Utc::now() - api_time(&json["timestamp"]))
        .to_std()
        .unwrap_or_default();
    Ok((age, took))
}

/// Readings ingest has written so far.
fn written(flow: &Flow) -> u64 {
    read_metric(&flow.ingest_metrics, "ingest_written_total")
        .unwrap_or_else(|e| panic!("ingest's metrics: {e}")) as u64
}

/// A steady flow before a fault: ingest has written `seconds` of the
/// producer's 20 readings/s.
fn wait_flowing(flow: &Flow, seconds: u32) {
    let readings = f64::from(seconds * 20);
    wait_written(&flow.ingest_metrics, readings, Duration::from_secs(30));
}

/// Waits until ingest's `ingest_cassandra_writable` gauge reads `writable` (1 or 0).
fn wait_writable(flow: &Flow, writable: f64, timeout: Duration) {
    wait_for_metric_to_be(
        &flow.ingest_metrics,
        "ingest_cassandra_writable",
        writable,
        timeout,
    );
}

/// Watches the API and ingest for `duration`: every answer must be 200, quick
/// and fresh (past the first `grace`), and ingest must keep writing.
fn watch_service(flow: &Flow, duration: Duration, grace: Duration) {
    let started = Instant::now();
    let written_before = written(flow);
    let mut worst_took = Duration::ZERO;
    let mut worst_age = Duration::ZERO;
    let mut polls = 0;
    while started.elapsed() < duration {
        let (age, took) =
            fresh_latest(flow).unwrap_or_else(|e| panic!("API failed during the fault: {e}"));
        polls += 1;
        worst_took = worst_took.max(took);
        if started.elapsed() > grace {
            worst_age = worst_age.max(age);
        }
        // The pace of the observation window, not a synchronisation.
        std::thread::sleep(Duration::from_millis(200));
    }
    let written_during = written(flow) - written_before;
    eprintln!(
        "during the fault: {polls} rounds of /latest + /history + /sensors, slowest answer {worst_took:?}, stalest reading {worst_age:?}, \
         {written_during} readings written"
    );
    assert!(worst_took <= MAX_STALL, "API stalled {worst_took:?}");
    assert!(
        worst_age <= MAX_STALL + Duration::from_millis(500),
        "data {worst_age:?} old"
    );
    // 20 readings/s produced: at least half of them must have been written.
    assert!(
        written_during as f64 >= duration.as_secs_f64() * 10.0,
        "ingest wrote only {written_during}"
    );
}

/// Lets the producer finish and checks the ledger against Cassandra.
fn finish_and_check(mut flow: Flow) {
    flow.producer.wait_finished(Duration::from_secs(120));
    assert!(
        flow.producer.log_text().contains("failed 0"),
        "{}",
        flow.producer.log_text()
    );
    let ledger = read_ledger(&flow.ledger).unwrap();
    Cassandra::connect(runtime()).wait_all_stored(&ledger, Duration::from_secs(60));
    assert!(flow.ingest.is_running() && flow.api.is_running());
    let _ = (&flow.dir, &flow.topics, &flow.group);
}

fn one_node_out(verb: &str, node: u8) {
    require_lab();
    let _lock = FaultLock::acquire();
    wait_node_healthy(node, Duration::from_secs(120));
    let flow = start_flow(&format!("fo-{verb}"), 40, api_args());
    wait_flowing(&flow, 3);

    let fault = NodeFault::apply(node, verb);
    eprintln!("node {node}: {verb} at {}", Utc::now());
    watch_service(&flow, Duration::from_secs(15), Duration::from_secs(1));

    // The API shows the node DOWN, with nothing counted for it, and the others see it DOWN.
    let cluster = get_json(&format!("{}/cluster", flow.base));
    let name = format!("PC{node}");
    for pc in cluster["nodes"].as_array().unwrap() {
        if pc["name"] == name.as_str() {
            assert_eq!(pc["up"], false, "{cluster}");
            assert_eq!(pc["readings"], Value::Null, "{cluster}");
            assert_eq!(pc["sees"], serde_json::json!({}), "{cluster}");
        } else {
            assert_eq!(pc["up"], true, "{cluster}");
            assert_eq!(pc["sees"][&name]["up"], false, "{cluster}");
            assert!(pc["readings"].as_u64().is_some(), "{cluster}");
        }
    }

    fault.restore();
    wait_caught_up(&flow, &name);
    finish_and_check(flow);
}

/// Waits until `name`, back, holds as many readings as the other nodes (less what
/// 3 s of the flow's 20 readings/s add, as two nodes' counts are taken up to 2 s
/// apart) and they see it UP.
fn wait_caught_up(flow: &Flow, name: &str) {
    const SLACK: u64 = 3 * 20;
    let started = Instant::now();
    let mut first_back: Option<(u64, u64)> = None;
    let mut card_up: Option<Duration> = None;
    let counts = wait_for(
        &format!("{name} counting as many readings as the others"),
        Duration::from_secs(90),
        || {
            let cluster = get_json(&format!("{}/cluster", flow.base));
            let nodes = cluster["nodes"].as_array()?;
            let returned = nodes.iter().find(|pc| pc["name"] == name)?;
            if returned["up"] == true {
                card_up.get_or_insert(started.elapsed());
            }
            let back = returned["readings"].as_u64()?;
            let others: Vec<u64> = nodes
                .iter()
                .filter(|pc| pc["name"] != name)
                .map(|pc| {
                    (pc["sees"][name]["up"] == true)
                        .then(|| pc["readings"].as_u64())
                        .flatten()
                })
                .collect::<Option<_>>()?;
            let fewest = *others.iter().min()?;
            first_back.get_or_insert((back, fewest));
            (back + SLACK >= fewest).then_some((back, others))
        },
    );
    eprintln!(
        "{name} up in /cluster {card_up:?} and caught up {:?} after its return: {} readings, the others {:?} \
         (first count back {:?} against {:?})",
        started.elapsed(),
        counts.0,
        counts.1,
        first_back.map(|(back, _)| back),
        first_back.map(|(_, fewest)| fewest),
    );
}

#[test]
fn one_node_stopped_the_api_answers_fresh_data_and_ingest_keeps_writing() {
    one_node_out("stop", 2);
}

#[test]
fn one_node_killed_the_api_answers_fresh_data_and_ingest_keeps_writing() {
    one_node_out("kill", 2);
}

#[test]
fn one_node_frozen_the_api_answers_fresh_data_and_ingest_keeps_writing() {
    one_node_out("freeze", 1);
}

#[test]
fn two_nodes_down_ingest_stops_committing_and_after_one_returns_nothing_is_missing() {
    require_lab();
    let _lock = FaultLock::acquire();
    wait_node_healthy(2, Duration::from_secs(120));
    wait_node_healthy(3, Duration::from_secs(120));
    let flow = start_flow(
        "fo-two",
        45,
        ApiArgs {
            fallback_to_one: true,
            ..api_args()
        },
    );
    wait_flowing(&flow, 3);

    let second = NodeFault::apply(3, "kill");
    let first = NodeFault::apply(2, "kill");
    // Let ingest notice, then watch it hold its offsets.
    wait_writable(&flow, 0.0, Duration::from_secs(30));
    let committed_before = committed_offsets(&flow.topics.readings, &flow.group);
    // Six seconds of readings (20/s) reach Kafka meanwhile: none may be committed.
    let acknowledged_before = acknowledged(&flow.ledger).unwrap_or_else(|e| panic!("{e}"));
    wait_acknowledged(
        &flow.ledger,
        acknowledged_before + 120,
        Duration::from_secs(30),
    );
    let committed_after = committed_offsets(&flow.topics.readings, &flow.group);
    assert_eq!(
        committed_before, committed_after,
        "ingest committed while QUORUM was impossible"
    );
    assert!(
        flow.ingest
            .log_text()
            .contains("Cassandra cannot take writes"),
        "ingest did not say so"
    );

    // The API falls back to ONE and says so.
    let url = format!("{}/sensors/{}01/latest", flow.base, flow.prefix);
    let answer = test_support::http::get(&url).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer
            .headers
            .get("x-read-consistency")
            .map(|v| v.to_str().unwrap()),
        Some("ONE")
    );

    // One node back: QUORUM possible again, ingest resumes by itself.
    first.restore();
    wait_writable(&flow, 1.0, Duration::from_secs(60));
    assert!(
        flow.ingest
            .log_text()
            .contains("Cassandra takes writes again")
    );
    let ledger_path = flow.ledger.clone();
    let mut flow = flow;
    flow.producer.wait_finished(Duration::from_secs(120));
    let ledger = read_ledger(&ledger_path).unwrap();
    Cassandra::connect(runtime()).wait_all_stored(&ledger, Duration::from_secs(90));
    second.restore();
    assert!(flow.ingest.is_running());
}
