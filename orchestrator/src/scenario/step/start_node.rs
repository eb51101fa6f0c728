//! `start-node`: a PC is brought back (thawed and started; `manual`: the
//! presenter switches it on) and every running peer sees it UP again.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::wait_node_state::{POLL, WantedState, wait_seen};
use super::{Done, StepAction, StepResult, run_bounded};
use crate::scenario::context::Context;
use crate::scenario::model::NodeArg;

step_params! {
    pub struct StartNode {
        node: NodeArg = node(),
        timeout: Duration = seconds(180.0),
    }
}

impl StepAction for StartNode {
    fn node_args(&self) -> Vec<&NodeArg> {
        vec![&self.node]
    }

    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let node = context.node(&self.node)?;
        let clock = Instant::now();
        let commanded_at = Utc::now();
        if context.switched_off_by_hand(&node) {
            context
                .ui()
                .info(&context.say().switch_on_now(&node.label()));
        } else {
            run_bounded(
                context,
                &context.say().bringing_back(&node.name),
                &context.say().starting_node(&node.name),
                self.timeout,
                context.fleet().bring_back(&node),
            )
            .await?;
        }
        let back_at = Utc::now();
        context.mark_back(&node, commanded_at, back_at);
        let remaining = self.timeout.saturating_sub(clock.elapsed()).max(POLL * 5);
        let seen = wait_seen(context, &node, WantedState::Up, None, remaining).await?;
        context.mark_serving(&node);
        Ok(Done {
            summary: context.say().node_back(&node.label(), &seen),
            details: json!({ "node": node.name, "at": back_at, "after_ms": clock.elapsed().as_millis() }),
        })
    }
}
