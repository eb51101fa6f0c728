//! The scenario event row: what the conductor tells the dashboard about each step.
//!
//! The conductor (`demo run`) writes one row when a step starts and one when it
//! ends; the API reads them back for `GET /events`; the page words them in its
//! own language. So a row carries facts, never sentences: the step's kind, the
//! node it concerns and a few figures (the fault mode, the state waited for, the
//! service concerned).
//! The only words are the author's: the narration (`say`) and an optional
//! `label` written in the scenario file. The rows live in
//! [`crate::names::SCENARIO_EVENTS_TABLE`].
//!
//! [`StepKind`] is also the single list of the scenario's step kinds: the
//! conductor's parser, its documentation test and the dashboard's tones all
//! derive from it. An event is a step's, or the run's verdict ([`EventKind`]):
//! the verdict is no step a scenario file may name, so it stays outside that list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How the dashboard draws an event: the story's turns stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// A PC taken out, or a step that failed: red, bold.
    Fault,
    /// A PC back, or its data caught up: green, bold.
    Recovery,
    /// Any other step: thin, quiet.
    Info,
}

/// Declares the step kinds once: variant, name in scenario files, tone.
macro_rules! step_kinds {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal, $tone:ident;)+) => {
        /// What a scenario step does, as `kind = "..."` names it in a scenario file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum StepKind {
            $($(#[doc = $doc])+ #[serde(rename = $name)] $variant,)+
        }

        impl StepKind {
            /// Every kind, in the order the documentation lists them.
            pub const ALL: &'static [StepKind] = &[$(StepKind::$variant),+];

            /// The kind's name in scenario files (`"kill-node"`).
            pub fn name(self) -> &'static str {
                match self {
                    $(StepKind::$variant => $name,)+
                }
            }

            /// How the dashboard draws a step of this kind that did not fail.
            pub fn tone(self) -> Tone {
                match self {
                    $(StepKind::$variant => Tone::$tone,)+
                }
            }
        }
    };
}

step_kinds! {
    /// The cluster is whole, as seen from every node.
    CheckCluster = "check-cluster", Info;
    /// Producer, ingest and api running and healthy.
    StartServices = "start-services", Info;
    /// Every sensor of the run has fresh readings in the API.
    ExpectData = "expect-data", Info;
    /// A PC is taken out.
    KillNode = "kill-node", Fault;
    /// A node is seen in a state by its peers.
    WaitNodeState = "wait-node-state", Info;
    /// `nodetool status` is captured.
    Capture = "capture", Info;
    /// Readings keep arriving over a window.
    ExpectContinuity = "expect-continuity", Info;
    /// A PC is brought back.
    StartNode = "start-node", Recovery;
    /// The returned node serves what it missed.
    ExpectCatchUp = "expect-catch-up", Recovery;
    /// Nothing acknowledged was lost.
    Verify = "verify", Info;
    /// A deliberate wait.
    Pause = "pause", Info;
    /// One of the app PC's services crashes (SIGKILL).
    KillService = "kill-service", Fault;
    /// One of the app PC's services is started again and healthy.
    RestartService = "restart-service", Recovery;
    /// The Kafka broker crashes (SIGKILL), stays away, and is started again.
    RestartKafka = "restart-kafka", Fault;
}

impl StepKind {
    /// The kind a scenario file names, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an event is about: one step, or the run's verdict once every step is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum EventKind {
    Step(StepKind),
    /// The run's verdict (status ok: passed; failed: failed), with its figures.
    Verdict,
}

impl EventKind {
    const VERDICT: &'static str = "verdict";

    /// The name stored in the table and sent by the API: the step kind's, or "verdict".
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Step(kind) => kind.name(),
            EventKind::Verdict => Self::VERDICT,
        }
    }

    /// The kind a stored name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == Self::VERDICT {
            return Some(EventKind::Verdict);
        }
        StepKind::from_name(name).map(EventKind::Step)
    }
}

impl From<StepKind> for EventKind {
    fn from(kind: StepKind) -> Self {
        EventKind::Step(kind)
    }
}

impl From<EventKind> for &'static str {
    fn from(kind: EventKind) -> Self {
        kind.name()
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        EventKind::from_name(&name).ok_or_else(|| format!("unknown event kind {name:?}"))
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Running,
    Ok,
    Failed,
}

impl EventStatus {
    /// The name stored in the table and sent by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Running => "running",
            EventStatus::Ok => "ok",
            EventStatus::Failed => "failed",
        }
    }

    /// The status a stored name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        [EventStatus::Running, EventStatus::Ok, EventStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// The language a scenario is written in (`lang` in its [settings]): the
/// author's words (narration, labels) are in it, and so are the conductor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Fr,
    En,
}

/// How a kill-node step takes its PC out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutageMode {
    /// Drained, then stopped.
    Stop,
    /// SIGKILL: a crash.
    Kill,
    /// SIGSTOP: a hung PC.
    Freeze,
    /// The network cable pulled: its Cassandra traffic dropped, SSH kept.
    Isolate,
    /// The presenter switched it off by hand.
    Manual,
}

/// The state a wait-node-state step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeenState {
    Up,
    Down,
}

/// One of the app PC's services, as kill-service and restart-service name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppService {
    Producer,
    Ingest,
    Api,
}

impl AppService {
    /// The service's name in scenario files and events (`"ingest"`).
    pub fn name(self) -> &'static str {
        match self {
            AppService::Producer => "producer",
            AppService::Ingest => "ingest",
            AppService::Api => "api",
        }
    }
}

/// The figures a step's event carries besides its node; each kind fills the
/// ones it has. Stored as JSON in the row's `figures` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// kill-node: how the PC is taken out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OutageMode>,
    /// wait-node-state: the state waited for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SeenState>,
    /// kill-service, restart-service: the service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<AppService>,
    /// verdict: how the run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictFigures>,
    /// The language of the author's words (narration, label): a page in another
    /// language words the event itself instead of showing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Language>,
}

/// The figures of a run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VerdictFigures {
    /// How many steps the scenario has.
    pub steps: u32,
    /// The step that failed, if one did.
    pub failed_step: Option<u32>,
    /// The acknowledged readings the last verify step checked, and of those how
    /// many were missing or different (none when no verify step ran).
    pub readings: Option<u64>,
    pub lost: Option<u64>,
}

impl Figures {
    /// The text of the `figures` column.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The figures of a stored `figures` column (none when it is empty or unreadable:
    /// an event is cosmetic, and its kind and node still say what happened).
    pub fn from_json(text: Option<&str>) -> Self {
        text.and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

/// One row of the scenario events table, and one element of `GET /events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioEvent {
    #[serde(with = "crate::time::millis")]
    pub at: DateTime<Utc>,
    /// The run's id (its directory name under `runs/`).
    pub run_id: String,
    /// The step's 1-based number in the scenario; 0 for the verdict.
    pub step: u32,
    pub kind: EventKind,
    /// The PC the step concerns, by inventory name ("PC2"), if any.
    pub node: Option<String>,
    pub figures: Figures,
    /// The scenario author's own short label, if the file gave one.
    pub label: Option<String>,
    pub status: EventStatus,
    /// The step's narration, as the scenario file wrote it.
    pub narration: String,
    /// Derived from kind and status (see [`ScenarioEvent::tone_of`]); sent so the
    /// page does not keep its own list of kinds.
    pub tone: Tone,
}

impl ScenarioEvent {
    /// A failed step (or run) is a fault whatever its kind; otherwise the kind
    /// decides, and a passed verdict is a recovery: the story ends well.
    pub fn tone_of(kind: EventKind, status: EventStatus) -> Tone {
        match (status, kind) {
            (EventStatus::Failed, _) => Tone::Fault,
            (_, EventKind::Step(kind)) => kind.tone(),
            (_, EventKind::Verdict) => Tone::Recovery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_as_in_scenario_files_and_serialised_by_that_name() {
        assert_eq!(StepKind::ALL.len(), 14);
        for kind in StepKind::ALL {
            assert_eq!(StepKind::from_name(kind.name()), Some(*kind));
            assert_eq!(
                serde_json::to_value(kind).expect("serialises"),
                serde_json::json!(kind.name())
            );
        }
        assert_eq!(StepKind::ExpectCatchUp.name(), "expect-catch-up");
        assert_eq!(StepKind::RestartKafka.tone(), Tone::Fault);
        assert_eq!(StepKind::RestartService.tone(), Tone::Recovery);
        assert_eq!(StepKind::from_name("kil-node"), None);
    }

    #[test]
    fn tones_come_from_the_kind_and_a_failure() {
        use EventStatus::*;
        let tone = |kind: StepKind, status| ScenarioEvent::tone_of(kind.into(), status);
        assert_eq!(tone(StepKind::KillNode, Running), Tone::Fault);
        assert_eq!(tone(StepKind::StartNode, Ok), Tone::Recovery);
        assert_eq!(tone(StepKind::ExpectCatchUp, Ok), Tone::Recovery);
        assert_eq!(tone(StepKind::WaitNodeState, Ok), Tone::Info);
        assert_eq!(tone(StepKind::Verify, Failed), Tone::Fault);
        assert_eq!(
            ScenarioEvent::tone_of(EventKind::Verdict, Ok),
            Tone::Recovery
        );
        assert_eq!(
            ScenarioEvent::tone_of(EventKind::Verdict, Failed),
            Tone::Fault
        );
    }

    #[test]
    fn an_event_kind_is_a_step_kind_or_the_verdict_by_name() {
        assert_eq!(
            serde_json::to_value(EventKind::Verdict).expect("serialises"),
            serde_json::json!("verdict")
        );
        assert_eq!(
            serde_json::to_value(EventKind::Step(StepKind::KillNode)).expect("serialises"),
            serde_json::json!("kill-node")
        );
        let read: EventKind = serde_json::from_str(r#""expect-catch-up""#).expect("reads");
        assert_eq!(read, EventKind::Step(StepKind::ExpectCatchUp));
        assert_eq!(EventKind::from_name("verdict"), Some(EventKind::Verdict));
        assert!(serde_json::from_str::<EventKind>(r#""verdicts""#).is_err());
        // The verdict is no step a scenario file may name.
        assert_eq!(StepKind::from_name("verdict"), None);
    }

    #[test]
    fn figures_round_trip_through_their_column() {
        let figures = Figures {
            mode: Some(OutageMode::Freeze),
            ..Figures::default()
        };
        assert_eq!(figures.to_json(), r#"{"mode":"freeze"}"#);
        let killed = Figures {
            service: Some(AppService::Ingest),
            ..Figures::default()
        };
        assert_eq!(killed.to_json(), r#"{"service":"ingest"}"#);
        assert_eq!(Figures::from_json(Some(&killed.to_json())), killed);
        assert_eq!(Figures::from_json(Some(&figures.to_json())), figures);
        assert_eq!(Figures::from_json(None), Figures::default());
        assert_eq!(Figures::from_json(Some("not json")), Figures::default());
    }
}
