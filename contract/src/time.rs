//! How the API and the Kafka messages write a time: RFC 3339 in UTC with
//! milliseconds (`2026-01-04T10:00:01.250Z`), Cassandra's `timestamp`
//! precision. The serde helpers let the response types carry `DateTime<Utc>`
//! while the JSON keeps that exact form.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// `2026-01-04T10:00:01.250Z`
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time (any offset) into UTC.
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

/// `#[serde(with = "contract::time::millis")]` on a `DateTime<Utc>`.
pub mod millis {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "contract::time::millis_or_null")]` on an `Option<DateTime<Utc>>`:
/// `null` when absent.
pub mod millis_or_null {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_timestamp(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| parse_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn milliseconds_and_z() {
        let t = Utc.timestamp_millis_opt(1_767_520_801_250).unwrap();
        assert_eq!(format_timestamp(t), "2026-01-04T10:00:01.250Z");
        assert_eq!(parse_rfc3339("2026-01-04T11:00:01.250+01:00").unwrap(), t);
        assert!(parse_rfc3339("2026-01-04T10:00:01").is_err());
    }
}
