//! Listeners bound before a service starts, so no test races for a port.
//!
//! Picking a "free" port (bind port 0, read it, release it) and passing the
//! number to a child leaves a window in which any other process may take the
//! port. Instead the test binds the listener itself and the child inherits the
//! bound socket as a file descriptor (`--listen-fd N`, `--metrics-fd N`): the
//! port is the test's from the first instant, and its number is known before
//! the child starts.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};

/// A TCP listener on an ephemeral loopback port, to be handed to a child
/// process by [`crate::Service::spawn`].
#[derive(Debug)]
pub struct BoundListener {
    listener: TcpListener,
    address: SocketAddr,
}

impl BoundListener {
    /// Binds 127.0.0.1 on a port the kernel chooses.
    #[track_caller]
    pub fn loopback() -> BoundListener {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot bind a loopback listener: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("a bound listener has an address: {e}"));
        BoundListener { listener, address }
    }

    /// Where it listens (what the service reports and the test connects to).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://<address>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The descriptor's number, which the child inherits unchanged: the value
    /// of its `--listen-fd` / `--metrics-fd`.
    pub fn fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }
}

/// A loopback port that nothing listened on a moment ago.
///
/// Only for programs that cannot take an inherited listener and bind the
/// address themselves: the private sshd of the SSH tests, and `demo services
/// up` (the conductor binds its services' addresses from the inventory). The
/// port is released before the program binds it, so another process may take
/// it meanwhile: callers retry with a fresh port when the program reports it
/// could not bind. Everything that can take a listener uses [`BoundListener`].
#[track_caller]
pub fn released_port() -> u16 {
    BoundListener::loopback().address().port()
}
