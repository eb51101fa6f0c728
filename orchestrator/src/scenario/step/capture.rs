//! `capture`: `nodetool status` from a running node, shown to the audience
//! (DN lines in red) and saved next to the journal: the cluster's own view
//! of the PC that is out.

use contract::events::Figures;
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

#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// By default the first node the run has not taken out.
    pub from: Option<NodeArg>,
    pub what: CaptureWhat,
}

impl StepAction for Capture {
    const KEYS: &'static [&'static str] = &["from", "what"];

    fn parse(fields: &Fields<'_>) -> Result<Self, ScenarioError> {
        let what = match fields.text("what")? {
            None => CaptureWhat::Status,
            Some(what) if what.get_ref() == "status" => CaptureWhat::Status,
            Some(what) => {
                return Err(fields.error_at(
                    &what,
                    format!("unknown capture \"{}\"; expected: status", what.get_ref()),
                ));
            }
        };
        Ok(Self {
            from: fields.optional_node("from")?,
            what,
        })
    }

    fn node_args(&self) -> Vec<&NodeArg> {
        self.from.iter().collect()
    }

    fn facts(&self, context: &Context) -> (Option<String>, Figures) {
        (
            self.from.as_ref().map(|from| context.node_name(from)),
            Figures::default(),
        )
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
            summary: format!("{} sees: {seen} (saved as {file})", from.name),
            details: json!({ "from": from.name, "command": command, "file": file, "seen": seen }),
        })
    }
}
