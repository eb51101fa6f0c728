//! The services as processes: spawn with a log file, remember by pid file,
//! tell alive from dead, stop gracefully.
//!
//! `demo services up` and `demo services down` are separate invocations, so
//! what was started is remembered on disk (`<name>.pid` and `<name>.json`
//! under `.services/`). A pid alone is not trusted: the process must still
//! run the service's binary, so a recycled pid is never mistaken for it (or
//! signalled).

use std::fs::OpenOptions;
use std::ops::ControlFlow;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::procinfo;
use crate::wait;

/// What is remembered about a started service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub pid: u32,
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub log: PathBuf,
    pub started_at: DateTime<Utc>,
    /// The producer's ledger, when this is the producer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<PathBuf>,
}

/// The directory holding pid files and logs.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub path: PathBuf,
}

impl StateDir {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn state_file(&self, name: &str) -> PathBuf {
        self.path.join(format!("{name}.json"))
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        self.path.join(format!("{name}.pid"))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.path.join(format!("{name}.log"))
    }

    /// The remembered state of `name`, if a readable one exists.
    pub fn read(&self, name: &str) -> Option<ServiceState> {
        let text = std::fs::read_to_string(self.state_file(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write(&self, name: &str, state: &ServiceState) -> Result<(), AppError> {
        let io = |path: PathBuf| move |source| AppError::StateFile { path, source };
        let text = serde_json::to_string_pretty(state).map_err(|err| AppError::StateFile {
            path: self.state_file(name),
            source: std::io::Error::other(err),
        })?;
        std::fs::write(self.state_file(name), text).map_err(io(self.state_file(name)))?;
        std::fs::write(self.pid_file(name), format!("{}\n", state.pid))
            .map_err(io(self.pid_file(name)))
    }

    /// Forgets `name` (its log stays).
    pub fn forget(&self, name: &str) {
        let _ = std::fs::remove_file(self.state_file(name));
        let _ = std::fs::remove_file(self.pid_file(name));
    }

    /// The remembered process of `name`, if it still runs that binary.
    pub fn running(&self, name: &str) -> Option<ServiceState> {
        self.read(name)
            .filter(|state| is_running(state.pid, &state.binary))
    }
}

/// Starts `binary args...` in its own process group (Ctrl-C in the terminal
/// does not reach it), output appended to its log, and remembers it.
pub fn spawn(
    dir: &StateDir,
    name: &str,
    binary: &Path,
    args: Vec<String>,
    ledger: Option<PathBuf>,
) -> Result<ServiceState, AppError> {
    std::fs::create_dir_all(&dir.path).map_err(|source| AppError::StateFile {
        path: dir.path.clone(),
        source,
    })?;
    let log = dir.log_file(name);
    let open_log = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|source| AppError::StateFile {
                path: log.clone(),
                source,
            })
    };
    let stdout = open_log()?;
    let stderr = open_log()?;
    let child = Command::new(binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|source| AppError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
    let state = ServiceState {
        pid: child.id(),
        binary: binary.to_path_buf(),
        args,
        log,
        started_at: Utc::now(),
        ledger,
    };
    dir.write(name, &state)?;
    // The child is reaped by `reap` (or by init once this process exits).
    drop(child);
    Ok(state)
}

/// Is `pid` alive (not a zombie) and running `binary`?
pub fn is_running(pid: u32, binary: &Path) -> bool {
    reap(pid);
    if !procinfo::is_alive(pid) {
        return false;
    }
    // A rebuilt binary is still the service: compare names only.
    let expected = binary.file_name().map(|name| name.to_string_lossy());
    procinfo::executable_name(pid).as_deref() == expected.as_deref()
}

/// Collects `pid`'s exit status if it is a child of this process that ended,
/// so it does not linger as a zombie.
fn reap(pid: u32) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Exited after SIGTERM.
    Gracefully,
    /// Needed SIGKILL after the grace period.
    Killed,
    /// Was not running.
    NotRunning,
}

/// SIGTERM, wait up to `grace` for the exit, then SIGKILL.
pub async fn stop(dir: &StateDir, name: &str, grace: Duration) -> Result<Stopped, AppError> {
    let Some(state) = dir.running(name) else {
        dir.forget(name);
        return Ok(Stopped::NotRunning);
    };
    let pid = Pid::from_raw(i32::try_from(state.pid).map_err(|_| AppError::BadPid(state.pid))?);
    let _ = kill(pid, Signal::SIGTERM);
    let exited = || async {
        if is_running(state.pid, &state.binary) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    };
    if wait::until(grace, Duration::from_millis(100), exited)
        .await
        .is_ok()
    {
        dir.forget(name);
        return Ok(Stopped::Gracefully);
    }
    let _ = kill(pid, Signal::SIGKILL);
    if wait::until(Duration::from_secs(5), Duration::from_millis(50), exited)
        .await
        .is_err()
    {
        return Err(AppError::WontDie {
            name: name.to_owned(),
            pid: state.pid,
        });
    }
    dir.forget(name);
    Ok(Stopped::Killed)
}

/// SIGKILL, no grace: a crash. Waits up to `timeout` until the process is gone,
/// then forgets it (a dead pid is nothing to stop). `None` when it was not running
/// (a stale state file is forgotten too).
pub async fn crash(dir: &StateDir, name: &str, timeout: Duration) -> Result<Option<u32>, AppError> {
    let Some(state) = dir.running(name) else {
        dir.forget(name);
        return Ok(None);
    };
    let pid = Pid::from_raw(i32::try_from(state.pid).map_err(|_| AppError::BadPid(state.pid))?);
    let _ = kill(pid, Signal::SIGKILL);
    let gone = wait::until(timeout, Duration::from_millis(50), || async {
        if is_running(state.pid, &state.binary) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })
    .await;
    if gone.is_err() {
        return Err(AppError::WontDie {
            name: name.to_owned(),
            pid: state.pid,
        });
    }
    dir.forget(name);
    Ok(Some(state.pid))
}

/// The last `lines` lines of a log, to explain a failed start.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sleep 30` spawned as service "sleeper" in a temporary state directory.
    fn sleeper() -> (tempfile::TempDir, StateDir, ServiceState) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let state_dir = StateDir::new(dir.path().join("services"));
        let sleep = PathBuf::from("/bin/sleep");
        let state = spawn(&state_dir, "sleeper", &sleep, vec!["30".into()], None).expect("spawned");
        (dir, state_dir, state)
    }

    #[tokio::test]
    async fn a_spawned_process_is_remembered_seen_running_and_stopped() {
        let (dir, state_dir, state) = sleeper();
        assert!(state_dir.running("sleeper").is_some());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("services/sleeper.pid"))
                .expect("pid file")
                .trim(),
            state.pid.to_string()
        );
        // A pid running another binary is not taken for the service.
        assert!(!is_running(state.pid, Path::new("/usr/bin/not-sleep")));
        assert_eq!(
            stop(&state_dir, "sleeper", Duration::from_secs(5))
                .await
                .expect("stopped"),
            Stopped::Gracefully
        );
        assert!(state_dir.running("sleeper").is_none());
        assert!(!dir.path().join("services/sleeper.pid").exists());
        assert_eq!(
            stop(&state_dir, "sleeper", Duration::from_secs(1))
                .await
                .expect("no-op"),
            Stopped::NotRunning
        );
    }

    #[tokio::test]
    async fn a_crashed_process_is_gone_and_forgotten_and_stopping_it_is_a_no_op() {
        let (dir, state_dir, state) = sleeper();
        assert_eq!(
            crash(&state_dir, "sleeper", Duration::from_secs(5))
                .await
                .expect("crashed"),
            Some(state.pid)
        );
        assert!(!is_running(state.pid, &state.binary));
        assert!(
            state_dir.read("sleeper").is_none(),
            "its state is forgotten"
        );
        assert_eq!(
            crash(&state_dir, "sleeper", Duration::from_secs(1))
                .await
                .expect("not running"),
            None
        );

        // A state file left by a process that died on its own is no reason for
        // `demo services down` (or a run's restoration) to fail.
        let state = spawn(
            &state_dir,
            "sleeper",
            &state.binary,
            vec!["30".into()],
            None,
        )
        .expect("spawned");
        let pid = Pid::from_raw(i32::try_from(state.pid).expect("a pid"));
        kill(pid, Signal::SIGKILL).expect("killed");
        // The kernel ends it a moment after the signal: wait for that first.
        wait::until(
            Duration::from_secs(5),
            Duration::from_millis(10),
            || async {
                if is_running(state.pid, &state.binary) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            },
        )
        .await
        .expect("the killed process ends");
        assert_eq!(
            stop(&state_dir, "sleeper", Duration::from_secs(1))
                .await
                .expect("a dead pid is not an error"),
            Stopped::NotRunning
        );
        assert!(!dir.path().join("services/sleeper.json").exists());
    }
}
