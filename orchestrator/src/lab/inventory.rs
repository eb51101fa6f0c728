//! Writes `.lab/hosts.toml`: the lab described in the format of hosts.toml.
//!
//! Local transport instead of SSH, and the lab's own scripts instead of
//! `systemctl`; with it every conductor command runs on the lab (`--lab`)
//! exactly as on the four PCs.

use toml::Spanned;

use super::LabError;
use super::layout::{CLUSTER_NAME, KAFKA_BOOTSTRAP, Layout};
use crate::hosts::{
    KnownHostsPolicy, RawApp, RawCluster, RawCommands, RawInventory, RawNode, RawSsh, Transport,
};

pub fn write_hosts_file(layout: &Layout) -> Result<(), LabError> {
    let path = layout.hosts_file();
    let text = hosts_toml(layout).map_err(|err| LabError::Io {
        what: format!("writing {}", path.display()),
        source: std::io::Error::other(err),
    })?;
    std::fs::write(&path, text).map_err(LabError::io(format!("writing {}", path.display())))
}

/// A value written, not read: it points nowhere in a file.
fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

fn hosts_toml(layout: &Layout) -> Result<String, toml::ser::Error> {
    let nodetool = layout.cassandra_home().join("bin/nodetool");
    let nodes = layout
        .nodes()
        .into_iter()
        .map(|node| {
            let script = |verb: &str| Some(node.script(verb).display().to_string());
            RawNode {
                name: unplaced(node.name()),
                address: unplaced(node.address()),
                seed: node.index == 1,
                transport: Some(Transport::Local),
                ssh_host: None,
                ssh_port: None,
                ssh_user: None,
                commands: RawCommands {
                    nodetool: Some(format!(
                        "{} -h 127.0.0.1 -p {}",
                        nodetool.display(),
                        node.jmx_port()
                    )),
                    start: script("start"),
                    stop: script("stop"),
                    kill: script("kill"),
                    freeze: script("freeze"),
                    thaw: script("thaw"),
                    isolate: script("isolate"),
                    heal: script("heal"),
                },
            }
        })
        .collect();
    let inventory = RawInventory {
        cluster: RawCluster {
            name: unplaced(CLUSTER_NAME.to_owned()),
            keyspace: unplaced("iot_demo".to_owned()),
            replication_factor: unplaced(3),
        },
        ssh: RawSsh {
            user: Some("root".to_owned()),
            identity_file: None,
            known_hosts: Some(KnownHostsPolicy::Strict),
            known_hosts_file: None,
            config_file: None,
            connect_timeout_secs: Some(unplaced(5)),
            command_timeout_secs: Some(unplaced(120)),
        },
        nodes: unplaced(nodes),
        install: None,
        app: RawApp {
            name: "PC4".to_owned(),
            address: unplaced("127.0.0.1".to_owned()),
            kafka_bootstrap: unplaced(KAFKA_BOOTSTRAP.to_owned()),
            api_listen: Some(unplaced("127.0.0.1:8080".to_owned())),
            api_url: Some("http://127.0.0.1:8080".to_owned()),
        },
    };
    Ok(format!(
        "# The local lab, in the format of hosts.toml. Written by `demo lab up`; used by `--lab`.\n\n{}",
        toml::to_string(&inventory)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_inventory_is_valid_toml_with_three_local_nodes() {
        let layout = Layout::at(std::path::Path::new("/repo \"x\""));
        let text = hosts_toml(&layout).unwrap();
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let nodes = parsed["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2]["address"].as_str(), Some("127.0.0.3"));
        assert_eq!(nodes[0]["seed"].as_bool(), Some(true));
        assert_eq!(nodes[1]["transport"].as_str(), Some("local"));
        let stop = nodes[1]["commands"]["stop"].as_str().unwrap();
        assert_eq!(stop, "/repo \"x\"/.lab/node2/bin/stop");
        let inventory = crate::hosts::Inventory::parse(&text, std::path::Path::new("hosts.toml"))
            .expect("the lab's inventory is a valid hosts file");
        assert_eq!(inventory.nodes[1].command(crate::hosts::Verb::Stop), stop);
        assert_eq!(inventory.nodes[0].transport, Transport::Local);
        assert_eq!(inventory.app.api_url, "http://127.0.0.1:8080");
        assert_eq!(inventory.ssh.command_timeout.as_secs(), 120);
    }
}
