//! A Kafka broker of the demonstration: one KRaft node, and its topics.
//!
//! Two brokers are run this way, each in a directory of its own (a [`BrokerSite`]):
//! the loopback lab's on 127.0.0.1:9092, and the app PC's at `[app].kafka_bootstrap`,
//! which `demo provision` starts for the PCs. Like Cassandra, Kafka comes from Maven as
//! jars only, so this writes its `server.properties`, a log4j2 configuration and small
//! start/stop scripts, formats the storage once, then creates the demo's topics and
//! proves the broker takes a produce and serves a fetch before calling it ready.
//! A scenario's `restart-kafka` crashes one and starts it again ([`crash_and_restart`]).

use std::time::Duration;

use contract::names::{DLQ_TOPIC, READINGS_TOPIC};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use std::path::PathBuf;

use super::layout::{KAFKA_ADDRESS, KAFKA_CONTROLLER_PORT, KAFKA_HEAP_MB, KAFKA_PORT, Layout};
use super::process::{Java, LabProcess};
use super::ready;
use super::{LabError, run_script, write_file};
use crate::progress::Progress;

pub const READINGS_PARTITIONS: i32 = 6;
const PROBE_TOPIC: &str = "lab-probe";
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Command-line tools of the Kafka distribution, as scripts on `lab env`'s PATH.
const TOOLS: &[(&str, &str)] = &[
    ("kafka-topics", "org.apache.kafka.tools.TopicCommand"),
    (
        "kafka-console-producer",
        "org.apache.kafka.tools.ConsoleProducer",
    ),
    (
        "kafka-console-consumer",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
    ),
    (
        "kafka-consumer-groups",
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    ),
    ("kafka-storage", "kafka.tools.StorageTool"),
];

/// Where one broker lives and listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSite {
    /// Its own directory: server.properties, data/, logs/, bin/, the pid file.
    pub dir: PathBuf,
    /// The Kafka distribution (its `lib/`).
    pub home: PathBuf,
    pub address: String,
    pub port: u16,
    pub controller_port: u16,
    /// Who wrote its files, for their first line.
    pub written_by: &'static str,
}

impl BrokerSite {
    /// The loopback lab's broker, 127.0.0.1:9092 in `.lab/kafka`.
    pub fn lab(layout: &Layout) -> BrokerSite {
        BrokerSite {
            dir: layout.kafka_dir(),
            home: layout.kafka_home(),
            address: KAFKA_ADDRESS.to_string(),
            port: KAFKA_PORT,
            controller_port: KAFKA_CONTROLLER_PORT,
            written_by: "`demo lab up`",
        }
    }

    /// The app PC's broker for the PCs, at `address:port`, in `.lab/app-kafka`.
    pub fn app(layout: &Layout, address: &str, port: u16) -> BrokerSite {
        BrokerSite {
            dir: app_dir(layout),
            home: layout.kafka_home(),
            address: address.to_string(),
            port,
            // The controller listens next to the broker, as in the lab (9092 → 9093).
            controller_port: port.saturating_add(1),
            written_by: "`demo provision`",
        }
    }

    /// The app PC's broker at the first endpoint of a bootstrap list such as
    /// `[app].kafka_bootstrap` ("10.77.0.4:9092"), if it reads as host:port.
    pub fn app_at(layout: &Layout, bootstrap: &str) -> Option<BrokerSite> {
        let first = bootstrap.split(',').next()?.trim();
        let (host, port) = first.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        Some(BrokerSite::app(layout, host, port))
    }

    pub fn bootstrap(&self) -> String {
        format!("{}:{}", self.address, self.port)
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("kafka.pid")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("logs/server.log")
    }

    pub fn script(&self, verb: &str) -> PathBuf {
        self.dir.join("bin").join(verb)
    }

    /// The broker as a process the lab stops by its pid file.
    pub fn process(&self, name: &str) -> LabProcess {
        LabProcess {
            name: name.to_string(),
            pid_file: self.pid_file(),
            marker: self.dir.join("server.properties"),
            stop_script: self.script("stop"),
            ports: vec![
                (self.address.clone(), self.port),
                (self.address.clone(), self.controller_port),
            ],
        }
    }

    /// Every file of the broker, as (path, text, executable).
    pub fn files(&self, java: &Java) -> Vec<(PathBuf, String, bool)> {
        vec![
            (
                self.dir.join("server.properties"),
                server_properties(self),
                false,
            ),
            (
                self.dir.join("log4j2.properties"),
                LOG4J2.to_string(),
                false,
            ),
            (
                self.dir.join("tools-log4j2.properties"),
                TOOLS_LOG4J2.to_string(),
                false,
            ),
            (self.script("start"), start_script(self, java), true),
            (self.script("stop"), stop_script(self), true),
        ]
    }
}

/// Where the app PC's broker lives (`demo provision` starts it, `lab down` stops it).
fn app_dir(layout: &Layout) -> PathBuf {
    layout.lab.join("app-kafka")
}

/// The app PC's broker as a process to stop, whatever address it listens on.
pub fn app_process(layout: &Layout) -> LabProcess {
    let dir = app_dir(layout);
    LabProcess {
        name: "Kafka of the app PC".to_string(),
        pid_file: dir.join("kafka.pid"),
        marker: dir.join("server.properties"),
        stop_script: dir.join("bin/stop"),
        ports: Vec::new(),
    }
}

/// Writes the broker's directories and files.
pub fn write_site(site: &BrokerSite, java: &Java) -> Result<(), LabError> {
    for path in [
        site.dir.join("data"),
        site.dir.join("logs"),
        site.dir.join("bin"),
    ] {
        std::fs::create_dir_all(&path)
            .map_err(LabError::io(format!("creating {}", path.display())))?;
    }
    for (path, text, executable) in site.files(java) {
        write_file(&path, &text, executable)?;
    }
    Ok(())
}

/// The lab's broker files, and the Kafka tools on `lab env`'s PATH.
pub fn write_files(layout: &Layout, java: &Java) -> Result<(), LabError> {
    let site = BrokerSite::lab(layout);
    write_site(&site, java)?;
    let dir = site.dir;
    let home = site.home;
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).map_err(LabError::io(format!("creating {}", bin.display())))?;
    for (tool, class) in TOOLS {
        let script = format!(
            "#!/bin/sh\nexec '{java}' -Xmx256m -Dlog4j2.configurationFile='{log4j}' -cp '{lib}/*' {class} \"$@\"\n",
            java = java.binary.display(),
            log4j = dir.join("tools-log4j2.properties").display(),
            lib = home.join("lib").display(),
        );
        write_file(&home.join("bin").join(tool), &script, true)?;
    }
    Ok(())
}

/// KRaft storage must be formatted exactly once; `meta.properties` says it was.
pub async fn format_storage_once(site: &BrokerSite, java: &Java) -> Result<(), LabError> {
    let data = site.dir.join("data");
    if data.join("meta.properties").exists() {
        return Ok(());
    }
    let classpath = format!("{}/lib/*", site.home.display());
    let log4j = format!(
        "-Dlog4j2.configurationFile={}",
        site.dir.join("tools-log4j2.properties").display()
    );
    let uuid = run_java(
        java,
        &classpath,
        &log4j,
        &["kafka.tools.StorageTool", "random-uuid"],
    )
    .await?;
    let uuid = uuid.trim().to_string();
    let config = site.dir.join("server.properties");
    run_java(
        java,
        &classpath,
        &log4j,
        &[
            "kafka.tools.StorageTool",
            "format",
            "-t",
            &uuid,
            "-c",
            &config.to_string_lossy(),
        ],
    )
    .await?;
    Ok(())
}

async fn run_java(
    java: &Java,
    classpath: &str,
    log4j: &str,
    args: &[&str],
) -> Result<String, LabError> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&java.binary)
            .arg("-Xmx256m")
            .arg(log4j)
            .arg("-cp")
            .arg(classpath)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| LabError::Kafka(format!("`{}` did not finish within 60 s", args.join(" "))))?
    .map_err(LabError::io("running Kafka's storage tool"))?;
    if !output.status.success() {
        return Err(LabError::Kafka(format!(
            "`{}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Starts the broker (a no-op when it runs) and waits for its port.
pub async fn start(site: &BrokerSite, progress: &dyn Progress) -> Result<(), LabError> {
    run_script(&site.script("start"), LabError::Kafka).await?;
    ready::wait_for_port(
        "Kafka",
        &site.address,
        site.port,
        START_TIMEOUT,
        &site.log(),
        progress,
    )
    .await
}

/// What [`crash_and_restart`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerRestart {
    /// The broker's pid when it was killed.
    pub pid: i32,
    /// From the kill to the start command.
    pub down: Duration,
    /// From the kill until the broker served the demo's topics again.
    pub answering_after: Duration,
}

/// How long a SIGKILLed broker may take to disappear.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Crashes the broker (SIGKILL: no controlled shutdown, as a power cut), leaves it
/// away for `down`, starts it again with its own start script and waits, at most
/// `timeout`, until it accepts connections and serves the demo's topics (each
/// partition with a leader). Once killed, it is started again whatever happens:
/// on a failure here, and when the caller gives up (the future dropped, Ctrl-C).
pub async fn crash_and_restart(
    site: &BrokerSite,
    down: Duration,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<BrokerRestart, LabError> {
    let process = site.process("Kafka");
    let pid = process.live_pid().ok_or_else(|| {
        LabError::Kafka(format!(
            "the broker at {} is not running (no live pid in {})",
            site.bootstrap(),
            site.pid_file().display()
        ))
    })?;
    let mut restarter = StartOnDrop(Some(site.script("start")));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let killed = std::time::Instant::now();
    let gone = crate::wait::until(KILL_TIMEOUT, Duration::from_millis(50), || async {
        match process.live_pid() {
            None => std::ops::ControlFlow::Break(()),
            Some(_) => std::ops::ControlFlow::Continue(()),
        }
    })
    .await;
    if gone.is_err() {
        return Err(LabError::Kafka(format!(
            "the broker (pid {pid}) still runs {}s after SIGKILL",
            KILL_TIMEOUT.as_secs()
        )));
    }
    progress.waiting(&format!(
        "Kafka killed (pid {pid}); away for {:.1} s",
        down.as_secs_f64()
    ));
    tokio::time::sleep(down.saturating_sub(killed.elapsed())).await;
    let down = killed.elapsed();
    let back = tokio::time::timeout(timeout, async {
        start(site, progress).await?;
        wait_serving_topics(&site.bootstrap(), timeout, progress).await
    })
    .await;
    match back {
        Ok(Ok(())) => {
            restarter.disarm();
            Ok(BrokerRestart {
                pid,
                down,
                answering_after: killed.elapsed(),
            })
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(LabError::NotReady {
            what: format!("Kafka ({}) after its restart", site.bootstrap()),
            timeout,
            log_tail: Some((site.log(), ready::tail(&site.log(), 30))),
        }),
    }
}

/// Runs the broker's start script when dropped (unless disarmed): the broker a
/// restart killed is never left away. The script returns once Java is launched,
/// and is a no-op when the broker runs.
struct StartOnDrop(Option<PathBuf>);

impl StartOnDrop {
    /// The broker is back: nothing to do when dropped.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        let Some(script) = self.0.take() else {
            return;
        };
        let _ = std::process::Command::new(script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Waits until the broker at `bootstrap` serves the demo's topics, as the
/// services need them: both exist and every partition has a leader.
async fn wait_serving_topics(
    bootstrap: &str,
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    let served = crate::wait::until(timeout, Duration::from_millis(250), || async {
        let bootstrap = bootstrap.to_owned();
        let seen = tokio::task::spawn_blocking(move || topics_served(&bootstrap))
            .await
            .unwrap_or_else(|error| Err(error.to_string()));
        match seen {
            Ok(()) => std::ops::ControlFlow::Break(()),
            Err(why) => {
                progress.waiting(&format!("Kafka topics: {why}"));
                std::ops::ControlFlow::Continue(why)
            }
        }
    })
    .await;
    served.map_err(|timed_out| {
        LabError::Kafka(format!(
            "the broker at {bootstrap} did not serve the demo's topics within {}s: {}",
            timeout.as_secs(),
            timed_out
                .last
                .unwrap_or_else(|| "no metadata answer".into())
        ))
    })
}

/// One metadata request: `Ok` when both demo topics exist and each partition has a leader.
fn topics_served(bootstrap: &str) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| format!("client: {e}"))?;
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(2))
        .map_err(|e| format!("metadata: {e}"))?;
    for (topic, partitions) in [(READINGS_TOPIC, READINGS_PARTITIONS), (DLQ_TOPIC, 1)] {
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(format!("{topic} does not exist"));
        };
        if let Some(error) = found.error() {
            return Err(format!("{topic}: {error:?}"));
        }
        let led = found
            .partitions()
            .iter()
            .filter(|partition| partition.leader() >= 0 && partition.error().is_none())
            .count();
        if led < usize::try_from(partitions).unwrap_or(usize::MAX) {
            return Err(format!(
                "{topic}: {led} of {partitions} partitions have a leader"
            ));
        }
    }
    Ok(())
}

/// Creates the demo's topics (idempotent) and round-trips one message.
pub async fn create_topics_and_probe(bootstrap: &str) -> Result<(), LabError> {
    create_topics(bootstrap).await?;
    probe_round_trip(bootstrap).await
}

/// Creates the demo's topics unless they exist.
pub async fn create_topics(bootstrap: &str) -> Result<(), LabError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| LabError::Kafka(format!("admin client: {e}")))?;
    let topics = [
        NewTopic::new(
            READINGS_TOPIC,
            READINGS_PARTITIONS,
            TopicReplication::Fixed(1),
        ),
        NewTopic::new(DLQ_TOPIC, 1, TopicReplication::Fixed(1)),
        NewTopic::new(PROBE_TOPIC, 1, TopicReplication::Fixed(1)),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = tokio::time::timeout(
        Duration::from_secs(60),
        admin.create_topics(&topics, &options),
    )
    .await
    .map_err(|_| LabError::Kafka("creating topics did not finish within 60 s".into()))?
    .map_err(|e| LabError::Kafka(format!("creating topics: {e}")))?;
    for result in results {
        if let Err((topic, code)) = result
            && code != RDKafkaErrorCode::TopicAlreadyExists
        {
            return Err(LabError::Kafka(format!("creating topic {topic}: {code}")));
        }
    }
    Ok(())
}

/// Produces one message to the probe topic and fetches it back.
async fn probe_round_trip(bootstrap: &str) -> Result<(), LabError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .map_err(|e| LabError::Kafka(format!("producer: {e}")))?;
    let payload = format!("probe {}", chrono::Utc::now().to_rfc3339());
    let delivery = producer
        .send(
            FutureRecord::<(), _>::to(PROBE_TOPIC).payload(&payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| LabError::Kafka(format!("produce to {PROBE_TOPIC}: {e}")))?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "lab-probe")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| LabError::Kafka(format!("consumer: {e}")))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment
        .add_partition_offset(
            PROBE_TOPIC,
            delivery.partition,
            rdkafka::Offset::Offset(delivery.offset),
        )
        .map_err(|e| LabError::Kafka(format!("assign: {e}")))?;
    consumer
        .assign(&assignment)
        .map_err(|e| LabError::Kafka(format!("assign: {e}")))?;
    let fetched = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(500))
                && message.payload() == Some(payload.as_bytes())
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if fetched {
        Ok(())
    } else {
        Err(LabError::Kafka(format!(
            "the probe message produced to {PROBE_TOPIC} could not be fetched back within 30 s"
        )))
    }
}

fn server_properties(site: &BrokerSite) -> String {
    let (address, port, controller) = (&site.address, site.port, site.controller_port);
    format!(
        "# Kafka broker: one KRaft node (broker + controller). Written by {written_by}.\n\
process.roles=broker,controller\n\
node.id=1\n\
controller.quorum.voters=1@{address}:{controller}\n\
listeners=PLAINTEXT://{address}:{port},CONTROLLER://{address}:{controller}\n\
advertised.listeners=PLAINTEXT://{address}:{port}\n\
controller.listener.names=CONTROLLER\n\
inter.broker.listener.name=PLAINTEXT\n\
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
log.dirs={data}\n\
num.partitions={READINGS_PARTITIONS}\n\
# The demo's topics are created explicitly; a typo must not create a new one.\n\
auto.create.topics.enable=false\n\
offsets.topic.replication.factor=1\n\
offsets.topic.num.partitions=6\n\
transaction.state.log.replication.factor=1\n\
transaction.state.log.min.isr=1\n\
share.coordinator.state.topic.replication.factor=1\n\
share.coordinator.state.topic.min.isr=1\n\
group.initial.rebalance.delay.ms=0\n\
log.retention.hours=48\n\
log.segment.bytes=67108864\n",
        data = site.dir.join("data").display(),
        written_by = site.written_by,
    )
}

const LOG4J2: &str = "# Lab Kafka logging: logs/server.log, warnings only for the noisy parts.\n\
status = warn\n\
appender.file.type = File\n\
appender.file.name = FILE\n\
appender.file.fileName = ${sys:kafka.logs.dir:-.}/server.log\n\
appender.file.layout.type = PatternLayout\n\
appender.file.layout.pattern = [%d] %p %m (%c)%n\n\
rootLogger.level = info\n\
rootLogger.appenderRef.file.ref = FILE\n\
logger.kafka.name = kafka\n\
logger.kafka.level = info\n\
logger.apache.name = org.apache.kafka\n\
logger.apache.level = warn\n";

/// The command-line tools log warnings to stderr, never a file in the caller's directory.
const TOOLS_LOG4J2: &str = "status = warn\n\
appender.err.type = Console\n\
appender.err.name = STDERR\n\
appender.err.target = SYSTEM_ERR\n\
appender.err.layout.type = PatternLayout\n\
appender.err.layout.pattern = %p %m%n\n\
rootLogger.level = warn\n\
rootLogger.appenderRef.err.ref = STDERR\n";

fn start_script(site: &BrokerSite, java: &Java) -> String {
    let dir = &site.dir;
    format!(
        "#!/bin/bash\n# Starts the Kafka broker in the background unless it runs.\n\
DIR='{dir}'\n\
pid=$(cat \"$DIR/kafka.pid\" 2>/dev/null)\n\
if [ -n \"$pid\" ] && grep -qa \"$DIR/server.properties\" \"/proc/$pid/cmdline\" 2>/dev/null; then\n  echo \"Kafka already running (pid $pid)\"; exit 0\nfi\n\
cd \"$DIR\" || exit 1\n\
{close_fds}\
setsid '{java}' -Xms{heap_min}m -Xmx{heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
-Dkafka.logs.dir='{dir}/logs' -Dlog4j2.configurationFile='{dir}/log4j2.properties' \
-cp '{lib}/*' kafka.Kafka '{dir}/server.properties' >> '{dir}/logs/stdout.log' 2>&1 < /dev/null &\n\
echo $! > \"$DIR/kafka.pid\"\n\
echo \"Kafka started (pid $!)\"\n",
        dir = dir.display(),
        close_fds = crate::node_config::CLOSE_INHERITED_FDS,
        java = java.binary.display(),
        heap_min = KAFKA_HEAP_MB / 2,
        heap = KAFKA_HEAP_MB,
        lib = site.home.join("lib").display(),
    )
}

fn stop_script(site: &BrokerSite) -> String {
    format!(
        "#!/bin/sh\n# Stops the Kafka broker: SIGTERM (controlled shutdown), SIGKILL after 60 s.\n\
DIR='{dir}'\n\
pid=$(cat \"$DIR/kafka.pid\" 2>/dev/null)\n\
alive() {{ [ -n \"$pid\" ] && grep -qa \"$DIR/server.properties\" \"/proc/$pid/cmdline\" 2>/dev/null \
&& [ \"$(awk '{{print $3}}' \"/proc/$pid/stat\" 2>/dev/null)\" != Z ]; }}\n\
if ! alive; then echo \"Kafka is not running\"; rm -f \"$DIR/kafka.pid\"; exit 0; fi\n\
kill -CONT \"$pid\"; kill -TERM \"$pid\"\n\
i=0\n\
while alive; do\n  i=$((i + 1))\n  if [ \"$i\" -ge 300 ]; then kill -KILL \"$pid\" 2>/dev/null; fi\n  if [ \"$i\" -ge 350 ]; then echo \"Kafka (pid $pid) would not stop\" >&2; exit 1; fi\n  sleep 0.2\ndone\n\
rm -f \"$DIR/kafka.pid\"\necho \"Kafka stopped\"\n",
        dir = site.dir.display(),
    )
}
