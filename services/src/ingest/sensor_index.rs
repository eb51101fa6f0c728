//! Keeping `sensors` (each sensor's latest reading) up to date with few writes.
//!
//! Every reading must be reflected in `sensors` before its offset is committed,
//! but one upsert per reading would double ingest's write load for a row that
//! only keeps the newest value. So per sensor at most one upsert is in flight;
//! readings arriving meanwhile wait for the next upsert, which carries the
//! newest of them. Because the upsert's write time is the reading time, the
//! newest reading is the one Cassandra keeps anyway, so a reading is covered
//! as soon as an upsert at least as new as it succeeded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::ingest::Abandoned;
use crate::ingest::writer::Writer;
use crate::reading::Reading;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct SensorSlot {
    /// Newest reading time (ms) an upsert succeeded with.
    written: Option<i64>,
    /// Reading time of the upsert in flight, if any.
    in_flight: Option<i64>,
    /// Newest reading waiting for the next upsert.
    next: Option<Reading>,
    /// Readings waiting to be covered, with their time.
    waiters: Vec<(i64, oneshot::Sender<()>)>,
}

impl SensorSlot {
    fn newest_known(&self) -> Option<i64> {
        let next = self.next.as_ref().map(Reading::timestamp_millis);
        self.written.max(self.in_flight).max(next)
    }
}

/// What the caller must do after registering a reading.
enum Registration {
    Covered,
    Wait(oneshot::Receiver<()>, Option<Reading>),
}

/// Coalescing upserter of `sensors`.
#[derive(Clone)]
pub struct SensorIndex {
    slots: Arc<Mutex<HashMap<String, SensorSlot>>>,
    writer: Arc<Writer>,
}

impl SensorIndex {
    pub fn new(writer: Arc<Writer>) -> Self {
        SensorIndex {
            slots: Arc::default(),
            writer,
        }
    }

    /// Returns once `sensors` holds this reading or a newer one of its sensor.
    pub async fn cover(
        &self,
        reading: &Reading,
        give_up: &CancellationToken,
    ) -> Result<(), Abandoned> {
        let (covered, start) = match self.register(reading) {
            Registration::Covered => return Ok(()),
            Registration::Wait(covered, start) => (covered, start),
        };
        if let Some(first) = start {
            tokio::spawn(self.clone().drive(first, give_up.clone()));
        }
        tokio::select! {
            result = covered => result.map_err(|_| Abandoned),
            _ = give_up.cancelled() => Err(Abandoned),
        }
    }

    fn register(&self, reading: &Reading) -> Registration {
        let time = reading.timestamp_millis();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(reading.sensor_id.clone()).or_default();
        if slot.written.is_some_and(|w| w >= time) {
            return Registration::Covered;
        }
        let (sender, receiver) = oneshot::channel();
        slot.waiters.push((time, sender));
        if slot.newest_known().is_none_or(|newest| time > newest) {
            slot.next = Some(reading.clone());
        }
        let start = if slot.in_flight.is_none() {
            let first = slot.next.take();
            slot.in_flight = first.as_ref().map(Reading::timestamp_millis);
            first
        } else {
            None
        };
        Registration::Wait(receiver, start)
    }

    /// Upserts `first`, then whatever newer reading queued meanwhile, until none is left.
    async fn drive(self, first: Reading, give_up: CancellationToken) {
        let mut current = first;
        loop {
            if self.writer.upsert_sensor(&current, &give_up).await.is_err() {
                // Shutdown: waiters see their sender dropped (or shutdown) and give up.
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(slot) = slots.get_mut(&current.sensor_id) {
                    slot.in_flight = None;
                    slot.waiters.clear();
                }
                return;
            }
            let time = current.timestamp_millis();
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(slot) = slots.get_mut(&current.sensor_id) else {
                return;
            };
            slot.written = slot.written.max(Some(time));
            let written = slot.written.unwrap_or(time);
            let (covered, waiting): (Vec<_>, Vec<_>) =
                slot.waiters.drain(..).partition(|(t, _)| *t <= written);
            slot.waiters = waiting;
            for (_, sender) in covered {
                let _ = sender.send(());
            }
            match slot.next.take() {
                Some(next) => {
                    slot.in_flight = Some(next.timestamp_millis());
                    current = next;
                }
                None => {
                    slot.in_flight = None;
                    return;
                }
            }
        }
    }
}
