//! Blocking HTTP reads of a service under test, and its Prometheus metrics.
//!
//! The suites are synchronous (they drive processes and wait); these helpers
//! run reqwest on a private runtime per request so a test needs none. A
//! metric is read from the `/metrics` text by its series (name and labels as
//! printed), which is how a test waits until a service has done something.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::wait::Wait;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// A blocking GET with a [`REQUEST_TIMEOUT`].
pub fn get(url: &str) -> Result<Answer, reqwest::Error> {
    let url = url.to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime for one request: {e}"));
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let response = client.get(url).send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    })
}

/// Waits until `url` answers 200.
#[track_caller]
pub fn wait_ok(url: &str, timeout: Duration) -> Answer {
    Wait::new(format!("GET {url} to answer 200"), timeout).until(|| match get(url) {
        Ok(answer) if answer.status == 200 => Ok(answer),
        Ok(answer) => Err(format!("{}: {}", answer.status, answer.body)),
        Err(e) => Err(e.to_string()),
    })
}

/// The value of `series` (`name` or `name{label="value"}`, exactly as the
/// text prints it) in a Prometheus text exposition.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    contract::metrics::value(text, series)
}

/// Reads `series` from the metrics at `metrics_url`; the error says what was
/// seen instead (for waits and assertions).
pub fn read_metric(metrics_url: &str, series: &str) -> Result<f64, String> {
    let answer = get(metrics_url).map_err(|e| format!("GET {metrics_url}: {e}"))?;
    if answer.status != 200 {
        return Err(format!("GET {metrics_url}: {}", answer.status));
    }
    metric_value(&answer.body, series).ok_or_else(|| format!("no {series} in {metrics_url}"))
}

/// Waits until `series` at `metrics_url` satisfies `reached` (described by
/// `what`, e.g. ">= 60"); returns the value that did.
#[track_caller]
pub fn wait_for_metric(
    metrics_url: &str,
    series: &str,
    what: &str,
    timeout: Duration,
    reached: impl Fn(f64) -> bool,
) -> f64 {
    Wait::new(format!("{series} {what} at {metrics_url}"), timeout).until(|| {
        let value = read_metric(metrics_url, series)?;
        if reached(value) {
            Ok(value)
        } else {
            Err(format!("{series} {value}"))
        }
    })
}

/// Waits until `series` at `metrics_url` reads exactly `expected` (a gauge's
/// state, a counter that must stop at a count); returns it.
#[track_caller]
pub fn wait_for_metric_to_be(
    metrics_url: &str,
    series: &str,
    expected: f64,
    timeout: Duration,
) -> f64 {
    wait_for_metric(
        metrics_url,
        series,
        &format!("== {expected}"),
        timeout,
        |value| value == expected,
    )
}

/// Waits until `series` at `metrics_url` reaches `at_least` (a counter's
/// progress); returns the value that did.
#[track_caller]
pub fn wait_for_metric_at_least(
    metrics_url: &str,
    series: &str,
    at_least: f64,
    timeout: Duration,
) -> f64 {
    wait_for_metric(
        metrics_url,
        series,
        &format!(">= {at_least}"),
        timeout,
        |value| value >= at_least,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP ingest_written_total Readings written.\n\
                        # TYPE ingest_written_total counter\n\
                        ingest_written_total 42\n\
                        ingest_written_total_extra 7\n\
                        ingest_dead_lettered_total{reason=\"oversize\"} 1\n\
                        ingest_cassandra_writable 1.0 1700000000000\n";

    #[test]
    fn a_series_is_read_by_its_exact_name_and_labels() {
        assert_eq!(metric_value(TEXT, "ingest_written_total"), Some(42.0));
        assert_eq!(
            metric_value(TEXT, "ingest_dead_lettered_total{reason=\"oversize\"}"),
            Some(1.0)
        );
        assert_eq!(metric_value(TEXT, "ingest_cassandra_writable"), Some(1.0));
        assert_eq!(metric_value(TEXT, "ingest_written"), None);
        assert_eq!(metric_value(TEXT, "ingest_dead_lettered_total"), None);
    }
}
