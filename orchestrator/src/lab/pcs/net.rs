//! The PCs' network: one bridge of the lab's own on the host (holding the app PC's
//! address), one network namespace per PC, joined to the bridge by a veth pair.
//!
//! Nothing is routed off the machine: a PC's only route is the subnet itself (no default
//! route), the host gains only the bridge's connected route, and neither forwarding, NAT
//! nor the host's firewall is touched.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::command::{self, run_ok};
use super::state::RUN_NETNS;
use super::{PcsError, PcsPlan};

/// How long a TCP connect between PCs may take before the path counts as blocked.
const CONNECT_PROBE: Duration = Duration::from_secs(3);

/// An IPv4 network: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Subnet {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Subnet {
    /// The subnet holding `address` with `prefix` bits (host bits cleared; prefix at most 32).
    pub fn new(address: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Ipv4Subnet {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix)),
            prefix,
        }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Number of addresses, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// The `index`th address after the network address.
    pub fn host(&self, index: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network).wrapping_add(index as u32))
    }

    /// True when the two networks share an address.
    pub fn overlaps(&self, other: &Ipv4Subnet) -> bool {
        let common = mask(self.prefix.min(other.prefix));
        u32::from(self.network) & common == u32::from(other.network) & common
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for Ipv4Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Ipv4Subnet {
    type Err = String;

    /// `10.77.0.0/24`; a bare address is a /32 (as `ip route` prints host routes).
    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = text.split_once('/').unwrap_or((text, "32"));
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("expected an IPv4 subnet such as 10.77.0.0/24, found {text:?}"))?;
        match prefix.parse::<u8>() {
            Ok(prefix) if prefix <= 32 => Ok(Ipv4Subnet::new(address, prefix)),
            _ => Err(format!("expected a prefix length 0-32 in {text:?}")),
        }
    }
}

/// The first host route (of `ip -4 route show` output) that overlaps `subnet`; the
/// default route does not count (it is a fallback, not a claim on the subnet).
pub fn overlapping_route(routes: &str, subnet: &Ipv4Subnet) -> Option<String> {
    routes
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("default"))
        .find(|line| {
            // Typed routes start with their type: `unreachable 10.77.0.0/24`.
            let destination = line
                .split_whitespace()
                .find_map(|word| word.parse::<Ipv4Subnet>().ok());
            destination.is_some_and(|destination| destination.overlaps(subnet))
        })
        .map(str::to_string)
}

/// The host's IPv4 routes, as `ip -4 route show` prints them.
pub async fn host_routes() -> Result<String, PcsError> {
    run_ok("ip", ["-4", "route", "show"]).await
}

/// True when a network interface of that name exists on the host.
pub async fn link_exists(name: &str) -> Result<bool, PcsError> {
    Ok(
        command::run("ip", ["link", "show", "dev", name], command::SHORT)
            .await?
            .success,
    )
}

/// True when a named network namespace exists.
pub fn netns_exists(name: &str) -> bool {
    Path::new(RUN_NETNS).join(name).exists()
}

/// The pids of every process in a named network namespace.
pub async fn netns_pids(name: &str) -> Result<Vec<i32>, PcsError> {
    let out = run_ok("ip", ["netns", "pids", name]).await?;
    Ok(out
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect())
}

/// Builds the bridge and, per PC, its namespace and veth pair with its address.
pub async fn create(plan: &PcsPlan) -> Result<(), PcsError> {
    let bridge = plan.bridge.as_str();
    let prefix = plan.subnet.prefix();
    run_ok("ip", ["link", "add", bridge, "type", "bridge"]).await?;
    let app = format!("{}/{prefix}", plan.app_address());
    run_ok("ip", ["addr", "add", &app, "dev", bridge]).await?;
    run_ok("ip", ["link", "set", bridge, "up"]).await?;
    for index in plan.indexes() {
        let namespace = plan.namespace(index);
        let host_end = plan.host_veth(index);
        // The PC's end is named after the host end until it is inside the PC, where it
        // becomes eth0: inside its namespace no name can collide.
        let pc_end = format!("{host_end}p");
        let address = format!("{}/{prefix}", plan.pc_address(index));
        let ns = namespace.as_str();
        run_ok("ip", ["netns", "add", ns]).await?;
        run_ok(
            "ip",
            [
                "link", "add", &host_end, "type", "veth", "peer", "name", &pc_end,
            ],
        )
        .await?;
        run_ok("ip", ["link", "set", &host_end, "master", bridge]).await?;
        run_ok("ip", ["link", "set", &host_end, "up"]).await?;
        run_ok("ip", ["link", "set", &pc_end, "netns", ns]).await?;
        run_ok("ip", ["-n", ns, "link", "set", &pc_end, "name", "eth0"]).await?;
        run_ok("ip", ["-n", ns, "addr", "add", &address, "dev", "eth0"]).await?;
        run_ok("ip", ["-n", ns, "link", "set", "lo", "up"]).await?;
        run_ok("ip", ["-n", ns, "link", "set", "eth0", "up"]).await?;
    }
    Ok(())
}

/// Proves, from inside the PCs, that each PC reaches the next one's sshd and the app PC,
/// so that a host firewall filtering the bridge is named now, not when Cassandra's
/// gossip silently fails.
pub async fn check_reachability(plan: &PcsPlan) -> Result<(), PcsError> {
    for index in plan.indexes() {
        let next = index % plan.count + 1;
        let targets = [
            (plan.namespace(next), plan.pc_address(next), 22, false),
            // Nothing listens there on the host: a refusal (an RST) proves the path too.
            ("the app PC".to_string(), plan.app_address(), 9, true),
        ];
        for (name, address, port, refusal_is_fine) in targets {
            if next == index && !refusal_is_fine {
                continue;
            }
            let probe = format!("exec 3<>/dev/tcp/{address}/{port}");
            let namespace = plan.namespace(index);
            let ran = command::run(
                "ip",
                ["netns", "exec", &namespace, "bash", "-c", &probe],
                CONNECT_PROBE,
            )
            .await;
            let detail = match ran {
                Ok(ran) if ran.success => continue,
                Ok(ran) if refusal_is_fine && ran.stderr.contains("Connection refused") => continue,
                Ok(ran) => ran.stderr.trim().to_string(),
                Err(err) => err.to_string(),
            };
            return Err(PcsError::Unreachable {
                from: namespace,
                to: format!("{name} ({address}:{port})"),
                bridge: plan.bridge.clone(),
                detail,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(text: &str) -> Ipv4Subnet {
        text.parse().unwrap()
    }

    #[test]
    fn subnets_parse_print_and_count() {
        let default = subnet("10.77.0.0/24");
        assert_eq!(default.to_string(), "10.77.0.0/24");
        assert_eq!(default.size(), 256);
        assert_eq!(default.host(4), Ipv4Addr::new(10, 77, 0, 4));
        assert_eq!(subnet("10.77.0.9/24"), default, "host bits are cleared");
        assert_eq!(subnet("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(subnet("0.0.0.0/0").size(), 1 << 32);
        assert!("10.77.0.0/33".parse::<Ipv4Subnet>().is_err());
        assert!("pc1/24".parse::<Ipv4Subnet>().is_err());
    }

    #[test]
    fn overlap_is_symmetric_and_exact() {
        let lab = subnet("10.77.0.0/24");
        assert!(lab.overlaps(&subnet("10.77.0.0/16")));
        assert!(subnet("10.77.0.0/16").overlaps(&lab));
        assert!(lab.overlaps(&subnet("10.77.0.200")));
        assert!(!lab.overlaps(&subnet("10.77.1.0/24")));
        assert!(lab.overlaps(&subnet("0.0.0.0/0")));
    }

    #[test]
    fn a_route_into_the_subnet_is_found_but_the_default_route_is_not() {
        let lab = subnet("10.77.0.0/24");
        let routes = "default via 172.17.0.1 dev eth0\n\
                      172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2\n";
        assert_eq!(overlapping_route(routes, &lab), None);
        let taken = format!("{routes}10.77.0.0/16 via 172.17.0.9 dev eth0\n");
        assert_eq!(
            overlapping_route(&taken, &lab).as_deref(),
            Some("10.77.0.0/16 via 172.17.0.9 dev eth0")
        );
        let typed = "unreachable 10.77.0.128/25 proto static\n";
        assert!(overlapping_route(typed, &lab).is_some());
    }
}
