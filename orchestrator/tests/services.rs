//! `demo services up | status | down` against the lab, on free ports.
//!
//! The services run from the built binaries (target/debug), with an
//! inventory that is the lab's except for the API's port, their pid files
//! and logs in a temporary directory, and ingest's metrics on a free port:
//! nothing here collides with a demo running on the usual ports. The
//! conductor binds those ports itself (from the inventory), so they are
//! picked free and released first; if another process takes one meanwhile,
//! `up` fails to bind and the test tries fresh ports.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{require_lab, root};
use test_support::{assert_contains, released_port};

/// How many pairs of ports `up` is tried on before the test gives up.
const PORT_ATTEMPTS: usize = 3;

/// The lab's inventory with the API moved to `api_port`.
fn hosts_with_api_port(dir: &Path, api_port: u16) -> PathBuf {
    let lab =
        std::fs::read_to_string(root().join(".lab/hosts.toml")).expect("the lab's hosts.toml");
    let mut inventory: toml::Table = toml::from_str(&lab).expect("the lab's hosts.toml parses");
    let app = inventory
        .get_mut("app")
        .and_then(toml::Value::as_table_mut)
        .expect("[app] section");
    app.insert("api_listen".into(), format!("127.0.0.1:{api_port}").into());
    app.insert(
        "api_url".into(),
        format!("http://127.0.0.1:{api_port}").into(),
    );
    let path = dir.join("hosts.toml");
    std::fs::write(&path, toml::to_string(&inventory).expect("serialises")).expect("written");
    path
}

struct Services {
    hosts: PathBuf,
    state: PathBuf,
    metrics: String,
}

impl Services {
    fn demo(&self, verb: &str) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_demo"))
            .arg("--hosts")
            .arg(&self.hosts)
            .args(["services", verb])
            .env("DEMO_SERVICES_DIR", &self.state)
            .env("INGEST_METRICS_LISTEN", &self.metrics)
            .current_dir(root())
            .output()
            .expect("the demo binary runs");
        println!(
            "demo services {verb}: {:?}\n{}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// Stops the services even when an assertion fails.
impl Drop for Services {
    fn drop(&mut self) {
        let _ = self.demo("down");
    }
}

fn pid_in(state: &Path, service: &str) -> Option<i32> {
    std::fs::read_to_string(state.join(format!("{service}.pid")))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.contains(") Z"))
}

#[test]
fn services_come_up_report_health_and_go_down() {
    require_lab();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (services, api_port, up) = (1..=PORT_ATTEMPTS)
        .map(|attempt| {
            let api_port = released_port();
            let services = Services {
                hosts: hosts_with_api_port(dir.path(), api_port),
                state: dir.path().join(format!("services-{attempt}")),
                metrics: format!("127.0.0.1:{}", released_port()),
            };
            let up = services.demo("up");
            (services, api_port, up)
        })
        .find(|(_, _, up)| {
            up.status.success() || !String::from_utf8_lossy(&up.stderr).contains("in use")
        })
        .unwrap_or_else(|| panic!("every port tried was taken before `up` bound it"));
    assert!(up.status.success(), "services up failed");
    let text = String::from_utf8_lossy(&up.stdout);
    assert_contains(&text, format!("dashboard: http://127.0.0.1:{api_port}/"));

    let pids: Vec<i32> = ["api", "ingest", "producer"]
        .iter()
        .map(|service| {
            pid_in(&services.state, service).unwrap_or_else(|| panic!("no pid file for {service}"))
        })
        .collect();
    assert!(pids.iter().all(|pid| alive(*pid)), "{pids:?}");
    assert!(services.state.join("producer.log").is_file());
    assert!(
        services
            .state
            .join("ledger.jsonl")
            .metadata()
            .is_ok_and(|meta| meta.len() > 0)
    );

    // A second `up` starts nothing new.
    let again = services.demo("up");
    assert!(again.status.success());
    assert_eq!(pid_in(&services.state, "api"), Some(pids[0]));
    assert!(String::from_utf8_lossy(&again.stdout).contains("was up"));

    let status = services.demo("status");
    assert!(status.status.success(), "status reports a problem");
    let text = String::from_utf8_lossy(&status.stdout);
    for (service, pid) in ["api", "ingest", "producer"].iter().zip(&pids) {
        let line = text
            .lines()
            .find(|line| line.starts_with(service))
            .unwrap_or_else(|| panic!("no status line for {service}: {text}"));
        assert!(
            line.contains(&pid.to_string()) && line.contains(" yes ") && line.contains("ok"),
            "{line}"
        );
    }

    let down = services.demo("down");
    assert!(down.status.success());
    assert!(
        pids.iter().all(|pid| !alive(*pid)),
        "a service survived `down`"
    );
    assert!(pid_in(&services.state, "api").is_none());

    let status = services.demo("status");
    assert!(
        !status.status.success(),
        "status must fail when nothing runs"
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("not running"));
}
