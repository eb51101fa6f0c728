//! Is a running service actually serving? The api answers `/health`, ingest
//! its Prometheus endpoint; a live pid alone proves neither.

use std::time::Duration;

/// What a health probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Answering normally.
    Ok,
    /// Answering, but saying something is wrong (api: Cassandra unreachable).
    Degraded(String),
    /// Not answering.
    Unreachable(String),
}

impl Health {
    pub fn is_ok(&self) -> bool {
        matches!(self, Health::Ok)
    }

    pub fn describe(&self) -> String {
        match self {
            Health::Ok => "ok".to_owned(),
            Health::Degraded(why) => format!("degraded ({why})"),
            Health::Unreachable(why) => format!("not answering ({why})"),
        }
    }
}

fn client(timeout: Duration) -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
        .ok()
}

/// `GET <api_url>/health`: 200 is ok, 503 degraded.
pub async fn api(api_url: &str, timeout: Duration) -> Health {
    let url = format!("{}/health", api_url.trim_end_matches('/'));
    let Some(client) = client(timeout) else {
        return Health::Unreachable("no HTTP client".into());
    };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => Health::Ok,
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Health::Degraded(format!(
                "HTTP {status} {}",
                body.chars().take(120).collect::<String>()
            ))
        }
        Err(err) => Health::Unreachable(short_error(&err)),
    }
}

/// `GET http://<listen>/metrics` answering 200 with Prometheus text.
pub async fn metrics(listen: &str, timeout: Duration) -> Health {
    let url = format!("http://{listen}/metrics");
    let Some(client) = client(timeout) else {
        return Health::Unreachable("no HTTP client".into());
    };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => Health::Ok,
        Ok(response) => Health::Degraded(format!("HTTP {}", response.status())),
        Err(err) => Health::Unreachable(short_error(&err)),
    }
}

fn short_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".into()
    } else if err.is_connect() {
        "connection refused".into()
    } else {
        err.to_string()
    }
}
