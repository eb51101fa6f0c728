//! The lab's processes: Java, pid files, ports, and stopping exactly what the lab started.
//!
//! The lab never looks processes up by name: a pid counts as the lab's only
//! when its pid file says so and its command line names the lab's own
//! directory, so `lab down` cannot touch anybody else's Java.

use std::net::{SocketAddr, TcpListener};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::LabError;
use super::layout::{CQL_PORT, Layout, STORAGE_PORT};
use crate::procinfo;
use crate::progress::Progress;
use crate::wait;

/// The Java runtime the lab runs on.
#[derive(Debug, Clone)]
pub struct Java {
    pub binary: PathBuf,
}

/// Finds Java 17+ ($JAVA_HOME first, then PATH) or says what to install.
pub fn check_java() -> Result<Java, LabError> {
    let binary = std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin/java"))
        .filter(|java| java.is_file())
        .or_else(|| find_on_path("java"))
        .ok_or_else(|| {
            LabError::Prerequisite(
                "Java was not found (neither $JAVA_HOME/bin/java nor `java` on PATH): \
                 install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
                    .into(),
            )
        })?;
    let output = std::process::Command::new(&binary)
        .arg("-version")
        .output()
        .map_err(LabError::io(format!(
            "running {} -version",
            binary.display()
        )))?;
    let text = String::from_utf8_lossy(&output.stderr);
    let major = parse_java_major(&text).ok_or_else(|| {
        LabError::Prerequisite(format!(
            "could not read the Java version from `{} -version`: {text}",
            binary.display()
        ))
    })?;
    if major < 17 {
        return Err(LabError::Prerequisite(format!(
            "Cassandra 5 and Kafka 4 need Java 17 or newer; {} is Java {major}. \
             Install a JDK 17 and point JAVA_HOME at it",
            binary.display()
        )));
    }
    Ok(Java { binary })
}

/// `openjdk version "17.0.15" 2025-04-15` → 17; `java version "1.8.0_392"` → 8.
pub(crate) fn parse_java_major(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The first jar in `dir` whose name starts with `prefix`.
pub fn find_jar(dir: &Path, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix) && name.ends_with(".jar"))
        })
}

/// cqlsh is a Python tool, not in Maven: `lab up` installs it into a venv
/// under .lab when pip can; this returns it when present.
pub fn find_cqlsh(layout: &Layout) -> Option<PathBuf> {
    let candidate = layout.lab.join("cqlsh-venv/bin/cqlsh");
    candidate.is_file().then_some(candidate)
}

/// One process of the lab, identified by its pid file.
#[derive(Debug, Clone)]
pub struct LabProcess {
    pub name: String,
    pub pid_file: PathBuf,
    /// A string the process's command line must contain to be ours.
    pub marker: PathBuf,
    pub stop_script: PathBuf,
    pub ports: Vec<(String, u16)>,
}

impl LabProcess {
    /// The pid when the process runs (and is not a zombie).
    pub fn live_pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let alive = u32::try_from(pid).is_ok_and(|pid| {
            procinfo::is_alive(pid)
                && procinfo::cmdline(pid)
                    .is_some_and(|line| line.contains(self.marker.to_string_lossy().as_ref()))
        });
        alive.then_some(pid)
    }
}

/// Every process the lab manages, Cassandra nodes first.
pub fn lab_processes(layout: &Layout) -> Vec<LabProcess> {
    let mut processes: Vec<LabProcess> = layout
        .nodes()
        .into_iter()
        .map(|node| LabProcess {
            name: format!("Cassandra {}", node.name()),
            pid_file: node.pid_file(),
            marker: node.dir.join("conf"),
            stop_script: node.script("stop"),
            ports: vec![
                (node.address(), CQL_PORT),
                (node.address(), STORAGE_PORT),
                ("127.0.0.1".into(), node.jmx_port()),
            ],
        })
        .collect();
    processes.push(super::kafka::BrokerSite::lab(layout).process("Kafka"));
    processes
}

pub fn running_processes(layout: &Layout) -> Vec<(LabProcess, i32)> {
    lab_processes(layout)
        .into_iter()
        .filter_map(|process| process.live_pid().map(|pid| (process, pid)))
        .collect()
}

/// Fails, naming the port and its holder, when a port the lab needs is taken
/// by something that is not the lab.
pub fn check_ports_free(layout: &Layout) -> Result<(), LabError> {
    for process in lab_processes(layout) {
        if process.live_pid().is_some() {
            continue;
        }
        for (address, port) in &process.ports {
            let socket: SocketAddr = format!("{address}:{port}")
                .parse()
                .map_err(|_| LabError::Prerequisite(format!("bad lab address {address}:{port}")))?;
            if TcpListener::bind(socket).is_err() {
                return Err(LabError::PortTaken {
                    address: address.clone(),
                    port: *port,
                    holder: port_holder(address, *port),
                });
            }
        }
    }
    Ok(())
}

/// Who listens on `address:port`, from `ss` when it is installed.
fn port_holder(address: &str, port: u16) -> Option<String> {
    let output = std::process::Command::new("ss")
        .args(["-Hltnp", &format!("src {address} and sport = :{port}")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let users = text.lines().find_map(|line| line.split("users:").nth(1))?;
    Some(users.trim().to_string())
}

/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// Stops every running lab process with its own stop script (graceful), then
/// by SIGKILL if it is still there after the timeout. Returns how many ran.
pub async fn stop_all(layout: &Layout, progress: &dyn Progress) -> Result<usize, LabError> {
    stop_processes(lab_processes(layout), progress).await
}

/// Stops each of `processes` that runs, as [`stop_all`] does; how many ran.
pub async fn stop_processes(
    processes: Vec<LabProcess>,
    progress: &dyn Progress,
) -> Result<usize, LabError> {
    let running: Vec<(LabProcess, i32)> = processes
        .iter()
        .filter_map(|process| process.live_pid().map(|pid| (process.clone(), pid)))
        .collect();
    let stops = running.iter().map(|(process, pid)| async move {
        let pid = *pid;
        progress.step(&format!("Stopping {} (pid {pid})...", process.name));
        let graceful = tokio::time::timeout(
            STOP_TIMEOUT,
            tokio::process::Command::new(&process.stop_script)
                .kill_on_drop(true)
                .output(),
        )
        .await;
        if graceful.is_err() || process.live_pid().is_some() {
            // Wake a frozen process first: SIGKILL works anyway, but be explicit.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            // Whether it is gone in time or not, what is left is named below.
            let _ = wait::until(
                Duration::from_secs(10),
                Duration::from_millis(100),
                || async {
                    match process.live_pid() {
                        None => ControlFlow::Break(()),
                        Some(_) => ControlFlow::Continue(()),
                    }
                },
            )
            .await;
            progress.step(&format!("{} did not stop in time: killed", process.name));
        }
        let _ = std::fs::remove_file(&process.pid_file);
    });
    futures::future::join_all(stops).await;
    let left: Vec<String> = processes
        .iter()
        .filter_map(|p| p.live_pid().map(|pid| format!("{} (pid {pid})", p.name)))
        .collect();
    if !left.is_empty() {
        return Err(LabError::Prerequisite(format!(
            "could not stop: {}",
            left.join(", ")
        )));
    }
    Ok(running.len())
}

/// One line of `lab status`: a process, its pid and state letter when it
/// runs, and whether each of its ports answers.
pub struct StatusRow {
    pub name: String,
    pub pid: Option<i32>,
    /// The process state letter (`T`: stopped by a signal, i.e. frozen).
    pub state: Option<char>,
    /// Address, port and whether it accepts connections.
    pub ports: Vec<(String, u16, bool)>,
}

/// What `lab status` shows.
pub struct StatusReport {
    pub rows: Vec<StatusRow>,
}

impl StatusReport {
    pub fn all_running(&self) -> bool {
        self.rows
            .iter()
            .all(|row| row.pid.is_some() && row.state != Some('T'))
    }
}

pub fn status_report(layout: &Layout) -> StatusReport {
    let rows = lab_processes(layout)
        .into_iter()
        .map(|process| {
            let pid = process.live_pid();
            let state = pid
                .and_then(|pid| u32::try_from(pid).ok())
                .and_then(procinfo::state);
            let ports = process
                .ports
                .iter()
                .map(|(address, port)| {
                    let open =
                        format!("{address}:{port}")
                            .parse::<SocketAddr>()
                            .is_ok_and(|socket| {
                                std::net::TcpStream::connect_timeout(
                                    &socket,
                                    Duration::from_millis(300),
                                )
                                .is_ok()
                            });
                    (address.clone(), *port, open)
                })
                .collect();
            StatusRow {
                name: process.name,
                pid,
                state,
                ports,
            }
        })
        .collect();
    StatusReport { rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::layout::KAFKA_CONTROLLER_PORT;
    use test_support::assert_contains;

    #[test]
    fn java_versions_are_read_in_both_schemes() {
        assert_eq!(
            parse_java_major("openjdk version \"17.0.15\" 2025-04-15"),
            Some(17)
        );
        assert_eq!(parse_java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(
            parse_java_major("openjdk version \"21\" 2023-09-19"),
            Some(21)
        );
        assert_eq!(parse_java_major("garbage"), None);
    }

    #[test]
    fn a_taken_port_is_named_with_its_holder() {
        // Hold the broker's controller port unless the running lab already does:
        // either way a checkout without pid files must refuse to start.
        let _held = TcpListener::bind(("127.0.0.1", KAFKA_CONTROLLER_PORT));
        let checkout = tempfile::tempdir().unwrap();
        match check_ports_free(&Layout::at(checkout.path())) {
            Err(LabError::PortTaken { port, holder, .. }) => {
                assert!(
                    port == CQL_PORT || port == STORAGE_PORT || port > 7000,
                    "{port}"
                );
                let message = LabError::PortTaken {
                    address: "127.0.0.1".into(),
                    port,
                    holder,
                }
                .to_string();
                assert_contains(&message, format!("port {port}"));
            }
            other => panic!("expected a taken port, got {other:?}"),
        }
    }
}
