//! Graceful stop on SIGTERM / SIGINT.
//!
//! `demo services down` and Ctrl-C both ask a service to stop; each service
//! then finishes what is in flight (ingest commits what Cassandra accepted,
//! the producer waits for Kafka's acknowledgements) instead of dying mid-write.
//! The request travels as a [`CancellationToken`]: cloned into every task that
//! must notice it, checked with `is_cancelled`, awaited with `cancelled`.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn on_signals() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: finishing what is in flight, then stopping");
        trigger.cancel();
    });
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nix::sys::signal::{Signal, raise};

    use super::*;

    #[tokio::test]
    async fn sigterm_cancels_the_token() {
        let stop = on_signals().expect("signal handlers");
        assert!(!stop.is_cancelled());
        // The handlers installed above stay for the life of the test process,
        // so the signal reaches them instead of ending it.
        raise(Signal::SIGTERM).expect("raise SIGTERM");
        tokio::time::timeout(Duration::from_secs(5), stop.cancelled())
            .await
            .expect("token cancelled within 5 s of SIGTERM");
    }
}
