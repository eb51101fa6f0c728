//! The dead-letter queue: where a message that is not a valid reading goes.
//!
//! A bad message must neither stop ingest nor vanish: it is published to the
//! DLQ topic with the reason, both as headers (for tools that filter on them)
//! and in a JSON envelope that also carries the original text and where it
//! came from, so a person can see what was wrong and replay it if needed.

use std::time::Duration;

use chrono::Utc;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::ingest::Abandoned;
use crate::kafka::{DLQ_DETAIL_HEADER, DLQ_REASON_HEADER};
use crate::reading::{Rejection, format_timestamp};
use tokio_util::sync::CancellationToken;

/// The value of a dead-lettered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Stable code, e.g. `malformed_json`.
    pub reason: String,
    /// Human explanation.
    pub detail: String,
    /// The original message value (invalid UTF-8 replaced).
    pub original: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub rejected_at: String,
}

impl DeadLetter {
    pub fn new(
        rejection: &Rejection,
        payload: &[u8],
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Self {
        DeadLetter {
            reason: rejection.code().to_owned(),
            detail: rejection.to_string(),
            original: String::from_utf8_lossy(payload).into_owned(),
            source_topic: topic.to_owned(),
            source_partition: partition,
            source_offset: offset,
            rejected_at: format_timestamp(Utc::now()),
        }
    }
}

/// Publishes dead letters, retrying until Kafka acknowledges.
pub struct DeadLetterQueue {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetterQueue {
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        DeadLetterQueue { producer, topic }
    }

    /// Sends `letter` (keyed like the original message); `Err` only when told to give up.
    pub async fn send(
        &self,
        letter: &DeadLetter,
        key: Option<&[u8]>,
        give_up: &CancellationToken,
    ) -> Result<(), Abandoned> {
        let value = serde_json::to_string(letter).unwrap_or_default();
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: DLQ_REASON_HEADER,
                    value: Some(letter.reason.as_bytes()),
                })
                .insert(Header {
                    key: DLQ_DETAIL_HEADER,
                    value: Some(letter.detail.as_bytes()),
                });
            let mut record = FutureRecord::to(&self.topic)
                .payload(&value)
                .headers(headers);
            if let Some(key) = key {
                record = record.key(key);
            }
            let sent = tokio::select! {
                result = self.producer.send(record, Duration::from_secs(5)) => result,
                _ = give_up.cancelled() => return Err(Abandoned),
            };
            match sent {
                Ok(_) => return Ok(()),
                Err((error, _)) => {
                    tracing::warn!(
                        "cannot publish to DLQ topic {} ({error}); retrying",
                        self.topic
                    );
                }
            }
            backoff.sleep(give_up).await.ok_or(Abandoned)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_carries_reason_and_original() {
        let letter = DeadLetter::new(&Rejection::NonFiniteValue, b"{\"value\":NaN}", "t", 2, 40);
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&letter).unwrap()).unwrap();
        assert_eq!(json["reason"], "non_finite_value");
        assert_eq!(json["original"], "{\"value\":NaN}");
        assert_eq!(json["source_partition"], 2);
        assert_eq!(json["source_offset"], 40);
    }
}
