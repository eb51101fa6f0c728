//! The conductor of the Cassandra IoT demonstration, as a library.
//!
//! Kept apart the way Jepsen keeps a fault test apart: the hosts inventory and
//! remote execution (`hosts`, `remote`), the database and its checks (`lab`,
//! `nodetool`, `cluster`), the faults (`nemesis`), the app PC's services
//! (`app`), the schedule (`scenario`) and the verdict (`checker`).

pub mod app;
pub mod checker;
pub mod cli;
pub mod cluster;
pub mod hosts;
pub mod lab;
pub mod nemesis;
pub mod nodetool;
pub mod paths;
pub mod remote;
pub mod scenario;
