//! Kafka client settings and topic creation shared by the services, tests and
//! the benchmark.
//!
//! One place decides how the project talks to Kafka (durability of produced
//! readings, the dead-letter headers), so producer, ingest and the tests that
//! read the DLQ agree.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Header of a dead-lettered message: the rejection's stable code, e.g. `malformed_json`.
pub const DLQ_REASON_HEADER: &str = "dlq-reason";
/// Header of a dead-lettered message: the rejection explained for humans.
pub const DLQ_DETAIL_HEADER: &str = "dlq-detail";

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("cannot create Kafka admin client for {bootstrap}: {source}")]
    Client {
        bootstrap: String,
        source: KafkaError,
    },
    #[error("cannot create topic {topic}: {source}")]
    Create { topic: String, source: KafkaError },
    #[error("cannot create topic {topic}: {code}")]
    Refused {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

/// Settings common to every client of `bootstrap`.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // Loopback lab or a LAN: reconnect fast after the broker restarts.
        .set("reconnect.backoff.max.ms", "2000")
        .set("socket.connection.setup.timeout.ms", "5000");
    config
}

/// A durable producer: every write acknowledged by all in-sync replicas,
/// idempotent so internal retries never duplicate or reorder a partition.
/// `delivery_timeout` bounds how long librdkafka retries one message before
/// reporting it failed (the caller then retries it again, loudly).
pub fn durable_producer_config(bootstrap: &str, delivery_timeout: Duration) -> ClientConfig {
    let mut config = client_config(bootstrap);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set(
            "message.timeout.ms",
            delivery_timeout.as_millis().to_string(),
        )
        .set("linger.ms", "5")
        .set("compression.type", "lz4");
    config
}

/// Creates each `(topic, partitions)` that does not exist yet (replication 1:
/// the demo has a single broker).
pub async fn ensure_topics(bootstrap: &str, topics: &[(&str, i32)]) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(bootstrap)
            .create()
            .map_err(|source| TopicError::Client {
                bootstrap: bootstrap.to_owned(),
                source,
            })?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|source| TopicError::Create {
            topic: topics
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(","),
            source,
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Refused { topic, code }),
        }
    }
    Ok(())
}
