//! `demo lab up | down | status | env`.

use super::lab_pcs;
use crate::cli::LabCommand;
use crate::lab::{self, layout::Layout};
use crate::ui::{Render, TermProgress};

pub async fn run(command: LabCommand) -> anyhow::Result<bool> {
    let layout = Layout::discover();
    // The virtual PCs: a different kind of lab, chosen by `up --pcs` and recorded in .lab.
    let pcs_up = lab::pcs::recorded(&layout.lab);
    match command {
        LabCommand::Up { pcs: true, bare } => lab_pcs::up(&layout, bare).await,
        LabCommand::Down { purge } if pcs_up => Ok(lab_pcs::down(&layout, purge).await?),
        LabCommand::Status if pcs_up => Ok(lab_pcs::status(&layout).await?),
        LabCommand::Up { pcs: false, .. } => {
            let ready = lab::up(&layout, &TermProgress::default()).await?;
            println!(
                "\nLab ready in {:.0}s.\n{}",
                ready.took.as_secs_f64(),
                ready.summary
            );
            Ok(true)
        }
        LabCommand::Down { purge } => {
            let down = lab::down(&layout, purge, &TermProgress::default()).await?;
            if down.stopped == 0 {
                println!("Nothing of the lab was running.");
            } else {
                println!("Stopped {} lab process(es).", down.stopped);
            }
            if let Some((cassandra_home, kafka_home)) = down.purged {
                println!(
                    "Lab data deleted (downloads kept in {} and {}).",
                    cassandra_home.display(),
                    kafka_home.display()
                );
            }
            Ok(true)
        }
        LabCommand::Status => {
            let report = lab::status(&layout);
            print!("{}", report.render());
            Ok(report.all_running())
        }
        LabCommand::Env => {
            print!("{}", lab::env_exports(&layout));
            Ok(true)
        }
    }
}
