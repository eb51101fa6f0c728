//! `demo run SCENARIO`: loads and checks the scenario file, brings the
//! loopback lab up when asked (the virtual PCs, when they are the lab, are
//! used as they are), runs the preflight checks (unless `--no-preflight`), then hands
//! the run to the scenario conductor.

use anyhow::{Context, bail};

use crate::cli::{RunArgs, Target};
use crate::hosts::Inventory;
use crate::nemesis;
use crate::nemesis::FaultMode;
use crate::paths;
use crate::remote::RemoteOptions;
use crate::scenario::chaos;
use crate::scenario::model::Scenario;
use crate::scenario::step::{Action, KillMode, ModeChoice};
use crate::scenario::{Fleet, Run, RunOptions, parse};
use crate::ui::TermProgress;

/// True when every step passed.
pub async fn run(target: &Target, args: RunArgs) -> anyhow::Result<bool> {
    let scenario = parse::load(&args.scenario)?;
    if target.lab && crate::lab::pcs::recorded(&paths::lab_dir()) {
        println!("lab: the virtual PCs (.lab/hosts.toml), reached over SSH");
    } else if target.lab {
        println!("lab: checking that it is up (bringing it up if needed)...");
        crate::lab::ensure_up(&TermProgress::default())
            .await
            .context("bringing the lab up")?;
    }
    let inventory = Inventory::select(&target.hosts_choice())?;
    let mut scenario = scenario;
    let seed = draw_choices(&args, &mut scenario, &inventory)?;
    check_nodes(&args, &scenario, &inventory)?;
    let pace = pace(&scenario, target.lab)?;
    let remote = RemoteOptions::new(&inventory, target.known_hosts());
    if args.no_preflight {
        println!("preflight: skipped (--no-preflight)");
    } else if !super::preflight::check(&inventory, &remote).await {
        bail!(
            "preflight found what would break the demonstration (the ✗ rows above): fix it, \
             or run with --no-preflight to go ahead anyway"
        );
    }
    let options = RunOptions {
        presenter: args.presenter,
        keep: args.keep,
        mode_override: args.mode.map(Into::into),
        pace,
        target: if target.lab {
            "lab".to_owned()
        } else {
            inventory.path.display().to_string()
        },
        runs_dir: paths::project_root().join("runs"),
        seed,
        exit_after_verdict: args.exit_after_verdict,
        contrast: args.contrast,
        lang: args.lang.map(Into::into),
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

/// Draws the scenario's random choices (if it has any) from `--seed`, the file's seed
/// or a fresh one, and prints the seed and what it drew; the seed, for the journal.
fn draw_choices(
    args: &RunArgs,
    scenario: &mut Scenario,
    inventory: &Inventory,
) -> anyhow::Result<Option<u64>> {
    if !chaos::has_choices(scenario) {
        return Ok(None);
    }
    let seed = args
        .seed
        .or(scenario.settings.seed)
        .unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let names: Vec<String> = inventory
        .nodes
        .iter()
        .map(|node| node.name.clone())
        .collect();
    // A mode is possible when every node allows it (the loopback lab refuses isolate).
    let modes: Vec<FaultMode> = FaultMode::ALL
        .into_iter()
        .filter(|mode| {
            inventory
                .nodes
                .iter()
                .all(|node| nemesis::check_mode(node, *mode).is_ok())
        })
        .collect();
    let drawn = chaos::draw(scenario, seed, &names, &modes)
        .with_context(|| format!("{}", args.scenario.display()))?;
    println!(
        "chaos: seed {seed} (replay with --seed {seed}): {}",
        drawn
            .iter()
            .map(|choice| match &choice.mode {
                Some(mode) => format!("step {} {} {mode}", choice.step, choice.node),
                None => format!("step {} {}", choice.step, choice.node),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Some(seed))
}

/// Every node the scenario names must be in the inventory, and every fault
/// (`--mode` applied) possible on its node, before anything runs.
fn check_nodes(args: &RunArgs, scenario: &Scenario, inventory: &Inventory) -> anyhow::Result<()> {
    let mode_override = args.mode.map(|mode| KillMode::Fault(mode.into()));
    for step in &scenario.steps {
        // The fault this step will run, `--mode` applied.
        let fault = match &step.action {
            Action::KillNode(kill) => match (mode_override, kill.mode) {
                (Some(KillMode::Fault(mode)), _)
                | (None, ModeChoice::Given(KillMode::Fault(mode))) => Some(mode),
                _ => None,
            },
            _ => None,
        };
        for arg in step.action.node_args() {
            let checked = inventory
                .node(&arg.node.to_string())
                .map_err(anyhow::Error::from)
                .and_then(|node| match fault {
                    Some(mode) => Ok(nemesis::check_mode(node, mode)?),
                    None => Ok(()),
                });
            if let Err(err) = checked {
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
