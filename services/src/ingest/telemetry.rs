//! What ingest tells Prometheus: consumed, written, dead-lettered, write
//! latency, lag. Served on its own port, apart from the data path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rdkafka::Statistics;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaResult;
use tokio_util::sync::CancellationToken;

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
    pub commits: Counter,
    pub write_latency: Histogram,
    pub in_flight: Gauge,
    /// 1 while Cassandra accepts writes, 0 during an outage.
    pub cassandra_writable: Gauge,
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
            commits: Counter::default(),
            write_latency: metrics::latency_histogram(),
            in_flight: Gauge::default(),
            cassandra_writable: Gauge::default(),
            dead_lettered: Family::default(),
            dead_lettered_total: Counter::default(),
            lag: Family::default(),
            registry: Registry::default(),
        };
        metrics.cassandra_writable.set(1);
        let registry = &mut metrics.registry;
        // Counters are registered without `_total`: the encoder appends it.
        registry.register(
            "ingest_consumed",
            "Messages received from Kafka",
            metrics.consumed.clone(),
        );
        registry.register(
            "ingest_written",
            "Readings written to sensor_data",
            metrics.written.clone(),
        );
        registry.register(
            "ingest_write_errors",
            "Failed Cassandra write attempts (each is retried)",
            metrics.write_errors.clone(),
        );
        registry.register(
            "ingest_commits",
            "Offset commits requested",
            metrics.commits.clone(),
        );
        registry.register(
            "ingest_in_flight",
            "Messages received and not yet finished",
            metrics.in_flight.clone(),
        );
        registry.register(
            "ingest_cassandra_writable",
            "1 while Cassandra accepts writes, 0 during an outage",
            metrics.cassandra_writable.clone(),
        );
        registry.register(
            "ingest_write_latency_seconds",
            "Latency of successful Cassandra writes",
            metrics.write_latency.clone(),
        );
        registry.register(
            "ingest_dead_lettered",
            "Messages sent to the DLQ, by reason",
            metrics.dead_lettered.clone(),
        );
        registry.register(
            "ingest_consumer_lag",
            "Messages not yet committed, per partition (from librdkafka statistics)",
            metrics.lag.clone(),
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
}

/// The consumer's context: records lag from librdkafka's statistics and
/// reports failed commits.
pub struct IngestContext {
    pub metrics: Arc<IngestMetrics>,
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
    }
}

impl ConsumerContext for IngestContext {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::warn!("offset commit failed (will be retried with the next one): {error}");
        }
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<IngestMetrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { metrics::respond(&metrics.registry) }
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
