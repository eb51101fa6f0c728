//! `demo check-cluster`: the table and the verdict; non-zero when not whole.

use crate::cli::Target;
use crate::cluster;
use crate::ui::{self, Render};

/// Prints the table and verdict; `Ok(false)` when the cluster is not whole.
pub async fn run(target: &Target) -> anyhow::Result<bool> {
    let (inventory, options) = super::reach(target)?;
    let progress = ui::spinner(format!(
        "checking {} nodes from each of them ({})",
        inventory.nodes.len(),
        inventory.path.display()
    ));
    let report = cluster::check(&inventory, &options).await;
    progress.finish_and_clear();
    let report = report?;
    print!("{}", report.render());
    Ok(report.is_whole())
}
