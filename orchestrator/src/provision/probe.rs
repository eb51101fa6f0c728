//! What a PC has before provisioning touches it, read in one SSH command: its memory,
//! the SSH user, whether systemd runs the PC (and the node's unit is enabled), the Java
//! runtimes it offers, the Cassandra distribution at the install path (version
//! and a manifest of its jars), whether the node runs, and the current text of every
//! file provisioning manages (base64, so any byte survives the shell).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::hosts::SYSTEMD_UNIT;
use crate::node_config::shell_word;

/// What one PC has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub mem_kb: Option<u64>,
    /// `id -un`: who the SSH session runs as.
    pub user: String,
    /// systemd is the PC's init (`/run/systemd/system` exists).
    pub systemd_running: bool,
    /// The SSH user may write `/etc/systemd/system`.
    pub systemd_writable: bool,
    /// `systemctl is-enabled` of the demonstration's unit ("enabled", "disabled", or
    /// empty when systemd does not know it).
    pub unit_enabled: String,
    /// `(java binary, first line of its -version)`, in order of preference.
    pub javas: Vec<(String, String)>,
    /// The content of `<install>/cassandra/VERSION` (empty when absent).
    pub dist_version: String,
    /// `name size` of every jar at `<install>/cassandra/lib`, sorted.
    pub jars: Vec<String>,
    /// The node's pid when its JVM runs.
    pub running: Option<u32>,
    /// Current content of each managed file (`None`: absent).
    pub files: HashMap<PathBuf, Option<Vec<u8>>>,
}

/// The shell command that prints a PC's facts for [`parse`].
pub fn command(install: &Path, files: &[PathBuf]) -> String {
    let install = shell_word(&install.display().to_string());
    let mut script = format!(
        "I={install}\n\
echo \"mem_kb $(awk '/^MemTotal:/ {{print $2}}' /proc/meminfo)\"\n\
echo \"user $(id -un)\"\n\
[ -d /run/systemd/system ] && echo systemd_running\n\
[ -w /etc/systemd/system ] && echo systemd_writable\n\
echo \"unit_enabled $(systemctl is-enabled {SYSTEMD_UNIT} 2>/dev/null)\"\n\
for j in \"${{JAVA_HOME:+$JAVA_HOME/bin/java}}\" \"$(command -v java 2>/dev/null)\" /usr/lib/jvm/*/bin/java; do\n\
  [ -n \"$j\" ] && [ -x \"$j\" ] || continue\n\
  printf 'java %s\\t%s\\n' \"$j\" \"$(\"$j\" -version 2>&1 | head -n 1)\"\n\
done\n\
echo \"dist_version $(cat \"$I/cassandra/VERSION\" 2>/dev/null)\"\n\
if [ -d \"$I/cassandra/lib\" ]; then (cd \"$I/cassandra/lib\" && find . -maxdepth 1 -type f -printf 'jar %f %s\\n' | LC_ALL=C sort); fi\n\
pid=$(cat \"$I/cassandra.pid\" 2>/dev/null)\n\
if [ -n \"$pid\" ] && grep -qa \"$I/conf\" \"/proc/$pid/cmdline\" 2>/dev/null \
&& [ \"$(awk '{{print $3}}' \"/proc/$pid/stat\" 2>/dev/null)\" != Z ]; then echo \"running $pid\"; fi\n"
    );
    for file in files {
        let file = shell_word(&file.display().to_string());
        script.push_str(&format!(
            "if [ -f {file} ]; then echo \"file $(base64 -w0 < {file}) \"{file}; else echo \"nofile \"{file}; fi\n"
        ));
    }
    script
}

/// Reads [`command`]'s output.
pub fn parse(output: &str) -> Result<Facts, String> {
    let mut facts = Facts::default();
    for line in output.lines() {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "mem_kb" => facts.mem_kb = rest.trim().parse().ok(),
            "user" => facts.user = rest.trim().to_string(),
            "systemd_running" => facts.systemd_running = true,
            "systemd_writable" => facts.systemd_writable = true,
            "unit_enabled" => facts.unit_enabled = rest.trim().to_string(),
            "java" => {
                if let Some((path, version)) = rest.split_once('\t') {
                    facts.javas.push((path.to_string(), version.to_string()));
                }
            }
            "dist_version" => facts.dist_version = rest.trim().to_string(),
            "jar" => facts.jars.push(rest.to_string()),
            "running" => facts.running = rest.trim().parse().ok(),
            "file" => {
                let (encoded, path) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("unreadable line {line:?}"))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| format!("{path}: unreadable base64 ({e})"))?;
                facts.files.insert(PathBuf::from(path), Some(bytes));
            }
            "nofile" => {
                facts.files.insert(PathBuf::from(rest), None);
            }
            _ => {}
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_read_back() {
        let output = "mem_kb 4028000\n\
user demo\n\
systemd_running\n\
unit_enabled disabled\n\
java /usr/bin/java\topenjdk version \"17.0.15\" 2025-04-15\n\
dist_version 5.0.6\n\
jar a.jar 10\njar b.jar 20\n\
running 42\n\
file aGVsbG8K /opt/demo/conf/x.yaml\n\
file  /opt/demo/conf/empty\n\
nofile /opt/demo/bin/start\n";
        let facts = parse(output).unwrap();
        assert_eq!(facts.mem_kb, Some(4_028_000));
        assert_eq!(facts.user, "demo");
        assert!(facts.systemd_running && !facts.systemd_writable);
        assert_eq!(facts.unit_enabled, "disabled");
        assert_eq!(facts.javas[0].0, "/usr/bin/java");
        assert_eq!(facts.dist_version, "5.0.6");
        assert_eq!(facts.jars, vec!["a.jar 10", "b.jar 20"]);
        assert_eq!(facts.running, Some(42));
        assert_eq!(
            facts.files[Path::new("/opt/demo/conf/x.yaml")],
            Some(b"hello\n".to_vec())
        );
        assert_eq!(
            facts.files[Path::new("/opt/demo/conf/empty")],
            Some(Vec::new())
        );
        assert_eq!(facts.files[Path::new("/opt/demo/bin/start")], None);
    }

    #[test]
    fn the_command_quotes_every_path() {
        let text = command(
            Path::new("/opt/it's"),
            &[PathBuf::from("/opt/it's/bin/start")],
        );
        assert!(text.starts_with("I='/opt/it'\\''s'\n"), "{text}");
        assert!(text.contains("[ -f '/opt/it'\\''s/bin/start' ]"), "{text}");
    }
}
