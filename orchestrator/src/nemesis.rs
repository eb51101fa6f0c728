//! The faults of the demonstration: take a Cassandra PC out, bring it back.
//!
//! Named after Jepsen's nemesis: the part that breaks things on purpose. A
//! fault is one of the node's own commands from the inventory (stop: drain
//! then stop; kill: SIGKILL; freeze: SIGSTOP; isolate: the PC drops its
//! Cassandra traffic, a pulled network cable), run over SSH or locally, so
//! the lab and the four PCs are broken the same way. Bringing a node back
//! undoes any of them: heal first (harmless when not isolated), then thaw (a
//! frozen node cannot start or stop), then start (harmless when it already
//! runs).
//!
//! Isolate needs a network of the node's own: nodes reached with the local
//! transport (the loopback lab) share this machine's network and loopback,
//! where no rule can cut one node off from the others faithfully, so it is
//! refused there ([`check_mode`]) before anything runs.
//!
//! Public API (stable, used by `scenario` and the `kill-node` / `start-node` commands):
//! - [`FaultMode`]: how a node is taken out; [`check_mode`]: can it be, on that node
//! - [`kill`] / [`start`]: run the fault / the recovery, report what ran
//! - [`wait_until_serving`]: bounded wait until peers see the node UN and it answers CQL

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::cluster::{self, ClusterError, Expectation};
use crate::hosts::{HostsError, Inventory, NodeSpec, Transport, Verb};
use crate::progress::Progress;
use crate::remote::{Remote, RemoteError, RemoteOptions};
use crate::wait;

/// A graceful stop drains (flushes every table) before stopping: it may
/// legitimately outlast an ordinary command's timeout.
const STOP_TIMEOUT_FLOOR: Duration = Duration::from_secs(150);

/// How long `kill-node` watches for the peers to notice (the failure
/// detector needs a few seconds for a crash, longer for a freeze).
pub const DETECTION_TIMEOUT: Duration = Duration::from_secs(90);

/// How long `start-node` waits for the node to serve again (a Cassandra
/// restart takes 10-30 s; replaying a large commit log takes longer).
pub const RECOVERY_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error(transparent)]
    Hosts(#[from] HostsError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(
        "{node}: isolate needs the virtual PCs (`demo lab up --pcs`) or real PCs: on the \
         loopback lab all nodes share one network; use --mode stop, kill or freeze here"
    )]
    IsolateNeedsOwnNetwork { node: String },
    #[error("{node} is UN for its peers but does not answer CQL after {}s: {reason}", waited.as_secs())]
    NoCql {
        node: String,
        waited: Duration,
        reason: String,
    },
}

/// How a node is taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Drain, then stop the node gracefully.
    Stop,
    /// SIGKILL: the node crashes.
    Kill,
    /// SIGSTOP: the node hangs; its connections stay open but silent.
    Freeze,
    /// The network cable pulled: the PC drops its Cassandra traffic to and from
    /// every other PC, SSH kept; a timer on the PC heals it after a bound.
    Isolate,
}

impl FaultMode {
    /// Every mode, in the order help texts list them.
    pub const ALL: [FaultMode; 4] = [
        FaultMode::Stop,
        FaultMode::Kill,
        FaultMode::Freeze,
        FaultMode::Isolate,
    ];

    /// The name the CLI and scenario files use.
    pub fn name(self) -> &'static str {
        verb_for(self).as_str()
    }
}

/// What a fault or a recovery ran, and what the node said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultReport {
    /// "PC2 (127.0.0.2)".
    pub node: String,
    /// The commands run, in order.
    pub commands: Vec<String>,
    /// Their combined output, trimmed.
    pub output: String,
    pub took: Duration,
}

/// The inventory verb that carries out `mode`.
pub fn verb_for(mode: FaultMode) -> Verb {
    match mode {
        FaultMode::Stop => Verb::Stop,
        FaultMode::Kill => Verb::Kill,
        FaultMode::Freeze => Verb::Freeze,
        FaultMode::Isolate => Verb::Isolate,
    }
}

/// Whether `mode` can be applied to `node` faithfully: isolate is refused on a
/// node reached with the local transport (it shares this machine's network).
pub fn check_mode(node: &NodeSpec, mode: FaultMode) -> Result<(), NemesisError> {
    if mode == FaultMode::Isolate && node.transport == Transport::Local {
        return Err(NemesisError::IsolateNeedsOwnNetwork { node: node.label() });
    }
    Ok(())
}

/// Takes `node` out with `mode`. Returns once the command ran; the peers
/// notice later (see [`cluster::wait_for_state`]).
pub async fn kill(
    inventory: &Inventory,
    node: &NodeSpec,
    mode: FaultMode,
    options: &RemoteOptions,
) -> Result<FaultReport, NemesisError> {
    check_mode(node, mode)?;
    let started = Instant::now();
    let mut options = options.clone();
    if mode == FaultMode::Stop {
        options.command_timeout = options.command_timeout.max(STOP_TIMEOUT_FLOOR);
    }
    let remote = Remote::connect(inventory, node, &options).await?;
    let command = node.command(verb_for(mode)).to_string();
    let outcome = remote.run_ok(&command).await;
    remote.close().await;
    let output = outcome?;
    Ok(FaultReport {
        node: node.label(),
        commands: vec![command],
        output: combined(&output.stdout, &output.stderr),
        took: started.elapsed(),
    })
}

/// Brings `node` back from any fault: heal, thaw, then start. Returns once the
/// start command ran; see [`wait_until_serving`] for the node being usable.
pub async fn start(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
) -> Result<FaultReport, NemesisError> {
    let started = Instant::now();
    let remote = Remote::connect(inventory, node, options).await?;
    let outcome = heal_thaw_start(&remote, node).await;
    remote.close().await;
    let (commands, output) = outcome?;
    Ok(FaultReport {
        node: node.label(),
        commands,
        output,
        took: started.elapsed(),
    })
}

async fn heal_thaw_start(
    remote: &Remote,
    node: &NodeSpec,
) -> Result<(Vec<String>, String), RemoteError> {
    let mut commands = Vec::new();
    let mut outputs = Vec::new();
    // Healing a node that is not isolated, or thawing one that is not frozen,
    // may "fail" (nothing to undo): only the start that follows decides.
    for verb in [Verb::Heal, Verb::Thaw] {
        let command = node.command(verb).to_string();
        let undone = remote.run(&command).await?;
        outputs.push(combined(&undone.stdout, &undone.stderr));
        commands.push(command);
    }
    let start = node.command(Verb::Start).to_string();
    let started = remote.run_ok(&start).await?;
    outputs.push(combined(&started.stdout, &started.stderr));
    commands.push(start);
    let output = outputs
        .into_iter()
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ok((commands, output))
}

fn combined(stdout: &str, stderr: &str) -> String {
    [stdout.trim(), stderr.trim()]
        .into_iter()
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits, at most `timeout`, until a peer sees `node` UN and `node` answers
/// CQL. Returns how long it took.
pub async fn wait_until_serving(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
    timeout: Duration,
    progress: Option<&dyn Progress>,
) -> Result<Duration, NemesisError> {
    let started = Instant::now();
    cluster::wait_for_state(inventory, node, Expectation::Up, options, timeout, progress).await?;
    if let Some(progress) = progress {
        progress.waiting(&format!("waiting for {} to answer CQL", node.label()));
    }
    let probe_timeout = cluster::cql_timeout(options);
    // The node gets at least one full probe, as late as the wait may be.
    let remaining = timeout.saturating_sub(started.elapsed()).max(probe_timeout);
    let answered = wait::until(remaining, Duration::from_secs(1), || async {
        match cluster::replication_via(node.address, &inventory.cluster.keyspace, probe_timeout)
            .await
        {
            Ok(_) => ControlFlow::Break(()),
            Err(reason) => ControlFlow::Continue(reason),
        }
    })
    .await;
    match answered {
        Ok(()) => Ok(started.elapsed()),
        Err(timed_out) => Err(NemesisError::NoCql {
            node: node.label(),
            waited: started.elapsed(),
            reason: timed_out
                .last
                .unwrap_or_else(|| format!("no CQL answer within {}s", probe_timeout.as_secs())),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn inventory(transport: &str) -> Inventory {
        let text = format!(
            "[cluster]\nname = \"c\"\nkeyspace = \"ks\"\nreplication_factor = 1\n\
             [[nodes]]\nname = \"PC2\"\naddress = \"10.77.0.2\"\nseed = true\ntransport = \"{transport}\"\n\
             [app]\naddress = \"10.77.0.4\"\nkafka_bootstrap = \"10.77.0.4:9092\"\n"
        );
        Inventory::parse(&text, Path::new("hosts.toml")).unwrap()
    }

    #[test]
    fn isolate_is_refused_on_a_node_sharing_this_machines_network() {
        let lab = inventory("local");
        let err = check_mode(&lab.nodes[0], FaultMode::Isolate)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "PC2 (10.77.0.2): isolate needs the virtual PCs (`demo lab up --pcs`) or real PCs"
            ) && err.contains("all nodes share one network"),
            "{err}"
        );
        for mode in [FaultMode::Stop, FaultMode::Kill, FaultMode::Freeze] {
            assert!(check_mode(&lab.nodes[0], mode).is_ok(), "{mode:?}");
        }
        let pcs = inventory("ssh");
        for mode in FaultMode::ALL {
            assert!(check_mode(&pcs.nodes[0], mode).is_ok(), "{mode:?}");
        }
    }

    #[test]
    fn each_mode_runs_the_inventory_verb_of_its_name() {
        let node = &inventory("ssh").nodes[0];
        assert_eq!(
            node.command(verb_for(FaultMode::Isolate)),
            "/opt/cassandra-demo/bin/isolate"
        );
        let names: Vec<&str> = FaultMode::ALL.iter().map(|mode| mode.name()).collect();
        assert_eq!(names, ["stop", "kill", "freeze", "isolate"]);
    }
}
