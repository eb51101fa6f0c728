//! The inventory of the demonstration's PCs, read from a `hosts.toml` file.
//!
//! Every other part of the conductor asks this module where the Cassandra
//! nodes are, how to reach them and which commands start, stop, kill, freeze
//! and thaw them, so the same code drives the four PCs of demo day (SSH) and
//! the lab on one machine (local transport, `.lab/hosts.toml`).
//!
//! Public API (stable, used by `cluster`, `nemesis`, `scenario`, `app`):
//! - [`Inventory::load`], [`Inventory::parse`], [`Inventory::select`] (a [`HostsChoice`])
//! - [`Inventory::node`] finds a node by PC number (1-based) or name (any case)
//! - [`NodeSpec::command`] gives the effective command for a [`Verb`];
//!   [`NodeSpec::nodetool`] builds `<nodetool> <subcommand>`
//!
//! Errors name the file, line and column and say what was expected; unknown
//! keys are refused so that a typo never silently falls back to a default.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::Keyspace;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::paths;

/// Default SSH connect timeout when `[ssh].connect_timeout_secs` is absent.
const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;
/// Default per-command timeout when `[ssh].command_timeout_secs` is absent.
const DEFAULT_COMMAND_TIMEOUT_SECS: u64 = 60;
/// Where `demo provision` installs Cassandra and the node's control commands on
/// every PC when `[install].path` is absent (the same path on every PC).
pub const DEFAULT_INSTALL_PATH: &str = "/opt/cassandra-demo";
/// The smallest `[install].heap_mb` accepted: below it Cassandra 5 does not start.
pub const MIN_HEAP_MB: u32 = 256;
/// The systemd unit `demo provision` installs on a PC when `[install].systemd` is true.
pub const SYSTEMD_UNIT: &str = "cassandra-demo.service";

/// Letters, digits and `/ . _ -` only: the same word to a shell and to systemd.
fn raw_path_is_plain(path: &Path) -> bool {
    path.to_str().is_some_and(|text| {
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    })
}

/// Which inventory a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostsChoice {
    /// The local lab's `.lab/hosts.toml`.
    Lab,
    /// A hosts file (the PCs of demo day).
    File(PathBuf),
}

/// Everything the conductor knows about the PCs of one demonstration.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The file this inventory was read from (named in every error).
    pub path: PathBuf,
    pub cluster: ClusterSpec,
    pub ssh: SshDefaults,
    /// The Cassandra PCs, in file order: PC number N is `nodes[N - 1]`.
    pub nodes: Vec<NodeSpec>,
    pub app: AppSpec,
    pub install: InstallSpec,
}

/// Where Cassandra and the node's control commands live on every PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallSpec {
    /// Absolute; the same on every PC. The control commands are `<path>/bin/<verb>`.
    pub path: PathBuf,
    /// A cap on each node's heap (MiB); `None`: sized from the PC's memory alone.
    pub heap_mb: Option<u32>,
    /// The node also gets a systemd unit ([`SYSTEMD_UNIT`]), enabled so it starts when the
    /// PC boots; start and stop then go through `systemctl`.
    pub systemd: bool,
}

impl InstallSpec {
    /// `<path>/bin/<verb>`: the control command `demo provision` installs for `verb`.
    /// With systemd, start and stop go through the unit (whose ExecStart and ExecStop are
    /// those same scripts); stop also runs the script, which stops a node started
    /// outside systemd (by hand, or before the unit existed) and is harmless otherwise.
    /// kill, freeze and thaw signal the pid either way; a killed unit stays down (failed)
    /// until the next start.
    pub fn control_command(&self, verb: Verb) -> String {
        let script = self
            .path
            .join("bin")
            .join(verb.as_str())
            .display()
            .to_string();
        match verb {
            Verb::Start if self.systemd => format!("systemctl start {SYSTEMD_UNIT}"),
            Verb::Stop if self.systemd => format!("systemctl stop {SYSTEMD_UNIT}; {script}"),
            _ => script,
        }
    }

    /// `/etc/systemd/system/<unit>`: where the unit goes when `systemd` is set.
    pub fn systemd_unit_file(&self) -> PathBuf {
        Path::new("/etc/systemd/system").join(SYSTEMD_UNIT)
    }

    /// `<path>/cassandra/VERSION`: the Cassandra version `demo provision` installed there.
    pub fn version_file(&self) -> PathBuf {
        self.path.join("cassandra/VERSION")
    }

    /// `<path>/conf/cassandra.yaml`: the node's configuration `demo provision` wrote.
    pub fn cassandra_yaml(&self) -> PathBuf {
        self.path.join("conf/cassandra.yaml")
    }
}

/// What the cluster is expected to look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Expected `cluster_name` (as `nodetool describecluster` shows it).
    pub name: String,
    pub keyspace: String,
    pub replication_factor: u32,
}

/// SSH settings shared by every node reached over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshDefaults {
    /// Login user; `None` lets ssh choose (its config, or the local user).
    pub user: Option<String>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: KnownHostsPolicy,
    /// `None` means ssh's default (`~/.ssh/known_hosts`).
    pub known_hosts_file: Option<PathBuf>,
    /// ssh's `-F`: a config file, or `none` to ignore ~/.ssh/config (the virtual PCs).
    /// `None` means ssh's usual configuration.
    pub config_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

/// How unknown SSH host keys are treated. Changed keys are always refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownHostsPolicy {
    /// Only hosts already in the known-hosts file are accepted.
    Strict,
    /// A host seen for the first time is accepted and remembered.
    AcceptNew,
}

/// How the conductor runs commands on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Ssh,
    /// `sh -c` on this machine (the lab).
    Local,
}

/// One Cassandra PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// PC number, 1-based, in file order.
    pub number: usize,
    pub name: String,
    /// Cassandra listen/rpc address: what `nodetool status` shows and where
    /// CQL (port 9042) answers.
    pub address: IpAddr,
    pub seed: bool,
    pub transport: Transport,
    /// Where SSH connects (default: the address).
    pub ssh_host: String,
    pub ssh_port: Option<u16>,
    /// Login user for this node (default: `[ssh].user`).
    pub ssh_user: Option<String>,
    pub commands: NodeCommands,
}

/// The effective commands for one node, defaults already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCommands {
    /// Prefix: `<nodetool> status`, `<nodetool> describecluster`.
    pub nodetool: String,
    pub start: String,
    pub stop: String,
    pub kill: String,
    pub freeze: String,
    pub thaw: String,
    /// Cable pulled: drop the node's Cassandra traffic on the PC, SSH kept.
    pub isolate: String,
    /// Undo an isolate (start-node runs heal, thaw, then start).
    pub heal: String,
}

/// The commands a node's inventory entry defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Nodetool,
    Start,
    Stop,
    Kill,
    Freeze,
    Thaw,
    Isolate,
    Heal,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Nodetool => "nodetool",
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Kill => "kill",
            Verb::Freeze => "freeze",
            Verb::Thaw => "thaw",
            Verb::Isolate => "isolate",
            Verb::Heal => "heal",
        }
    }
}

/// The app PC (PC4): Kafka, the services and the conductor itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub name: String,
    pub address: String,
    pub kafka_bootstrap: String,
    pub api_listen: String,
    pub api_url: String,
}

impl NodeSpec {
    /// The effective command string for `verb` (for `Verb::Nodetool`, the prefix).
    pub fn command(&self, verb: Verb) -> &str {
        let commands = &self.commands;
        match verb {
            Verb::Nodetool => &commands.nodetool,
            Verb::Start => &commands.start,
            Verb::Stop => &commands.stop,
            Verb::Kill => &commands.kill,
            Verb::Freeze => &commands.freeze,
            Verb::Thaw => &commands.thaw,
            Verb::Isolate => &commands.isolate,
            Verb::Heal => &commands.heal,
        }
    }

    /// `<nodetool prefix> <subcommand>`, e.g. `nodetool status iot_demo`.
    pub fn nodetool(&self, subcommand: &str) -> String {
        format!("{} {}", self.commands.nodetool, subcommand)
    }

    /// "PC2 (127.0.0.2)": how messages name a node.
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.address)
    }
}

/// Why an inventory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    #[error("cannot read hosts file {path}: {source}{hint}", hint = hint_for_missing(.path, .source))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML, a wrong type, an unknown key or an invalid value.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: no node {key:?}; expected a PC number 1..={count} or a name ({names})")]
    UnknownNode {
        path: PathBuf,
        key: String,
        count: usize,
        names: String,
    },
}

fn hint_for_missing(path: &Path, source: &std::io::Error) -> &'static str {
    if source.kind() != std::io::ErrorKind::NotFound {
        ""
    } else if path == paths::lab_hosts_file() {
        " (the lab is not set up: run `demo lab up`)"
    } else {
        " (give the inventory with --hosts FILE, or use --lab for the local lab)"
    }
}

impl Inventory {
    /// Reads and validates an inventory file.
    pub fn load(path: impl AsRef<Path>) -> Result<Inventory, HostsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| HostsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Inventory::parse(&text, path)
    }

    /// The chosen inventory: the lab's, or the given file (a relative path
    /// not found from the current directory is looked up from the checkout's
    /// root, so `demo` works from anywhere in it).
    pub fn select(choice: &HostsChoice) -> Result<Inventory, HostsError> {
        let given = match choice {
            HostsChoice::Lab => return Inventory::load(paths::lab_hosts_file()),
            HostsChoice::File(path) => path,
        };
        if given.is_relative() && !given.exists() {
            let from_root = paths::project_root().join(given);
            if from_root.exists() {
                return Inventory::load(from_root);
            }
        }
        Inventory::load(given)
    }

    /// Parses inventory text; `path` is only used to name the file in errors
    /// and to resolve relative key-file paths.
    pub fn parse(text: &str, path: &Path) -> Result<Inventory, HostsError> {
        let raw: RawInventory = toml::from_str(text).map_err(|err| {
            let span = err.span().unwrap_or(0..0);
            invalid(path, text, span, err.message().trim_end().to_string())
        })?;
        Validator { path, text }.inventory(raw)
    }

    /// Finds a node by PC number (1-based) or by name, case-insensitively.
    pub fn node(&self, key: &str) -> Result<&NodeSpec, HostsError> {
        let key = key.trim();
        let found = match key.parse::<usize>() {
            Ok(number) if number >= 1 => self.nodes.get(number - 1),
            _ => self
                .nodes
                .iter()
                .find(|node| node.name.eq_ignore_ascii_case(key)),
        };
        found.ok_or_else(|| HostsError::UnknownNode {
            path: self.path.clone(),
            key: key.to_string(),
            count: self.nodes.len(),
            names: self
                .nodes
                .iter()
                .map(|node| node.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The node whose Cassandra address is `address`, if any.
    pub fn node_by_address(&self, address: IpAddr) -> Option<&NodeSpec> {
        self.nodes.iter().find(|node| node.address == address)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Ssh => "ssh",
            Transport::Local => "local",
        })
    }
}

/// The file as written, with spans kept where validation may need to point.
/// Also what the lab serialises into `.lab/hosts.toml` (spans unused there).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInventory {
    pub(crate) cluster: RawCluster,
    #[serde(default)]
    pub(crate) ssh: RawSsh,
    pub(crate) nodes: Spanned<Vec<RawNode>>,
    pub(crate) app: RawApp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) install: Option<RawInstall>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstall {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) heap_mb: Option<Spanned<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) systemd: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub(crate) name: Spanned<String>,
    pub(crate) keyspace: Spanned<String>,
    pub(crate) replication_factor: Spanned<u32>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSsh {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) known_hosts: Option<KnownHostsPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) known_hosts_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) config_file: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) connect_timeout_secs: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) command_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub(crate) name: Spanned<String>,
    pub(crate) address: Spanned<String>,
    #[serde(default)]
    pub(crate) seed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transport: Option<Transport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ssh_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ssh_port: Option<Spanned<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ssh_user: Option<String>,
    #[serde(default)]
    pub(crate) commands: RawCommands,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCommands {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nodetool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kill: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) freeze: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) thaw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) isolate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) heal: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApp {
    #[serde(default = "default_app_name")]
    pub(crate) name: String,
    pub(crate) address: Spanned<String>,
    pub(crate) kafka_bootstrap: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) api_listen: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) api_url: Option<String>,
}

fn default_app_name() -> String {
    "PC4".to_string()
}

/// Semantic checks over the parsed file; every error points into the text.
struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> HostsError {
        invalid(self.path, self.text, span, message.into())
    }

    fn inventory(&self, raw: RawInventory) -> Result<Inventory, HostsError> {
        let rf_span = raw.cluster.replication_factor.span();
        let cluster = self.cluster(raw.cluster)?;
        let ssh = self.ssh(raw.ssh)?;
        let install = self.install(raw.install)?;
        let nodes_span = raw.nodes.span();
        let raw_nodes = raw.nodes.into_inner();
        if raw_nodes.is_empty() {
            return Err(self.error(
                nodes_span,
                "expected at least one [[nodes]] entry (one per Cassandra PC)",
            ));
        }
        let mut nodes: Vec<NodeSpec> = Vec::with_capacity(raw_nodes.len());
        let mut first_name_span = None;
        let mut seen_names: HashMap<String, usize> = HashMap::new();
        let mut seen_addresses: HashMap<IpAddr, usize> = HashMap::new();
        for (index, raw_node) in raw_nodes.into_iter().enumerate() {
            first_name_span.get_or_insert_with(|| raw_node.name.span());
            let node = self.node(
                index + 1,
                raw_node,
                &ssh,
                &install,
                &mut seen_names,
                &mut seen_addresses,
            )?;
            nodes.push(node);
        }
        if !nodes.iter().any(|node| node.seed) {
            return Err(self.error(
                first_name_span.unwrap_or(nodes_span),
                "no node has `seed = true`; expected at least one seed (usually PC1)",
            ));
        }
        if cluster.replication_factor as usize > nodes.len() {
            return Err(self.error(
                rf_span,
                format!(
                    "replication_factor {} is larger than the number of nodes ({}); \
                     expected at most {}",
                    cluster.replication_factor,
                    nodes.len(),
                    nodes.len()
                ),
            ));
        }
        let app = self.app(raw.app)?;
        Ok(Inventory {
            path: self.path.to_path_buf(),
            cluster,
            ssh,
            nodes,
            app,
            install,
        })
    }

    fn install(&self, raw: Option<RawInstall>) -> Result<InstallSpec, HostsError> {
        let raw = raw.unwrap_or(RawInstall {
            path: None,
            heap_mb: None,
            systemd: None,
        });
        let systemd = raw.systemd.unwrap_or(false);
        let heap_mb = match raw.heap_mb {
            Some(heap) if *heap.get_ref() < MIN_HEAP_MB => {
                return Err(self.error(
                    heap.span(),
                    format!("expected a heap_mb of at least {MIN_HEAP_MB} (MiB): Cassandra does not start with less"),
                ));
            }
            heap => heap.map(Spanned::into_inner),
        };
        let Some(raw_path) = raw.path else {
            return Ok(InstallSpec {
                path: PathBuf::from(DEFAULT_INSTALL_PATH),
                heap_mb,
                systemd,
            });
        };
        let span = raw_path.span();
        let path = PathBuf::from(raw_path.into_inner());
        if !path.is_absolute() || path == Path::new("/") {
            return Err(self.error(
                span,
                format!(
                    "expected an absolute directory other than / for the install path \
                     (the same on every PC), e.g. {DEFAULT_INSTALL_PATH:?}"
                ),
            ));
        }
        // A unit's ExecStart and PIDFile do not follow the shell's quoting: keep the
        // path to characters both read the same way.
        if systemd && !raw_path_is_plain(&path) {
            return Err(self.error(
                span,
                format!(
                    "expected an install path of letters, digits and / . _ - only with \
                     `systemd = true` (it is written into the systemd unit), e.g. {DEFAULT_INSTALL_PATH:?}"
                ),
            ));
        }
        Ok(InstallSpec {
            path,
            heap_mb,
            systemd,
        })
    }

    fn cluster(&self, raw: RawCluster) -> Result<ClusterSpec, HostsError> {
        let name = self.non_empty(raw.name, "cluster name")?;
        let keyspace = raw.keyspace.span();
        let keyspace_name = raw.keyspace.into_inner();
        if let Err(invalid) = Keyspace::new(&keyspace_name) {
            return Err(self.error(keyspace, invalid.to_string()));
        }
        if *raw.replication_factor.get_ref() == 0 {
            return Err(self.error(
                raw.replication_factor.span(),
                "expected a replication_factor of at least 1",
            ));
        }
        Ok(ClusterSpec {
            name,
            keyspace: keyspace_name,
            replication_factor: raw.replication_factor.into_inner(),
        })
    }

    fn ssh(&self, raw: RawSsh) -> Result<SshDefaults, HostsError> {
        let connect_timeout =
            self.seconds(raw.connect_timeout_secs, DEFAULT_CONNECT_TIMEOUT_SECS)?;
        let command_timeout =
            self.seconds(raw.command_timeout_secs, DEFAULT_COMMAND_TIMEOUT_SECS)?;
        Ok(SshDefaults {
            user: raw.user.filter(|user| !user.is_empty()),
            identity_file: raw.identity_file.map(|file| self.resolve_path(&file)),
            known_hosts: raw.known_hosts.unwrap_or(KnownHostsPolicy::Strict),
            known_hosts_file: raw.known_hosts_file.map(|file| self.resolve_path(&file)),
            config_file: self.config_file(raw.config_file)?,
            connect_timeout,
            command_timeout,
        })
    }

    /// `none` stays as ssh reads it (no configuration at all); a path resolves like the others.
    fn config_file(&self, raw: Option<Spanned<String>>) -> Result<Option<PathBuf>, HostsError> {
        let Some(raw) = raw else { return Ok(None) };
        let span = raw.span();
        let file = raw.into_inner();
        if file.trim().is_empty() {
            return Err(self.error(
                span,
                "expected an ssh config file for config_file, or \"none\" to ignore ~/.ssh/config",
            ));
        }
        Ok(Some(if file == "none" {
            PathBuf::from(file)
        } else {
            self.resolve_path(&file)
        }))
    }

    fn seconds(&self, raw: Option<Spanned<u64>>, default: u64) -> Result<Duration, HostsError> {
        match raw {
            None => Ok(Duration::from_secs(default)),
            Some(value) if *value.get_ref() == 0 => {
                Err(self.error(value.span(), "expected a timeout of at least 1 second"))
            }
            Some(value) => Ok(Duration::from_secs(value.into_inner())),
        }
    }

    fn node(
        &self,
        number: usize,
        raw: RawNode,
        ssh: &SshDefaults,
        install: &InstallSpec,
        seen_names: &mut HashMap<String, usize>,
        seen_addresses: &mut HashMap<IpAddr, usize>,
    ) -> Result<NodeSpec, HostsError> {
        let name_span = raw.name.span();
        let name = self.non_empty(raw.name, "node name")?;
        if let Some(other) = seen_names.insert(name.to_ascii_lowercase(), number) {
            return Err(self.error(
                name_span,
                format!("duplicate node name {name:?} (already used by node {other}); expected unique names"),
            ));
        }
        let address_span = raw.address.span();
        let address_text = raw.address.into_inner();
        let address: IpAddr = address_text.trim().parse().map_err(|_| {
            self.error(
                address_span.clone(),
                format!(
                    "expected an IP address (the node's Cassandra listen address, as \
                     `nodetool status` shows it), found {address_text:?}"
                ),
            )
        })?;
        if let Some(other) = seen_addresses.insert(address, number) {
            return Err(self.error(
                address_span,
                format!("duplicate address {address} (already used by node {other}); expected one address per node"),
            ));
        }
        let ssh_port = match raw.ssh_port {
            Some(port) if *port.get_ref() == 0 => {
                return Err(self.error(port.span(), "expected an ssh_port between 1 and 65535"));
            }
            port => port.map(Spanned::into_inner),
        };
        let raw_commands = raw.commands;
        let command = |given: Option<String>, verb: Verb| {
            given.unwrap_or_else(|| install.control_command(verb))
        };
        let commands = NodeCommands {
            nodetool: command(raw_commands.nodetool, Verb::Nodetool),
            start: command(raw_commands.start, Verb::Start),
            stop: command(raw_commands.stop, Verb::Stop),
            kill: command(raw_commands.kill, Verb::Kill),
            freeze: command(raw_commands.freeze, Verb::Freeze),
            thaw: command(raw_commands.thaw, Verb::Thaw),
            isolate: command(raw_commands.isolate, Verb::Isolate),
            heal: command(raw_commands.heal, Verb::Heal),
        };
        Ok(NodeSpec {
            number,
            name,
            address,
            seed: raw.seed,
            transport: raw.transport.unwrap_or(Transport::Ssh),
            ssh_host: raw
                .ssh_host
                .filter(|host| !host.is_empty())
                .unwrap_or_else(|| address.to_string()),
            ssh_port,
            ssh_user: raw.ssh_user.or_else(|| ssh.user.clone()),
            commands,
        })
    }

    fn app(&self, raw: RawApp) -> Result<AppSpec, HostsError> {
        let address = self.non_empty(raw.address, "app address")?;
        let kafka_span = raw.kafka_bootstrap.span();
        let kafka_bootstrap = raw.kafka_bootstrap.into_inner();
        if !kafka_bootstrap.split(',').all(has_port) {
            return Err(self.error(
                kafka_span,
                format!("expected host:port[,host:port...] for kafka_bootstrap, found {kafka_bootstrap:?}"),
            ));
        }
        let api_listen = match raw.api_listen {
            None => "0.0.0.0:8080".to_string(),
            Some(listen) => {
                let span = listen.span();
                let listen = listen.into_inner();
                if listen.parse::<std::net::SocketAddr>().is_err() {
                    return Err(self.error(
                        span,
                        format!("expected ip:port for api_listen, found {listen:?}"),
                    ));
                }
                listen
            }
        };
        let api_url = raw
            .api_url
            .unwrap_or_else(|| format!("http://{address}:8080"));
        Ok(AppSpec {
            name: raw.name,
            address,
            kafka_bootstrap,
            api_listen,
            api_url,
        })
    }

    fn non_empty(&self, value: Spanned<String>, what: &str) -> Result<String, HostsError> {
        let span = value.span();
        let value = value.into_inner();
        if value.trim().is_empty() {
            Err(self.error(span, format!("expected a non-empty {what}")))
        } else {
            Ok(value)
        }
    }

    /// `~/x` is under $HOME; a relative path is relative to the hosts file.
    fn resolve_path(&self, file: &str) -> PathBuf {
        if let Some(rest) = file.strip_prefix("~/")
            && let Some(home) = std::env::var_os("HOME")
        {
            return PathBuf::from(home).join(rest);
        }
        let path = PathBuf::from(file);
        if path.is_absolute() {
            path
        } else {
            self.path
                .parent()
                .map(|dir| dir.join(&path))
                .unwrap_or(path)
        }
    }
}

fn has_port(endpoint: &str) -> bool {
    endpoint
        .trim()
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

fn invalid(path: &Path, text: &str, span: Range<usize>, message: String) -> HostsError {
    let (line, column) = line_column(text, span.start);
    HostsError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use test_support::assert_contains;

    /// A lab-like inventory, also the fixture of other modules' tests.
    pub(crate) const LAB: &str = r#"
[cluster]
name = "iot_demo_lab"
keyspace = "iot_demo"
replication_factor = 3

[[nodes]]
name = "PC1"
address = "127.0.0.1"
seed = true
transport = "local"
[nodes.commands]
nodetool = "/lab/nodetool -h 127.0.0.1 -p 7199"
start = "/lab/node1/bin/start"
stop = "/lab/node1/bin/stop"

[[nodes]]
name = "PC2"
address = "127.0.0.2"
transport = "local"

[[nodes]]
name = "PC3"
address = "127.0.0.3"

[app]
address = "127.0.0.1"
kafka_bootstrap = "127.0.0.1:9092"
api_listen = "127.0.0.1:8080"
api_url = "http://127.0.0.1:8080"
"#;

    fn parse(text: &str) -> Result<Inventory, HostsError> {
        Inventory::parse(text, Path::new("hosts.toml"))
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn parses_the_lab_layout_with_defaults() {
        let inventory = parse(LAB).unwrap();
        assert_eq!(inventory.cluster.name, "iot_demo_lab");
        assert_eq!(inventory.nodes.len(), 3);
        let pc1 = &inventory.nodes[0];
        assert_eq!(pc1.number, 1);
        assert_eq!(pc1.transport, Transport::Local);
        assert!(pc1.seed);
        assert_eq!(pc1.command(Verb::Start), "/lab/node1/bin/start");
        assert_eq!(
            pc1.nodetool("status"),
            "/lab/nodetool -h 127.0.0.1 -p 7199 status"
        );
        let pc3 = &inventory.nodes[2];
        assert_eq!(pc3.transport, Transport::Ssh);
        assert_eq!(pc3.ssh_host, "127.0.0.3");
        // Without [install] and [nodes.commands]: the commands provision installs.
        assert_eq!(inventory.install.path, Path::new(DEFAULT_INSTALL_PATH));
        assert_eq!(
            pc3.command(Verb::Nodetool),
            "/opt/cassandra-demo/bin/nodetool"
        );
        assert_eq!(pc3.command(Verb::Stop), "/opt/cassandra-demo/bin/stop");
        assert_eq!(
            pc3.command(Verb::Isolate),
            "/opt/cassandra-demo/bin/isolate"
        );
        assert_eq!(pc3.command(Verb::Heal), "/opt/cassandra-demo/bin/heal");
        assert_eq!(inventory.ssh.known_hosts, KnownHostsPolicy::Strict);
        assert_eq!(inventory.ssh.connect_timeout, Duration::from_secs(5));
        assert_eq!(inventory.app.name, "PC4");
    }

    /// The lab's inventory with an `[install]` table of `lines`, at line 27.
    fn with_install(lines: &str) -> String {
        LAB.replace("[app]", &format!("[install]\n{lines}\n\n[app]"))
    }

    /// `[install]` with `lines` is refused at `position` (line:column), saying `says`.
    fn assert_install_refused(lines: &str, position: &str, says: &str) {
        let err = error_of(&with_install(lines));
        assert!(
            err.contains(&format!("hosts.toml:{position}:")) && err.contains(says),
            "{err}"
        );
    }

    #[test]
    fn the_install_path_moves_every_default_command_and_must_be_absolute() {
        let moved = with_install("path = \"/srv/demo\"");
        let inventory = parse(&moved).unwrap();
        assert_eq!(inventory.nodes[2].command(Verb::Kill), "/srv/demo/bin/kill");
        // Commands given in the file stay as written.
        assert_eq!(
            inventory.nodes[0].command(Verb::Start),
            "/lab/node1/bin/start"
        );

        assert_eq!(inventory.install.heap_mb, None);
        let capped = with_install("heap_mb = 512");
        let inventory = parse(&capped).unwrap();
        assert_eq!(inventory.install.heap_mb, Some(512));
        assert_eq!(inventory.install.path, Path::new(DEFAULT_INSTALL_PATH));
        assert_install_refused("heap_mb = 64", "27:11", "at least 256");
        assert_install_refused("path = \"opt/demo\"", "27:8", "absolute");
    }

    #[test]
    fn with_systemd_start_and_stop_go_through_the_unit() {
        let inventory = parse(LAB).unwrap();
        assert!(!inventory.install.systemd);
        let unit = with_install("systemd = true");
        let inventory = parse(&unit).unwrap();
        assert!(inventory.install.systemd);
        let pc3 = &inventory.nodes[2];
        assert_eq!(
            pc3.command(Verb::Start),
            "systemctl start cassandra-demo.service"
        );
        assert_eq!(
            pc3.command(Verb::Stop),
            "systemctl stop cassandra-demo.service; /opt/cassandra-demo/bin/stop"
        );
        assert_eq!(pc3.command(Verb::Kill), "/opt/cassandra-demo/bin/kill");
        assert_eq!(
            inventory.install.systemd_unit_file(),
            Path::new("/etc/systemd/system/cassandra-demo.service")
        );
        // Commands given in the file stay as written.
        assert_eq!(
            inventory.nodes[0].command(Verb::Start),
            "/lab/node1/bin/start"
        );

        assert_install_refused(
            "systemd = true\npath = \"/opt/my demo\"",
            "28:8",
            "letters, digits",
        );
        assert_install_refused("systemd = \"yes\"", "27:11", "bool");
    }

    #[test]
    fn finds_nodes_by_number_or_name_in_any_case() {
        let inventory = parse(LAB).unwrap();
        assert_eq!(inventory.node("2").unwrap().name, "PC2");
        assert_eq!(inventory.node("pc3").unwrap().number, 3);
        assert_eq!(inventory.node(" PC1 ").unwrap().number, 1);
        let err = inventory.node("4").unwrap_err().to_string();
        assert!(
            err.contains("1..=3") && err.contains("PC1, PC2, PC3"),
            "{err}"
        );
        assert!(inventory.node("0").is_err());
        assert!(inventory.node("PC9").is_err());
    }

    #[test]
    fn more_than_three_nodes_work() {
        let mut text = LAB.to_string();
        text = text.replace(
            "[app]",
            "[[nodes]]\nname = \"PC5\"\naddress = \"10.0.0.5\"\nssh_port = 2222\n\n[app]",
        );
        let inventory = parse(&text).unwrap();
        assert_eq!(inventory.nodes.len(), 4);
        assert_eq!(inventory.node("4").unwrap().name, "PC5");
        assert_eq!(inventory.node("4").unwrap().ssh_port, Some(2222));
    }

    #[test]
    fn the_repository_hosts_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hosts.toml");
        let inventory = Inventory::load(&path).unwrap();
        assert_eq!(inventory.nodes.len(), 3);
        assert_eq!(inventory.cluster.replication_factor, 3);
        assert!(
            inventory
                .nodes
                .iter()
                .all(|n| n.transport == Transport::Ssh)
        );
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let text = "[cluster]\nname = \"x\"\nkeyspace = iot_demo\n";
        let err = error_of(text);
        assert!(err.starts_with("hosts.toml:3:12: "), "{err}");
    }

    #[test]
    fn keyspace_follows_cassandra_s_rule() {
        for bad in ["1abc", "a-b", ""] {
            let text = LAB.replace("keyspace = \"iot_demo\"", &format!("keyspace = {bad:?}"));
            let err = error_of(&text);
            assert!(err.contains("invalid keyspace name"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn unknown_key_is_refused_with_its_position() {
        let text = LAB.replace("seed = true", "seed = true\nseeds = true");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:11:1: "), "{err}");
        assert_contains(&err, "unknown field `seeds`");
    }

    #[test]
    fn wrong_type_is_refused_with_its_position() {
        let text = LAB.replace("replication_factor = 3", "replication_factor = \"three\"");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:5:22: "), "{err}");
    }

    #[test]
    fn bad_transport_says_what_is_expected() {
        let text = LAB.replacen("transport = \"local\"", "transport = \"telnet\"", 1);
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:11:13: "), "{err}");
        assert!(err.contains("ssh") && err.contains("local"), "{err}");
    }

    #[test]
    fn duplicate_name_points_at_the_second_one() {
        let text = LAB.replace("name = \"PC3\"", "name = \"pc2\"");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:23:8: "), "{err}");
        assert_contains(&err, "duplicate node name");
    }

    #[test]
    fn duplicate_address_points_at_the_second_one() {
        let text = LAB.replace("address = \"127.0.0.3\"", "address = \"127.0.0.2\"");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:24:11: "), "{err}");
        assert_contains(&err, "duplicate address 127.0.0.2");
    }

    #[test]
    fn address_must_be_an_ip() {
        let text = LAB.replace("address = \"127.0.0.3\"", "address = \"pc3.local\"");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:24:11: "), "{err}");
        assert_contains(&err, "expected an IP address");
    }

    #[test]
    fn no_seed_is_refused() {
        let text = LAB.replace("seed = true", "seed = false");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:8:8: "), "{err}");
        assert_contains(&err, "seed");
    }

    #[test]
    fn replication_factor_larger_than_the_cluster_is_refused() {
        let text = LAB.replace("replication_factor = 3", "replication_factor = 4");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:5:22: "), "{err}");
        assert_contains(&err, "larger than the number of nodes (3)");
    }

    #[test]
    fn missing_section_is_named() {
        let text = LAB.split("[app]").next().unwrap_or_default().to_string();
        let err = error_of(&text);
        assert_contains(&err, "missing field `app`");
        assert!(err.starts_with("hosts.toml:"), "{err}");
    }

    #[test]
    fn bad_kafka_bootstrap_is_refused() {
        let text = LAB.replace("\"127.0.0.1:9092\"", "\"127.0.0.1\"");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:28:19: "), "{err}");
    }

    #[test]
    fn zero_timeout_is_refused() {
        let text = LAB.replace("[cluster]", "[ssh]\nconnect_timeout_secs = 0\n\n[cluster]");
        let err = error_of(&text);
        assert!(err.starts_with("hosts.toml:3:24: "), "{err}");
    }

    #[test]
    fn ssh_config_file_is_none_a_resolved_path_or_absent() {
        assert_eq!(parse(LAB).unwrap().ssh.config_file, None);
        let with = |value: &str| {
            LAB.replace(
                "[cluster]",
                &format!("[ssh]\nconfig_file = {value}\n\n[cluster]"),
            )
        };
        let none = parse(&with("\"none\"")).unwrap();
        assert_eq!(none.ssh.config_file.as_deref(), Some(Path::new("none")));
        let relative =
            Inventory::parse(&with("\"ssh_config\""), Path::new("/lab/hosts.toml")).unwrap();
        assert_eq!(
            relative.ssh.config_file.as_deref(),
            Some(Path::new("/lab/ssh_config"))
        );
        let err = error_of(&with("\" \""));
        assert!(err.starts_with("hosts.toml:3:15: "), "{err}");
        assert_contains(&err, "\"none\"");
        let err = error_of(&with("3"));
        assert!(err.starts_with("hosts.toml:3:15: "), "{err}");
    }

    #[test]
    fn missing_file_says_so() {
        let err = Inventory::load("/nonexistent/hosts.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/hosts.toml") && err.contains("--hosts"),
            "{err}"
        );
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
