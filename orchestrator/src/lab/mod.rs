//! The lab: a real three-node Cassandra cluster and a Kafka broker on this machine.
//!
//! Everything the demonstration does to the four PCs can be rehearsed and
//! tested here: three Cassandra nodes on 127.0.0.1-3 (one JVM each, heaps
//! capped), one KRaft Kafka broker on 127.0.0.1:9092, everything under `.lab/`.
//! The lab writes `.lab/hosts.toml` with local transport, so every conductor
//! command runs against it exactly as against the PCs (`--lab`).
//!
//! Submodules: `layout` (where things live, ports), `fetch` (Maven downloads),
//! `cassandra` and `kafka` (configuration and control scripts), `process`
//! (pids, ports, stopping), `ready` (what "up" means: waits and checks),
//! `schema` (applying schema.cql), `inventory` (writing `.lab/hosts.toml`).
//! Nothing here prints: `up` and `down` tell their progress to a
//! [`Progress`] and return what they did; `demo lab` (`commands::lab`) shows it.
//! The other kind of lab, virtual PCs reached over SSH (`lab up --pcs`), is `pcs`
//! (printed by `commands::lab_pcs`); `.lab/pcs/state.toml` records that it is up.

mod cassandra;
pub(crate) mod fetch;
mod inventory;
pub(crate) mod kafka;
pub mod layout;
pub mod pcs;
pub(crate) mod process;
mod ready;
pub mod schema;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::progress::Progress;
use layout::Layout;
pub(crate) use process::parse_java_major;
pub use process::{StatusReport, StatusRow};

/// What can go wrong while running the lab; every message says what to do.
#[derive(Debug, Error)]
pub enum LabError {
    #[error("{0}")]
    Prerequisite(String),
    #[error("could not fetch {what} with Maven: {detail}")]
    Fetch { what: String, detail: String },
    #[error("port {port} on {address} is already taken{}", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortTaken {
        address: String,
        port: u16,
        holder: Option<String>,
    },
    #[error("{what} did not become ready within {}s{}", timeout.as_secs(), log_tail.as_ref().map(|t| format!("\n--- last lines of {} ---\n{}", t.0.display(), t.1)).unwrap_or_default())]
    NotReady {
        what: String,
        timeout: Duration,
        log_tail: Option<(PathBuf, String)>,
    },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("applying schema.cql: {0}")]
    Schema(String),
    #[error("kafka: {0}")]
    Kafka(String),
    #[error(transparent)]
    Pcs(#[from] pcs::PcsError),
}

impl LabError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let what = what.into();
        move |source| LabError::Io { what, source }
    }
}

/// Brings the lab up unless it already is; used by `demo run --lab` and tests.
pub async fn ensure_up(progress: &dyn Progress) -> Result<LabReady, LabError> {
    up(&Layout::discover(), progress).await
}

/// A lab that is up: how long it took and where everything is.
#[derive(Debug, Clone)]
pub struct LabReady {
    pub took: Duration,
    /// Where each node, the broker and the inventory are (several lines).
    pub summary: String,
}

/// Builds the virtual PCs (`lab up --pcs`), refusing while the loopback lab
/// runs: both would own `.lab/hosts.toml`.
pub async fn up_pcs(layout: &Layout) -> Result<pcs::PcsReady, LabError> {
    let running = process::running_processes(layout);
    if !running.is_empty() {
        let names: Vec<String> = running
            .iter()
            .map(|(p, pid)| format!("{} (pid {pid})", p.name))
            .collect();
        return Err(LabError::Prerequisite(format!(
            "the loopback lab is running ({}) and owns .lab/hosts.toml: stop it with \
             `demo lab down` before building virtual PCs",
            names.join(", ")
        )));
    }
    Ok(pcs::up(&pcs::PcsPlan::default(), &layout.lab).await?)
}

/// Stops the app PC's Kafka that `demo provision` started (by its pid file); how many ran.
pub async fn stop_app_kafka(layout: &Layout, progress: &dyn Progress) -> Result<usize, LabError> {
    process::stop_processes(vec![kafka::app_process(layout)], progress).await
}

/// The Kafka broker the services of `inventory` use: the loopback lab's when the
/// inventory is the lab's own `.lab/hosts.toml` and no virtual PCs are recorded
/// there (that is `--lab` on the loopback lab), else the app PC's broker that
/// `demo provision` started at `[app].kafka_bootstrap` (virtual or real PCs).
pub fn services_broker(
    layout: &Layout,
    inventory: &crate::hosts::Inventory,
) -> Result<kafka::BrokerSite, LabError> {
    broker_of(
        layout,
        &inventory.path,
        &inventory.app.kafka_bootstrap,
        pcs::recorded(&layout.lab),
    )
}

/// [`services_broker`]'s decision, from plain values.
fn broker_of(
    layout: &Layout,
    inventory_path: &std::path::Path,
    kafka_bootstrap: &str,
    virtual_pcs: bool,
) -> Result<kafka::BrokerSite, LabError> {
    let same_file = |a: &std::path::Path, b: &std::path::Path| match (
        std::fs::canonicalize(a),
        std::fs::canonicalize(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !virtual_pcs && same_file(inventory_path, &layout.hosts_file()) {
        if kafka_bootstrap != layout::KAFKA_BOOTSTRAP {
            return Err(LabError::Kafka(format!(
                "{} names Kafka at {kafka_bootstrap}, but the lab's broker is at {}:                  `demo lab up` writes it again",
                inventory_path.display(),
                layout::KAFKA_BOOTSTRAP
            )));
        }
        return Ok(kafka::BrokerSite::lab(layout));
    }
    kafka::BrokerSite::app_at(layout, kafka_bootstrap).ok_or_else(|| {
        LabError::Kafka(format!(
            "[app].kafka_bootstrap {kafka_bootstrap:?} in {} is not host:port",
            inventory_path.display()
        ))
    })
}

/// Fetches, configures, starts and waits until the whole lab is ready.
pub async fn up(layout: &Layout, progress: &dyn Progress) -> Result<LabReady, LabError> {
    if pcs::recorded(&layout.lab) {
        return Err(LabError::Prerequisite(
            "the virtual PCs are up (`demo lab status` shows them) and own .lab/hosts.toml: \
             remove them with `demo lab down` before starting the loopback lab"
                .into(),
        ));
    }
    let started = Instant::now();
    let java = process::check_java()?;
    fetch::ensure_distributions(layout, progress).await?;
    cassandra::write_node_files(layout, &java)?;
    kafka::write_files(layout, &java)?;
    inventory::write_hosts_file(layout)?;

    let already = process::running_processes(layout);
    if already.len() == layout.process_count() {
        progress.step("The lab is already running; checking that it is ready.");
    } else {
        process::check_ports_free(layout)?;
    }
    let broker = kafka::BrokerSite::lab(layout);
    kafka::format_storage_once(&broker, &java).await?;
    cassandra::start_seed_then_others(layout, progress).await?;
    kafka::start(&broker, progress).await?;
    ready::wait_for_cluster(layout, progress).await?;
    let schema_file = layout.root.join("schema.cql");
    schema::apply_file(&layout.nodes_addresses(), &schema_file).await?;
    progress.step(&format!(
        "✓ {} applied; schema agreed on every node",
        schema_file.display()
    ));
    kafka::create_topics_and_probe(layout::KAFKA_BOOTSTRAP).await?;
    Ok(LabReady {
        took: started.elapsed(),
        summary: layout.summary(),
    })
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabDown {
    /// How many lab processes were running and are now stopped.
    pub stopped: usize,
    /// The data was deleted (`--purge`); downloads are kept in these two homes.
    pub purged: Option<(PathBuf, PathBuf)>,
}

/// Stops every lab process (gracefully, then by force) and optionally wipes data.
pub async fn down(
    layout: &Layout,
    purge: bool,
    progress: &dyn Progress,
) -> Result<LabDown, LabError> {
    let stopped = process::stop_all(layout, progress).await?;
    let purged = if purge {
        layout.purge_data()?;
        Some((layout.cassandra_home(), layout.kafka_home()))
    } else {
        None
    };
    Ok(LabDown { stopped, purged })
}

/// Each lab process and port (`all_running` tells whether everything runs).
pub fn status(layout: &Layout) -> StatusReport {
    process::status_report(layout)
}

/// Shell exports for `eval "$(demo lab env)"`.
pub fn env_exports(layout: &Layout) -> String {
    let cassandra_home = layout.cassandra_home();
    let kafka_home = layout.kafka_home();
    format!(
        "export CASSANDRA_HOME='{c}'\nexport KAFKA_HOME='{k}'\nexport PATH='{c}/bin:{k}/bin':\"$PATH\"\n\
         export KAFKA_BOOTSTRAP='{b}'\nexport CASSANDRA_CONTACT_POINTS='{cp}'\n",
        c = cassandra_home.display(),
        k = kafka_home.display(),
        b = layout::KAFKA_BOOTSTRAP,
        cp = layout.nodes_addresses().join(","),
    )
}

/// Writes a lab file (creating its directory), executable for scripts.
/// Runs one of the lab's control scripts (they return once their process is
/// launched); `error` words a failure or a script that hangs.
async fn run_script(
    script: &std::path::Path,
    error: fn(String) -> LabError,
) -> Result<(), LabError> {
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::process::Command::new(script).output(),
    )
    .await
    .map_err(|_| error(format!("{} did not return within 30 s", script.display())))?
    .map_err(LabError::io(format!("running {}", script.display())))?;
    if !output.status.success() {
        return Err(error(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

fn write_file(path: &std::path::Path, content: &str, executable: bool) -> Result<(), LabError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(LabError::io(format!("creating {}", parent.display())))?;
    }
    std::fs::write(path, content).map_err(LabError::io(format!("writing {}", path.display())))?;
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(
            LabError::io(format!("making {} executable", path.display())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_broker_is_the_labs_on_the_loopback_lab_and_the_app_pcs_otherwise() {
        let checkout = tempfile::tempdir().expect("temporary directory");
        let layout = Layout::at(checkout.path());
        let lab_hosts = layout.hosts_file();

        let loopback = broker_of(&layout, &lab_hosts, layout::KAFKA_BOOTSTRAP, false)
            .expect("the loopback lab's broker");
        assert_eq!(loopback, kafka::BrokerSite::lab(&layout));
        assert_eq!(loopback.dir, layout.lab.join("kafka"));

        // The virtual PCs write the same file; their Kafka is the app PC's.
        let virtual_pcs =
            broker_of(&layout, &lab_hosts, "10.77.0.4:9092", true).expect("the app PC's broker");
        assert_eq!(virtual_pcs.dir, layout.lab.join("app-kafka"));
        assert_eq!(virtual_pcs.bootstrap(), "10.77.0.4:9092");

        // Real PCs: their own hosts.toml, even when Kafka listens on 127.0.0.1:9092.
        let real = broker_of(
            &layout,
            std::path::Path::new("/etc/demo/hosts.toml"),
            "127.0.0.1:9092, 192.168.1.14:9092",
            false,
        )
        .expect("the app PC's broker");
        assert_eq!(real.dir, layout.lab.join("app-kafka"));
        assert_eq!((real.address.as_str(), real.port), ("127.0.0.1", 9092));

        assert!(matches!(
            broker_of(&layout, std::path::Path::new("hosts.toml"), "kafka", false),
            Err(LabError::Kafka(message)) if message.contains("not host:port")
        ));
        assert!(matches!(
            broker_of(&layout, &lab_hosts, "127.0.0.1:9999", false),
            Err(LabError::Kafka(message)) if message.contains("lab's broker is at")
        ));
    }
}
