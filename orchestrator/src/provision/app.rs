//! The app PC's Kafka (this machine): one KRaft broker at `[app].kafka_bootstrap` with
//! the demo's topics, run from `.lab/app-kafka` by the same broker code as the lab's
//! (`lab::kafka`), planned and compared like a PC's files so a second run leaves it be.

use std::path::PathBuf;

use similar::TextDiff;

use super::ProvisionError;
use super::pc::FileChange;
use crate::hosts::Inventory;
use crate::lab::kafka::{self, BrokerSite};
use crate::lab::layout::Layout;
use crate::lab::process::Java;
use crate::progress::Progress;

/// What will happen to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    UpToDate,
    Start,
    Restart,
}

/// The app PC's plan.
#[derive(Debug, Clone)]
pub struct AppPlan {
    /// "PC4 (10.77.0.4)".
    pub label: String,
    pub bootstrap: String,
    pub dir: PathBuf,
    pub changes: Vec<FileChange>,
    pub action: AppAction,
    pub pid: Option<i32>,
}

/// The broker's site from `[app].kafka_bootstrap` (its first endpoint).
pub fn site(inventory: &Inventory, layout: &Layout) -> Result<BrokerSite, ProvisionError> {
    let bootstrap = &inventory.app.kafka_bootstrap;
    let bad = || ProvisionError::Bootstrap {
        bootstrap: bootstrap.clone(),
        file: inventory.path.clone(),
    };
    BrokerSite::app_at(layout, bootstrap).ok_or_else(bad)
}

/// Compares the broker's files with what is on disk and whether it runs.
pub fn plan(
    inventory: &Inventory,
    layout: &Layout,
    java: &Java,
) -> Result<AppPlan, ProvisionError> {
    let site = site(inventory, layout)?;
    let changes: Vec<FileChange> = site
        .files(java)
        .into_iter()
        .filter_map(|(path, text, _)| {
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(text.as_str()) {
                return None;
            }
            let shown = path.display().to_string();
            let diff = TextDiff::from_lines(current.as_deref().unwrap_or(""), text.as_str())
                .unified_diff()
                .context_radius(2)
                .header(
                    &if current.is_some() {
                        shown.clone()
                    } else {
                        "/dev/null".into()
                    },
                    &format!("{shown} (provisioned)"),
                )
                .to_string();
            Some(FileChange {
                path,
                existed: current.is_some(),
                diff,
            })
        })
        .collect();
    let pid = site.process("Kafka").live_pid();
    let action = match pid {
        None => AppAction::Start,
        Some(_) if changes.iter().any(|c| !c.path.ends_with("stop")) => AppAction::Restart,
        Some(_) => AppAction::UpToDate,
    };
    Ok(AppPlan {
        label: format!("{} ({})", inventory.app.name, site.address),
        bootstrap: site.bootstrap(),
        dir: site.dir.clone(),
        changes,
        action,
        pid,
    })
}

/// Writes the broker's files, formats its storage once, (re)starts it when planned,
/// and makes sure the topics exist.
pub async fn apply(
    inventory: &Inventory,
    plan: &AppPlan,
    layout: &Layout,
    java: &Java,
    progress: &dyn Progress,
) -> Result<(), ProvisionError> {
    let site = site(inventory, layout)?;
    let name = &inventory.app.name;
    if plan.action == AppAction::UpToDate {
        kafka::create_topics(&site.bootstrap()).await?;
        let pid = plan
            .pid
            .map(|pid| format!(" (pid {pid})"))
            .unwrap_or_default();
        progress.step(&format!(
            "{name}: Kafka up to date, running{pid} at {}",
            site.bootstrap()
        ));
        return Ok(());
    }
    if plan.action == AppAction::Restart {
        crate::lab::process::stop_processes(vec![site.process("Kafka")], progress).await?;
    }
    kafka::write_site(&site, java)?;
    kafka::format_storage_once(&site, java).await?;
    kafka::start(&site, progress).await?;
    kafka::create_topics_and_probe(&site.bootstrap()).await?;
    progress.step(&format!(
        "✓ {name}: Kafka {} at {}, topics created, a message round-tripped",
        if plan.action == AppAction::Restart {
            "restarted"
        } else {
            "started"
        },
        site.bootstrap()
    ));
    Ok(())
}
