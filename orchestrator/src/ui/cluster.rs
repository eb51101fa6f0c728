//! The check-cluster table: PC, address, state as seen by each PC, load,
//! ownership, CQL; then the cluster-wide facts and the verdict.

use std::fmt::Write as _;

use super::{Render, table};
use crate::cluster::ClusterReport;

impl Render for ClusterReport {
    fn render(&self) -> String {
        let mut header = vec!["PC".to_string(), "address".to_string()];
        header.extend(
            self.observers
                .iter()
                .map(|observer| format!("seen by {}", observer.name)),
        );
        header.extend(["load", "owns", "CQL"].map(String::from));
        let mut rows = vec![header];
        for row in &self.nodes {
            let mut line = vec![row.name.clone(), row.address.to_string()];
            line.extend(row.seen.iter().map(|state| match state {
                Some(state) => state.to_string(),
                None => "?".to_string(),
            }));
            line.push(row.load.clone().unwrap_or_else(|| "?".to_string()));
            line.push(
                row.owns_percent
                    .map(|owns| format!("{owns:.1}%"))
                    .unwrap_or_else(|| "?".to_string()),
            );
            line.push(if row.cql { "ok" } else { "no answer" }.to_string());
            rows.push(line);
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Cluster {:?}: {} nodes expected, keyspace {} with replication factor {}",
            self.expected.name,
            self.nodes.len(),
            self.expected.keyspace,
            self.expected.replication_factor
        );
        out.push('\n');
        out.push_str(&table(&rows));
        out.push('\n');
        let names = if self.cluster_names.is_empty() {
            "unknown".to_string()
        } else {
            self.cluster_names
                .iter()
                .map(|name| format!("{name:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "cluster name:   {names}");
        let schema = match self.schema_versions.len() {
            0 => "unknown".to_string(),
            1 => "agreement (1 version)".to_string(),
            n => format!("DISAGREEMENT ({n} versions)"),
        };
        let _ = writeln!(out, "schema:         {schema}");
        let replication = self
            .replication
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "unknown".to_string());
        let _ = writeln!(
            out,
            "replication:    {} {replication}",
            self.expected.keyspace
        );
        let _ = writeln!(out, "checked in:     {:.1} s", self.took.as_secs_f64());
        out.push('\n');
        if self.is_whole() {
            let _ = writeln!(
                out,
                "✓ cluster whole: {n} nodes UN as seen by all {n}, one cluster name, schema agreement, \
                 {} at replication factor {}",
                self.expected.keyspace,
                self.expected.replication_factor,
                n = self.nodes.len()
            );
        } else {
            let _ = writeln!(out, "✗ cluster NOT whole:");
            for problem in &self.problems {
                let _ = writeln!(out, "  - {problem}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cluster::report::{assemble, tests::*};
    use test_support::assert_contains;

    #[test]
    fn a_whole_cluster_renders_its_table_and_verdict() {
        let report = assemble(&inventory(), whole(), Duration::from_secs(2));
        let text = report.render();
        assert_contains(
            &text,
            "PC   address    seen by PC1  seen by PC2  seen by PC3  load",
        );
        assert_contains(
            &text,
            "PC2  127.0.0.2  UN           UN           UN           120.5 KiB  100.0%  ok",
        );
        assert_contains(&text, "✓ cluster whole");
        assert_contains(&text, "SimpleStrategy {replication_factor=3}");
    }

    #[test]
    fn a_stopped_node_renders_its_problems() {
        let report = assemble(&inventory(), pc2_stopped(), Duration::from_secs(2));
        let text = report.render();
        assert_contains(&text, "✗ cluster NOT whole:");
        assert_contains(&text, "PC2  127.0.0.2  DN           ?            DN");
        assert_contains(&text, "  - PC2 (127.0.0.2) is DN as seen by PC1, PC3");
    }
}
