//! Exponential backoff with jitter, for retrying what a fault made fail.
//!
//! When two Cassandra nodes are down, or Kafka is unreachable, the services
//! retry forever (dropping a reading is not an option) but must neither spin
//! nor flood the logs; doubling delays with a cap do that, and jitter keeps
//! many in-flight writes from retrying in lockstep.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            next: initial,
            attempts: 0,
        }
    }

    /// The delay before the next attempt, without jitter; doubles each call up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        self.attempts += 1;
        delay
    }

    /// [`Backoff::next_delay`] spread uniformly over ±25%.
    pub fn next_jittered(&mut self) -> Duration {
        let delay = self.next_delay();
        let factor = rand::rng().random_range(0.75..=1.25);
        delay.mul_f64(factor)
    }

    /// Sleeps [`Backoff::next_jittered`]; `None` if `stop` is cancelled first,
    /// so that a retry loop gives up at once (`backoff.sleep(&stop).await?`).
    pub async fn sleep(&mut self, stop: &CancellationToken) -> Option<()> {
        stop.run_until_cancelled(tokio::time::sleep(self.next_jittered()))
            .await
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After a success: start again from the initial delay.
    pub fn reset(&mut self) {
        self.next = self.initial;
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 500, 500]);
        assert_eq!(b.attempts(), 5);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn sleep_waits_the_delay_unless_stopped() {
        let mut b = Backoff::new(Duration::from_millis(20), Duration::from_millis(20));
        let stop = CancellationToken::new();
        let started = std::time::Instant::now();
        assert_eq!(b.sleep(&stop).await, Some(()));
        assert!(started.elapsed() >= Duration::from_millis(15));
        stop.cancel();
        let mut long = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
        let stopped = tokio::time::timeout(Duration::from_secs(5), long.sleep(&stop)).await;
        assert_eq!(stopped, Ok(None));
        assert_eq!(long.attempts(), 1);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let mut b = Backoff::new(Duration::from_millis(1000), Duration::from_millis(1000));
        for _ in 0..100 {
            let d = b.next_jittered().as_millis();
            assert!((750..=1250).contains(&d), "{d}");
        }
    }
}
