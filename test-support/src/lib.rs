//! Support shared by the integration tests of the services and the conductor.
//!
//! One copy of what every suite needs: the lab-wide fault lock, listeners bound
//! before a service starts (so no test races for a port), spawning the real
//! service binaries, and waiting on a condition until a deadline instead of
//! sleeping.

pub mod assert;
pub mod http;
pub mod listener;
pub mod lock;
pub mod service;
pub mod wait;

pub use assert::assert_contains;
pub use http::{
    Answer, metric_value, read_metric, wait_for_metric, wait_for_metric_at_least,
    wait_for_metric_to_be, wait_ok,
};
pub use listener::{BoundListener, released_port};
pub use lock::{FaultLock, LAB_FAULTS_LOCK, VIRTUAL_PCS_LOCK};
pub use service::{Ran, Service, run_bounded};
pub use wait::{Probe, TimedOut, Wait, wait_for, wait_for_async};
