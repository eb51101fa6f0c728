//! The conductor of the Cassandra IoT demonstration, as a library.
//!
//! Kept apart the way Jepsen keeps a fault test apart: the hosts inventory and
//! remote execution (`hosts`, `remote`), the database, its setup and its checks
//! (`lab`, `provision`: bare PCs to a cluster over SSH, `node_config`: the node files
//! both write, `nodetool`, `cluster`), the faults (`nemesis`), the app PC's services
//! (`app`), the schedule (`scenario`), the verdict (`checker`) and the run's
//! self-contained HTML report made from its journal (`report`).
//!
//! Shaped like ripgrep: `cli` is the one place that defines the command line;
//! `commands` (one file per command group) turns its flags into plain values,
//! calls the domain modules above and shows their results through `ui`
//! (spinners, tables, report rendering). The domain modules never see the
//! CLI's types and never print: they take values, return reports, and tell
//! long waits through `progress`. `wait` is the one bounded poll loop;
//! `paths` finds the checkout; `procinfo` reads `/proc`.

pub mod app;
pub mod checker;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod contrast;
pub mod hosts;
pub mod lab;
pub mod nemesis;
pub mod node_config;
pub mod nodetool;
pub mod paths;
pub mod preflight;
pub mod procinfo;
pub mod progress;
pub mod provision;
pub mod remote;
pub mod report;
pub mod scenario;
pub mod ui;
pub mod wait;
