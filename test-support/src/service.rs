//! Child processes of a test: started with their logs kept, stopped for sure.
//!
//! A test that starts a real binary must not leave it running when an
//! assertion fails, and must show what the binary said when it does. A
//! [`Service`] writes the child's stdout and stderr to one log file, kills it
//! when dropped, and prints the log's tail if the test is panicking.
//! [`run_bounded`] runs a command to completion under a time limit.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::listener::BoundListener;
use crate::wait::{TimedOut, Wait};

/// Lines of a child's log shown when a test fails.
const LOG_TAIL_LINES: usize = 60;

/// A running child process, killed when dropped.
#[derive(Debug)]
pub struct Service {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Service {
    /// Starts `command` with stdin closed and stdout and stderr in
    /// `<log_dir>/<name>-<micros>.log`, handing it `listeners` as inherited
    /// descriptors (their numbers are [`BoundListener::fd`], which the
    /// command line must name). The test's copies of the listeners are closed
    /// once the child holds them, so the port closes when the child exits.
    #[track_caller]
    pub fn spawn(
        name: &str,
        mut command: Command,
        listeners: Vec<BoundListener>,
        log_dir: &Path,
    ) -> Service {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_micros())
            .unwrap_or_default();
        let log = log_dir.join(format!("{name}-{micros}.log"));
        let out =
            File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", log.display()));
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let inherited: Vec<RawFd> = listeners.iter().map(BoundListener::fd).collect();
        // SAFETY: the closure runs in the forked child before exec and only
        // calls fcntl(2), which is async-signal-safe; the descriptors are open
        // in the parent (the listeners outlive the spawn) and so in the child.
        unsafe {
            command.pre_exec(move || {
                for fd in &inherited {
                    // Rust opens every descriptor close-on-exec: clear the flag
                    // so this one (and only in this child) survives exec.
                    fcntl(
                        BorrowedFd::borrow_raw(*fd),
                        FcntlArg::F_SETFD(FdFlag::empty()),
                    )?;
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        drop(listeners);
        Service {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX))
    }

    /// The process id as the standard library gives it (for /proc paths).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Still running (not exited, or exited and not yet reaped)?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit by itself (a producer with a
    /// `--duration`).
    pub fn try_wait_finished(&mut self, timeout: Duration) -> Result<ExitStatus, TimedOut> {
        Wait::new(format!("{} to finish", self.name), timeout)
            .every(Duration::from_millis(200))
            .try_until(|| match self.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_owned()),
                Err(e) => Err(e.to_string()),
            })
    }

    /// [`Service::try_wait_finished`], failing the test on timeout.
    #[track_caller]
    pub fn wait_finished(&mut self, timeout: Duration) -> ExitStatus {
        self.try_wait_finished(timeout)
            .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = kill(self.pid(), Signal::SIGKILL);
        let _ = self.child.wait();
    }

    /// Sends `signal`, then waits up to `timeout` for the exit; SIGKILL after
    /// that, and `None`.
    pub fn stop_with(&mut self, signal: Signal, timeout: Duration) -> Option<ExitStatus> {
        let _ = kill(self.pid(), signal);
        let exited = Wait::new(format!("{} to exit on {signal}", self.name), timeout)
            .every(Duration::from_millis(50))
            .try_until(|| self.child.try_wait().ok().flatten());
        match exited {
            Ok(status) => Some(status),
            Err(_) => {
                self.kill();
                None
            }
        }
    }

    /// SIGTERM, then wait up to `timeout` for a clean exit (SIGKILL after).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.stop_with(Signal::SIGTERM, timeout)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything it printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.is_running() {
            self.kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} log ({}) ----\n{}",
                self.name,
                self.log.display(),
                tail(&self.log_text(), LOG_TAIL_LINES)
            );
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What a command run to completion printed, and how it ended.
#[derive(Debug)]
pub struct Ran {
    /// The exit code; `None` when a signal ended it.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Fails the test, with both outputs, unless `what` exited with status 0.
    #[track_caller]
    pub fn expect_success(&self, what: &str) -> &Self {
        self.expect_status(0, what)
    }

    /// Fails the test, with both outputs, unless `what` exited with `code`.
    #[track_caller]
    pub fn expect_status(&self, code: i32, what: &str) -> &Self {
        assert!(
            self.status == Some(code),
            "{what} ended with {:?}, not {code}:\n{}\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `command` to completion with stdin closed, failing the test (and
/// killing it) if it takes longer than `limit`.
#[track_caller]
pub fn run_bounded(command: &mut Command, limit: Duration) -> Ran {
    let mut out = tempfile::tempfile().unwrap_or_else(|e| panic!("temp file for stdout: {e}"));
    let mut err = tempfile::tempfile().unwrap_or_else(|e| panic!("temp file for stderr: {e}"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(
            out.try_clone()
                .unwrap_or_else(|e| panic!("share stdout file: {e}")),
        )
        .stderr(
            err.try_clone()
                .unwrap_or_else(|e| panic!("share stderr file: {e}")),
        )
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let finished = Wait::new(format!("{command:?} to finish"), limit)
        .every(Duration::from_millis(50))
        .try_until(|| child.try_wait().ok().flatten());
    let status = match finished {
        Ok(status) => status,
        Err(timed_out) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{timed_out}");
        }
    };
    Ran {
        status: status.code(),
        stdout: read_back(&mut out),
        stderr: read_back(&mut err),
    }
}

fn read_back(file: &mut File) -> String {
    let mut text = String::new();
    file.rewind()
        .and_then(|()| file.read_to_string(&mut text))
        .unwrap_or_else(|e| panic!("cannot read a child's output back: {e}"));
    text
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn a_child_serves_on_the_listener_it_inherits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = BoundListener::loopback();
        let address = listener.address();
        // python3 is on every machine of the project (the lab's cqlsh needs it).
        let mut command = Command::new("python3");
        command.args([
            "-c",
            "import socket,sys\n\
             s=socket.socket(fileno=int(sys.argv[1]))\n\
             c,_=s.accept()\n\
             c.sendall(b'hello from the child\\n')",
            &listener.fd().to_string(),
        ]);
        let mut child = Service::spawn("inheritor", command, vec![listener], dir.path());
        let mut stream = TcpStream::connect(address).expect("the child's listener answers");
        stream.flush().expect("flush");
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .expect("a line from the child");
        assert_eq!(line, "hello from the child\n");
        let status = child.wait_finished(Duration::from_secs(10));
        assert!(status.success(), "{status}: {}", child.log_text());
        // The test's copy was closed: once the child exits, nothing listens.
        assert!(TcpStream::connect(address).is_err());
    }

    #[test]
    fn run_bounded_keeps_both_outputs_and_the_exit_code() {
        let ran = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(ran.status, Some(3));
        assert_eq!(ran.stdout, "out\n");
        assert_eq!(ran.stderr, "err\n");
    }
}
