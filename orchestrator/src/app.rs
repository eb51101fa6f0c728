//! The app PC's services: producer, ingest and api, run on this machine (PC4)
//! from the built binaries, with logs and pid files under `.services/`; and,
//! when the contrast lane is asked for, a second ingest (`ingest-rf1`) that
//! writes the same readings once, into the keyspace with a single copy.
//!
//! `demo services up | down | status` drive them by hand; a scenario run
//! starts them through the same functions (with its own ledger), crashes or
//! restarts one of them when a step says so, and stops, at the end, only those
//! it started. Their flags come from the inventory, so the same code serves the
//! lab and the four PCs.

mod health;
mod process;

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::Keyspace;
use contract::args::{self, ApiArgs, IngestArgs, ProducerArgs};

pub use health::Health;
pub use process::{ServiceState, StateDir, Stopped};

use crate::hosts::Inventory;
use crate::paths;
use crate::wait;

/// How long each service may take to become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a service may take to exit after SIGTERM (ingest drains its writes).
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Health probes give up after this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Building the services (first run of a fresh clone) gives up after this long.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);
/// `npm ci` gives up after this long.
const NPM_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{} not found: build the services first (`cargo build --workspace`)", .0.display())]
    MissingBinary(PathBuf),
    #[error("building the services failed; see {}:\n{tail}", log.display())]
    Build { log: PathBuf, tail: String },
    #[error("cannot start {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    StateFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{service} did not become healthy within {}s: {why}\nlast lines of {}:\n{tail}", timeout.as_secs(), log.display())]
    Unhealthy {
        service: &'static str,
        why: String,
        timeout: Duration,
        log: PathBuf,
        tail: String,
    },
    #[error("{name} (pid {pid}) does not exit even after SIGKILL")]
    WontDie { name: String, pid: u32 },
    #[error("{0} is not running")]
    NotRunning(&'static str),
    #[error("pid {0} is out of range")]
    BadPid(u32),
    #[error("cannot form {service}'s command line: {reason}")]
    ServiceArgs {
        service: &'static str,
        reason: String,
    },
}

/// One of the app PC's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Api,
    Ingest,
    /// The contrast lane's ingest: the `ingest` binary on the single-copy keyspace.
    #[serde(rename = "ingest-rf1")]
    ContrastIngest,
    Producer,
}

impl Service {
    /// Start order: readers and writers of Cassandra first, the source of data last.
    pub const START_ORDER: [Service; 4] = [
        Service::Api,
        Service::Ingest,
        Service::ContrastIngest,
        Service::Producer,
    ];
    /// Stop order: the source first, so ingest can drain what was sent.
    pub const STOP_ORDER: [Service; 4] = [
        Service::Producer,
        Service::ContrastIngest,
        Service::Ingest,
        Service::Api,
    ];

    /// The service a scenario step names (`"ingest"`), if it is one (the
    /// contrast ingest is no part of the story a step can tell).
    pub fn from_name(name: &str) -> Option<Service> {
        Service::START_ORDER
            .into_iter()
            .filter(|service| *service != Service::ContrastIngest)
            .find(|service| service.name() == name)
    }

    /// The name of its pid file and log, as `demo services` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Service::Api => "api",
            Service::Ingest => "ingest",
            Service::ContrastIngest => "ingest-rf1",
            Service::Producer => "producer",
        }
    }

    /// The binary it runs.
    fn binary_name(self) -> &'static str {
        match self {
            Service::ContrastIngest => Service::Ingest.name(),
            service => service.name(),
        }
    }
}

/// The service as a scenario event names it.
impl From<Service> for contract::events::AppService {
    fn from(service: Service) -> Self {
        match service {
            Service::Api => contract::events::AppService::Api,
            Service::Ingest | Service::ContrastIngest => contract::events::AppService::Ingest,
            Service::Producer => contract::events::AppService::Producer,
        }
    }
}

/// What the run's producer simulates and where it keeps its ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerSettings {
    pub sensors: u32,
    pub rate: f64,
    pub sensor_prefix: String,
    pub ledger: PathBuf,
}

impl ProducerSettings {
    /// The sensor ids the producer uses (see [`contract::names::sensor_ids`]).
    pub fn sensor_ids(&self) -> Vec<String> {
        contract::names::sensor_ids(&self.sensor_prefix, self.sensors as usize)
    }
}

/// Everything needed to start the services: the binaries, the inventory's
/// addresses, the producer's settings and where state is kept.
#[derive(Debug, Clone)]
pub struct ServicesPlan {
    pub binaries: PathBuf,
    pub contact_points: Vec<String>,
    pub node_names: Vec<String>,
    pub keyspace: String,
    pub kafka: String,
    pub api_listen: String,
    pub api_url: String,
    pub metrics_listen: String,
    /// Where the contrast ingest serves its metrics (`$INGEST_RF1_METRICS_LISTEN`
    /// or 127.0.0.1:9102).
    pub contrast_metrics_listen: String,
    pub web_dir: PathBuf,
    pub producer: ProducerSettings,
    pub state: StateDir,
    /// Run the contrast lane too (`--contrast`, `contrast = true`).
    pub contrast: bool,
}

/// How long the contrast ingest retries a write before giving it up: long
/// enough for a blip, short enough that the lane shows a PC's absence at once.
const CONTRAST_GIVE_UP_AFTER_MS: u64 = 1000;

/// `$DEMO_SERVICES_DIR`, else `<project root>/.services`.
pub fn services_dir() -> PathBuf {
    std::env::var_os("DEMO_SERVICES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::project_root().join(".services"))
}

impl ServicesPlan {
    /// The plan for `inventory`, with the default producer (5 sensors, one
    /// reading per second each, ledger `.services/ledger.jsonl`).
    /// Ingest's metrics listen on `$INGEST_METRICS_LISTEN` or 127.0.0.1:9101.
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let state = StateDir::new(services_dir());
        Self {
            binaries: paths::binaries_dir(),
            contact_points: inventory
                .nodes
                .iter()
                .map(|node| node.address.to_string())
                .collect(),
            node_names: inventory
                .nodes
                .iter()
                .map(|node| node.name.clone())
                .collect(),
            keyspace: inventory.cluster.keyspace.clone(),
            kafka: inventory.app.kafka_bootstrap.clone(),
            api_listen: inventory.app.api_listen.clone(),
            api_url: inventory.app.api_url.clone(),
            metrics_listen: std::env::var("INGEST_METRICS_LISTEN")
                .unwrap_or_else(|_| args::DEFAULT_INGEST_METRICS_LISTEN.to_owned()),
            contrast_metrics_listen: std::env::var("INGEST_RF1_METRICS_LISTEN")
                .unwrap_or_else(|_| args::DEFAULT_CONTRAST_INGEST_METRICS_LISTEN.to_owned()),
            web_dir: paths::project_root().join("web"),
            producer: ProducerSettings {
                sensors: 5,
                rate: 1.0,
                sensor_prefix: "sensor_".to_owned(),
                ledger: state.path.join("ledger.jsonl"),
            },
            state,
            contrast: false,
        }
    }

    fn binary(&self, service: Service) -> PathBuf {
        self.binaries.join(service.binary_name())
    }

    /// The services this plan runs, in start order (the contrast ingest only with the lane).
    pub fn services(&self) -> Vec<Service> {
        Service::START_ORDER
            .into_iter()
            .filter(|service| *service != Service::ContrastIngest || self.contrast)
            .collect()
    }

    /// Where `service` says it is healthy, for those that serve metrics.
    fn metrics_of(&self, service: Service) -> &str {
        match service {
            Service::ContrastIngest => &self.contrast_metrics_listen,
            _ => &self.metrics_listen,
        }
    }

    /// The command line of `service`, built from the same typed arguments the
    /// service parses: what the plan fixes (addresses, keyspace, producer), on
    /// top of what the service would take from the environment it inherits
    /// from this process (timeouts, consistency levels...).
    pub fn args(&self, service: Service) -> Result<Vec<String>, AppError> {
        let invalid = |reason: String| AppError::ServiceArgs {
            service: service.name(),
            reason,
        };
        let from_environment = |error: clap::Error| invalid(error.to_string());
        let keyspace = || Keyspace::new(&self.keyspace).map_err(|e| invalid(e.to_string()));
        let address = |text: &str| {
            text.parse::<SocketAddr>()
                .map_err(|e| invalid(format!("{text:?} is not ip:port: {e}")))
        };
        Ok(match service {
            Service::Api => {
                let mut api: ApiArgs = args::from_environment().map_err(from_environment)?;
                api.cassandra.contact_points = self.contact_points.join(",");
                api.cassandra.keyspace = keyspace()?;
                api.listen = address(&self.api_listen)?;
                api.node_names.clone_from(&self.node_names);
                api.web_dir = Some(self.web_dir.clone());
                if self.contrast {
                    api.contrast_keyspace = Some(contrast_keyspace());
                }
                api.to_args()
            }
            Service::Ingest | Service::ContrastIngest => {
                let mut ingest: IngestArgs = args::from_environment().map_err(from_environment)?;
                ingest.cassandra.contact_points = self.contact_points.join(",");
                ingest.cassandra.keyspace = keyspace()?;
                ingest.kafka.bootstrap.clone_from(&self.kafka);
                ingest.metrics_listen = address(self.metrics_of(service))?;
                // Only the contrast ingest may give a write up (the main path never does).
                let contrast = service == Service::ContrastIngest;
                ingest.give_up_after_ms = contrast.then_some(CONTRAST_GIVE_UP_AFTER_MS);
                ingest.no_dead_letters = contrast;
                ingest.start_at_latest = contrast;
                if contrast {
                    // Its own progress, its own copy, its own way to fail.
                    ingest.cassandra.keyspace = contrast_keyspace();
                    ingest.group_id = format!("{}-rf1", ingest.group_id);
                    ingest.write_consistency = args::Consistency::One;
                }
                ingest.to_args()
            }
            Service::Producer => {
                let mut producer: ProducerArgs =
                    args::from_environment().map_err(from_environment)?;
                producer.kafka.bootstrap.clone_from(&self.kafka);
                producer.sensors = self.producer.sensors as usize;
                producer.rate = self.producer.rate;
                producer
                    .sensor_prefix
                    .clone_from(&self.producer.sensor_prefix);
                producer.ledger = Some(self.producer.ledger.clone());
                producer.to_args()
            }
        })
    }

    /// The dashboard, as a browser opens it: every curve of this producer's
    /// sensors overlaid (other sensors in the table, e.g. from tests, are left out).
    pub fn dashboard_url(&self) -> String {
        format!(
            "{}/?prefix={}&sensor=all",
            self.api_url.trim_end_matches('/'),
            self.producer.sensor_prefix
        )
    }
}

/// The contrast lane's keyspace, a valid name by construction.
fn contrast_keyspace() -> Keyspace {
    Keyspace::new(contract::names::CONTRAST_KEYSPACE)
        .unwrap_or_else(|_| unreachable!("a constant, valid keyspace name"))
}

/// What `up` did.
#[derive(Debug, Clone, Default)]
pub struct UpReport {
    /// Started by this call, in start order.
    pub started: Vec<Service>,
    /// Found running and left alone.
    pub already_running: Vec<Service>,
    /// The ledger of the producer now running (ours, or the one found running).
    pub ledger: Option<PathBuf>,
    /// Things that did not stop the start (e.g. npm missing).
    pub warnings: Vec<String>,
}

/// Starts the services that are not running, each after the previous one is
/// healthy. On failure, stops what this call started and says why.
pub async fn up(
    plan: &ServicesPlan,
    timeout: Duration,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<UpReport, AppError> {
    let mut report = UpReport::default();
    ensure_binaries(plan, on_progress).await?;
    if let Some(warning) =
        ensure_dashboard_dependencies(&plan.web_dir, &plan.state, on_progress).await
    {
        report.warnings.push(warning);
    }
    for service in plan.services() {
        if let Some(state) = plan.state.running(service.name()) {
            if service == Service::Producer {
                report.ledger = state.ledger.clone();
            }
            report.already_running.push(service);
            continue;
        }
        if let Err(error) = start_one(plan, service, timeout, on_progress).await {
            stop_all(&plan.state, &report.started).await;
            return Err(error);
        }
        report.started.push(service);
        if service == Service::Producer {
            report.ledger = Some(plan.producer.ledger.clone());
        }
    }
    let api_was_running = report.already_running.contains(&Service::Api);
    if plan.contrast
        && api_was_running
        && !health::serves_contrast(&plan.api_url, PROBE_TIMEOUT).await
    {
        report.warnings.push(
            "the api already running serves no /rf1/ (it was started without the contrast lane): the \
             chart without replication stays hidden; `demo services down`, then start again with --contrast"
                .to_owned(),
        );
    }
    Ok(report)
}

/// Starts `service` as `up` does (the plan's binary and command line; the
/// producer appends to the plan's ledger) and waits until it is healthy. On
/// failure it stops what it spawned and says why, with the log's last lines.
pub async fn start_one(
    plan: &ServicesPlan,
    service: Service,
    timeout: Duration,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<ServiceState, AppError> {
    let binary = plan.binary(service);
    if !binary.is_file() {
        return Err(AppError::MissingBinary(binary));
    }
    let args = plan.args(service)?;
    on_progress(&format!("starting {}", service.name()));
    let ledger_before = ledger_size(&plan.producer.ledger);
    let ledger = (service == Service::Producer).then(|| plan.producer.ledger.clone());
    if let Some(parent) = plan.producer.ledger.parent().filter(|_| ledger.is_some()) {
        std::fs::create_dir_all(parent).map_err(|source| AppError::StateFile {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let state = process::spawn(&plan.state, service.name(), &binary, args, ledger)?;
    if let Err(why) = wait_healthy(plan, service, &state, ledger_before, timeout, on_progress).await
    {
        let tail = process::log_tail(&state.log, 15);
        let _ = process::stop(&plan.state, service.name(), STOP_GRACE).await;
        return Err(AppError::Unhealthy {
            service: service.name(),
            why,
            timeout,
            log: state.log,
            tail,
        });
    }
    Ok(state)
}

/// What [`restart`] did.
#[derive(Debug, Clone)]
pub struct Restarted {
    /// How the running process stopped (`NotRunning` when none ran).
    pub stopped: Stopped,
    /// The new process, healthy.
    pub state: ServiceState,
}

/// Stops `service` gracefully if it runs (as `demo services down <service>`),
/// then starts it again as `up` does and waits until it is healthy.
pub async fn restart(
    plan: &ServicesPlan,
    service: Service,
    timeout: Duration,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<Restarted, AppError> {
    on_progress(&format!("stopping {}", service.name()));
    let stopped = stop(&plan.state, service).await?;
    let state = start_one(plan, service, timeout, on_progress).await?;
    Ok(Restarted { stopped, state })
}

/// Crashes `service` with SIGKILL (no graceful shutdown) and waits up to
/// `timeout` until its process is gone; its pid and state files are then
/// forgotten, so a later stop finds nothing to do. Returns the pid killed.
pub async fn crash(state: &StateDir, service: Service, timeout: Duration) -> Result<u32, AppError> {
    process::crash(state, service.name(), timeout)
        .await?
        .ok_or(AppError::NotRunning(service.name()))
}

/// Builds the services when their binaries are missing from a checkout's
/// target directory (a fresh clone where only `demo` was built by `cargo run`).
async fn ensure_binaries(
    plan: &ServicesPlan,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<(), AppError> {
    let missing: Vec<PathBuf> = plan
        .services()
        .iter()
        .map(|service| plan.binary(*service))
        .filter(|binary| !binary.is_file())
        .collect();
    let Some(first_missing) = missing.first() else {
        return Ok(());
    };
    let root = paths::project_root();
    let profile = plan
        .binaries
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    let in_checkout = plan.binaries.parent() == Some(root.join("target").as_path())
        && root.join("Cargo.toml").is_file();
    let Some(profile) = profile.filter(|_| in_checkout) else {
        return Err(AppError::MissingBinary(first_missing.clone()));
    };
    on_progress("building producer, ingest and api (first run; a few minutes)");
    std::fs::create_dir_all(&plan.state.path).map_err(|source| AppError::StateFile {
        path: plan.state.path.clone(),
        source,
    })?;
    let log_path = plan.state.log_file("build");
    let log = std::fs::File::create(&log_path).map_err(|source| AppError::StateFile {
        path: log_path.clone(),
        source,
    })?;
    let log_err = log.try_clone().map_err(|source| AppError::StateFile {
        path: log_path.clone(),
        source,
    })?;
    let mut command =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(["build", "--package", "iot-services", "--bins"]);
    if profile == "release" {
        command.arg("--release");
    }
    let status = command
        .current_dir(&root)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .status();
    let built = matches!(tokio::time::timeout(BUILD_TIMEOUT, status).await, Ok(Ok(status)) if status.success());
    if !built || !first_missing.is_file() {
        return Err(AppError::Build {
            log: log_path.clone(),
            tail: process::log_tail(&log_path, 15),
        });
    }
    Ok(())
}

/// Waits until `service` serves: the api answers `/health` with 200, ingest
/// too (it consumes: Kafka assigned it partitions), the producer has had a reading acknowledged (its ledger grew).
async fn wait_healthy(
    plan: &ServicesPlan,
    service: Service,
    state: &ServiceState,
    ledger_before: u64,
    timeout: Duration,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Result<(), String> {
    let waited = wait::until(timeout, Duration::from_millis(250), || async {
        if !process::is_running(state.pid, &state.binary) {
            return ControlFlow::Break(Err(format!("{} exited", service.name())));
        }
        let healthy = match service {
            Service::Api => health::api(&plan.api_url, PROBE_TIMEOUT).await,
            Service::Ingest | Service::ContrastIngest => {
                health::ingest(plan.metrics_of(service), PROBE_TIMEOUT).await
            }
            Service::Producer if ledger_size(&plan.producer.ledger) > ledger_before => Health::Ok,
            Service::Producer => Health::Unreachable("no reading acknowledged by Kafka yet".into()),
        };
        if healthy.is_ok() {
            return ControlFlow::Break(Ok(()));
        }
        let why = healthy.describe();
        on_progress(&format!("waiting for {}: {why}", service.name()));
        ControlFlow::Continue(why)
    })
    .await;
    waited.unwrap_or_else(|timed_out| {
        Err(timed_out
            .last
            .unwrap_or_else(|| "no health answer in time".to_owned()))
    })
}

fn ledger_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

/// Stops `services` (in stop order), ignoring failures: used to clean up.
async fn stop_all(state: &StateDir, services: &[Service]) {
    for service in Service::STOP_ORDER {
        if services.contains(&service) {
            let _ = process::stop(state, service.name(), STOP_GRACE).await;
        }
    }
}

/// Stops `services` in stop order (producer, ingest, api).
pub async fn down(
    state: &StateDir,
    services: &[Service],
) -> Result<Vec<(Service, Stopped)>, AppError> {
    let mut stopped = Vec::new();
    for service in Service::STOP_ORDER {
        if services.contains(&service) {
            stopped.push((
                service,
                process::stop(state, service.name(), STOP_GRACE).await?,
            ));
        }
    }
    Ok(stopped)
}

/// Stops one service (e.g. the producer before the final verification).
pub async fn stop(state: &StateDir, service: Service) -> Result<Stopped, AppError> {
    process::stop(state, service.name(), STOP_GRACE).await
}

/// One service as `status` sees it.
#[derive(Debug, Clone)]
pub struct ServiceStatus {
    pub service: Service,
    pub state: Option<ServiceState>,
    pub alive: bool,
    pub health: Health,
}

/// Each service's pid, liveness and health (the contrast ingest's too when the
/// plan has the lane or it was started).
pub async fn status(plan: &ServicesPlan) -> Vec<ServiceStatus> {
    let mut statuses = Vec::new();
    for service in Service::START_ORDER {
        let state = plan.state.read(service.name());
        if service == Service::ContrastIngest && !plan.contrast && state.is_none() {
            continue;
        }
        let alive = state
            .as_ref()
            .is_some_and(|state| process::is_running(state.pid, &state.binary));
        let health = if !alive {
            Health::Unreachable("not running".into())
        } else {
            match service {
                Service::Api => health::api(&plan.api_url, PROBE_TIMEOUT).await,
                Service::Ingest | Service::ContrastIngest => {
                    health::ingest(plan.metrics_of(service), PROBE_TIMEOUT).await
                }
                Service::Producer => producer_health(state.as_ref()),
            }
        };
        statuses.push(ServiceStatus {
            service,
            state,
            alive,
            health,
        });
    }
    statuses
}

/// A running producer is healthy when its ledger grew in the last few seconds.
fn producer_health(state: Option<&ServiceState>) -> Health {
    let Some(ledger) = state.and_then(|state| state.ledger.as_ref()) else {
        return Health::Ok;
    };
    let recent = std::fs::metadata(ledger)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(10));
    if recent {
        Health::Ok
    } else {
        Health::Degraded(format!(
            "nothing acknowledged for 10 s in {}",
            ledger.display()
        ))
    }
}

/// Runs `npm ci` in `web/` when `web/node_modules` is missing, so the
/// dashboard has Chart.js. Returns a warning when that was not possible: the
/// API and the data still work without it.
pub async fn ensure_dashboard_dependencies(
    web_dir: &Path,
    state: &StateDir,
    on_progress: &(dyn Fn(&str) + Sync),
) -> Option<String> {
    if !web_dir.join("package.json").is_file() || web_dir.join("node_modules").is_dir() {
        return None;
    }
    on_progress("npm ci in web/ (the dashboard's Chart.js)");
    if let Err(source) = std::fs::create_dir_all(&state.path) {
        return Some(format!("cannot create {}: {source}", state.path.display()));
    }
    let log_path = state.log_file("npm");
    let log = std::fs::File::create(&log_path).ok()?;
    let log_err = log.try_clone().ok()?;
    let child = tokio::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(web_dir)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(NPM_TIMEOUT, child).await {
        Ok(Ok(status)) if status.success() => None,
        Ok(Ok(status)) => Some(format!(
            "npm ci failed ({status}) in {}: the dashboard lacks Chart.js; see {}",
            web_dir.display(),
            log_path.display()
        )),
        Ok(Err(err)) => Some(format!(
            "cannot run npm ({err}): the dashboard lacks Chart.js"
        )),
        Err(_) => Some(format!(
            "npm ci took more than {}s; abandoned",
            NPM_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan() -> ServicesPlan {
        let state = StateDir::new(PathBuf::from("/tmp/demo-services-test"));
        ServicesPlan {
            binaries: PathBuf::from("/opt/demo/bin"),
            contact_points: vec!["10.0.0.1".into(), "10.0.0.2:9043".into()],
            node_names: vec!["PC1".into(), "PC2".into()],
            keyspace: "iot_demo".into(),
            kafka: "10.0.0.4:9092".into(),
            api_listen: "0.0.0.0:8080".into(),
            api_url: "http://10.0.0.4:8080".into(),
            metrics_listen: "127.0.0.1:9101".into(),
            contrast_metrics_listen: "127.0.0.1:9102".into(),
            web_dir: PathBuf::from("/opt/demo/web"),
            producer: ProducerSettings {
                sensors: 7,
                rate: 2.5,
                sensor_prefix: "run_".into(),
                ledger: PathBuf::from("/tmp/demo-services-test/ledger.jsonl"),
            },
            state,
            contrast: false,
        }
    }

    fn parsed<T: Parser>(name: &str, args: Vec<String>) -> T {
        T::try_parse_from(std::iter::once(name.to_owned()).chain(args))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn each_service_parses_what_the_plan_fixes() {
        let plan = plan();
        let api: ApiArgs = parsed("api", plan.args(Service::Api).unwrap());
        assert_eq!(api.cassandra.contact_points(), plan.contact_points);
        assert_eq!(api.cassandra.keyspace.as_str(), "iot_demo");
        assert_eq!(api.listen.to_string(), plan.api_listen);
        assert_eq!(api.node_names, plan.node_names);
        assert_eq!(api.web_dir, Some(plan.web_dir.clone()));

        let ingest: IngestArgs = parsed("ingest", plan.args(Service::Ingest).unwrap());
        assert_eq!(ingest.cassandra.contact_points(), plan.contact_points);
        assert_eq!(ingest.kafka.bootstrap, plan.kafka);
        assert_eq!(ingest.metrics_listen.to_string(), plan.metrics_listen);

        let producer: ProducerArgs = parsed("producer", plan.args(Service::Producer).unwrap());
        assert_eq!(producer.kafka.bootstrap, plan.kafka);
        assert_eq!(producer.sensors, 7);
        assert_eq!(producer.rate, 2.5);
        assert_eq!(producer.sensor_prefix, "run_");
        assert_eq!(producer.ledger, Some(plan.producer.ledger.clone()));
        assert_eq!(api.contrast_keyspace, None);
        assert_eq!(
            ingest.give_up_after_ms, None,
            "the main path never gives up"
        );
        assert!(!ingest.no_dead_letters);
        assert!(!plan.services().contains(&Service::ContrastIngest));
    }

    #[test]
    fn the_contrast_lane_is_a_second_ingest_of_its_own_and_the_apis_rf1() {
        let mut plan = plan();
        plan.contrast = true;
        assert_eq!(
            plan.services(),
            [
                Service::Api,
                Service::Ingest,
                Service::ContrastIngest,
                Service::Producer
            ]
        );
        let api: ApiArgs = parsed("api", plan.args(Service::Api).unwrap());
        assert_eq!(
            api.contrast_keyspace.as_ref().map(|k| k.as_str()),
            Some("iot_demo_rf1")
        );
        let main: IngestArgs = parsed("ingest", plan.args(Service::Ingest).unwrap());
        let contrast: IngestArgs = parsed("ingest", plan.args(Service::ContrastIngest).unwrap());
        assert_eq!(contrast.cassandra.keyspace.as_str(), "iot_demo_rf1");
        assert_eq!(main.cassandra.keyspace.as_str(), "iot_demo");
        assert_eq!(contrast.group_id, format!("{}-rf1", main.group_id));
        assert_eq!(contrast.kafka.topic, main.kafka.topic);
        assert_eq!(contrast.metrics_listen.to_string(), "127.0.0.1:9102");
        assert_eq!(contrast.write_consistency, args::Consistency::One);
        assert_eq!(contrast.give_up_after_ms, Some(CONTRAST_GIVE_UP_AFTER_MS));
        assert!(contrast.no_dead_letters);
        assert!(contrast.start_at_latest);
        assert!(!main.no_dead_letters && !main.start_at_latest);
        assert_eq!(main.give_up_after_ms, None);
        assert_eq!(
            plan.binary(Service::ContrastIngest),
            plan.binary(Service::Ingest)
        );
        // No scenario step names it: it is no part of the story.
        assert_eq!(Service::from_name("ingest-rf1"), None);
        assert_eq!(Service::from_name("ingest"), Some(Service::Ingest));
    }

    #[test]
    fn a_plan_the_services_would_refuse_is_refused_before_starting() {
        let mut plan = plan();
        plan.keyspace = "1abc".into();
        assert!(matches!(
            plan.args(Service::Api),
            Err(AppError::ServiceArgs { service: "api", .. })
        ));
        let mut plan = self::plan();
        plan.metrics_listen = "localhost".into();
        assert!(matches!(
            plan.args(Service::Ingest),
            Err(AppError::ServiceArgs {
                service: "ingest",
                ..
            })
        ));
    }
}
