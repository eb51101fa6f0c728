//! The typed shape of a scenario: what each step kind asks for, once the TOML
//! has been checked.
//!
//! The parser (`parse`) produces these; the runner only ever sees values that
//! are complete and consistent, so it never has to re-validate a file.

use std::fmt;
use std::time::Duration;

use crate::nemesis::FaultMode;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub title: String,
    pub description: Option<String>,
    pub settings: Settings,
    pub steps: Vec<Step>,
}

/// Scenario-wide defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Simulated sensors the run's producer starts.
    pub sensors: u32,
    /// Readings per second per sensor.
    pub rate: f64,
    /// Prefix of the run's sensor ids (`<prefix>01`, `<prefix>02`...).
    pub sensor_prefix: String,
    /// Multiplies deliberate waits (pauses, continuity windows) when the run
    /// targets the lab, so a rehearsal on one laptop stays short; timeouts are
    /// never scaled. `DEMO_PACE` overrides it.
    pub lab_pace: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sensors: 5,
            rate: 1.0,
            sensor_prefix: "sensor_".to_owned(),
            lab_pace: 1.0,
        }
    }
}

/// Where something sits in the scenario file, for messages that must point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A node as the scenario names it: by name ("PC2") or PC number (2),
/// resolved against the inventory when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    Name(String),
    Number(u32),
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Name(name) => f.write_str(name),
            NodeRef::Number(number) => write!(f, "{number}"),
        }
    }
}

/// A node reference together with where the file wrote it (or where the
/// default it came from was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeArg {
    pub node: NodeRef,
    pub at: Location,
}

/// How a kill-node step takes the PC out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMode {
    /// The conductor does it, with one of the nemesis' fault modes.
    Fault(FaultMode),
    /// The presenter switches the PC off by hand; the conductor waits until
    /// the other nodes see it DOWN.
    Manual,
}

impl fmt::Display for KillMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillMode::Fault(FaultMode::Stop) => "stop",
            KillMode::Fault(FaultMode::Kill) => "kill",
            KillMode::Fault(FaultMode::Freeze) => "freeze",
            KillMode::Manual => "manual",
        })
    }
}

/// The state a wait-node-state step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WantedState {
    /// Seen `UN` (up, normal).
    Up,
    /// Seen `D?` (down).
    Down,
}

impl fmt::Display for WantedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WantedState::Up => "UP",
            WantedState::Down => "DOWN",
        })
    }
}

/// Consistency of the final verification's reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyConsistency {
    Quorum,
    All,
}

/// What a capture step records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureWhat {
    /// `nodetool status`.
    Status,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based position in the file.
    pub number: usize,
    /// Where the step's table starts.
    pub at: Location,
    /// Narration, shown before the step runs.
    pub say: String,
    /// Short label for the dashboard's event list; a default is derived from the action.
    pub label: Option<String>,
    pub action: Action,
}

/// What a step does, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The cluster is whole (retried until `timeout`).
    CheckCluster { timeout: Duration },
    /// Producer, ingest and api running and healthy.
    StartServices { timeout: Duration },
    /// Every sensor of the run has a reading fresher than `max_staleness`
    /// in the API, within `within`.
    ExpectData {
        within: Duration,
        max_staleness: Duration,
    },
    /// Take a PC out; for `manual`, wait (up to `timeout`) for it to be seen DOWN.
    KillNode {
        node: NodeArg,
        mode: KillMode,
        timeout: Duration,
    },
    /// Wait until `node` is seen in `state` by every other running node
    /// (or only by `seen_from`).
    WaitNodeState {
        node: NodeArg,
        state: WantedState,
        seen_from: Option<NodeArg>,
        timeout: Duration,
    },
    /// Run `nodetool status` on `from` (by default the first node the run
    /// has not taken out), show it, save it.
    Capture {
        from: Option<NodeArg>,
        what: CaptureWhat,
    },
    /// For `duration`, poll the API every `poll`: every answer must carry a
    /// reading fresher than `max_staleness`.
    ExpectContinuity {
        duration: Duration,
        max_staleness: Duration,
        poll: Duration,
    },
    /// Bring a PC back and wait (up to `timeout`) until it is seen UP.
    StartNode { node: NodeArg, timeout: Duration },
    /// The returned node alone, at consistency ONE, serves every reading
    /// acknowledged while it was out (hints replayed), within `timeout`.
    ExpectCatchUp { node: NodeArg, timeout: Duration },
    /// The producer's ledger against Cassandra: nothing lost.
    Verify {
        timeout: Duration,
        consistency: VerifyConsistency,
        stop_producer: bool,
    },
    /// Sleep `duration` (auto mode); in presenter mode Enter ends it.
    Pause { duration: Duration },
}

impl Action {
    /// The kind's name, as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CheckCluster { .. } => "check-cluster",
            Action::StartServices { .. } => "start-services",
            Action::ExpectData { .. } => "expect-data",
            Action::KillNode { .. } => "kill-node",
            Action::WaitNodeState { .. } => "wait-node-state",
            Action::Capture { .. } => "capture",
            Action::ExpectContinuity { .. } => "expect-continuity",
            Action::StartNode { .. } => "start-node",
            Action::ExpectCatchUp { .. } => "expect-catch-up",
            Action::Verify { .. } => "verify",
            Action::Pause { .. } => "pause",
        }
    }

    /// Every node reference the action holds, to resolve them all before the run starts.
    pub fn node_args(&self) -> Vec<&NodeArg> {
        match self {
            Action::KillNode { node, .. }
            | Action::StartNode { node, .. }
            | Action::ExpectCatchUp { node, .. } => vec![node],
            Action::WaitNodeState {
                node, seen_from, ..
            } => std::iter::once(node).chain(seen_from.as_ref()).collect(),
            Action::Capture { from, .. } => from.iter().collect(),
            _ => Vec::new(),
        }
    }
}
