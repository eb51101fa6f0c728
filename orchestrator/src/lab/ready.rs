//! What "the lab is up" means, checked rather than hoped for.
//!
//! A node is ready when its CQL port answers; the cluster is ready when every
//! node sees every node UN in `nodetool status`. Each wait has a timeout and
//! a progress bar, and a node that does not come up is reported with the tail
//! of its `system.log`, which is where the reason always is.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::LabError;
use super::cassandra::NODE_START_TIMEOUT;
use super::layout::{CQL_PORT, Layout, NODE_COUNT, NodeLayout};
use crate::progress::Progress;
use crate::wait;

/// Once every CQL port answers, gossip needs a few seconds to agree.
const RING_TIMEOUT: Duration = Duration::from_secs(90);

/// Waits for a TCP port, or fails with the tail of `log`.
pub async fn wait_for_port(
    what: &str,
    address: &str,
    port: u16,
    timeout: Duration,
    log: &Path,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    progress.waiting(&format!("Waiting for {what} on {address}:{port}"));
    let target = format!("{address}:{port}");
    let answered = wait::until(timeout, Duration::from_millis(250), || async {
        let attempt = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect(&target),
        )
        .await;
        match attempt {
            Ok(Ok(_)) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    })
    .await;
    match answered {
        Ok(()) => {
            progress.step(&format!("✓ {what} answers on {address}:{port}"));
            Ok(())
        }
        Err(_) => Err(LabError::NotReady {
            what: format!("{what} ({address}:{port})"),
            timeout,
            log_tail: Some((log.to_path_buf(), tail(log, 30))),
        }),
    }
}

pub async fn wait_for_node_cql(
    node: &NodeLayout,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    wait_for_port(
        &format!("Cassandra {}", node.name()),
        &node.address(),
        CQL_PORT,
        timeout,
        &node.system_log(),
        progress,
    )
    .await
}

/// Every node answers CQL, and sees all nodes UN.
pub async fn wait_for_cluster(layout: &Layout, progress: &dyn Progress) -> Result<(), LabError> {
    for node in layout.nodes() {
        wait_for_node_cql(&node, NODE_START_TIMEOUT, progress).await?;
    }
    let nodetool = layout.cassandra_home().join("bin/nodetool");
    progress.waiting("Waiting until every node sees every node UN");
    let whole = wait::until(RING_TIMEOUT, Duration::from_secs(1), || async {
        for node in layout.nodes() {
            let (up_normal, view) = up_normal_count(&nodetool, &node).await;
            if up_normal != NODE_COUNT {
                return ControlFlow::Continue(format!(
                    "{} sees {up_normal}/{NODE_COUNT} nodes UN:\n{view}",
                    node.name()
                ));
            }
        }
        ControlFlow::Break(())
    })
    .await;
    match whole {
        Ok(()) => {
            progress.step(&format!(
                "✓ All {NODE_COUNT} nodes are UN, as seen from each node"
            ));
            Ok(())
        }
        Err(timed_out) => Err(LabError::NotReady {
            what: format!("the ring ({})", timed_out.last.unwrap_or_default()),
            timeout: RING_TIMEOUT,
            log_tail: None,
        }),
    }
}

/// How many `UN` lines `nodetool status` shows from `node`, and the output.
async fn up_normal_count(nodetool: &PathBuf, node: &NodeLayout) -> (usize, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(nodetool)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &node.jmx_port().to_string(),
                "status",
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await;
    match output {
        Ok(Ok(output)) => {
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let count = text.lines().filter(|line| line.starts_with("UN ")).count();
            (count, text)
        }
        Ok(Err(e)) => (0, format!("nodetool could not run: {e}")),
        Err(_) => (0, "nodetool did not answer within 30 s".into()),
    }
}

/// The last `lines` lines of a log file (empty when it does not exist).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("system.log");
        std::fs::write(&log, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&log, 2), "c\nd");
        assert_eq!(tail(&dir.path().join("missing"), 2), "");
    }
}
