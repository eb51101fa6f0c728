//! Fetches Cassandra and Kafka from Maven Central with `mvn`, once.
//!
//! Maven Central does not serve Cassandra's binary tarball, so the lab
//! assembles its own distribution from `cassandra-all` and its dependencies
//! (and likewise Kafka from `kafka_2.13`). A `.complete` marker holding the
//! version makes later runs reuse what is there; a half-finished download is
//! simply fetched again.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::LabError;
use super::layout::{CASSANDRA_VERSION, KAFKA_VERSION, Layout};
use crate::progress::Progress;

/// A Maven download can be slow on a cold cache, but never endless.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const MARKER: &str = ".complete";

struct Artifact {
    what: &'static str,
    version: &'static str,
    /// `groupId:artifactId:version` of each direct dependency.
    dependencies: Vec<String>,
}

/// Makes sure both distributions are on disk, and cqlsh for students.
pub async fn ensure_distributions(
    layout: &Layout,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    ensure_servers(layout, progress).await?;
    ensure_cqlsh(layout, progress).await;
    Ok(())
}

/// Makes sure Cassandra's and Kafka's distributions are on disk (what `demo provision`
/// uploads to the PCs and runs on the app PC).
pub async fn ensure_servers(layout: &Layout, progress: &dyn Progress) -> Result<(), LabError> {
    let cassandra = Artifact {
        what: "Apache Cassandra",
        version: CASSANDRA_VERSION,
        dependencies: vec![format!(
            "org.apache.cassandra:cassandra-all:{CASSANDRA_VERSION}"
        )],
    };
    let kafka = Artifact {
        what: "Apache Kafka",
        version: KAFKA_VERSION,
        dependencies: vec![
            format!("org.apache.kafka:kafka_2.13:{KAFKA_VERSION}"),
            // Command-line tools (kafka-topics, console producer/consumer) for students.
            format!("org.apache.kafka:kafka-tools:{KAFKA_VERSION}"),
            // Kafka logs through SLF4J; this routes it to log4j2 so server.log exists.
            "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3".to_string(),
        ],
    };
    ensure(layout, &layout.cassandra_home(), &cassandra, progress).await?;
    ensure(layout, &layout.kafka_home(), &kafka, progress).await
}

/// cqlsh is Python and not on Maven: install it from PyPI into a venv under
/// .lab. It is a convenience for students, so failing only warns.
async fn ensure_cqlsh(layout: &Layout, progress: &dyn Progress) {
    let venv = layout.lab.join("cqlsh-venv");
    if venv.join("bin/cqlsh").is_file() {
        return;
    }
    progress.waiting("Installing cqlsh from PyPI into .lab/cqlsh-venv");
    let script = format!(
        "python3 -m venv '{venv}' && '{venv}/bin/pip' install -q 'cqlsh==6.2.*'",
        venv = venv.display()
    );
    let result = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new("sh")
            .arg("-c")
            .arg(&script)
            .kill_on_drop(true)
            .output(),
    )
    .await;
    match result {
        Ok(Ok(output)) if output.status.success() => {
            progress.step(&format!("✓ cqlsh installed in {}", venv.display()))
        }
        Ok(Ok(output)) => progress.warn(&format!(
            "cqlsh could not be installed (the lab works without it): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(Err(e)) => progress.warn(&format!(
            "cqlsh could not be installed (the lab works without it): {e}"
        )),
        Err(_) => progress
            .warn("installing cqlsh took over 5 minutes; skipped (the lab works without it)"),
    }
}

async fn ensure(
    layout: &Layout,
    home: &Path,
    artifact: &Artifact,
    progress: &dyn Progress,
) -> Result<(), LabError> {
    let marker = home.join(MARKER);
    if std::fs::read_to_string(&marker).is_ok_and(|v| v.trim() == artifact.version) {
        return Ok(());
    }
    require_maven()?;
    let work = layout
        .lab
        .join("fetch")
        .join(home.file_name().unwrap_or_default());
    std::fs::create_dir_all(&work).map_err(LabError::io(format!("creating {}", work.display())))?;
    std::fs::write(work.join("pom.xml"), pom(&artifact.dependencies)).map_err(LabError::io(
        format!("writing {}", work.join("pom.xml").display()),
    ))?;
    let lib = home.join("lib");
    if lib.exists() {
        std::fs::remove_dir_all(&lib)
            .map_err(LabError::io(format!("clearing {}", lib.display())))?;
    }

    progress.waiting(&format!(
        "Fetching {} {} from Maven Central",
        artifact.what, artifact.version
    ));

    let mut child = Command::new("mvn")
        .args([
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
        ])
        .arg(format!("-DoutputDirectory={}", lib.display()))
        .current_dir(&work)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(LabError::io("starting mvn"))?;
    let stdout = child.stdout.take();
    let what = artifact.what;
    let reader = async move {
        let mut tail: Vec<String> = Vec::new();
        let mut downloaded = 0usize;
        if let Some(stdout) = stdout {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Downloaded from") {
                    downloaded += 1;
                    let name = line
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .split(' ')
                        .next()
                        .unwrap_or("");
                    progress.waiting(&format!(
                        "Fetching {what}: {downloaded} files downloaded ({name})"
                    ));
                }
                tail.push(line);
                if tail.len() > 25 {
                    tail.remove(0);
                }
            }
        }
        tail
    };
    let result = tokio::time::timeout(FETCH_TIMEOUT, async {
        let tail = reader.await;
        (child.wait().await, tail)
    })
    .await;
    let (status, tail) = result.map_err(|_| LabError::Fetch {
        what: artifact.what.into(),
        detail: format!(
            "mvn did not finish within {} minutes",
            FETCH_TIMEOUT.as_secs() / 60
        ),
    })?;
    let status = status.map_err(LabError::io("waiting for mvn"))?;
    if !status.success() {
        return Err(LabError::Fetch {
            what: artifact.what.into(),
            detail: format!(
                "mvn exited with {status}; its last lines:\n{}",
                tail.join("\n")
            ),
        });
    }
    std::fs::write(&marker, artifact.version)
        .map_err(LabError::io(format!("writing {}", marker.display())))?;
    progress.step(&format!(
        "✓ {} {} fetched into {}",
        artifact.what,
        artifact.version,
        home.display()
    ));
    Ok(())
}

fn require_maven() -> Result<(), LabError> {
    match std::process::Command::new("mvn")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        _ => Err(LabError::Prerequisite(
            "`mvn` (Apache Maven) is needed to fetch Cassandra and Kafka the first time: \
             install it (Debian: apt-get install maven) and run `demo lab up` again"
                .into(),
        )),
    }
}

/// A throwaway project whose only purpose is to let Maven resolve the jars.
fn pom(dependencies: &[String]) -> String {
    let deps: String = dependencies
        .iter()
        .map(|coords| {
            let mut parts = coords.split(':');
            let group = parts.next().unwrap_or_default();
            let artifact = parts.next().unwrap_or_default();
            let version = parts.next().unwrap_or_default();
            format!(
                "    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version></dependency>\n"
            )
        })
        .collect();
    format!(
        "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  \
         <groupId>lab</groupId><artifactId>lab-fetch</artifactId><version>1</version><packaging>pom</packaging>\n  \
         <dependencies>\n{deps}  </dependencies>\n</project>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_lists_every_dependency() {
        let xml = pom(&["a.b:c:1.0".into(), "d:e:2".into()]);
        assert!(
            xml.contains("<groupId>a.b</groupId><artifactId>c</artifactId><version>1.0</version>")
        );
        assert!(xml.contains("<groupId>d</groupId><artifactId>e</artifactId><version>2</version>"));
    }
}
