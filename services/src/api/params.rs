//! Validation of the API's client input: sensor ids and history parameters.
//!
//! Everything a client sends is checked here before any query is built, so a
//! hostile or sloppy request gets a 400 with a JSON explanation and never
//! reaches Cassandra in a shape that could fail there (a 5xx).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::reading::{MAX_SENSOR_ID_LEN, is_valid_sensor_id, parse_timestamp};

/// History window when `since` is not given.
pub const DEFAULT_WINDOW: Duration = Duration::minutes(5);
pub const DEFAULT_HISTORY_LIMIT: i32 = 300;
pub const MAX_HISTORY_LIMIT: i32 = 10_000;
pub const DEFAULT_EVENTS_LIMIT: i32 = 50;
pub const MAX_EVENTS_LIMIT: i32 = 1_000;

/// A client mistake, shown to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// A checked history query.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub limit: i32,
}

/// Accepts a sensor id from the path, or says why not.
pub fn sensor_id(id: &str) -> Result<&str, BadRequest> {
    if is_valid_sensor_id(id) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(MAX_SENSOR_ID_LEN + 1).collect();
        Err(BadRequest(format!(
            "invalid sensor id {shown:?}: expected 1 to {MAX_SENSOR_ID_LEN} characters of A-Z a-z 0-9 _ . -"
        )))
    }
}

/// `since`, `until` (RFC 3339) and `limit` of `/history`, with defaults:
/// until = now, since = until - 5 minutes, limit = 300 (at most 10 000).
pub fn history(
    params: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<HistoryQuery, BadRequest> {
    let until = match params.get("until") {
        Some(text) => timestamp("until", text)?,
        None => now,
    };
    let since = match params.get("since") {
        Some(text) => timestamp("since", text)?,
        None => until - DEFAULT_WINDOW,
    };
    if since > until {
        return Err(BadRequest("`since` is after `until`".into()));
    }
    let limit = limit(params, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT)?;
    Ok(HistoryQuery {
        since,
        until,
        limit,
    })
}

/// `limit` of `/events` (default 50, at most 1000).
pub fn events_limit(params: &HashMap<String, String>) -> Result<i32, BadRequest> {
    limit(params, DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)
}

fn limit(params: &HashMap<String, String>, default: i32, max: i32) -> Result<i32, BadRequest> {
    let Some(text) = params.get("limit") else {
        return Ok(default);
    };
    match text.trim().parse::<i32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(BadRequest(format!(
            "invalid limit {:?}: expected an integer from 1 to {max}",
            shorten(text)
        ))),
    }
}

fn timestamp(name: &str, text: &str) -> Result<DateTime<Utc>, BadRequest> {
    // An unencoded `+01:00` in a query string arrives as ` 01:00`.
    parse_timestamp(text)
        .or_else(|_| parse_timestamp(&text.replace(' ', "+")))
        .map_err(|_| {
            BadRequest(format!(
                "invalid `{name}` {:?}: expected an RFC 3339 time such as 2026-01-04T10:00:00Z",
                shorten(text)
            ))
        })
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 4, 12, 0, 0).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_last_five_minutes_and_300() {
        let q = history(&params(&[]), now()).unwrap();
        assert_eq!(q.until, now());
        assert_eq!(q.since, now() - Duration::minutes(5));
        assert_eq!(q.limit, 300);
    }

    #[test]
    fn explicit_bounds_and_limit() {
        let q = history(
            &params(&[
                ("since", "2026-01-04T10:00:00Z"),
                ("until", "2026-01-04T11:00:00 01:00"),
                ("limit", "10000"),
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(q.since, Utc.with_ymd_and_hms(2026, 1, 4, 10, 0, 0).unwrap());
        assert_eq!(q.until, Utc.with_ymd_and_hms(2026, 1, 4, 10, 0, 0).unwrap());
        assert_eq!(q.limit, 10_000);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for bad in [
            params(&[("limit", "0")]),
            params(&[("limit", "10001")]),
            params(&[("limit", "-1")]),
            params(&[("limit", "ten")]),
            params(&[("limit", "99999999999999999999")]),
            params(&[("since", "yesterday")]),
            params(&[("until", "")]),
            params(&[
                ("since", "2026-01-04T11:00:00Z"),
                ("until", "2026-01-04T10:00:00Z"),
            ]),
        ] {
            assert!(history(&bad, now()).is_err(), "{bad:?}");
        }
        assert!(events_limit(&params(&[("limit", "1001")])).is_err());
        assert_eq!(events_limit(&params(&[])).unwrap(), 50);
    }

    #[test]
    fn sensor_ids() {
        assert_eq!(sensor_id("sensor_01").unwrap(), "sensor_01");
        assert!(sensor_id("").is_err());
        assert!(sensor_id(&"x".repeat(65)).is_err());
        assert!(sensor_id("a/b").is_err());
        assert!(sensor_id("a'; DROP TABLE x;--").is_err());
    }
}
