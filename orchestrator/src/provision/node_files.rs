//! The files `demo provision` installs on a PC, from hosts.toml and what the PC has:
//! the node's configuration and control scripts from the shared writer
//! (`node_config`), plus what only a real PC needs: its own `nodetool`, and the
//! `isolate` / `heal` pair for the cable-pulled fault, and with `[install] systemd = true`
//! a systemd unit over the same start and stop scripts. Also the two choices made from
//! the PC's facts: which Java, and how much heap.

use std::path::{Path, PathBuf};

use crate::hosts::{Inventory, MIN_HEAP_MB, NodeSpec, SYSTEMD_UNIT};
use crate::lab::process::parse_java_major;
use crate::node_config::{
    self, CQL_PORT, JMX_PORT, Jmx, LOGBACK_TOOLS, NodeConfig, NodeFile, STORAGE_PORT, Tokens, quote,
};

/// Java majors Cassandra 5.0 runs on.
pub const FIT_JAVA: [u32; 2] = [11, 17];
/// How long an isolated PC stays cut off when nobody heals it.
pub const ISOLATE_BOUND_SECS: u32 = 600;
/// The iptables chain isolate fills and heal removes.
pub const ISOLATE_CHAIN: &str = "DEMO_ISOLATE";

/// The distribution's place under the install path.
pub fn cassandra_home(install: &Path) -> PathBuf {
    install.join("cassandra")
}

/// The first Java of `javas` Cassandra 5.0 runs on, with its major version.
pub fn fit_java(javas: &[(String, String)]) -> Option<(String, u32)> {
    javas.iter().find_map(|(path, version)| {
        let major = parse_java_major(version)?;
        FIT_JAVA.contains(&major).then(|| (path.clone(), major))
    })
}

/// Cassandra's own rule (cassandra-env.sh), max(min(RAM/2, 1 GiB), min(RAM/4, 8 GiB)),
/// capped by `[install].heap_mb`, never under the smallest heap Cassandra starts with.
pub fn heap_mb(mem_kb: Option<u64>, cap: Option<u32>) -> u32 {
    let ram_mb = mem_kb.unwrap_or(0) / 1024;
    let auto = (ram_mb / 2).min(1024).max((ram_mb / 4).min(8192));
    let auto = u32::try_from(auto).unwrap_or(u32::MAX).max(MIN_HEAP_MB);
    cap.map_or(auto, |cap| cap.min(auto)).max(MIN_HEAP_MB)
}

/// The node as the shared writer sees it.
pub fn node_config(
    inventory: &Inventory,
    node: &NodeSpec,
    java: &str,
    heap_mb: u32,
    jamm_jar: Option<String>,
) -> NodeConfig {
    let install = &inventory.install.path;
    NodeConfig {
        name: node.name.clone(),
        written_by: format!(
            "{}: written by `demo provision` from the hosts file; a file it replaces is kept as <file>.bak-<time>.",
            node.name
        ),
        cluster_name: inventory.cluster.name.clone(),
        address: node.address.to_string(),
        seeds: inventory
            .nodes
            .iter()
            .filter(|node| node.seed)
            .map(|node| node.address.to_string())
            .collect(),
        dir: install.clone(),
        home: cassandra_home(install),
        java: PathBuf::from(java),
        heap_mb,
        jmx: Jmx::Remote(JMX_PORT),
        tokens: Tokens::Allocated,
        jamm_jar,
    }
}

/// Every file of the PC: configuration, the control commands, nodetool, and the
/// systemd unit (running the node as `unit_user`) when there is one.
pub fn files(config: &NodeConfig, unit: Option<&UnitFile>) -> Vec<NodeFile> {
    let nodetool = config.script("nodetool");
    let logback_tools = config.conf("logback-tools.xml");
    let mut files = config.files(&nodetool);
    files.extend([
        NodeFile {
            path: logback_tools.clone(),
            content: LOGBACK_TOOLS.to_string(),
            executable: false,
        },
        NodeFile {
            path: nodetool,
            content: node_config::nodetool_script(
                &config.java,
                &config.home,
                &logback_tools,
                &format!(
                    "nodetool of {}: this PC's JMX (127.0.0.1:{JMX_PORT}) unless -h/-p say otherwise.",
                    config.name
                ),
            ),
            executable: true,
        },
        NodeFile {
            path: config.script("isolate"),
            content: isolate_script(&config.name, &config.dir),
            executable: true,
        },
        NodeFile {
            path: config.script("heal"),
            content: heal_script(&config.name, &config.dir),
            executable: true,
        },
    ]);
    if let Some(unit) = unit {
        files.push(NodeFile {
            path: unit.path.clone(),
            content: systemd_unit(config, &unit.user),
            executable: false,
        });
    }
    files
}

/// Where the PC's systemd unit goes and which user its node runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    pub path: PathBuf,
    /// The SSH user, who owns the install path and runs the control commands.
    pub user: String,
}

/// The node as a systemd service: enabled, it starts when the PC boots. ExecStart and
/// ExecStop are the very scripts the conductor runs, so a node started either way is the
/// same node; no Restart=, because a node the demonstration kills must stay down until
/// the presenter brings it back.
fn systemd_unit(config: &NodeConfig, user: &str) -> String {
    format!(
        "# {written_by}\n\
# Enabled by `demo provision` ([install] systemd = true): {name} starts when the PC boots.\n\
[Unit]\n\
Description=Cassandra node {name} of the demonstration\n\
Wants=network-online.target\n\
After=network-online.target\n\
\n\
[Service]\n\
Type=forking\n\
User={user}\n\
PIDFile={pid}\n\
ExecStart={start}\n\
ExecStop={stop}\n\
# A killed node stays down until `demo start-node` (systemctl start) brings it back.\n\
Restart=no\n\
TimeoutStartSec=60\n\
# bin/stop drains first and waits up to 70 s.\n\
TimeoutStopSec=90\n\
LimitNOFILE=1048576\n\
LimitMEMLOCK=infinity\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n",
        written_by = config.written_by,
        name = config.name,
        pid = config.pid_file().display(),
        start = config.script("start").display(),
        stop = config.script("stop").display(),
    )
}

/// The command that makes systemd read the unit and start it at boot.
pub fn enable_unit_command() -> String {
    format!("systemctl daemon-reload && systemctl enable --quiet {SYSTEMD_UNIT}")
}

/// Files whose change only takes effect when the node restarts.
pub fn needs_restart(path: &Path) -> bool {
    [
        "cassandra.yaml",
        "cassandra-rackdc.properties",
        "logback.xml",
        "start",
        SYSTEMD_UNIT,
    ]
    .iter()
    .any(|name| path.file_name().is_some_and(|file| file == *name))
}

fn ports() -> String {
    format!("{STORAGE_PORT},{CQL_PORT},{JMX_PORT}")
}

/// Cable pulled: the PC drops its Cassandra ports to and from every other address.
fn isolate_script(name: &str, install: &Path) -> String {
    format!(
        "#!/bin/sh\n\
# Cable pulled on {name}: drops Cassandra's traffic (storage, CQL, JMX: {ports}) to and from\n\
# every other address; loopback and SSH are untouched. A detached timer heals the PC after\n\
# $1 seconds ({ISOLATE_BOUND_SECS} by default) even if the conductor is gone; `heal` undoes it sooner.\n\
# Written by `demo provision`. Needs root (iptables), no sudo prompt.\n\
INSTALL={install}\n\
CHAIN={ISOLATE_CHAIN}\n\
BOUND=${{1:-{ISOLATE_BOUND_SECS}}}\n\
command -v iptables >/dev/null 2>&1 || {{ echo \"{name}: iptables not found (Debian: apt-get install iptables)\" >&2; exit 1; }}\n\
# One chain, one timer: start from a healed PC.\n\
\"$INSTALL/bin/heal\" >/dev/null || exit 1\n\
iptables -w 5 -N \"$CHAIN\" || exit 1\n\
iptables -w 5 -A \"$CHAIN\" -p tcp -m multiport --dports {ports} -j DROP || exit 1\n\
iptables -w 5 -A \"$CHAIN\" -p tcp -m multiport --sports {ports} -j DROP || exit 1\n\
iptables -w 5 -I INPUT 1 ! -i lo -j \"$CHAIN\" || exit 1\n\
iptables -w 5 -I OUTPUT 1 ! -o lo -j \"$CHAIN\" || exit 1\n\
setsid nohup sh -c \"sleep $BOUND; exec '$INSTALL/bin/heal'\" >/dev/null 2>&1 < /dev/null &\n\
echo $! > \"$INSTALL/isolate-timer.pid\"\n\
echo \"{name} isolated: ports {ports} dropped to and from other PCs (SSH kept); heals itself in ${{BOUND}}s\"\n",
        ports = ports(),
        install = quote(install),
    )
}

/// Undoes isolate: the chain, its jumps and the timer; harmless when not isolated.
fn heal_script(name: &str, install: &Path) -> String {
    format!(
        "#!/bin/sh\n\
# Undoes `isolate` on {name}: removes the {ISOLATE_CHAIN} chain, its jumps and the self-healing\n\
# timer; harmless when the PC is not isolated. Written by `demo provision`.\n\
INSTALL={install}\n\
CHAIN={ISOLATE_CHAIN}\n\
TIMER=\"$INSTALL/isolate-timer.pid\"\n\
if command -v iptables >/dev/null 2>&1; then\n\
  while iptables -w 5 -D INPUT ! -i lo -j \"$CHAIN\" 2>/dev/null; do :; done\n\
  while iptables -w 5 -D OUTPUT ! -o lo -j \"$CHAIN\" 2>/dev/null; do :; done\n\
  iptables -w 5 -F \"$CHAIN\" 2>/dev/null\n\
  iptables -w 5 -X \"$CHAIN\" 2>/dev/null\n\
  if iptables -w 5 -S \"$CHAIN\" >/dev/null 2>&1; then echo \"{name}: could not remove the $CHAIN chain\" >&2; exit 1; fi\n\
fi\n\
timer=$(cat \"$TIMER\" 2>/dev/null)\n\
# The timer's own shell runs heal by exec when its time is up: it is not killed.\n\
if [ -n \"$timer\" ] && [ \"$timer\" != \"$$\" ] && grep -qa sleep \"/proc/$timer/cmdline\" 2>/dev/null \\\n\
  && grep -qa \"$INSTALL/bin/heal\" \"/proc/$timer/cmdline\" 2>/dev/null; then\n\
  kill -- \"-$timer\" 2>/dev/null || kill \"$timer\" 2>/dev/null\n\
fi\n\
rm -f \"$TIMER\"\n\
echo \"{name} healed: its Cassandra traffic flows again\"\n",
        install = quote(install),
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::node_config::Tokens;

    #[test]
    fn heap_follows_cassandra_s_rule_and_the_cap() {
        let gib = 1024 * 1024;
        assert_eq!(heap_mb(Some(2 * gib), None), 1024);
        assert_eq!(heap_mb(Some(16 * gib), None), 4096);
        assert_eq!(heap_mb(Some(64 * gib), None), 16384 / 2);
        assert_eq!(heap_mb(Some(16 * gib), Some(512)), 512);
        assert_eq!(heap_mb(Some(gib / 4), None), MIN_HEAP_MB);
        assert_eq!(heap_mb(None, None), MIN_HEAP_MB);
    }

    #[test]
    fn only_java_11_or_17_is_fit() {
        let javas = vec![
            (
                "/a/java".to_string(),
                "openjdk version \"21.0.2\" 2024-01-16".to_string(),
            ),
            (
                "/b/java".to_string(),
                "openjdk version \"17.0.15\" 2025-04-15".to_string(),
            ),
        ];
        assert_eq!(fit_java(&javas), Some(("/b/java".to_string(), 17)));
        assert_eq!(fit_java(&javas[..1]), None);
    }

    #[test]
    fn isolate_drops_cassandra_ports_but_not_loopback_and_heals_itself() {
        let text = isolate_script("PC2", Path::new("/opt/demo"));
        assert!(text.contains("--dports 7000,9042,7199 -j DROP"), "{text}");
        assert!(text.contains("-I INPUT 1 ! -i lo -j \"$CHAIN\""), "{text}");
        assert!(text.contains("setsid nohup sh -c \"sleep $BOUND; exec '$INSTALL/bin/heal'\""));
        assert!(text.contains("BOUND=${1:-600}"), "{text}");
        assert!(!text.contains("22"), "SSH is never named: {text}");
        let heal = heal_script("PC2", Path::new("/opt/demo"));
        assert!(heal.contains("-X \"$CHAIN\""), "{heal}");
        assert!(needs_restart(Path::new("/opt/demo/conf/cassandra.yaml")));
        assert!(!needs_restart(Path::new("/opt/demo/bin/heal")));
    }

    fn config_in(dir: &Path) -> NodeConfig {
        NodeConfig {
            name: "PC2".into(),
            written_by: "PC2: written by a test".into(),
            cluster_name: "demo".into(),
            address: "10.0.0.2".into(),
            seeds: vec!["10.0.0.1".into()],
            dir: dir.to_path_buf(),
            home: cassandra_home(dir),
            java: "/usr/bin/java".into(),
            heap_mb: 1024,
            jmx: Jmx::Remote(JMX_PORT),
            tokens: Tokens::Allocated,
            jamm_jar: None,
        }
    }

    #[test]
    fn the_unit_is_added_only_when_asked_and_runs_the_control_scripts() {
        let config = config_in(Path::new("/opt/demo"));
        let unit = UnitFile {
            path: "/etc/systemd/system/cassandra-demo.service".into(),
            user: "demo".into(),
        };
        assert!(
            !files(&config, None)
                .iter()
                .any(|file| file.path == unit.path)
        );
        let all = files(&config, Some(&unit));
        let text = &all
            .iter()
            .find(|file| file.path == unit.path)
            .expect("the unit is one of the files")
            .content;
        for line in [
            "Type=forking",
            "User=demo",
            "PIDFile=/opt/demo/cassandra.pid",
            "ExecStart=/opt/demo/bin/start",
            "ExecStop=/opt/demo/bin/stop",
            "Restart=no",
            "WantedBy=multi-user.target",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        assert!(needs_restart(&unit.path));
    }

    /// systemd's own parser reads the unit: a misspelt key or a bad value is only a
    /// warning to systemd, so any word about the file fails the test.
    #[test]
    fn systemd_analyze_accepts_the_unit() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        for script in ["start", "stop"] {
            let path = config.script(script);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let user = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let unit = dir.path().join(SYSTEMD_UNIT);
        std::fs::write(&unit, systemd_unit(&config, user.trim())).unwrap();
        let verify = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .output()
            .expect("systemd-analyze (Debian: apt-get install systemd)");
        let stderr = String::from_utf8_lossy(&verify.stderr);
        assert!(verify.status.success(), "{stderr}");
        assert!(!stderr.contains(SYSTEMD_UNIT), "{stderr}");
    }
}
