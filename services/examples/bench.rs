//! Benchmark of the data path on the lab (not part of the test suite).
//!
//! Runs, in one go and against the same lab: a reference writer (the fastest
//! way this machine can write `sensor_data` rows at QUORUM), ingest's sustained
//! throughput at QUORUM, produce → visible-in-API latency at the demo rate,
//! `GET /history?limit=300` under 32 concurrent clients with all nodes up and
//! with one node stopped, and the resident memory of each service. Prints a
//! Markdown report; docs/BENCHMARKS.md explains how to read it.
//!
//! Build and run (release binaries sit next to this example):
//!   cargo build --release -p iot-services --bins --examples
//!   target/release/examples/bench

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::Parser;
use contract::args::{ApiArgs, IngestArgs, KafkaArgs, ProducerArgs, from_environment};
use iot_services::cassandra::{self, SessionOptions, prepare};
use iot_services::kafka::{durable_producer_config, ensure_topics};
use iot_services::reading::{Reading, format_timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord};
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;
use test_support::{BoundListener, FaultLock, Service, Wait, metric_value};
use tokio::sync::Semaphore;

/// Benchmark producer → Kafka → ingest → Cassandra → API on the lab.
#[derive(Debug, Parser)]
struct Args {
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:9092")]
    kafka: String,
    /// Cassandra contact points.
    #[arg(long, default_value = "127.0.0.1,127.0.0.2,127.0.0.3")]
    cassandra: String,
    /// Seconds of the reference writer.
    #[arg(long, default_value_t = 20)]
    reference_seconds: u64,
    /// Writes in flight of the reference writer.
    #[arg(long, default_value_t = 256)]
    reference_concurrency: usize,
    /// Readings queued in Kafka before ingest starts draining them.
    #[arg(long, default_value_t = 150_000)]
    throughput_readings: u64,
    /// Seconds of the demo-rate phase (latency and memory).
    #[arg(long, default_value_t = 60)]
    demo_seconds: u64,
    /// Seconds of each history load run.
    #[arg(long, default_value_t = 20)]
    history_seconds: u64,
    /// Concurrent history clients.
    #[arg(long, default_value_t = 32)]
    history_clients: usize,
    /// Skip the one-node-down history run (it stops PC2 under the lab fault lock).
    #[arg(long)]
    skip_node_down: bool,
}

/// Starts service binary `name` (from [`binaries_dir`]) with `args`,
/// handing it `listeners`, its log in `logs`; killed when dropped.
fn spawn(
    name: &str,
    args: Vec<String>,
    listeners: Vec<BoundListener>,
    logs: &Path,
) -> Result<Service> {
    let program = binaries_dir().join(name);
    if !program.is_file() {
        bail!(
            "no {} (build with `cargo build --release -p iot-services --bins`)",
            program.display()
        );
    }
    let mut command = Command::new(program);
    command.args(args).env("RUST_LOG", "warn");
    Ok(Service::spawn(name, command, listeners, logs))
}

/// Waits until `service` exits by itself, successfully.
fn finished(service: &mut Service, timeout: Duration) -> Result<()> {
    let status = service.try_wait_finished(timeout)?;
    if !status.success() {
        bail!("{} exited with {status}", service.name());
    }
    Ok(())
}

/// target/release: this example lives in target/release/examples.
fn binaries_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The 1-minute load average: the machine is shared, figures depend on it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Resident memory of `pid` in MiB, from /proc.
fn rss_mib(pid: u32) -> Option<f64> {
    proc_status_mib(pid, "VmRSS:")
}

/// Peak resident memory of `pid` in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    proc_status_mib(pid, "VmHWM:")
}

fn proc_status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// CPU time (user + system) of `pid` so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // /proc reports USER_HZ ticks, fixed at 100 per second by the kernel ABI.
    Some(ticks / 100.0)
}

/// The processes that share the machine's cores during a run: the given ones,
/// each Cassandra node and Kafka (from the lab's pid files).
fn cpu_snapshot(named: &[(&str, u32)]) -> Vec<(String, u32, f64)> {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.lab");
    let from_file =
        |path: PathBuf| -> Option<u32> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let mut processes: Vec<(String, u32)> =
        named.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    for node in 1..=3 {
        if let Some(pid) = from_file(lab.join(format!("node{node}/cassandra.pid"))) {
            processes.push((format!("Cassandra PC{node}"), pid));
        }
    }
    if let Some(pid) = from_file(lab.join("kafka/kafka.pid")) {
        processes.push(("Kafka".into(), pid));
    }
    processes
        .into_iter()
        .filter_map(|(name, pid)| Some((name, pid, cpu_seconds(pid)?)))
        .collect()
}

fn cpu_delta(before: &[(String, u32, f64)]) -> Vec<(String, f64)> {
    before
        .iter()
        .filter_map(|(name, pid, seconds)| Some((name.clone(), cpu_seconds(*pid)? - seconds)))
        .collect()
}

/// Starts ingest on `topic`, its metrics on a listener bound here; returns it
/// and its metrics URL.
fn start_ingest(
    args: &Args,
    topic: &str,
    dlq: &str,
    group: &str,
    logs: &Path,
) -> Result<(Service, String)> {
    let metrics = BoundListener::loopback();
    let mut ingest: IngestArgs = from_environment()?;
    ingest.kafka = kafka(args, topic);
    ingest.cassandra.contact_points = args.cassandra.clone();
    ingest.dlq_topic = dlq.to_owned();
    ingest.group_id = group.to_owned();
    ingest.metrics_listen = metrics.address();
    ingest.metrics_fd = Some(metrics.fd());
    let url = format!("{}/metrics", metrics.base_url());
    Ok((spawn("ingest", ingest.to_args(), vec![metrics], logs)?, url))
}

async fn metric(client: &reqwest::Client, metrics_url: &str, series: &str) -> Option<f64> {
    let text = client
        .get(metrics_url)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metric_value(&text, series)
}

async fn wait_http_ok(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<()> {
    Wait::new(format!("{url} to answer OK"), timeout)
        .every(Duration::from_millis(200))
        .try_until_async(|| async {
            let response = client.get(url).send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(status.to_string())
            }
        })
        .await?;
    Ok(())
}

/// The reference: prepared inserts of `sensor_data` rows at QUORUM, as many in
/// flight as `concurrency`, for `seconds`. Returns rows/s.
async fn reference_writer(args: &Args, run: &str) -> Result<f64> {
    let session = Arc::new(
        cassandra::connect(&SessionOptions::new(cassandra::split_contact_points(
            &args.cassandra,
        )))
        .await?,
    );
    let insert = Arc::new(
        prepare(
            &session,
            "INSERT INTO iot_demo.sensor_data (sensor_id, timestamp, value) VALUES (?, ?, ?)",
            Consistency::Quorum,
        )
        .await?,
    );
    let slots = Arc::new(Semaphore::new(args.reference_concurrency));
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.reference_seconds);
    let base = Utc::now().timestamp_millis();
    let mut n: i64 = 0;
    while Instant::now() < deadline {
        let slot = slots.clone().acquire_owned().await?;
        let (session, insert, written) = (session.clone(), insert.clone(), written.clone());
        let sensor = format!("bench_ref_{run}_{:03}", n % 100);
        let at = base + n / 100;
        n += 1;
        tokio::spawn(async move {
            if session
                .execute_unpaged(&insert, (sensor.as_str(), CqlTimestamp(at), 21.5))
                .await
                .is_ok()
            {
                written.fetch_add(1, Ordering::Relaxed);
            }
            drop(slot);
        });
    }
    let _ = slots
        .acquire_many(args.reference_concurrency as u32)
        .await?;
    Ok(written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// A service's Kafka address and topic, then `extra`.
/// The bench's Kafka on `topic`.
fn kafka(args: &Args, topic: &str) -> KafkaArgs {
    KafkaArgs {
        bootstrap: args.kafka.clone(),
        topic: topic.to_owned(),
    }
}

/// The producer's arguments: the defaults, on the bench's Kafka and `topic`.
fn producer(args: &Args, topic: &str) -> Result<ProducerArgs> {
    Ok(ProducerArgs {
        kafka: kafka(args, topic),
        ..from_environment()?
    })
}

/// 32 clients hammering history for `seconds`: (p50, p99, requests/s, errors).
async fn history_load(
    base: &str,
    sensors: &[String],
    since: &str,
    args: &Args,
) -> (Duration, Duration, f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.history_clients)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(args.history_seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..args.history_clients {
        let url = format!(
            "{base}/sensors/{}/history?since={since}&limit=300",
            sensors[c % sensors.len()]
        );
        let (client, errors) = (client.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap_or_default());
    }
    all.sort_unstable();
    let rate = all.len() as f64 / args.history_seconds as f64;
    (
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        rate,
        errors.load(Ordering::Relaxed),
    )
}

/// Stops PC2 under the lab fault lock, runs `body`, brings PC2 back.
struct NodeDown {
    _lock: FaultLock,
    restored: bool,
}

impl NodeDown {
    fn stop_pc2() -> Result<NodeDown> {
        let lock = FaultLock::acquire();
        run_script("stop")?;
        Ok(NodeDown {
            _lock: lock,
            restored: false,
        })
    }
}

impl NodeDown {
    /// Brings PC2 back and waits until it answers CQL again.
    async fn restore(mut self) {
        self.restored = true;
        let _ = run_script("thaw");
        let _ = run_script("start");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(180) {
            if let Ok(session) =
                cassandra::connect_single_node("127.0.0.2", Duration::from_secs(2)).await
                && session
                    .query_unpaged("SELECT release_version FROM system.local", ())
                    .await
                    .is_ok()
            {
                eprintln!("PC2 answers CQL again");
                // Let gossip mark it UN everywhere before releasing the lock.
                tokio::time::sleep(Duration::from_secs(5)).await;
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        eprintln!("PC2 did not come back within 180 s: check the lab");
    }
}

impl Drop for NodeDown {
    /// On an early exit, at least start PC2 again (restore() already did when it ran).
    fn drop(&mut self) {
        if !self.restored {
            let _ = run_script("start");
        }
    }
}

fn run_script(verb: &str) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../.lab/node2/bin/{verb}"));
    let out = Command::new(&script)
        .output()
        .with_context(|| script.display().to_string())?;
    eprintln!(
        "{} → {}",
        script.display(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run = format!("{}", Utc::now().timestamp() % 1_000_000);
    let logs = tempfile::Builder::new().prefix("bench-").tempdir()?.keep();
    let client = reqwest::Client::new();
    let since = format_timestamp(Utc::now() - chrono::Duration::minutes(1));
    let load_before = load_average();
    eprintln!("bench run {run}; service logs in {}", logs.display());

    // 1. Reference writer.
    eprintln!("reference writer: {} s at QUORUM…", args.reference_seconds);
    let reference_before = reference_writer(&args, &run).await?;
    eprintln!("  {reference_before:.0} rows/s");

    // 2. Ingest throughput: fill a topic, then let ingest drain it.
    let topic = format!("bench-{run}");
    let dlq = format!("bench-{run}-dlq");
    ensure_topics(&args.kafka, &[(&topic, 6), (&dlq, 1)]).await?;
    eprintln!(
        "filling {topic} with {} readings…",
        args.throughput_readings
    );
    let fill_started = Instant::now();
    let filler = ProducerArgs {
        max_rate: true,
        sensors: 100,
        count: Some(args.throughput_readings),
        sensor_prefix: format!("bench_ing_{run}_"),
        ..producer(&args, &topic)?
    };
    let mut filler = spawn("producer", filler.to_args(), Vec::new(), &logs)?;
    finished(&mut filler, Duration::from_secs(600))?;
    let produce_rate = args.throughput_readings as f64 / fill_started.elapsed().as_secs_f64();
    eprintln!("  producer --max-rate: {produce_rate:.0} readings/s acknowledged");

    let (ingest, metrics_url) = start_ingest(&args, &topic, &dlq, &format!("bench-{run}"), &logs)?;
    let target = args.throughput_readings as f64;
    let mut samples: Vec<(Instant, f64)> = Vec::new();
    let drain_started = Instant::now();
    loop {
        let written = metric(&client, &metrics_url, "ingest_written_total")
            .await
            .unwrap_or(0.0);
        samples.push((Instant::now(), written));
        if written >= target {
            break;
        }
        if drain_started.elapsed() > Duration::from_secs(900) {
            bail!("ingest wrote only {written} of {target} in 900 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let at = |fraction: f64| {
        samples
            .iter()
            .find(|(_, w)| *w >= target * fraction)
            .copied()
    };
    let ingest_rate = match (at(0.1), at(0.9)) {
        (Some((t1, w1)), Some((t2, w2))) if t2 > t1 => (w2 - w1) / (t2 - t1).as_secs_f64(),
        _ => target / drain_started.elapsed().as_secs_f64(),
    };
    let drained_peak = peak_rss_mib(ingest.id()).unwrap_or(0.0);
    drop(ingest);
    // The cluster's state changed meanwhile (memtables, compactions, other
    // users of the machine): measure the reference again and compare with both.
    eprintln!("reference writer again…");
    let reference_after = reference_writer(&args, &format!("{run}b")).await?;
    let reference = (reference_before + reference_after) / 2.0;
    eprintln!(
        "  {reference_after:.0} rows/s; ingest {ingest_rate:.0} readings/s, ratio {:.2}",
        ingest_rate / reference
    );

    // 3. Demo rate: latency and memory, with a fresh ingest on its own topic
    // (memory after a full-speed drain says little about the demo).
    let demo_topic = format!("bench-{run}-demo");
    ensure_topics(&args.kafka, &[(&demo_topic, 6)]).await?;
    let (ingest, _) = start_ingest(
        &args,
        &demo_topic,
        &dlq,
        &format!("bench-{run}-demo"),
        &logs,
    )?;
    let listener = BoundListener::loopback();
    let mut api: ApiArgs = from_environment()?;
    api.cassandra.contact_points = args.cassandra.clone();
    api.listen = listener.address();
    api.listen_fd = Some(listener.fd());
    let base = listener.base_url();
    let api = spawn("api", api.to_args(), vec![listener], &logs)?;
    wait_http_ok(&client, &format!("{base}/health"), Duration::from_secs(30)).await?;
    let demo = ProducerArgs {
        sensors: 5,
        rate: 1.0,
        duration: Some(args.demo_seconds as f64),
        sensor_prefix: format!("bench_demo_{run}_"),
        ..producer(&args, &demo_topic)?
    };
    let demo = spawn("producer", demo.to_args(), Vec::new(), &logs)?;
    let pids = [
        ("producer", demo.id()),
        ("ingest", ingest.id()),
        ("api", api.id()),
    ];
    let sampling = Arc::new(AtomicBool::new(true));
    let rss_task = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = [0.0f64; 3];
            while sampling.load(Ordering::Relaxed) {
                for (slot, (_, pid)) in peak.iter_mut().zip(pids) {
                    *slot = slot.max(rss_mib(pid).unwrap_or(0.0));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            peak
        })
    };
    eprintln!(
        "demo rate for {} s: probing produce → visible latency…",
        args.demo_seconds
    );
    let probe: FutureProducer =
        durable_producer_config(&args.kafka, Duration::from_secs(10)).create()?;
    let probe_id = format!("bench_probe_{run}");
    let mut latencies = Vec::new();
    let demo_deadline = Instant::now() + Duration::from_secs(args.demo_seconds);
    while Instant::now() < demo_deadline {
        let tick = Instant::now();
        let reading = Reading {
            sensor_id: probe_id.clone(),
            // Millisecond precision, as stored.
            timestamp: iot_services::reading::parse_timestamp(&format_timestamp(Utc::now()))?,
            value: 20.0,
        };
        let stamp = format_timestamp(reading.timestamp);
        let payload = reading.to_json();
        let sent = Instant::now();
        probe
            .send(
                FutureRecord::to(&demo_topic)
                    .key(probe_id.as_str())
                    .payload(payload.as_str()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)?;
        let url = format!("{base}/sensors/{probe_id}/latest");
        loop {
            if let Ok(r) = client.get(&url).send().await
                && let Ok(body) = r.text().await
                && body.contains(&stamp)
            {
                latencies.push(sent.elapsed());
                break;
            }
            if sent.elapsed() > Duration::from_secs(10) {
                eprintln!("  probe reading not visible after 10 s");
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep_until((tick + Duration::from_millis(200)).into()).await;
    }
    sampling.store(false, Ordering::Relaxed);
    let peak = rss_task.await?;
    latencies.sort_unstable();
    let (lat50, lat99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    eprintln!(
        "  latency p50 {} p99 {} over {} readings",
        ms(lat50),
        ms(lat99),
        latencies.len()
    );
    drop(demo);

    // 4. History under load.
    let history_sensors: Vec<String> = (1..=5).map(|n| format!("bench_ing_{run}_{n:03}")).collect();
    eprintln!(
        "history: {} clients for {} s, all nodes up…",
        args.history_clients, args.history_seconds
    );
    let cpu_before = cpu_snapshot(&[("api", api.id()), ("bench client", std::process::id())]);
    let up = history_load(&base, &history_sensors, &since, &args).await;
    let cpu_used = cpu_delta(&cpu_before);
    eprintln!(
        "  p50 {} p99 {} ({:.0} req/s, {} errors)",
        ms(up.0),
        ms(up.1),
        up.2,
        up.3
    );
    let down = if args.skip_node_down {
        None
    } else {
        let stopped = NodeDown::stop_pc2()?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        eprintln!("history: PC2 stopped…");
        let result = history_load(&base, &history_sensors, &since, &args).await;
        eprintln!(
            "  p50 {} p99 {} ({:.0} req/s, {} errors)",
            ms(result.0),
            ms(result.1),
            result.2,
            result.3
        );
        stopped.restore().await;
        Some(result)
    };

    println!(
        "Run {run} at {}; load average (1 min) {load_before} before, {} after.\n",
        format_timestamp(Utc::now()),
        load_average()
    );
    println!("| measure | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| reference writer, sensor_data rows at QUORUM ({} in flight), before / after ingest | {reference_before:.0} / {reference_after:.0} rows/s | |",
        args.reference_concurrency
    );
    println!(
        "| ingest, sustained at QUORUM ({} readings queued, 100 sensors) | {ingest_rate:.0} readings/s | |",
        args.throughput_readings
    );
    println!(
        "| ingest / mean of the two references | {:.2} | ≥ 0.8 |",
        ingest_rate / reference
    );
    println!("| producer --max-rate (acks=all) | {produce_rate:.0} readings/s | |");
    println!(
        "| produce → visible in /latest, p50 / p99 ({} readings) | {} / {} | p99 ≤ 250 ms |",
        latencies.len(),
        ms(lat50),
        ms(lat99)
    );
    println!(
        "| history?limit=300, {} clients, all up: p50 / p99 ({:.0} req/s, {} errors) | {} / {} | p99 ≤ 20 ms |",
        args.history_clients,
        up.2,
        up.3,
        ms(up.0),
        ms(up.1)
    );
    if let Some(d) = down {
        println!(
            "| history?limit=300, {} clients, PC2 stopped: p50 / p99 ({:.0} req/s, {} errors) | {} / {} | p99 ≤ 20 ms |",
            args.history_clients,
            d.2,
            d.3,
            ms(d.0),
            ms(d.1)
        );
    }
    for ((name, _), mib) in pids.iter().zip(peak) {
        println!("| peak RSS of {name} at the demo rate | {mib:.1} MiB | ≤ 64 MiB |");
    }
    println!(
        "| peak RSS of ingest while draining at full speed (informative) | {drained_peak:.1} MiB | |"
    );
    println!(
        "\nCPU seconds used during the {} s all-up history run (2 cores = {} core-seconds): {}",
        args.history_seconds,
        2 * args.history_seconds,
        cpu_used
            .iter()
            .map(|(name, seconds)| format!("{name} {seconds:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(api);
    drop(ingest);
    Ok(())
}
