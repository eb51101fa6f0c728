//! The services' command lines, typed.
//!
//! Each binary parses its arguments into one of these structs, and whoever
//! starts a service (the conductor, the tests, the bench) fills the same struct
//! and turns it into a command line with `to_args()`; a unit test proves that
//! the command line parses back to an equal value. So a flag cannot be renamed
//! on one side only.
//!
//! Every flag also reads an environment variable, and the defaults point at
//! the local lab: with the lab up every service runs with no flag at all.
//! `to_args()` writes every field that has a value, and leaves out the absent
//! ones (`None`, `false`, an empty list), which the started service then takes
//! from its environment as if the flag had not been given. [`from_environment`]
//! gives the value a service would parse with no flag, in this process's
//! environment: start from it, set what you mean, and the started service (which
//! inherits the environment) sees exactly that.

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser};

use crate::keyspace::Keyspace;
use crate::names;

/// The lab's three Cassandra nodes.
pub const DEFAULT_CONTACT_POINTS: &str = "127.0.0.1,127.0.0.2,127.0.0.3";
/// The lab's Kafka broker.
pub const DEFAULT_KAFKA_BOOTSTRAP: &str = "127.0.0.1:9092";
/// Where the API listens by default.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8080";
/// Where ingest serves its metrics by default.
pub const DEFAULT_INGEST_METRICS_LISTEN: &str = "127.0.0.1:9101";
/// Where the contrast lane's ingest serves its metrics by default.
pub const DEFAULT_CONTRAST_INGEST_METRICS_LISTEN: &str = "127.0.0.1:9102";

/// What a service would parse with no flag, in this process's environment
/// (the environment a service started from here inherits).
pub fn from_environment<T: Parser>() -> Result<T, clap::Error> {
    let name = T::command().get_name().to_owned();
    T::try_parse_from([name])
}

/// Splits "127.0.0.1, 127.0.0.2" into contact points, ignoring blanks.
pub fn split_contact_points(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A Cassandra consistency level, by its CQL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    Any,
    One,
    Two,
    Three,
    Quorum,
    All,
    LocalQuorum,
    EachQuorum,
    LocalOne,
}

impl Consistency {
    /// Every level, in the order of the CQL specification.
    pub const ALL_LEVELS: [Consistency; 9] = [
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
        Consistency::LocalQuorum,
        Consistency::EachQuorum,
        Consistency::LocalOne,
    ];

    /// `QUORUM`, `LOCAL_ONE`...
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Any => "ANY",
            Consistency::One => "ONE",
            Consistency::Two => "TWO",
            Consistency::Three => "THREE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
            Consistency::LocalQuorum => "LOCAL_QUORUM",
            Consistency::EachQuorum => "EACH_QUORUM",
            Consistency::LocalOne => "LOCAL_ONE",
        }
    }
}

/// A name that is no consistency level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown consistency level {0:?} (expected ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, LOCAL_ONE)"
)]
pub struct UnknownConsistency(pub String);

/// Case-insensitive: `quorum`, `ONE`...
impl FromStr for Consistency {
    type Err = UnknownConsistency;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Consistency::ALL_LEVELS
            .into_iter()
            .find(|level| level.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownConsistency(name.to_owned()))
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where and how to reach Cassandra.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CassandraArgs {
    /// Cassandra contact points, comma-separated `host[:port]` (port 9042 by default).
    #[arg(long = "cassandra", env = "CASSANDRA_CONTACT_POINTS", default_value = DEFAULT_CONTACT_POINTS)]
    pub contact_points: String,

    /// Keyspace holding sensor_data, sensors and scenario_events.
    #[arg(long, env = "CASSANDRA_KEYSPACE", default_value = names::KEYSPACE)]
    pub keyspace: Keyspace,

    /// Upper bound of one Cassandra request, retries and speculative executions included.
    #[arg(
        long,
        env = "CASSANDRA_REQUEST_TIMEOUT_MS",
        default_value_t = 2000,
        value_name = "MS"
    )]
    pub request_timeout_ms: u64,

    /// Also send a request to another node when it is unanswered after this long
    /// (a frozen node never answers); 0 disables speculative execution.
    #[arg(
        long,
        env = "CASSANDRA_SPECULATIVE_DELAY_MS",
        default_value_t = 150,
        value_name = "MS"
    )]
    pub speculative_delay_ms: u64,
}

impl CassandraArgs {
    /// The contact points, one per element.
    pub fn contact_points(&self) -> Vec<String> {
        split_contact_points(&self.contact_points)
    }

    fn write(&self, flags: &mut Flags) {
        flags
            .value("--cassandra", &self.contact_points)
            .value("--keyspace", &self.keyspace)
            .value("--request-timeout-ms", self.request_timeout_ms)
            .value("--speculative-delay-ms", self.speculative_delay_ms);
    }
}

/// Where the readings flow.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(long = "kafka", env = "KAFKA_BOOTSTRAP", default_value = DEFAULT_KAFKA_BOOTSTRAP)]
    pub bootstrap: String,

    /// Topic of sensor readings.
    #[arg(long, env = "KAFKA_TOPIC", default_value = names::READINGS_TOPIC)]
    pub topic: String,
}

impl KafkaArgs {
    fn write(&self, flags: &mut Flags) {
        flags
            .value("--kafka", &self.bootstrap)
            .value("--topic", &self.topic);
    }
}

/// Simulate sensors and publish their readings to Kafka.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "producer", version)]
pub struct ProducerArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Number of simulated sensors.
    #[arg(long, env = "PRODUCER_SENSORS", default_value_t = 5)]
    pub sensors: usize,

    /// Readings per second of each sensor.
    #[arg(long, env = "PRODUCER_RATE", default_value_t = 1.0)]
    pub rate: f64,

    /// Seed of the simulation (baselines, drift, noise); random when absent.
    #[arg(long, env = "PRODUCER_SEED")]
    pub seed: Option<u64>,

    /// Stop after this many readings in total.
    #[arg(long, env = "PRODUCER_COUNT")]
    pub count: Option<u64>,

    /// Stop after this many seconds.
    #[arg(long, env = "PRODUCER_DURATION", value_name = "SECS")]
    pub duration: Option<f64>,

    /// Ignore --rate: send as fast as Kafka acknowledges (for benchmarks).
    #[arg(long, env = "PRODUCER_MAX_RATE")]
    pub max_rate: bool,

    /// Append every acknowledged reading to this JSON-lines file.
    #[arg(long, env = "PRODUCER_LEDGER", value_name = "FILE")]
    pub ledger: Option<PathBuf>,

    /// Sensor ids are this prefix followed by 01, 02...
    #[arg(long, env = "PRODUCER_SENSOR_PREFIX", default_value = "sensor_")]
    pub sensor_prefix: String,

    /// Most readings waiting for Kafka's acknowledgement at once.
    #[arg(long, env = "PRODUCER_MAX_IN_FLIGHT", default_value_t = 10_000)]
    pub max_in_flight: usize,

    /// At the end (or at SIGTERM), how long to keep retrying unacknowledged
    /// readings before counting them as failed.
    #[arg(
        long,
        env = "PRODUCER_DRAIN_TIMEOUT_SECS",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub drain_timeout_secs: u64,
}

impl ProducerArgs {
    /// The command line (without the program name) that parses back to `self`.
    pub fn to_args(&self) -> Vec<String> {
        let mut flags = Flags::default();
        self.kafka.write(&mut flags);
        flags
            .value("--sensors", self.sensors)
            .value("--rate", self.rate)
            .optional("--seed", self.seed)
            .optional("--count", self.count)
            .optional("--duration", self.duration)
            .switch("--max-rate", self.max_rate)
            .optional("--ledger", self.ledger.as_ref().map(|path| path.display()))
            .value("--sensor-prefix", &self.sensor_prefix)
            .value("--max-in-flight", self.max_in_flight)
            .value("--drain-timeout-secs", self.drain_timeout_secs);
        flags.0
    }
}

/// Consume sensor readings from Kafka and write them to Cassandra.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "ingest", version)]
pub struct IngestArgs {
    #[command(flatten)]
    pub cassandra: CassandraArgs,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Topic where messages that are not valid readings go, with the reason.
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = names::DLQ_TOPIC)]
    pub dlq_topic: String,

    /// Kafka consumer group (its committed offsets are ingest's progress).
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "iot-ingest")]
    pub group_id: String,

    /// Consistency of the writes (ONE, QUORUM, ALL...).
    #[arg(long, env = "INGEST_WRITE_CONSISTENCY", default_value = "QUORUM")]
    pub write_consistency: Consistency,

    /// Most messages being written or dead-lettered at once.
    #[arg(long, env = "INGEST_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,

    /// Where `GET /metrics` (Prometheus text) is served.
    #[arg(long, env = "INGEST_METRICS_LISTEN", default_value = DEFAULT_INGEST_METRICS_LISTEN)]
    pub metrics_listen: SocketAddr,

    /// Serve the metrics on the already-bound TCP listener inherited as file
    /// descriptor N instead of binding --metrics-listen (then only reported),
    /// for a parent that bound the port itself (tests, supervisors).
    #[arg(long, value_name = "N")]
    pub metrics_fd: Option<RawFd>,

    /// How often finished offsets are committed.
    #[arg(
        long,
        env = "INGEST_COMMIT_INTERVAL_MS",
        default_value_t = 500,
        value_name = "MS"
    )]
    pub commit_interval_ms: u64,

    /// At SIGTERM/SIGINT, how long to wait for in-flight writes before giving
    /// up on them (they stay uncommitted and are replayed next start).
    #[arg(
        long,
        env = "INGEST_DRAIN_TIMEOUT_SECS",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub drain_timeout_secs: u64,

    /// For the contrast lane only (a keyspace that keeps a single copy): give up a
    /// reading Cassandra still refuses after this long, count it in
    /// `ingest_given_up_total` and commit past it, so the lane shows the hole a
    /// lost PC leaves. Without it (the main path), a write is retried for ever
    /// and its offset stays uncommitted: nothing acknowledged is lost.
    /// (No environment variable: a shell that set one must never turn the main
    /// ingest into one that gives writes up.)
    #[arg(long, value_name = "MS")]
    pub give_up_after_ms: Option<u64>,

    /// For the contrast lane only: skip a message that is no valid reading
    /// (counted in `ingest_given_up_total`) instead of dead-lettering it, since
    /// the main ingest of the same topic dead-letters it already.
    #[arg(long)]
    pub no_dead_letters: bool,

    /// For the contrast lane only: a consumer group with no committed offset
    /// starts at the end of the topic, not its beginning (a visual lane need not
    /// replay days of rehearsals into Cassandra while the demo is measured).
    #[arg(long)]
    pub start_at_latest: bool,
}

impl IngestArgs {
    /// The command line (without the program name) that parses back to `self`.
    pub fn to_args(&self) -> Vec<String> {
        let mut flags = Flags::default();
        self.cassandra.write(&mut flags);
        self.kafka.write(&mut flags);
        flags
            .value("--dlq-topic", &self.dlq_topic)
            .value("--group-id", &self.group_id)
            .value("--write-consistency", self.write_consistency)
            .value("--max-in-flight", self.max_in_flight)
            .value("--metrics-listen", self.metrics_listen)
            .optional("--metrics-fd", self.metrics_fd)
            .value("--commit-interval-ms", self.commit_interval_ms)
            .value("--drain-timeout-secs", self.drain_timeout_secs)
            .optional("--give-up-after-ms", self.give_up_after_ms)
            .switch("--no-dead-letters", self.no_dead_letters)
            .switch("--start-at-latest", self.start_at_latest);
        flags.0
    }
}

/// Serve the sensors' data and the dashboard over HTTP.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(name = "api", version)]
pub struct ApiArgs {
    #[command(flatten)]
    pub cassandra: CassandraArgs,

    /// Address and port to listen on.
    #[arg(long, env = "API_LISTEN", default_value = DEFAULT_API_LISTEN)]
    pub listen: SocketAddr,

    /// Serve on the already-bound TCP listener inherited as file descriptor N
    /// instead of binding --listen (then only reported), for a parent that
    /// bound the port itself (tests, supervisors).
    #[arg(long, value_name = "N")]
    pub listen_fd: Option<RawFd>,

    /// Directory served at `/` (the dashboard); default: the checkout's web/.
    #[arg(long, env = "WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    /// Consistency of the reads (ONE, QUORUM, ALL...).
    #[arg(long, env = "API_READ_CONSISTENCY", default_value = "QUORUM")]
    pub read_consistency: Consistency,

    /// When a read fails at the configured consistency, retry it at ONE and
    /// flag the answer with `X-Read-Consistency: ONE`.
    #[arg(long, env = "API_FALLBACK_TO_ONE")]
    pub fallback_to_one: bool,

    /// Longest time an HTTP request may take before a 503.
    #[arg(
        long,
        env = "API_HTTP_TIMEOUT_MS",
        default_value_t = 5000,
        value_name = "MS"
    )]
    pub http_timeout_ms: u64,

    /// Origins allowed to call the API from a browser (CORS), comma-separated,
    /// or `*`; none by default (the dashboard is served from the same origin).
    #[arg(long, env = "API_CORS_ALLOW_ORIGINS", value_delimiter = ',')]
    pub cors_allow_origin: Vec<String>,

    /// Names of the Cassandra nodes in contact-point order, comma-separated
    /// (default PC1, PC2, ...).
    #[arg(long, env = "API_NODE_NAMES", value_delimiter = ',')]
    pub node_names: Vec<String>,

    /// Also serve `/rf1/...`: the same readings from this keyspace (the contrast
    /// lane, replication factor 1, read at ONE); without it `/rf1/` answers 404.
    #[arg(long, env = "API_CONTRAST_KEYSPACE", value_name = "KEYSPACE")]
    pub contrast_keyspace: Option<Keyspace>,
}

impl ApiArgs {
    /// The command line (without the program name) that parses back to `self`.
    pub fn to_args(&self) -> Vec<String> {
        let mut flags = Flags::default();
        self.cassandra.write(&mut flags);
        flags
            .value("--listen", self.listen)
            .optional("--listen-fd", self.listen_fd)
            .optional(
                "--web-dir",
                self.web_dir.as_ref().map(|path| path.display()),
            )
            .value("--read-consistency", self.read_consistency)
            .switch("--fallback-to-one", self.fallback_to_one)
            .value("--http-timeout-ms", self.http_timeout_ms)
            .list("--cors-allow-origin", &self.cors_allow_origin)
            .list("--node-names", &self.node_names)
            .optional("--contrast-keyspace", self.contrast_keyspace.as_ref());
        flags.0
    }
}

/// A command line being written, flag by flag.
#[derive(Default)]
struct Flags(Vec<String>);

impl Flags {
    fn value(&mut self, flag: &str, value: impl fmt::Display) -> &mut Self {
        // `--flag=value`: a value starting with `-` stays a value.
        self.0.push(format!("{flag}={value}"));
        self
    }

    fn optional(&mut self, flag: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(value) = value {
            self.value(flag, value);
        }
        self
    }

    fn switch(&mut self, flag: &str, on: bool) -> &mut Self {
        if on {
            self.0.push(flag.to_owned());
        }
        self
    }

    fn list(&mut self, flag: &str, values: &[String]) -> &mut Self {
        if !values.is_empty() {
            self.value(flag, values.join(","));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn reparsed<T: Parser>(args: Vec<String>) -> T {
        let name = T::command().get_name().to_owned();
        T::try_parse_from(std::iter::once(name).chain(args.iter().cloned()))
            .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"))
    }

    fn cassandra() -> CassandraArgs {
        CassandraArgs {
            contact_points: "10.0.0.1:9043,10.0.0.2".into(),
            keyspace: Keyspace::new("iot_demo_rf1").unwrap(),
            request_timeout_ms: 750,
            speculative_delay_ms: 0,
        }
    }

    fn kafka() -> KafkaArgs {
        KafkaArgs {
            bootstrap: "10.0.0.4:19092".into(),
            topic: "-odd-topic".into(),
        }
    }

    #[test]
    fn commands_are_well_formed() {
        ProducerArgs::command().debug_assert();
        IngestArgs::command().debug_assert();
        ApiArgs::command().debug_assert();
    }

    #[test]
    fn producer_round_trip() {
        let defaults: ProducerArgs = from_environment().unwrap();
        assert_eq!(reparsed::<ProducerArgs>(defaults.to_args()), defaults);
        let chosen = ProducerArgs {
            kafka: kafka(),
            sensors: 12,
            rate: 0.3,
            seed: Some(42),
            count: Some(1000),
            duration: Some(2.5),
            max_rate: true,
            ledger: Some(PathBuf::from("/tmp/run 1/ledger.jsonl")),
            sensor_prefix: "t_".into(),
            max_in_flight: 7,
            drain_timeout_secs: 3,
        };
        assert_eq!(reparsed::<ProducerArgs>(chosen.to_args()), chosen);
    }

    #[test]
    fn ingest_round_trip() {
        let defaults: IngestArgs = from_environment().unwrap();
        assert_eq!(reparsed::<IngestArgs>(defaults.to_args()), defaults);
        let chosen = IngestArgs {
            cassandra: cassandra(),
            kafka: kafka(),
            dlq_topic: "dlq-test".into(),
            group_id: "group-test".into(),
            write_consistency: Consistency::LocalQuorum,
            max_in_flight: 3,
            metrics_listen: "127.0.0.1:0".parse().unwrap(),
            metrics_fd: Some(3),
            commit_interval_ms: 20,
            drain_timeout_secs: 1,
            give_up_after_ms: Some(750),
            no_dead_letters: true,
            start_at_latest: true,
        };
        assert_eq!(reparsed::<IngestArgs>(chosen.to_args()), chosen);
    }

    #[test]
    fn api_round_trip() {
        let defaults: ApiArgs = from_environment().unwrap();
        assert_eq!(reparsed::<ApiArgs>(defaults.to_args()), defaults);
        let chosen = ApiArgs {
            cassandra: cassandra(),
            listen: "[::1]:18080".parse().unwrap(),
            listen_fd: Some(4),
            web_dir: Some(PathBuf::from("/srv/web")),
            read_consistency: Consistency::One,
            fallback_to_one: true,
            http_timeout_ms: 900,
            cors_allow_origin: vec!["http://a.test".into(), "*".into()],
            node_names: vec!["alpha".into(), "beta".into(), "gamma".into()],
            contrast_keyspace: Some(Keyspace::new("iot_demo_rf1").unwrap()),
        };
        assert_eq!(reparsed::<ApiArgs>(chosen.to_args()), chosen);
    }

    #[test]
    fn documented_defaults() {
        let api = ApiArgs::try_parse_from(["api"]).unwrap();
        assert_eq!(api.listen.to_string(), DEFAULT_API_LISTEN);
        assert_eq!(api.read_consistency, Consistency::Quorum);
        assert_eq!(api.cassandra.keyspace.as_str(), names::KEYSPACE);
        assert_eq!(
            api.cassandra.contact_points(),
            ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        );
        let ingest = IngestArgs::try_parse_from(["ingest"]).unwrap();
        assert_eq!(ingest.kafka.topic, names::READINGS_TOPIC);
        assert_eq!(ingest.dlq_topic, names::DLQ_TOPIC);
        assert_eq!(ingest.metrics_fd, None);
    }

    #[test]
    fn bad_values_are_refused_by_the_parser() {
        assert!(ApiArgs::try_parse_from(["api", "--keyspace", "1abc"]).is_err());
        assert!(ApiArgs::try_parse_from(["api", "--read-consistency", "most"]).is_err());
        assert!(IngestArgs::try_parse_from(["ingest", "--metrics-fd", "x"]).is_err());
    }

    #[test]
    fn consistency_names() {
        assert_eq!("quorum".parse(), Ok(Consistency::Quorum));
        assert_eq!("LOCAL_ONE".parse(), Ok(Consistency::LocalOne));
        assert!("most".parse::<Consistency>().is_err());
        for level in Consistency::ALL_LEVELS {
            assert_eq!(level.to_string().parse(), Ok(level));
            assert_eq!(level.to_string().to_lowercase().parse(), Ok(level));
        }
    }

    #[test]
    fn contact_point_list_is_split_and_trimmed() {
        assert_eq!(
            split_contact_points(" 127.0.0.1, 127.0.0.2,,127.0.0.3 "),
            vec!["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        );
    }
}
