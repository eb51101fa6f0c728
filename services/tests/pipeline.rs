//! The data path end to end on the real lab: producer → Kafka → ingest →
//! Cassandra → API, bad messages to the DLQ, and a crash of ingest.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use contract::args::ProducerArgs;
use iot_services::kafka::durable_producer_config;
use iot_services::ledger::read_ledger;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use test_support::{assert_contains, wait_for, wait_for_metric_to_be};

#[test]
fn a_reading_is_served_by_latest_within_two_seconds_and_by_history() {
    require_lab();
    let (_, dir, topics, prefix, group, _) = scene("e2e");
    let (_ingest, _) = start_ingest(ingest_args(&topics, &group), dir.path());
    let (_api, base) = start_api(api_args(), dir.path());

    let ledger_path = dir.path().join("ledger.jsonl");
    let producer = ProducerArgs {
        count: Some(12),
        seed: Some(1),
        ..producer_args(&topics.readings, &prefix, &ledger_path, 3, 2.0)
    };
    let summary = run_producer(&producer, Duration::from_secs(60));
    assert_contains(&summary, "acknowledged 12");
    let ledger = read_ledger(&ledger_path).unwrap();
    assert_eq!(ledger.len(), 12);

    for sensor in 1..=3 {
        let id = format!("{prefix}{sensor:02}");
        let newest = ledger
            .iter()
            .filter(|e| e.sensor_id == id)
            .max_by_key(|e| e.timestamp)
            .unwrap();
        let seen = wait_for(&format!("latest of {id}"), Duration::from_secs(10), || {
            let (status, body) = http_get(&format!("{base}/sensors/{id}/latest")).ok()?;
            let json: Value = serde_json::from_str(&body).ok()?;
            (status == 200 && api_time(&json["timestamp"]) == newest.timestamp).then(Utc::now)
        });
        let delay = seen - newest.timestamp;
        eprintln!(
            "{id}: produced → visible in /latest in {} ms",
            delay.num_milliseconds()
        );
        assert!(
            delay < chrono::Duration::seconds(2),
            "{id} visible after {delay}"
        );

        let latest = get_json(&format!("{base}/sensors/{id}/latest"));
        assert_eq!(latest["sensor_id"], id.as_str());
        assert_eq!(latest["value"].as_f64(), Some(newest.value));

        let history = get_json(&format!("{base}/sensors/{id}/history"));
        let points = history.as_array().unwrap();
        let expected: Vec<_> = {
            let mut mine: Vec<_> = ledger.iter().filter(|e| e.sensor_id == id).collect();
            mine.sort_by_key(|e| e.timestamp);
            mine
        };
        assert_eq!(points.len(), expected.len(), "{history}");
        for (point, entry) in points.iter().zip(&expected) {
            assert_eq!(api_time(&point["timestamp"]), entry.timestamp);
            assert_eq!(point["value"].as_f64(), Some(entry.value));
        }
    }

    let sensors = get_json(&format!("{base}/sensors"));
    let mine: Vec<&Value> = sensors
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["sensor_id"]
                .as_str()
                .is_some_and(|id| id.starts_with(&prefix))
        })
        .collect();
    assert_eq!(mine.len(), 3, "{sensors}");
    for s in mine {
        let id = s["sensor_id"].as_str().unwrap();
        let newest = ledger
            .iter()
            .filter(|e| e.sensor_id == id)
            .max_by_key(|e| e.timestamp)
            .unwrap();
        assert_eq!(api_time(&s["last_timestamp"]), newest.timestamp);
        assert_eq!(s["last_value"].as_f64(), Some(newest.value));
    }
}

#[test]
fn bad_messages_go_to_the_dlq_with_their_reason_and_good_ones_are_stored() {
    require_lab();
    let (rt, dir, topics, prefix, group, _) = scene("dlq");
    let (mut ingest, metrics_url) = start_ingest(ingest_args(&topics, &group), dir.path());
    let ingest_pid = ingest.pid();

    let now = Utc::now();
    let ts =
        |ms: i64| iot_services::reading::format_timestamp(now + chrono::Duration::milliseconds(ms));
    let good = |n: i64| {
        format!(
            r#"{{"sensor_id":"{prefix}good","timestamp":"{}","value":{}.5}}"#,
            ts(n),
            n
        )
    };
    let bad: Vec<(String, &str)> = vec![
        ("{\"sensor_id\": \"x\", ".to_owned(), "malformed_json"),
        ("\u{1}\u{2}binary".to_owned(), "malformed_json"),
        ("[1,2,3]".to_owned(), "not_an_object"),
        (
            format!(r#"{{"timestamp":"{}","value":1}}"#, ts(0)),
            "missing_field",
        ),
        (
            format!(r#"{{"sensor_id":"{prefix}x","value":1}}"#),
            "missing_field",
        ),
        (
            format!(
                r#"{{"sensor_id":"{prefix}x","timestamp":"{}","value":"hot"}}"#,
                ts(0)
            ),
            "wrong_type",
        ),
        (
            format!(r#"{{"sensor_id":42,"timestamp":"{}","value":1}}"#, ts(0)),
            "wrong_type",
        ),
        (
            format!(
                r#"{{"sensor_id":"{prefix}x","timestamp":"{}","value":NaN}}"#,
                ts(0)
            ),
            "non_finite_value",
        ),
        (
            format!(
                r#"{{"sensor_id":"{prefix}x","timestamp":"{}","value":1e999}}"#,
                ts(0)
            ),
            "non_finite_value",
        ),
        (
            format!(r#"{{"sensor_id":"{prefix}x","timestamp":"tomorrow","value":1}}"#),
            "unparseable_timestamp",
        ),
        (
            format!(r#"{{"sensor_id":"{prefix}x","timestamp":"1999-12-31T23:59:59Z","value":1}}"#),
            "absurd_timestamp",
        ),
        (
            format!(r#"{{"sensor_id":"{prefix}x","timestamp":"2099-01-01T00:00:00Z","value":1}}"#),
            "absurd_timestamp",
        ),
        (
            format!(
                r#"{{"sensor_id":"{prefix}x","timestamp":"{}","value":1,"pad":"{}"}}"#,
                ts(0),
                "x".repeat(5000)
            ),
            "oversize",
        ),
        (
            format!(
                r#"{{"sensor_id":"bad id!","timestamp":"{}","value":1}}"#,
                ts(0)
            ),
            "bad_sensor_id",
        ),
        (
            format!(
                r#"{{"sensor_id":"{}","timestamp":"{}","value":1}}"#,
                "y".repeat(65),
                ts(0)
            ),
            "bad_sensor_id",
        ),
    ];

    // Interleave: good, bad, good, bad, ... good.
    let producer: FutureProducer = durable_producer_config(KAFKA, Duration::from_secs(10))
        .create()
        .unwrap();
    let mut goods = Vec::new();
    rt.block_on(async {
        for (i, (payload, _)) in bad.iter().enumerate() {
            let g = good(i as i64);
            for p in [&g, payload] {
                producer
                    .send(
                        FutureRecord::to(&topics.readings)
                            .key("k")
                            .payload(p.as_bytes()),
                        Duration::from_secs(5),
                    )
                    .await
                    .map_err(|(e, _)| e)
                    .unwrap();
            }
            goods.push(i as i64);
        }
    });

    let letters = read_dlq(&topics.dlq, bad.len(), Duration::from_secs(30));
    assert_eq!(letters.len(), bad.len(), "DLQ holds {letters:?}");
    let mut expected: Vec<&str> = bad.iter().map(|(_, reason)| *reason).collect();
    let mut got: Vec<String> = letters
        .iter()
        .map(|l| l.reason_header.clone().unwrap_or_default())
        .collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
    for letter in &letters {
        assert_eq!(
            letter.envelope["reason"].as_str(),
            letter.reason_header.as_deref()
        );
        assert!(
            letter.envelope["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{letter:?}"
        );
        assert!(letter.envelope["original"].is_string(), "{letter:?}");
        assert_eq!(letter.envelope["source_topic"], topics.readings.as_str());
    }

    let cassandra = Cassandra::connect(rt.clone());
    let id = format!("{prefix}good");
    let stored = wait_for("good readings stored", Duration::from_secs(20), || {
        let rows = cassandra
            .readings(&id, scylla::statement::Consistency::Quorum)
            .ok()?;
        (rows.len() == goods.len()).then_some(rows)
    });
    for n in goods {
        let t = (now + chrono::Duration::milliseconds(n)).timestamp_millis();
        assert_eq!(stored.get(&t), Some(&(n as f64 + 0.5)));
    }

    assert!(ingest.is_running(), "ingest died");
    assert_eq!(ingest.pid(), ingest_pid);
    // The counter moves once the letter's send is acknowledged, which is
    // also when the test's consumer can read it: wait, do not race it.
    wait_for_metric_to_be(
        &metrics_url,
        "ingest_dead_lettered_total{reason=\"oversize\"}",
        1.0,
        Duration::from_secs(10),
    );
    assert!(
        !ingest.log_text().contains("panicked"),
        "{}",
        ingest.log_text()
    );
}

#[test]
fn ingest_killed_mid_stream_and_restarted_loses_nothing_from_the_ledger() {
    require_lab();
    let (rt, dir, topics, prefix, group, ledger_path) = scene("crash");
    let (mut ingest, metrics_url) = start_ingest(ingest_args(&topics, &group), dir.path());
    let producer_args = ProducerArgs {
        duration: Some(8.0),
        seed: Some(3),
        ..producer_args(&topics.readings, &prefix, &ledger_path, 5, 40.0)
    };
    let mut producer = spawn_producer(&producer_args, dir.path());

    // Mid-stream: ingest has written part of the flow (200 readings/s for 8 s).
    wait_written(&metrics_url, 300.0, Duration::from_secs(30));
    ingest.kill();
    let at_kill = acknowledged(&ledger_path).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("ingest SIGKILLed mid-stream, {at_kill} readings acknowledged so far");
    // Readings keep coming while no ingest runs: they wait in Kafka for the next one.
    wait_acknowledged(&ledger_path, at_kill + 300, Duration::from_secs(30));
    let (_ingest_again, _) = start_ingest(ingest_args(&topics, &group), dir.path());

    producer.wait_finished(Duration::from_secs(60));
    let summary = producer.log_text();
    assert_contains(&summary, "failed 0");
    let ledger = read_ledger(&ledger_path).unwrap();
    assert!(
        ledger.len() >= 1500,
        "only {} readings produced",
        ledger.len()
    );
    Cassandra::connect(rt).wait_all_stored(&ledger, Duration::from_secs(60));
}

#[test]
fn ingest_on_sigterm_finishes_in_flight_work_commits_and_exits_cleanly() {
    require_lab();
    let (rt, dir, topics, prefix, group, ledger_path) = scene("term");
    let (mut ingest, _) = start_ingest(ingest_args(&topics, &group), dir.path());
    let producer = ProducerArgs {
        count: Some(200),
        ..producer_args(&topics.readings, &prefix, &ledger_path, 4, 50.0)
    };
    run_producer(&producer, Duration::from_secs(60));
    let ledger = read_ledger(&ledger_path).unwrap();
    Cassandra::connect(rt).wait_all_stored(&ledger, Duration::from_secs(30));

    let status = ingest
        .terminate(Duration::from_secs(20))
        .expect("ingest exits on SIGTERM");
    assert!(status.success(), "{status}: {}", ingest.log_text());
    assert!(
        ingest.log_text().contains("stopped: consumed 200"),
        "{}",
        ingest.log_text()
    );

    // Everything is committed: the group's offsets sum to the readings produced.
    let committed: i64 = committed_offsets(&topics.readings, &group)
        .iter()
        .map(|(_, o)| (*o).max(0))
        .sum();
    assert_eq!(committed, 200);
}

#[test]
fn producer_without_kafka_retries_says_so_and_counts_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let mut args = ProducerArgs {
        count: Some(2),
        drain_timeout_secs: 3,
        ledger: Some(ledger.clone()),
        ..defaults()
    };
    args.kafka.bootstrap = "127.0.0.1:1".to_owned();
    let output = std::process::Command::new(binary("producer"))
        .args(args.to_args())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_contains(&stdout, "sent 2 / acknowledged 0 / failed 2");
    assert_contains(&stderr, "never acknowledged");
    assert!(read_ledger(&ledger).unwrap().is_empty());
}
