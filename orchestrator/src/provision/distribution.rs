//! The Cassandra distribution this machine fetched for the lab (`.lab/cassandra/lib`,
//! jars from Maven), compared with what a PC has and streamed to it as a tar over SSH
//! when it differs. The manifest (each jar's name and size, plus the version) is what
//! "the PC already has that version" means: it is computed the same way on both sides.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::ProvisionError;
use super::node_files::cassandra_home;
use crate::lab::layout::CASSANDRA_VERSION;
use crate::node_config::shell_word;
use crate::remote::Remote;

/// A 70 MB tar over a slow school network, but never endless.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// The local distribution: where its `lib/` is and its manifest.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub home: std::path::PathBuf,
    pub version: &'static str,
    /// `name size` of every jar, sorted as `LC_ALL=C sort` sorts them.
    pub jars: Vec<String>,
    pub bytes: u64,
    /// Cassandra's memory meter agent, named in the start script.
    pub jamm_jar: Option<String>,
}

impl Distribution {
    /// Reads the manifest of the distribution at `home`.
    pub fn read(home: &Path) -> Result<Distribution, ProvisionError> {
        let lib = home.join("lib");
        let entries = std::fs::read_dir(&lib).map_err(|source| ProvisionError::Local {
            what: format!(
                "reading the Cassandra distribution {} (fetched by `demo lab up` or `demo provision`)",
                lib.display()
            ),
            source,
        })?;
        let mut jars = Vec::new();
        let mut bytes = 0;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_file() {
                bytes += meta.len();
                jars.push(format!(
                    "{} {}",
                    entry.file_name().to_string_lossy(),
                    meta.len()
                ));
            }
        }
        jars.sort();
        let jamm_jar = jars
            .iter()
            .filter_map(|line| line.split(' ').next())
            .find(|name| name.starts_with("jamm-") && name.ends_with(".jar"))
            .map(str::to_string);
        Ok(Distribution {
            home: home.to_path_buf(),
            version: CASSANDRA_VERSION,
            jars,
            bytes,
            jamm_jar,
        })
    }

    /// True when a PC with this version file and jar manifest has this distribution.
    pub fn matches(&self, version: &str, jars: &[String]) -> bool {
        version == self.version && jars == self.jars.as_slice()
    }

    /// Streams `lib/` to `<install>/cassandra` on the PC: unpacked beside the old one,
    /// then swapped in, so a broken upload never leaves half a distribution.
    pub async fn upload(&self, remote: &Remote, install: &Path) -> Result<(), ProvisionError> {
        let target = shell_word(&cassandra_home(install).display().to_string());
        let command = format!(
            "T={target}; rm -rf \"$T.new\" && mkdir -p \"$T.new\" && tar -C \"$T.new\" -xf - \
             && echo {version} > \"$T.new/VERSION\" && rm -rf \"$T\" && mv \"$T.new\" \"$T\"",
            version = self.version
        );
        let mut tar = tokio::process::Command::new("tar")
            .arg("-C")
            .arg(&self.home)
            .args(["-cf", "-", "lib"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProvisionError::Local {
                what: "running tar".into(),
                source,
            })?;
        let Some(stream) = tar.stdout.take() else {
            return Err(ProvisionError::Local {
                what: "reading tar's output".into(),
                source: std::io::Error::other("no pipe"),
            });
        };
        remote
            .run_with_input(&command, stream, UPLOAD_TIMEOUT)
            .await?;
        let status = tar.wait().await.map_err(|source| ProvisionError::Local {
            what: "waiting for tar".into(),
            source,
        })?;
        if !status.success() {
            return Err(ProvisionError::Local {
                what: format!("tar of {}", self.home.display()),
                source: std::io::Error::other(format!("tar exited with {status}")),
            });
        }
        Ok(())
    }
}
