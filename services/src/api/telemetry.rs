//! What the API tells Prometheus, and the layers that measure every request
//! and bound its duration.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use contract::api::ErrorBody;
use contract::headers;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::time::Instant;
use tower_http::timeout::TimeoutLayer;

use crate::api::cluster::NodeStatus;
use crate::metrics;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    node: String,
    address: String,
}

/// What the API counts; shared by the middleware and `GET /metrics`.
#[derive(Debug)]
pub struct ApiMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabel, Histogram>,
    fallbacks: Counter,
    timeouts: Counter,
    node_up: Family<NodeLabels, Gauge>,
    /// Holds handles to the metrics above, under their Prometheus names.
    registry: Registry,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        let mut metrics = ApiMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(metrics::latency_histogram),
            fallbacks: Counter::default(),
            timeouts: Counter::default(),
            node_up: Family::default(),
            registry: Registry::default(),
        };
        let registry = &mut metrics.registry;
        crate::register_metrics!(registry, metrics;
            "api_requests" => requests: "HTTP requests, by route and status",
            "api_request_duration_seconds" => durations: "HTTP request duration, by route",
            "api_read_fallbacks" => fallbacks: "Reads answered at ONE because the configured consistency failed",
            "api_request_timeouts" => timeouts: "Requests cut by the request timeout",
            "api_cassandra_node_up" => node_up: "1 when the node answered its last probe",
        );
        metrics
    }
}

impl ApiMetrics {
    fn record(&self, route: String, status: StatusCode, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                status: status.as_u16(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    /// The answer to `GET /metrics`, with `nodes` as the cluster probes see them.
    pub fn respond(&self, nodes: &[NodeStatus]) -> Response {
        for node in nodes {
            let labels = NodeLabels {
                node: node.name.clone(),
                address: node.address.clone(),
            };
            self.node_up.get_or_create(&labels).set(i64::from(node.up));
        }
        metrics::respond(&self.registry)
    }
}

/// The route label of a request: the last segment of the route that matched
/// (`/sensors/{id}/latest` is `latest`), `static` when none did (the
/// dashboard's files). Only declared routes match, so hostile paths cannot
/// grow the metrics.
fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| matched.as_str().rsplit('/').next())
        .unwrap_or("static")
        .to_owned()
}

/// `routes` with every request measured (route, status, duration, read
/// fallbacks) and cut after `timeout`.
pub fn measured(routes: Router, metrics: Arc<ApiMetrics>, timeout: Duration) -> Router {
    routes
        // 503, as when Cassandra cannot answer: the delay is the server's
        // (408 would tell the client it was too slow to send its request).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(
            Measured { metrics, timeout },
            measure,
        ))
}

#[derive(Clone)]
struct Measured {
    metrics: Arc<ApiMetrics>,
    timeout: Duration,
}

/// Records route, status and duration; gives the timeout's bare 503 the
/// API's JSON error body.
async fn measure(State(measured): State<Measured>, request: Request, next: Next) -> Response {
    let route = route_label(&request);
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    // A handler's own 503 comes before the deadline: the timeout layer
    // answers nothing else once it has passed.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && elapsed >= measured.timeout {
        measured.metrics.timeouts.inc();
        let error = format!("request timed out after {:?}", measured.timeout);
        response = (response.status(), Json(ErrorBody { error })).into_response();
    }
    if response.headers().contains_key(headers::READ_CONSISTENCY) {
        measured.metrics.fallbacks.inc();
    }
    measured.metrics.record(route, response.status(), elapsed);
    response
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(50);

    /// Routes shaped like the API's, behind the same layers.
    fn app(metrics: Arc<ApiMetrics>) -> Router {
        let routes = Router::new()
            .route(
                "/sensors/{id}/latest",
                get(|| async {
                    (
                        [(headers::READ_CONSISTENCY, headers::READ_CONSISTENCY_ONE)],
                        "{}",
                    )
                }),
            )
            .route(
                "/events",
                get(|| async {
                    tokio::time::sleep(TIMEOUT * 20).await;
                    "late"
                }),
            )
            .route("/health", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .fallback(|| async { StatusCode::NOT_FOUND });
        measured(routes, metrics, TIMEOUT)
    }

    async fn get_path(app: &Router, path: &str) -> (StatusCode, String) {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn labels_requests_by_matched_route_and_cuts_slow_ones() {
        let metrics = Arc::new(ApiMetrics::default());
        let app = app(metrics.clone());
        assert_eq!(get_path(&app, "/sensors/s1/latest").await.0, StatusCode::OK);
        assert_eq!(
            get_path(&app, "/../../etc/passwd").await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = get_path(&app, "/events").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, r#"{"error":"request timed out after 50ms"}"#);
        // A handler's own quick 503 is not a timeout.
        assert_eq!(
            get_path(&app, "/health").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );

        let nodes = [NodeStatus {
            name: "PC1".into(),
            address: "127.0.0.1".into(),
            up: true,
            latency_ms: Some(1.0),
            checked_at: None,
            readings: Some(10),
            hints: Vec::new(),
            sees: Default::default(),
        }];
        let response = metrics.respond(&nodes);
        assert_eq!(response.status(), StatusCode::OK);
        let text = metrics::render(&metrics.registry).expect("exposition");
        for needle in [
            "# HELP api_requests_total HTTP requests, by route and status.\n\
             # TYPE api_requests_total counter\n",
            "api_requests_total{route=\"latest\",status=\"200\"} 1\n",
            "api_requests_total{route=\"static\",status=\"404\"} 1\n",
            "api_requests_total{route=\"events\",status=\"503\"} 1\n",
            "api_requests_total{route=\"health\",status=\"503\"} 1\n",
            "# TYPE api_request_duration_seconds histogram\n",
            "api_request_duration_seconds_count{route=\"latest\"} 1\n",
            "api_request_duration_seconds_bucket{route=\"events\",le=\"0.025\"} 0\n",
            "api_request_duration_seconds_bucket{route=\"events\",le=\"0.1\"} 1\n",
            "# TYPE api_read_fallbacks_total counter\napi_read_fallbacks_total 1\n",
            "# HELP api_request_timeouts_total Requests cut by the request timeout.\n\
             # TYPE api_request_timeouts_total counter\n\
             api_request_timeouts_total 1\n",
            "# TYPE api_cassandra_node_up gauge\n\
             api_cassandra_node_up{node=\"PC1\",address=\"127.0.0.1\"} 1\n",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in\n{text}");
        }
    }
}
