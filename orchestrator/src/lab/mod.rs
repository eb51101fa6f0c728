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
//! The other kind of lab, virtual PCs reached over SSH (`lab up --pcs`), is `pcs`
//! (with its printing edge in `pcs_command`); `.lab/pcs/state.toml` records that it is up.

mod cassandra;
mod fetch;
mod inventory;
mod kafka;
pub mod layout;
pub mod pcs;
mod pcs_command;
mod process;
mod ready;
pub mod schema;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::cli::LabCommand;
use layout::Layout;

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

/// `demo lab up | down | status | env`.
pub async fn command(command: LabCommand) -> Result<bool, LabError> {
    let layout = Layout::discover();
    // The virtual PCs: a different kind of lab, chosen by `up --pcs` and recorded in .lab.
    let pcs_up = pcs::recorded(&layout.lab);
    match command {
        LabCommand::Up { pcs: true, bare } => pcs_command::up(&layout, bare).await,
        LabCommand::Down { purge } if pcs_up => pcs_command::down(&layout, purge).await,
        LabCommand::Status if pcs_up => pcs_command::status(&layout).await,
        LabCommand::Up { pcs: false, .. } => {
            up(&layout).await?;
            Ok(true)
        }
        LabCommand::Down { purge } => {
            down(&layout, purge).await?;
            Ok(true)
        }
        LabCommand::Status => Ok(status(&layout)),
        LabCommand::Env => {
            print!("{}", env_exports(&layout));
            Ok(true)
        }
    }
}

/// Brings the lab up unless it already is; used by `demo run --lab` and tests.
pub async fn ensure_up() -> Result<(), LabError> {
    up(&Layout::discover()).await
}

/// Fetches, configures, starts and waits until the whole lab is ready.
pub async fn up(layout: &Layout) -> Result<(), LabError> {
    if pcs::recorded(&layout.lab) {
        return Err(LabError::Prerequisite(
            "the virtual PCs are up (`demo lab status` shows them) and own .lab/hosts.toml: \
             remove them with `demo lab down` before starting the loopback lab"
                .into(),
        ));
    }
    let started = Instant::now();
    let java = process::check_java()?;
    fetch::ensure_distributions(layout).await?;
    cassandra::write_node_files(layout, &java)?;
    kafka::write_files(layout, &java)?;
    inventory::write_hosts_file(layout)?;

    let already = process::running_processes(layout);
    if already.len() == layout.process_count() {
        println!("The lab is already running; checking that it is ready.");
    } else {
        process::check_ports_free(layout)?;
    }
    kafka::format_storage_once(layout, &java).await?;
    cassandra::start_seed_then_others(layout).await?;
    kafka::start(layout).await?;
    ready::wait_for_cluster(layout).await?;
    schema::apply_file(&layout.nodes_addresses(), &layout.root.join("schema.cql")).await?;
    kafka::create_topics_and_probe(layout).await?;
    println!(
        "\nLab ready in {:.0}s.\n{}",
        started.elapsed().as_secs_f64(),
        layout.summary()
    );
    Ok(())
}

/// Stops every lab process (gracefully, then by force) and optionally wipes data.
pub async fn down(layout: &Layout, purge: bool) -> Result<(), LabError> {
    let stopped = process::stop_all(layout).await?;
    if stopped == 0 {
        println!("Nothing of the lab was running.");
    } else {
        println!("Stopped {stopped} lab process(es).");
    }
    if purge {
        layout.purge_data()?;
        println!(
            "Lab data deleted (downloads kept in {} and {}).",
            layout.cassandra_home().display(),
            layout.kafka_home().display()
        );
    }
    Ok(())
}

/// Prints each lab process and port; true when everything runs.
pub fn status(layout: &Layout) -> bool {
    let report = process::status_report(layout);
    print!("{}", report.render());
    report.all_running()
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
