//! Cassandra sessions tuned for the demonstration's failover.
//!
//! The demo switches a Cassandra PC off (or freezes it) while ingest writes and
//! the API reads. A stopped node resets its connections and the driver moves on
//! at once; a frozen node keeps them open and silent, so without tuning every
//! request routed to it would hang for the whole request timeout. Here the
//! sessions get short connection/keepalive timeouts (a silent connection is
//! dropped within a few seconds), a bounded request timeout, and speculative
//! execution: an idempotent request not answered within a fraction of a second
//! is also sent to another node and the first answer wins. Every statement of
//! the services is idempotent and prepared through [`prepare`], which marks it
//! so; without that mark the driver never speculates or retries.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{ExecutionError, NewSessionError, PrepareError, RequestAttemptError};
use scylla::policies::host_filter::AllowListHostFilter;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::speculative_execution::SimpleSpeculativeExecutionPolicy;
use scylla::response::query_result::QueryResult;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;

pub use contract::args::split_contact_points;

use crate::backoff::Backoff;
use tokio_util::sync::CancellationToken;

/// CQL's port when a contact point gives none.
pub const DEFAULT_CQL_PORT: u16 = 9042;

#[derive(Debug, thiserror::Error)]
pub enum CassandraError {
    #[error("no Cassandra contact point given")]
    NoContactPoint,
    #[error("bad Cassandra address {address:?}: {source}")]
    BadAddress {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot connect to Cassandra at {contact_points}: {source}")]
    Connect {
        contact_points: String,
        source: Box<NewSessionError>,
    },
    #[error("Cassandra did not answer within {0:?} while connecting")]
    ConnectTimeout(Duration),
    #[error("cannot prepare `{cql}`: {source}")]
    Prepare {
        cql: String,
        source: Box<PrepareError>,
    },
}

/// Errors of a query: the request itself, or a result of an unexpected shape.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Execution(Box<ExecutionError>),
    #[error("unexpected result from Cassandra: {0}")]
    Result(String),
}

impl QueryError {
    /// Does this error concern a node or a connection rather than the request
    /// (a pool just broken by a killed node, a plan that ran out of connected
    /// nodes)? A new attempt a moment later gets a fresh plan and usually
    /// succeeds; a timeout or a refusal by Cassandra is not retried.
    pub fn is_transient(&self) -> bool {
        let QueryError::Execution(error) = self else {
            return false;
        };
        matches!(
            **error,
            ExecutionError::ConnectionPoolError(_)
                | ExecutionError::EmptyPlan
                | ExecutionError::LastAttemptError(
                    RequestAttemptError::BrokenConnectionError(_)
                        | RequestAttemptError::UnableToAllocStreamId
                )
        )
    }
}

impl From<ExecutionError> for QueryError {
    fn from(error: ExecutionError) -> Self {
        QueryError::Execution(Box::new(error))
    }
}

/// How to reach the cluster and how patient to be with it.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `host` or `host:port`, any number; all three nodes in the demo.
    pub contact_points: Vec<String>,
    /// Default consistency of statements that do not set their own.
    pub consistency: Consistency,
    /// Upper bound of one request, speculative executions and retries included.
    pub request_timeout: Duration,
    /// When an idempotent request has not been answered after this long, also
    /// send it to the next node of the plan (`None`: never).
    pub speculative_delay: Option<Duration>,
    /// How many extra executions a request may start.
    pub speculative_attempts: usize,
    /// Opening a connection (TCP + CQL handshake) gives up after this long; a
    /// frozen node accepts TCP but never answers the handshake.
    pub connect_timeout: Duration,
    /// A connection is probed this often, and dropped when a probe is not
    /// answered within `keepalive_timeout`.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
}

impl SessionOptions {
    /// Options tuned for failover within about two seconds.
    pub fn new(contact_points: Vec<String>) -> Self {
        SessionOptions {
            contact_points,
            consistency: Consistency::Quorum,
            request_timeout: Duration::from_secs(2),
            speculative_delay: Some(Duration::from_millis(150)),
            speculative_attempts: 2,
            connect_timeout: Duration::from_secs(2),
            keepalive_interval: Duration::from_secs(2),
            keepalive_timeout: Duration::from_secs(4),
        }
    }
}

/// Opens a session to the cluster through `options.contact_points`; the driver
/// then discovers and uses every node.
pub async fn connect(options: &SessionOptions) -> Result<Session, CassandraError> {
    if options.contact_points.is_empty() {
        return Err(CassandraError::NoContactPoint);
    }
    let nodes: Vec<String> = options
        .contact_points
        .iter()
        .map(|p| with_default_port(p))
        .collect();
    let builder = tuned_builder(options).known_nodes(&nodes);
    build(builder, options, nodes.join(",")).await
}

/// [`connect`], retried with backoff (and logged) until the cluster answers;
/// `None` when stop is requested first. Services start before or during a
/// Cassandra outage and must wait for it rather than exit.
pub async fn connect_with_retry(
    options: &SessionOptions,
    stop: &CancellationToken,
) -> Option<Session> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match connect(options).await {
            Ok(session) => return Some(session),
            Err(error) => tracing::warn!("{error}; retrying"),
        }
        backoff.sleep(stop).await?;
    }
}

/// Opens a session that talks to the node at `address` only (the other nodes
/// are filtered out: no connection, never a coordinator). Probes and checks use
/// it to ask one node, e.g. "do you answer?" or "what do you hold?", without the
/// driver silently routing around it.
pub async fn connect_single_node(
    address: &str,
    request_timeout: Duration,
) -> Result<Session, CassandraError> {
    let node = with_default_port(address);
    let socket: SocketAddr = node
        .to_socket_addrs()
        .map_err(|source| CassandraError::BadAddress {
            address: address.to_owned(),
            source,
        })?
        .next()
        .ok_or_else(|| CassandraError::BadAddress {
            address: address.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "resolves to nothing"),
        })?;
    let filter =
        AllowListHostFilter::new([socket]).map_err(|source| CassandraError::BadAddress {
            address: address.to_owned(),
            source,
        })?;
    let mut options = SessionOptions::new(vec![node.clone()]);
    options.request_timeout = request_timeout;
    options.connect_timeout = request_timeout;
    // Only one node can answer: speculating would just resend to it.
    options.speculative_delay = None;
    options.consistency = Consistency::One;
    let builder = tuned_builder(&options)
        .known_node_addr(socket)
        .host_filter(Arc::new(filter));
    build(builder, &options, node).await
}

/// Prepares `cql` with its consistency, marked idempotent (every statement of
/// the services is: plain inserts/upserts and reads).
pub async fn prepare(
    session: &Session,
    cql: &str,
    consistency: Consistency,
) -> Result<PreparedStatement, CassandraError> {
    let mut statement = session
        .prepare(cql)
        .await
        .map_err(|source| CassandraError::Prepare {
            cql: cql.to_owned(),
            source: Box::new(source),
        })?;
    statement.set_consistency(consistency);
    statement.set_is_idempotent(true);
    Ok(statement)
}

/// `host` → `host:9042`; `host:port` and `[v6]:port` unchanged.
pub fn with_default_port(contact_point: &str) -> String {
    let has_port = match contact_point.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    };
    if has_port {
        contact_point.to_owned()
    } else if contact_point.contains(':') && !contact_point.starts_with('[') {
        format!("[{contact_point}]:{DEFAULT_CQL_PORT}")
    } else {
        format!("{contact_point}:{DEFAULT_CQL_PORT}")
    }
}

fn tuned_builder(options: &SessionOptions) -> SessionBuilder {
    let mut profile = ExecutionProfile::builder()
        .consistency(options.consistency)
        .request_timeout(Some(options.request_timeout))
        .load_balancing_policy(DefaultPolicy::builder().token_aware(true).build());
    if let Some(delay) = options.speculative_delay {
        profile = profile.speculative_execution_policy(Some(Arc::new(
            SimpleSpeculativeExecutionPolicy {
                max_retry_count: options.speculative_attempts,
                retry_interval: delay,
            },
        )));
    }
    SessionBuilder::new()
        .default_execution_profile_handle(profile.build().into_handle())
        .connection_timeout(options.connect_timeout)
        .keepalive_interval(options.keepalive_interval)
        .keepalive_timeout(options.keepalive_timeout)
        .metadata_request_serverside_timeout(options.request_timeout)
        .metadata_request_clientside_timeout(options.request_timeout)
        .schema_agreement_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
}

async fn build(
    builder: SessionBuilder,
    options: &SessionOptions,
    described: String,
) -> Result<Session, CassandraError> {
    // The driver's own timeouts bound each step, but not the sum over several
    // contact points; this bounds the whole.
    let patience = options.connect_timeout * (options.contact_points.len() as u32 + 2);
    match tokio::time::timeout(patience, builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(source)) => Err(CassandraError::Connect {
            contact_points: described,
            source: Box::new(source),
        }),
        Err(_) => Err(CassandraError::ConnectTimeout(patience)),
    }
}

/// Every row of `result`, deserialised as `R`.
pub fn rows<R>(result: QueryResult) -> Result<Vec<R>, QueryError>
where
    R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
{
    let rows = result
        .into_rows_result()
        .map_err(|e| QueryError::Result(e.to_string()))?;
    rows.rows::<R>()
        .map_err(|e| QueryError::Result(e.to_string()))?
        .collect::<Result<Vec<R>, _>>()
        .map_err(|e| QueryError::Result(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_points_get_the_cql_port() {
        assert_eq!(with_default_port("127.0.0.1"), "127.0.0.1:9042");
        assert_eq!(with_default_port("127.0.0.1:19042"), "127.0.0.1:19042");
        assert_eq!(with_default_port("pc1.lan"), "pc1.lan:9042");
        assert_eq!(with_default_port("::1"), "[::1]:9042");
        assert_eq!(with_default_port("[::1]:9043"), "[::1]:9043");
    }

    #[test]
    fn only_node_level_errors_are_transient() {
        let pool_broken = QueryError::from(ExecutionError::EmptyPlan);
        assert!(pool_broken.is_transient());
        let timeout = QueryError::from(ExecutionError::RequestTimeout(Duration::from_secs(2)));
        assert!(!timeout.is_transient());
        assert!(!QueryError::Result("bad row".into()).is_transient());
    }
}
