//! Virtual PCs: PC1-PC3 as network namespaces on a bridge of the lab's own, each with its
//! own address, sshd, hostname and view of the install directory; PC4 is this machine, at
//! the bridge's address.
//!
//! They exist so that everything the conductor does over SSH to four real PCs (a network
//! boundary, host keys, one fixed install path on every PC, the same ports everywhere) can
//! be rehearsed and tested on one machine. `demo lab up --pcs --bare` builds them; this
//! module is the domain part: it takes plain values ([`PcsPlan`], the lab's directory),
//! returns results and [`PcsError`]s that say what to do, and never prints.
//!
//! Submodules by concern: `command` (every external program, bounded in time), `state`
//! (where the PCs' files live and what `up` recorded for `down`), `checks` (what refuses
//! early), `keys` (the lab's key, host keys, known_hosts), `net` (bridge, namespaces,
//! veths, routes), `pc` (a PC's init, sshd and fixed install path), `inventory` (the
//! `.lab/hosts.toml` they are reached through), `teardown` and `status`.
//!
//! How it was proven on this machine, command by command: /work/notes/issue9-spike.md.

mod checks;
mod command;
mod inventory;
mod keys;
mod net;
mod pc;
mod state;
mod status;
mod teardown;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

pub use net::Ipv4Subnet;
pub use state::recorded;
pub use status::{PcStatus, PcsStatus, status};
pub use teardown::{Teardown, down, purge};

/// How long each PC's sshd may take to accept connections after its init starts.
const SSHD_READY_TIMEOUT: Duration = Duration::from_secs(5);

/// What to build: the PCs' subnet, the bridge, the install path every PC sees as its own,
/// and how many Cassandra PCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcsPlan {
    /// PC N gets host address N of the subnet; the app PC (the bridge) the next one.
    pub subnet: Ipv4Subnet,
    /// The bridge's name (a Linux interface name: at most 15 characters).
    pub bridge: String,
    /// The one path at which every PC finds its own directory, as on real PCs.
    pub install_path: PathBuf,
    /// Number of Cassandra PCs.
    pub count: usize,
}

impl Default for PcsPlan {
    fn default() -> Self {
        PcsPlan {
            subnet: Ipv4Subnet::new(Ipv4Addr::new(10, 77, 0, 0), 24),
            bridge: "demo-br0".to_string(),
            install_path: PathBuf::from("/opt/cassandra-demo"),
            count: 3,
        }
    }
}

impl PcsPlan {
    /// PC `index`'s (1-based) address.
    pub fn pc_address(&self, index: usize) -> Ipv4Addr {
        self.subnet.host(index)
    }

    /// The app PC (PC4 with three PCs): this machine, at the bridge's address.
    pub fn app_address(&self) -> Ipv4Addr {
        self.subnet.host(self.count + 1)
    }

    /// PC `index`'s network namespace, which is also its hostname.
    pub fn namespace(&self, index: usize) -> String {
        format!("pc{index}")
    }

    /// The host end of PC `index`'s veth pair, enslaved to the bridge.
    pub fn host_veth(&self, index: usize) -> String {
        format!("demo-pc{index}")
    }

    /// The PCs' 1-based indexes.
    pub fn indexes(&self) -> std::ops::RangeInclusive<usize> {
        1..=self.count
    }

    /// Refuses a plan the kernel or the address plan cannot hold.
    fn validate(&self) -> Result<(), PcsError> {
        let invalid = |detail: String| Err(PcsError::InvalidPlan(detail));
        if self.count == 0 {
            return invalid("at least one PC is needed".into());
        }
        // Hosts 1..=count+1 must fit below the broadcast address.
        if self.count as u64 + 2 > self.subnet.size() {
            return invalid(format!(
                "{} has no room for {} PCs and the app PC: use a larger subnet",
                self.subnet, self.count
            ));
        }
        let longest = self.host_veth(self.count).len().max(self.bridge.len());
        if self.bridge.is_empty() || longest > 15 || self.bridge.contains(['/', ' ']) {
            return invalid(format!(
                "{:?} or {:?} is not a valid interface name (1-15 characters, no '/' or space)",
                self.bridge,
                self.host_veth(self.count)
            ));
        }
        if !self.install_path.is_absolute() || self.install_path == Path::new("/") {
            return invalid(format!(
                "the install path {} must be an absolute directory other than /",
                self.install_path.display()
            ));
        }
        Ok(())
    }
}

/// The PCs are up: what `lab up --pcs --bare` built.
#[derive(Debug, Clone)]
pub struct PcsReady {
    /// `(name, address, init pid)` of each PC, in order.
    pub pcs: Vec<(String, Ipv4Addr, i32)>,
    pub app_address: Ipv4Addr,
    pub bridge: String,
    pub install_path: PathBuf,
    /// The inventory written for `--lab`.
    pub hosts_file: PathBuf,
    /// The lab's private key and known_hosts, for a manual `ssh`.
    pub identity_file: PathBuf,
    pub known_hosts_file: PathBuf,
}

/// Why the virtual PCs could not be built, inspected or removed; every message says what to do.
#[derive(Debug, Error)]
pub enum PcsError {
    #[error(
        "virtual PCs need root: network namespaces, a bridge and mounts; run it as root, \
         e.g. `sudo {command}`"
    )]
    NotRoot { command: &'static str },
    #[error("`{tool}` was not found: install it (Debian: apt-get install {package})")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("invalid virtual PC plan: {0}")]
    InvalidPlan(String),
    #[error(
        "the host already routes {subnet} (`{route}`): the virtual PCs need a subnet of \
         their own; choose another subnet or remove that route"
    )]
    SubnetRouted { subnet: Ipv4Subnet, route: String },
    #[error(
        "{what} {name:?} already exists and is not this lab's (no record in {record}): \
         remove it, or choose other names"
    )]
    NameTaken {
        what: &'static str,
        name: String,
        record: PathBuf,
    },
    #[error(
        "the virtual PCs are already up (recorded in {record}): see `demo lab status`, or \
         remove them with `demo lab down` first"
    )]
    AlreadyUp { record: PathBuf },
    #[error(
        "the lab's directory {dir} is under /tmp, which every PC replaces with its own: \
         put the checkout (or DEMO_ROOT) elsewhere"
    )]
    StateUnderTmp { dir: PathBuf },
    #[error("`{command}` failed ({status}): {detail}")]
    Command {
        command: String,
        status: String,
        detail: String,
    },
    #[error("`{command}` did not finish within {}s", timeout.as_secs())]
    CommandTimeout { command: String, timeout: Duration },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {detail}; remove it and run `demo lab down` again")]
    BadRecord { path: PathBuf, detail: String },
    #[error(
        "{pc}'s sshd did not accept connections on {address}:22 within {}s\n{logs}",
        timeout.as_secs()
    )]
    SshdNotReady {
        pc: String,
        address: Ipv4Addr,
        timeout: Duration,
        logs: String,
    },
    #[error(
        "{from} cannot reach {to} over the bridge ({detail}). Frames between PCs pass the \
         host's iptables FORWARD chain (br_netfilter: net.bridge.bridge-nf-call-iptables=1); \
         a FORWARD policy of DROP (Docker sets one) blocks them: allow the bridge, e.g. \
         `iptables -I FORWARD -i {bridge} -o {bridge} -j ACCEPT`"
    )]
    Unreachable {
        from: String,
        to: String,
        bridge: String,
        detail: String,
    },
    #[error(
        "the virtual PCs were not removed completely: {}; run `demo lab down` again, or \
         remove them by hand", left.join(", ")
    )]
    Leftovers { left: Vec<String> },
}

impl PcsError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PcsError {
        let what = what.into();
        move |source| PcsError::Io { what, source }
    }
}

/// Builds the bare virtual PCs under `lab_dir/pcs` and writes `lab_dir/hosts.toml`.
///
/// Refuses early (see `checks`) before touching anything; once it has started building,
/// a failure removes whatever was built and returns the error that stopped it.
pub async fn up(plan: &PcsPlan, lab_dir: &Path) -> Result<PcsReady, PcsError> {
    plan.validate()?;
    let dirs = state::PcsDirs::new(lab_dir);
    checks::refuse_early(plan, &dirs).await?;
    keys::ensure(plan, &dirs).await?;
    pc::write_files(plan, &dirs)?;
    state::record(plan, &dirs)?;
    match build(plan, &dirs).await {
        Ok(pids) => {
            let hosts_file = lab_dir.join("hosts.toml");
            inventory::write(plan, &hosts_file)?;
            Ok(PcsReady {
                pcs: plan
                    .indexes()
                    .zip(pids)
                    .map(|(index, pid)| (plan.namespace(index), plan.pc_address(index), pid))
                    .collect(),
                app_address: plan.app_address(),
                bridge: plan.bridge.clone(),
                install_path: plan.install_path.clone(),
                hosts_file,
                identity_file: dirs.identity_file(),
                known_hosts_file: dirs.known_hosts(),
            })
        }
        Err(error) => {
            // What was half built goes; the error that stopped the build is the one to act on.
            let _ = teardown::down(lab_dir).await;
            Err(error)
        }
    }
}

/// The network, then each PC, then proof that they reach each other; the PCs' init pids.
async fn build(plan: &PcsPlan, dirs: &state::PcsDirs) -> Result<Vec<i32>, PcsError> {
    pc::ensure_install_path(plan)?;
    net::create(plan).await?;
    let mut pids = Vec::new();
    for index in plan.indexes() {
        pids.push(pc::start(plan, dirs, index, SSHD_READY_TIMEOUT).await?);
    }
    net::check_reachability(plan).await?;
    Ok(pids)
}
