//! The checker against the real lab: readings written to Cassandra are found,
//! a reading the ledger lists but Cassandra lacks is reported missing, a
//! different value is reported, and a sensor with more rows than a page is
//! read completely.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use common::require_lab;
use demo::checker::{CheckOptions, check};
use futures::StreamExt;
use iot_services::cassandra::{SessionOptions, connect};
use iot_services::ledger::{LedgerEntry, read_ledger};
use iot_services::reading::Reading;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

/// A reading of `sensor` at `millis`, as the producer would list it at `offset`.
fn entry(sensor: &str, millis: i64, value: f64, offset: i64) -> LedgerEntry {
    let timestamp = DateTime::from_timestamp_millis(millis).expect("valid time");
    let reading = Reading {
        sensor_id: sensor.to_owned(),
        timestamp,
        value,
    };
    LedgerEntry::new(&reading, 0, offset)
}

#[tokio::test]
async fn the_checker_finds_what_is_missing_or_different() {
    require_lab();
    let session = connect(&SessionOptions::new(vec![
        "127.0.0.1".into(),
        "127.0.0.2".into(),
        "127.0.0.3".into(),
    ]))
    .await
    .expect("lab session");
    let mut insert = session
        .prepare("INSERT INTO iot_demo.sensor_data (sensor_id, timestamp, value) VALUES (?, ?, ?)")
        .await
        .expect("prepared");
    insert.set_consistency(Consistency::Quorum);

    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let busy = format!("checkertest_{run}_busy");
    let quiet = format!("checkertest_{run}_quiet");
    let base = 1_700_000_000_000_i64;
    // More rows than one page (5000) for one sensor, a few for another.
    let mut ledger: Vec<LedgerEntry> = (0..6_000)
        .map(|i| entry(&busy, base + i * 10, i as f64 / 8.0, i))
        .collect();
    ledger.extend((0..5).map(|i| entry(&quiet, base + i * 1000, 20.0 + i as f64, 10_000 + i)));
    let written = futures::stream::iter(ledger.iter())
        .map(|reading| {
            let insert = &insert;
            let session = &session;
            async move {
                session
                    .execute_unpaged(
                        insert,
                        (
                            reading.sensor_id.as_str(),
                            CqlTimestamp(reading.timestamp.timestamp_millis()),
                            reading.value,
                        ),
                    )
                    .await
            }
        })
        .buffer_unordered(64)
        .filter(|result| futures::future::ready(result.is_ok()))
        .count()
        .await;
    assert_eq!(written, ledger.len());

    let options = CheckOptions::default();
    let report = check(&session, "iot_demo", &ledger, &options)
        .await
        .expect("checked");
    assert!(report.is_complete(), "{}", report.render());
    assert_eq!(
        (report.expected, report.found, report.sensors),
        (6_005, 6_005, 2)
    );
    println!("complete ledger: {}", report.render());

    // A reading acknowledged but never written, and one stored with another value.
    let never_written = entry(&quiet, base + 2_500, 99.5, 20_000);
    let mut tampered = ledger.clone();
    tampered.push(never_written.clone());
    tampered[6_001].value = 123.0;
    // Through a ledger file, as the producer writes it and the run reads it.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ledger.jsonl");
    let lines: Vec<String> = tampered
        .iter()
        .map(|entry| serde_json::to_string(entry).expect("serialises"))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("ledger written");
    let tampered = read_ledger(&path).expect("ledger read back");
    let report = check(&session, "iot_demo", &tampered, &options)
        .await
        .expect("checked");
    println!("tampered ledger: {}", report.render());
    assert!(!report.is_complete());
    assert_eq!((report.missing, report.mismatched), (1, 1));
    assert_eq!(report.first_missing, vec![never_written]);
    assert_eq!(report.first_mismatched[0].stored, 21.0);
    assert!(report.render().contains("missing: checkertest_"));
}
