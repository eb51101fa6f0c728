//! The lab's Kafka broker: one KRaft node on 127.0.0.1:9092, and its topics.
//!
//! Like Cassandra, Kafka comes from Maven as jars only, so the lab writes its
//! `server.properties`, a log4j2 configuration and small start/stop scripts,
//! formats the storage once, then creates the demo's topics and proves the
//! broker takes a produce and serves a fetch before calling it ready.

use std::time::Duration;

use contract::names::{DLQ_TOPIC, READINGS_TOPIC};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use super::layout::{
    KAFKA_ADDRESS, KAFKA_BOOTSTRAP, KAFKA_CONTROLLER_PORT, KAFKA_HEAP_MB, KAFKA_PORT, Layout,
};
use super::process::Java;
use super::ready;
use super::{LabError, write_file};

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

pub fn write_files(layout: &Layout, java: &Java) -> Result<(), LabError> {
    let dir = layout.kafka_dir();
    let home = layout.kafka_home();
    for path in [
        dir.join("data"),
        dir.join("logs"),
        dir.join("bin"),
        home.join("bin"),
    ] {
        std::fs::create_dir_all(&path)
            .map_err(LabError::io(format!("creating {}", path.display())))?;
    }
    write_file(
        &dir.join("server.properties"),
        &server_properties(layout),
        false,
    )?;
    write_file(&dir.join("log4j2.properties"), LOG4J2, false)?;
    write_file(&dir.join("tools-log4j2.properties"), TOOLS_LOG4J2, false)?;
    write_file(
        &layout.kafka_script("start"),
        &start_script(layout, java),
        true,
    )?;
    write_file(&layout.kafka_script("stop"), &stop_script(layout), true)?;
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
pub async fn format_storage_once(layout: &Layout, java: &Java) -> Result<(), LabError> {
    let data = layout.kafka_dir().join("data");
    if data.join("meta.properties").exists() {
        return Ok(());
    }
    let classpath = format!("{}/lib/*", layout.kafka_home().display());
    let log4j = format!(
        "-Dlog4j2.configurationFile={}",
        layout.kafka_dir().join("tools-log4j2.properties").display()
    );
    let uuid = run_java(
        java,
        &classpath,
        &log4j,
        &["kafka.tools.StorageTool", "random-uuid"],
    )
    .await?;
    let uuid = uuid.trim().to_string();
    let config = layout.kafka_dir().join("server.properties");
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
pub async fn start(layout: &Layout) -> Result<(), LabError> {
    let script = layout.kafka_script("start");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(&script).output(),
    )
    .await
    .map_err(|_| LabError::Kafka(format!("{} did not return within 30 s", script.display())))?
    .map_err(LabError::io(format!("running {}", script.display())))?;
    if !output.status.success() {
        return Err(LabError::Kafka(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    ready::wait_for_port(
        "Kafka",
        KAFKA_ADDRESS,
        KAFKA_PORT,
        START_TIMEOUT,
        &layout.kafka_log(),
    )
    .await
}

/// Creates the demo's topics (idempotent) and round-trips one message.
pub async fn create_topics_and_probe(_layout: &Layout) -> Result<(), LabError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", KAFKA_BOOTSTRAP)
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
    probe_round_trip().await
}

/// Produces one message to the probe topic and fetches it back.
async fn probe_round_trip() -> Result<(), LabError> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA_BOOTSTRAP)
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
        .set("bootstrap.servers", KAFKA_BOOTSTRAP)
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

fn server_properties(layout: &Layout) -> String {
    format!(
        "# Lab Kafka broker: one KRaft node (broker + controller). Written by `demo lab up`.\n\
process.roles=broker,controller\n\
node.id=1\n\
controller.quorum.voters=1@{KAFKA_ADDRESS}:{KAFKA_CONTROLLER_PORT}\n\
listeners=PLAINTEXT://{KAFKA_ADDRESS}:{KAFKA_PORT},CONTROLLER://{KAFKA_ADDRESS}:{KAFKA_CONTROLLER_PORT}\n\
advertised.listeners=PLAINTEXT://{KAFKA_ADDRESS}:{KAFKA_PORT}\n\
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
        data = layout.kafka_dir().join("data").display(),
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

fn start_script(layout: &Layout, java: &Java) -> String {
    let dir = layout.kafka_dir();
    format!(
        "#!/bin/bash\n# Starts the lab's Kafka broker in the background unless it runs.\n\
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
        close_fds = super::cassandra::CLOSE_INHERITED_FDS,
        java = java.binary.display(),
        heap_min = KAFKA_HEAP_MB / 2,
        heap = KAFKA_HEAP_MB,
        lib = layout.kafka_home().join("lib").display(),
    )
}

fn stop_script(layout: &Layout) -> String {
    format!(
        "#!/bin/sh\n# Stops the lab's Kafka broker: SIGTERM (controlled shutdown), SIGKILL after 60 s.\n\
DIR='{dir}'\n\
pid=$(cat \"$DIR/kafka.pid\" 2>/dev/null)\n\
alive() {{ [ -n \"$pid\" ] && grep -qa \"$DIR/server.properties\" \"/proc/$pid/cmdline\" 2>/dev/null \
&& [ \"$(awk '{{print $3}}' \"/proc/$pid/stat\" 2>/dev/null)\" != Z ]; }}\n\
if ! alive; then echo \"Kafka is not running\"; rm -f \"$DIR/kafka.pid\"; exit 0; fi\n\
kill -CONT \"$pid\"; kill -TERM \"$pid\"\n\
i=0\n\
while alive; do\n  i=$((i + 1))\n  if [ \"$i\" -ge 300 ]; then kill -KILL \"$pid\" 2>/dev/null; fi\n  if [ \"$i\" -ge 350 ]; then echo \"Kafka (pid $pid) would not stop\" >&2; exit 1; fi\n  sleep 0.2\ndone\n\
rm -f \"$DIR/kafka.pid\"\necho \"Kafka stopped\"\n",
        dir = layout.kafka_dir().display(),
    )
}
