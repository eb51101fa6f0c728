//! Conducting a scenario: the demonstration as a TOML file of narrated steps.
//!
//! Like a Chaos Toolkit experiment, a run checks the steady state, injects the
//! fault, checks again, and keeps a journal; like a Jepsen test, it ends with a
//! checker's verdict on the history (the producer's ledger against Cassandra).
//!
//! `parse` reads and checks the file into `model`'s types; `step` has one
//! file per step kind (its keys, its parse, what it does) and the one list of
//! kinds is `contract::events::StepKind`; `runner` conducts the run over the
//! state the steps share (`context`, private behind methods); `fleet` reaches
//! the Cassandra PCs, `probe` the API; `ui`, `journal` and `events` report it
//! to the presenter (in the scenario's language), to the run directory and to
//! the dashboard (facts, which the page words in its own).

mod context;
pub mod events;
mod fleet;
pub mod journal;
pub mod model;
pub mod parse;
pub mod probe;
mod runner;
pub mod step;
pub mod ui;

use anyhow::{Context, bail};

use crate::cli::{RunArgs, Target};
use crate::hosts::Inventory;
use crate::paths;
use crate::remote::RemoteOptions;
use fleet::Fleet;
use model::Scenario;
use runner::{Run, RunOptions};

/// `demo run SCENARIO`: true when every step passed.
pub async fn command(target: &Target, args: RunArgs) -> anyhow::Result<bool> {
    let scenario = parse::load(&args.scenario)?;
    if target.lab {
        println!("lab: checking that it is up (bringing it up if needed)...");
        crate::lab::ensure_up()
            .await
            .context("bringing the lab up")?;
    }
    let inventory = Inventory::from_target(target)?;
    check_nodes(&args, &scenario, &inventory)?;
    let pace = pace(&scenario, target.lab)?;
    let remote = RemoteOptions::new(&inventory, target);
    let options = RunOptions {
        presenter: args.presenter,
        keep: args.keep,
        mode_override: args.mode,
        pace,
        target: if target.lab {
            "lab".to_owned()
        } else {
            inventory.path.display().to_string()
        },
        runs_dir: paths::project_root().join("runs"),
    };
    let run = Run::prepare(
        &args.scenario,
        scenario,
        Fleet { inventory, remote },
        options,
    )
    .await?;
    Ok(run.conduct().await)
}

/// Every node the scenario names must be in the inventory, before anything runs.
fn check_nodes(args: &RunArgs, scenario: &Scenario, inventory: &Inventory) -> anyhow::Result<()> {
    for step in &scenario.steps {
        for arg in step.action.node_args() {
            if let Err(err) = inventory.node(&arg.node.to_string()) {
                bail!(
                    "{}:{}:{}: step {} ({}): {err}",
                    args.scenario.display(),
                    arg.at.line,
                    arg.at.column,
                    step.number,
                    step.action.kind()
                );
            }
        }
    }
    Ok(())
}

/// The factor applied to pauses and continuity windows: `$DEMO_PACE` if set,
/// else the scenario's `lab_pace` on the lab, else 1.
fn pace(scenario: &Scenario, lab: bool) -> anyhow::Result<f64> {
    match std::env::var("DEMO_PACE") {
        Ok(text) => {
            let pace: f64 = text
                .trim()
                .parse()
                .with_context(|| format!("DEMO_PACE={text:?} is not a number"))?;
            if !(pace.is_finite() && pace > 0.0 && pace <= 10.0) {
                bail!("DEMO_PACE must be above 0 and at most 10, not {pace}");
            }
            Ok(pace)
        }
        Err(_) if lab => Ok(scenario.settings.lab_pace),
        Err(_) => Ok(1.0),
    }
}
