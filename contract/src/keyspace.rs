//! The keyspace name, validated once.
//!
//! Statements name their tables fully (`keyspace.table`): Cassandra 5 warns
//! against `USE` with prepared statements, and a name cannot be a bind marker.
//! So the name is spliced into CQL, and a [`Keyspace`] exists only for a name
//! that is safe there: Cassandra's own rule for an unquoted keyspace name, a
//! letter then letters, digits or `_`, 48 characters at most. The services,
//! the inventory and the checker all use this type, so a name one accepts
//! cannot be refused by another later.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names;

/// Cassandra's limit on a keyspace name's length.
pub const MAX_KEYSPACE_LEN: usize = 48;

/// A name Cassandra would refuse as an unquoted keyspace name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid keyspace name {0:?} (expected a letter then up to 47 letters, digits or _)")]
pub struct KeyspaceError(pub String);

/// A valid keyspace name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyspace(String);

impl Keyspace {
    /// Accepts `name` if Cassandra would accept it unquoted.
    pub fn new(name: &str) -> Result<Keyspace, KeyspaceError> {
        if Keyspace::is_valid(name) {
            Ok(Keyspace(name.to_owned()))
        } else {
            Err(KeyspaceError(name.to_owned()))
        }
    }

    /// The one rule: a letter, then letters, digits or `_`, at most 48 in all.
    pub fn is_valid(name: &str) -> bool {
        let mut chars = name.chars();
        name.len() <= MAX_KEYSPACE_LEN
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// `keyspace.table`, for CQL.
    pub fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The demo's keyspace, `iot_demo`.
impl Default for Keyspace {
    fn default() -> Self {
        Keyspace(names::KEYSPACE.to_owned())
    }
}

impl FromStr for Keyspace {
    type Err = KeyspaceError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Keyspace::new(name)
    }
}

impl TryFrom<String> for Keyspace {
    type Error = KeyspaceError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        if Keyspace::is_valid(&name) {
            Ok(Keyspace(name))
        } else {
            Err(KeyspaceError(name))
        }
    }
}

impl From<Keyspace> for String {
    fn from(keyspace: Keyspace) -> String {
        keyspace.0
    }
}

impl fmt::Display for Keyspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for good in ["iot_demo", "iot_demo_rf1", "a", "A1_b", &"k".repeat(48)] {
            assert_eq!(Keyspace::new(good).unwrap().as_str(), good);
        }
        assert_eq!(
            Keyspace::new("iot_demo").unwrap().table("sensors"),
            "iot_demo.sensors"
        );
        assert_eq!(Keyspace::default().as_str(), names::KEYSPACE);
    }

    #[test]
    fn invalid_names() {
        for bad in [
            "",
            "1abc",
            "_abc",
            "a-b",
            "a b",
            "a;DROP",
            "a.b",
            "é",
            "\"quoted\"",
            &"k".repeat(49),
        ] {
            assert_eq!(
                Keyspace::new(bad),
                Err(KeyspaceError(bad.to_owned())),
                "{bad:?}"
            );
            assert!(bad.parse::<Keyspace>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_keeps_the_rule() {
        let keyspace: Keyspace = serde_json::from_str("\"iot_demo\"").unwrap();
        assert_eq!(serde_json::to_string(&keyspace).unwrap(), "\"iot_demo\"");
        assert!(serde_json::from_str::<Keyspace>("\"1abc\"").is_err());
    }
}
