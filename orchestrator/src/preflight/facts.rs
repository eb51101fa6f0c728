//! What one PC says about itself, in one round trip: its Java, the Cassandra version and
//! cassandra.yaml that `demo provision` installed, the free disk at the install path and
//! its memory. One shell script prints them in marked sections; [`parse`] reads them back
//! (pure, unit-tested), so a PC that lacks any of it is a fact, never an error.

use std::path::Path;

use crate::hosts::InstallSpec;
use crate::lab::parse_java_major;

const MARK: &str = "@@preflight ";
const MISSING: &str = "@@missing";

/// The Java a Cassandra started on the PC would get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JavaFact {
    /// Neither `$JAVA_HOME/bin/java` nor `java` on PATH.
    Missing,
    /// Found at `path`; `major` when `-version` could be read, with its first line.
    Found {
        path: String,
        major: Option<u32>,
        version_line: String,
    },
}

/// Everything the facts script found on one PC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub java: JavaFact,
    /// The installed Cassandra version (`None`: nothing installed).
    pub cassandra_version: Option<String>,
    /// The node's cassandra.yaml (`None`: not there).
    pub cassandra_yaml: Option<String>,
    /// Free KiB on the file system of the install path (or its nearest existing parent).
    pub free_disk_kib: Option<u64>,
    /// `MemTotal` and `MemAvailable` of /proc/meminfo, in KiB.
    pub memory_kib: Option<(u64, u64)>,
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The script run on the PC (POSIX sh); every part ends on its own.
pub fn script(install: &InstallSpec) -> String {
    let version = quote(&install.version_file());
    let yaml = quote(&install.cassandra_yaml());
    let path = quote(&install.path);
    format!(
        "echo '{MARK}java'\n\
if [ -n \"${{JAVA_HOME:-}}\" ] && [ -x \"$JAVA_HOME/bin/java\" ]; then j=\"$JAVA_HOME/bin/java\"; else j=$(command -v java 2>/dev/null); fi\n\
if [ -n \"$j\" ]; then echo \"$j\"; \"$j\" -version 2>&1; fi\n\
echo '{MARK}version'\n\
if [ -f {version} ]; then cat {version}; else echo '{MISSING}'; fi\n\
echo '{MARK}yaml'\n\
if [ -f {yaml} ]; then cat {yaml}; else echo '{MISSING}'; fi\n\
echo '{MARK}df'\n\
p={path}; while [ ! -e \"$p\" ]; do p=$(dirname \"$p\"); done; df -Pk \"$p\"\n\
echo '{MARK}meminfo'\n\
grep -E '^(MemTotal|MemAvailable):' /proc/meminfo\n\
exit 0\n"
    )
}

/// The text of each marked section.
fn sections(output: &str) -> Vec<(&str, String)> {
    let mut sections: Vec<(&str, String)> = Vec::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            sections.push((name.trim(), String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections
}

/// Reads the facts script's output.
pub fn parse(output: &str) -> Facts {
    let sections = sections(output);
    let section = |name: &str| {
        sections
            .iter()
            .find(|(found, _)| *found == name)
            .map(|(_, text)| text.as_str())
            .unwrap_or("")
    };
    let present = |name: &str| {
        let text = section(name);
        (!text.trim().is_empty() && text.trim() != MISSING).then(|| text.to_string())
    };
    Facts {
        java: java(section("java")),
        cassandra_version: present("version").map(|text| text.trim().to_string()),
        cassandra_yaml: present("yaml"),
        free_disk_kib: free_disk(section("df")),
        memory_kib: memory(section("meminfo")),
    }
}

fn java(text: &str) -> JavaFact {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let Some(path) = lines.next() else {
        return JavaFact::Missing;
    };
    let rest: Vec<&str> = lines.collect();
    let version_line = rest
        .iter()
        .find(|line| line.contains("version \""))
        .or(rest.first())
        .map(|line| line.trim().to_string())
        .unwrap_or_default();
    JavaFact::Found {
        path: path.trim().to_string(),
        major: parse_java_major(&rest.join("\n")),
        version_line,
    }
}

/// `df -Pk`: a header, then `fs 1024-blocks used available capacity mount`.
fn free_disk(text: &str) -> Option<u64> {
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

fn memory(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Some((field("MemTotal")?, field("MemAvailable")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: &str = "@@preflight java\n/usr/bin/java\nopenjdk version \"17.0.15\" 2025-04-15\n\
OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\n\
@@preflight version\n5.0.4\n\
@@preflight yaml\ncluster_name: 'iot'\nlisten_address: 10.77.0.2\n\
@@preflight df\nFilesystem     1024-blocks     Used Available Capacity Mounted on\n\
/dev/vda         263112772 18651772  78123456      19% /\n\
@@preflight meminfo\nMemTotal:       24683520 kB\nMemAvailable:   21653504 kB\n";

    #[test]
    fn a_provisioned_pc_is_read_whole() {
        let facts = parse(HEALTHY);
        assert_eq!(
            facts.java,
            JavaFact::Found {
                path: "/usr/bin/java".into(),
                major: Some(17),
                version_line: "openjdk version \"17.0.15\" 2025-04-15".into(),
            }
        );
        assert_eq!(facts.cassandra_version.as_deref(), Some("5.0.4"));
        assert!(
            facts
                .cassandra_yaml
                .unwrap()
                .contains("listen_address: 10.77.0.2")
        );
        assert_eq!(facts.free_disk_kib, Some(78_123_456));
        assert_eq!(facts.memory_kib, Some((24_683_520, 21_653_504)));
    }

    #[test]
    fn a_bare_pc_has_no_java_version_or_yaml() {
        let output = "@@preflight java\n@@preflight version\n@@missing\n@@preflight yaml\n@@missing\n\
@@preflight df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 10 5 5 50% /\n\
@@preflight meminfo\n";
        let facts = parse(output);
        assert_eq!(facts.java, JavaFact::Missing);
        assert_eq!(facts.cassandra_version, None);
        assert_eq!(facts.cassandra_yaml, None);
        assert_eq!(facts.free_disk_kib, Some(5));
        assert_eq!(facts.memory_kib, None);
    }

    #[test]
    fn a_java_that_does_not_run_has_no_major() {
        let facts = parse("@@preflight java\n/usr/bin/java\nsh: 1: /usr/bin/java: not found\n");
        assert!(
            matches!(facts.java, JavaFact::Found { major: None, .. }),
            "{facts:?}"
        );
    }

    #[test]
    fn the_script_quotes_the_install_paths() {
        let install = InstallSpec {
            path: "/opt/it's demo".into(),
            heap_mb: None,
            systemd: false,
        };
        let script = script(&install);
        assert!(
            script.contains(r"[ -f '/opt/it'\''s demo/cassandra/VERSION' ]"),
            "{script}"
        );
        assert!(script.contains(r"p='/opt/it'\''s demo';"), "{script}");
    }
}
