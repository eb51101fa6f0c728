//! Ingest: Kafka `sensor-readings` → Cassandra, at least once.
//!
//! Messages are validated; valid readings are written to `sensor_data` (and
//! reflected in `sensors`) with several writes in flight, invalid ones go to
//! the dead-letter topic. A partition's offset is committed only once every
//! earlier message of it is done, so a crash or an outage replays instead of
//! losing. Ingest talks to Kafka and Cassandra only.

pub mod dlq;
pub mod health;
pub mod offsets;
pub mod sensor_index;
pub mod telemetry;
pub mod writer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use contract::args::IngestArgs;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::cassandra::{self, CassandraError};
use crate::config;
use crate::kafka::{client_config, durable_producer_config};
use crate::reading::parse_reading;
use crate::shutdown;
use tokio_util::sync::CancellationToken;

pub use telemetry::IngestMetrics;

use dlq::{DeadLetter, DeadLetterQueue};
use offsets::OffsetTracker;
use sensor_index::SensorIndex;
use telemetry::{ConsumerHealth, IngestContext};
use writer::{Writer, Written};

/// Ingest was told to give up before a message's work succeeded.
#[derive(Debug, thiserror::Error)]
#[error("abandoned at shutdown")]
pub struct Abandoned;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot create Kafka {what}: {source}")]
    Kafka {
        what: &'static str,
        source: KafkaError,
    },
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    #[error("cannot serve metrics on {address}: {source}")]
    Metrics {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Everything a message's task needs.
struct Pipeline {
    writer: Arc<Writer>,
    index: SensorIndex,
    /// None for the contrast lane's ingest: the main ingest dead-letters the
    /// same messages, and one letter per bad message is enough.
    dlq: Option<DeadLetterQueue>,
    tracker: Mutex<OffsetTracker>,
    metrics: Arc<IngestMetrics>,
    topic: String,
}

/// Runs ingest until SIGTERM/SIGINT.
pub async fn run(args: IngestArgs) -> Result<(), IngestError> {
    let stop = shutdown::on_signals().map_err(IngestError::Signals)?;
    let metrics = Arc::new(IngestMetrics::default());
    let health = Arc::new(ConsumerHealth::new(&args.kafka.topic));

    let listener = config::listener(args.metrics_listen, args.metrics_fd)
        .await
        .map_err(|source| IngestError::Metrics {
            address: args.metrics_listen,
            source,
        })?;
    tracing::info!(
        "metrics on http://{}/metrics",
        telemetry::describe(&listener)
    );
    let metrics_server = tokio::spawn(telemetry::serve(
        listener,
        metrics.clone(),
        health.clone(),
        stop.clone(),
    ));
    tokio::spawn(telemetry::judge(
        health.clone(),
        metrics.clone(),
        stop.clone(),
    ));

    let Some(session) =
        cassandra::connect_with_retry(&config::session_options(&args.cassandra), &stop).await
    else {
        return Ok(());
    };
    let session = Arc::new(session);
    let writer = Arc::new(
        Writer::new(
            session,
            &args.cassandra.keyspace,
            config::driver_consistency(args.write_consistency),
            metrics.clone(),
            args.give_up_after_ms.map(Duration::from_millis),
        )
        .await?,
    );

    let producer: FutureProducer =
        durable_producer_config(&args.kafka.bootstrap, Duration::from_secs(30))
            .create()
            .map_err(|source| IngestError::Kafka {
                what: "DLQ producer",
                source,
            })?;
    let consumer: StreamConsumer<IngestContext> = client_config(&args.kafka.bootstrap)
        .set("group.id", &args.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            if args.start_at_latest {
                "latest"
            } else {
                "earliest"
            },
        )
        .set("statistics.interval.ms", "5000")
        // After a broker restart the group waits for this consumer's former
        // member to expire before assigning partitions again: the broker's
        // minimum (6 s) keeps that wait, and ingest's resumption, short.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000")
        // librdkafka prefetches up to 64 MiB by default; a few MiB keep
        // thousands of readings ahead of the writers at a fraction of the memory.
        .set("queued.max.messages.kbytes", "4096")
        .set("queued.min.messages", "5000")
        .create_with_context(IngestContext {
            metrics: metrics.clone(),
            health: health.clone(),
        })
        .map_err(|source| IngestError::Kafka {
            what: "consumer",
            source,
        })?;
    consumer
        .subscribe(&[&args.kafka.topic])
        .map_err(|source| IngestError::Kafka {
            what: "subscription",
            source,
        })?;
    tracing::info!(
        "consuming {} as group {} → Cassandra {} at {:?}; bad messages → {}",
        args.kafka.topic,
        args.group_id,
        args.cassandra.contact_points,
        args.write_consistency,
        if args.no_dead_letters {
            "skipped (--no-dead-letters)"
        } else {
            &args.dlq_topic
        }
    );

    let pipeline = Arc::new(Pipeline {
        index: SensorIndex::new(writer.clone()),
        writer,
        dlq: (!args.no_dead_letters)
            .then(|| DeadLetterQueue::new(producer.clone(), args.dlq_topic.clone())),
        tracker: Mutex::default(),
        metrics: metrics.clone(),
        topic: args.kafka.topic.clone(),
    });
    let give_up = CancellationToken::new();
    let max_in_flight = args.max_in_flight.max(1);
    let slots = Arc::new(Semaphore::new(max_in_flight));

    consume(
        &consumer, &pipeline, &health, &slots, &stop, &give_up, &args,
    )
    .await;

    // Drain: let in-flight work finish, then commit what it finished.
    let drain = Duration::from_secs(args.drain_timeout_secs);
    let all_slots = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(drain, async {
        let _all = slots.acquire_many(all_slots).await;
        // Readings past their write may still wait for their `sensors` upsert.
        while pipeline.offsets().unfinished() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if drained.is_err() {
        let left = pipeline.offsets().unfinished();
        tracing::warn!(
            "{left} messages still unfinished after {drain:?}: leaving them uncommitted (replayed next start)"
        );
        give_up.cancel();
    }
    commit(&consumer, &pipeline, CommitMode::Sync);
    let _ = tokio::task::spawn_blocking(move || {
        use rdkafka::producer::Producer;
        producer.flush(Duration::from_secs(5))
    })
    .await;
    let _ = metrics_server.await;
    tracing::info!(
        "stopped: consumed {}, written {}, dead-lettered {}",
        metrics.consumed.get(),
        metrics.written.get(),
        metrics.dead_lettered_total()
    );
    Ok(())
}

/// The receive loop: hands each message to a task, commits periodically.
async fn consume(
    consumer: &StreamConsumer<IngestContext>,
    pipeline: &Arc<Pipeline>,
    health: &ConsumerHealth,
    slots: &Arc<Semaphore>,
    stop: &CancellationToken,
    give_up: &CancellationToken,
    args: &IngestArgs,
) {
    let mut commit_tick =
        tokio::time::interval(Duration::from_millis(args.commit_interval_ms.max(10)));
    // Errors received since the last message (logged once per outage).
    let mut kafka_errors: u64 = 0;
    loop {
        // A free slot first, so that a Cassandra outage stops consumption
        // instead of piling up messages in memory. Waiting for one is waiting
        // for Cassandra, not for Kafka: no stall of the consumer.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(TryAcquireError::Closed) => return,
            Err(TryAcquireError::NoPermits) => {
                health.note(|facts, _| facts.not_waiting());
                let slot = tokio::select! {
                    slot = slots.clone().acquire_owned() => slot,
                    _ = commit_tick.tick() => { commit(consumer, pipeline, CommitMode::Async); continue; }
                    _ = stop.cancelled() => return,
                };
                let Ok(slot) = slot else { return };
                slot
            }
        };
        health.note(|facts, now| facts.waiting(now));
        let message = tokio::select! {
            message = consumer.recv() => message,
            _ = commit_tick.tick() => { commit(consumer, pipeline, CommitMode::Async); continue; }
            _ = stop.cancelled() => return,
        };
        let message = match message {
            Ok(message) => {
                if kafka_errors > 0 {
                    tracing::info!("receiving from Kafka again after {kafka_errors} error(s)");
                    kafka_errors = 0;
                }
                health.note(|facts, now| facts.message(now));
                message
            }
            Err(error) => {
                // librdkafka reconnects and rejoins the group by itself; an
                // error is one event of its queue, reported, never a reason
                // to stop polling. Sleeping here once made ingest fall behind
                // its own queue: librdkafka posts "all brokers down" every
                // few seconds while the broker is away, and a backoff of up to
                // 5 s per event left a growing pile of stale errors in front
                // of the rebalance and the messages after the broker came back.
                // `recv` waits for the next event, so this does not spin.
                if kafka_errors == 0 {
                    tracing::warn!("Kafka receive error: {error}; librdkafka retries by itself");
                } else {
                    tracing::debug!("Kafka receive error: {error}");
                }
                kafka_errors += 1;
                continue;
            }
        };
        let partition = message.partition();
        let offset = message.offset();
        let payload = message.payload().unwrap_or_default().to_vec();
        let key = message.key().map(<[u8]>::to_vec);
        drop(message);

        pipeline.offsets().received(partition, offset);
        pipeline.metrics.consumed.inc();
        pipeline.metrics.in_flight.inc();

        let pipeline = pipeline.clone();
        let give_up = give_up.clone();
        tokio::spawn(async move {
            let done = pipeline
                .handle(partition, offset, &payload, key.as_deref(), slot, &give_up)
                .await;
            if done.is_ok() {
                pipeline.offsets().finished(partition, offset);
            }
            pipeline.metrics.in_flight.dec();
        });
    }
}

impl Pipeline {
    /// The offset tracker; a task that panicked while holding it left it consistent
    /// (each update is one call), so a poisoned lock is used as it is.
    fn offsets(&self) -> MutexGuard<'_, OffsetTracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a valid reading, or dead-letters an invalid message. The
    /// in-flight `slot` is given back as soon as the reading is in
    /// `sensor_data`: waiting for the coalesced `sensors` upsert costs no write
    /// slot, only the commit of the offset waits for it.
    async fn handle(
        &self,
        partition: i32,
        offset: i64,
        payload: &[u8],
        key: Option<&[u8]>,
        slot: OwnedSemaphorePermit,
        give_up: &CancellationToken,
    ) -> Result<(), Abandoned> {
        match parse_reading(payload, Utc::now()) {
            Ok(reading) => {
                if self.writer.insert_reading(&reading, give_up).await? == Written::GivenUp {
                    // The contrast lane only: this reading is not kept, and its
                    // sensor's row is not updated with it.
                    self.metrics.given_up.inc();
                    return Ok(());
                }
                self.metrics.written.inc();
                drop(slot);
                self.index.cover(&reading, give_up).await
            }
            Err(rejection) => {
                let Some(dlq) = &self.dlq else {
                    tracing::debug!(
                        partition,
                        offset,
                        "skipped (--no-dead-letters): {rejection}"
                    );
                    self.metrics.given_up.inc();
                    return Ok(());
                };
                tracing::info!(
                    partition,
                    offset,
                    reason = rejection.code(),
                    "dead-lettering: {rejection}"
                );
                let letter = DeadLetter::new(&rejection, payload, &self.topic, partition, offset);
                dlq.send(&letter, key, give_up).await?;
                self.metrics.dead_lettered(rejection.code());
                Ok(())
            }
        }
    }
}

/// Commits every partition whose finished prefix moved.
fn commit(consumer: &StreamConsumer<IngestContext>, pipeline: &Pipeline, mode: CommitMode) {
    let mut tracker = pipeline.offsets();
    let positions = tracker.take_committable();
    if positions.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (partition, position) in &positions {
        if let Err(error) =
            list.add_partition_offset(&pipeline.topic, *partition, Offset::Offset(*position))
        {
            tracing::warn!("cannot commit partition {partition}: {error}");
        }
    }
    match consumer.commit(&list, mode) {
        Ok(()) => {
            pipeline.metrics.commits.inc();
        }
        Err(error) => {
            tracing::warn!("offset commit failed (retried next time): {error}");
            tracker.commit_failed(&positions);
        }
    }
}
