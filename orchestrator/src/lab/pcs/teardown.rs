//! `lab down` for the virtual PCs: removes every process, namespace, link, mount and
//! directory `lab up --pcs` made, whatever state they are in.
//!
//! Every step accepts "already gone", so it is idempotent and finishes the job from a
//! half-built or half-broken lab (a lost pid file, a namespace deleted by hand, a PC that
//! died). Processes are found only by our own pid files, our namespaces and the exact
//! arguments of our PCs' `unshare` and sshd, never by a name pattern. Finally it checks
//! that nothing is left, and says what is if anything is.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::command::run_ok;
use super::net;
use super::pc::{is_pc_process, live_init_pid, process_argv};
use super::state::{self, PcsDirs, RUN_NETNS, Record};
use super::{PcsError, PcsPlan, checks};

/// How long killed processes may take to disappear.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);
/// How many rounds of killing a namespace's processes before deleting it anyway.
const NETNS_KILL_ROUNDS: usize = 10;

/// What `down` removed, for the command layer to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Teardown {
    /// "pc2 (pid 1234)": the PCs' inits and strays killed.
    pub killed: Vec<String>,
    /// Namespaces, links and directories removed.
    pub removed: Vec<String>,
}

impl Teardown {
    pub fn is_empty(&self) -> bool {
        self.killed.is_empty() && self.removed.is_empty()
    }
}

/// Removes the virtual PCs recorded in `lab_dir` (the default plan when the record is
/// missing but files remain); keys and logs stay.
pub async fn down(lab_dir: &Path) -> Result<Teardown, PcsError> {
    checks::require_root("demo lab down")?;
    let dirs = PcsDirs::new(lab_dir);
    let record = match state::read(&dirs) {
        Ok(Some(record)) => record,
        // No readable record, but this is still the lab's own directory: the defaults
        // name what a default `up` made; nothing outside those names is touched.
        Ok(None) | Err(PcsError::BadRecord { .. }) => default_record(),
        Err(other) => return Err(other),
    };
    let plan = record.plan(&dirs.record_file())?;
    let mut done = Teardown::default();
    for index in plan.indexes() {
        kill_pc(&plan, &dirs, index, &mut done).await?;
    }
    for index in plan.indexes() {
        remove_link(&plan.host_veth(index), &mut done).await?;
    }
    remove_link(&plan.bridge, &mut done).await?;
    if !record.run_netns_existed {
        release_run_netns(&mut done).await?;
    }
    if record.install_path_created {
        // Gone already, or something put files there: either way not ours to delete.
        if std::fs::remove_dir(&plan.install_path).is_ok() {
            done.removed
                .push(format!("mount point {}", plan.install_path.display()));
        }
    }
    let left = leftovers(&plan, &dirs).await?;
    if !left.is_empty() {
        return Err(PcsError::Leftovers { left });
    }
    state::forget(&dirs)?;
    Ok(done)
}

/// [`down`], then deletes `.lab/pcs` (keys, logs, the PCs' files) and the inventory.
pub async fn purge(lab_dir: &Path) -> Result<Teardown, PcsError> {
    let mut done = down(lab_dir).await?;
    let dirs = PcsDirs::new(lab_dir);
    if dirs.root.exists() {
        std::fs::remove_dir_all(&dirs.root)
            .map_err(PcsError::io(format!("removing {}", dirs.root.display())))?;
        done.removed.push(dirs.root.display().to_string());
    }
    let hosts = lab_dir.join("hosts.toml");
    if hosts.exists() {
        std::fs::remove_file(&hosts)
            .map_err(PcsError::io(format!("removing {}", hosts.display())))?;
        done.removed.push(hosts.display().to_string());
    }
    Ok(done)
}

fn default_record() -> Record {
    let plan = PcsPlan::default();
    Record {
        subnet: plan.subnet.to_string(),
        bridge: plan.bridge,
        install_path: plan.install_path,
        count: plan.count,
        // Unknown: leave /run/netns and the mount point to their owner.
        run_netns_existed: true,
        install_path_created: false,
    }
}

/// Ends PC `index`: its init (by pid file), any process of it found by its exact
/// arguments, then whatever else is in its namespace, and deletes the namespace.
async fn kill_pc(
    plan: &PcsPlan,
    dirs: &PcsDirs,
    index: usize,
    done: &mut Teardown,
) -> Result<(), PcsError> {
    let name = plan.namespace(index);
    // With --kill-child, the init's death kills the PC's PID 1 and so the whole PC.
    let mut ours: Vec<i32> = live_init_pid(dirs, index).into_iter().collect();
    // A lost pid file: the PC's unshare and sshd are still known by their arguments.
    ours.extend(pc_processes(&dirs.pc(index)));
    ours.sort_unstable();
    ours.dedup();
    kill_and_wait(&ours, &dirs.pc(index)).await;
    for pid in &ours {
        done.killed.push(format!("{name} (pid {pid})"));
    }
    let pid_file = dirs.init_pid_file(index);
    if pid_file.exists() {
        std::fs::remove_file(&pid_file)
            .map_err(PcsError::io(format!("removing {}", pid_file.display())))?;
    }
    if net::netns_exists(&name) {
        // A stray `ip netns exec` outside the PC's PID namespace still holds the netns.
        for _ in 0..NETNS_KILL_ROUNDS {
            let pids = net::netns_pids(&name).await?;
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                signal_kill(pid);
                done.killed
                    .push(format!("{name}: process {pid} in its namespace"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        run_ok("ip", ["netns", "del", &name]).await?;
        done.removed.push(format!("network namespace {name}"));
    }
    Ok(())
}

/// Live processes of the PC whose directory is `pc_dir`, by their exact arguments.
fn pc_processes(pc_dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| process_argv(*pid).is_some_and(|argv| is_pc_process(&argv, pc_dir)))
        .collect()
}

/// SIGKILLs `pids` and waits (bounded) until none of them is the PC's any more.
async fn kill_and_wait(pids: &[i32], pc_dir: &Path) {
    for pid in pids {
        signal_kill(*pid);
    }
    let deadline = Instant::now() + EXIT_DEADLINE;
    while !pc_processes(pc_dir).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal_kill(pid: i32) {
    // Already gone is fine: the point is that it no longer runs.
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}

/// Deletes a host link when it exists (deleting one end of a veth removes both).
async fn remove_link(name: &str, done: &mut Teardown) -> Result<(), PcsError> {
    if !net::link_exists(name).await? {
        return Ok(());
    }
    match run_ok("ip", ["link", "del", name]).await {
        Ok(_) => done.removed.push(format!("link {name}")),
        // The kernel destroys a deleted namespace, and the veth pair with it, in the
        // background: the link may vanish between the look and the delete.
        Err(_) if !net::link_exists(name).await? => {}
        Err(other) => return Err(other),
    }
    Ok(())
}

/// `ip netns add` made /run/netns a mount point; undone only when no namespace is left
/// in it (anyone else's would need it).
async fn release_run_netns(done: &mut Teardown) -> Result<(), PcsError> {
    let run_netns = PathBuf::from(RUN_NETNS);
    let empty = std::fs::read_dir(&run_netns).is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return Ok(());
    }
    if is_mount_point(&run_netns)? {
        run_ok("umount", [RUN_NETNS]).await?;
    }
    std::fs::remove_dir(&run_netns).map_err(PcsError::io(format!("removing {RUN_NETNS}")))?;
    done.removed.push(RUN_NETNS.to_string());
    Ok(())
}

fn is_mount_point(path: &Path) -> Result<bool, PcsError> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(PcsError::io("reading /proc/self/mountinfo"))?;
    let wanted = path.to_string_lossy();
    // Field 5 of each line is the mount point.
    Ok(mounts
        .lines()
        .any(|line| line.split_whitespace().nth(4) == Some(wanted.as_ref())))
}

/// What of the PCs still exists after the teardown.
async fn leftovers(plan: &PcsPlan, dirs: &PcsDirs) -> Result<Vec<String>, PcsError> {
    let mut left = Vec::new();
    for index in plan.indexes() {
        let name = plan.namespace(index);
        if net::netns_exists(&name) {
            left.push(format!("network namespace {name}"));
        }
        for pid in pc_processes(&dirs.pc(index)) {
            left.push(format!("{name}'s process {pid}"));
        }
    }
    let links = plan
        .indexes()
        .map(|index| plan.host_veth(index))
        .chain(std::iter::once(plan.bridge.clone()));
    for link in links {
        if net::link_exists(&link).await? {
            left.push(format!("link {link}"));
        }
    }
    Ok(left)
}
