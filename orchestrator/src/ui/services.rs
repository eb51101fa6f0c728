//! `demo services up | status`: one line per service, its pid, whether it
//! runs, what `up` did to it and its health.

use std::fmt::Write as _;

use crate::app::{ServiceStatus, UpReport};

/// The services table; `report` says which ones `up` started or found up
/// (empty for `status`).
pub fn services_table(statuses: &[ServiceStatus], report: &UpReport) -> String {
    let mut out = format!(
        "{:<9} {:>8}  {:<7}  {:<9}  health\n",
        "service", "pid", "running", ""
    );
    for status in statuses {
        let pid = status
            .state
            .as_ref()
            .filter(|_| status.alive)
            .map_or("-".to_owned(), |state| state.pid.to_string());
        let note = if report.started.contains(&status.service) {
            "started"
        } else if report.already_running.contains(&status.service) {
            "was up"
        } else {
            ""
        };
        let mut health = status.health.describe();
        if let Some(ledger) = status
            .state
            .as_ref()
            .and_then(|state| state.ledger.as_ref())
        {
            let _ = write!(health, ", ledger {}", ledger.display());
        }
        let _ = writeln!(
            out,
            "{:<9} {pid:>8}  {:<7}  {note:<9}  {health}",
            status.service.name(),
            if status.alive { "yes" } else { "no" },
        );
    }
    out
}
