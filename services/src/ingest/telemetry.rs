//! What ingest tells Prometheus and its supervisor: consumed, written,
//! dead-lettered, write latency, lag, whether it can consume and why not.
//! Served on its own port (`/metrics`, `/health`), apart from the data path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use contract::api::Health;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rdkafka::Statistics;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;

use crate::ingest::health::{ConsumerFacts, NotConsuming};
use crate::metrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabel {
    partition: i32,
}

/// Ingest's counters; shared by the pipeline and the metrics endpoint.
#[derive(Debug)]
pub struct IngestMetrics {
    pub consumed: Counter,
    pub written: Counter,
    pub write_errors: Counter,
    /// Messages given up (the contrast lane only).
    pub given_up: Counter,
    pub commits: Counter,
    pub write_latency: Histogram,
    pub in_flight: Gauge,
    /// 1 while Cassandra accepts writes, 0 during an outage.
    pub cassandra_writable: Gauge,
    /// 1 while ingest can consume from Kafka, 0 while it cannot.
    kafka_consuming: Gauge,
    /// 1 for the reason ingest cannot consume, 0 for the others.
    not_consuming: Family<ReasonLabel, Gauge>,
    /// Partitions the consumer group assigned to ingest.
    assigned_partitions: Gauge,
    dead_lettered: Family<ReasonLabel, Counter>,
    /// All reasons together, for the summary logged at stop.
    dead_lettered_total: Counter,
    lag: Family<PartitionLabel, Gauge>,
    /// Holds handles to the metrics above, under their Prometheus names.
    registry: Registry,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        let mut metrics = IngestMetrics {
            consumed: Counter::default(),
            written: Counter::default(),
            write_errors: Counter::default(),
            given_up: Counter::default(),
            commits: Counter::default(),
            write_latency: metrics::latency_histogram(),
            in_flight: Gauge::default(),
            cassandra_writable: Gauge::default(),
            kafka_consuming: Gauge::default(),
            not_consuming: Family::default(),
            assigned_partitions: Gauge::default(),
            dead_lettered: Family::default(),
            dead_lettered_total: Counter::default(),
            lag: Family::default(),
            registry: Registry::default(),
        };
        metrics.cassandra_writable.set(1);
        for reason in NotConsuming::CODES {
            metrics
                .not_consuming
                .get_or_create(&ReasonLabel { reason })
                .set(0);
        }
        let registry = &mut metrics.registry;
        crate::register_metrics!(registry, metrics;
            "ingest_consumed" => consumed: "Messages received from Kafka",
            contract::metrics::INGEST_WRITTEN => written: "Readings written to sensor_data",
            "ingest_write_errors" => write_errors: "Failed Cassandra write attempts (each is retried)",
            "ingest_given_up" => given_up: "Messages given up: readings refused past --give-up-after-ms, bad messages with --no-dead-letters (the contrast lane only; 0 on the main path)",
            "ingest_commits" => commits: "Offset commits requested",
            "ingest_in_flight" => in_flight: "Messages received and not yet finished",
            "ingest_cassandra_writable" => cassandra_writable: "1 while Cassandra accepts writes, 0 during an outage",
            contract::metrics::INGEST_KAFKA_CONSUMING => kafka_consuming: "1 while ingest can consume from Kafka, 0 while it cannot (see ingest_not_consuming)",
            "ingest_not_consuming" => not_consuming: "1 for the reason ingest cannot consume now, 0 for the others",
            "ingest_assigned_partitions" => assigned_partitions: "Partitions the consumer group assigned to ingest",
            "ingest_write_latency_seconds" => write_latency: "Latency of successful Cassandra writes",
            "ingest_dead_lettered" => dead_lettered: "Messages sent to the DLQ, by reason",
            contract::metrics::INGEST_CONSUMER_LAG => lag: "Messages not yet committed, per partition (from librdkafka statistics)",
        );
        metrics
    }
}

impl IngestMetrics {
    pub fn dead_lettered(&self, reason: &'static str) {
        self.dead_lettered
            .get_or_create(&ReasonLabel { reason })
            .inc();
        self.dead_lettered_total.inc();
    }

    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered_total.get()
    }

    fn set_lag(&self, partition: i32, lag: i64) {
        self.lag
            .get_or_create(&PartitionLabel { partition })
            .set(lag);
    }

    /// Shows `verdict` in the consuming gauges.
    fn show(&self, verdict: &Result<(), NotConsuming>) {
        self.kafka_consuming.set(i64::from(verdict.is_ok()));
        let current = verdict.as_ref().err().map(NotConsuming::code);
        for reason in NotConsuming::CODES {
            self.not_consuming
                .get_or_create(&ReasonLabel { reason })
                .set(i64::from(current == Some(reason)));
        }
    }
}

/// The consumer's facts and the verdict last drawn from them, shared by the
/// librdkafka callbacks, the receive loop, the judge and `/health`.
pub struct ConsumerHealth {
    facts: Mutex<ConsumerFacts>,
    verdict: Mutex<Result<(), NotConsuming>>,
    topic: String,
}

impl ConsumerHealth {
    pub fn new(topic: &str) -> Self {
        let facts = ConsumerFacts::new(Instant::now());
        let verdict = facts.verdict(Instant::now());
        ConsumerHealth {
            facts: Mutex::new(facts),
            verdict: Mutex::new(verdict),
            topic: topic.to_owned(),
        }
    }

    /// Updates the facts (callers pass what they learnt).
    pub fn note(&self, update: impl FnOnce(&mut ConsumerFacts, Instant)) {
        let mut facts = self.facts.lock().unwrap_or_else(PoisonError::into_inner);
        update(&mut facts, Instant::now());
    }

    /// The verdict last drawn by [`judge`].
    pub fn verdict(&self) -> Result<(), NotConsuming> {
        self.verdict
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Draws the verdict now; returns it with the previous one.
    fn redraw(&self) -> (Result<(), NotConsuming>, Result<(), NotConsuming>) {
        let now = self
            .facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .verdict(Instant::now());
        let mut verdict = self.verdict.lock().unwrap_or_else(PoisonError::into_inner);
        let before = std::mem::replace(&mut *verdict, now.clone());
        (before, now)
    }
}

/// How often [`judge`] redraws the verdict.
const JUDGE_EVERY: Duration = Duration::from_millis(500);

/// Redraws the verdict every [`JUDGE_EVERY`] until `stop`: shows it in the
/// metrics and logs each change once (when ingest stops consuming, with the
/// reason, and when it consumes again, with how long it could not).
pub async fn judge(
    health: Arc<ConsumerHealth>,
    metrics: Arc<IngestMetrics>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(JUDGE_EVERY);
    let mut not_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let (before, now) = health.redraw();
        metrics.show(&now);
        match (&before, &now) {
            (Err(_), Ok(())) => {
                let down = not_since
                    .take()
                    .map(|since| since.elapsed())
                    .unwrap_or_default();
                tracing::info!(
                    "consuming from Kafka (after {:.1}s not consuming)",
                    down.as_secs_f64()
                );
            }
            (_, Err(why)) if before.as_ref().err().map(NotConsuming::code) != Some(why.code()) => {
                not_since.get_or_insert_with(Instant::now);
                tracing::warn!("{why}");
            }
            _ => {}
        }
    }
}

/// The consumer's context: records lag from librdkafka's statistics, feeds
/// the consumer's health with rebalances, broker failures and statistics, and
/// reports failed commits.
pub struct IngestContext {
    pub metrics: Arc<IngestMetrics>,
    pub health: Arc<ConsumerHealth>,
}

impl ClientContext for IngestContext {
    fn stats(&self, statistics: Statistics) {
        for topic in statistics.topics.values() {
            for (partition, stats) in &topic.partitions {
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    self.metrics.set_lag(*partition, stats.consumer_lag);
                }
            }
        }
        let topic = &self.health.topic;
        self.health
            .note(|facts, _| facts.statistics(&statistics, topic));
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!("Kafka: {error}: {reason}");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.health
                .note(|facts, _| facts.kafka_failed(reason.to_owned()));
        }
    }
}

impl ConsumerContext for IngestContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let assigned = match rebalance {
            Rebalance::Assign(partitions) => partitions.count(),
            // Ingest uses an eager assignor: a revocation takes every partition.
            Rebalance::Revoke(_) => 0,
            Rebalance::Error(error) => {
                tracing::warn!("Kafka rebalance failed: {error}");
                return;
            }
        };
        tracing::info!("consumer group assigned {assigned} partition(s)");
        self.metrics
            .assigned_partitions
            .set(i64::try_from(assigned).unwrap_or(i64::MAX));
        self.health.note(|facts, now| facts.assigned(assigned, now));
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::warn!("offset commit failed (will be retried with the next one): {error}");
        }
    }
}

/// `GET /health`: 200 `ok` while ingest can consume, 503 `degraded` with
/// the reason while it cannot.
fn health_answer(verdict: Result<(), NotConsuming>) -> Response {
    match verdict {
        Ok(()) => Json(Health::ok()).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health::degraded(why.to_string())),
        )
            .into_response(),
    }
}

/// Serves `GET /metrics` and `GET /health` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<IngestMetrics>,
    health: Arc<ConsumerHealth>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics::respond(&metrics.registry) }
            }),
        )
        .route(
            "/health",
            get(move || {
                let health = health.clone();
                async move { health_answer(health.verdict()) }
            }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Where the metrics endpoint listens, for logs.
pub fn describe(listener: &tokio::net::TcpListener) -> String {
    listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_under_its_prometheus_name() {
        let m = IngestMetrics::default();
        m.consumed.inc_by(3);
        m.dead_lettered("oversize");
        m.set_lag(4, 17);
        m.write_latency.observe(0.002);
        m.show(&Err(NotConsuming::NoPartitions("joining".into())));
        let text = metrics::render(&m.registry).expect("exposition");
        for needle in [
            "# HELP ingest_consumed_total Messages received from Kafka.\n\
             # TYPE ingest_consumed_total counter\n\
             ingest_consumed_total 3\n",
            "# TYPE ingest_written_total counter\ningest_written_total 0\n",
            "# TYPE ingest_write_errors_total counter\ningest_write_errors_total 0\n",
            "# TYPE ingest_commits_total counter\ningest_commits_total 0\n",
            "# TYPE ingest_in_flight gauge\ningest_in_flight 0\n",
            "# HELP ingest_cassandra_writable 1 while Cassandra accepts writes, 0 during an outage.\n\
             # TYPE ingest_cassandra_writable gauge\n\
             ingest_cassandra_writable 1\n",
            "# TYPE ingest_dead_lettered_total counter\n\
             ingest_dead_lettered_total{reason=\"oversize\"} 1\n",
            "# TYPE ingest_consumer_lag gauge\ningest_consumer_lag{partition=\"4\"} 17\n",
            "# TYPE ingest_kafka_consuming gauge\ningest_kafka_consuming 0\n",
            "ingest_not_consuming{reason=\"no_partitions\"} 1\n",
            "ingest_not_consuming{reason=\"kafka_unreachable\"} 0\n",
            "# TYPE ingest_assigned_partitions gauge\ningest_assigned_partitions 0\n",
            "# TYPE ingest_write_latency_seconds histogram\n\
             ingest_write_latency_seconds_bucket{le=\"0.001\"} 0\n\
             ingest_write_latency_seconds_bucket{le=\"0.0025\"} 1\n",
            "ingest_write_latency_seconds_bucket{le=\"+Inf\"} 1\n\
             ingest_write_latency_seconds_sum 0.002\n\
             ingest_write_latency_seconds_count 1\n",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
        assert_eq!(m.dead_lettered_total(), 1);
    }
}
