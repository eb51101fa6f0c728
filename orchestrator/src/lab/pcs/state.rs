//! Where the virtual PCs' files live under `.lab/pcs/`, and the record `lab up --pcs`
//! leaves for `lab down` and `lab status`.
//!
//! The record (`.lab/pcs/state.toml`) is written before anything is built and removed
//! only once everything is gone, so it is also how the lab knows which kind is up: its
//! presence means "virtual PCs", its absence the loopback lab. It keeps the plan that was
//! built and what existed on the host before, so `down` removes exactly what `up` made.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::net::Ipv4Subnet;
use super::{PcsError, PcsPlan};

/// The directory the kernel keeps named network namespaces in.
pub const RUN_NETNS: &str = "/run/netns";

/// The files of the virtual PCs, all under `<lab>/pcs`.
#[derive(Debug, Clone)]
pub struct PcsDirs {
    pub root: PathBuf,
}

impl PcsDirs {
    /// The PCs' files under `lab_dir`, made absolute: sshd and the PCs' init read them
    /// from other working directories.
    pub fn new(lab_dir: &Path) -> Self {
        let lab_dir = std::path::absolute(lab_dir).unwrap_or_else(|_| lab_dir.to_path_buf());
        PcsDirs {
            root: lab_dir.join("pcs"),
        }
    }

    /// The lab's own private key: the one every PC authorizes.
    pub fn identity_file(&self) -> PathBuf {
        self.root.join("id_ed25519")
    }

    /// The PCs' host keys, by address: what strict host-key checking trusts.
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// The /etc/hosts every PC sees: the PCs' and the app PC's names.
    pub fn etc_hosts(&self) -> PathBuf {
        self.root.join("etc-hosts")
    }

    pub fn record_file(&self) -> PathBuf {
        self.root.join("state.toml")
    }

    /// PC `index`'s own directory.
    pub fn pc(&self, index: usize) -> PathBuf {
        self.root.join(format!("pc{index}"))
    }

    /// What the PC sees at the install path.
    pub fn install_root(&self, index: usize) -> PathBuf {
        self.pc(index).join("root")
    }

    /// What the PC sees as /tmp.
    pub fn tmp(&self, index: usize) -> PathBuf {
        self.pc(index).join("tmp")
    }

    pub fn ssh_dir(&self, index: usize) -> PathBuf {
        self.pc(index).join("ssh")
    }

    pub fn host_key(&self, index: usize) -> PathBuf {
        self.ssh_dir(index).join("host_ed25519_key")
    }

    pub fn sshd_config(&self, index: usize) -> PathBuf {
        self.ssh_dir(index).join("sshd_config")
    }

    pub fn authorized_keys(&self, index: usize) -> PathBuf {
        self.ssh_dir(index).join("authorized_keys")
    }

    pub fn sshd_log(&self, index: usize) -> PathBuf {
        self.ssh_dir(index).join("sshd.log")
    }

    /// The PC's init's output (its mounts, before sshd takes over).
    pub fn init_log(&self, index: usize) -> PathBuf {
        self.pc(index).join("init.log")
    }

    /// The pid of the PC's `unshare`, whose death (with --kill-child) ends the whole PC.
    pub fn init_pid_file(&self, index: usize) -> PathBuf {
        self.pc(index).join("unshare.pid")
    }
}

/// What `up` recorded before building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub subnet: String,
    pub bridge: String,
    pub install_path: PathBuf,
    pub count: usize,
    /// /run/netns was there before: it is not ours to unmount.
    pub run_netns_existed: bool,
    /// The install path's mount point was created by `up`: `down` removes it.
    pub install_path_created: bool,
}

impl Record {
    /// The plan that was built.
    pub fn plan(&self, path: &Path) -> Result<PcsPlan, PcsError> {
        let subnet: Ipv4Subnet = self.subnet.parse().map_err(|detail| PcsError::BadRecord {
            path: path.to_path_buf(),
            detail,
        })?;
        Ok(PcsPlan {
            subnet,
            bridge: self.bridge.clone(),
            install_path: self.install_path.clone(),
            count: self.count,
        })
    }
}

/// True when virtual PCs are recorded as up (or half built) in `lab_dir`.
pub fn recorded(lab_dir: &Path) -> bool {
    PcsDirs::new(lab_dir).record_file().is_file()
}

/// Records the plan and what already exists on the host, before anything is built.
pub fn record(plan: &PcsPlan, dirs: &PcsDirs) -> Result<(), PcsError> {
    let record = Record {
        subnet: plan.subnet.to_string(),
        bridge: plan.bridge.clone(),
        install_path: plan.install_path.clone(),
        count: plan.count,
        run_netns_existed: Path::new(RUN_NETNS).exists(),
        install_path_created: !plan.install_path.exists(),
    };
    let path = dirs.record_file();
    let text = toml::to_string(&record).map_err(|err| PcsError::BadRecord {
        path: path.clone(),
        detail: err.to_string(),
    })?;
    let text = format!(
        "# Virtual PCs built by `demo lab up --pcs`; `demo lab down` removes them and this file.\n{text}"
    );
    std::fs::write(&path, text).map_err(PcsError::io(format!("writing {}", path.display())))
}

/// The record, if any.
pub fn read(dirs: &PcsDirs) -> Result<Option<Record>, PcsError> {
    let path = dirs.record_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(PcsError::io(format!("reading {}", path.display()))(err)),
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|err| PcsError::BadRecord {
            path,
            detail: err.to_string(),
        })
}

/// Forgets the PCs: they are gone.
pub fn forget(dirs: &PcsDirs) -> Result<(), PcsError> {
    let path = dirs.record_file();
    match std::fs::remove_file(&path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(PcsError::io(format!("removing {}", path.display()))(err))
        }
        _ => Ok(()),
    }
}

/// The /etc/hosts of every PC: without DNS (no route leaves the subnet), Java and
/// Cassandra still resolve their own and each other's names.
pub fn etc_hosts_text(plan: &PcsPlan) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    let app_index = plan.count + 1;
    let pcs: Vec<(usize, Ipv4Addr)> = plan
        .indexes()
        .chain(std::iter::once(app_index))
        .map(|index| (index, plan.subnet.host(index)))
        .collect();
    for (index, address) in pcs {
        text.push_str(&format!("{address}\tpc{index}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_contains;

    #[test]
    fn the_record_round_trips_and_gives_back_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = PcsDirs::new(dir.path());
        std::fs::create_dir_all(&dirs.root).unwrap();
        assert!(!recorded(dir.path()));
        let plan = PcsPlan::default();
        record(&plan, &dirs).unwrap();
        assert!(recorded(dir.path()));
        let back = read(&dirs).unwrap().unwrap();
        assert_eq!(back.plan(&dirs.record_file()).unwrap(), plan);
        forget(&dirs).unwrap();
        assert!(read(&dirs).unwrap().is_none());
        forget(&dirs).unwrap();
    }

    #[test]
    fn a_damaged_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = PcsDirs::new(dir.path());
        std::fs::create_dir_all(&dirs.root).unwrap();
        std::fs::write(dirs.record_file(), "subnet = 3").unwrap();
        let err = read(&dirs).unwrap_err().to_string();
        assert!(
            err.contains("state.toml") && err.contains("lab down"),
            "{err}"
        );
    }

    #[test]
    fn every_pc_resolves_every_name() {
        let text = etc_hosts_text(&PcsPlan::default());
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"), "{text}");
        for line in ["10.77.0.1\tpc1", "10.77.0.3\tpc3", "10.77.0.4\tpc4"] {
            assert_contains(&text, line);
        }
    }
}
