//! The typed shape of a scenario file, once the TOML has been checked: its
//! settings and its steps (what each kind asks for is in `step/<kind>.rs`).
//!
//! The parser (`parse`) produces these; the runner only ever sees values that
//! are complete and consistent, so it never has to re-validate a file.

use std::fmt;

use super::step::Action;
use super::ui::Language;

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
    /// The language of the terminal's words (the narration is the author's).
    pub lang: Language,
    /// Seeds the random choices (`node = "random"`, `mode = "random"`); `--seed`
    /// overrides it, and without either a seed is drawn and printed.
    pub seed: Option<u64>,
    /// The run fails, restoring what it took out, when a step would start after this.
    pub max_duration: Option<std::time::Duration>,
    /// Run the contrast lane (the readings kept once, shown as a second chart);
    /// `--contrast` turns it on too.
    pub contrast: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sensors: 5,
            rate: 1.0,
            sensor_prefix: "sensor_".to_owned(),
            lab_pace: 1.0,
            lang: Language::Fr,
            seed: None,
            max_duration: None,
            contrast: false,
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
    /// `"random"` (kill-node): a node drawn from those still up when the run starts
    /// (see `chaos`).
    Random,
    /// `"last"`: the node the latest kill-node took out (the latest still out, if any).
    Last,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Name(name) => f.write_str(name),
            NodeRef::Number(number) => write!(f, "{number}"),
            NodeRef::Random => f.write_str("random"),
            NodeRef::Last => f.write_str("last"),
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

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based position in the file.
    pub number: usize,
    /// Where the step's table starts.
    pub at: Location,
    /// Narration, shown before the step runs.
    pub say: String,
    /// The author's short label for the terminal and the dashboard; without
    /// one, each words the step from its kind, node and figures.
    pub label: Option<String>,
    pub action: Action,
}
