//! The judging of what the PCs said, with the failures the demonstration meets.

use std::path::Path;

use super::*;

fn inventory(transport: &str) -> Inventory {
    let mut text = String::from(
        "[cluster]\nname = \"iot_demo_cluster\"\nkeyspace = \"iot_demo\"\nreplication_factor = 3\n",
    );
    for n in 1..=3 {
        text.push_str(&format!(
            "[[nodes]]\nname = \"PC{n}\"\naddress = \"10.77.0.{n}\"\nseed = {}\ntransport = \"{transport}\"\n",
            n == 1
        ));
    }
    text.push_str("[app]\naddress = \"10.77.0.4\"\nkafka_bootstrap = \"10.77.0.4:9092\"\n");
    Inventory::parse(&text, Path::new("hosts.toml")).unwrap()
}

fn yaml(n: usize) -> String {
    format!(
        "cluster_name: 'iot_demo_cluster'\nseed_provider:\n  - class_name: x\n    parameters:\n      - seeds: \"10.77.0.1:7000\"\n\
listen_address: 10.77.0.{n}\nrpc_address: 10.77.0.{n}\n"
    )
}

fn facts(n: usize) -> Facts {
    Facts {
        java: JavaFact::Found {
            path: "/usr/bin/java".into(),
            major: Some(17),
            version_line: "openjdk version \"17.0.15\"".into(),
        },
        cassandra_version: Some("5.0.4".into()),
        cassandra_yaml: Some(yaml(n)),
        free_disk_kib: Some(50 * GIB_IN_KIB),
        memory_kib: Some((16 * GIB_IN_KIB, 8 * GIB_IN_KIB)),
    }
}

fn all_open() -> Vec<PortProbe> {
    (1..=3)
        .flat_map(|n| {
            NODE_PORTS.iter().map(move |(port, _)| PortProbe {
                address: format!("10.77.0.{n}").parse().unwrap(),
                port: *port,
                reach: Reach::Open,
            })
        })
        .collect()
}

fn healthy() -> (Vec<PcProbe>, FromHere) {
    let pcs = (1..=3)
        .map(|n| PcProbe {
            ssh: Ok(()),
            facts: Some(Ok(facts(n))),
            clock: Some(Ok(clock::Offset {
                offset_ms: 3,
                uncertainty_ms: 2,
            })),
            ports: Some(Ok(all_open())),
        })
        .collect();
    let here = FromHere {
        cql: vec![Reach::Open; 3],
        kafka: vec![("10.77.0.4:9092".into(), Reach::Open)],
    };
    (pcs, here)
}

fn failures(pcs: &[PcProbe], here: &FromHere) -> Vec<Check> {
    let checks = judge(&inventory("ssh"), pcs, here, &Limits::default());
    checks
        .into_iter()
        .filter(|check| check.verdict == Verdict::Fail)
        .collect()
}

fn set_reach(probe: &mut PcProbe, address: &str, port: u16, reach: Reach) {
    if let Some(Ok(probes)) = &mut probe.ports {
        for found in probes.iter_mut() {
            if found.address.to_string() == address && found.port == port {
                found.reach = reach.clone();
            }
        }
    }
}

#[test]
fn a_healthy_cluster_passes_every_check_once_per_pc() {
    let (pcs, here) = healthy();
    let checks = judge(&inventory("ssh"), &pcs, &here, &Limits::default());
    assert!(
        checks.iter().all(|check| check.verdict == Verdict::Pass),
        "{checks:#?}"
    );
    // Nine checks for each of the three PCs but Kafka, which is PC4's alone.
    assert_eq!(checks.len(), 8 * 3 + 1);
    assert_eq!(checks[0].kind, CheckKind::Ssh);
    assert_eq!(checks.last().map(|check| check.pc.as_str()), Some("PC4"));
    let ports = checks
        .iter()
        .find(|check| check.kind == CheckKind::Ports && check.pc == "PC2")
        .unwrap();
    assert_eq!(ports.detail, "open from PC1, PC2, PC3; CQL from PC4");
}

#[test]
fn a_node_not_running_is_named_with_how_to_start_it() {
    let (mut pcs, mut here) = healthy();
    for probe in &mut pcs {
        for (port, _) in NODE_PORTS {
            set_reach(probe, "10.77.0.2", port, Reach::Refused);
        }
    }
    here.cql[1] = Reach::Refused;
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let check = &failed[0];
    assert_eq!((check.kind, check.pc.as_str()), (CheckKind::Ports, "PC2"));
    assert!(
        check
            .detail
            .contains("7000 (storage), 9042 (CQL), 7199 (JMX) refused from every PC")
            && check.detail.contains("Cassandra is not running on PC2"),
        "{}",
        check.detail
    );
    assert!(
        check.remedy.contains("demo start-node 2"),
        "{}",
        check.remedy
    );
}

#[test]
fn a_firewall_dropping_one_pcs_storage_traffic_names_both_pcs_and_the_rule_to_add() {
    let (mut pcs, here) = healthy();
    set_reach(&mut pcs[2], "10.77.0.2", 7000, Reach::TimedOut);
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let check = &failed[0];
    assert_eq!(check.pc, "PC2");
    assert_eq!(
        check.detail,
        "10.77.0.2:7000 (storage) from PC3 timed out: a firewall drops it (on PC2, or on PC3 going out)"
    );
    assert!(
        check
            .remedy
            .contains("open it on PC2: `iptables -I INPUT -p tcp --dport 7000 -j ACCEPT`"),
        "{}",
        check.remedy
    );
}

#[test]
fn a_reject_rule_is_told_from_a_stopped_node() {
    let (mut pcs, here) = healthy();
    set_reach(&mut pcs[0], "10.77.0.3", 9042, Reach::Refused);
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .detail
            .contains("refused, though open on PC3 itself"),
        "{}",
        failed[0].detail
    );
}

#[test]
fn a_cluster_name_other_than_hosts_toml_s_is_named() {
    let (mut pcs, here) = healthy();
    if let Some(Ok(facts)) = &mut pcs[1].facts {
        facts.cassandra_yaml = Some(yaml(2).replace("iot_demo_cluster", "Test Cluster"));
    }
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].kind, failed[0].pc.as_str()),
        (CheckKind::Config, "PC2")
    );
    assert!(
        failed[0]
            .detail
            .ends_with("cluster_name is \"Test Cluster\", hosts.toml says \"iot_demo_cluster\""),
        "{}",
        failed[0].detail
    );
    assert!(failed[0].remedy.contains("demo provision"));
}

#[test]
fn a_clock_apart_fails_with_its_offset_and_ntp() {
    let (mut pcs, here) = healthy();
    pcs[2].clock = Some(Ok(clock::Offset {
        offset_ms: 2_004,
        uncertainty_ms: 3,
    }));
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].kind, failed[0].pc.as_str()),
        (CheckKind::Clock, "PC3")
    );
    assert!(
        failed[0]
            .detail
            .starts_with("+2004 ms from PC4 (± 3 ms), beyond ± 500 ms")
    );
    assert!(failed[0].remedy.contains("NTP"));
}

#[test]
fn a_missing_or_unfit_java_says_what_to_install() {
    let (mut pcs, here) = healthy();
    if let Some(Ok(facts)) = &mut pcs[0].facts {
        facts.java = JavaFact::Missing;
    }
    if let Some(Ok(facts)) = &mut pcs[1].facts {
        facts.java = JavaFact::Found {
            path: "/opt/jdk/bin/java".into(),
            major: Some(21),
            version_line: String::new(),
        };
    }
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].pc, "PC1");
    assert!(failed[0].detail.starts_with("no Java"));
    assert!(failed[1].detail.contains("Java 21"), "{}", failed[1].detail);
    assert!(failed[1].remedy.contains("openjdk-17"));
}

#[test]
fn versions_must_agree_and_be_installed() {
    let (mut pcs, here) = healthy();
    if let Some(Ok(facts)) = &mut pcs[1].facts {
        facts.cassandra_version = Some("5.0.3".into());
    }
    if let Some(Ok(facts)) = &mut pcs[2].facts {
        facts.cassandra_version = None;
    }
    let failed = failures(&pcs, &here);
    let details: Vec<&str> = failed.iter().map(|check| check.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "5.0.4 here, 5.0.3 on PC2",
            "5.0.3 here, 5.0.4 on PC1",
            "not installed: no /opt/cassandra-demo/cassandra/VERSION",
        ]
    );
    assert_eq!(failed[2].remedy, "run `demo provision`");
}

#[test]
fn a_pc_out_of_ssh_reach_fails_once_and_its_other_checks_wait() {
    let (mut pcs, here) = healthy();
    pcs[1] = PcProbe {
        ssh: Err(RemoteError::Unreachable {
            host: "PC2 (ssh root@10.77.0.2)".into(),
            detail: "Connection refused".into(),
        }),
        facts: None,
        clock: None,
        ports: None,
    };
    let checks = judge(&inventory("ssh"), &pcs, &here, &Limits::default());
    let of_pc2: Vec<(CheckKind, Verdict)> = checks
        .iter()
        .filter(|check| check.pc == "PC2")
        .map(|check| (check.kind, check.verdict))
        .collect();
    assert_eq!(of_pc2[0], (CheckKind::Ssh, Verdict::Fail));
    // Its ports are still tried from the others (and pass); the rest is not checked.
    assert!(of_pc2.contains(&(CheckKind::Ports, Verdict::Pass)));
    assert_eq!(
        of_pc2
            .iter()
            .filter(|(_, verdict)| *verdict == Verdict::Skip)
            .count(),
        6
    );
    assert!(
        checks[1].remedy.contains("sshd running"),
        "{}",
        checks[1].remedy
    );
}

#[test]
fn kafka_not_answering_fails_on_pc4() {
    let (pcs, mut here) = healthy();
    here.kafka[0].1 = Reach::Refused;
    let failed = failures(&pcs, &here);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].kind, failed[0].pc.as_str()),
        (CheckKind::Kafka, "PC4")
    );
    assert!(failed[0].detail.contains("Kafka is not running"));
}

#[test]
fn on_the_loopback_lab_what_does_not_apply_is_skipped_saying_so() {
    let lab = inventory("local");
    let pcs: Vec<PcProbe> = (1..=3)
        .map(|n| PcProbe {
            ssh: Ok(()),
            facts: Some(Ok(Facts {
                cassandra_version: None,
                cassandra_yaml: None,
                ..facts(n)
            })),
            clock: None,
            ports: None,
        })
        .collect();
    let (_, here) = healthy();
    let checks = judge(&lab, &pcs, &here, &Limits::default());
    assert!(
        checks.iter().all(|check| check.verdict != Verdict::Fail),
        "{checks:#?}"
    );
    let skipped: Vec<CheckKind> = checks
        .iter()
        .filter(|check| check.pc == "PC1" && check.verdict == Verdict::Skip)
        .map(|check| check.kind)
        .collect();
    assert_eq!(
        skipped,
        [
            CheckKind::Ssh,
            CheckKind::CassandraVersion,
            CheckKind::Clock,
            CheckKind::Config
        ]
    );
    assert!(
        checks
            .iter()
            .filter(|check| check.verdict == Verdict::Skip)
            .all(|check| check.detail.starts_with("loopback lab"))
    );
    // A lab node not running is still caught, from PC4's CQL probe.
    let mut down = here;
    down.cql[2] = Reach::Refused;
    let failed: Vec<Check> = judge(&lab, &pcs, &down, &Limits::default())
        .into_iter()
        .filter(|check| check.verdict == Verdict::Fail)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].detail.contains("Cassandra is not running on PC3"),
        "{}",
        failed[0].detail
    );
}
