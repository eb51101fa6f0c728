//! `capture`: `nodetool status` from a running node, shown to the audience
//! (DN lines in red) and saved next to the journal: the cluster's own view
//! of the PC that is out.

use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::nodetool;
use crate::scenario::context::Context;
use crate::scenario::model::NodeArg;
use crate::scenario::parse::{Fields, ScenarioError};

/// What a capture step records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureWhat {
    /// `nodetool status`.
    Status,
}

step_params! {
    pub struct Capture {
        /// By default the first node the run has not taken out.
        from: Option<NodeArg> = optional_node(),
        what: CaptureWhat = capture_what(),
    }
}

impl Fields<'_> {
    fn capture_what(&self, key: &str) -> Result<CaptureWhat, ScenarioError> {
        match self.text(key)? {
            None => Ok(CaptureWhat::Status),
            Some(what) if what.get_ref() == "status" => Ok(CaptureWhat::Status),
            Some(what) => Err(self.error_at(
                &what,
                format!("unknown capture \"{}\"; expected: status", what.get_ref()),
            )),
        }
    }
}

impl StepAction for Capture {
    fn node_args(&self) -> Vec<&NodeArg> {
        self.from.iter().collect()
    }

    async fn run(&self, context: &mut Context, number: usize) -> StepResult {
        let CaptureWhat::Status = self.what;
        let from = match &self.from {
            Some(from) => context.node(from)?,
            None => context.first_running_node()?,
        };
        if context.is_out(&from) {
            return Err(Failed::new(format!(
                "{} is out: capture from another node",
                from.name
            )));
        }
        let (command, output) = context
            .fleet()
            .capture_status(&from)
            .await
            .map_err(Failed::new)?;
        let ui = context.ui();
        ui.info(&format!("{}$ {command}", from.name));
        ui.block(&output, |line| line.starts_with('D'));
        let file = context
            .keep_capture(number, &from, &command, &output)
            .map_err(|err| Failed::new(err.to_string()))?;
        let seen = nodetool::parse_status(&output)
            .map(|status| {
                status
                    .rows
                    .iter()
                    .map(|row| format!("{} {}", context.name_at(row.address), row.state))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|err| format!("unparsed: {err}"));
        Ok(Done {
            summary: context.say().captured(&from.name, &seen, &file.to_string()),
            details: json!({ "from": from.name, "command": command, "file": file, "seen": seen }),
        })
    }
}
