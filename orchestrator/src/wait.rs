//! One way to wait for a condition until a deadline.
//!
//! The conductor waits a lot: for a port to open, a node to be seen UN or
//! down, a service to answer its health check, a process to exit. Each wait
//! polls a probe at a fixed interval and gives up after a timeout, reporting
//! what it saw last, so no wait can hang and every failure says why. This
//! module is that loop, written once.
//!
//! A probe returns [`ControlFlow::Break`] with the outcome when the wait is
//! over (which may itself be a failure the probe detected, e.g. a process
//! that exited), or [`ControlFlow::Continue`] with what it observed when the
//! condition does not hold yet. A probe still running at the deadline is
//! dropped (cancelled).

use std::future::Future;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// The condition did not hold within the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut<Seen> {
    /// How long the wait lasted.
    pub waited: Duration,
    /// What the last completed probe observed (`None` when none completed).
    pub last: Option<Seen>,
}

/// Calls `probe` every `interval` until it breaks, for at most `timeout`.
pub async fn until<Outcome, Seen, Probe, Fut>(
    timeout: Duration,
    interval: Duration,
    mut probe: Probe,
) -> Result<Outcome, TimedOut<Seen>>
where
    Probe: FnMut() -> Fut,
    Fut: Future<Output = ControlFlow<Outcome, Seen>>,
{
    let started = Instant::now();
    let mut last = None;
    let polling = async {
        loop {
            match probe().await {
                ControlFlow::Break(outcome) => return outcome,
                ControlFlow::Continue(seen) => last = Some(seen),
            }
            tokio::time::sleep(interval).await;
        }
    };
    let outcome = tokio::time::timeout(timeout, polling).await;
    outcome.map_err(|_elapsed| TimedOut {
        waited: started.elapsed(),
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn returns_the_outcome_once_the_probe_breaks() {
        let calls = Cell::new(0);
        let outcome: Result<&str, TimedOut<u32>> =
            until(Duration::from_secs(5), Duration::from_millis(1), || async {
                calls.set(calls.get() + 1);
                if calls.get() == 3 {
                    ControlFlow::Break("ready")
                } else {
                    ControlFlow::Continue(calls.get())
                }
            })
            .await;
        assert_eq!(outcome, Ok("ready"));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_observation() {
        let calls = Cell::new(0u32);
        let outcome: Result<(), TimedOut<u32>> = until(
            Duration::from_millis(60),
            Duration::from_millis(5),
            || async {
                calls.set(calls.get() + 1);
                ControlFlow::Continue(calls.get())
            },
        )
        .await;
        let timed_out = outcome.expect_err("the condition never holds");
        assert!(timed_out.waited >= Duration::from_millis(60));
        assert!(
            timed_out.last.is_some_and(|last| last >= 2),
            "{timed_out:?}"
        );
    }

    #[tokio::test]
    async fn a_probe_that_hangs_is_cut_at_the_deadline() {
        let outcome: Result<(), TimedOut<()>> =
            until(Duration::from_millis(50), Duration::from_millis(1), || {
                std::future::pending::<ControlFlow<(), ()>>()
            })
            .await;
        let timed_out = outcome.expect_err("a pending probe never breaks");
        assert_eq!(timed_out.last, None);
        assert!(timed_out.waited < Duration::from_secs(5));
    }
}
