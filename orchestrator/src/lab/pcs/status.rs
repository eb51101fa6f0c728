//! `lab status` for the virtual PCs: per PC, its namespace, whether its sshd accepts
//! connections, and its init's pid; plus the bridge.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use super::net;
use super::pc::live_init_pid;
use super::state::{self, PcsDirs};
use super::{PcsError, PcsPlan};

/// How long a probe of a PC's port 22 may take.
const PROBE_CONNECT: Duration = Duration::from_millis(300);

/// One PC as `lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcStatus {
    pub name: String,
    pub address: Ipv4Addr,
    pub namespace: bool,
    pub sshd_listening: bool,
    /// The PC's init (its `unshare`), when alive.
    pub init_pid: Option<i32>,
}

/// Every PC and the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcsStatus {
    pub pcs: Vec<PcStatus>,
    pub bridge: String,
    pub bridge_present: bool,
}

impl PcsStatus {
    /// True when every PC runs and answers on port 22.
    pub fn all_up(&self) -> bool {
        self.bridge_present
            && self
                .pcs
                .iter()
                .all(|pc| pc.namespace && pc.sshd_listening && pc.init_pid.is_some())
    }

    /// The table `lab status` prints.
    pub fn render(&self) -> String {
        let yes_no = |flag: bool| if flag { "yes" } else { "no" };
        let mut out = format!(
            "{:<6} {:<12} {:<10} {:<14} {}\n",
            "PC", "ADDRESS", "NAMESPACE", "SSHD :22", "INIT PID"
        );
        for pc in &self.pcs {
            out.push_str(&format!(
                "{:<6} {:<12} {:<10} {:<14} {}\n",
                pc.name,
                pc.address.to_string(),
                yes_no(pc.namespace),
                if pc.sshd_listening {
                    "listening"
                } else {
                    "not listening"
                },
                pc.init_pid
                    .map(|pid| pid.to_string())
                    .unwrap_or_else(|| "not running".to_string()),
            ));
        }
        out.push_str(&format!(
            "bridge {}: {}\n",
            self.bridge,
            if self.bridge_present {
                "present"
            } else {
                "missing"
            }
        ));
        out
    }
}

/// The state of the PCs recorded in `lab_dir` (the default plan when none is recorded).
pub async fn status(lab_dir: &Path) -> Result<PcsStatus, PcsError> {
    let dirs = PcsDirs::new(lab_dir);
    let plan = match state::read(&dirs)? {
        Some(record) => record.plan(&dirs.record_file())?,
        None => PcsPlan::default(),
    };
    let pcs = plan
        .indexes()
        .map(|index| {
            let address = plan.pc_address(index);
            PcStatus {
                name: plan.namespace(index),
                address,
                namespace: net::netns_exists(&plan.namespace(index)),
                sshd_listening: TcpStream::connect_timeout(
                    &SocketAddr::from((address, 22)),
                    PROBE_CONNECT,
                )
                .is_ok(),
                init_pid: live_init_pid(&dirs, index),
            }
        })
        .collect();
    Ok(PcsStatus {
        pcs,
        bridge_present: net::link_exists(&plan.bridge).await?,
        bridge: plan.bridge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::assert_contains;

    #[test]
    fn a_pc_without_sshd_is_shown_and_spoils_the_verdict() {
        let pc = |name: &str, listening| PcStatus {
            name: name.into(),
            address: Ipv4Addr::new(10, 77, 0, 1),
            namespace: true,
            sshd_listening: listening,
            init_pid: Some(42),
        };
        let mut status = PcsStatus {
            pcs: vec![pc("pc1", true)],
            bridge: "demo-br0".into(),
            bridge_present: true,
        };
        assert!(status.all_up());
        status.pcs.push(pc("pc2", false));
        assert!(!status.all_up());
        let table = status.render();
        assert_contains(&table, "pc2    10.77.0.1    yes        not listening  42");
        assert!(table.ends_with("bridge demo-br0: present\n"), "{table}");
    }
}
