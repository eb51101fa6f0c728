//! Writes `.lab/hosts.toml`: the lab described in the format of hosts.toml.
//!
//! Local transport instead of SSH, and the lab's own scripts instead of
//! `systemctl`; with it every conductor command runs on the lab (`--lab`)
//! exactly as on the four PCs.

use super::LabError;
use super::layout::{CLUSTER_NAME, KAFKA_BOOTSTRAP, Layout};

pub fn write_hosts_file(layout: &Layout) -> Result<(), LabError> {
    let path = layout.hosts_file();
    std::fs::write(&path, hosts_toml(layout))
        .map_err(LabError::io(format!("writing {}", path.display())))
}

/// TOML basic string with the escapes a path may need.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn hosts_toml(layout: &Layout) -> String {
    let nodetool = layout.cassandra_home().join("bin/nodetool");
    let mut out = format!(
        "# The local lab, in the format of hosts.toml. Written by `demo lab up`; used by `--lab`.\n\n\
[cluster]\nname = \"{CLUSTER_NAME}\"\nkeyspace = \"iot_demo\"\nreplication_factor = 3\n\n\
[ssh]\nuser = \"root\"\nknown_hosts = \"strict\"\nconnect_timeout_secs = 5\ncommand_timeout_secs = 120\n"
    );
    for node in layout.nodes() {
        let script = |verb: &str| toml_string(&node.script(verb).display().to_string());
        out.push_str(&format!(
            "\n[[nodes]]\nname = \"{name}\"\naddress = \"{address}\"\nseed = {seed}\ntransport = \"local\"\n\
[nodes.commands]\nnodetool = {nodetool}\nstart = {start}\nstop = {stop}\nkill = {kill}\nfreeze = {freeze}\nthaw = {thaw}\n",
            name = node.name(),
            address = node.address(),
            seed = node.index == 1,
            nodetool = toml_string(&format!("{} -h 127.0.0.1 -p {}", nodetool.display(), node.jmx_port())),
            start = script("start"),
            stop = script("stop"),
            kill = script("kill"),
            freeze = script("freeze"),
            thaw = script("thaw"),
        ));
    }
    out.push_str(&format!(
        "\n[app]\nname = \"PC4\"\naddress = \"127.0.0.1\"\nkafka_bootstrap = \"{KAFKA_BOOTSTRAP}\"\n\
api_listen = \"127.0.0.1:8080\"\napi_url = \"http://127.0.0.1:8080\"\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_inventory_is_valid_toml_with_three_local_nodes() {
        let layout = Layout::at(std::path::Path::new("/repo \"x\""));
        let parsed: toml::Value = toml::from_str(&hosts_toml(&layout)).unwrap();
        let nodes = parsed["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2]["address"].as_str(), Some("127.0.0.3"));
        assert_eq!(nodes[0]["seed"].as_bool(), Some(true));
        assert_eq!(nodes[1]["transport"].as_str(), Some("local"));
        let stop = nodes[1]["commands"]["stop"].as_str().unwrap();
        assert_eq!(stop, "/repo \"x\"/.lab/node2/bin/stop");
    }
}
