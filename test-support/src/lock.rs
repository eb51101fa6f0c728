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
        let mut said_waiting = false;
        let lock = Wait::new(
            format!("the lab fault lock {LAB_FAULTS_LOCK}"),
            LOCK_PATIENCE,
        )
        .every(Duration::from_millis(500))
        .until(|| -> Result<Flock<File>, String> {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(LAB_FAULTS_LOCK)
                .unwrap_or_else(|e| panic!("cannot open {LAB_FAULTS_LOCK}: {e}"));
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Ok(lock),
                Err((_, Errno::EWOULDBLOCK)) => {
                    if !said_waiting {
                        eprintln!("waiting for the lab fault lock {LAB_FAULTS_LOCK}…");
                        said_waiting = true;
                    }
                    Err("held by another test or program".to_owned())
                }
                Err((_, errno)) => panic!("cannot lock {LAB_FAULTS_LOCK}: {errno}"),
            }
        });
        FaultLock { _lock: lock }
    }
}
