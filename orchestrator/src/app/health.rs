//! Is a running service actually serving? The api and ingest answer
//! `/health` (ingest on its metrics port: 503 with the reason while it cannot
//! consume from Kafka); a live pid, or a metrics page, proves neither.

use std::time::Duration;

/// What a health probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Answering normally.
    Ok,
    /// Answering, but saying something is wrong (api: Cassandra unreachable;
    /// ingest: not consuming, and why).
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
    probe(
        &format!("{}/health", api_url.trim_end_matches('/')),
        timeout,
    )
    .await
}

/// `GET http://<listen>/health` on ingest's metrics port: 200 while it
/// consumes, 503 with the reason while it cannot.
pub async fn ingest(listen: &str, timeout: Duration) -> Health {
    probe(&format!("http://{listen}/health"), timeout).await
}

/// Does the api at `api_url` serve the contrast lane? (`/rf1/sensors` is 404
/// when it was started without it.) False when it cannot tell.
pub async fn serves_contrast(api_url: &str, timeout: Duration) -> bool {
    let Some(client) = client(timeout) else {
        return false;
    };
    let url = format!("{}/rf1/sensors", api_url.trim_end_matches('/'));
    client
        .get(url)
        .send()
        .await
        .is_ok_and(|response| response.status() != reqwest::StatusCode::NOT_FOUND)
}

async fn probe(url: &str, timeout: Duration) -> Health {
    let Some(client) = client(timeout) else {
        return Health::Unreachable("no HTTP client".into());
    };
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => Health::Ok,
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Health::Degraded(degraded_reason(status, &body))
        }
        Err(err) => Health::Unreachable(short_error(&err)),
    }
}

/// The reason a `/health` answer gives: its JSON `error`, else the start of the body.
fn degraded_reason(status: reqwest::StatusCode, body: &str) -> String {
    match serde_json::from_str::<contract::api::Health>(body) {
        Ok(contract::api::Health {
            error: Some(error), ..
        }) => error,
        _ => format!(
            "HTTP {status} {}",
            body.chars().take(120).collect::<String>()
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_degraded_answer_gives_its_reason() {
        let body = r#"{"status":"degraded","error":"not consuming: kafka_unreachable: 1/1 brokers are down"}"#;
        assert_eq!(
            degraded_reason(reqwest::StatusCode::SERVICE_UNAVAILABLE, body),
            "not consuming: kafka_unreachable: 1/1 brokers are down"
        );
        assert_eq!(
            degraded_reason(reqwest::StatusCode::BAD_GATEWAY, "<html>proxy</html>"),
            "HTTP 502 Bad Gateway <html>proxy</html>"
        );
    }
}
