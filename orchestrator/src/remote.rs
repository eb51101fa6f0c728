//! Runs shell commands on a Cassandra PC: over SSH on demo day, locally for the lab.
//!
//! Both transports share one interface and one set of guarantees, so the
//! checks and faults above them never care where a node lives:
//! - every wait is bounded: connecting by the connect timeout, every command
//!   by the command timeout (a local command's whole process group is killed
//!   when it runs out of time or when the caller gives up on it);
//! - SSH host keys are verified against known_hosts (strict by default,
//!   accept-new only when asked); a changed key is always refused;
//! - every error names the host.
//!
//! Public API: [`RemoteOptions`] (`new(&Inventory, Option<KnownHostsPolicy>)`
//! or `from_inventory`), [`Remote::connect`], [`Remote::run`] (any exit status)
//! and [`Remote::run_ok`] (non-zero exit is an error), [`Remote::run_with_input`]
//! (a command fed a stream on its stdin, e.g. a tar of a distribution, bounded
//! like any other), [`CommandOutput`].
//!
//! On an SSH command timeout the local ssh client is killed, which closes the
//! channel; the remote process itself is not signalled (no pty), so commands
//! in the inventory should be ones that end on their own.

use std::io::{Read, Seek};
use std::process::Stdio;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::hosts::{Inventory, KnownHostsPolicy, NodeSpec, Transport};

/// How long SSH waits between keep-alive probes once connected, so a PC that
/// vanishes mid-command is noticed (after three missed probes).
const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Extra time granted to ssh itself beyond its own ConnectTimeout before the
/// conductor gives up on a connection attempt.
const CONNECT_GRACE: Duration = Duration::from_secs(3);

/// Connection and command limits for every remote operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Accept and remember a host key seen for the first time.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

impl RemoteOptions {
    /// Options from the inventory's `[ssh]` section, with `known_hosts`
    /// (the operator's choice, if any) in place of its host-key policy.
    pub fn new(inventory: &Inventory, known_hosts: Option<KnownHostsPolicy>) -> RemoteOptions {
        let mut options = RemoteOptions::from_inventory(inventory);
        if let Some(policy) = known_hosts {
            options.accept_new_host_keys = policy == KnownHostsPolicy::AcceptNew;
        }
        options
    }

    /// Options from the inventory's `[ssh]` section alone.
    pub fn from_inventory(inventory: &Inventory) -> RemoteOptions {
        RemoteOptions {
            accept_new_host_keys: inventory.ssh.known_hosts == KnownHostsPolicy::AcceptNew,
            connect_timeout: inventory.ssh.connect_timeout,
            command_timeout: inventory.ssh.command_timeout,
        }
    }
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code; `None` when the process was ended by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    /// What a finished command printed, read as text (invalid UTF-8 replaced).
    fn from_bytes(status: Option<i32>, stdout: &[u8], stderr: &[u8]) -> Self {
        CommandOutput {
            status,
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }

    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// The last lines of stderr, else of stdout: what explains a failure.
    pub fn tail(&self, lines: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let all: Vec<&str> = text.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Why a remote operation failed; every variant names the host.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{host}: unreachable: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("{host}: no answer within the connect timeout ({}s){}", timeout.as_secs(), detail_suffix(.detail))]
    ConnectTimeout {
        host: String,
        timeout: Duration,
        detail: String,
    },
    #[error(
        "{host}: the SSH host key has CHANGED since it was recorded in known_hosts; refusing to connect \
         (the PC was reinstalled, or someone is impersonating it). If the change is expected, remove the \
         old key with `ssh-keygen -R <host>` and connect again. ssh said: {detail}"
    )]
    HostKeyChanged { host: String, detail: String },
    #[error(
        "{host}: the SSH host key is not in known_hosts and strict checking is on; connect once with \
         `ssh` to check and record it, or pass --accept-new-host-keys. ssh said: {detail}"
    )]
    HostKeyUnknown { host: String, detail: String },
    #[error(
        "{host}: SSH authentication refused (check the user and identity_file in the hosts file): {detail}"
    )]
    AuthenticationFailed { host: String, detail: String },
    #[error("{host}: SSH connection failed: {detail}")]
    Connect { host: String, detail: String },
    #[error("{host}: the SSH connection was lost while running `{command}`")]
    Disconnected { host: String, command: String },
    #[error("{host}: `{command}` did not finish within {}s", timeout.as_secs())]
    CommandTimeout {
        host: String,
        command: String,
        timeout: Duration,
    },
    #[error("{host}: cannot run `{command}`: {detail}")]
    Spawn {
        host: String,
        command: String,
        detail: String,
    },
    #[error("{host}: `{command}` failed ({}){}", exit_text(.status), detail_suffix(.output))]
    Failed {
        host: String,
        command: String,
        status: Option<i32>,
        output: String,
    },
}

fn exit_text(status: &Option<i32>) -> String {
    match status {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", detail.trim())
    }
}

impl RemoteError {
    /// The host the error is about, as messages name it.
    pub fn host(&self) -> &str {
        match self {
            RemoteError::Unreachable { host, .. }
            | RemoteError::ConnectTimeout { host, .. }
            | RemoteError::HostKeyChanged { host, .. }
            | RemoteError::HostKeyUnknown { host, .. }
            | RemoteError::AuthenticationFailed { host, .. }
            | RemoteError::Connect { host, .. }
            | RemoteError::Disconnected { host, .. }
            | RemoteError::CommandTimeout { host, .. }
            | RemoteError::Spawn { host, .. }
            | RemoteError::Failed { host, .. } => host,
        }
    }
}

/// A connection to one node, ready to run commands.
#[derive(Debug)]
pub struct Remote {
    /// "PC2 (ssh root@127.0.0.1:2222)": names the host in every error.
    host: String,
    transport: Connection,
    command_timeout: Duration,
}

#[derive(Debug)]
enum Connection {
    Ssh(Session),
    Local,
}

impl Remote {
    /// Connects to `node` (for the local transport, nothing to connect).
    pub async fn connect(
        inventory: &Inventory,
        node: &NodeSpec,
        options: &RemoteOptions,
    ) -> Result<Remote, RemoteError> {
        let host = describe_host(node);
        let transport = match node.transport {
            Transport::Local => Connection::Local,
            Transport::Ssh => Connection::Ssh(connect_ssh(inventory, node, options, &host).await?),
        };
        Ok(Remote {
            host,
            transport,
            command_timeout: options.command_timeout,
        })
    }

    /// How errors name this host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs `command` through the node's shell within the command timeout;
    /// a non-zero exit is returned, not an error.
    pub async fn run(&self, command: &str) -> Result<CommandOutput, RemoteError> {
        self.run_with_timeout(command, self.command_timeout).await
    }

    /// [`Remote::run`] with a specific time limit (e.g. short probes).
    pub async fn run_with_timeout(
        &self,
        command: &str,
        timeout: Duration,
    ) -> Result<CommandOutput, RemoteError> {
        match &self.transport {
            Connection::Local => run_local(&self.host, command, timeout).await,
            Connection::Ssh(session) => {
                run_ssh(
                    session,
                    &self.host,
                    command,
                    None::<tokio::io::Empty>,
                    timeout,
                )
                .await
            }
        }
    }

    /// Runs `command` with `input` copied to its stdin (then closed), all within
    /// `timeout`; a non-zero exit is an error carrying the end of its output.
    pub async fn run_with_input<R: AsyncRead + Unpin>(
        &self,
        command: &str,
        input: R,
        timeout: Duration,
    ) -> Result<CommandOutput, RemoteError> {
        let output = match &self.transport {
            Connection::Local => run_local_with_input(&self.host, command, input, timeout).await,
            Connection::Ssh(session) => {
                run_ssh(session, &self.host, command, Some(input), timeout).await
            }
        }?;
        self.succeeded(command, output)
    }

    /// The output of a command that exited 0; otherwise a [`RemoteError::Failed`] with
    /// the end of its output.
    fn succeeded(
        &self,
        command: &str,
        output: CommandOutput,
    ) -> Result<CommandOutput, RemoteError> {
        if output.success() {
            Ok(output)
        } else {
            Err(RemoteError::Failed {
                host: self.host.clone(),
                command: command.to_string(),
                status: output.status,
                output: output.tail(5),
            })
        }
    }

    /// Like [`Remote::run`], but a non-zero exit is a [`RemoteError::Failed`]
    /// carrying the end of the command's output.
    pub async fn run_ok(&self, command: &str) -> Result<CommandOutput, RemoteError> {
        let output = self.run(command).await?;
        self.succeeded(command, output)
    }

    /// Closes the SSH connection now (dropping a `Remote` also closes it).
    pub async fn close(self) {
        if let Connection::Ssh(session) = self.transport {
            // A master that already died has nothing left to close.
            let _ = session.close().await;
        }
    }
}

fn describe_host(node: &NodeSpec) -> String {
    match node.transport {
        Transport::Local => format!("{} (local)", node.name),
        Transport::Ssh => {
            let user = node
                .ssh_user
                .as_deref()
                .map(|user| format!("{user}@"))
                .unwrap_or_default();
            let port = node
                .ssh_port
                .map(|port| format!(":{port}"))
                .unwrap_or_default();
            format!("{} (ssh {user}{}{port})", node.name, node.ssh_host)
        }
    }
}

async fn connect_ssh(
    inventory: &Inventory,
    node: &NodeSpec,
    options: &RemoteOptions,
    host: &str,
) -> Result<Session, RemoteError> {
    let mut builder = SessionBuilder::default();
    builder
        .known_hosts_check(if options.accept_new_host_keys {
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        })
        .connect_timeout(options.connect_timeout)
        .server_alive_interval(SERVER_ALIVE_INTERVAL)
        // The control socket's path must stay short (108 bytes): a temp dir
        // is short wherever $HOME is.
        .control_directory(std::env::temp_dir());
    if let Some(user) = &node.ssh_user {
        builder.user(user.clone());
    }
    if let Some(port) = node.ssh_port {
        builder.port(port);
    }
    if let Some(identity) = &inventory.ssh.identity_file {
        builder.keyfile(identity);
    }
    if let Some(known_hosts) = &inventory.ssh.known_hosts_file {
        builder.user_known_hosts_file(known_hosts);
    }
    if let Some(config) = &inventory.ssh.config_file {
        builder.config_file(config);
    }
    let limit = options.connect_timeout + CONNECT_GRACE;
    match tokio::time::timeout(limit, builder.connect(&node.ssh_host)).await {
        Err(_elapsed) => Err(RemoteError::ConnectTimeout {
            host: host.to_string(),
            timeout: options.connect_timeout,
            detail: String::new(),
        }),
        Ok(Ok(session)) => Ok(session),
        Ok(Err(err)) => Err(classify_connect_error(
            host,
            options.connect_timeout,
            &error_chain(&err),
        )),
    }
}

/// The error and all its sources on one line: openssh keeps ssh's own words
/// (the part that explains) in the source.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    // One line, without the banners of '@' ssh draws around its warnings.
    text.split_whitespace()
        .filter(|word| !word.chars().all(|c| c == '@'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Turns ssh's message into the error a presenter can act on.
fn classify_connect_error(host: &str, timeout: Duration, detail: &str) -> RemoteError {
    let host = host.to_string();
    let detail = detail.to_string();
    let has = |needle: &str| detail.contains(needle);
    if has("REMOTE HOST IDENTIFICATION HAS CHANGED") || has("Host key for") && has("has changed") {
        RemoteError::HostKeyChanged { host, detail }
    } else if has("Host key verification failed") || has("host key is known for") {
        RemoteError::HostKeyUnknown { host, detail }
    } else if has("timed out") {
        RemoteError::ConnectTimeout {
            host,
            timeout,
            detail,
        }
    } else if has("Connection refused")
        || has("No route to host")
        || has("Network is unreachable")
        || has("Could not resolve")
        || has("Connection reset")
        || has("Connection closed")
    {
        RemoteError::Unreachable { host, detail }
    } else if has("Permission denied") || has("Too many authentication failures") {
        RemoteError::AuthenticationFailed { host, detail }
    } else {
        RemoteError::Connect { host, detail }
    }
}

/// How a command that could not be run (or waited for) on `host` fails, from its cause.
fn spawn_failure<'a, E: std::fmt::Display>(
    host: &'a str,
    command: &'a str,
) -> impl Fn(E) -> RemoteError + Copy + 'a {
    move |cause| RemoteError::Spawn {
        host: host.to_string(),
        command: command.to_string(),
        detail: cause.to_string(),
    }
}

/// Runs `command` over `session`, with `input` (when given) copied to its stdin and
/// then closed; without input its stdin is empty.
async fn run_ssh<R: AsyncRead + Unpin>(
    session: &Session,
    host: &str,
    command: &str,
    input: Option<R>,
    timeout: Duration,
) -> Result<CommandOutput, RemoteError> {
    let spawn_error = spawn_failure(host, command);
    let work = async {
        let stdin = if input.is_some() {
            openssh::Stdio::piped()
        } else {
            openssh::Stdio::null()
        };
        let mut child = session
            .raw_command(command)
            .stdin(stdin)
            .stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::piped())
            .spawn()
            .await
            .map_err(|err| spawn_error(error_chain(&err)))?;
        let stdin = child.stdin().take();
        let feed = async {
            let Some(mut input) = input else {
                return Ok(());
            };
            let Some(mut stdin) = stdin else {
                return Err("no stdin to write to".to_string());
            };
            tokio::io::copy(&mut input, &mut stdin)
                .await
                .map_err(|e| format!("sending its input: {e}"))?;
            stdin
                .shutdown()
                .await
                .map_err(|e| format!("closing its input: {e}"))
        };
        let (fed, (out, err)) = tokio::join!(
            feed,
            read_outputs(child.stdout().take(), child.stderr().take())
        );
        // openssh reads exit codes 127 and 255 as errors; the output is
        // already in hand, so report them as the exit codes they also are.
        let status = match child.wait().await {
            Ok(status) => status.code(),
            Err(openssh::Error::Remote(io)) if io.kind() == std::io::ErrorKind::NotFound => {
                Some(127)
            }
            Err(openssh::Error::RemoteProcessTerminated) => {
                if session.check().await.is_err() {
                    return Err(RemoteError::Disconnected {
                        host: host.to_string(),
                        command: command.to_string(),
                    });
                }
                Some(255)
            }
            Err(other) => return Err(spawn_error(error_chain(&other))),
        };
        // A command that failed early closes its stdin: its own words explain more.
        if let Err(detail) = fed
            && status == Some(0)
        {
            return Err(spawn_error(detail));
        }
        Ok(CommandOutput::from_bytes(status, &out, &err))
    };
    within(host, command, timeout, work).await
}

/// Reads a remote command's stdout and stderr to their ends, together. A
/// broken pipe only means the command ended: what was read is kept.
async fn read_outputs(
    stdout: Option<openssh::ChildStdout>,
    stderr: Option<openssh::ChildStderr>,
) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read_out = async {
        if let Some(mut pipe) = stdout {
            let _ = pipe.read_to_end(&mut out).await;
        }
    };
    let read_err = async {
        if let Some(mut pipe) = stderr {
            let _ = pipe.read_to_end(&mut err).await;
        }
    };
    tokio::join!(read_out, read_err);
    (out, err)
}

/// `work` within `timeout`, or a [`RemoteError::CommandTimeout`] naming the
/// host and the command.
async fn within<T>(
    host: &str,
    command: &str,
    timeout: Duration,
    work: impl Future<Output = Result<T, RemoteError>>,
) -> Result<T, RemoteError> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_elapsed| {
            Err(RemoteError::CommandTimeout {
                host: host.to_string(),
                command: command.to_string(),
                timeout,
            })
        })
}

/// [`run_local`] with `input` streamed to the command's stdin.
async fn run_local_with_input<R: AsyncRead + Unpin>(
    host: &str,
    command: &str,
    mut input: R,
    timeout: Duration,
) -> Result<CommandOutput, RemoteError> {
    let spawn_error = spawn_failure(host, command);
    let mut out_file = tempfile::tempfile().map_err(|e| spawn_error(e.to_string()))?;
    let mut err_file = tempfile::tempfile().map_err(|e| spawn_error(e.to_string()))?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(
            out_file
                .try_clone()
                .map_err(|e| spawn_error(e.to_string()))?,
        ))
        .stderr(Stdio::from(
            err_file
                .try_clone()
                .map_err(|e| spawn_error(e.to_string()))?,
        ))
        .process_group(0)
        .spawn()
        .map_err(|e| spawn_error(e.to_string()))?;
    let mut guard = ProcessGroupGuard {
        pgid: child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(nix::unistd::Pid::from_raw),
    };
    let stdin = child.stdin.take();
    let work = async {
        let fed = match stdin {
            Some(mut stdin) => {
                let copied = tokio::io::copy(&mut input, &mut stdin).await;
                drop(stdin);
                copied
                    .map(|_| ())
                    .map_err(|e| format!("sending its input: {e}"))
            }
            None => Err("no stdin to write to".to_string()),
        };
        (fed, child.wait().await)
    };
    let (fed, status) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_elapsed) => {
            guard.kill();
            return Err(RemoteError::CommandTimeout {
                host: host.to_string(),
                command: command.to_string(),
                timeout,
            });
        }
    };
    guard.disarm();
    let status = status.map_err(|e| spawn_error(e.to_string()))?.code();
    if let Err(detail) = fed
        && status == Some(0)
    {
        return Err(spawn_error(detail));
    }
    Ok(CommandOutput {
        status,
        stdout: read_back(&mut out_file),
        stderr: read_back(&mut err_file),
    })
}

/// Kills a local command's whole process group if the caller stops waiting
/// for it (timeout or cancellation), so no half-run command lingers.
struct ProcessGroupGuard {
    pgid: Option<nix::unistd::Pid>,
}

impl ProcessGroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // Already gone is fine: the point is that nothing is left running.
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// The command finished: whatever it started in the background (a
    /// daemon such as Cassandra) is meant to outlive it.
    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn run_local(
    host: &str,
    command: &str,
    timeout: Duration,
) -> Result<CommandOutput, RemoteError> {
    let spawn_error = spawn_failure(host, command);
    // Output goes to files, not pipes: a daemon the command starts in the
    // background inherits them and would otherwise hold a pipe open forever.
    let mut out_file = tempfile::tempfile().map_err(spawn_error)?;
    let mut err_file = tempfile::tempfile().map_err(spawn_error)?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_file.try_clone().map_err(spawn_error)?))
        .stderr(Stdio::from(err_file.try_clone().map_err(spawn_error)?))
        // Its own group: killable as a whole, and deaf to the terminal's Ctrl-C.
        .process_group(0)
        .spawn()
        .map_err(spawn_error)?;
    let mut guard = ProcessGroupGuard {
        pgid: child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(nix::unistd::Pid::from_raw),
    };
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => {
            guard.disarm();
            status.map_err(spawn_error)?
        }
        Err(_elapsed) => {
            guard.kill();
            // Reap the shell; SIGKILL makes this immediate.
            let _ = child.wait().await;
            return Err(RemoteError::CommandTimeout {
                host: host.to_string(),
                command: command.to_string(),
                timeout,
            });
        }
    };
    Ok(CommandOutput {
        status: status.code(),
        stdout: read_back(&mut out_file),
        stderr: read_back(&mut err_file),
    })
}

/// Everything written to a captured-output file so far.
fn read_back(file: &mut std::fs::File) -> String {
    let mut bytes = Vec::new();
    // An unreadable capture only loses the text, never the exit status.
    if file.rewind().is_ok() {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Instant;

    fn lab_like_inventory() -> Inventory {
        let text = r#"
[cluster]
name = "x"
keyspace = "ks"
replication_factor = 1
[[nodes]]
name = "PC1"
address = "127.0.0.1"
seed = true
transport = "local"
[app]
address = "127.0.0.1"
kafka_bootstrap = "127.0.0.1:9092"
"#;
        Inventory::parse(text, Path::new("test-hosts.toml")).unwrap()
    }

    async fn local() -> Remote {
        let inventory = lab_like_inventory();
        let options = RemoteOptions {
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(5),
        };
        Remote::connect(&inventory, &inventory.nodes[0], &options)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn local_command_output_and_status() {
        let remote = local().await;
        let output = remote.run("echo out; echo err >&2; exit 3").await.unwrap();
        assert_eq!(output.status, Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert_eq!(output.tail(1), "err");
        let err = remote
            .run_ok("echo boom >&2; false")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("PC1 (local): `echo boom >&2; false` failed (exit status 1): boom"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn local_timeout_kills_the_whole_process_group() {
        let remote = local().await;
        let marker = tempfile::NamedTempFile::new().unwrap();
        let path = marker.path().display().to_string();
        // The background child would write the marker after 2 s if it survived.
        let command = format!("(sleep 2; echo alive > {path}) & sleep 30");
        let started = Instant::now();
        let err = remote
            .run_with_timeout(&command, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(err, RemoteError::CommandTimeout { .. }), "{err}");
        assert!(err.to_string().contains("PC1 (local)"), "{err}");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(std::fs::read_to_string(marker.path()).unwrap(), "");
    }

    #[tokio::test]
    async fn local_command_reads_its_input_and_fails_with_its_words() {
        let remote = local().await;
        let output = remote
            .run_with_input("tr a-z A-Z", &b"streamed"[..], Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(output.stdout, "STREAMED");
        let err = remote
            .run_with_input(
                "echo no room >&2; exit 4",
                &b"x"[..],
                Duration::from_secs(5),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit status 4") && err.contains("no room"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn local_background_daemon_does_not_hold_the_command() {
        let remote = local().await;
        let started = Instant::now();
        let output = remote.run("sleep 3 & echo started").await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(output.stdout, "started\n");
    }

    #[test]
    fn connect_errors_are_classified() {
        let timeout = Duration::from_secs(5);
        let changed = classify_connect_error(
            "PC2",
            timeout,
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@ ... Host key verification failed.",
        );
        assert!(matches!(changed, RemoteError::HostKeyChanged { .. }));
        assert!(
            changed
                .to_string()
                .starts_with("PC2: the SSH host key has CHANGED")
        );
        // Each message of ssh, and the error (variant) it must read as.
        let cases = [
            (
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking. Host key verification failed.",
                "HostKeyUnknown",
            ),
            (
                "ssh: connect to host 127.0.0.1 port 1: Connection refused",
                "Unreachable",
            ),
        ];
        for (message, variant) in cases {
            let error = format!("{:?}", classify_connect_error("PC2", timeout, message));
            assert!(
                error.starts_with(&format!("{variant} {{")),
                "{message} → {error}"
            );
        }
    }
}
