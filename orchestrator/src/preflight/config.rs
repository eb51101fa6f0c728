//! Does each PC's cassandra.yaml say what hosts.toml says? The four settings that form
//! (or silently split) a multi-PC cluster: one `cluster_name`, the same seeds everywhere,
//! and the PC's own address as `listen_address` and `rpc_address`. Only those keys are
//! read, the way Cassandra's own file writes them (top-level `key: value`, the seeds as
//! `- seeds: "a:7000,b"` under `seed_provider`), so no YAML library is needed.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// What hosts.toml says this PC's cassandra.yaml must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub cluster_name: String,
    pub address: IpAddr,
    pub seeds: BTreeSet<IpAddr>,
}

/// The settings as the file has them (`None`: absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YamlSettings {
    pub cluster_name: Option<String>,
    pub listen_address: Option<String>,
    pub rpc_address: Option<String>,
    pub seeds: Option<String>,
}

/// A scalar without its comment and quotes.
fn scalar(value: &str) -> String {
    let value = value.trim();
    let value = match value.chars().next() {
        Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or(""),
        _ => value.split(" #").next().unwrap_or(value),
    };
    value.trim().to_string()
}

pub fn read(yaml: &str) -> YamlSettings {
    let mut settings = YamlSettings::default();
    for line in yaml.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let top_level = !line.starts_with([' ', '\t', '-']);
        if let Some((key, value)) = line.split_once(':') {
            let value = scalar(value);
            match key.trim() {
                "cluster_name" if top_level => settings.cluster_name = Some(value),
                "listen_address" if top_level => settings.listen_address = Some(value),
                "rpc_address" if top_level => settings.rpc_address = Some(value),
                "- seeds" | "seeds" if !top_level => settings.seeds = Some(value),
                _ => {}
            }
        }
    }
    settings
}

/// `"10.77.0.1:7000, 10.77.0.2"` → the addresses (ports dropped); `None` if one is not an IP.
fn seed_addresses(seeds: &str) -> Option<BTreeSet<IpAddr>> {
    seeds
        .split(',')
        .map(str::trim)
        .filter(|seed| !seed.is_empty())
        .map(|seed| {
            seed.parse::<IpAddr>().ok().or_else(|| {
                let (host, _port) = seed.rsplit_once(':')?;
                host.trim_matches(['[', ']']).parse().ok()
            })
        })
        .collect()
}

/// What differs from hosts.toml, one sentence each; empty when everything agrees.
pub fn mismatches(settings: &YamlSettings, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    match &settings.cluster_name {
        Some(name) if *name == expected.cluster_name => {}
        Some(name) => problems.push(format!(
            "cluster_name is {name:?}, hosts.toml says {:?}",
            expected.cluster_name
        )),
        None => problems.push("no cluster_name".into()),
    }
    for (key, value) in [
        ("listen_address", &settings.listen_address),
        ("rpc_address", &settings.rpc_address),
    ] {
        match value {
            Some(value) if value.parse::<IpAddr>().ok() == Some(expected.address) => {}
            Some(value) => problems.push(format!(
                "{key} is {value:?}, hosts.toml says {}",
                expected.address
            )),
            None => problems.push(format!("no {key} (hosts.toml says {})", expected.address)),
        }
    }
    let wanted = expected
        .seeds
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match &settings.seeds {
        Some(seeds) if seed_addresses(seeds).as_ref() == Some(&expected.seeds) => {}
        Some(seeds) => problems.push(format!("seeds are {seeds:?}, hosts.toml says {wanted}")),
        None => problems.push(format!("no seeds (hosts.toml says {wanted})")),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "# written by demo provision\n\
cluster_name: 'iot_demo_cluster'\n\
num_tokens: 16\n\
seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"10.77.0.1:7000\"\n\
listen_address: 10.77.0.2 # this PC\n\
# rpc_address: 0.0.0.0\n\
rpc_address: \"10.77.0.2\"\n\
client_encryption_options:\n  cluster_name: nested is ignored\n";

    fn expected() -> Expected {
        Expected {
            cluster_name: "iot_demo_cluster".into(),
            address: "10.77.0.2".parse().unwrap(),
            seeds: ["10.77.0.1".parse().unwrap()].into(),
        }
    }

    #[test]
    fn the_four_settings_are_read_as_cassandra_writes_them() {
        assert_eq!(
            read(YAML),
            YamlSettings {
                cluster_name: Some("iot_demo_cluster".into()),
                listen_address: Some("10.77.0.2".into()),
                rpc_address: Some("10.77.0.2".into()),
                seeds: Some("10.77.0.1:7000".into()),
            }
        );
        assert_eq!(mismatches(&read(YAML), &expected()), Vec::<String>::new());
    }

    #[test]
    fn each_difference_from_hosts_toml_is_named() {
        let yaml = YAML
            .replace("'iot_demo_cluster'", "'Test Cluster'")
            .replace("listen_address: 10.77.0.2", "listen_address: localhost")
            .replace("\"10.77.0.1:7000\"", "\"10.77.0.1,10.77.0.3\"");
        let problems = mismatches(&read(&yaml), &expected());
        assert_eq!(
            problems,
            vec![
                "cluster_name is \"Test Cluster\", hosts.toml says \"iot_demo_cluster\"",
                "listen_address is \"localhost\", hosts.toml says 10.77.0.2",
                "seeds are \"10.77.0.1,10.77.0.3\", hosts.toml says 10.77.0.1",
            ]
        );
        let empty = mismatches(&read(""), &expected());
        assert_eq!(empty.len(), 4, "{empty:?}");
    }
}
