//! The metrics one crate serves and another reads: ingest's, which the conductor
//! samples into a run's timeline (rate, lag, whether it consumes). Named here once,
//! with the one reader of the Prometheus text format both the conductor and the
//! tests use.

/// Readings written to Cassandra (a counter: exposed as `ingest_written_total`).
pub const INGEST_WRITTEN: &str = "ingest_written";
/// Messages not yet committed, one series per partition.
pub const INGEST_CONSUMER_LAG: &str = "ingest_consumer_lag";
/// 1 while ingest can consume from Kafka, 0 while it cannot.
pub const INGEST_KAFKA_CONSUMING: &str = "ingest_kafka_consuming";

/// The series a counter registered as `name` is exposed under.
pub fn counter(name: &str) -> String {
    format!("{name}_total")
}

/// The value of `series` (`name` or `name{label="value"}`, exactly as the text
/// prints it) in a text exposition.
pub fn value(text: &str, series: &str) -> Option<f64> {
    samples(text)
        .find(|(name, _)| *name == series)
        .map(|(_, value)| value)
}

/// The sum of every series of metric `name` (with or without labels); `None` when
/// the text has none.
pub fn sum(text: &str, name: &str) -> Option<f64> {
    samples(text)
        .filter(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
        })
        .map(|(_, value)| value)
        .reduce(|a, b| a + b)
}

/// `(series, value)` of each sample line; comments and unreadable lines skipped.
fn samples(text: &str) -> impl Iterator<Item = (&str, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            // Label values may hold spaces: the series ends at the closing brace.
            let end = match line.find('{') {
                Some(_) => line.rfind('}')? + 1,
                None => line.find(' ')?,
            };
            let (series, rest) = line.split_at(end);
            let value = rest.split_whitespace().next()?.parse().ok()?;
            Some((series, value))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP ingest_written Readings written\n\
# TYPE ingest_written counter\n\
ingest_written_total 42\n\
ingest_consumer_lag{partition=\"0\"} 3\n\
ingest_consumer_lag{partition=\"1\"} 4.5\n\
ingest_consumer_lag_other 100\n\
ingest_not_consuming{reason=\"no broker up\"} 1\n\
ingest_kafka_consuming 1\n";

    #[test]
    fn values_and_sums_are_read_from_the_text_format() {
        assert_eq!(value(TEXT, &counter(INGEST_WRITTEN)), Some(42.0));
        assert_eq!(value(TEXT, INGEST_KAFKA_CONSUMING), Some(1.0));
        assert_eq!(
            value(TEXT, "ingest_consumer_lag{partition=\"1\"}"),
            Some(4.5)
        );
        assert_eq!(
            value(TEXT, "ingest_not_consuming{reason=\"no broker up\"}"),
            Some(1.0)
        );
        assert_eq!(sum(TEXT, INGEST_CONSUMER_LAG), Some(7.5));
        assert_eq!(sum(TEXT, "absent"), None);
        assert_eq!(value("", INGEST_WRITTEN), None);
    }
}
