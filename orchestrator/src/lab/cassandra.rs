//! Configuration and control scripts of the lab's Cassandra nodes.
//!
//! Maven serves `cassandra-all` but not Cassandra's start scripts, so the lab
//! writes its own: a `cassandra.yaml` and `logback.xml` per node, the JVM
//! options Cassandra 5 needs on Java 17, and one small shell script per
//! action (`bin/start`, `stop`, `kill`, `freeze`, `thaw`). The conductor runs
//! those scripts through `.lab/hosts.toml` exactly as it runs `systemctl` on
//! the real PCs, so the lab exercises the same code paths.

use std::path::Path;
use std::time::Duration;

use super::layout::{CASSANDRA_HEAP_MB, CLUSTER_NAME, CQL_PORT, Layout, NodeLayout, STORAGE_PORT};
use super::process::{self, Java};
use super::ready;
use super::{LabError, write_file};
use crate::progress::Progress;

/// A node that has not opened its CQL port by then is reported with its log.
pub const NODE_START_TIMEOUT: Duration = Duration::from_secs(180);

/// Module exports and opens that Cassandra 5 needs on Java 17 (from its
/// `jvm17-server.options`); nodetool needs the same to load Cassandra's classes.
const JAVA17_MODULE_OPTIONS: &[&str] = &[
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

/// Writes every node's configuration and scripts, plus the shared `nodetool`.
/// Rewritten on each `lab up`, so a checkout that moved keeps working.
pub fn write_node_files(layout: &Layout, java: &Java) -> Result<(), LabError> {
    let home = layout.cassandra_home();
    write_file(&home.join("conf/logback-tools.xml"), LOGBACK_TOOLS, false)?;
    write_file(
        &home.join("bin/nodetool"),
        &nodetool_script(layout, java),
        true,
    )?;
    if let Some(cqlsh) = process::find_cqlsh(layout) {
        write_file(
            &home.join("bin/cqlsh"),
            &format!("#!/bin/sh\nexec '{}' \"$@\"\n", cqlsh.display()),
            true,
        )?;
    }
    for node in layout.nodes() {
        for sub in [
            "data",
            "commitlog",
            "saved_caches",
            "hints",
            "cdc_raw",
            "logs",
            "conf",
            "bin",
        ] {
            let dir = node.dir.join(sub);
            std::fs::create_dir_all(&dir)
                .map_err(LabError::io(format!("creating {}", dir.display())))?;
        }
        write_file(
            &node.dir.join("conf/cassandra.yaml"),
            &cassandra_yaml(&node),
            false,
        )?;
        write_file(&node.dir.join("conf/logback.xml"), LOGBACK_NODE, false)?;
        write_file(
            &node.script("start"),
            &start_script(layout, &node, java),
            true,
        )?;
        write_file(&node.script("stop"), &stop_script(layout, &node), true)?;
        write_file(
            &node.script("kill"),
            &signal_script(&node, "KILL", "killed (SIGKILL)", true),
            true,
        )?;
        write_file(
            &node.script("freeze"),
            &signal_script(&node, "STOP", "frozen (SIGSTOP)", false),
            true,
        )?;
        write_file(&node.script("thaw"), &thaw_script(&node), true)?;
        write_file(&node.script("isolate"), &isolate_script(&node), true)?;
        write_file(&node.script("heal"), &heal_script(&node), true)?;
    }
    Ok(())
}

/// Starts the seed first, then the other nodes together once it answers:
/// they learn the ring from the seed.
pub async fn start_seed_then_others(
    layout: &Layout,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    let nodes = layout.nodes();
    let Some((seed, others)) = nodes.split_first() else {
        return Ok(());
    };
    run_script(&seed.script("start")).await?;
    ready::wait_for_node_cql(seed, NODE_START_TIMEOUT, progress).await?;
    for node in others {
        run_script(&node.script("start")).await?;
    }
    Ok(())
}

async fn run_script(script: &Path) -> Result<(), LabError> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(script).output(),
    )
    .await
    .map_err(|_| {
        LabError::Prerequisite(format!("{} did not return within 30 s", script.display()))
    })?
    .map_err(LabError::io(format!("running {}", script.display())))?;
    if !output.status.success() {
        return Err(LabError::Prerequisite(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

fn cassandra_yaml(node: &NodeLayout) -> String {
    let dir = node.dir.display();
    format!(
        "# Lab node {name}: written by `demo lab up`, rewritten on every start.\n\
cluster_name: {CLUSTER_NAME}\n\
# One fixed token per node: nodes join without streaming, so all can start at once.\n\
num_tokens: 1\n\
initial_token: {token}\n\
partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n\
auto_bootstrap: false\n\
endpoint_snitch: SimpleSnitch\n\
seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"127.0.0.1:{STORAGE_PORT}\"\n\
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
        name = node.name(),
        token = node.initial_token(),
        address = node.address(),
    )
}

const LOGBACK_NODE: &str = r#"<configuration scan="false">
  <!-- Lab node log: logs/system.log (what `lab up` prints the tail of when a node fails). -->
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
const LOGBACK_TOOLS: &str = r#"<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
"#;

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn nodetool_script(layout: &Layout, java: &Java) -> String {
    let home = layout.cassandra_home();
    format!(
        "#!/bin/sh\n# nodetool for the lab (-h 127.0.0.1 -p 7199|7299|7399 picks the node; default PC1).\n\
exec {java} -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 {modules} \
-Dcassandra.logdir={logs} -Dlogback.configurationFile={logback} \
-cp {lib} org.apache.cassandra.tools.NodeTool \"$@\"\n",
        java = quote(&java.binary),
        modules = JAVA17_MODULE_OPTIONS.join(" "),
        logs = quote(&home.join("logs")),
        logback = quote(&home.join("conf/logback-tools.xml")),
        lib = quote(&home.join("lib/*")),
    )
}

/// Shared shell prologue: `alive` is true only for this node's own JVM (a
/// recycled pid or a zombie does not count).
fn prologue(node: &NodeLayout) -> String {
    format!(
        "#!/bin/bash\n\
NODE_DIR={dir}\n\
PID_FILE=\"$NODE_DIR/cassandra.pid\"\n\
pid=$(cat \"$PID_FILE\" 2>/dev/null)\n\
alive() {{\n  [ -n \"$pid\" ] && [ -r \"/proc/$pid/cmdline\" ] && grep -qa \"$NODE_DIR/conf\" \"/proc/$pid/cmdline\" \\\n    && [ \"$(awk '{{print $3}}' \"/proc/$pid/stat\" 2>/dev/null)\" != Z ]\n}}\n",
        dir = quote(&node.dir),
    )
}

/// Bash lines closing every descriptor the caller let the script inherit (a
/// held `flock`, a test's pipe): a node lives for hours and must not keep
/// them open. 255 is bash's own handle on the script.
pub const CLOSE_INHERITED_FDS: &str = "for fd in /proc/$$/fd/*; do fd=${fd##*/}; \
if [ \"$fd\" -gt 2 ] && [ \"$fd\" -ne 255 ]; then eval \"exec $fd>&-\"; fi; done 2>/dev/null\n";

fn start_script(layout: &Layout, node: &NodeLayout, java: &Java) -> String {
    let home = layout.cassandra_home();
    let dir = &node.dir;
    let jamm = process::find_jar(&home.join("lib"), "jamm-")
        .map(|jar| format!("-javaagent:{}", quote(&jar)))
        .unwrap_or_default();
    format!(
        "{prologue}# Starts {name} in the background; a running node is only woken (SIGCONT).\n\
if alive; then kill -CONT \"$pid\"; echo \"{name} already running (pid $pid)\"; exit 0; fi\n\
cd \"$NODE_DIR\" || exit 1\n\
{close_fds}\
setsid {java} -Xms{heap_min}m -Xmx{heap}m -Xss256k -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError \
-XX:HeapDumpPath={dumps} -XX:MaxDirectMemorySize=256m -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true \
{modules} {jamm} -Dcassandra.jmx.local.port={jmx} -Dcassandra.config=file://{yaml} \
-Dcassandra.logdir={logs} -Dcassandra.storagedir={dir_q} -Dlogback.configurationFile={logback} \
-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra-foreground=yes \
-cp {lib} org.apache.cassandra.service.CassandraDaemon >> {stdout} 2>&1 < /dev/null &\n\
echo $! > \"$PID_FILE\"\n\
echo \"{name} started (pid $!)\"\n",
        prologue = prologue(node),
        close_fds = CLOSE_INHERITED_FDS,
        name = node.name(),
        java = quote(&java.binary),
        heap_min = CASSANDRA_HEAP_MB / 2,
        heap = CASSANDRA_HEAP_MB,
        dumps = quote(&dir.join("logs")),
        modules = JAVA17_MODULE_OPTIONS.join(" "),
        jmx = node.jmx_port(),
        yaml = dir.join("conf/cassandra.yaml").display(),
        logs = quote(&dir.join("logs")),
        dir_q = quote(dir),
        logback = quote(&dir.join("conf/logback.xml")),
        lib = quote(&home.join("lib/*")),
        stdout = quote(&dir.join("logs/stdout.log")),
    )
}

fn stop_script(layout: &Layout, node: &NodeLayout) -> String {
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
        prologue = prologue(node),
        name = node.name(),
        nodetool = quote(&layout.cassandra_home().join("bin/nodetool")),
        jmx = node.jmx_port(),
    )
}

fn signal_script(node: &NodeLayout, signal: &str, done: &str, wait_gone: bool) -> String {
    let wait = if wait_gone {
        "i=0\nwhile alive && [ \"$i\" -lt 100 ]; do i=$((i + 1)); sleep 0.1; done\nrm -f \"$PID_FILE\"\n"
    } else {
        ""
    };
    format!(
        "{prologue}if ! alive; then echo \"{name} is not running\" >&2; exit 1; fi\n\
kill -{signal} \"$pid\" || exit 1\n{wait}echo \"{name} {done}\"\n",
        prologue = prologue(node),
        name = node.name(),
    )
}

fn thaw_script(node: &NodeLayout) -> String {
    format!(
        "{prologue}# Wakes {name} after a freeze; harmless when it runs or is stopped.\n\
if alive; then kill -CONT \"$pid\"; echo \"{name} thawed (SIGCONT)\"; fi\nexit 0\n",
        prologue = prologue(node),
        name = node.name(),
    )
}

/// The loopback lab cannot isolate a node (all share one network and loopback; the
/// conductor refuses it before running this): said plainly to whoever runs it by hand.
fn isolate_script(node: &NodeLayout) -> String {
    format!(
        "#!/bin/sh\n# {name} cannot be isolated on the loopback lab.\n\
echo \"isolate needs the virtual PCs (demo lab up --pcs) or real PCs: on the loopback lab all nodes share one network\" >&2\nexit 2\n",
        name = node.name(),
    )
}

/// Nothing is ever isolated on the loopback lab: healing (which `start-node` always
/// runs first) has nothing to undo.
fn heal_script(node: &NodeLayout) -> String {
    format!(
        "#!/bin/sh\n# {name} is never isolated on the loopback lab: nothing to heal.\nexit 0\n",
        name = node.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_names_the_node_address_and_seed() {
        let layout = Layout::at(Path::new("/repo"));
        let node = &layout.nodes()[1];
        let yaml = cassandra_yaml(node);
        assert!(yaml.contains("listen_address: 127.0.0.2\n"));
        assert!(yaml.contains("rpc_address: 127.0.0.2\n"));
        assert!(yaml.contains("seeds: \"127.0.0.1:7000\""));
        assert!(yaml.contains(&format!("cluster_name: {CLUSTER_NAME}\n")));
        assert!(yaml.contains("/repo/.lab/node2/data"));
    }

    #[test]
    fn the_lab_refuses_isolate_and_heals_harmlessly() {
        let layout = Layout::at(Path::new("/repo"));
        let node = &layout.nodes()[1];
        let run = |script: String| {
            std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .expect("sh")
        };
        let isolate = run(isolate_script(node));
        assert_eq!(isolate.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&isolate.stderr).contains("demo lab up --pcs"));
        let heal = run(heal_script(node));
        assert!(heal.status.success() && heal.stdout.is_empty());
    }

    #[test]
    fn paths_with_quotes_are_shell_safe() {
        assert_eq!(quote(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }
}
