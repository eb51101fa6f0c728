//! One PC's plan, from its facts and hosts.toml, and its application: the distribution
//! uploaded when it differs, each changed file written (the old one kept as
//! `<file>.bak-<time>`), the systemd unit enabled when it is asked for and not yet
//! enabled, nothing else touched.

use std::path::PathBuf;

use similar::TextDiff;

use super::distribution::Distribution;
use super::{ProvisionError, node_files, probe};
use crate::hosts::{Inventory, NodeSpec, SYSTEMD_UNIT};
use crate::node_config::{NODE_DIRS, NodeFile, shell_word};
use crate::progress::Progress;
use crate::remote::{Remote, RemoteOptions};

/// How long writing one file or reading a PC's facts may take.
const SHORT: std::time::Duration = std::time::Duration::from_secs(60);

/// What will happen to the node's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    /// Runs, with everything as planned: left alone.
    UpToDate,
    /// Not running: started (joining the cluster when others already run).
    Start,
    /// Runs, but its configuration or distribution changed: stopped and started again.
    Restart,
}

/// One file that differs from what the PC has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    /// The PC had a file there (it is backed up before being replaced).
    pub existed: bool,
    /// Unified diff, old → new.
    pub diff: String,
}

/// What provisioning found and plans for one PC.
#[derive(Debug, Clone)]
pub struct PcPlan {
    /// "PC2 (10.77.0.2)".
    pub label: String,
    pub name: String,
    /// "/usr/bin/java (Java 17)".
    pub java: String,
    pub heap_mb: u32,
    /// The distribution must be uploaded (missing or another version).
    pub upload: bool,
    /// The size of that upload.
    pub upload_bytes: u64,
    pub changes: Vec<FileChange>,
    /// The systemd unit must be (re)loaded and enabled.
    pub enable_unit: bool,
    pub action: NodeAction,
    /// The node's pid when it runs.
    pub pid: Option<u32>,
}

impl PcPlan {
    pub fn is_up_to_date(&self) -> bool {
        !self.upload
            && self.changes.is_empty()
            && !self.enable_unit
            && self.action == NodeAction::UpToDate
    }
}

/// A PC being provisioned: its connection, the files it should have and the plan.
pub struct Pc {
    pub node: NodeSpec,
    pub remote: Remote,
    files: Vec<NodeFile>,
    pub plan: PcPlan,
}

/// Connects to `node`, reads what it has and plans what to change.
pub async fn plan(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
    distribution: &Distribution,
) -> Result<Pc, ProvisionError> {
    let remote = Remote::connect(inventory, node, options).await?;
    let install = &inventory.install.path;
    // The managed paths do not depend on the facts: a first config names them.
    let unit_path = inventory
        .install
        .systemd
        .then(|| inventory.install.systemd_unit_file());
    let placeholder_unit = unit_path.clone().map(|path| node_files::UnitFile {
        path,
        user: String::new(),
    });
    let names = node_files::files(
        &node_files::node_config(inventory, node, "java", 0, None),
        placeholder_unit.as_ref(),
    );
    let paths: Vec<PathBuf> = names.iter().map(|file| file.path.clone()).collect();
    let output = remote
        .run_with_timeout(&probe::command(install, &paths), SHORT)
        .await?;
    let facts = probe::parse(&output.stdout).map_err(|detail| ProvisionError::Probe {
        pc: node.label(),
        detail,
    })?;
    let (java, major) =
        node_files::fit_java(&facts.javas).ok_or_else(|| ProvisionError::NoJava {
            pc: node.label(),
            seen: if facts.javas.is_empty() {
                " (no `java` at all)".to_string()
            } else {
                format!(
                    " (only: {})",
                    facts
                        .javas
                        .iter()
                        .map(|(path, version)| format!("{path}: {version}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
        })?;
    let unit = match unit_path {
        Some(path) => Some(systemd_unit(node, &facts, path)?),
        None => None,
    };
    let heap_mb = node_files::heap_mb(facts.mem_kb, inventory.install.heap_mb);
    let config = node_files::node_config(
        inventory,
        node,
        &java,
        heap_mb,
        distribution.jamm_jar.clone(),
    );
    let files = node_files::files(&config, unit.as_ref());
    let changes: Vec<FileChange> = files
        .iter()
        .filter_map(|file| change(file, facts.files.get(&file.path).cloned().flatten()))
        .collect();
    let enable_unit = unit.as_ref().is_some_and(|unit| {
        facts.unit_enabled != "enabled" || changes.iter().any(|c| c.path == unit.path)
    });
    let upload = !distribution.matches(&facts.dist_version, &facts.jars);
    let restart_needed = upload || changes.iter().any(|c| node_files::needs_restart(&c.path));
    let action = match facts.running {
        None => NodeAction::Start,
        Some(_) if restart_needed => NodeAction::Restart,
        Some(_) => NodeAction::UpToDate,
    };
    let plan = PcPlan {
        label: node.label(),
        name: node.name.clone(),
        java: format!("{java} (Java {major})"),
        heap_mb,
        upload,
        upload_bytes: distribution.bytes,
        changes,
        enable_unit,
        action,
        pid: facts.running,
    };
    Ok(Pc {
        node: node.clone(),
        remote,
        files,
        plan,
    })
}

/// The unit for `node`, once its facts show systemd can take it.
fn systemd_unit(
    node: &NodeSpec,
    facts: &probe::Facts,
    path: PathBuf,
) -> Result<node_files::UnitFile, ProvisionError> {
    if !facts.systemd_running {
        return Err(ProvisionError::NoSystemd { pc: node.label() });
    }
    if !facts.systemd_writable {
        return Err(ProvisionError::SystemdNotWritable {
            pc: node.label(),
            user: facts.user.clone(),
            dir: path.parent().map(PathBuf::from).unwrap_or_default(),
        });
    }
    Ok(node_files::UnitFile {
        path,
        user: facts.user.clone(),
    })
}

/// The change `file` makes to what the PC has (`current`), if any.
fn change(file: &NodeFile, current: Option<Vec<u8>>) -> Option<FileChange> {
    let old = current
        .as_ref()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    if current.as_deref() == Some(file.content.as_bytes()) {
        return None;
    }
    let path = file.path.display().to_string();
    let old_text = old.clone().unwrap_or_default();
    let diff = TextDiff::from_lines(old_text.as_str(), file.content.as_str())
        .unified_diff()
        .context_radius(2)
        .header(
            &if old.is_some() {
                format!("{path} (on the PC)")
            } else {
                "/dev/null".to_string()
            },
            &format!("{path} (provisioned)"),
        )
        .to_string();
    Some(FileChange {
        path: file.path.clone(),
        existed: old.is_some(),
        diff,
    })
}

impl Pc {
    /// Uploads the distribution when needed and writes every changed file.
    pub async fn apply_files(
        &self,
        inventory: &Inventory,
        distribution: &Distribution,
        progress: &dyn Progress,
    ) -> Result<(), ProvisionError> {
        let install = &inventory.install.path;
        let name = &self.plan.name;
        if self.plan.is_up_to_date() {
            return Ok(());
        }
        let dirs: Vec<String> = NODE_DIRS
            .iter()
            .map(|dir| shell_word(&install.join(dir).display().to_string()))
            .collect();
        self.remote
            .run_ok(&format!("mkdir -p {}", dirs.join(" ")))
            .await?;
        if self.plan.upload {
            progress.waiting(&format!(
                "{name}: uploading Cassandra {} ({} MB)",
                distribution.version,
                distribution.bytes / 1_000_000
            ));
            distribution.upload(&self.remote, install).await?;
            progress.step(&format!(
                "{name}: Cassandra {} uploaded to {}",
                distribution.version,
                node_files::cassandra_home(install).display()
            ));
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        for change in &self.plan.changes {
            let Some(file) = self.files.iter().find(|file| file.path == change.path) else {
                continue;
            };
            let path = shell_word(&file.path.display().to_string());
            let mode = if file.executable { "755" } else { "644" };
            let command = format!(
                "f={path}; mkdir -p \"$(dirname \"$f\")\" && if [ -e \"$f\" ]; then cp -p \"$f\" \"$f.bak-{stamp}\"; fi \
                 && cat > \"$f.new\" && chmod {mode} \"$f.new\" && mv \"$f.new\" \"$f\""
            );
            self.remote
                .run_with_input(&command, file.content.as_bytes(), SHORT)
                .await?;
        }
        if !self.plan.changes.is_empty() {
            let backed_up = self.plan.changes.iter().filter(|c| c.existed).count();
            progress.step(&format!(
                "{name}: {} file(s) written{}",
                self.plan.changes.len(),
                if backed_up > 0 {
                    format!(" ({backed_up} replaced, kept as <file>.bak-{stamp})")
                } else {
                    String::new()
                }
            ));
        }
        if self.plan.enable_unit {
            self.remote
                .run_ok(&node_files::enable_unit_command())
                .await?;
            progress.step(&format!(
                "{name}: {SYSTEMD_UNIT} enabled (the node starts when the PC boots)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str) -> NodeFile {
        NodeFile {
            path: "/opt/demo/conf/cassandra.yaml".into(),
            content: content.into(),
            executable: false,
        }
    }

    #[test]
    fn an_identical_file_is_no_change_and_a_different_one_is_a_diff() {
        assert_eq!(change(&file("a\n"), Some(b"a\n".to_vec())), None);
        let changed = change(&file("a\nb\n"), Some(b"a\nc\n".to_vec())).unwrap();
        assert!(changed.existed);
        assert!(changed.diff.contains("-c\n+b\n"), "{}", changed.diff);
        let new = change(&file("a\n"), None).unwrap();
        assert!(!new.existed);
        assert!(new.diff.starts_with("--- /dev/null"), "{}", new.diff);
    }
}
