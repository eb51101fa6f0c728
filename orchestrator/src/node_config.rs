//! The files that make a Cassandra node, written the same way for the lab and for the PCs.
//!
//! Maven serves `cassandra-all` but not Cassandra's start scripts, so the conductor
//! writes its own: a `cassandra.yaml`, `logback.xml` and `cassandra-rackdc.properties`
//! per node, the JVM options Cassandra 5 needs on Java 11/17, and one small shell script
//! per action (`bin/start`, `stop`, `kill`, `freeze`, `thaw`, and on the PCs `isolate`
//! and `heal`). The lab (`lab::cassandra`) writes them on this machine and `demo
//! provision` on each PC over SSH; both describe a node as a [`NodeConfig`] and get
//! the text from here, so a rehearsal on the lab runs the very scripts of demo day.
//!
//! Pure text: nothing here touches a file.

use std::path::{Path, PathBuf};

/// CQL's port on every node.
pub const CQL_PORT: u16 = 9042;
/// Gossip and replication between nodes.
pub const STORAGE_PORT: u16 = 7000;
/// JMX (nodetool) on a PC.
pub const JMX_PORT: u16 = 7199;
/// The datacenter and rack every node is in: SimpleSnitch's own names, so a node
/// agrees with any node that ever ran with the default snitch.
const DATACENTER: &str = "datacenter1";
const RACK: &str = "rack1";

/// Module exports and opens that Cassandra 5 needs on Java 17 (from its
/// `jvm17-server.options`, all valid on Java 11 too); nodetool needs the same to load
/// Cassandra's classes.
const JAVA_MODULE_OPTIONS: &[&str] = &[
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.math=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
];

/// How a node gets its place in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// One fixed token and no bootstrap: every lab node can start at once (the lab
    /// always has exactly its three nodes).
    Fixed(i64),
    /// Cassandra's own allocation (16 vnodes, balanced for schema.cql's replication
    /// factor) with bootstrap: a PC joins a running cluster and streams its share of the
    /// data, however many PCs there are.
    Allocated,
}

/// The keyspace's replication factor as schema.cql creates it (the brief's 3), which the
/// token allocator balances for. Not hosts.toml's: a hosts.toml listing two PCs while the
/// third is not ready must say 2 there, and when the third is added the running PCs'
/// configuration must not change (the allocator only matters when a node first joins).
const SCHEMA_REPLICATION_FACTOR: u32 = 3;

/// Where nodetool reaches the node's JMX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jmx {
    /// On 127.0.0.1 only, at this port (the lab: one port per node on one machine).
    Local(u16),
    /// On every address of the PC at this port, without authentication, so that the
    /// other PCs (and preflight) can reach it as on a real demonstration network.
    Remote(u16),
}

impl Jmx {
    fn port(self) -> u16 {
        match self {
            Jmx::Local(port) | Jmx::Remote(port) => port,
        }
    }
}

/// Everything that distinguishes one node's files.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// "PC2": how the scripts name the node.
    pub name: String,
    /// The first line of cassandra.yaml: who wrote it and when it is rewritten.
    pub written_by: String,
    pub cluster_name: String,
    /// Listen and rpc address.
    pub address: String,
    /// The seeds' addresses.
    pub seeds: Vec<String>,
    /// The node's own directory: conf/, data dirs, logs/, bin/, the pid file.
    pub dir: PathBuf,
    /// The Cassandra distribution: its `lib/` holds the jars.
    pub home: PathBuf,
    /// The Java binary the node and its nodetool run on.
    pub java: PathBuf,
    pub heap_mb: u32,
    pub jmx: Jmx,
    pub tokens: Tokens,
    /// File name of the jamm jar in `home/lib` (Cassandra's memory meter agent).
    pub jamm_jar: Option<String>,
}

/// A file of a node: where it goes (absolute), its text, and whether it is a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    pub path: PathBuf,
    pub content: String,
    pub executable: bool,
}

/// The sub-directories every node needs before it starts.
pub const NODE_DIRS: &[&str] = &[
    "data",
    "commitlog",
    "saved_caches",
    "hints",
    "cdc_raw",
    "logs",
    "conf",
    "bin",
];

impl NodeConfig {
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("cassandra.pid")
    }

    pub fn script(&self, verb: &str) -> PathBuf {
        self.dir.join("bin").join(verb)
    }

    pub fn conf(&self, file: &str) -> PathBuf {
        self.dir.join("conf").join(file)
    }

    /// The configuration and the start, stop, kill, freeze and thaw scripts.
    pub fn files(&self, nodetool: &Path) -> Vec<NodeFile> {
        let mut files = vec![
            text(self.conf("cassandra.yaml"), self.cassandra_yaml()),
            text(self.conf("logback.xml"), LOGBACK_NODE.to_string()),
        ];
        files.extend([
            text(
                self.conf("cassandra-rackdc.properties"),
                format!(
                    "# {}\n# Every node in one DC and rack.\ndc={DATACENTER}\nrack={RACK}\n",
                    self.written_by
                ),
            ),
            script(self.script("start"), self.start_script()),
            script(self.script("stop"), self.stop_script(nodetool)),
            script(
                self.script("kill"),
                self.signal_script("KILL", "killed (SIGKILL)", true),
            ),
            script(
                self.script("freeze"),
                self.signal_script("STOP", "frozen (SIGSTOP)", false),
            ),
            script(self.script("thaw"), self.thaw_script()),
        ]);
        files
    }

    pub fn cassandra_yaml(&self) -> String {
        let dir = self.dir.display();
        let tokens = match self.tokens {
            Tokens::Fixed(token) => format!(
                "# One fixed token per node: nodes join without streaming, so all can start at once.\n\
num_tokens: 1\n\
initial_token: {token}\n\
partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n\
auto_bootstrap: false\n"
            ),
            Tokens::Allocated => format!(
                "# Tokens allocated by Cassandra for the keyspace's replication; a new PC\n\
# bootstraps (streams its share) when it joins a running cluster.\n\
num_tokens: 16\n\
allocate_tokens_for_local_replication_factor: {SCHEMA_REPLICATION_FACTOR}\n\
partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"
            ),
        };
        let seeds = self
            .seeds
            .iter()
            .map(|seed| format!("{seed}:{STORAGE_PORT}"))
            .collect::<Vec<_>>()
            .join(",");
        format!(
            "# {written_by}\n\
cluster_name: {cluster}\n\
{tokens}\
# One DC and rack (cassandra-rackdc.properties); no dynamic snitch, so a node\n\
# holding a replica answers reads from its own (the node the dashboard asks\n\
# serves from its own disk, and expect-catch-up can read what it holds).\n\
endpoint_snitch: GossipingPropertyFileSnitch\n\
dynamic_snitch: false\n\
seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"{seeds}\"\n\
listen_address: {address}\n\
rpc_address: {address}\n\
storage_port: {STORAGE_PORT}\n\
native_transport_port: {CQL_PORT}\n\
commitlog_sync: periodic\n\
commitlog_sync_period: 10000ms\n\
commitlog_total_space: 512MiB\n\
data_file_directories:\n  - {dir}/data\n\
commitlog_directory: {dir}/commitlog\n\
saved_caches_directory: {dir}/saved_caches\n\
hints_directory: {dir}/hints\n\
cdc_raw_directory: {dir}/cdc_raw\n\
# A returning node catches up from hints: replay them promptly.\n\
hinted_handoff_enabled: true\n\
hints_flush_period: 2000ms\n\
# Small machine: keep caches and thread pools modest.\n\
concurrent_reads: 16\n\
concurrent_writes: 16\n\
concurrent_counter_writes: 8\n\
key_cache_size: 16MiB\n\
memtable_heap_space: 96MiB\n\
memtable_offheap_space: 96MiB\n",
            written_by = self.written_by,
            cluster = self.cluster_name,
            address = self.address,
        )
    }

    /// Shared shell prologue: `alive` is true only for this node's own JVM (a
    /// recycled pid or a zombie does not count).
    fn prologue(&self) -> String {
        format!(
            "#!/bin/bash\n\
NODE_DIR={dir}\n\
PID_FILE=\"$NODE_DIR/cassandra.pid\"\n\
pid=$(cat \"$PID_FILE\" 2>/dev/null)\n\
alive() {{\n  [ -n \"$pid\" ] && [ -r \"/proc/$pid/cmdline\" ] && grep -qa \"$NODE_DIR/conf\" \"/proc/$pid/cmdline\" \\\n    && [ \"$(awk '{{print $3}}' \"/proc/$pid/stat\" 2>/dev/null)\" != Z ]\n}}\n",
            dir = quote(&self.dir),
        )
    }

    fn start_script(&self) -> String {
        let dir = &self.dir;
        let jamm = self
            .jamm_jar
            .as_ref()
            .map(|jar| format!("-javaagent:{}", quote(&self.home.join("lib").join(jar))))
            .unwrap_or_default();
        let jmx = match self.jmx {
            Jmx::Local(port) => format!("-Dcassandra.jmx.local.port={port}"),
            Jmx::Remote(port) => format!(
                "-Dcassandra.jmx.remote.port={port} -Dcom.sun.management.jmxremote.rmi.port={port} \
-Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false \
-Djava.rmi.server.hostname={}",
                self.address
            ),
        };
        let rackdc = format!(
            " -Dcassandra-rackdc.properties=file://{}",
            self.conf("cassandra-rackdc.properties").display()
        );
        format!(
            "{prologue}# Starts {name} in the background; a running node is only woken (SIGCONT).\n\
if alive; then kill -CONT \"$pid\"; echo \"{name} already running (pid $pid)\"; exit 0; fi\n\
cd \"$NODE_DIR\" || exit 1\n\
{close_fds}\
setsid {java} -Xms{heap_min}m -Xmx{heap}m -Xss256k -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError \
-XX:HeapDumpPath={dumps} -XX:MaxDirectMemorySize=256m -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true \
{modules} {jamm} {jmx} -Dcassandra.config=file://{yaml}{rackdc} \
-Dcassandra.logdir={logs} -Dcassandra.storagedir={dir_q} -Dlogback.configurationFile={logback} \
-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra-foreground=yes \
-cp {lib} org.apache.cassandra.service.CassandraDaemon >> {stdout} 2>&1 < /dev/null &\n\
echo $! > \"$PID_FILE\"\n\
echo \"{name} started (pid $!)\"\n",
            prologue = self.prologue(),
            close_fds = CLOSE_INHERITED_FDS,
            name = self.name,
            java = quote(&self.java),
            heap_min = self.heap_mb / 2,
            heap = self.heap_mb,
            dumps = quote(&dir.join("logs")),
            modules = JAVA_MODULE_OPTIONS.join(" "),
            yaml = self.conf("cassandra.yaml").display(),
            logs = quote(&dir.join("logs")),
            dir_q = quote(dir),
            logback = quote(&self.conf("logback.xml")),
            lib = quote(&self.home.join("lib/*")),
            stdout = quote(&dir.join("logs/stdout.log")),
        )
    }

    fn stop_script(&self, nodetool: &Path) -> String {
        format!(
            "{prologue}# Stops {name} gracefully: drain (flush, stop taking writes), SIGTERM, SIGKILL after 60 s.\n\
if ! alive; then echo \"{name} is not running\"; rm -f \"$PID_FILE\"; exit 0; fi\n\
kill -CONT \"$pid\"  # a frozen node cannot drain\n\
timeout 60 {nodetool} -h 127.0.0.1 -p {jmx} drain >/dev/null 2>&1 || echo \"{name}: drain failed, stopping anyway\" >&2\n\
kill -TERM \"$pid\" 2>/dev/null\n\
i=0\n\
while alive; do\n  i=$((i + 1))\n  if [ \"$i\" -ge 300 ]; then kill -KILL \"$pid\" 2>/dev/null; fi\n  if [ \"$i\" -ge 350 ]; then echo \"{name} (pid $pid) would not stop\" >&2; exit 1; fi\n  sleep 0.2\ndone\n\
rm -f \"$PID_FILE\"\n\
echo \"{name} stopped\"\n",
            prologue = self.prologue(),
            name = self.name,
            nodetool = quote(nodetool),
            jmx = self.jmx.port(),
        )
    }

    fn signal_script(&self, signal: &str, done: &str, wait_gone: bool) -> String {
        let wait = if wait_gone {
            "i=0\nwhile alive && [ \"$i\" -lt 100 ]; do i=$((i + 1)); sleep 0.1; done\nrm -f \"$PID_FILE\"\n"
        } else {
            ""
        };
        format!(
            "{prologue}if ! alive; then echo \"{name} is not running\" >&2; exit 1; fi\n\
kill -{signal} \"$pid\" || exit 1\n{wait}echo \"{name} {done}\"\n",
            prologue = self.prologue(),
            name = self.name,
        )
    }

    fn thaw_script(&self) -> String {
        format!(
            "{prologue}# Wakes {name} after a freeze; harmless when it runs or is stopped.\n\
if alive; then kill -CONT \"$pid\"; echo \"{name} thawed (SIGCONT)\"; fi\nexit 0\n",
            prologue = self.prologue(),
            name = self.name,
        )
    }
}

/// `nodetool` on `java` over the distribution at `home`, logging with `logback_tools`
/// (warnings to stderr only, so its stdout stays parseable); `default_target` says in a
/// comment which node it reaches without `-h`/`-p`.
pub fn nodetool_script(java: &Path, home: &Path, logback_tools: &Path, about: &str) -> String {
    format!(
        "#!/bin/sh\n# {about}\n\
exec {java} -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 {modules} \
-Dcassandra.logdir={logs} -Dlogback.configurationFile={logback} \
-cp {lib} org.apache.cassandra.tools.NodeTool \"$@\"\n",
        java = quote(java),
        modules = JAVA_MODULE_OPTIONS.join(" "),
        logs = quote(&home.join("logs")),
        logback = quote(logback_tools),
        lib = quote(&home.join("lib/*")),
    )
}

/// Bash lines closing every descriptor the caller let the script inherit (a
/// held `flock`, a test's pipe, an SSH session's channel): a node lives for hours and
/// must not keep them open. 255 is bash's own handle on the script.
pub const CLOSE_INHERITED_FDS: &str = "for fd in /proc/$$/fd/*; do fd=${fd##*/}; \
if [ \"$fd\" -gt 2 ] && [ \"$fd\" -ne 255 ]; then eval \"exec $fd>&-\"; fi; done 2>/dev/null\n";

pub const LOGBACK_NODE: &str = r#"<configuration scan="false">
  <!-- Node log: logs/system.log (what `lab up` and `provision` print the tail of when a node fails). -->
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>${cassandra.logdir}/system.log.%i</fileNamePattern>
      <minIndex>1</minIndex><maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
"#;

/// nodetool prints only warnings, to stderr, so its stdout stays parseable.
pub const LOGBACK_TOOLS: &str = r#"<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
"#;

/// A path as one shell word.
pub fn quote(path: &Path) -> String {
    shell_word(&path.display().to_string())
}

/// Any text as one single-quoted shell word.
pub fn shell_word(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn text(path: PathBuf, content: String) -> NodeFile {
    NodeFile {
        path,
        content,
        executable: false,
    }
}

fn script(path: PathBuf, content: String) -> NodeFile {
    NodeFile {
        path,
        content,
        executable: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc2() -> NodeConfig {
        NodeConfig {
            name: "PC2".into(),
            written_by: "written by a test".into(),
            cluster_name: "demo".into(),
            address: "10.0.0.2".into(),
            seeds: vec!["10.0.0.1".into()],
            dir: "/opt/demo".into(),
            home: "/opt/demo/cassandra".into(),
            java: "/usr/bin/java".into(),
            heap_mb: 1024,
            jmx: Jmx::Remote(JMX_PORT),
            tokens: Tokens::Allocated,
            jamm_jar: Some("jamm-0.4.0.jar".into()),
        }
    }

    #[test]
    fn tokens_are_balanced_for_the_replication_factor_schema_cql_creates() {
        let schema = include_str!("../../schema.cql");
        assert!(
            schema.contains(&format!(
                "'replication_factor': {SCHEMA_REPLICATION_FACTOR}}}"
            )),
            "schema.cql's keyspace is not created with RF {SCHEMA_REPLICATION_FACTOR}"
        );
    }

    #[test]
    fn a_pc_reads_its_own_replica_and_bootstraps() {
        let node = pc2();
        let yaml = node.cassandra_yaml();
        for line in [
            "endpoint_snitch: GossipingPropertyFileSnitch\n",
            "dynamic_snitch: false\n",
            "num_tokens: 16\n",
            "allocate_tokens_for_local_replication_factor: 3\n",
            "seeds: \"10.0.0.1:7000\"",
            "listen_address: 10.0.0.2\n",
            "rpc_address: 10.0.0.2\n",
            "  - /opt/demo/data\n",
        ] {
            assert!(yaml.contains(line), "{line} in\n{yaml}");
        }
        assert!(!yaml.contains("auto_bootstrap"), "{yaml}");
        let files = node.files(Path::new("/opt/demo/bin/nodetool"));
        let start = files
            .iter()
            .find(|file| file.path == Path::new("/opt/demo/bin/start"))
            .unwrap();
        assert!(start.executable);
        assert!(start.content.contains("-Xmx1024m"), "{}", start.content);
        assert!(
            start.content.contains(
                "-Dcassandra-rackdc.properties=file:///opt/demo/conf/cassandra-rackdc.properties"
            ),
            "{}",
            start.content
        );
        assert!(start.content.contains("-Dcassandra.jmx.remote.port=7199"));
        assert!(
            start
                .content
                .contains("-javaagent:'/opt/demo/cassandra/lib/jamm-0.4.0.jar'")
        );
        assert!(
            files
                .iter()
                .any(|file| file.path.ends_with("conf/cassandra-rackdc.properties"))
        );
    }

    #[test]
    fn paths_with_quotes_are_shell_safe() {
        assert_eq!(quote(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }
}
