//! One room per step kind: each `step/<kind>.rs` holds the kind's parameters,
//! reads its own keys from the scenario file and does the step.
//!
//! The list of kinds is `contract::events::StepKind`; [`Action`] has one
//! variant per kind, and the `actions!` table below ties each kind to its
//! file, so parsing, execution and the documentation test all follow from it
//! (a kind without a file does not compile).

/// Declares a step kind's parameters: each field is a key of the step, read
/// by the [`Fields`] method named after `=` with the key and the arguments
/// given (e.g. `timeout: Duration = seconds(60.0)`, a default of 60 s).
macro_rules! step_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident: $type:ty = $read:ident($($arg:expr),*),)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)+
        }

        impl $crate::scenario::step::StepParams for $name {
            const KEYS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn parse(
                fields: &$crate::scenario::parse::Fields<'_>,
            ) -> Result<Self, $crate::scenario::parse::ScenarioError> {
                Ok(Self {
                    $($field: fields.$read(stringify!($field) $(, $arg)*)?,)+
                })
            }
        }
    };
}

mod capture;
mod check_cluster;
mod expect_catch_up;
mod expect_continuity;
mod expect_data;
mod kill_node;
mod kill_service;
mod pause;
mod restart_kafka;
mod restart_service;
mod start_node;
mod start_services;
mod verify;
mod wait_node_state;

use std::time::Duration;

use contract::events::Figures;
pub use contract::events::StepKind;

pub use self::capture::Capture;
pub use self::check_cluster::CheckCluster;
pub use self::expect_catch_up::ExpectCatchUp;
pub use self::expect_continuity::ExpectContinuity;
pub use self::expect_data::ExpectData;
pub use self::kill_node::{KillMode, KillNode, ModeChoice};
pub use self::kill_service::KillService;
pub use self::pause::Pause;
pub use self::restart_kafka::RestartKafka;
pub use self::restart_service::RestartService;
pub use self::start_node::StartNode;
pub use self::start_services::StartServices;
pub use self::verify::{Verify, VerifyConsistency};
pub use self::wait_node_state::{WaitNodeState, WantedState};
use super::context::Context;
use super::model::NodeArg;
use super::parse::{Fields, ScenarioError};
use super::ui::format_duration;
use crate::app::Service;

/// A step that worked: one line for the console, figures for the journal.
pub struct Done {
    pub summary: String,
    pub details: serde_json::Value,
}

/// A step that did not.
pub struct Failed {
    pub message: String,
    pub details: serde_json::Value,
}

impl Failed {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }
}

pub type StepResult = Result<Done, Failed>;

/// A step kind's parameters as the scenario file writes them; declared with
/// [`step_params!`], which derives the keys and the parsing from the fields.
pub(crate) trait StepParams: Sized {
    /// The keys the kind accepts besides `kind`, `say` and `label`.
    const KEYS: &'static [&'static str];

    /// Reads the kind's keys (defaults filled in, values checked).
    fn parse(fields: &Fields<'_>) -> Result<Self, ScenarioError>;
}

/// What every step kind does with its parameters.
pub(crate) trait StepAction: StepParams {
    /// Every node reference the step holds, to resolve them before the run starts.
    fn node_args(&self) -> Vec<&NodeArg> {
        Vec::new()
    }

    /// The node the step concerns (its first node reference) and its
    /// figures, for the words shown (terminal, dashboard); `context` resolves
    /// names and the mode override.
    fn facts(&self, context: &Context) -> (Option<String>, Figures) {
        (
            self.node_args().first().map(|node| context.node_name(node)),
            Figures::default(),
        )
    }

    /// Does the step; `number` is its place in the scenario.
    async fn run(&self, context: &mut Context, number: usize) -> StepResult;
}

/// Declares [`Action`] and its dispatch from one table: kind => parameters type.
macro_rules! actions {
    ($($kind:ident => $params:ty,)+) => {
        /// What a step does, with its parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Action {
            $($kind($params),)+
        }

        impl Action {
            pub fn kind(&self) -> StepKind {
                match self {
                    $(Action::$kind(_) => StepKind::$kind,)+
                }
            }

            /// The keys a kind accepts besides the common ones.
            pub fn keys(kind: StepKind) -> &'static [&'static str] {
                match kind {
                    $(StepKind::$kind => <$params as StepParams>::KEYS,)+
                }
            }

            pub(crate) fn parse(kind: StepKind, fields: &Fields<'_>) -> Result<Self, ScenarioError> {
                Ok(match kind {
                    $(StepKind::$kind => Action::$kind(<$params as StepParams>::parse(fields)?),)+
                })
            }

            /// Every node reference the action holds.
            pub fn node_args(&self) -> Vec<&NodeArg> {
                match self {
                    $(Action::$kind(params) => params.node_args(),)+
                }
            }

            pub(crate) fn facts(&self, context: &Context) -> (Option<String>, Figures) {
                match self {
                    $(Action::$kind(params) => params.facts(context),)+
                }
            }

            pub(crate) async fn run(&self, context: &mut Context, number: usize) -> StepResult {
                match self {
                    $(Action::$kind(params) => params.run(context, number).await,)+
                }
            }
        }
    };
}

actions! {
    CheckCluster => CheckCluster,
    StartServices => StartServices,
    ExpectData => ExpectData,
    KillNode => KillNode,
    WaitNodeState => WaitNodeState,
    Capture => Capture,
    ExpectContinuity => ExpectContinuity,
    StartNode => StartNode,
    ExpectCatchUp => ExpectCatchUp,
    Verify => Verify,
    Pause => Pause,
    KillService => KillService,
    RestartService => RestartService,
    RestartKafka => RestartKafka,
}

/// Runs a fleet action behind a progress bar (`progress`), bounded by
/// `timeout`: its own error as is, or "<what> did not finish within …".
async fn run_bounded(
    context: &Context,
    progress: &str,
    what: &str,
    timeout: Duration,
    action: impl Future<Output = Result<(), String>>,
) -> Result<(), Failed> {
    let progress = context.ui().progress(progress, timeout);
    let result = tokio::time::timeout(timeout, action).await;
    drop(progress);
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Failed::new(err)),
        Err(_) => Err(Failed::new(format!(
            "{what} did not finish within {}",
            format_duration(timeout)
        ))),
    }
}

impl Fields<'_> {
    /// A required `service` key (kill-service, restart-service): producer, ingest or api.
    fn service(&self, key: &str) -> Result<Service, ScenarioError> {
        let Some(name) = self.text(key)? else {
            return Err(self.missing(&format!("`{key}` (producer, ingest or api)")));
        };
        Service::from_name(name.get_ref()).ok_or_else(|| {
            self.error_at(
                &name,
                format!(
                    "unknown service \"{}\"; expected producer, ingest or api",
                    name.get_ref()
                ),
            )
        })
    }
}

/// The facts of a step about one service: no node, the service as a figure.
fn service_facts(service: Service) -> (Option<String>, Figures) {
    (
        None,
        Figures {
            service: Some(service.into()),
            ..Figures::default()
        },
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/SCENARIOS.md has a row for every kind, naming each of its keys.
    #[test]
    fn the_scenario_guide_documents_every_kind_and_its_keys() {
        let guide = std::fs::read_to_string(crate::paths::project_root().join("docs/SCENARIOS.md"))
            .expect("docs/SCENARIOS.md");
        for kind in StepKind::ALL {
            let row = guide
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", kind.name())))
                .unwrap_or_else(|| panic!("docs/SCENARIOS.md has no row for `{kind}`"));
            for key in Action::keys(*kind) {
                assert!(
                    row.contains(&format!("`{key}`")),
                    "the row of `{kind}` does not name `{key}`: {row}"
                );
            }
        }
    }
}
