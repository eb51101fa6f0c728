//! The one place that defines the `demo` command line.
//!
//! Every subcommand, flag and default lives here so that `--help` is complete.
//! Nothing else in the crate sees these types: the command layer
//! (`commands`) turns them into the plain values the domain modules take.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::hosts::{HostsChoice, KnownHostsPolicy};
use crate::nemesis::FaultMode;

/// Conductor of the Cassandra IoT demonstration.
///
/// On demo day it runs on PC4, reaches PC1-3 over SSH, checks the cluster,
/// launches the services and conducts the scenario. With `--lab` it does the
/// same against a real three-node cluster on this machine.
#[derive(Debug, Parser)]
#[command(name = "demo", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,

    #[command(subcommand)]
    pub command: Command,
}

/// Which machines a command acts on.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Inventory of the demo's PCs.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "hosts.toml",
        env = "DEMO_HOSTS"
    )]
    pub hosts: PathBuf,

    /// Act on the local lab (.lab/hosts.toml) instead of the PCs of --hosts.
    #[arg(long, global = true)]
    pub lab: bool,

    /// Accept and remember the host key of a PC seen for the first time
    /// (by default unknown host keys are refused).
    #[arg(long, global = true)]
    pub accept_new_host_keys: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The local lab: three Cassandra nodes and a Kafka broker on this machine.
    #[command(subcommand)]
    Lab(LabCommand),

    /// Is the cluster whole? Every node UN from every node, one cluster name,
    /// schema agreement, keyspace replication as configured. Exits non-zero when not.
    CheckCluster,

    /// What would break the demonstration: SSH, Java, Cassandra versions, ports between
    /// the PCs (tried from the PCs), clocks, disk, memory, cassandra.yaml against the hosts
    /// file, Kafka. One table, a row per check and PC, with what to do; non-zero exit when
    /// anything fails.
    Preflight,
    /// Bare PCs to a formed cluster, from the hosts file over SSH: checks Java,
    /// uploads Cassandra, writes each node's cassandra.yaml and control commands,
    /// starts the seed then each PC once the previous is UN, applies schema.cql and
    /// starts Kafka on the app PC. Changes nothing when everything is as planned.
    Provision {
        /// Print, per PC, the diff of every file it would change and the actions it
        /// would take; touch no PC.
        #[arg(long)]
        dry_run: bool,
    },

    /// Take a Cassandra PC out, as a fault of the demonstration.
    KillNode {
        /// The node: its PC number (1, 2, 3...) or its name in the hosts file.
        node: String,
        /// stop: drain then stop (graceful); kill: SIGKILL (a crash);
        /// freeze: SIGSTOP (a hung PC: peers see silence); isolate: the network
        /// cable pulled (the PC drops its Cassandra traffic, SSH kept; needs the
        /// virtual or real PCs, refused on the loopback lab).
        #[arg(long, value_enum, default_value_t = FaultModeArg::Stop)]
        mode: FaultModeArg,
    },

    /// Bring a Cassandra PC back, whatever took it out: heal (after isolate),
    /// thaw (SIGCONT after freeze), then start.
    StartNode {
        /// The node: its PC number or its name in the hosts file.
        node: String,
    },

    /// The app PC's services: producer, ingest and api.
    #[command(subcommand)]
    Services(ServicesCommand),

    /// Conduct a scenario, step by step, with narration.
    Run(RunArgs),

    /// Write a run's report.html again from its journal (every run writes it at its end).
    Report {
        /// The run's directory, e.g. runs/20261203T070710Z.
        run_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Fetch what is missing, start three Cassandra nodes and Kafka, wait until ready.
    /// With --pcs: virtual PCs instead (needs root).
    Up {
        /// Build virtual PCs: network namespaces pc1-pc3 on bridge demo-br0
        /// (10.77.0.1-3, this machine 10.77.0.4), each with its own sshd and its
        /// own view of /opt/cassandra-demo; writes .lab/hosts.toml for --lab.
        #[arg(long)]
        pcs: bool,
        /// With --pcs: stop once the PCs exist (sshd, a JDK), install nothing.
        #[arg(long, requires = "pcs")]
        bare: bool,
    },
    /// Stop exactly what the lab started (the virtual PCs when they are up).
    Down {
        /// Also delete the lab's data (nodes, Kafka log; the virtual PCs' keys
        /// and files); downloads are kept.
        #[arg(long)]
        purge: bool,
    },
    /// Show each lab process and port (each virtual PC while they are up).
    Status,
    /// Print shell exports for `eval "$(demo lab env)"`.
    Env,
}

/// `--lang`: the language of the conductor's words for this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Fr,
    En,
}

impl From<LangArg> for contract::events::Language {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::Fr => contract::events::Language::Fr,
            LangArg::En => contract::events::Language::En,
        }
    }
}

/// `--mode`: the CLI's spelling of a [`FaultMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FaultModeArg {
    /// Drain, then stop the node gracefully.
    Stop,
    /// SIGKILL: the node crashes.
    Kill,
    /// SIGSTOP: the node hangs; its connections stay open but silent.
    Freeze,
    /// The network cable pulled: Cassandra traffic dropped on the PC, SSH kept.
    Isolate,
}

#[derive(Debug, Subcommand)]
pub enum ServicesCommand {
    /// Start producer, ingest and api (those not already running).
    Up {
        /// Also the contrast lane: a second ingest writing the readings once
        /// (keyspace iot_demo_rf1), served by the api under /rf1/.
        #[arg(long)]
        contrast: bool,
    },
    /// Stop them.
    Down,
    /// Show each one's process and health.
    Status,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file, e.g. scenario/day-j.toml.
    pub scenario: PathBuf,
    /// Presenter mode: Enter advances each step, narration printed large.
    #[arg(long)]
    pub presenter: bool,
    /// On failure, leave the cluster as it is instead of restarting what the run stopped.
    #[arg(long)]
    pub keep: bool,
    /// Skip the preflight checks `run` makes first (see `demo preflight`).
    #[arg(long)]
    pub no_preflight: bool,
    /// Override a scenario step's fault mode (stop, kill, freeze or isolate) for every kill-node step.
    #[arg(long, value_enum)]
    pub mode: Option<FaultModeArg>,
    /// Seed of the scenario's random choices (`node = "random"`, `mode = "random"`),
    /// over the file's `seed`; the run prints the seed it used, to replay it.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The language of the conductor's words, over the scenario's `lang`.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Also run the contrast lane (the readings kept once, a second chart), as
    /// `contrast = true` in the scenario's settings does.
    #[arg(long)]
    pub contrast: bool,
    /// Stop the services the run started as soon as the verdict is out (tests, CI),
    /// instead of keeping the dashboard live until Enter or Ctrl-C.
    #[arg(long)]
    pub exit_after_verdict: bool,
}

impl From<FaultModeArg> for FaultMode {
    fn from(mode: FaultModeArg) -> Self {
        match mode {
            FaultModeArg::Stop => FaultMode::Stop,
            FaultModeArg::Kill => FaultMode::Kill,
            FaultModeArg::Freeze => FaultMode::Freeze,
            FaultModeArg::Isolate => FaultMode::Isolate,
        }
    }
}

impl Target {
    /// The inventory the flags select: `--lab` wins over `--hosts`.
    pub fn hosts_choice(&self) -> HostsChoice {
        if self.lab {
            HostsChoice::Lab
        } else {
            HostsChoice::File(self.hosts.clone())
        }
    }

    /// The host-key policy the operator asked for, if any
    /// (`--accept-new-host-keys` turns accept-new on; it never turns it off).
    pub fn known_hosts(&self) -> Option<KnownHostsPolicy> {
        self.accept_new_host_keys
            .then_some(KnownHostsPolicy::AcceptNew)
    }
}
