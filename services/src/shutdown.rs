//! Graceful stop on SIGTERM / SIGINT.
//!
//! `demo services down` and Ctrl-C both ask a service to stop; each service
//! then finishes what is in flight (ingest commits what Cassandra accepted,
//! the producer waits for Kafka's acknowledgements) instead of dying mid-write.

use tokio::sync::watch;

/// A cloneable "has stop been requested?" flag that can also be awaited.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

/// The side that requests the stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// A new, not yet triggered, pair.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, requested) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { requested })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    pub fn is_requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once stop is requested (at once if it already was, or if the
    /// trigger was dropped, which means nobody can request it any more and
    /// the owner is gone).
    pub async fn requested(&self) {
        let mut requested = self.requested.clone();
        let _ = requested.wait_for(|stop| *stop).await;
    }
}

/// Triggers the returned [`Shutdown`] on the first SIGTERM or SIGINT.
pub fn on_signals() -> std::io::Result<Shutdown> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (trigger, shutdown) = channel();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: finishing what is in flight, then stopping");
        trigger.trigger();
    });
    Ok(shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_triggered() {
        let (trigger, shutdown) = channel();
        assert!(!shutdown.is_requested());
        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.requested().await }
        });
        trigger.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(shutdown.is_requested());
    }
}
