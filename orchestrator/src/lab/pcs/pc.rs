//! One virtual PC: its init, its sshd, and its own view of the fixed install path.
//!
//! A PC is `ip netns exec pcN unshare --mount --uts --pid --fork --mount-proc --kill-child
//! sh -c INIT`: the init sets the hostname, mounts a private /run, binds the PC's own /tmp,
//! the lab's /etc/hosts and the PC's own directory at the install path, then execs sshd,
//! which becomes PID 1 of the PC. Every SSH session inherits that view, so the same path
//! holds different files on each PC, a `pkill` on one PC cannot reach another, and
//! nothing of it is visible on the host (`unshare --mount` makes every mount private).
//! Killing the `unshare` (pid file) kills sshd, and with it everything the PC runs.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::state::{PcsDirs, etc_hosts_text};
use super::{PcsError, PcsPlan, make_dir, write};

/// The OpenSSH server every PC runs (Debian's openssh-server).
pub const SSHD: &str = "/usr/sbin/sshd";

/// The init of a PC, run by `sh -c` with `$1` hostname, `$2` the PC's directory,
/// `$3` the lab's /etc/hosts, `$4` the install path. sshd needs /run/sshd (privilege
/// separation), made in the PC's private /run so nothing appears on the host.
const INIT: &str = r#"set -e
hostname "$1"
mount -t tmpfs -o mode=755,size=16m pc-run /run
mkdir /run/sshd
mount --bind "$2/tmp" /tmp
mount --bind "$3" /etc/hosts
mount --bind "$2/root" "$4"
exec /usr/sbin/sshd -D -f "$2/ssh/sshd_config" -E "$2/ssh/sshd.log""#;

/// How often readiness is probed, and how long one TCP connect may take.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
const PROBE_CONNECT: Duration = Duration::from_millis(300);

/// Writes each PC's sshd_config, its /tmp and install root, and the shared /etc/hosts.
pub fn write_files(plan: &PcsPlan, dirs: &PcsDirs) -> Result<(), PcsError> {
    write(&dirs.etc_hosts(), &etc_hosts_text(plan))?;
    for index in plan.indexes() {
        make_dir(&dirs.install_root(index))?;
        let tmp = dirs.tmp(index);
        make_dir(&tmp)?;
        // Like a real /tmp: everyone may write, nobody may remove another's files.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).map_err(
            PcsError::io(format!("setting the mode of {}", tmp.display())),
        )?;
        write(&dirs.sshd_config(index), &sshd_config(plan, dirs, index))?;
    }
    Ok(())
}

/// The sshd configuration of PC `index`: only the lab's key, as root, on the PC's address.
fn sshd_config(plan: &PcsPlan, dirs: &PcsDirs, index: usize) -> String {
    format!(
        "# sshd of virtual {pc}, written by `demo lab up --pcs`.\n\
         ListenAddress {address}:22\n\
         HostKey {host_key}\n\
         # The PC's private /run: the host's is not touched.\n\
         PidFile /run/sshd.pid\n\
         AuthorizedKeysFile {authorized}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         # The lab's files belong to whoever checked the project out.\n\
         StrictModes no\n\
         # The conductor opens many sessions at once (checks from every PC).\n\
         MaxStartups 100\n\
         MaxSessions 100\n",
        pc = plan.namespace(index),
        address = plan.pc_address(index),
        host_key = dirs.host_key(index).display(),
        authorized = dirs.authorized_keys(index).display(),
    )
}

/// Makes the install path's (empty) mount point on the host when it is missing.
pub fn ensure_install_path(plan: &PcsPlan) -> Result<(), PcsError> {
    make_dir(&plan.install_path)
}

/// Starts PC `index` and waits until its sshd accepts connections; returns the init's pid.
pub async fn start(
    plan: &PcsPlan,
    dirs: &PcsDirs,
    index: usize,
    ready_timeout: Duration,
) -> Result<i32, PcsError> {
    let mut child = spawn(plan, dirs, index)?;
    let pid = i32::try_from(child.id()).map_err(|_| PcsError::Command {
        command: "unshare".into(),
        status: "no usable pid".into(),
        detail: child.id().to_string(),
    })?;
    let pid_file = dirs.init_pid_file(index);
    write(&pid_file, &format!("{pid}\n"))?;
    let address = SocketAddr::from((plan.pc_address(index), 22));
    let deadline = Instant::now() + ready_timeout;
    loop {
        if TcpStream::connect_timeout(&address, PROBE_CONNECT).is_ok() {
            return Ok(pid);
        }
        let exited = child.try_wait().ok().flatten().is_some();
        if exited || Instant::now() >= deadline {
            return Err(PcsError::SshdNotReady {
                pc: plan.namespace(index),
                address: plan.pc_address(index),
                timeout: ready_timeout,
                logs: logs_of(dirs, index, exited),
            });
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

/// Spawns the PC in its own process group, so a Ctrl-C in the terminal that ran `lab up`
/// does not take it down; it outlives `demo` by design, and `lab down` ends it.
fn spawn(plan: &PcsPlan, dirs: &PcsDirs, index: usize) -> Result<Child, PcsError> {
    let pc_dir = dirs.pc(index);
    let log_path = dirs.init_log(index);
    let log = std::fs::File::create(&log_path)
        .map_err(PcsError::io(format!("creating {}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(PcsError::io(format!("opening {}", log_path.display())))?;
    let namespace = plan.namespace(index);
    std::process::Command::new("ip")
        .args(["netns", "exec", &namespace])
        .args([
            "unshare",
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .args(["--kill-child", "sh", "-c", INIT, "pc-init", &namespace])
        .arg(&pc_dir)
        .arg(dirs.etc_hosts())
        .arg(&plan.install_path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(PcsError::io(format!("starting {namespace}")))
}

/// The end of the PC's init log and sshd log: what explains a PC that did not come up.
fn logs_of(dirs: &PcsDirs, index: usize, exited: bool) -> String {
    let mut text = String::new();
    if exited {
        text.push_str("its init exited.\n");
    }
    for log in [dirs.init_log(index), dirs.sshd_log(index)] {
        let content = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = content.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        text.push_str(&format!(
            "--- last lines of {} ---\n{tail}\n",
            log.display()
        ));
    }
    text
}

/// The pid of PC `index`'s init, when its pid file names a live `unshare` of this PC
/// (the command line names the PC's directory, so a reused pid is never taken for it).
pub fn live_init_pid(dirs: &PcsDirs, index: usize) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(dirs.init_pid_file(index))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let argv = process_argv(pid)?;
    is_pc_process(&argv, &dirs.pc(index)).then_some(pid)
}

/// A process's arguments; `None` when it is gone (or a zombie, whose cmdline is empty).
pub fn process_argv(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<String> = raw
        .split(|byte| *byte == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    (!argv.is_empty()).then_some(argv)
}

/// True for a process that belongs to the PC whose directory is `pc_dir`: its `unshare`
/// (an argument is exactly the directory) or its sshd (configured from that directory).
/// Exact arguments, never a name pattern: nothing else on the host can match.
pub fn is_pc_process(argv: &[String], pc_dir: &Path) -> bool {
    let dir = pc_dir.to_string_lossy();
    let config = pc_dir.join("ssh/sshd_config");
    let config = config.to_string_lossy();
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let is_unshare = program == "unshare" || program.ends_with("/unshare");
    let is_sshd = program == SSHD || program == "sshd";
    (is_unshare && argv.iter().any(|arg| arg == dir.as_ref()))
        || (is_sshd && argv.iter().any(|arg| arg == config.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_contains;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn only_the_pcs_own_unshare_and_sshd_are_recognized() {
        let pc = Path::new("/repo/.lab/pcs/pc2");
        let init = argv(&[
            "unshare",
            "--kill-child",
            "sh",
            "-c",
            "x",
            "pc-init",
            "pc2",
            "/repo/.lab/pcs/pc2",
        ]);
        assert!(is_pc_process(&init, pc));
        let sshd = argv(&[SSHD, "-D", "-f", "/repo/.lab/pcs/pc2/ssh/sshd_config"]);
        assert!(is_pc_process(&sshd, pc));
        // Another PC, or anything merely mentioning the directory, is not this PC.
        assert!(!is_pc_process(&init, Path::new("/repo/.lab/pcs/pc1")));
        let reader = argv(&["cat", "/repo/.lab/pcs/pc2/init.log"]);
        assert!(!is_pc_process(&reader, pc));
        let editor = argv(&["vi", "/repo/.lab/pcs/pc2"]);
        assert!(!is_pc_process(&editor, pc));
    }

    #[test]
    fn this_process_has_arguments_and_a_missing_one_has_none() {
        assert!(process_argv(std::process::id() as i32).is_some());
        assert!(process_argv(i32::MAX).is_none());
    }

    #[test]
    fn sshd_listens_on_the_pcs_address_with_the_pcs_key() {
        let dirs = PcsDirs::new(Path::new("/repo/.lab"));
        let config = sshd_config(&PcsPlan::default(), &dirs, 3);
        assert_contains(&config, "ListenAddress 10.77.0.3:22\n");
        assert_contains(&config, "HostKey /repo/.lab/pcs/pc3/ssh/host_ed25519_key\n");
        assert_contains(&config, "PasswordAuthentication no\n");
    }
}
