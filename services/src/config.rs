//! What the services make of their settings.
//!
//! The flags themselves (names, environment variables, lab defaults) are the
//! contract's ([`contract::args`]), shared with whoever starts the services;
//! here they become the services' own settings: Cassandra session options,
//! the consistency levels of the driver, the TCP listeners, and logging.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::time::Duration;

use contract::args::{CassandraArgs, Consistency};
use scylla::statement::Consistency as DriverConsistency;

use crate::cassandra::SessionOptions;

/// Session options tuned for failover, with these settings applied.
pub fn session_options(args: &CassandraArgs) -> SessionOptions {
    let mut options = SessionOptions::new(args.contact_points());
    options.request_timeout = Duration::from_millis(args.request_timeout_ms.max(1));
    options.speculative_delay =
        (args.speculative_delay_ms > 0).then(|| Duration::from_millis(args.speculative_delay_ms));
    options
}

/// The driver's value of a consistency level.
pub fn driver_consistency(level: Consistency) -> DriverConsistency {
    match level {
        Consistency::Any => DriverConsistency::Any,
        Consistency::One => DriverConsistency::One,
        Consistency::Two => DriverConsistency::Two,
        Consistency::Three => DriverConsistency::Three,
        Consistency::Quorum => DriverConsistency::Quorum,
        Consistency::All => DriverConsistency::All,
        Consistency::LocalQuorum => DriverConsistency::LocalQuorum,
        Consistency::EachQuorum => DriverConsistency::EachQuorum,
        Consistency::LocalOne => DriverConsistency::LocalOne,
    }
}

/// The TCP listener a service serves on: the one inherited as `fd` when the
/// parent bound it (`--listen-fd`, `--metrics-fd`), else a new one on `address`.
pub async fn listener(
    address: SocketAddr,
    fd: Option<RawFd>,
) -> std::io::Result<tokio::net::TcpListener> {
    match fd {
        Some(fd) => inherited_listener(fd),
        None => tokio::net::TcpListener::bind(address).await,
    }
}

fn inherited_listener(fd: RawFd) -> std::io::Result<tokio::net::TcpListener> {
    if fd <= 2 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("file descriptor {fd} is standard input, output or error, not a listener"),
        ));
    }
    // SAFETY: the flag hands descriptor `fd` to this process to own, as
    // socket activation does; nothing else in the process opens or uses it.
    // One that is not open or not a socket fails `local_addr` below, and is
    // then closed with the listener: it was ours to close.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    listener.local_addr().map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("file descriptor {fd} is not a bound socket: {error}"),
        )
    })?;
    listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(listener)
}

/// Logs to stderr; `RUST_LOG` filters (default: info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    #[tokio::test]
    async fn an_inherited_listener_is_served_as_is() {
        let bound = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = bound.local_addr().unwrap();
        let fd = bound.into_raw_fd();
        // The address is only reported: the descriptor wins.
        let unused: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let listener = listener(unused, Some(fd)).await.unwrap();
        assert_eq!(listener.local_addr().unwrap(), address);
        let (connected, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(address), listener.accept());
        assert!(connected.is_ok() && accepted.is_ok());
    }

    #[tokio::test]
    async fn standard_streams_are_not_listeners() {
        let unused: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for fd in [0, 1, 2, -1] {
            assert!(listener(unused, Some(fd)).await.is_err(), "{fd}");
        }
    }

    #[test]
    fn every_level_has_its_driver_value() {
        for level in Consistency::ALL_LEVELS {
            assert_eq!(
                format!("{:?}", driver_consistency(level)).to_uppercase(),
                level.name().replace('_', "")
            );
        }
    }
}
