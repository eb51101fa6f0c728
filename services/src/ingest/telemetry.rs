//! What ingest tells Prometheus: consumed, written, dead-lettered, write
//! latency, lag. Served on its own port, apart from the data path.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use rdkafka::Statistics;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaResult;

use crate::metrics::{CONTENT_TYPE, Counter, Exposition, Gauge, Histogram, Kind};
use crate::shutdown::Shutdown;

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
    dead_lettered: Mutex<BTreeMap<&'static str, u64>>,
    lag: Mutex<BTreeMap<i32, i64>>,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        let metrics = IngestMetrics {
            consumed: Counter::default(),
            written: Counter::default(),
            write_errors: Counter::default(),
            commits: Counter::default(),
            write_latency: Histogram::default(),
            in_flight: Gauge::default(),
            cassandra_writable: Gauge::default(),
            dead_lettered: Mutex::default(),
            lag: Mutex::default(),
        };
        metrics.cassandra_writable.set(1);
        metrics
    }
}

impl IngestMetrics {
    pub fn dead_lettered(&self, reason: &'static str) {
        *self
            .dead_lettered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    fn set_lag(&self, partition: i32, lag: i64) {
        self.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partition, lag);
    }

    pub fn render(&self) -> String {
        let mut e = Exposition::default();
        e.counter(
            "ingest_consumed_total",
            "Messages received from Kafka.",
            self.consumed.get(),
        )
        .counter(
            "ingest_written_total",
            "Readings written to sensor_data.",
            self.written.get(),
        )
        .counter(
            "ingest_write_errors_total",
            "Failed Cassandra write attempts (each is retried).",
            self.write_errors.get(),
        )
        .counter(
            "ingest_commits_total",
            "Offset commits requested.",
            self.commits.get(),
        )
        .gauge(
            "ingest_in_flight",
            "Messages received and not yet finished.",
            self.in_flight.get(),
        )
        .gauge(
            "ingest_cassandra_writable",
            "1 while Cassandra accepts writes, 0 during an outage.",
            self.cassandra_writable.get(),
        )
        .histogram(
            "ingest_write_latency_seconds",
            "Latency of successful Cassandra writes.",
            &self.write_latency,
        );
        e.family(
            "ingest_dead_lettered_total",
            "Messages sent to the DLQ, by reason.",
            Kind::Counter,
        );
        for (reason, count) in self
            .dead_lettered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            e.sample(
                "ingest_dead_lettered_total",
                &[("reason", reason)],
                *count as f64,
            );
        }
        e.family(
            "ingest_consumer_lag",
            "Messages not yet committed, per partition (from librdkafka statistics).",
            Kind::Gauge,
        );
        for (partition, lag) in self
            .lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            e.sample(
                "ingest_consumer_lag",
                &[("partition", &partition.to_string())],
                *lag as f64,
            );
        }
        e.finish()
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
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()) }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.requested().await })
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
    fn renders_every_family() {
        let m = IngestMetrics::default();
        m.consumed.add(3);
        m.dead_lettered("oversize");
        m.set_lag(4, 17);
        let text = m.render();
        for needle in [
            "ingest_consumed_total 3\n",
            "ingest_dead_lettered_total{reason=\"oversize\"} 1\n",
            "ingest_consumer_lag{partition=\"4\"} 17\n",
            "ingest_cassandra_writable 1\n",
            "ingest_write_latency_seconds_count 0\n",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
    }
}
