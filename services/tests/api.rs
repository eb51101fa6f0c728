//! The API's contract on the real lab: every endpoint's JSON shape, 400 and
//! 404 answers, and no 5xx whatever the path or parameters.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use contract::api::Health;
use contract::args::{ApiArgs, IngestArgs, ProducerArgs};
use iot_services::cassandra::{self, SessionOptions};
use iot_services::kafka::durable_producer_config;
use iot_services::ledger::read_ledger;
use rdkafka::producer::{FutureProducer, FutureRecord};
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;
use serde_json::Value;
use test_support::{Service, assert_contains, wait_for, wait_for_metric_to_be};

/// Starts ingest + api, produces a few readings of `prefix`; returns the API base URL.
struct Stack {
    _ingest: Service,
    _api: Service,
    base: String,
    prefix: String,
    _dir: tempfile::TempDir,
}

fn stack(api_args: ApiArgs) -> Stack {
    require_lab();
    let (_, dir, topics, prefix, group, _) = scene("api");
    let (ingest, _) = start_ingest(ingest_args(&topics, &group), dir.path());
    let (api, base) = start_api(api_args, dir.path());
    let ledger = dir.path().join("ledger.jsonl");
    let producer = ProducerArgs {
        count: Some(10),
        ..producer_args(&topics.readings, &prefix, &ledger, 2, 20.0)
    };
    run_producer(&producer, Duration::from_secs(60));
    let entries = read_ledger(&ledger).unwrap();
    let last = entries.iter().max_by_key(|e| e.timestamp).unwrap().clone();
    wait_for("readings visible", Duration::from_secs(10), || {
        let (status, body) = http_get(&format!("{base}/sensors/{}/latest", last.sensor_id)).ok()?;
        (status == 200 && body.contains(&iot_services::reading::format_timestamp(last.timestamp)))
            .then_some(())
    });
    Stack {
        _ingest: ingest,
        _api: api,
        base,
        prefix,
        _dir: dir,
    }
}

fn assert_error(url: &str, expected: u16) {
    let (status, body) = http_get(url).unwrap();
    assert_eq!(status, expected, "GET {url}: {body}");
    let json: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"));
    assert!(
        json["error"].as_str().is_some_and(|m| !m.is_empty()),
        "GET {url}: {body}"
    );
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn every_endpoint_answers_with_its_documented_shape() {
    let s = stack(api_args());
    let base = &s.base;
    let id = format!("{}01", s.prefix);

    let sensors = get_json(&format!("{base}/sensors"));
    let mine = element_with(&sensors, "sensor_id", &id);
    assert_eq!(keys(mine), ["last_timestamp", "last_value", "sensor_id"]);
    assert!(mine["last_value"].is_f64());
    assert!(mine["last_timestamp"].as_str().unwrap().ends_with('Z'));

    let latest = get_json(&format!("{base}/sensors/{id}/latest"));
    assert_eq!(keys(&latest), ["sensor_id", "timestamp", "value"]);
    let ts = latest["timestamp"].as_str().unwrap();
    // RFC 3339 UTC with milliseconds: 2026-01-04T10:00:01.250Z
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");

    let history = get_json(&format!("{base}/sensors/{id}/history"));
    let points = history.as_array().unwrap();
    assert_eq!(points.len(), 5);
    for pair in points.windows(2) {
        assert!(
            api_time(&pair[0]["timestamp"]) < api_time(&pair[1]["timestamp"]),
            "oldest first"
        );
    }
    assert_eq!(keys(&points[0]), ["timestamp", "value"]);
    let limited = get_json(&format!("{base}/sensors/{id}/history?limit=2"));
    assert_eq!(
        limited.as_array().unwrap().as_slice(),
        &points[3..],
        "limit keeps the newest"
    );
    let since = points[1]["timestamp"].as_str().unwrap();
    let until = points[3]["timestamp"].as_str().unwrap();
    let window = get_json(&format!(
        "{base}/sensors/{id}/history?since={since}&until={until}"
    ));
    assert_eq!(window.as_array().unwrap().as_slice(), &points[1..4]);
    let empty = get_json(&format!(
        "{base}/sensors/{id}/history?since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z"
    ));
    assert_eq!(empty, Value::Array(vec![]));

    // Up, counted (this run's 20 readings at least), and seeing the whole ring.
    let cluster = wait_for(
        "all nodes up and counted in /cluster",
        Duration::from_secs(15),
        || {
            let cluster = get_json(&format!("{base}/cluster"));
            cluster["nodes"]
                .as_array()?
                .iter()
                .all(|n| {
                    n["up"] == true
                        && n["readings"].as_u64().is_some_and(|count| count >= 20)
                        && n["sees"].as_object().is_some_and(|sees| sees.len() == 3)
                })
                .then_some(cluster)
        },
    );
    assert_eq!(keys(&cluster), ["checked_at", "nodes"]);
    api_time(&cluster["checked_at"]);
    let nodes = cluster["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    let addresses: Vec<&str> = nodes
        .iter()
        .map(|n| n["address"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["PC1", "PC2", "PC3"]);
    assert_eq!(addresses, ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    for node in nodes {
        assert_eq!(
            keys(node),
            [
                "address",
                "hints",
                "latency_ms",
                "name",
                "readings",
                "sees",
                "up"
            ]
        );
        for seen in ["PC1", "PC2", "PC3"] {
            assert_eq!(
                node["sees"][seen],
                serde_json::json!({"up": true, "status": "normal"}),
                "{node}"
            );
        }
        assert!(node["hints"].is_array(), "{node}");
        assert!(
            node["latency_ms"]
                .as_f64()
                .is_some_and(|l| (0.0..1000.0).contains(&l)),
            "{node}"
        );
    }

    let run_id = unique("api-run");
    write_event(&run_id);
    let events = get_json(&format!("{base}/events?limit=1000"));
    let event = element_with(&events, "run_id", &run_id);
    assert_eq!(
        keys(event),
        [
            "at",
            "figures",
            "kind",
            "label",
            "narration",
            "node",
            "run_id",
            "status",
            "step",
            "tone"
        ]
    );
    let event: contract::events::ScenarioEvent =
        serde_json::from_value(event.clone()).expect("a scenario event");
    assert_eq!(event.kind, contract::events::StepKind::KillNode.into());
    assert_eq!(event.step, 3);
    assert_eq!(event.node.as_deref(), Some("PC2"));
    assert_eq!(event.figures.mode, Some(contract::events::OutageMode::Stop));
    assert_eq!(event.label, None);
    assert_eq!(event.status, contract::events::EventStatus::Ok);
    assert_eq!(event.tone, contract::events::Tone::Fault);
    assert_eq!(event.narration, "PC2 is switched off");
    let all: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| api_time(&e["at"]))
        .collect();
    assert!(all.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(
        get_json(&format!("{base}/events?limit=1"))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        get_json(&format!("{base}/health")),
        serde_json::json!({"status": "ok"})
    );
    let (status, metrics) = http_get(&format!("{base}/metrics")).unwrap();
    assert_eq!(status, 200);
    assert_contains(
        &metrics,
        "api_requests_total{route=\"latest\",status=\"200\"}",
    );
    assert_contains(&metrics, "api_cassandra_node_up{node=\"PC2\"");

    let (status, page) = http_get(&format!("{base}/")).unwrap();
    assert_eq!(status, 200);
    assert!(page.to_lowercase().contains("<html"), "{page}");
}

/// The element of the JSON array `list` whose `key` is `value`.
#[track_caller]
fn element_with<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .find(|element| element[key] == value)
        .unwrap_or_else(|| panic!("no element with {key} {value:?} in {list}"))
}

/// What the conductor writes: one scenario event of today.
fn write_event(run_id: &str) {
    let rt = runtime();
    rt.block_on(async {
        let session = cassandra::connect(&SessionOptions::new(cassandra::split_contact_points(CONTACT_POINTS)))
            .await
            .unwrap();
        let insert = cassandra::prepare(
            &session,
            "INSERT INTO iot_demo.scenario_events_v2 (day, at, id, run_id, step, kind, node, figures, status, narration) \
             VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
            Consistency::Quorum,
        )
        .await
        .unwrap();
        let now = Utc::now();
        session
            .execute_unpaged(
                &insert,
                (
                    now.format("%Y-%m-%d").to_string(),
                    CqlTimestamp(now.timestamp_millis()),
                    run_id,
                    3_i32,
                    "kill-node",
                    "PC2",
                    r#"{"mode":"stop"}"#,
                    "ok",
                    "PC2 is switched off",
                ),
            )
            .await
            .unwrap();
    });
}

#[test]
fn bad_input_is_400_unknown_sensors_are_404_and_nothing_is_5xx() {
    let s = stack(ApiArgs {
        cors_allow_origin: vec!["http://dashboard.example".to_owned()],
        ..api_args()
    });
    let base = &s.base;
    let id = format!("{}01", s.prefix);

    for url in [
        format!("{base}/sensors/bad%20id/latest"),
        format!("{base}/sensors/{}/latest", "x".repeat(65)),
        format!("{base}/sensors/a%2Fb/history"),
        format!("{base}/sensors/%FF%FE/latest"),
        format!("{base}/sensors/{id}/history?limit=0"),
        format!("{base}/sensors/{id}/history?limit=10001"),
        format!("{base}/sensors/{id}/history?limit=abc"),
        format!("{base}/sensors/{id}/history?since=yesterday"),
        format!("{base}/sensors/{id}/history?until=2026-13-01T00:00:00Z"),
        format!(
            "{base}/sensors/{id}/history?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"
        ),
        format!("{base}/events?limit=-5"),
        format!("{base}/events?limit=1001"),
    ] {
        assert_error(&url, 400);
    }
    for url in [
        format!("{base}/sensors/{}nobody/latest", s.prefix),
        format!("{base}/sensors/{}nobody/history", s.prefix),
    ] {
        assert_error(&url, 404);
    }

    let hostile = [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/sensors/..%2F..%2Fetc%2Fpasswd/latest",
        "/sensors/%00/latest",
        "/sensors/a%00b/history?since=%00",
        "/sensors/x/history?since=%ZZ&until=%",
        "/sensors/x/history?limit=1&limit=2",
        "/sensors/x/history?limit=99999999999999999999999",
        "/sensors/x/history?since=9999-12-31T23:59:59Z&until=9999-12-31T23:59:59Z",
        "/sensors/x/history?since=0000-01-01T00:00:00Z",
        "/sensors/x/history?since=-262144-01-01T00:00:00Z",
        "/sensors/'%20OR%201=1;--/latest",
        "/sensors/%F0%9F%94%A5/latest",
        "/sensors//latest",
        "/sensors/x/latest/extra",
        "/events?limit=%F0%9F%94%A5",
        "/cluster?x=%FF",
        "/index.html/../../Cargo.toml",
        "/.git/config",
        "/nonexistent",
    ];
    let long_path = format!("/{}", "a/".repeat(2000));
    for path in hostile.iter().copied().chain([long_path.as_str()]) {
        let url = format!("{base}{path}");
        let (status, body) = http_get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert!(status < 500, "GET {path} → {status}: {body}");
        assert!(!body.contains("root:x:0:0"), "GET {path} leaked a file");
    }

    // Only GET is served.
    let rt = runtime();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .delete(format!("{base}/sensors"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap()
    });
    assert!((400..500).contains(&status), "DELETE /sensors → {status}");

    // CORS as configured.
    let (allowed, denied) = rt.block_on(async {
        let client = reqwest::Client::new();
        let get = |origin: &'static str| {
            client
                .get(format!("{base}/sensors"))
                .header("Origin", origin)
                .send()
        };
        let allowed = get("http://dashboard.example").await.unwrap();
        let denied = get("http://evil.example").await.unwrap();
        (
            allowed
                .headers()
                .get("access-control-allow-origin")
                .cloned(),
            denied.headers().get("access-control-allow-origin").cloned(),
        )
    });
    assert_eq!(allowed.unwrap(), "http://dashboard.example");
    assert!(denied.is_none());
}

/// Writes `count` readings of `sensor_id`, one per second ending `end_ms`.
fn write_readings(sensor_id: &str, count: i64, end_ms: i64) {
    let rt = runtime();
    rt.block_on(async {
        let session = cassandra::connect(&SessionOptions::new(cassandra::split_contact_points(
            CONTACT_POINTS,
        )))
        .await
        .unwrap();
        let insert = cassandra::prepare(
            &session,
            "INSERT INTO iot_demo.sensor_data (sensor_id, timestamp, value) VALUES (?, ?, ?)",
            Consistency::Quorum,
        )
        .await
        .unwrap();
        for n in 0..count {
            let at = end_ms - (count - 1 - n) * 1000;
            session
                .execute_unpaged(&insert, (sensor_id, CqlTimestamp(at), n as f64))
                .await
                .unwrap();
        }
    });
}

/// History beyond what the API keeps of a sensor's recent readings (300) comes
/// from Cassandra whole, and a new reading shows up in the next answers.
#[test]
fn long_histories_are_whole_and_new_readings_show_up_at_once() {
    require_lab();
    let dir = tempfile::tempdir().unwrap();
    let (_api, base) = start_api(api_args(), dir.path());
    let id = format!("{}long", unique_prefix("api"));
    let end = Utc::now().timestamp_millis() - 60_000;
    write_readings(&id, 400, end);

    let newest = get_json(&format!(
        "{base}/sensors/{id}/history?since=2001-01-01T00:00:00Z"
    ));
    let newest = newest.as_array().unwrap();
    assert_eq!(newest.len(), 300, "default limit: the newest 300");
    assert_eq!(newest[299]["value"], 399.0);
    assert_eq!(newest[0]["value"], 100.0);
    let all = get_json(&format!(
        "{base}/sensors/{id}/history?since=2001-01-01T00:00:00Z&limit=10000"
    ));
    let values: Vec<f64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, (0..400).map(|n| n as f64).collect::<Vec<_>>());
    let oldest_ten = get_json(&format!(
        "{base}/sensors/{id}/history?since=2001-01-01T00:00:00Z&until={}&limit=10",
        iot_services::reading::format_timestamp(millis_to_time(end - 390_000))
    ));
    assert_eq!(oldest_ten.as_array().unwrap().len(), 10);
    assert_eq!(oldest_ten[0]["value"], 0.0);

    // One more reading: the next answers carry it within a moment.
    write_readings(&id, 1, end + 1000);
    let started = std::time::Instant::now();
    wait_for(
        "the new reading in /history",
        Duration::from_secs(2),
        || {
            let answer = get_json(&format!(
                "{base}/sensors/{id}/history?since=2001-01-01T00:00:00Z"
            ));
            (answer.as_array()?.last()?["timestamp"]
                == iot_services::reading::format_timestamp(millis_to_time(end + 1000)).as_str())
            .then_some(())
        },
    );
    println!(
        "new reading visible in /history after {:?}",
        started.elapsed()
    );
}

/// `--listen-fd`: the API serves on a listener its parent bound and handed
/// down, so whoever starts it never races anyone for a port.
#[test]
fn api_serves_on_an_inherited_listener() {
    require_lab();
    let dir = tempfile::tempdir().unwrap();
    // start_api binds the listener here, hands it down as --listen-fd and names
    // its very address in --listen: binding that again would fail, so an answer
    // proves that the API served on the descriptor.
    let (_api, base) = start_api(api_args(), dir.path());
    let (status, body) = http_get(&format!("{base}/health")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Health>(&body).unwrap(), Health::ok());
}

/// The count behind `/cluster`'s `readings` is served by the node asked alone: its
/// trace (Cassandra's own record of who did what) names no other node.
#[test]
fn each_node_counts_the_readings_of_its_own_replica() {
    require_lab();
    let keyspace = contract::Keyspace::new(contract::names::KEYSPACE).unwrap();
    let cql = iot_services::api::cluster::readings_query(&keyspace);
    let rt = runtime();
    for node in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        let sources = rt.block_on(async {
            let session = cassandra::connect_single_node(node, Duration::from_secs(5))
                .await
                .unwrap();
            let mut count = session.prepare(cql.as_str()).await.unwrap();
            count.set_consistency(Consistency::One);
            count.set_tracing(true);
            let since = Utc::now() - chrono::Duration::minutes(10);
            let result = session
                .execute_unpaged(&count, (i64::MIN, CqlTimestamp(since.timestamp_millis())))
                .await
                .unwrap();
            let (counted,) = result
                .clone()
                .into_rows_result()
                .unwrap()
                .single_row::<(i64,)>()
                .unwrap();
            let id = result.tracing_id().expect("a traced request");
            // Trace events are written asynchronously: wait for the request's end
            // (its duration) and a replica's read.
            let trace = test_support::Wait::new("the trace written", Duration::from_secs(10))
                .until_async(|| async {
                    let info = session.get_tracing_info(&id).await.ok()?;
                    let done = info.duration.is_some()
                        && info.events.iter().any(|event| {
                            event
                                .activity
                                .as_deref()
                                .is_some_and(|a| a.starts_with("Read "))
                        });
                    done.then_some(info)
                })
                .await;
            let mut sources: Vec<String> = trace
                .events
                .iter()
                .filter_map(|event| event.source.map(|s| s.to_string()))
                .collect();
            sources.sort();
            sources.dedup();
            // The cost of one count, as Cassandra measured it (figures for docs/BENCHMARKS.md).
            eprintln!(
                "count on {node}: {counted} readings of the last 10 min in {} µs, {} trace events",
                trace.duration.unwrap_or(-1),
                trace.events.len()
            );
            sources
        });
        assert_eq!(
            sources,
            [node],
            "the count asked of {node} was served by {sources:?}"
        );
    }
}

/// The contrast lane: a second ingest (its own group, the single-copy keyspace,
/// no dead letters of its own) and `/rf1/` serving what it wrote with the main
/// endpoints' shapes and their hostile-input rules; without the lane, 404.
#[test]
fn the_contrast_lane_serves_the_single_copy_under_rf1() {
    require_lab();
    let (rt, dir, topics, prefix, group, ledger) = scene("rf1");
    let (_ingest, _) = start_ingest(ingest_args(&topics, &group), dir.path());
    let contrast = IngestArgs {
        write_consistency: contract::args::Consistency::One,
        give_up_after_ms: Some(1000),
        no_dead_letters: true,
        ..ingest_args(&topics, &format!("{group}-rf1"))
    };
    let contrast = IngestArgs {
        cassandra: contract::args::CassandraArgs {
            keyspace: rf1_keyspace(),
            ..contrast.cassandra
        },
        ..contrast
    };
    let (_contrast_ingest, contrast_metrics) = start_ingest(contrast, dir.path());
    let (_api, base) = start_api(
        ApiArgs {
            contrast_keyspace: Some(rf1_keyspace()),
            ..api_args()
        },
        dir.path(),
    );
    let (_plain_api, plain_base) = start_api(api_args(), dir.path());

    let producer = ProducerArgs {
        count: Some(10),
        ..producer_args(&topics.readings, &prefix, &ledger, 2, 20.0)
    };
    run_producer(&producer, Duration::from_secs(60));
    // One message that is no reading: the main ingest dead-letters it, the contrast one skips it.
    let kafka: FutureProducer = durable_producer_config(KAFKA, Duration::from_secs(10))
        .create()
        .unwrap();
    rt.block_on(
        kafka.send(
            FutureRecord::to(&topics.readings)
                .key("k")
                .payload("not json"),
            Duration::from_secs(5),
        ),
    )
    .map_err(|(e, _)| e)
    .unwrap();
    let entries = read_ledger(&ledger).unwrap();
    let last = entries.iter().max_by_key(|e| e.timestamp).unwrap().clone();
    let id = last.sensor_id.clone();
    wait_for(
        "the last reading under /rf1/",
        Duration::from_secs(15),
        || {
            let (status, body) = http_get(&format!("{base}/rf1/sensors/{id}/latest")).ok()?;
            (status == 200
                && body.contains(&iot_services::reading::format_timestamp(last.timestamp)))
            .then_some(())
        },
    );

    // The same shapes and the same readings as the main lane.
    let ours = |list: Value| -> Vec<Value> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["sensor_id"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&prefix))
            })
            .cloned()
            .collect()
    };
    wait_for(
        "both lanes list the same sensors",
        Duration::from_secs(10),
        || {
            let main = ours(get_json(&format!("{base}/sensors")));
            (main.len() == 2 && main == ours(get_json(&format!("{base}/rf1/sensors"))))
                .then_some(())
        },
    );
    let since = "since=2001-01-01T00:00:00Z";
    let history = get_json(&format!("{base}/rf1/sensors/{id}/history?{since}"));
    assert_eq!(
        history,
        get_json(&format!("{base}/sensors/{id}/history?{since}"))
    );
    assert_eq!(history.as_array().unwrap().len(), 5, "{history}");
    assert_eq!(keys(&history[0]), ["timestamp", "value"]);
    let latest = get_json(&format!("{base}/rf1/sensors/{id}/latest"));
    assert_eq!(keys(&latest), ["sensor_id", "timestamp", "value"]);

    // Hostile input under /rf1/: 4xx with a JSON error, never 5xx.
    for url in [
        format!("{base}/rf1/sensors/bad%20id/latest"),
        format!("{base}/rf1/sensors/{id}/history?limit=0"),
        format!("{base}/rf1/sensors/{id}/history?since=yesterday"),
        format!("{base}/rf1/sensors/%FF%FE/latest"),
    ] {
        assert_error(&url, 400);
    }
    assert_error(&format!("{base}/rf1/sensors/{prefix}nobody/latest"), 404);
    assert_error(&format!("{base}/rf1/sensors/{prefix}nobody/history"), 404);
    for path in [
        "/rf1/../../etc/passwd",
        "/rf1/sensors/%00/latest",
        "/rf1/sensors/x/history?limit=99999999999999999999999",
        "/rf1/sensors/'%20OR%201=1;--/latest",
        "/rf1/events",
        "/rf1/cluster",
        "/rf1",
    ] {
        let (status, body) = http_get(&format!("{base}{path}")).unwrap();
        assert!(status < 500, "GET {path} → {status}: {body}");
    }

    // Without the lane: 404 with a JSON error that says so.
    for path in ["/rf1/sensors", &format!("/rf1/sensors/{id}/latest")] {
        assert_error(&format!("{plain_base}{path}"), 404);
        let (_, body) = http_get(&format!("{plain_base}{path}")).unwrap();
        assert_contains(&body, "contrast lane is off");
    }

    // One dead letter for the bad message (the main ingest's), and the
    // contrast ingest counted it as given up.
    wait_for_metric_to_be(
        &contrast_metrics,
        "ingest_given_up_total",
        1.0,
        Duration::from_secs(10),
    );
    let letters = read_dlq(&topics.dlq, 2, Duration::from_secs(5));
    assert_eq!(letters.len(), 1, "{letters:?}");
}

fn rf1_keyspace() -> contract::Keyspace {
    contract::Keyspace::new(contract::names::CONTRAST_KEYSPACE).unwrap()
}
