//! `kill-node`: a PC is taken out, by one of the nemesis' fault modes or by
//! the presenter's hand (`manual`: the step waits until its peers see it DOWN).
//! Whatever the outcome, the node is the run's to restore at the end.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::Utc;
use contract::events::{Figures, OutageMode};
use serde_json::json;

use super::wait_node_state::{WantedState, wait_seen};
use super::{Done, Failed, StepAction, StepResult, run_bounded};
use crate::contrast;
use crate::hosts::NodeSpec;
use crate::nemesis::FaultMode;
use crate::scenario::context::Context;
use crate::scenario::model::NodeArg;
use crate::scenario::parse::{Fields, ScenarioError};

/// How a kill-node step takes the PC out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMode {
    /// The conductor does it, with one of the nemesis' fault modes.
    Fault(FaultMode),
    /// The presenter switches the PC off by hand; the conductor waits until
    /// the other nodes see it DOWN.
    Manual,
}

impl KillMode {
    /// The mode a scenario file names (`mode = "freeze"`), if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "manual" {
            return Some(KillMode::Manual);
        }
        FaultMode::ALL
            .into_iter()
            .find(|mode| mode.name() == name)
            .map(KillMode::Fault)
    }

    /// The mode as an event's figure.
    pub fn outage(self) -> OutageMode {
        match self {
            KillMode::Fault(FaultMode::Stop) => OutageMode::Stop,
            KillMode::Fault(FaultMode::Kill) => OutageMode::Kill,
            KillMode::Fault(FaultMode::Freeze) => OutageMode::Freeze,
            KillMode::Fault(FaultMode::Isolate) => OutageMode::Isolate,
            KillMode::Manual => OutageMode::Manual,
        }
    }
}

impl fmt::Display for KillMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillMode::Fault(mode) => mode.name(),
            KillMode::Manual => "manual",
        })
    }
}

/// A kill-node mode as the file writes it: one mode, or `"random"`, drawn from the
/// seed when the run starts (`scenario::chaos`), so a run never sees `Random`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChoice {
    Given(KillMode),
    Random,
}

impl ModeChoice {
    /// The mode a scenario file names (`mode = "freeze"`, `mode = "random"`), if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "random" => Some(ModeChoice::Random),
            _ => KillMode::from_name(name).map(ModeChoice::Given),
        }
    }
}

step_params! {
    pub struct KillNode {
        node: NodeArg = node(),
        /// As written (or the scenario's default); `--mode` may override it.
        mode: ModeChoice = step_kill_mode(),
        timeout: Duration = seconds(120.0),
    }
}

impl Fields<'_> {
    /// The mode written, else the scenario's default, else a graceful stop.
    fn step_kill_mode(&self, key: &str) -> Result<ModeChoice, ScenarioError> {
        Ok(match self.text(key)? {
            Some(mode) => self.kill_mode(&mode)?,
            None => self
                .default_kill_mode()
                .unwrap_or(ModeChoice::Given(KillMode::Fault(FaultMode::Stop))),
        })
    }
}

impl KillNode {
    /// The mode to use, `--mode` applied; `None` while a random mode is not drawn.
    fn mode(&self, context: &Context) -> Option<KillMode> {
        match self.mode {
            ModeChoice::Given(mode) => Some(context.kill_mode(mode)),
            ModeChoice::Random => None,
        }
    }
}

impl StepAction for KillNode {
    fn node_args(&self) -> Vec<&NodeArg> {
        vec![&self.node]
    }

    fn facts(&self, context: &Context) -> (Option<String>, Figures) {
        (
            Some(context.node_name(&self.node)),
            Figures {
                mode: self.mode(context).map(KillMode::outage),
                ..Figures::default()
            },
        )
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let node = context.node(&self.node)?;
        let Some(mode) = self.mode(context) else {
            return Err(Failed::new("mode \"random\" was not drawn before the run"));
        };
        if context.is_out(&node) {
            return Err(Failed::new(format!("{} is already out", node.name)));
        }
        let single_copies = announce_single_copies(context, &node).await;
        let out_at = Utc::now();
        let clock = Instant::now();
        match mode {
            KillMode::Fault(fault) => {
                let what = format!("{mode} {}", node.name);
                let result = run_bounded(
                    context,
                    &what,
                    &what,
                    self.timeout,
                    context.fleet().take_out(&node, fault),
                )
                .await;
                // Whatever the outcome, the node may be out now: restore it at the end.
                context.mark_out(&node, mode, out_at);
                result?;
                let say = context.say();
                let how = match fault {
                    FaultMode::Stop => say.how_stopped(),
                    FaultMode::Kill => say.how_killed(),
                    FaultMode::Freeze => say.how_frozen(),
                    FaultMode::Isolate => say.how_isolated(),
                };
                Ok(Done {
                    summary: say.taken_out(&node.label(), how, clock.elapsed()),
                    details: json!({
                        "node": node.name,
                        "mode": mode.to_string(),
                        "at": out_at,
                        "single_copies": single_copies,
                    }),
                })
            }
            KillMode::Manual => {
                context
                    .ui()
                    .info(&context.say().switch_off_now(&node.label()));
                let seen = wait_seen(context, &node, WantedState::Down, None, self.timeout).await?;
                context.mark_out(&node, mode, out_at);
                Ok(Done {
                    summary: context.say().switched_off_by_hand(&node.label(), &seen),
                    details: json!({
                        "node": node.name,
                        "mode": "manual",
                        "at": out_at,
                        "single_copies": single_copies,
                    }),
                })
            }
        }
    }
}

/// With the contrast lane on, says which of the run's sensors keep their only
/// copy on `node` (their curves stop on the chart without replication), or warns
/// that none does; returns them for the journal (None: lane off or ring unknown).
async fn announce_single_copies(context: &mut Context, node: &NodeSpec) -> Option<Vec<String>> {
    if !context.plan().contrast {
        return None;
    }
    let sensors = context.plan().producer.sensor_ids();
    let owners = match contrast::single_copy_owners(&context.plan().contact_points, &sensors).await
    {
        Ok(owners) => owners,
        Err(err) => {
            context.warn(format!("contrast lane: no token ring to tell: {err}"));
            return None;
        }
    };
    let held = contrast::held_by(&owners, node.address);
    if held.is_empty() {
        let warning = context.say().no_single_copy(sensors.len(), &node.name);
        context.warn(warning);
    } else {
        context
            .ui()
            .info(&context.say().single_copies(&held, &node.name));
    }
    Some(held)
}
