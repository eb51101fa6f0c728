//! Judges the observations of every PC into a [`ClusterReport`]: the table's
//! rows and every problem that keeps the cluster from being whole.
//!
//! Pure: it takes what `observe` gathered and does no I/O, so every rule is
//! unit-tested here with nodetool text.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use super::{ClusterReport, NodeRow, ObserverReport, Replication};
use crate::hosts::{ClusterSpec, Inventory, NodeSpec};
use crate::nodetool::{self, NodeState};

/// The report on `observers`, as `inventory` expects the cluster to be.
pub(crate) fn assemble(
    inventory: &Inventory,
    observers: Vec<ObserverReport>,
    took: Duration,
) -> ClusterReport {
    let expected = inventory.cluster.clone();
    let mut problems = Vec::new();
    for observer in &observers {
        if let Err(err) = &observer.status {
            problems.push(format!("{}: no nodetool status: {err}", observer.name));
        }
    }
    let nodes: Vec<NodeRow> = inventory
        .nodes
        .iter()
        .map(|node| node_row(node, &observers))
        .collect();
    for (node, row) in inventory.nodes.iter().zip(&nodes) {
        state_problems(node, row, &observers, &mut problems);
    }
    unknown_node_problems(inventory, &observers, &mut problems);

    let mut cluster_names = BTreeSet::new();
    let mut schema_versions = BTreeSet::new();
    for observer in &observers {
        match &observer.describe {
            // Already reported: its nodetool status failed.
            Err(_) if observer.status.is_err() => {}
            Err(err) => problems.push(format!(
                "{}: no nodetool describecluster: {err}",
                observer.name
            )),
            Ok(described) => {
                cluster_names.insert(described.name.clone());
                if described.name != expected.name {
                    problems.push(format!(
                        "{} belongs to cluster {:?}, expected {:?}",
                        observer.name, described.name, expected.name
                    ));
                }
                schema_versions.extend(
                    described
                        .schema_versions
                        .iter()
                        .map(|schema| schema.version.clone()),
                );
            }
        }
    }
    unreachable_problems(inventory, &observers, &nodes, &mut problems);
    if schema_versions.len() > 1 {
        problems.push(format!(
            "schema disagreement: {} schema versions ({})",
            schema_versions.len(),
            schema_versions
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let replication = replication_problems(&expected, &observers, &mut problems);
    ClusterReport {
        expected,
        observers,
        nodes,
        cluster_names,
        schema_versions,
        replication,
        problems,
        took,
    }
}

fn node_row(node: &NodeSpec, observers: &[ObserverReport]) -> NodeRow {
    let rows: Vec<Option<&nodetool::StatusRow>> = observers
        .iter()
        .map(|observer| observer.status.as_ref().ok()?.row(node.address))
        .collect();
    // The node's own view first: its load is freshest there.
    let own = observers.iter().position(|o| o.address == node.address);
    let ordered = own
        .and_then(|index| rows[index])
        .into_iter()
        .chain(rows.iter().flatten().copied());
    let mut load = None;
    let mut owns_percent = None;
    for row in ordered {
        if load.is_none() {
            load = row.load.as_ref().map(|load| load.text.clone());
        }
        if owns_percent.is_none() {
            owns_percent = row.owns_percent;
        }
    }
    NodeRow {
        name: node.name.clone(),
        address: node.address,
        seen: rows.iter().map(|row| row.map(|row| row.state)).collect(),
        load,
        owns_percent,
        cql: own.is_some_and(|index| observers[index].replication.is_ok()),
    }
}

/// "PC2 (127.0.0.2) is DN as seen by PC1, PC3", one line per distinct state.
fn state_problems(
    node: &NodeSpec,
    row: &NodeRow,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) {
    let mut by_state: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (observer, seen) in observers.iter().zip(&row.seen) {
        if observer.status.is_err() {
            continue;
        }
        let state = match seen {
            Some(state) if *state == NodeState::UN => continue,
            Some(state) => format!("is {state}"),
            None => "is missing".to_string(),
        };
        by_state.entry(state).or_default().push(&observer.name);
    }
    for (state, seen_by) in by_state {
        problems.push(format!(
            "{} {state} as seen by {}",
            node.label(),
            seen_by.join(", ")
        ));
    }
    if !row.cql {
        let why = observers
            .iter()
            .find(|observer| observer.address == node.address)
            .and_then(|observer| observer.replication.as_ref().err())
            .cloned()
            .unwrap_or_default();
        problems.push(format!("{} does not answer CQL: {why}", node.label()));
    }
}

/// Endpoints describecluster calls unreachable although nodetool status
/// shows every observer's view of them UN (gossip and the failure detector
/// disagree for a moment, or a node is partitioned from some peers only).
fn unreachable_problems(
    inventory: &Inventory,
    observers: &[ObserverReport],
    nodes: &[NodeRow],
    problems: &mut Vec<String>,
) {
    for observer in observers {
        let Ok(described) = &observer.describe else {
            continue;
        };
        for endpoint in &described.unreachable {
            let address = nodetool::endpoint_ip(endpoint);
            let already_reported = nodes.iter().any(|row| {
                Some(row.address) == address && row.seen.iter().any(|s| *s != Some(NodeState::UN))
            });
            if !already_reported {
                let name = address
                    .and_then(|address| inventory.node_by_address(address))
                    .map(NodeSpec::label)
                    .unwrap_or_else(|| endpoint.clone());
                problems.push(format!(
                    "{} cannot reach {name} (describecluster)",
                    observer.name
                ));
            }
        }
    }
}

/// Ring members the hosts file does not know about.
fn unknown_node_problems(
    inventory: &Inventory,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) {
    let mut unknown: BTreeMap<IpAddr, Vec<&str>> = BTreeMap::new();
    for observer in observers {
        let Ok(status) = &observer.status else {
            continue;
        };
        for row in &status.rows {
            if inventory.node_by_address(row.address).is_none() {
                unknown.entry(row.address).or_default().push(&observer.name);
            }
        }
    }
    for (address, seen_by) in unknown {
        problems.push(format!(
            "{address} is in the ring (seen by {}) but not in {}",
            seen_by.join(", "),
            inventory.path.display()
        ));
    }
}

fn replication_problems(
    expected: &ClusterSpec,
    observers: &[ObserverReport],
    problems: &mut Vec<String>,
) -> Option<Replication> {
    let answers: Vec<(&str, &Option<Replication>)> = observers
        .iter()
        .filter_map(|observer| Some((observer.name.as_str(), observer.replication.as_ref().ok()?)))
        .collect();
    let Some((_, first)) = answers.first() else {
        problems.push(format!(
            "replication of {} unknown: no node answered CQL",
            expected.keyspace
        ));
        return None;
    };
    let distinct: BTreeSet<String> = answers
        .iter()
        .map(|(_, replication)| describe_replication(replication))
        .collect();
    if distinct.len() > 1 {
        let views: Vec<String> = answers
            .iter()
            .map(|(name, replication)| format!("{name}: {}", describe_replication(replication)))
            .collect();
        problems.push(format!(
            "nodes disagree on {}'s replication ({})",
            expected.keyspace,
            views.join("; ")
        ));
    }
    match first {
        None => problems.push(format!("keyspace {} does not exist", expected.keyspace)),
        Some(replication) if !replication.has_factor(expected.replication_factor) => {
            problems.push(format!(
                "keyspace {} is replicated {replication}, expected replication factor {}",
                expected.keyspace, expected.replication_factor
            ))
        }
        Some(_) => {}
    }
    (*first).clone()
}

fn describe_replication(replication: &Option<Replication>) -> String {
    replication
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "no such keyspace".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nodetool::{DescribeCluster, Status};
    use std::path::Path;
    use test_support::assert_contains;

    pub(crate) fn inventory() -> Inventory {
        Inventory::parse(crate::hosts::tests::LAB, Path::new("hosts.toml")).unwrap()
    }

    pub(crate) fn status(states: &[(&str, &str)]) -> Status {
        let mut text = String::from(
            "Datacenter: datacenter1\n--  Address    Load       Token  Owns (effective)  Host ID  Rack\n",
        );
        for (state, address) in states {
            text.push_str(&format!(
                "{state}  {address}  120.5 KiB  -9223372036854775808  100.0%  id  rack1\n"
            ));
        }
        nodetool::parse_status(&text).unwrap()
    }

    pub(crate) fn describe(name: &str, version: &str) -> DescribeCluster {
        nodetool::parse_describecluster(&format!(
            "Cluster Information:\n\tName: {name}\n\tSchema versions:\n\t\t{version}: [127.0.0.1, 127.0.0.2, 127.0.0.3]\n"
        ))
        .unwrap()
    }

    pub(crate) fn simple(rf: &str) -> Replication {
        Replication {
            class: "SimpleStrategy".to_string(),
            options: [("replication_factor".to_string(), rf.to_string())].into(),
        }
    }

    pub(crate) fn observer(
        name: &str,
        address: &str,
        status: Result<Status, String>,
    ) -> ObserverReport {
        ObserverReport {
            name: name.to_string(),
            address: address.parse().unwrap(),
            status,
            describe: Ok(describe("iot_demo_lab", "v1")),
            replication: Ok(Some(simple("3"))),
        }
    }

    pub(crate) fn all_up() -> Status {
        status(&[
            ("UN", "127.0.0.1"),
            ("UN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
        ])
    }

    /// Every PC sees every PC UN, and answers CQL with RF 3.
    pub(crate) fn whole() -> Vec<ObserverReport> {
        vec![
            observer("PC1", "127.0.0.1", Ok(all_up())),
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ]
    }

    /// PC2 stopped: its peers see it DN, its own nodetool and CQL fail.
    pub(crate) fn pc2_stopped() -> Vec<ObserverReport> {
        let down = status(&[
            ("UN", "127.0.0.1"),
            ("DN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
        ]);
        let mut pc2 = observer(
            "PC2",
            "127.0.0.2",
            Err("PC2 (local): nodetool failed".into()),
        );
        pc2.describe = Err("PC2 (local): nodetool failed".into());
        pc2.replication = Err("CQL connection to 127.0.0.2:9042 failed".into());
        vec![
            observer("PC1", "127.0.0.1", Ok(down.clone())),
            pc2,
            observer("PC3", "127.0.0.3", Ok(down)),
        ]
    }

    #[test]
    fn a_whole_cluster_has_no_problem() {
        let report = assemble(&inventory(), whole(), Duration::from_secs(2));
        assert!(report.is_whole(), "{:?}", report.problems);
        assert_eq!(report.schema_versions.len(), 1);
        assert_eq!(report.replication, Some(simple("3")));
    }

    #[test]
    fn a_stopped_node_is_reported_once_per_state() {
        let report = assemble(&inventory(), pc2_stopped(), Duration::from_secs(2));
        assert!(!report.is_whole());
        assert_eq!(
            report.nodes[1].seen,
            [Some(NodeState::DN), None, Some(NodeState::DN)]
        );
        assert!(!report.nodes[1].cql);
        let problems = report.problems.join("\n");
        assert_contains(&problems, "PC2 (127.0.0.2) is DN as seen by PC1, PC3");
        assert_contains(&problems, "PC2 (127.0.0.2) does not answer CQL");
        assert_contains(&problems, "PC2: no nodetool status");
    }

    #[test]
    fn wrong_name_schema_split_rf_and_strangers_are_problems() {
        let with_stranger = status(&[
            ("UN", "127.0.0.1"),
            ("UN", "127.0.0.2"),
            ("UN", "127.0.0.3"),
            ("UN", "127.0.0.9"),
        ]);
        let mut pc1 = observer("PC1", "127.0.0.1", Ok(with_stranger));
        pc1.describe = Ok(describe("Test Cluster", "v1"));
        let mut pc2 = observer("PC2", "127.0.0.2", Ok(all_up()));
        pc2.describe = Ok(describe("iot_demo_lab", "v2"));
        pc2.replication = Ok(Some(simple("2")));
        let pc3 = observer("PC3", "127.0.0.3", Ok(all_up()));
        let report = assemble(&inventory(), vec![pc1, pc2, pc3], Duration::from_secs(1));
        let problems = report.problems.join("\n");
        assert_contains(
            &problems,
            "PC1 belongs to cluster \"Test Cluster\", expected \"iot_demo_lab\"",
        );
        assert_contains(&problems, "schema disagreement: 2 schema versions (v1, v2)");
        assert_contains(
            &problems,
            "127.0.0.9 is in the ring (seen by PC1) but not in hosts.toml",
        );
        assert_contains(&problems, "nodes disagree on iot_demo's replication");
    }

    #[test]
    fn missing_keyspace_and_wrong_factor() {
        let mut observers = vec![
            observer("PC1", "127.0.0.1", Ok(all_up())),
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ];
        for o in &mut observers {
            o.replication = Ok(None);
        }
        let report = assemble(&inventory(), observers.clone(), Duration::ZERO);
        assert_eq!(report.problems, ["keyspace iot_demo does not exist"]);
        for o in &mut observers {
            o.replication = Ok(Some(simple("1")));
        }
        let report = assemble(&inventory(), observers, Duration::ZERO);
        assert_eq!(
            report.problems,
            [
                "keyspace iot_demo is replicated SimpleStrategy {replication_factor=1}, expected replication factor 3"
            ]
        );
    }

    #[test]
    fn unreachable_only_in_describecluster_is_a_problem() {
        let mut pc1 = observer("PC1", "127.0.0.1", Ok(all_up()));
        pc1.describe = Ok(nodetool::parse_describecluster(
            "Cluster Information:\n\tName: iot_demo_lab\n\tSchema versions:\n\t\tv1: [127.0.0.1, 127.0.0.2]\n\n\t\tUNREACHABLE: [127.0.0.3]\n",
        )
        .unwrap());
        let observers = vec![
            pc1,
            observer("PC2", "127.0.0.2", Ok(all_up())),
            observer("PC3", "127.0.0.3", Ok(all_up())),
        ];
        let report = assemble(&inventory(), observers, Duration::ZERO);
        assert_eq!(
            report.problems,
            ["PC1 cannot reach PC3 (127.0.0.3) (describecluster)"]
        );
    }
}
