//! Names both sides spell the same way: Kafka topics, the keyspaces and tables
//! of `schema.cql`. A rename happens here, and the compiler finds every user.

/// Topic of the sensor readings (producer → ingest).
pub const READINGS_TOPIC: &str = "sensor-readings";

/// Topic where ingest puts the messages that are not valid readings, with the reason.
pub const DLQ_TOPIC: &str = "sensor-readings-dlq";

/// The demo's keyspace (replication factor 3).
pub const KEYSPACE: &str = "iot_demo";

/// Every reading, partitioned by sensor, newest first.
pub const SENSOR_DATA_TABLE: &str = "sensor_data";

/// One row per sensor with its latest reading (the index behind `GET /sensors`).
pub const SENSORS_TABLE: &str = "sensors";

/// The scenario's events, partitioned by UTC day (behind `GET /events`): rows
/// of facts (`contract::events::ScenarioEvent`). It replaced `scenario_events`,
/// whose rows held French labels; a lab created before keeps that table, unused.
pub const SCENARIO_EVENTS_TABLE: &str = "scenario_events_v2";
