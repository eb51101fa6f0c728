//! `demo lab status`: one line per lab process, its state and its ports.

use super::{Render, table};
use crate::lab::StatusReport;

impl Render for StatusReport {
    fn render(&self) -> String {
        let mut rows = vec![["PROCESS", "STATE", "PORTS"].map(String::from).to_vec()];
        for row in &self.rows {
            let state = match (row.pid, row.state) {
                (None, _) => "stopped".to_string(),
                (Some(pid), Some('T')) => format!("FROZEN (pid {pid})"),
                (Some(pid), _) => format!("running (pid {pid})"),
            };
            let ports: Vec<String> = row
                .ports
                .iter()
                .map(|(address, port, open)| {
                    format!("{address}:{port} {}", if *open { "open" } else { "closed" })
                })
                .collect();
            rows.push(vec![row.name.clone(), state, ports.join(", ")]);
        }
        table(&rows)
    }
}
