//! The contrast lane's map: on which PC each sensor's only copy lives.
//!
//! In the keyspace with replication factor 1 every sensor's readings are kept
//! by exactly one node, the one owning the sensor's token. Before a PC is taken
//! out, the conductor asks the driver's view of the token ring which of the
//! run's sensors live there, to tell the audience which curves of the chart
//! without replication are about to stop (and to warn when none will).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use contract::names::{CONTRAST_KEYSPACE, SENSOR_DATA_TABLE};
use iot_services::cassandra::{self, CassandraError, SessionOptions};

/// Opening the session and reading the ring gives up after this long.
const MAP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ContrastError {
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    #[error("the token ring has no owner for {sensor} in {CONTRAST_KEYSPACE}: {why}")]
    NoOwner { sensor: String, why: String },
    #[error("reading the token ring took longer than {}s", MAP_TIMEOUT.as_secs())]
    TimedOut,
}

/// For each sensor, the address of the node that holds its only copy.
pub async fn single_copy_owners(
    contact_points: &[String],
    sensor_ids: &[String],
) -> Result<BTreeMap<String, IpAddr>, ContrastError> {
    tokio::time::timeout(MAP_TIMEOUT, owners(contact_points, sensor_ids))
        .await
        .map_err(|_| ContrastError::TimedOut)?
}

async fn owners(
    contact_points: &[String],
    sensor_ids: &[String],
) -> Result<BTreeMap<String, IpAddr>, ContrastError> {
    let session = cassandra::connect(&SessionOptions::new(contact_points.to_vec())).await?;
    let ring = session.get_cluster_state();
    sensor_ids
        .iter()
        .map(|sensor| {
            let no_owner = |why: String| ContrastError::NoOwner {
                sensor: sensor.clone(),
                why,
            };
            let replicas = ring
                .get_endpoints(CONTRAST_KEYSPACE, SENSOR_DATA_TABLE, &(sensor.as_str(),))
                .map_err(|err| no_owner(err.to_string()))?;
            let (node, _) = replicas
                .first()
                .ok_or_else(|| no_owner("no replica".into()))?;
            Ok((sensor.clone(), node.address.ip()))
        })
        .collect()
}

/// The sensors whose only copy is at `address`, in id order.
pub fn held_by(owners: &BTreeMap<String, IpAddr>, address: IpAddr) -> Vec<String> {
    owners
        .iter()
        .filter(|(_, owner)| **owner == address)
        .map(|(sensor, _)| sensor.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sensors_held_by_a_node_are_those_it_owns() {
        let pc = |last: u8| IpAddr::from([127, 0, 0, last]);
        let owners: BTreeMap<String, IpAddr> = [
            ("s_03".to_owned(), pc(2)),
            ("s_01".to_owned(), pc(2)),
            ("s_02".to_owned(), pc(1)),
        ]
        .into();
        assert_eq!(held_by(&owners, pc(2)), vec!["s_01", "s_03"]);
        assert_eq!(held_by(&owners, pc(1)), vec!["s_02"]);
        assert!(held_by(&owners, pc(3)).is_empty());
    }
}
