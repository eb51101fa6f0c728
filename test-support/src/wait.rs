//! Waiting on a condition until a deadline, instead of sleeping.
//!
//! A test that sleeps "long enough" is slow when the machine is idle and
//! flaky when it is busy. Every wait of the suites goes through here: it
//! probes the condition, returns as soon as it holds, and on timeout says what
//! it waited for and what it saw last, so a failure explains itself.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is probed unless a wait says otherwise.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What one probe of a condition saw: the awaited value, or why not yet.
///
/// `Option` says only "not yet"; a `Result`'s error is what was seen instead
/// (a status code, a count, an error message) and ends up in the timeout's
/// message.
pub trait Probe<T> {
    fn outcome(self) -> Result<T, String>;
}

impl<T> Probe<T> for Option<T> {
    fn outcome(self) -> Result<T, String> {
        self.ok_or_else(|| "not yet".to_owned())
    }
}

impl<T, E: Display> Probe<T> for Result<T, E> {
    fn outcome(self) -> Result<T, String> {
        self.map_err(|seen| seen.to_string())
    }
}

/// A condition that did not hold in time.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}; last seen: {last_seen}")]
pub struct TimedOut {
    pub what: String,
    pub timeout: Duration,
    pub last_seen: String,
}

/// One wait: what for, how long at most, how often to look.
#[derive(Debug, Clone)]
pub struct Wait {
    what: String,
    timeout: Duration,
    interval: Duration,
}

impl Wait {
    pub fn new(what: impl Into<String>, timeout: Duration) -> Wait {
        Wait {
            what: what.into(),
            timeout,
            interval: POLL_INTERVAL,
        }
    }

    /// Probes every `interval` instead of [`POLL_INTERVAL`] (for probes that
    /// cost something, like running nodetool).
    pub fn every(self, interval: Duration) -> Wait {
        Wait { interval, ..self }
    }

    /// Probes until the condition holds or the deadline passes.
    pub fn try_until<T, P: Probe<T>>(&self, mut probe: impl FnMut() -> P) -> Result<T, TimedOut> {
        let started = Instant::now();
        loop {
            let last_seen = match probe().outcome() {
                Ok(value) => return Ok(value),
                Err(seen) => seen,
            };
            let Some(pause) = self.pause(started) else {
                return Err(self.timed_out(last_seen));
            };
            std::thread::sleep(pause);
        }
    }

    /// [`Wait::try_until`], failing the test on timeout.
    #[track_caller]
    pub fn until<T, P: Probe<T>>(&self, probe: impl FnMut() -> P) -> T {
        self.try_until(probe)
            .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// The async form of [`Wait::try_until`], pausing on tokio's timer.
    pub async fn try_until_async<T, P: Probe<T>, F: Future<Output = P>>(
        &self,
        mut probe: impl FnMut() -> F,
    ) -> Result<T, TimedOut> {
        let started = Instant::now();
        loop {
            let last_seen = match probe().await.outcome() {
                Ok(value) => return Ok(value),
                Err(seen) => seen,
            };
            let Some(pause) = self.pause(started) else {
                return Err(self.timed_out(last_seen));
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// [`Wait::try_until_async`], failing the test on timeout.
    pub async fn until_async<T, P: Probe<T>, F: Future<Output = P>>(
        &self,
        probe: impl FnMut() -> F,
    ) -> T {
        self.try_until_async(probe)
            .await
            .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// How long to pause before the next probe; `None` once the deadline has passed.
    fn pause(&self, started: Instant) -> Option<Duration> {
        let remaining = self.timeout.checked_sub(started.elapsed())?;
        (!remaining.is_zero()).then(|| remaining.min(self.interval))
    }

    fn timed_out(&self, last_seen: String) -> TimedOut {
        TimedOut {
            what: self.what.clone(),
            timeout: self.timeout,
            last_seen,
        }
    }
}

/// Waits until `probe` gives a value, or fails the test after `timeout` with
/// `what` and the last thing the probe saw.
#[track_caller]
pub fn wait_for<T, P: Probe<T>>(what: &str, timeout: Duration, probe: impl FnMut() -> P) -> T {
    Wait::new(what, timeout).until(probe)
}

/// The async form of [`wait_for`].
pub async fn wait_for_async<T, P: Probe<T>, F: Future<Output = P>>(
    what: &str,
    timeout: Duration,
    probe: impl FnMut() -> F,
) -> T {
    Wait::new(what, timeout).until_async(probe).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_as_soon_as_the_condition_holds() {
        let mut probes = 0;
        let value = wait_for("the third probe", Duration::from_secs(5), || {
            probes += 1;
            (probes == 3).then_some(probes * 10)
        });
        assert_eq!(value, 30);
    }

    #[test]
    fn a_timeout_names_what_was_awaited_and_the_last_state_seen() {
        let mut probes = 0;
        let timed_out = Wait::new("a count of 100", Duration::from_millis(250))
            .every(Duration::from_millis(50))
            .try_until(|| -> Result<(), String> {
                probes += 1;
                Err(format!("count {probes}"))
            })
            .expect_err("never holds");
        assert_eq!(timed_out.what, "a count of 100");
        assert_eq!(timed_out.last_seen, format!("count {probes}"));
        assert!(probes >= 3, "probed {probes} times");
        let message = timed_out.to_string();
        assert!(
            message.contains("a count of 100") && message.contains(&format!("count {probes}")),
            "{message}"
        );
    }

    #[test]
    #[should_panic(expected = "waiting for nothing; last seen: not yet")]
    fn wait_for_fails_the_test_on_timeout() {
        wait_for("nothing", Duration::from_millis(50), || None::<()>);
    }

    #[tokio::test]
    async fn the_async_form_waits_on_futures() {
        let mut probes = 0;
        let value = wait_for_async("the second probe", Duration::from_secs(5), || {
            probes += 1;
            let done = probes == 2;
            async move { done.then_some("done") }
        })
        .await;
        assert_eq!(value, "done");
    }
}
