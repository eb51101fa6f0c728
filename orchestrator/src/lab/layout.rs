//! Where every part of the lab lives and which ports it uses.
//!
//! One place fixes the addresses, ports and directories so that the
//! configuration writers, the control scripts, the readiness checks and
//! `lab status` can never disagree.

use std::path::{Path, PathBuf};

use super::LabError;
use crate::paths;

pub const CASSANDRA_VERSION: &str = "5.0.6";
pub const KAFKA_VERSION: &str = "4.1.1";
pub const CLUSTER_NAME: &str = "iot_demo_lab";
pub const KAFKA_BOOTSTRAP: &str = "127.0.0.1:9092";
pub const KAFKA_ADDRESS: &str = "127.0.0.1";
pub const KAFKA_PORT: u16 = 9092;
pub const KAFKA_CONTROLLER_PORT: u16 = 9093;
pub const CQL_PORT: u16 = crate::node_config::CQL_PORT;
pub const STORAGE_PORT: u16 = crate::node_config::STORAGE_PORT;
pub const NODE_COUNT: usize = 3;
/// Heap of each Cassandra node: three of them and Kafka must fit in a few GiB.
pub const CASSANDRA_HEAP_MB: u32 = 512;
pub const KAFKA_HEAP_MB: u32 = 384;

/// One lab Cassandra node.
#[derive(Debug, Clone)]
pub struct NodeLayout {
    /// 1-based, as in "PC1".
    pub index: usize,
    pub dir: PathBuf,
}

impl NodeLayout {
    pub fn name(&self) -> String {
        format!("PC{}", self.index)
    }

    /// Each node has its own loopback address, so the usual ports are shared.
    pub fn address(&self) -> String {
        format!("127.0.0.{}", self.index)
    }

    /// JMX listens on 127.0.0.1 for every node, so each needs its own port.
    pub fn jmx_port(&self) -> u16 {
        7099 + 100 * self.index as u16
    }

    /// Evenly spaced Murmur3 tokens: nodes join without bootstrap streaming,
    /// so all three can start together.
    pub fn initial_token(&self) -> i64 {
        let step = (u64::MAX / NODE_COUNT as u64) as i128;
        (i64::MIN as i128 + step * (self.index as i128 - 1)) as i64
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("cassandra.pid")
    }

    pub fn system_log(&self) -> PathBuf {
        self.dir.join("logs/system.log")
    }

    pub fn script(&self, verb: &str) -> PathBuf {
        self.dir.join("bin").join(verb)
    }
}

/// The lab's directories.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub lab: PathBuf,
}

impl Layout {
    pub fn discover() -> Self {
        Self::at(&paths::project_root())
    }

    pub fn at(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            lab: root.join(".lab"),
        }
    }

    /// The Cassandra "distribution" assembled from Maven: lib/, conf/, bin/
    /// (kept by `lab down --purge`).
    pub fn cassandra_home(&self) -> PathBuf {
        self.lab.join("cassandra")
    }

    /// The Kafka distribution assembled from Maven (kept by `--purge`).
    pub fn kafka_home(&self) -> PathBuf {
        self.lab.join("kafka-home")
    }

    pub fn kafka_dir(&self) -> PathBuf {
        self.lab.join("kafka")
    }

    pub fn kafka_pid_file(&self) -> PathBuf {
        self.kafka_dir().join("kafka.pid")
    }

    pub fn kafka_log(&self) -> PathBuf {
        self.kafka_dir().join("logs/server.log")
    }

    pub fn kafka_script(&self, verb: &str) -> PathBuf {
        self.kafka_dir().join("bin").join(verb)
    }

    pub fn nodes(&self) -> Vec<NodeLayout> {
        (1..=NODE_COUNT)
            .map(|index| NodeLayout {
                index,
                dir: self.lab.join(format!("node{index}")),
            })
            .collect()
    }

    pub fn nodes_addresses(&self) -> Vec<String> {
        self.nodes().iter().map(NodeLayout::address).collect()
    }

    /// Cassandra nodes plus the Kafka broker.
    pub fn process_count(&self) -> usize {
        NODE_COUNT + 1
    }

    pub fn hosts_file(&self) -> PathBuf {
        self.lab.join("hosts.toml")
    }

    /// Deletes node and broker data; downloads stay.
    pub fn purge_data(&self) -> Result<(), LabError> {
        for node in self.nodes() {
            remove_dir_if_present(&node.dir)?;
        }
        remove_dir_if_present(&self.kafka_dir())?;
        let hosts = self.hosts_file();
        if hosts.exists() {
            std::fs::remove_file(&hosts)
                .map_err(LabError::io(format!("removing {}", hosts.display())))?;
        }
        Ok(())
    }

    /// Where everything is, printed once the lab is ready.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for node in self.nodes() {
            out.push_str(&format!(
                "  {}  Cassandra {}:{}  JMX 127.0.0.1:{}  log {}\n",
                node.name(),
                node.address(),
                CQL_PORT,
                node.jmx_port(),
                node.system_log().display()
            ));
        }
        out.push_str(&format!(
            "  Kafka {KAFKA_BOOTSTRAP}  log {}\n",
            self.kafka_log().display()
        ));
        out.push_str(&format!(
            "  Inventory for --lab: {}\n  Tools: eval \"$(cargo run -q -- lab env)\" puts nodetool and cqlsh on PATH\n",
            self.hosts_file().display()
        ));
        out
    }
}

fn remove_dir_if_present(dir: &Path) -> Result<(), LabError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(LabError::io(format!("removing {}", dir.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_evenly_spaced_and_distinct() {
        let layout = Layout::at(Path::new("/x"));
        let tokens: Vec<i64> = layout
            .nodes()
            .iter()
            .map(NodeLayout::initial_token)
            .collect();
        assert_eq!(tokens[0], i64::MIN);
        assert!(tokens[0] < tokens[1] && tokens[1] < tokens[2]);
        let gap1 = tokens[1] as i128 - tokens[0] as i128;
        let gap2 = tokens[2] as i128 - tokens[1] as i128;
        assert_eq!(gap1, gap2);
    }

    #[test]
    fn each_node_has_its_own_address_and_jmx_port() {
        let layout = Layout::at(Path::new("/x"));
        let nodes = layout.nodes();
        assert_eq!(nodes[1].address(), "127.0.0.2");
        assert_eq!(nodes[1].name(), "PC2");
        let ports: Vec<u16> = nodes.iter().map(NodeLayout::jmx_port).collect();
        assert_eq!(ports, vec![7199, 7299, 7399]);
    }
}
