//! Writes `.lab/hosts.toml` for the virtual PCs, in the format of hosts.toml: SSH to each
//! PC's own address as root with the lab's key, host keys checked strictly against the
//! lab's known_hosts, `ssh -F none` so a developer's ~/.ssh/config cannot redirect or
//! rename anything, and the app PC (Kafka, the services) at the bridge's address.

use std::path::Path;

use super::{PcsError, PcsPlan};
use crate::lab::layout::CASSANDRA_HEAP_MB;

/// The cluster name the PCs' Cassandra will be provisioned with (as on real PCs).
const CLUSTER_NAME: &str = "iot_demo_cluster";

pub fn write(plan: &PcsPlan, path: &Path) -> Result<(), PcsError> {
    std::fs::write(path, hosts_toml(plan))
        .map_err(PcsError::io(format!("writing {}", path.display())))
}

/// TOML basic string with the escapes a path may need.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The inventory text; key paths are relative to the file (which lives in `.lab/`).
pub fn hosts_toml(plan: &PcsPlan) -> String {
    let app = plan.app_address();
    let mut out = format!(
        "# The virtual PCs, in the format of hosts.toml. Written by `demo lab up --pcs`; used by `--lab`.\n\n\
[cluster]\nname = \"{CLUSTER_NAME}\"\nkeyspace = \"iot_demo\"\nreplication_factor = {rf}\n\n\
[ssh]\nuser = \"root\"\nidentity_file = \"pcs/id_ed25519\"\nknown_hosts = \"strict\"\n\
known_hosts_file = \"pcs/known_hosts\"\n\
# Ignore ~/.ssh/config: the PCs are reached exactly as written here.\nconfig_file = \"none\"\n\
connect_timeout_secs = 5\ncommand_timeout_secs = 120\n\n\
[install]\n# The same path on every PC; each virtual PC sees its own directory there.\npath = {path}\n\
# Three PCs share this machine: each node's heap is kept as small as the loopback lab's.\nheap_mb = {CASSANDRA_HEAP_MB}\n",
        rf = plan.count.min(3),
        path = toml_string(&plan.install_path.display().to_string()),
    );
    for index in plan.indexes() {
        out.push_str(&format!(
            "\n[[nodes]]\nname = \"PC{index}\"\naddress = \"{address}\"\nseed = {seed}\ntransport = \"ssh\"\n\
# Its commands are the defaults: the control commands `demo provision` installs at\n\
# [install].path/bin/<verb>.\n",
            address = plan.pc_address(index),
            seed = index == 1,
        ));
    }
    out.push_str(&format!(
        "\n[app]\nname = \"PC{app_index}\"\naddress = \"{app}\"\nkafka_bootstrap = \"{app}:9092\"\n\
api_listen = \"{app}:8080\"\napi_url = \"http://{app}:8080\"\n",
        app_index = plan.count + 1,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{Inventory, KnownHostsPolicy, Transport, Verb};

    #[test]
    fn the_pcs_inventory_parses_with_the_projects_parser() {
        let path = Path::new("/repo/.lab/hosts.toml");
        let inventory = Inventory::parse(&hosts_toml(&PcsPlan::default()), path).unwrap();
        assert_eq!(inventory.nodes.len(), 3);
        for (index, node) in inventory.nodes.iter().enumerate() {
            let n = index + 1;
            assert_eq!(node.name, format!("PC{n}"));
            assert_eq!(node.address.to_string(), format!("10.77.0.{n}"));
            assert_eq!(node.ssh_host, format!("10.77.0.{n}"));
            assert_eq!(node.transport, Transport::Ssh);
            assert_eq!(node.ssh_user.as_deref(), Some("root"));
            assert_eq!(node.seed, n == 1);
            assert_eq!(node.command(Verb::Kill), "/opt/cassandra-demo/bin/kill");
            assert_eq!(
                node.nodetool("status"),
                "/opt/cassandra-demo/bin/nodetool status"
            );
        }
        let ssh = &inventory.ssh;
        assert_eq!(ssh.known_hosts, KnownHostsPolicy::Strict);
        assert_eq!(
            ssh.identity_file.as_deref(),
            Some(Path::new("/repo/.lab/pcs/id_ed25519"))
        );
        assert_eq!(
            ssh.known_hosts_file.as_deref(),
            Some(Path::new("/repo/.lab/pcs/known_hosts"))
        );
        assert_eq!(ssh.config_file.as_deref(), Some(Path::new("none")));
        assert_eq!(inventory.app.name, "PC4");
        assert_eq!(inventory.app.address, "10.77.0.4");
        assert_eq!(inventory.app.kafka_bootstrap, "10.77.0.4:9092");
        assert_eq!(inventory.app.api_listen, "10.77.0.4:8080");
        assert_eq!(inventory.cluster.replication_factor, 3);
        assert_eq!(inventory.install.heap_mb, Some(CASSANDRA_HEAP_MB));
        assert_eq!(inventory.install.path, Path::new("/opt/cassandra-demo"));
    }

    #[test]
    fn another_plan_gives_its_own_addresses() {
        let plan = PcsPlan {
            subnet: "10.88.5.0/24".parse().unwrap(),
            count: 4,
            install_path: "/srv/demo \"x\"".into(),
            ..PcsPlan::default()
        };
        let inventory = Inventory::parse(&hosts_toml(&plan), Path::new("h.toml")).unwrap();
        assert_eq!(inventory.nodes.len(), 4);
        assert_eq!(inventory.nodes[3].address.to_string(), "10.88.5.4");
        assert_eq!(inventory.app.name, "PC5");
        assert_eq!(inventory.app.address, "10.88.5.5");
        assert_eq!(
            inventory.nodes[0].command(Verb::Start),
            "/srv/demo \"x\"/bin/start"
        );
    }
}
