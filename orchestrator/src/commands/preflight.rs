//! `demo preflight`, and the same checks at the start of `demo run`: the table and the verdict.

use crate::cli::Target;
use crate::hosts::Inventory;
use crate::preflight::{self, Limits};
use crate::remote::RemoteOptions;
use crate::ui::{self, Render};

/// Prints the table; `Ok(false)` when anything would break the demonstration.
pub async fn run(target: &Target) -> anyhow::Result<bool> {
    let (inventory, options) = super::reach(target)?;
    Ok(check(&inventory, &options).await)
}

/// Runs every check, prints the table; true when nothing failed.
pub async fn check(inventory: &Inventory, options: &RemoteOptions) -> bool {
    let progress = ui::spinner(format!(
        "preflight: checking {} PCs and {} at once ({})",
        inventory.nodes.len(),
        inventory.app.name,
        inventory.path.display()
    ));
    let report = preflight::run(inventory, options, &Limits::default()).await;
    progress.finish_and_clear();
    print!("{}", report.render());
    report.passed()
}
