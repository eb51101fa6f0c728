//! `check-cluster`: the cluster is whole, as `demo check-cluster` sees it
//! from every PC, retried until the timeout.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Done, Failed, StepAction, StepResult};
use crate::scenario::context::Context;
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
        let progress = ui.progress(context.say().checking_cluster(), self.timeout);
        let deadline = Instant::now() + self.timeout;
        loop {
            let report = context.fleet().check().await.map_err(Failed::new)?;
            let rendered = report.render();
            if report.is_whole() {
                drop(progress);
                ui.info(&rendered);
                return Ok(Done {
                    summary: context.say().cluster_whole(report.nodes.len(), report.took),
                    details: json!({ "report": rendered }),
                });
            }
            let problems = report.problems.join("; ");
            progress.tick(problems.clone());
            if Instant::now() + POLL >= deadline {
                drop(progress);
                ui.info(&rendered);
                return Err(Failed {
                    message: context.say().cluster_not_whole(&problems),
                    details: json!({ "report": rendered }),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
