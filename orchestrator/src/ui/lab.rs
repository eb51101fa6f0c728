//! `demo lab status`: one line per lab process, its state and its ports.

use super::Render;
use crate::lab::{StatusReport, StatusRow};

impl Render for StatusReport {
    fn render(&self) -> String {
        let mut out = format!("{:<16} {:<22} {}\n", "PROCESS", "STATE", "PORTS");
        for StatusRow {
            name,
            pid,
            state,
            ports,
        } in &self.rows
        {
            let state = match (pid, state) {
                (None, _) => "stopped".to_string(),
                (Some(pid), Some('T')) => format!("FROZEN (pid {pid})"),
                (Some(pid), _) => format!("running (pid {pid})"),
            };
            let ports: Vec<String> = ports
                .iter()
                .map(|(address, port, open)| {
                    format!("{address}:{port} {}", if *open { "open" } else { "closed" })
                })
                .collect();
            out.push_str(&format!("{name:<16} {state:<22} {}\n", ports.join(", ")));
        }
        out
    }
}
