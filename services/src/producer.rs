//! Producer: simulated sensors → Kafka `sensor-readings`, durably.
//!
//! Readings are generated at a steady rate (or as fast as Kafka takes them
//! with `--max-rate`), keyed by sensor id, sent with `acks=all` and
//! idempotence. Each acknowledged reading is appended to the ledger with its
//! partition and offset; a reading Kafka does not acknowledge is retried, and
//! said so, never dropped silently. The run ends with a count of sent,
//! acknowledged and failed readings, printed and appended next to the ledger.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use contract::args::ProducerArgs;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::kafka::durable_producer_config;
use crate::ledger::{self, LedgerEntry, LedgerError, LedgerWriter, RunSummary};
use crate::reading::Reading;
use crate::shutdown;
use crate::simulate::Fleet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error("cannot create Kafka producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("invalid settings: {0}")]
    Settings(&'static str),
}

#[derive(Default)]
struct Counts {
    acknowledged: AtomicU64,
    /// Readings currently being retried after a Kafka error (for once-only logging).
    retrying: AtomicU64,
}

struct Delivery {
    producer: FutureProducer,
    topic: String,
    ledger: Option<Mutex<LedgerWriter>>,
    counts: Counts,
}

/// Runs until `--count`, `--duration` or SIGTERM/SIGINT, then waits for the
/// acknowledgements and returns the counts.
pub async fn run(args: ProducerArgs) -> Result<RunSummary, ProducerError> {
    if args.sensors == 0 {
        return Err(ProducerError::Settings("--sensors must be at least 1"));
    }
    let rate_is_valid = args.rate.is_finite() && args.rate > 0.0;
    if !args.max_rate && !rate_is_valid {
        return Err(ProducerError::Settings("--rate must be a positive number"));
    }
    let stop = shutdown::on_signals().map_err(ProducerError::Signals)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut fleet = Fleet::new(&args.sensor_prefix, args.sensors, seed);
    let producer: FutureProducer =
        durable_producer_config(&args.kafka.bootstrap, Duration::from_secs(10)).create()?;
    let ledger = match &args.ledger {
        Some(path) => Some(Mutex::new(LedgerWriter::open(path)?)),
        None => None,
    };
    let delivery = Arc::new(Delivery {
        producer,
        topic: args.kafka.topic.clone(),
        ledger,
        counts: Counts::default(),
    });
    tracing::info!(
        "producing {} sensors ({}{:02}..) to {} at {}, seed {seed}",
        args.sensors,
        args.sensor_prefix,
        1,
        args.kafka.topic,
        if args.max_rate {
            "max rate".to_owned()
        } else {
            format!("{} readings/s each", args.rate)
        }
    );

    let flusher = tokio::spawn(flush_ledger_periodically(delivery.clone(), stop.clone()));
    let max_in_flight = args.max_in_flight.max(1);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let give_up = CancellationToken::new();

    let sent = generate(&args, &mut fleet, &delivery, &slots, &stop, &give_up).await;

    let drain = Duration::from_secs(args.drain_timeout_secs);
    let all_slots = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all_slots))
        .await
        .is_err()
    {
        tracing::error!("readings still unacknowledged after {drain:?}: counting them as failed");
        give_up.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), slots.acquire_many(all_slots)).await;
    }
    flusher.abort();
    if let Some(ledger) = &delivery.ledger {
        ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()?;
    }
    let acknowledged = delivery.counts.acknowledged.load(Ordering::Relaxed);
    let summary = RunSummary {
        sent,
        acknowledged,
        // Every reading not acknowledged, whatever stopped it.
        failed: sent.saturating_sub(acknowledged),
    };
    if let Some(path) = &args.ledger {
        ledger::append_summary(path, &summary)?;
    }
    Ok(summary)
}

/// Generates readings on schedule and hands each to a delivery task; returns how many.
async fn generate(
    args: &ProducerArgs,
    fleet: &mut Fleet,
    delivery: &Arc<Delivery>,
    slots: &Arc<Semaphore>,
    stop: &CancellationToken,
    give_up: &CancellationToken,
) -> u64 {
    let started = Instant::now();
    let deadline = args
        .duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| started + Duration::from_secs_f64(d));
    let interval =
        (!args.max_rate).then(|| Duration::from_secs_f64(1.0 / (args.rate * args.sensors as f64)));
    let mut sent = 0u64;
    loop {
        if args.count.is_some_and(|count| sent >= count) || stop.is_cancelled() {
            break;
        }
        if let Some(interval) = interval {
            let due = started + interval.mul_f64(sent as f64);
            if deadline.is_some_and(|deadline| due >= deadline) {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = stop.cancelled() => break,
            }
        } else if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = stop.cancelled() => break,
        };
        let Ok(slot) = slot else { break };
        let Some(reading) = fleet.next_reading(sent as usize % fleet.len(), Utc::now()) else {
            break;
        };
        sent += 1;
        let delivery = delivery.clone();
        let give_up = give_up.clone();
        tokio::spawn(async move {
            delivery.deliver(reading, &give_up).await;
            drop(slot);
        });
    }
    sent
}

impl Delivery {
    /// Sends until Kafka acknowledges (ledger entry written) or give-up.
    async fn deliver(&self, reading: Reading, give_up: &CancellationToken) {
        let payload = reading.to_json();
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
        let mut retrying = false;
        loop {
            let record = FutureRecord::to(&self.topic)
                .key(reading.sensor_id.as_str())
                .payload(payload.as_str());
            let outcome = tokio::select! {
                result = self.producer.send(record, Duration::from_secs(5)) => Some(result),
                _ = give_up.cancelled() => None,
            };
            let Some(result) = outcome else {
                tracing::error!("reading never acknowledged by Kafka: {payload}");
                return;
            };
            match result {
                Ok(delivered) => {
                    self.counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                    if retrying && self.counts.retrying.fetch_sub(1, Ordering::Relaxed) == 1 {
                        tracing::info!("Kafka acknowledges again");
                    }
                    if let Some(ledger) = &self.ledger {
                        let entry =
                            LedgerEntry::new(&reading, delivered.partition, delivered.offset);
                        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
                        if let Err(error) = ledger.append(&entry) {
                            tracing::error!(
                                "acknowledged reading missing from the ledger: {error}: {entry:?}"
                            );
                        }
                    }
                    return;
                }
                Err((error, _)) => {
                    if !retrying {
                        retrying = true;
                        if self.counts.retrying.fetch_add(1, Ordering::Relaxed) == 0 {
                            tracing::warn!(
                                "Kafka did not acknowledge a reading ({error}); retrying until it does"
                            );
                        }
                    }
                    if matches!(
                        error,
                        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
                    ) {
                        tracing::debug!("producer queue full");
                    }
                }
            }
            // On give-up the next send is abandoned at once.
            backoff.sleep(give_up).await;
        }
    }
}

/// Makes acknowledged readings visible in the ledger file within 200 ms.
async fn flush_ledger_periodically(delivery: Arc<Delivery>, stop: CancellationToken) {
    let Some(ledger) = &delivery.ledger else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(error) = ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
        {
            tracing::error!("{error}");
        }
    }
}
