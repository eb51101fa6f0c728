//! `demo services up | down | status`: the app PC's services by hand.

use crate::app::{self, START_TIMEOUT, Service, ServicesPlan, Stopped, UpReport};
use crate::cli::{ServicesCommand, Target};
use crate::hosts::Inventory;
use crate::ui::{self, services_table};

pub async fn run(target: &Target, command: ServicesCommand) -> anyhow::Result<bool> {
    let inventory = Inventory::select(&target.hosts_choice())?;
    let mut plan = ServicesPlan::from_inventory(&inventory);
    match command {
        ServicesCommand::Up { contrast } => {
            plan.contrast = contrast;
            let spinner = ui::spinner("");
            let report = app::up(&plan, START_TIMEOUT, &|message| {
                spinner.set_message(message.to_owned())
            })
            .await;
            spinner.finish_and_clear();
            let report = report?;
            for warning in &report.warnings {
                println!("warning: {warning}");
            }
            print!("{}", services_table(&app::status(&plan).await, &report));
            println!("dashboard: {}", plan.dashboard_url());
            println!("logs and pid files: {}", plan.state.path.display());
            Ok(true)
        }
        ServicesCommand::Down => {
            for (service, outcome) in app::down(&plan.state, &Service::STOP_ORDER).await? {
                if service == Service::ContrastIngest && outcome == Stopped::NotRunning {
                    continue;
                }
                let what = match outcome {
                    Stopped::Gracefully => "stopped",
                    Stopped::Killed => "killed (did not exit after SIGTERM)",
                    Stopped::NotRunning => "was not running",
                };
                println!("{:<10} {what}", service.name());
            }
            Ok(true)
        }
        ServicesCommand::Status => {
            let statuses = app::status(&plan).await;
            print!("{}", services_table(&statuses, &UpReport::default()));
            let all_well = statuses
                .iter()
                .all(|status| status.alive && status.health.is_ok());
            if !all_well {
                println!(
                    "not every service is running and healthy (start them with `demo services up`)"
                );
            }
            Ok(all_well)
        }
    }
}
