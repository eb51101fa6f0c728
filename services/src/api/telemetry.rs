//! What the API tells Prometheus, and the middleware that measures every
//! request and bounds its duration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;

use crate::api::cluster::NodeStatus;
use crate::metrics::{Counter, Exposition, Histogram, Kind};
use contract::headers::READ_CONSISTENCY as READ_CONSISTENCY_HEADER;

/// Route labels: a fixed set, so hostile paths cannot grow the metrics.
const ROUTES: [&str; 8] = [
    "sensors", "latest", "history", "cluster", "events", "health", "metrics", "static",
];

#[derive(Debug, Default)]
pub struct ApiMetrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    durations: [Histogram; ROUTES.len()],
    pub fallbacks: Counter,
    pub timeouts: Counter,
}

/// The route label of a request path.
pub fn route_of(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["sensors"] => "sensors",
        ["sensors", _, "latest"] => "latest",
        ["sensors", _, "history"] => "history",
        ["cluster"] => "cluster",
        ["events"] => "events",
        ["health"] => "health",
        ["metrics"] => "metrics",
        _ => "static",
    }
}

impl ApiMetrics {
    fn record(&self, route: &'static str, status: StatusCode, elapsed: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route, status.as_u16()))
            .or_default() += 1;
        if let Some(index) = ROUTES.iter().position(|r| *r == route) {
            self.durations[index].observe(elapsed);
        }
    }

    pub fn render(&self, nodes: &[NodeStatus]) -> String {
        let mut e = Exposition::default();
        e.family(
            "api_requests_total",
            "HTTP requests, by route and status.",
            Kind::Counter,
        );
        for ((route, status), count) in self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            e.sample(
                "api_requests_total",
                &[("route", route), ("status", &status.to_string())],
                *count as f64,
            );
        }
        e.family(
            "api_request_duration_seconds",
            "HTTP request duration, by route.",
            Kind::Histogram,
        );
        for (route, histogram) in ROUTES.iter().zip(&self.durations) {
            e.histogram_samples(
                "api_request_duration_seconds",
                &[("route", route)],
                histogram,
            );
        }
        e.counter(
            "api_read_fallbacks_total",
            "Reads answered at ONE because the configured consistency failed.",
            self.fallbacks.get(),
        )
        .counter(
            "api_request_timeouts_total",
            "Requests cut by the request timeout.",
            self.timeouts.get(),
        );
        e.family(
            "api_cassandra_node_up",
            "1 when the node answered its last probe.",
            Kind::Gauge,
        );
        for node in nodes {
            e.sample(
                "api_cassandra_node_up",
                &[("node", &node.name), ("address", &node.address)],
                if node.up { 1.0 } else { 0.0 },
            );
        }
        e.finish()
    }
}

/// State of the middleware.
#[derive(Clone)]
pub struct Measured {
    pub metrics: Arc<ApiMetrics>,
    pub timeout: Duration,
}

/// Times out slow requests (503 JSON) and records route, status and duration.
pub async fn measure(State(measured): State<Measured>, request: Request, next: Next) -> Response {
    let route = route_of(request.uri().path());
    let started = Instant::now();
    let response = match tokio::time::timeout(measured.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            measured.metrics.timeouts.inc();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": format!("request timed out after {:?}", measured.timeout) })),
            )
                .into_response()
        }
    };
    if response.headers().contains_key(READ_CONSISTENCY_HEADER) {
        measured.metrics.fallbacks.inc();
    }
    measured
        .metrics
        .record(route, response.status(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_closed_set() {
        assert_eq!(route_of("/sensors"), "sensors");
        assert_eq!(route_of("/sensors/x/latest"), "latest");
        assert_eq!(route_of("/sensors/x/history"), "history");
        assert_eq!(route_of("/cluster"), "cluster");
        assert_eq!(route_of("/"), "static");
        assert_eq!(route_of("/../../etc/passwd"), "static");
    }

    #[test]
    fn renders_requests_and_nodes() {
        let m = ApiMetrics::default();
        m.record("latest", StatusCode::NOT_FOUND, Duration::from_millis(2));
        let nodes = [NodeStatus {
            name: "PC1".into(),
            address: "127.0.0.1".into(),
            up: true,
            latency_ms: Some(1.0),
            checked_at: None,
        }];
        let text = m.render(&nodes);
        assert!(
            text.contains("api_requests_total{route=\"latest\",status=\"404\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("api_request_duration_seconds_count{route=\"latest\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("api_cassandra_node_up{node=\"PC1\",address=\"127.0.0.1\"} 1\n"),
            "{text}"
        );
    }
}
