//! The command layer: one file per command group, between the command line
//! (`cli`) and the domain modules.
//!
//! Each command turns its flags into plain values (a [`HostsChoice`], a
//! [`KnownHostsPolicy`], a [`FaultMode`]...), calls domain code, and shows
//! what came back: lines, spinners and tables, through `ui`. The domain
//! modules never see the CLI's types and never print.
//!
//! [`HostsChoice`]: crate::hosts::HostsChoice
//! [`KnownHostsPolicy`]: crate::hosts::KnownHostsPolicy
//! [`FaultMode`]: crate::nemesis::FaultMode

mod check_cluster;
mod lab;
mod lab_pcs;
mod nodes;
mod preflight;
mod provision;
mod report;
mod run;
mod services;

use crate::cli::{Cli, Command, Target};
use crate::hosts::Inventory;
use crate::remote::RemoteOptions;

/// Runs one command; `Ok(false)` is a verdict of failure (already reported).
pub async fn run(cli: Cli) -> anyhow::Result<bool> {
    let target = cli.target;
    Ok(match cli.command {
        Command::Lab(command) => lab::run(command).await?,
        Command::CheckCluster => check_cluster::run(&target).await?,
        Command::Preflight => preflight::run(&target).await?,
        Command::Provision { dry_run } => provision::run(&target, dry_run).await?,
        Command::KillNode { node, mode } => nodes::kill(&target, &node, mode.into()).await?,
        Command::StartNode { node } => nodes::start(&target, &node).await?,
        Command::Services(command) => services::run(&target, command).await?,
        Command::Run(args) => run::run(&target, args).await?,
        Command::Report { run_dir } => report::run(&run_dir)?,
    })
}

/// The inventory `target` selects and how to reach its nodes.
fn reach(target: &Target) -> anyhow::Result<(Inventory, RemoteOptions)> {
    let inventory = Inventory::select(&target.hosts_choice())?;
    let options = RemoteOptions::new(&inventory, target.known_hosts());
    Ok((inventory, options))
}
