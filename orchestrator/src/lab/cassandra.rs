//! The lab's Cassandra nodes on this machine: their files and their start order.
//!
//! Each lab node is described as a [`NodeConfig`] (its loopback address, its own JMX
//! port, a fixed token) and its `cassandra.yaml`, `logback.xml` and control scripts
//! (`bin/start`, `stop`, `kill`, `freeze`, `thaw`) come from `node_config`, the same
//! writer `demo provision` uses for the PCs. The conductor runs those scripts through
//! `.lab/hosts.toml` exactly as it runs them on the real PCs, so the lab exercises the
//! same code paths.

use std::time::Duration;

use super::layout::{CASSANDRA_HEAP_MB, CLUSTER_NAME, Layout, NodeLayout};
use super::process::{self, Java};
use super::ready;
use super::{LabError, run_script, write_file};
use crate::node_config::{self, Jmx, NODE_DIRS, NodeConfig, Tokens};
use crate::progress::Progress;

/// A node that has not opened its CQL port by then is reported with its log.
pub const NODE_START_TIMEOUT: Duration = Duration::from_secs(180);

/// Writes every node's configuration and scripts, plus the shared `nodetool`.
/// Rewritten on each `lab up`, so a checkout that moved keeps working.
pub fn write_node_files(layout: &Layout, java: &Java) -> Result<(), LabError> {
    let home = layout.cassandra_home();
    let logback_tools = home.join("conf/logback-tools.xml");
    write_file(&logback_tools, node_config::LOGBACK_TOOLS, false)?;
    let nodetool = home.join("bin/nodetool");
    write_file(
        &nodetool,
        &node_config::nodetool_script(
            &java.binary,
            &home,
            &logback_tools,
            "nodetool for the lab (-h 127.0.0.1 -p 7199|7299|7399 picks the node; default PC1).",
        ),
        true,
    )?;
    if let Some(cqlsh) = process::find_cqlsh(layout) {
        write_file(
            &home.join("bin/cqlsh"),
            &format!("#!/bin/sh\nexec '{}' \"$@\"\n", cqlsh.display()),
            true,
        )?;
    }
    for node in layout.nodes() {
        for sub in NODE_DIRS {
            let dir = node.dir.join(sub);
            std::fs::create_dir_all(&dir)
                .map_err(LabError::io(format!("creating {}", dir.display())))?;
        }
        for file in node_config(layout, &node, java).files(&nodetool) {
            write_file(&file.path, &file.content, file.executable)?;
        }
        write_file(&node.script("isolate"), &isolate_script(&node), true)?;
        write_file(&node.script("heal"), &heal_script(&node), true)?;
    }
    Ok(())
}

/// A lab node as the shared writer sees it.
fn node_config(layout: &Layout, node: &NodeLayout, java: &Java) -> NodeConfig {
    let home = layout.cassandra_home();
    NodeConfig {
        name: node.name(),
        written_by: format!(
            "Lab node {}: written by `demo lab up`, rewritten on every start.",
            node.name()
        ),
        cluster_name: CLUSTER_NAME.to_string(),
        address: node.address(),
        seeds: vec![layout.nodes()[0].address()],
        dir: node.dir.clone(),
        jamm_jar: process::find_jar(&home.join("lib"), "jamm-").and_then(|jar| {
            jar.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        }),
        home,
        java: java.binary.clone(),
        heap_mb: CASSANDRA_HEAP_MB,
        jmx: Jmx::Local(node.jmx_port()),
        tokens: Tokens::Fixed(node.initial_token()),
    }
}

/// Starts the seed first, then the other nodes together once it answers:
/// they learn the ring from the seed.
pub async fn start_seed_then_others(
    layout: &Layout,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    let nodes = layout.nodes();
    let Some((seed, others)) = nodes.split_first() else {
        return Ok(());
    };
    run_script(&seed.script("start"), LabError::Prerequisite).await?;
    ready::wait_for_node_cql(seed, NODE_START_TIMEOUT, progress).await?;
    for node in others {
        run_script(&node.script("start"), LabError::Prerequisite).await?;
    }
    Ok(())
}

/// The loopback lab cannot isolate a node (all share one network and loopback; the
/// conductor refuses it before running this): said plainly to whoever runs it by hand.
fn isolate_script(node: &NodeLayout) -> String {
    format!(
        "#!/bin/sh\n# {name} cannot be isolated on the loopback lab.\n\
echo \"isolate needs the virtual PCs (demo lab up --pcs) or real PCs: on the loopback lab all nodes share one network\" >&2\nexit 2\n",
        name = node.name(),
    )
}

/// Nothing is ever isolated on the loopback lab: healing (which `start-node` always
/// runs first) has nothing to undo.
fn heal_script(node: &NodeLayout) -> String {
    format!(
        "#!/bin/sh\n# {name} is never isolated on the loopback lab: nothing to heal.\nexit 0\n",
        name = node.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_lab_refuses_isolate_and_heals_harmlessly() {
        let layout = Layout::at(Path::new("/repo"));
        let node = &layout.nodes()[1];
        let run = |script: String| {
            std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .expect("sh")
        };
        let isolate = run(isolate_script(node));
        assert_eq!(isolate.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&isolate.stderr).contains("demo lab up --pcs"));
        let heal = run(heal_script(node));
        assert!(heal.status.success() && heal.stdout.is_empty());
    }

    #[test]
    fn yaml_names_the_node_address_and_seed() {
        let layout = Layout::at(Path::new("/repo"));
        let node = &layout.nodes()[1];
        let java = Java {
            binary: "/usr/bin/java".into(),
        };
        let yaml = node_config(&layout, node, &java).cassandra_yaml();
        assert!(yaml.contains("listen_address: 127.0.0.2\n"));
        assert!(yaml.contains("rpc_address: 127.0.0.2\n"));
        assert!(yaml.contains("seeds: \"127.0.0.1:7000\""));
        assert!(yaml.contains(&format!("cluster_name: {CLUSTER_NAME}\n")));
        assert!(yaml.contains("/repo/.lab/node2/data"));
        assert!(
            yaml.contains("endpoint_snitch: GossipingPropertyFileSnitch\ndynamic_snitch: false\n")
        );
        assert!(yaml.contains("auto_bootstrap: false\n"));
    }
}
