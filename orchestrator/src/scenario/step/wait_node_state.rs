//! `wait-node-state`: a node is seen UP or DOWN by its running peers (or by
//! one observer), in their own `nodetool status`. The wait itself is shared
//! with `kill-node` (manual) and `start-node`.

use std::fmt;
use std::time::{Duration, Instant};

use contract::events::{Figures, SeenState};
use futures::future::join_all;
use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::cluster::Expectation;
use crate::hosts::NodeSpec;
use crate::nodetool::NodeState;
use crate::scenario::context::Context;
use crate::scenario::model::NodeArg;
use crate::scenario::parse::{Fields, ScenarioError};
use crate::scenario::ui::format_duration;
use crate::scenario::words::Say;

/// Pause between two polls (nodetool starts a JVM: not faster).
pub(super) const POLL: Duration = Duration::from_secs(1);

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

step_params! {
    pub struct WaitNodeState {
        node: NodeArg = node(),
        state: WantedState = wanted_state(),
        /// Only this observer, instead of every running peer.
        seen_from: Option<NodeArg> = optional_node(),
        timeout: Duration = seconds(60.0),
    }
}

impl Fields<'_> {
    fn wanted_state(&self, key: &str) -> Result<WantedState, ScenarioError> {
        let Some(state) = self.text(key)? else {
            return Err(self.missing(&format!("`{key}` (\"up\" or \"down\")")));
        };
        match state.get_ref().to_ascii_lowercase().as_str() {
            "up" | "un" => Ok(WantedState::Up),
            "down" | "dn" => Ok(WantedState::Down),
            _ => Err(self.error_at(
                &state,
                format!(
                    "unknown state \"{}\"; expected \"up\" or \"down\"",
                    state.get_ref()
                ),
            )),
        }
    }
}

impl StepAction for WaitNodeState {
    fn node_args(&self) -> Vec<&NodeArg> {
        std::iter::once(&self.node)
            .chain(self.seen_from.as_ref())
            .collect()
    }

    fn facts(&self, context: &Context) -> (Option<String>, Figures) {
        let state = match self.state {
            WantedState::Up => SeenState::Up,
            WantedState::Down => SeenState::Down,
        };
        (
            Some(context.node_name(&self.node)),
            Figures {
                state: Some(state),
                ..Figures::default()
            },
        )
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let node = context.node(&self.node)?;
        let seen_from = match &self.seen_from {
            Some(observer) => Some(context.node(observer)?),
            None => None,
        };
        let clock = Instant::now();
        let seen = wait_seen(context, &node, self.state, seen_from, self.timeout).await?;
        Ok(Done {
            summary: context
                .say()
                .seen(&node.name, &self.state.to_string(), &seen),
            details: json!({
                "node": node.name,
                "state": self.state.to_string(),
                "after_ms": clock.elapsed().as_millis(),
            }),
        })
    }
}

/// Polls the observers (`seen_from`, or every other node the run has not
/// taken out) until all of them see `node` in `state`; says what they saw.
pub(super) async fn wait_seen(
    context: &Context,
    node: &NodeSpec,
    state: WantedState,
    seen_from: Option<NodeSpec>,
    timeout: Duration,
) -> Result<String, Failed> {
    let observers: Vec<NodeSpec> = match seen_from {
        Some(observer) => vec![observer],
        None => context.running_peers(node),
    };
    if observers.is_empty() {
        return Err(Failed::new(format!(
            "no running node left to ask about {}",
            node.name
        )));
    }
    let wanted = match state {
        WantedState::Up => Expectation::Up,
        WantedState::Down => Expectation::Down,
    };
    let progress = context.ui().progress(
        &context.say().waiting_seen(&node.name, &state.to_string()),
        timeout,
    );
    let started = Instant::now();
    let mut views = Vec::new();
    while started.elapsed() < timeout {
        let answers = join_all(
            observers
                .iter()
                .map(|observer| context.fleet().states_seen_by(observer)),
        )
        .await;
        views = observers
            .iter()
            .zip(answers)
            .map(|(observer, answer)| {
                (
                    observer.name.clone(),
                    answer.map(|states| states.state_of(node)),
                )
            })
            .collect::<Vec<_>>();
        let all_met = views
            .iter()
            .all(|(_, answer)| answer.as_ref().is_ok_and(|seen| wanted.met_by(*seen)));
        let shown = describe_views(context.say(), &views);
        if all_met {
            return Ok(context.say().views_after(&shown, started.elapsed()));
        }
        progress.tick(shown);
        tokio::time::sleep(POLL).await;
    }
    Err(Failed {
        message: format!(
            "{} not seen {state} within {} (last: {})",
            node.name,
            format_duration(timeout),
            describe_views(context.say(), &views)
        ),
        details: json!({ "node": node.name, "state": state.to_string() }),
    })
}

fn describe_views(say: Say, views: &[(String, Result<Option<NodeState>, String>)]) -> String {
    views
        .iter()
        .map(|(observer, answer)| match answer {
            Ok(Some(state)) => say.sees(observer, &state.to_string()),
            Ok(None) => say.does_not_list(observer),
            Err(err) => format!("{observer}: {}", err.lines().next().unwrap_or("")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
