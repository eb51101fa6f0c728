//! `demo services up | status`: one line per service, its pid, whether it
//! runs, what `up` did to it and its health.

use std::fmt::Write as _;

use super::table;
use crate::app::{ServiceStatus, UpReport};

/// The services table; `report` says which ones `up` started or found up
/// (empty for `status`).
pub fn services_table(statuses: &[ServiceStatus], report: &UpReport) -> String {
    let mut rows = vec![
        ["service", "pid", "running", "", "health"]
            .map(String::from)
            .to_vec(),
    ];
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
        let running = if status.alive { "yes" } else { "no" };
        rows.push(vec![
            status.service.name().to_owned(),
            pid,
            running.to_owned(),
            note.to_owned(),
            health,
        ]);
    }
    table(&rows)
}
