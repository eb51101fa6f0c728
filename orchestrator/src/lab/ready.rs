//! What "the lab is up" means, checked rather than hoped for.
//!
//! A node is ready when its CQL port answers; the cluster is ready when every
//! node sees every node UN in `nodetool status`. Each wait has a timeout and
//! a progress bar, and a node that does not come up is reported with the tail
//! of its `system.log`, which is where the reason always is.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::LabError;
use super::cassandra::NODE_START_TIMEOUT;
use super::layout::{CQL_PORT, Layout, NODE_COUNT, NodeLayout};

/// Once every CQL port answers, gossip needs a few seconds to agree.
const RING_TIMEOUT: Duration = Duration::from_secs(90);

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(message);
    bar
}

/// Waits for a TCP port, or fails with the tail of `log`.
pub async fn wait_for_port(
    what: &str,
    address: &str,
    port: u16,
    timeout: Duration,
    log: &Path,
) -> Result<(), LabError> {
    let bar = spinner(format!("Waiting for {what} on {address}:{port}"));
    let result = poll_port(address, port, timeout).await;
    bar.finish_and_clear();
    if result {
        println!("✓ {what} answers on {address}:{port}");
        Ok(())
    } else {
        Err(LabError::NotReady {
            what: format!("{what} ({address}:{port})"),
            timeout,
            log_tail: Some((log.to_path_buf(), tail(log, 30))),
        })
    }
}

async fn poll_port(address: &str, port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let target = format!("{address}:{port}");
    while Instant::now() < deadline {
        let attempt = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect(&target),
        )
        .await;
        if matches!(attempt, Ok(Ok(_))) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

pub async fn wait_for_node_cql(node: &NodeLayout, timeout: Duration) -> Result<(), LabError> {
    wait_for_port(
        &format!("Cassandra {}", node.name()),
        &node.address(),
        CQL_PORT,
        timeout,
        &node.system_log(),
    )
    .await
}

/// Every node answers CQL, and sees all nodes UN.
pub async fn wait_for_cluster(layout: &Layout) -> Result<(), LabError> {
    for node in layout.nodes() {
        wait_for_node_cql(&node, NODE_START_TIMEOUT).await?;
    }
    let nodetool = layout.cassandra_home().join("bin/nodetool");
    let bar = spinner("Waiting until every node sees every node UN".into());
    let deadline = Instant::now() + RING_TIMEOUT;
    let mut last_view = String::new();
    loop {
        let mut all_whole = true;
        for node in layout.nodes() {
            let (up_normal, view) = up_normal_count(&nodetool, &node).await;
            if up_normal != NODE_COUNT {
                all_whole = false;
                last_view = format!(
                    "{} sees {up_normal}/{NODE_COUNT} nodes UN:\n{view}",
                    node.name()
                );
                break;
            }
        }
        if all_whole {
            bar.finish_and_clear();
            println!("✓ All {NODE_COUNT} nodes are UN, as seen from each node");
            return Ok(());
        }
        if Instant::now() >= deadline {
            bar.finish_and_clear();
            return Err(LabError::NotReady {
                what: format!("the ring ({last_view})"),
                timeout: RING_TIMEOUT,
                log_tail: None,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
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
