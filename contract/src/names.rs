//! Names both sides spell the same way: Kafka topics, the keyspaces and tables
//! of `schema.cql`. A rename happens here, and the compiler finds every user.

/// Topic of the sensor readings (producer → ingest).
pub const READINGS_TOPIC: &str = "sensor-readings";

/// Topic where ingest puts the messages that are not valid readings, with the reason.
pub const DLQ_TOPIC: &str = "sensor-readings-dlq";

/// The demo's keyspace (replication factor 3).
pub const KEYSPACE: &str = "iot_demo";
/// The contrast lane's keyspace: the same readings with replication factor 1.
pub const CONTRAST_KEYSPACE: &str = "iot_demo_rf1";

/// Every reading, partitioned by sensor, newest first.
pub const SENSOR_DATA_TABLE: &str = "sensor_data";

/// One row per sensor with its latest reading (the index behind `GET /sensors`).
pub const SENSORS_TABLE: &str = "sensors";

/// The scenario's events, partitioned by UTC day (behind `GET /events`): rows
/// of facts (`contract::events::ScenarioEvent`). It replaced `scenario_events`,
/// whose rows held French labels; a lab created before keeps that table, unused.
pub const SCENARIO_EVENTS_TABLE: &str = "scenario_events_v2";

/// The ids of a fleet of `count` simulated sensors: `<prefix>01`, `<prefix>02`...,
/// with as many digits as `count` has (at least two), so they sort in order:
/// 200 sensors are `<prefix>001`..`<prefix>200`. The producer names its sensors
/// so, and the conductor expects them so.
pub fn sensor_ids(prefix: &str, count: usize) -> Vec<String> {
    let width = count.to_string().len().max(2);
    (1..=count)
        .map(|n| format!("{prefix}{n:0width$}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensor_ids_have_as_many_digits_as_the_fleet_needs() {
        assert_eq!(sensor_ids("s_", 3), ["s_01", "s_02", "s_03"]);
        let big = sensor_ids("sensor_", 200);
        assert_eq!(big.len(), 200);
        assert_eq!(
            (big[0].as_str(), big[199].as_str()),
            ("sensor_001", "sensor_200")
        );
        let mut sorted = big.clone();
        sorted.sort();
        assert_eq!(sorted, big, "ids sort in fleet order");
        assert!(sensor_ids("x", 0).is_empty());
    }
}
