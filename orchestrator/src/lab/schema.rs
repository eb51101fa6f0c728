//! Applies `schema.cql` to a cluster, idempotently.
//!
//! The file holds only `IF NOT EXISTS` DDL and option-setting `ALTER TABLE
//! ... WITH`, so applying it on every `lab up` (and before every demo) is
//! safe; afterwards the function waits for schema agreement so the next
//! client sees the tables on every node.

use std::path::Path;
use std::time::Duration;

use scylla::client::session_builder::SessionBuilder;

use super::LabError;

/// The statements of a CQL file: `--` comments dropped, split on `;`.
pub fn statements(cql: &str) -> Vec<String> {
    let without_comments: String = cql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(|statement| statement.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Connects to `addresses` (port 9042) and applies every statement of `file`.
pub async fn apply_file(addresses: &[String], file: &Path) -> Result<(), LabError> {
    let cql = std::fs::read_to_string(file)
        .map_err(LabError::io(format!("reading {}", file.display())))?;
    let session = tokio::time::timeout(
        Duration::from_secs(60),
        SessionBuilder::new()
            .known_nodes(addresses.iter().map(|address| format!("{address}:9042")))
            .connection_timeout(Duration::from_secs(5))
            .build(),
    )
    .await
    .map_err(|_| LabError::Schema("could not connect to Cassandra within 60 s".into()))?
    .map_err(|e| LabError::Schema(format!("connecting to {}: {e}", addresses.join(", "))))?;
    for statement in statements(&cql) {
        session
            .query_unpaged(statement.as_str(), ())
            .await
            .map_err(|e| LabError::Schema(format!("`{statement}`: {e}")))?;
    }
    tokio::time::timeout(Duration::from_secs(60), session.await_schema_agreement())
        .await
        .map_err(|_| LabError::Schema("the nodes did not agree on the schema within 60 s".into()))?
        .map_err(|e| LabError::Schema(format!("waiting for schema agreement: {e}")))?;
    println!("✓ {} applied; schema agreed on every node", file.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_and_drops_comments() {
        let cql = "-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY);\n\n  -- another\nCREATE TABLE b (\n y int PRIMARY KEY\n);\n";
        assert_eq!(
            statements(cql),
            vec![
                "CREATE TABLE a (x int PRIMARY KEY)",
                "CREATE TABLE b ( y int PRIMARY KEY )"
            ]
        );
    }

    #[test]
    fn the_project_schema_is_idempotent_ddl() {
        let cql = include_str!("../../../schema.cql");
        let all = statements(cql);
        assert!(all.len() >= 4);
        for statement in all {
            // Setting a table option to a constant is idempotent; adding or
            // dropping a column would not be.
            let sets_an_option = statement.starts_with("ALTER TABLE")
                && statement.contains(" WITH ")
                && !statement.contains(" ADD ")
                && !statement.contains(" DROP ");
            assert!(
                statement.contains("IF NOT EXISTS") || sets_an_option,
                "not idempotent: {statement}"
            );
        }
    }
}
