//! What refuses `lab up --pcs` before anything is touched: not root, a missing tool, the
//! lab's directory under /tmp, PCs already recorded, a name already taken on the host, or
//! the subnet already routed there.

use std::path::{Path, PathBuf};

use super::net::{self, host_routes, overlapping_route};
use super::pc::SSHD;
use super::state::PcsDirs;
use super::{PcsError, PcsPlan};

/// The programs the PCs need, each with the Debian package that provides it.
/// iptables is not used to build them but by the faults run inside them.
const TOOLS: [(&str, &str); 6] = [
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    (SSHD, "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("ssh", "openssh-client"),
    ("iptables", "iptables"),
];

/// Refuses early and clearly, in the order a user fixes things.
pub async fn refuse_early(plan: &PcsPlan, dirs: &PcsDirs) -> Result<(), PcsError> {
    require_root("demo lab up --pcs")?;
    require_tools()?;
    if dirs.root.starts_with("/tmp") {
        return Err(PcsError::StateUnderTmp {
            dir: dirs.root.clone(),
        });
    }
    let record = dirs.record_file();
    if record.exists() {
        return Err(PcsError::AlreadyUp { record });
    }
    let taken = |what, name: String| PcsError::NameTaken {
        what,
        name,
        record: record.clone(),
    };
    if net::link_exists(&plan.bridge).await? {
        return Err(taken("the network interface", plan.bridge.clone()));
    }
    for index in plan.indexes() {
        if net::netns_exists(&plan.namespace(index)) {
            return Err(taken("the network namespace", plan.namespace(index)));
        }
        if net::link_exists(&plan.host_veth(index)).await? {
            return Err(taken("the network interface", plan.host_veth(index)));
        }
    }
    if let Some(route) = overlapping_route(&host_routes().await?, &plan.subnet) {
        return Err(PcsError::SubnetRouted {
            subnet: plan.subnet,
            route,
        });
    }
    Ok(())
}

/// Namespaces, the bridge and mounts need root; `command` is what to run as root.
pub fn require_root(command: &'static str) -> Result<(), PcsError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(PcsError::NotRoot { command })
    }
}

fn require_tools() -> Result<(), PcsError> {
    for (tool, package) in TOOLS {
        if find_program(tool).is_none() {
            return Err(PcsError::MissingTool { tool, package });
        }
    }
    Ok(())
}

/// An absolute program if it exists, else the program found on PATH (or in the sbin
/// directories, which a non-login root shell may lack).
fn find_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    let from_env = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let sbin = ["/usr/sbin", "/sbin"].map(PathBuf::from);
    from_env
        .into_iter()
        .chain(sbin)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_absolute_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("no-such-tool-for-the-pcs").is_none());
        assert!(find_program("/nonexistent/sshd").is_none());
    }

    #[test]
    fn a_missing_tool_names_its_debian_package() {
        let message = PcsError::MissingTool {
            tool: "unshare",
            package: "util-linux",
        }
        .to_string();
        assert_eq!(
            message,
            "`unshare` was not found: install it (Debian: apt-get install util-linux)"
        );
        assert!(
            TOOLS
                .iter()
                .any(|(tool, package)| *tool == "iptables" && *package == "iptables")
        );
    }

    #[test]
    fn the_refusal_without_root_says_what_to_run() {
        let message = PcsError::NotRoot {
            command: "demo lab up --pcs",
        }
        .to_string();
        assert!(message.starts_with("virtual PCs need root: network namespaces, a bridge and mounts; run it as root, e.g. `sudo demo lab up --pcs`"), "{message}");
    }
}
