//! Can ingest consume? The answer behind `GET /health` and the
//! `ingest_kafka_consuming` gauges.
//!
//! A live process with a metrics endpoint proves nothing: after a broker
//! restart ingest once sat for minutes with no partition assigned while every
//! probe said it was fine. So the consumer's own facts are gathered here (the
//! rebalances it went through, the errors librdkafka reported, what its
//! statistics say about the broker and the backlog, when a message last
//! arrived) and judged into one verdict with a reason: ingest either consumes,
//! or says why it cannot. The judgement is a pure function of those facts and
//! the time, so it is unit-tested without a broker.

use std::time::{Duration, Instant};

use rdkafka::Statistics;

/// After this long without a message while Kafka holds some for ingest and
/// ingest is waiting for them, consumption counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(10);

/// Why ingest is not consuming. The code is the metric label and the start of
/// the reason `/health` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotConsuming {
    /// No broker answers (connection refused, all brokers down).
    KafkaUnreachable(String),
    /// The group gave this consumer no partition (yet): joining, rebalancing,
    /// or the assignment was revoked after a session timeout.
    NoPartitions(String),
    /// Partitions assigned and messages waiting in Kafka, but none arrives.
    Stalled(String),
}

impl NotConsuming {
    /// Every code, for the metric family (each exported, at 0 or 1).
    pub const CODES: [&'static str; 3] = ["kafka_unreachable", "no_partitions", "stalled"];

    pub fn code(&self) -> &'static str {
        match self {
            NotConsuming::KafkaUnreachable(_) => "kafka_unreachable",
            NotConsuming::NoPartitions(_) => "no_partitions",
            NotConsuming::Stalled(_) => "stalled",
        }
    }

    fn detail(&self) -> &str {
        match self {
            NotConsuming::KafkaUnreachable(detail)
            | NotConsuming::NoPartitions(detail)
            | NotConsuming::Stalled(detail) => detail,
        }
    }
}

impl std::fmt::Display for NotConsuming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not consuming: {}: {}", self.code(), self.detail())
    }
}

/// What is known about the consumer, updated as facts arrive.
#[derive(Debug)]
pub struct ConsumerFacts {
    /// Partitions currently assigned; `None` before the first assignment.
    assigned: Option<usize>,
    /// When `assigned` last changed (or ingest started).
    assignment_since: Instant,
    /// The last connection-level error, kept until Kafka shows life again.
    kafka_error: Option<String>,
    /// Messages in Kafka beyond what this consumer fetched, from statistics.
    backlog: i64,
    /// When the last message arrived.
    last_message: Option<Instant>,
    /// Since when the receive loop has been waiting for Kafka (a write slot
    /// free, nothing delivered); `None` while it waits for Cassandra instead.
    waiting_since: Option<Instant>,
}

impl ConsumerFacts {
    pub fn new(now: Instant) -> Self {
        ConsumerFacts {
            assigned: None,
            assignment_since: now,
            kafka_error: None,
            backlog: 0,
            last_message: None,
            waiting_since: None,
        }
    }

    /// The group assigned `partitions` partitions (0 after a revocation).
    pub fn assigned(&mut self, partitions: usize, now: Instant) {
        if self.assigned != Some(partitions) {
            self.assigned = Some(partitions);
            self.assignment_since = now;
        }
        if partitions > 0 {
            // An assignment is an answer from the group coordinator.
            self.kafka_error = None;
        }
    }

    /// librdkafka reported that brokers cannot be reached.
    pub fn kafka_failed(&mut self, detail: String) {
        self.kafka_error = Some(detail);
    }

    /// A message arrived: Kafka answers and the loop is no longer waiting.
    pub fn message(&mut self, now: Instant) {
        self.last_message = Some(now);
        self.waiting_since = None;
        self.kafka_error = None;
    }

    /// The receive loop starts waiting for Kafka (it has a free write slot).
    pub fn waiting(&mut self, now: Instant) {
        self.waiting_since.get_or_insert(now);
    }

    /// The receive loop waits for Cassandra (no free write slot), not Kafka.
    pub fn not_waiting(&mut self) {
        self.waiting_since = None;
    }

    /// A statistics report: is a broker up, and what is left to fetch.
    pub fn statistics(&mut self, statistics: &Statistics, topic: &str) {
        let known: Vec<_> = statistics
            .brokers
            .values()
            .filter(|broker| broker.nodeid >= 0)
            .collect();
        if known.iter().any(|broker| broker.state == "UP") {
            self.kafka_error = None;
        } else if !known.is_empty() && self.kafka_error.is_none() {
            let states: Vec<String> = known
                .iter()
                .map(|broker| format!("{} {}", broker.nodename, broker.state))
                .collect();
            self.kafka_error = Some(format!("no broker up ({})", states.join(", ")));
        }
        self.backlog = statistics.topics.get(topic).map_or(0, |topic| {
            topic
                .partitions
                .values()
                .filter(|p| p.partition >= 0 && p.desired && p.hi_offset >= 0)
                .map(|p| (p.hi_offset - p.next_offset.max(0)).max(0))
                .sum()
        });
    }

    /// The verdict at `now`: `Ok` while ingest consumes (or has nothing to
    /// consume), else why not.
    pub fn verdict(&self, now: Instant) -> Result<(), NotConsuming> {
        if let Some(error) = &self.kafka_error {
            return Err(NotConsuming::KafkaUnreachable(error.clone()));
        }
        match self.assigned {
            None => {
                return Err(NotConsuming::NoPartitions(format!(
                    "waiting for the consumer group to assign partitions ({}s)",
                    now.duration_since(self.assignment_since).as_secs()
                )));
            }
            Some(0) => {
                return Err(NotConsuming::NoPartitions(format!(
                    "no partition assigned for {}s (revoked, rejoining the group)",
                    now.duration_since(self.assignment_since).as_secs()
                )));
            }
            Some(_) => {}
        }
        let waited = self
            .waiting_since
            .map(|since| now.duration_since(since))
            .unwrap_or_default();
        if self.backlog > 0 && waited >= STALL_AFTER {
            return Err(NotConsuming::Stalled(format!(
                "{} messages waiting in Kafka, none received for {}s",
                self.backlog,
                waited.as_secs()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(json: &str) -> Statistics {
        serde_json::from_str(json).expect("statistics")
    }

    /// A librdkafka statistics report with one broker and one partition.
    fn report(broker_state: &str, hi_offset: i64, next_offset: i64) -> Statistics {
        let mut value: serde_json::Value =
            serde_json::from_str(include_str!("testdata/consumer-statistics.json"))
                .expect("fixture");
        value["brokers"]["127.0.0.1:9092/1"]["state"] = broker_state.into();
        let partition = &mut value["topics"]["readings"]["partitions"]["0"];
        partition["hi_offset"] = hi_offset.into();
        partition["next_offset"] = next_offset.into();
        stats(&value.to_string())
    }

    /// A consumer the group just gave six partitions, and the moment it did.
    fn consuming_six_partitions() -> (Instant, ConsumerFacts) {
        let start = Instant::now();
        let mut facts = ConsumerFacts::new(start);
        facts.assigned(6, start);
        (start, facts)
    }

    #[test]
    fn not_healthy_until_the_group_assigns_partitions() {
        let start = Instant::now();
        let mut facts = ConsumerFacts::new(start);
        let verdict = facts.verdict(start + Duration::from_secs(2));
        assert!(
            matches!(&verdict, Err(NotConsuming::NoPartitions(why)) if why.contains("(2s)")),
            "{verdict:?}"
        );
        facts.assigned(6, start + Duration::from_secs(3));
        assert_eq!(facts.verdict(start + Duration::from_secs(4)), Ok(()));
    }

    #[test]
    fn a_broker_failure_is_reported_until_kafka_shows_life() {
        let (start, mut facts) = consuming_six_partitions();
        facts.kafka_failed("all brokers down".into());
        let verdict = facts.verdict(start).unwrap_err();
        assert_eq!(verdict.code(), "kafka_unreachable");
        assert_eq!(
            verdict.to_string(),
            "not consuming: kafka_unreachable: all brokers down"
        );
        // Statistics that still see the broker down keep the first reason.
        facts.statistics(&report("DOWN", 10, 10), "readings");
        assert_eq!(
            facts.verdict(start).unwrap_err(),
            NotConsuming::KafkaUnreachable("all brokers down".into())
        );
        facts.statistics(&report("UP", 10, 10), "readings");
        assert_eq!(facts.verdict(start), Ok(()));
    }

    #[test]
    fn statistics_alone_tell_that_no_broker_is_up() {
        let (start, mut facts) = consuming_six_partitions();
        facts.statistics(&report("CONNECT", 10, 10), "readings");
        let verdict = facts.verdict(start).unwrap_err();
        assert_eq!(
            verdict,
            NotConsuming::KafkaUnreachable("no broker up (127.0.0.1:9092 CONNECT)".into())
        );
        facts.message(start);
        assert_eq!(facts.verdict(start), Ok(()));
    }

    #[test]
    fn a_revocation_is_not_healthy_and_a_new_assignment_is() {
        let (start, mut facts) = consuming_six_partitions();
        facts.assigned(0, start + Duration::from_secs(20));
        let verdict = facts.verdict(start + Duration::from_secs(25)).unwrap_err();
        assert_eq!(verdict.code(), "no_partitions");
        assert!(verdict.to_string().contains("for 5s"), "{verdict}");
        facts.assigned(6, start + Duration::from_secs(30));
        assert_eq!(facts.verdict(start + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn waiting_long_for_messages_kafka_holds_is_a_stall() {
        let (start, mut facts) = consuming_six_partitions();
        facts.statistics(&report("UP", 500, 100), "readings");
        facts.waiting(start);
        facts.waiting(start + Duration::from_secs(5)); // still the same wait
        assert_eq!(facts.verdict(start + Duration::from_secs(9)), Ok(()));
        let verdict = facts.verdict(start + STALL_AFTER).unwrap_err();
        assert_eq!(
            verdict,
            NotConsuming::Stalled("400 messages waiting in Kafka, none received for 10s".into())
        );
        facts.message(start + STALL_AFTER);
        assert_eq!(facts.verdict(start + STALL_AFTER * 2), Ok(()));
    }

    #[test]
    fn an_idle_topic_or_a_wait_for_cassandra_is_no_stall() {
        let (start, mut facts) = consuming_six_partitions();
        facts.waiting(start);
        facts.statistics(&report("UP", 100, 100), "readings");
        assert_eq!(facts.verdict(start + STALL_AFTER * 3), Ok(()));
        // Backlog, but the loop waits for a write slot (Cassandra), not Kafka.
        facts.statistics(&report("UP", 500, 100), "readings");
        facts.not_waiting();
        assert_eq!(facts.verdict(start + STALL_AFTER * 3), Ok(()));
    }
}
