//! The sensor reading: the one message that travels producer → Kafka → ingest →
//! Cassandra → API.
//!
//! It lives here, once, so that what the producer writes, what ingest accepts
//! and what the API returns can never drift apart. Parsing is strict and every
//! refusal carries a typed reason, because a refused message goes to the
//! dead-letter topic with that reason instead of stopping ingest.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest message ingest accepts; a real reading is about 80 bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Longest accepted sensor id.
pub const MAX_SENSOR_ID_LEN: usize = 64;

/// How far in the future a timestamp may be (clock skew between PCs is fine,
/// a reading dated next week is not).
pub const MAX_FUTURE_SKEW: Duration = Duration::days(1);

/// One measurement of one sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub sensor_id: String,
    /// Millisecond precision: what Cassandra's `timestamp` type keeps.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

impl Reading {
    /// The Kafka message value of this reading.
    pub fn to_json(&self) -> String {
        // Serializing a struct of a string, a string and a finite f64 cannot fail;
        // the fallback keeps this function total without an unwrap.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The reading time in milliseconds since the epoch (Cassandra `timestamp`).
    pub fn timestamp_millis(&self) -> i64 {
        self.timestamp.timestamp_millis()
    }
}

/// Why a message is not a reading. `code()` is the stable machine-readable name
/// put on dead-lettered messages; `Display` adds the detail for humans.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("message is {size} bytes, more than the {MAX_MESSAGE_BYTES} allowed")]
    Oversize { size: usize },
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("message is JSON but not an object")]
    NotAnObject,
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("value is not a finite number")]
    NonFiniteValue,
    #[error("timestamp {0:?} is not RFC 3339 (or YYYY-MM-DDTHH:MM:SS, read as UTC)")]
    UnparseableTimestamp(String),
    #[error("timestamp {0} is before 2000 or more than a day in the future")]
    AbsurdTimestamp(String),
    #[error("sensor id {0:?} is not 1 to 64 characters of A-Z a-z 0-9 _ . -")]
    BadSensorId(String),
}

impl Rejection {
    /// Stable reason name, e.g. `malformed_json`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Oversize { .. } => "oversize",
            Rejection::MalformedJson(_) => "malformed_json",
            Rejection::NotAnObject => "not_an_object",
            Rejection::MissingField(_) => "missing_field",
            Rejection::WrongType { .. } => "wrong_type",
            Rejection::NonFiniteValue => "non_finite_value",
            Rejection::UnparseableTimestamp(_) => "unparseable_timestamp",
            Rejection::AbsurdTimestamp(_) => "absurd_timestamp",
            Rejection::BadSensorId(_) => "bad_sensor_id",
        }
    }
}

/// Is `id` an acceptable sensor id: 1..=64 characters of `[A-Za-z0-9_.-]`?
/// The API applies the same rule to its path parameter.
pub fn is_valid_sensor_id(id: &str) -> bool {
    (1..=MAX_SENSOR_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Parses and validates a Kafka message value received at `now`.
pub fn parse_reading(payload: &[u8], now: DateTime<Utc>) -> Result<Reading, Rejection> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection::Oversize {
            size: payload.len(),
        });
    }
    let document: Value =
        serde_json::from_slice(payload).map_err(|e| classify_json_error(payload, &e))?;
    let Value::Object(fields) = document else {
        return Err(Rejection::NotAnObject);
    };

    let sensor_id = match fields.get("sensor_id") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("sensor_id")),
        Some(Value::String(id)) => id,
        Some(_) => {
            return Err(Rejection::WrongType {
                field: "sensor_id",
                expected: "a string",
            });
        }
    };
    if !is_valid_sensor_id(sensor_id) {
        return Err(Rejection::BadSensorId(truncated(sensor_id)));
    }

    let value = match fields.get("value") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("value")),
        Some(Value::Number(n)) => n.as_f64().ok_or(Rejection::NonFiniteValue)?,
        // Some producers write non-finite floats as strings ("NaN", "inf").
        Some(Value::String(s)) if s.parse::<f64>().is_ok_and(|v| !v.is_finite()) => {
            return Err(Rejection::NonFiniteValue);
        }
        Some(_) => {
            return Err(Rejection::WrongType {
                field: "value",
                expected: "a number",
            });
        }
    };
    if !value.is_finite() {
        return Err(Rejection::NonFiniteValue);
    }

    let timestamp = match fields.get("timestamp") {
        None | Some(Value::Null) => return Err(Rejection::MissingField("timestamp")),
        Some(Value::String(s)) => parse_timestamp(s)?,
        Some(_) => {
            return Err(Rejection::WrongType {
                field: "timestamp",
                expected: "an RFC 3339 string",
            });
        }
    };
    check_plausible(timestamp, now)?;

    Ok(Reading {
        sensor_id: sensor_id.clone(),
        timestamp,
        value,
    })
}

/// Parses an RFC 3339 timestamp, or the zone-less `YYYY-MM-DDTHH:MM:SS[.fff]`
/// of the original brief read as UTC, truncated to milliseconds.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, Rejection> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| Utc.from_utc_datetime(&t))
        })
        .map_err(|_| Rejection::UnparseableTimestamp(truncated(text)))?;
    Utc.timestamp_millis_opt(parsed.timestamp_millis())
        .single()
        .ok_or_else(|| Rejection::UnparseableTimestamp(truncated(text)))
}

/// Formats a time the way every JSON of the project does (the contract's
/// form, `2026-01-04T10:00:01.250Z`).
pub use contract::time::format_timestamp;

fn check_plausible(t: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Rejection> {
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d));
    let too_old = earliest.is_some_and(|earliest| t < earliest);
    if too_old || t > now + MAX_FUTURE_SKEW {
        return Err(Rejection::AbsurdTimestamp(format_timestamp(t)));
    }
    Ok(())
}

/// serde_json refuses `NaN`, `Infinity` and `1e999`; those are non-finite
/// values rather than broken JSON, and the DLQ reason should say so.
fn classify_json_error(payload: &[u8], error: &serde_json::Error) -> Rejection {
    if error.to_string().contains("number out of range") {
        return Rejection::NonFiniteValue;
    }
    let text = String::from_utf8_lossy(payload);
    if let Some(line) = text.lines().nth(error.line().saturating_sub(1)) {
        let rest: String = line
            .chars()
            .skip(error.column().saturating_sub(1))
            .collect();
        let rest = rest.trim_start_matches(['-', '+']);
        if rest.starts_with("NaN") || rest.starts_with("Infinity") || rest.starts_with("inf") {
            return Rejection::NonFiniteValue;
        }
    }
    Rejection::MalformedJson(error.to_string())
}

/// Keeps hostile input from bloating logs and DLQ reasons.
fn truncated(text: &str) -> String {
    const KEEP: usize = 80;
    if text.chars().count() <= KEEP {
        text.to_owned()
    } else {
        let mut kept: String = text.chars().take(KEEP).collect();
        kept.push('…');
        kept
    }
}

/// Serde adapter for the project's timestamp format.
pub mod rfc3339_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_timestamp(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 4, 12, 0, 0).unwrap()
    }

    fn parse(text: &str) -> Result<Reading, Rejection> {
        parse_reading(text.as_bytes(), now())
    }

    #[test]
    fn accepts_the_contract_message() {
        let r = parse(
            r#"{"sensor_id":"sensor_01","timestamp":"2026-01-04T10:00:01.250Z","value":22.7}"#,
        )
        .unwrap();
        assert_eq!(r.sensor_id, "sensor_01");
        assert_eq!(format_timestamp(r.timestamp), "2026-01-04T10:00:01.250Z");
        assert_eq!(r.value, 22.7);
    }

    #[test]
    fn zone_less_timestamp_is_utc_and_offsets_are_converted() {
        let r = parse(r#"{"sensor_id":"a","timestamp":"2026-01-04T10:00:01","value":1}"#).unwrap();
        assert_eq!(format_timestamp(r.timestamp), "2026-01-04T10:00:01.000Z");
        let r = parse(r#"{"sensor_id":"a","timestamp":"2026-01-04T11:00:01.5+01:00","value":1}"#)
            .unwrap();
        assert_eq!(format_timestamp(r.timestamp), "2026-01-04T10:00:01.500Z");
    }

    #[test]
    fn sub_millisecond_precision_is_truncated() {
        let r = parse(r#"{"sensor_id":"a","timestamp":"2026-01-04T10:00:01.123999Z","value":1}"#)
            .unwrap();
        assert_eq!(format_timestamp(r.timestamp), "2026-01-04T10:00:01.123Z");
    }

    #[test]
    fn serialization_round_trips() {
        let r =
            parse(r#"{"sensor_id":"s.1-x","timestamp":"2026-01-04T10:00:01.250Z","value":-3.5}"#)
                .unwrap();
        assert_eq!(
            r.to_json(),
            r#"{"sensor_id":"s.1-x","timestamp":"2026-01-04T10:00:01.250Z","value":-3.5}"#
        );
        assert_eq!(parse(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn every_kind_of_bad_message_has_its_reason() {
        let cases: Vec<(&str, &str)> = include_str!("testdata/bad_readings.tsv")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| line.split_once('\t').expect("reason<TAB>message"))
            .collect();
        assert_eq!(
            cases.len(),
            20,
            "every case of testdata/bad_readings.tsv read"
        );
        for (code, text) in cases {
            let rejection = parse(text).expect_err(text);
            assert_eq!(rejection.code(), code, "{text}: {rejection}");
        }
    }

    #[test]
    fn oversize_is_checked_before_parsing() {
        let big = format!(
            r#"{{"sensor_id":"a","timestamp":"2026-01-04T10:00:01Z","value":1,"pad":"{}"}}"#,
            "x".repeat(5000)
        );
        assert_eq!(parse(&big).unwrap_err().code(), "oversize");
    }

    #[test]
    fn sensor_id_rule() {
        assert!(is_valid_sensor_id("sensor_01"));
        assert!(is_valid_sensor_id(&"a".repeat(64)));
        assert!(!is_valid_sensor_id(&"a".repeat(65)));
        assert!(!is_valid_sensor_id("é"));
        assert!(!is_valid_sensor_id("a/b"));
    }

    #[test]
    fn a_day_of_clock_skew_is_tolerated() {
        assert!(parse(r#"{"sensor_id":"a","timestamp":"2026-01-05T11:59:59Z","value":1}"#).is_ok());
        assert!(parse(r#"{"sensor_id":"a","timestamp":"2000-01-01T00:00:00Z","value":1}"#).is_ok());
    }
}
