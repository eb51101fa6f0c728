//! Applies `schema.cql` to a cluster, idempotently.
//!
//! The file holds only `IF NOT EXISTS` DDL and option-setting `ALTER TABLE
//! ... WITH`, so applying it on every `lab up` (and before every demo) is
//! safe; afterwards the function waits for schema agreement so the next
//! client sees the tables on every node.

use std::path::Path;
use std::time::Duration;

use iot_services::cassandra::{self, SessionOptions};

use super::LabError;

/// The statements of a CQL file, split on the `;` that end them; comments
/// (`--`, `//`, `/* */`) dropped and blanks outside literals collapsed. A `;`
/// inside a string literal (`'...'`, `$$...$$`), a quoted name or a comment
/// does not end a statement.
pub fn statements(cql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = cql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => statements.push(std::mem::take(&mut current)),
            '\'' | '"' => {
                // A doubled quote inside is an escaped quote: the literal goes on.
                current.push(c);
                while let Some(inner) = chars.next() {
                    current.push(inner);
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            current.extend(chars.next());
                        } else {
                            break;
                        }
                    }
                }
            }
            '$' if chars.peek() == Some(&'$') => {
                current.push_str("$$");
                chars.next();
                let mut previous = None;
                for inner in chars.by_ref() {
                    current.push(inner);
                    if previous == Some('$') && inner == '$' {
                        break;
                    }
                    previous = Some(inner);
                }
            }
            '-' | '/' if chars.peek() == Some(&c) => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                current.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = None;
                for inner in chars.by_ref() {
                    if previous == Some('*') && inner == '/' {
                        break;
                    }
                    previous = Some(inner);
                }
                current.push(' ');
            }
            c if c.is_whitespace() => {
                if !current.ends_with(' ') {
                    current.push(' ');
                }
            }
            c => current.push(c),
        }
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|statement| statement.trim().to_owned())
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Connects to `addresses` (port 9042) with the services' session code and
/// applies every statement of `file`, then waits for schema agreement.
pub async fn apply_file(addresses: &[String], file: &Path) -> Result<(), LabError> {
    let cql = std::fs::read_to_string(file)
        .map_err(LabError::io(format!("reading {}", file.display())))?;
    let mut options = SessionOptions::new(addresses.to_vec());
    // Schema changes wait for every node to agree: far slower than a read.
    options.request_timeout = Duration::from_secs(30);
    options.connect_timeout = Duration::from_secs(5);
    let session = tokio::time::timeout(Duration::from_secs(60), cassandra::connect(&options))
        .await
        .map_err(|_| LabError::Schema("could not connect to Cassandra within 60 s".into()))?
        .map_err(|e| LabError::Schema(e.to_string()))?;
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
    fn a_semicolon_in_a_literal_or_a_comment_does_not_end_a_statement() {
        let cql = "INSERT INTO t (k, v) VALUES (1, 'a;b''s  c');\n\
                   /* block; comment */ UPDATE t SET v = $$x;y$$ WHERE k = 2; // line; comment\n\
                   SELECT \"odd;name\" FROM t;";
        assert_eq!(
            statements(cql),
            vec![
                "INSERT INTO t (k, v) VALUES (1, 'a;b''s  c')",
                "UPDATE t SET v = $$x;y$$ WHERE k = 2",
                "SELECT \"odd;name\" FROM t",
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
