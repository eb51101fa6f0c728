//! `check-cluster`: the cluster is whole, as `demo check-cluster` sees it
//! from every PC, retried until the timeout.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::scenario::context::Context;
use crate::scenario::ui::format_duration;
use crate::ui::Render;

/// Pause between two checks (each starts nodetool, a JVM, on every PC).
const POLL: Duration = Duration::from_secs(1);

step_params! {
    pub struct CheckCluster {
        timeout: Duration = seconds(60.0),
    }
}

impl StepAction for CheckCluster {
    async fn run(&self, context: &mut Context, _number: usize) -> StepResult {
        let ui = context.ui();
        let progress = ui.progress("checking the cluster from every PC", self.timeout);
        let deadline = Instant::now() + self.timeout;
        loop {
            let report = context.fleet().check().await.map_err(Failed::new)?;
            let rendered = report.render();
            if report.is_whole() {
                drop(progress);
                ui.info(&rendered);
                return Ok(Done {
                    summary: format!(
                        "cluster whole: {} nodes UN as seen from every node (checked in {})",
                        report.nodes.len(),
                        format_duration(report.took)
                    ),
                    details: json!({ "report": rendered }),
                });
            }
            let problems = report.problems.join("; ");
            progress.tick(problems.clone());
            if Instant::now() + POLL >= deadline {
                drop(progress);
                ui.info(&rendered);
                return Err(Failed {
                    message: format!("cluster not whole: {problems}"),
                    details: json!({ "report": rendered }),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
