//! Asks one node, over CQL and that node alone, how a keyspace is replicated.
//!
//! A node that answers this query both serves clients (its CQL port works)
//! and tells which replication its schema holds, so one probe per node gives
//! the check-cluster table its "CQL" column and its replication line. The
//! session is the services' one-node session (`connect_single_node`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use iot_services::cassandra;

/// The CQL port every node listens on (the hosts file has no key for it:
/// the demo and the lab both use Cassandra's default).
pub const CQL_PORT: u16 = 9042;

/// A keyspace's replication as `system_schema.keyspaces` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// Short class name, e.g. `SimpleStrategy`.
    pub class: String,
    /// Every option but the class: `replication_factor`, or one entry per data centre.
    pub options: BTreeMap<String, String>,
}

impl Replication {
    /// Replication factors this strategy declares: one for SimpleStrategy,
    /// one per data centre for NetworkTopologyStrategy.
    pub fn factors(&self) -> Vec<u32> {
        self.options
            .values()
            .filter_map(|value| value.trim().parse().ok())
            .collect()
    }

    /// True when every declared factor is `expected` (and there is one).
    pub fn has_factor(&self, expected: u32) -> bool {
        let factors = self.factors();
        !factors.is_empty() && factors.iter().all(|factor| *factor == expected)
    }
}

impl std::fmt::Display for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options: Vec<String> = self
            .options
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        write!(f, "{} {{{}}}", self.class, options.join(", "))
    }
}

/// Connects to `address` only and reads `keyspace`'s replication
/// (`Ok(None)`: the node answers but has no such keyspace). Bounded by `timeout`.
pub async fn replication_via(
    address: IpAddr,
    keyspace: &str,
    timeout: Duration,
) -> Result<Option<Replication>, String> {
    match tokio::time::timeout(timeout, query_replication(address, keyspace, timeout)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(format!(
            "no CQL answer from {address}:{CQL_PORT} within {}s",
            timeout.as_secs()
        )),
    }
}

async fn query_replication(
    address: IpAddr,
    keyspace: &str,
    timeout: Duration,
) -> Result<Option<Replication>, String> {
    let node = SocketAddr::new(address, CQL_PORT);
    // A closed port is answer enough, and spares the driver's noisy retries.
    tokio::net::TcpStream::connect(node)
        .await
        .map_err(|err| format!("CQL port {node} does not accept connections: {err}"))?;
    let session = cassandra::connect_single_node(&node.to_string(), timeout)
        .await
        .map_err(|err| format!("CQL connection to {node} failed: {err}"))?;
    let statement = session
        .prepare("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?")
        .await
        .map_err(|err| format!("{node}: {err}"))?;
    let rows = session
        .execute_unpaged(&statement, (keyspace,))
        .await
        .map_err(|err| format!("{node}: {err}"))?
        .into_rows_result()
        .map_err(|err| format!("{node}: {err}"))?;
    let row = rows
        .maybe_first_row::<(BTreeMap<String, String>,)>()
        .map_err(|err| format!("{node}: {err}"))?;
    Ok(row.map(|(mut options,)| {
        let class = options.remove("class").unwrap_or_default();
        Replication {
            class: class.rsplit('.').next().unwrap_or_default().to_string(),
            options,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replication(class: &str, options: &[(&str, &str)]) -> Replication {
        Replication {
            class: class.to_string(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn factors_of_both_strategies() {
        let simple = replication("SimpleStrategy", &[("replication_factor", "3")]);
        assert!(simple.has_factor(3));
        assert!(!simple.has_factor(2));
        assert_eq!(simple.to_string(), "SimpleStrategy {replication_factor=3}");
        let nts = replication("NetworkTopologyStrategy", &[("dc1", "3"), ("dc2", "2")]);
        assert_eq!(nts.factors(), [3, 2]);
        assert!(!nts.has_factor(3));
        assert!(!replication("LocalStrategy", &[]).has_factor(1));
    }
}
