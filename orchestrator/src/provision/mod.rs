//! `demo provision`: from bare PCs to a formed cluster, from hosts.toml and SSH only.
//!
//! For each Cassandra PC it checks Java (11 or 17, as Cassandra 5.0 needs), uploads the
//! Cassandra distribution this machine fetched for the lab unless the PC already has it,
//! writes the node's files (cassandra.yaml, JVM options and control commands, from the
//! writer the lab uses: `node_config`) keeping a backup of any file it replaces, then
//! starts the seed first and each next PC once the previous one is UN; it applies
//! schema.cql and starts Kafka on the app PC (this machine). Everything is planned
//! first and compared with what is there, so a second run changes nothing and restarts
//! nothing, and a dry run shows the plan (diffs and actions) and touches no PC.
//!
//! Submodules by concern: `probe` (what a PC has, one SSH command), `node_files` (what
//! it should have), `distribution` (the jars: manifest and upload), `pc` (one PC's plan
//! and its application), `start` (the ordered start), `app` (the app PC's Kafka). This
//! module takes plain values, returns a [`Provisioned`] report and [`ProvisionError`]s
//! naming the PC and what to do, and tells its progress to a [`Progress`]; printing is
//! `commands::provision`'s.

mod app;
mod distribution;
mod node_files;
mod pc;
mod probe;
mod start;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::future::join_all;
use thiserror::Error;

use crate::cluster::ClusterError;
use crate::hosts::{Inventory, Transport};
use crate::lab::layout::Layout;
use crate::lab::{self, LabError};
use crate::progress::Progress;
use crate::remote::{RemoteError, RemoteOptions};

pub use app::{AppAction, AppPlan};
pub use pc::{FileChange, NodeAction, PcPlan};

/// Why provisioning stopped; every message names the PC and what to do.
#[derive(Debug, Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(
        "{pc}: no Java that Cassandra 5.0 runs on (11 or 17) was found{seen}; install one \
         (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) and run `demo provision` again"
    )]
    NoJava { pc: String, seen: String },
    #[error(
        "{pc}: hosts.toml's [install] systemd = true, but systemd does not run this PC (no \
         /run/systemd/system); set systemd = false there (the node is then started by its \
         control commands alone)"
    )]
    NoSystemd { pc: String },
    #[error(
        "{pc}: hosts.toml's [install] systemd = true, but the SSH user {user:?} cannot write \
         {dir}; connect as root (`ssh_user = \"root\"`) or set systemd = false (nothing goes \
         through sudo)", dir = dir.display()
    )]
    SystemdNotWritable {
        pc: String,
        user: String,
        dir: PathBuf,
    },
    #[error("{pc}: cannot read what the PC has: {detail}")]
    Probe { pc: String, detail: String },
    #[error(
        "{pc} has transport \"local\": `demo provision` reaches the PCs over SSH (the loopback \
         lab is set up by `demo lab up`)"
    )]
    LocalTransport { pc: String },
    #[error(
        "[app].kafka_bootstrap {bootstrap:?} in {file}: expected host:port of this machine (the app PC), where Kafka is started"
    )]
    Bootstrap { bootstrap: String, file: PathBuf },
    #[error("{what}: {source}")]
    Local {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// What this machine provides: the lab's layout (the distributions it fetched, and where
/// the app PC's Kafka lives) and the schema to apply.
#[derive(Debug, Clone)]
pub struct Sources {
    pub layout: Layout,
    pub schema: PathBuf,
}

impl Sources {
    /// The checkout's `.lab` and `schema.cql`.
    pub fn discover() -> Sources {
        let layout = Layout::discover();
        let schema = layout.root.join("schema.cql");
        Sources { layout, schema }
    }
}

/// What provisioning found, planned and (unless a dry run) did.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub dry_run: bool,
    pub pcs: Vec<PcPlan>,
    pub app: AppPlan,
    pub schema: PathBuf,
    /// Nothing was (or would be) changed, uploaded, started or restarted anywhere.
    pub up_to_date: bool,
    pub took: Duration,
}

/// Provisions every PC of `inventory` and the app PC; with `dry_run`, only plans.
pub async fn provision(
    inventory: &Inventory,
    options: &RemoteOptions,
    sources: &Sources,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<Provisioned, ProvisionError> {
    let started = Instant::now();
    if let Some(node) = inventory
        .nodes
        .iter()
        .find(|node| node.transport == Transport::Local)
    {
        return Err(ProvisionError::LocalTransport {
            pc: node.name.clone(),
        });
    }
    // The downloads are this machine's cache, not a PC's state: a dry run may fill it.
    lab::fetch::ensure_servers(&sources.layout, progress).await?;
    let distribution = distribution::Distribution::read(&sources.layout.cassandra_home())?;
    let java_here = lab::process::check_java()?;

    progress.waiting(&format!(
        "Looking at {} PCs over SSH",
        inventory.nodes.len()
    ));
    let planned = join_all(
        inventory
            .nodes
            .iter()
            .map(|node| pc::plan(inventory, node, options, &distribution)),
    )
    .await;
    let mut pcs = Vec::new();
    for result in planned {
        pcs.push(result?);
    }
    let app = app::plan(inventory, &sources.layout, &java_here)?;
    let up_to_date =
        pcs.iter().all(|pc| pc.plan.is_up_to_date()) && app.action == AppAction::UpToDate;
    if !dry_run {
        // The uploads go to different PCs: side by side.
        let written = join_all(
            pcs.iter()
                .map(|pc| pc.apply_files(inventory, &distribution, progress)),
        )
        .await;
        for result in written {
            result?;
        }
        start::in_order(inventory, options, &pcs, progress).await?;
        progress.waiting(&format!("Applying {}", sources.schema.display()));
        let addresses: Vec<String> = inventory
            .nodes
            .iter()
            .map(|node| node.address.to_string())
            .collect();
        lab::schema::apply_file(&addresses, &sources.schema).await?;
        progress.step(&format!(
            "✓ {} applied (idempotent); schema agreed on every node",
            sources.schema.display()
        ));
        app::apply(inventory, &app, &sources.layout, &java_here, progress).await?;
    }
    let mut plans = Vec::new();
    for pc in pcs {
        plans.push(pc.plan);
        pc.remote.close().await;
    }
    Ok(Provisioned {
        dry_run,
        pcs: plans,
        app,
        schema: sources.schema.clone(),
        up_to_date,
        took: started.elapsed(),
    })
}
