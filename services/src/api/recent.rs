//! Each sensor's newest readings, read once from Cassandra and shared by the
//! history requests that arrive meanwhile.
//!
//! Every viewer of the dashboard asks each second for each curve's last
//! seconds, and a load test asks for the same 300 rows from 32 clients at
//! once. Answering each request with its own QUORUM read makes two replicas
//! read and merge the same rows again and again: on the lab's two cores the
//! three JVMs saturate at a few hundred requests per second and the tail
//! latency climbs to hundreds of milliseconds. So the API keeps, per sensor,
//! the newest readings of one read (its "tail") and answers from it every
//! request it can answer exactly:
//!
//! - a tail younger than [`FRESH_FOR`] answers as it is;
//! - up to [`SERVE_FOR`] old, it answers and one refresh starts in the background;
//! - older, or none yet: the request waits for the refresh (one per sensor,
//!   shared by everyone waiting), so a lone viewer polling each second always
//!   gets a read made for it.
//!
//! A request whose window reaches further back than the tail reads Cassandra
//! itself. An answer is at most [`SERVE_FOR`] plus one read behind Cassandra,
//! and the API still reads nothing but Cassandra.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use contract::api::HistoryPoint;

use crate::api::params::{DEFAULT_HISTORY_LIMIT, HistoryQuery};
use crate::api::store::Store;
use crate::cassandra::QueryError;

/// Rows of a tail: the default history request is answered from it.
pub const TAIL_ROWS: i32 = DEFAULT_HISTORY_LIMIT;

/// A tail this young answers without any read.
pub const FRESH_FOR: Duration = Duration::from_millis(100);

/// A tail this old still answers while its refresh runs; older ones are waited for.
pub const SERVE_FOR: Duration = Duration::from_millis(250);

/// Sensors whose tails are kept at once; beyond, requests read Cassandra.
const MAX_TAILS: usize = 1024;

/// A tail not asked for in this long is dropped when room is needed.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// The newest readings of one sensor, as one read returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    /// Newest first.
    newest_first: Vec<HistoryPoint>,
    /// Each reading as the API's JSON, made once for every answer that shows it.
    json: Vec<String>,
    /// The read returned fewer rows than it asked for: this is the whole partition.
    whole: bool,
    /// The read fell back to consistency ONE.
    pub fell_back: bool,
}

impl Tail {
    /// `newest_first` as returned by a read that asked for `asked` rows.
    pub fn new(newest_first: Vec<HistoryPoint>, asked: i32, fell_back: bool) -> Tail {
        let whole = newest_first.len() < usize::try_from(asked).unwrap_or(usize::MAX);
        let json = newest_first
            .iter()
            // A time and a number always serialise; the fallback keeps this total.
            .map(|point| serde_json::to_string(point).unwrap_or_default())
            .collect();
        Tail {
            newest_first,
            json,
            whole,
            fell_back,
        }
    }

    /// Does the sensor have any reading?
    pub fn is_empty(&self) -> bool {
        self.newest_first.is_empty()
    }

    /// Where the answer to `query` lies in `newest_first`, when the tail holds
    /// all of it: every reading newer than the tail's oldest is in the tail,
    /// so its newest `limit` readings of the window are the partition's,
    /// provided there are `limit` of them or the window does not reach past
    /// the tail's oldest reading.
    fn window(&self, query: &HistoryQuery) -> Option<Range<usize>> {
        let limit = usize::try_from(query.limit).unwrap_or(0);
        // Newest first: those after `until` lead, those from `since` on follow.
        let start = self
            .newest_first
            .partition_point(|point| point.timestamp > query.until);
        let in_window_end = self
            .newest_first
            .partition_point(|point| point.timestamp >= query.since)
            .max(start);
        let end = in_window_end.min(start.saturating_add(limit));
        let holds_window = self.whole
            || self
                .newest_first
                .last()
                .is_some_and(|oldest| oldest.timestamp <= query.since);
        (end - start == limit || holds_window).then_some(start..end)
    }

    /// The answer to `query`, oldest first as the API returns it, if the tail holds it.
    pub fn answer(&self, query: &HistoryQuery) -> Option<Vec<HistoryPoint>> {
        self.window(query)
            .map(|range| self.newest_first[range].iter().rev().cloned().collect())
    }

    /// [`Tail::answer`] as the API's JSON array.
    pub fn answer_json(&self, query: &HistoryQuery) -> Option<String> {
        self.window(query).map(|range| {
            let points = &self.json[range];
            let mut body =
                String::with_capacity(2 + points.iter().map(|p| p.len() + 1).sum::<usize>());
            body.push('[');
            for (n, point) in points.iter().rev().enumerate() {
                if n > 0 {
                    body.push(',');
                }
                body.push_str(point);
            }
            body.push(']');
            body
        })
    }
}

/// Reads a sensor's tail from Cassandra.
pub type TailLoader =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<Tail, QueryError>> + Send + Sync>;

/// The loader of the running API: one read of `store` at its consistency.
pub fn loader(store: Arc<Store>) -> TailLoader {
    Arc::new(move |sensor_id: String| {
        let store = store.clone();
        async move {
            let read = store.tail(&sensor_id, TAIL_ROWS).await?;
            Ok(Tail::new(read.value, TAIL_ROWS, read.fell_back))
        }
        .boxed()
    })
}

/// A tail and when the read that made it started.
type Dated = (Instant, Arc<Tail>);

/// A refresh in flight; `None` when its read failed.
type Refresh = Shared<BoxFuture<'static, Option<Dated>>>;

#[derive(Default)]
struct Slot {
    tail: Option<Dated>,
    refresh: Option<Refresh>,
    last_asked: Option<Instant>,
}

/// The sensors' tails, refreshed on demand.
pub struct RecentHistory {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
    load: TailLoader,
}

/// What the tail of a sensor says about a request.
#[derive(Debug, Clone, PartialEq)]
pub struct FromTail {
    /// The answer's JSON array, oldest first.
    pub json: String,
    /// The window holds no reading.
    pub empty: bool,
    pub fell_back: bool,
    /// The sensor has readings (so an empty window is not an unknown sensor).
    pub known: bool,
}

impl RecentHistory {
    pub fn new(load: TailLoader) -> RecentHistory {
        RecentHistory {
            slots: Arc::default(),
            load,
        }
    }

    /// The answer to `query` from `sensor_id`'s tail, refreshing it first if
    /// it is too old; `None` when the tail cannot answer (the window reaches
    /// further back, the read failed, too many sensors): read Cassandra then.
    pub async fn answer(&self, sensor_id: &str, query: &HistoryQuery) -> Option<FromTail> {
        let refresh = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if !slots.contains_key(sensor_id) && !make_room(&mut slots) {
                return None;
            }
            let slot = slots.entry(sensor_id.to_owned()).or_default();
            slot.last_asked = Some(Instant::now());
            match slot.tail.clone() {
                Some((read_at, tail)) if read_at.elapsed() < FRESH_FOR => {
                    return from_tail(&tail, query);
                }
                Some((read_at, tail)) if read_at.elapsed() < SERVE_FOR => {
                    // Driven by its own task; this request does not wait for it.
                    drop(self.refresh(slot, sensor_id));
                    return from_tail(&tail, query);
                }
                _ => self.refresh(slot, sensor_id),
            }
        };
        let (_, tail) = refresh.await?;
        from_tail(&tail, query)
    }

    /// The slot's refresh in flight, started if there is none. A task drives
    /// it to the end and stores its tail, whoever waits for it or not.
    fn refresh(&self, slot: &mut Slot, sensor_id: &str) -> Refresh {
        if let Some(refresh) = &slot.refresh {
            return refresh.clone();
        }
        let read = (self.load)(sensor_id.to_owned());
        let refresh: Refresh = async move {
            let started = Instant::now();
            match read.await {
                Ok(tail) => Some((started, Arc::new(tail))),
                Err(error) => {
                    tracing::debug!("reading a sensor's recent history failed: {error}");
                    None
                }
            }
        }
        .boxed()
        .shared();
        slot.refresh = Some(refresh.clone());
        let (slots, id, driven) = (self.slots.clone(), sensor_id.to_owned(), refresh.clone());
        tokio::spawn(async move {
            let outcome = driven.await;
            let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = slots.get_mut(&id) {
                slot.refresh = None;
                if outcome.is_some() {
                    slot.tail = outcome;
                }
            }
        });
        refresh
    }
}

fn from_tail(tail: &Tail, query: &HistoryQuery) -> Option<FromTail> {
    tail.answer_json(query).map(|json| FromTail {
        empty: json == "[]",
        json,
        fell_back: tail.fell_back,
        known: !tail.is_empty(),
    })
}

/// Makes room for one more slot if needed by dropping idle ones; false if full.
fn make_room(slots: &mut HashMap<String, Slot>) -> bool {
    if slots.len() < MAX_TAILS {
        return true;
    }
    slots.retain(|_, slot| {
        slot.refresh.is_some() || slot.last_asked.is_some_and(|at| at.elapsed() < IDLE_FOR)
    });
    slots.len() < MAX_TAILS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{DateTime, TimeZone, Utc};

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap()
    }

    /// Readings at seconds `from..=to`, newest first.
    fn readings(from: i64, to: i64) -> Vec<HistoryPoint> {
        (from..=to)
            .rev()
            .map(|s| HistoryPoint {
                timestamp: at(s),
                value: s as f64,
            })
            .collect()
    }

    fn query(since: i64, until: i64, limit: i32) -> HistoryQuery {
        HistoryQuery {
            since: at(since),
            until: at(until),
            limit,
        }
    }

    fn seconds(points: &[HistoryPoint]) -> Vec<i64> {
        points
            .iter()
            .map(|p| p.timestamp.timestamp() - 1_800_000_000)
            .collect()
    }

    fn count(answer: &FromTail) -> usize {
        let points: Vec<serde_json::Value> = serde_json::from_str(&answer.json).unwrap();
        assert_eq!(answer.empty, points.is_empty());
        points.len()
    }

    #[test]
    fn the_json_answer_is_the_api_s_json_of_the_points() {
        let tail = Tail::new(readings(91, 100), 10, false);
        for q in [
            query(95, 200, 300),
            query(0, 98, 3),
            query(91, 91, 1),
            query(0, 95, 2),
        ] {
            let json = tail.answer_json(&q).unwrap();
            let expected = serde_json::to_string(&tail.answer(&q).unwrap()).unwrap();
            assert_eq!(json, expected);
        }
    }

    #[test]
    fn a_tail_answers_windows_it_holds_oldest_first() {
        // The 10 newest readings (91..=100) of a longer history.
        let tail = Tail::new(readings(91, 100), 10, false);
        let answer = tail.answer(&query(95, 200, 300)).unwrap();
        assert_eq!(seconds(&answer), vec![95, 96, 97, 98, 99, 100]);
        // The newest `limit` of a window that reaches further back: still exact.
        let answer = tail.answer(&query(0, 98, 3)).unwrap();
        assert_eq!(seconds(&answer), vec![96, 97, 98]);
    }

    #[test]
    fn a_tail_refuses_windows_reaching_past_its_oldest_reading() {
        let tail = Tail::new(readings(91, 100), 10, false);
        assert_eq!(tail.answer(&query(50, 200, 300)), None);
        assert_eq!(tail.answer(&query(0, 80, 5)), None);
        // Exactly from its oldest reading is fine.
        assert_eq!(
            seconds(&tail.answer(&query(91, 200, 300)).unwrap()).len(),
            10
        );
    }

    #[test]
    fn a_short_tail_is_the_whole_history() {
        let tail = Tail::new(readings(1, 5), 300, false);
        assert_eq!(
            seconds(&tail.answer(&query(-100, 200, 300)).unwrap()),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(tail.answer(&query(-100, 0, 300)), Some(vec![]));
        let empty = Tail::new(Vec::new(), 300, false);
        assert!(empty.is_empty());
        assert_eq!(empty.answer(&query(0, 10, 300)), Some(vec![]));
    }

    /// A loader that counts its reads and serves `readings(1, newest)`,
    /// `newest` growing by one per read, after `delay`.
    fn counting_loader(delay: Duration) -> (TailLoader, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let loader: TailLoader = Arc::new(move |_id| {
            let n = counter.fetch_add(1, Ordering::SeqCst) as i64 + 1;
            async move {
                tokio::time::sleep(delay).await;
                Ok(Tail::new(readings(1, 10 + n), 300, false))
            }
            .boxed()
        });
        (loader, reads)
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_read() {
        let (loader, reads) = counting_loader(Duration::from_millis(30));
        let recent = Arc::new(RecentHistory::new(loader));
        let answers = futures::future::join_all((0..32).map(|_| {
            let recent = recent.clone();
            async move { recent.answer("s", &query(0, 1000, 300)).await }
        }))
        .await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        for answer in answers {
            let answer = answer.unwrap();
            assert_eq!(count(&answer), 11);
            assert!(answer.known);
        }
    }

    #[tokio::test]
    async fn an_old_tail_is_refreshed_and_a_lone_poller_waits_for_fresh_data() {
        let (loader, reads) = counting_loader(Duration::from_millis(5));
        let recent = RecentHistory::new(loader);
        let first = recent.answer("s", &query(0, 1000, 300)).await.unwrap();
        assert_eq!(count(&first), 11);
        // Fresh: no read.
        let again = recent.answer("s", &query(0, 1000, 300)).await.unwrap();
        assert_eq!((count(&again), reads.load(Ordering::SeqCst)), (11, 1));
        // Between FRESH_FOR and SERVE_FOR: the old tail answers, a refresh starts.
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(20)).await;
        let served = recent.answer("s", &query(0, 1000, 300)).await.unwrap();
        assert_eq!(count(&served), 11);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        let refreshed = recent.answer("s", &query(0, 1000, 300)).await.unwrap();
        assert_eq!(count(&refreshed), 12);
        // Past SERVE_FOR: the request waits for a new read.
        tokio::time::sleep(SERVE_FOR + Duration::from_millis(20)).await;
        let waited = recent.answer("s", &query(0, 1000, 300)).await.unwrap();
        assert_eq!((count(&waited), reads.load(Ordering::SeqCst)), (13, 3));
    }

    #[tokio::test]
    async fn a_failed_read_sends_the_request_to_cassandra_and_is_retried_next_time() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let loader: TailLoader = Arc::new(move |_id| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(QueryError::Result("replica gone".into()))
                } else {
                    Ok(Tail::new(readings(1, 3), 300, true))
                }
            }
            .boxed()
        });
        let recent = RecentHistory::new(loader);
        assert_eq!(recent.answer("s", &query(0, 10, 300)).await, None);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let answer = recent.answer("s", &query(0, 10, 300)).await.unwrap();
        assert_eq!(count(&answer), 3);
        assert!(answer.fell_back);
    }
}
