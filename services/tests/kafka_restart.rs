//! The lab's Kafka broker killed (SIGKILL) and started again under a running
//! producer and ingest: while the broker is away ingest says it cannot consume
//! (503 on `/health` with the reason, `ingest_kafka_consuming` 0); once the
//! broker answers it writes again within 10 s and turns healthy by itself,
//! and every reading the producer had acknowledged is in Cassandra. The test
//! holds the lab-wide fault lock and starts the broker again whatever happens.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use contract::args::ProducerArgs;
use iot_services::ledger::read_ledger;
use test_support::{FaultLock, read_metric, wait_for};

/// The longest ingest may take to write again once the broker answers.
const RESUME_TARGET: Duration = Duration::from_secs(10);
/// How long the broker stays away: past ingest's 6 s group session, so the
/// assignment is revoked as in the reported defect.
const OUTAGE: Duration = Duration::from_secs(12);

fn kafka_dir() -> PathBuf {
    lab_dir().join("kafka")
}

fn kafka_answers() -> bool {
    let address: SocketAddr = KAFKA.parse().expect("static address");
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
}

/// The broker killed by the test; started again (and waited for) when dropped.
struct KafkaDown;

impl KafkaDown {
    fn kill() -> KafkaDown {
        let pid_file = kafka_dir().join("kafka.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()));
        let fault = KafkaDown;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap_or_else(|e| panic!("cannot kill the broker (pid {pid}): {e}"));
        wait_for("the broker gone", Duration::from_secs(10), || {
            (!kafka_answers()).then_some(())
        });
        fault
    }

    /// Starts the broker; returns when its port answers.
    fn restore(self) -> Instant {
        drop(self);
        Instant::now()
    }
}

impl Drop for KafkaDown {
    fn drop(&mut self) {
        let script = kafka_dir().join("bin/start");
        match Command::new(&script).output() {
            Ok(output) => eprintln!(
                "{} → {}{}",
                script.display(),
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(e) => eprintln!("cannot run {}: {e}", script.display()),
        }
        // Not `wait_for`: a panic inside a drop during unwinding would abort.
        let deadline = Instant::now() + Duration::from_secs(90);
        while !kafka_answers() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `GET /health` of ingest: its status code and body.
fn health(health_url: &str) -> Result<(u16, String), String> {
    http_get(health_url).map_err(|e| e.to_string())
}

#[test]
fn kafka_restarted_ingest_says_it_cannot_consume_then_resumes_within_10_s_losing_nothing() {
    require_lab();
    let _lock = FaultLock::acquire();
    let (rt, dir, topics, prefix, group, ledger_path) = scene("kr");
    let (mut ingest, metrics) = start_ingest(ingest_args(&topics, &group), dir.path());
    let health_url = metrics.replace("/metrics", "/health");
    let args = ProducerArgs {
        duration: Some(50.0),
        ..producer_args(&topics.readings, &prefix, &ledger_path, 2, 10.0)
    };
    let mut producer = spawn_producer(&args, dir.path());
    wait_written(&metrics, 40.0, Duration::from_secs(30));
    wait_for("ingest healthy", Duration::from_secs(15), || {
        health(&health_url)
            .ok()
            .filter(|(status, _)| *status == 200)
    });

    let killed = Instant::now();
    let fault = KafkaDown::kill();
    let (_, reason) = wait_for(
        "ingest to say it cannot consume",
        Duration::from_secs(15),
        || {
            health(&health_url)
                .ok()
                .filter(|(status, _)| *status == 503)
        },
    );
    eprintln!(
        "broker killed; {:?} later ingest's /health: {reason}",
        killed.elapsed()
    );
    assert!(reason.contains("not consuming"), "{reason}");
    assert_eq!(read_metric(&metrics, "ingest_kafka_consuming"), Ok(0.0));
    std::thread::sleep(OUTAGE.saturating_sub(killed.elapsed()));
    let (_, reason) = health(&health_url).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("after {:?} without the broker: {reason}", killed.elapsed());

    let written_before = read_metric(&metrics, "ingest_written_total").unwrap();
    let answered = fault.restore();
    assert!(kafka_answers(), "the broker did not come back within 90 s");
    let resumed = wait_for(
        "ingest's first write after the restart",
        Duration::from_secs(60),
        || {
            read_metric(&metrics, "ingest_written_total")
                .ok()
                .filter(|written| *written > written_before)
                .map(|_| answered.elapsed())
        },
    );
    eprintln!(
        "broker answering again; ingest's first write {:.1} s later (target {} s)",
        resumed.as_secs_f64(),
        RESUME_TARGET.as_secs()
    );
    wait_for("ingest healthy again", Duration::from_secs(20), || {
        health(&health_url)
            .ok()
            .filter(|(status, _)| *status == 200)
    });
    assert_eq!(read_metric(&metrics, "ingest_kafka_consuming"), Ok(1.0));
    assert!(
        resumed <= RESUME_TARGET,
        "ingest resumed {resumed:?} after the broker answered"
    );

    producer.wait_finished(Duration::from_secs(120));
    assert!(
        producer.log_text().contains("failed 0"),
        "{}",
        producer.log_text()
    );
    let ledger = read_ledger(&ledger_path).unwrap();
    Cassandra::connect(rt).wait_all_stored(&ledger, Duration::from_secs(60));
    assert!(ingest.is_running(), "{}", ingest.log_text());
    let log = ingest.log_text();
    assert!(log.contains("not consuming: "), "ingest did not say why");
    assert!(log.contains("consuming from Kafka (after"), "{log}");
}
