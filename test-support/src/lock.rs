//! The lab-wide fault lock.
//!
//! The lab is one cluster shared by every test binary, the benchmark and
//! whoever rehearses on the machine. A test that stops, kills, freezes or
//! isolates a node holds this lock (an exclusive `flock(2)` on one file, the
//! same lock `flock /tmp/lab-faults.lock …` takes in a shell) for as long as
//! the node is out, so two faults never overlap and no other test sees a
//! cluster it did not expect.

use std::fs::File;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::wait::Wait;

/// The lock file every fault-taking program agrees on.
pub const LAB_FAULTS_LOCK: &str = "/tmp/lab-faults.lock";

/// The lock every test that builds the virtual PCs holds while they exist: there is one
/// bridge and one set of namespaces (pc1-pc3) per machine.
pub const VIRTUAL_PCS_LOCK: &str = "/tmp/virtual-pcs.lock";

/// The longest a test waits for another holder (the whole day-J suite holds
/// it for a few minutes per run).
pub const LOCK_PATIENCE: Duration = Duration::from_secs(900);

/// The exclusive fault lock, released when dropped.
#[derive(Debug)]
pub struct FaultLock {
    _lock: Flock<File>,
}

impl FaultLock {
    /// Takes the lock, waiting at most [`LOCK_PATIENCE`] for its holder; fails
    /// the test after that.
    #[track_caller]
    pub fn acquire() -> FaultLock {
        FaultLock::acquire_file(LAB_FAULTS_LOCK)
    }

    /// The virtual PCs' lock ([`VIRTUAL_PCS_LOCK`]), taken the same way.
    #[track_caller]
    pub fn acquire_virtual_pcs() -> FaultLock {
        FaultLock::acquire_file(VIRTUAL_PCS_LOCK)
    }

    #[track_caller]
    fn acquire_file(path: &'static str) -> FaultLock {
        let mut said_waiting = false;
        let lock = Wait::new(format!("the lock {path}"), LOCK_PATIENCE)
            .every(Duration::from_millis(500))
            .until(|| -> Result<Flock<File>, String> {
                let file = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
                match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                    Ok(lock) => Ok(lock),
                    Err((_, Errno::EWOULDBLOCK)) => {
                        if !said_waiting {
                            eprintln!("waiting for the lock {path}…");
                            said_waiting = true;
                        }
                        Err("held by another test or program".to_owned())
                    }
                    Err((_, errno)) => panic!("cannot lock {path}: {errno}"),
                }
            });
        FaultLock { _lock: lock }
    }
}
