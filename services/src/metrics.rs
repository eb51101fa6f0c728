//! What ingest and the API share to tell Prometheus: the latency buckets and
//! the text exposition of a registry.
//!
//! Each service keeps its metrics in a `prometheus_client` [`Registry`] and
//! serves it in the Prometheus text format (0.0.4), whose sample lines the
//! tests and the bench read by name.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text::{self, CONTENT_TYPE};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the latency buckets: 1 ms .. 5 s.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// An empty latency distribution over [`LATENCY_BUCKETS`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Registers fields of a metrics struct under their Prometheus names, one line
/// each: `name => field: help`. Counters are named without `_total`: the
/// encoder appends it.
#[macro_export]
macro_rules! register_metrics {
    ($registry:expr, $metrics:ident; $($name:expr => $field:ident: $help:expr,)+) => {
        $( $registry.register($name, $help, $metrics.$field.clone()); )+
    };
}

/// The text exposition of `registry`.
pub fn render(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_text::encode(&mut text, registry)?;
    Ok(text)
}

/// The answer to `GET /metrics`: the exposition of `registry`, or a 500.
pub fn respond(registry: &Registry) -> Response {
    match render(registry) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!("cannot render the metrics: {error}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let histogram = latency_histogram();
        for elapsed in [
            Duration::from_micros(500),
            Duration::from_millis(30),
            Duration::from_secs(9),
        ] {
            histogram.observe(elapsed.as_secs_f64());
        }
        let mut registry = Registry::default();
        registry.register("lat_seconds", "Latency", histogram);
        let text = render(&registry).expect("exposition");
        for line in [
            "# TYPE lat_seconds histogram\n",
            "lat_seconds_bucket{le=\"0.001\"} 1\n",
            "lat_seconds_bucket{le=\"0.025\"} 1\n",
            "lat_seconds_bucket{le=\"0.05\"} 2\n",
            "lat_seconds_bucket{le=\"5\"} 2\n",
            "lat_seconds_bucket{le=\"+Inf\"} 3\n",
            "lat_seconds_sum 9.0305\n",
            "lat_seconds_count 3\n",
        ] {
            assert!(text.contains(line), "{line:?} missing in\n{text}");
        }
    }
}
