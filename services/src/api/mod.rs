//! The read-only REST API over Cassandra, and the dashboard's web server.
//!
//! It reads Cassandra only (never Kafka): the sensors, their latest reading
//! and history, the scenario events; it also shows each Cassandra node as it
//! sees it. Consistency is QUORUM by default, optionally falling back to ONE.

pub mod cluster;
pub mod params;
pub mod recent;
pub mod routes;
pub mod store;
pub mod telemetry;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::get;
use clap::Parser;
use scylla::statement::Consistency;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::cassandra::{self, CassandraError, parse_consistency};
use crate::config::CassandraArgs;
use crate::shutdown;

use cluster::ClusterView;
use recent::RecentHistory;
use store::Store;
use telemetry::ApiMetrics;

/// Serve the sensors' data and the dashboard over HTTP.
#[derive(Debug, Clone, Parser)]
#[command(name = "api", version)]
pub struct ApiArgs {
    #[command(flatten)]
    pub cassandra: CassandraArgs,

    /// Address and port to listen on.
    #[arg(long, env = "API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory served at `/` (the dashboard); default: the checkout's web/.
    #[arg(long, env = "WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    /// Consistency of the reads (ONE, QUORUM, ALL...).
    #[arg(long, env = "API_READ_CONSISTENCY", default_value = "QUORUM", value_parser = parse_consistency)]
    pub read_consistency: Consistency,

    /// When a read fails at the configured consistency, retry it at ONE and
    /// flag the answer with `X-Read-Consistency: ONE`.
    #[arg(long, env = "API_FALLBACK_TO_ONE")]
    pub fallback_to_one: bool,

    /// Longest time an HTTP request may take before a 503.
    #[arg(
        long,
        env = "API_HTTP_TIMEOUT_MS",
        default_value_t = 5000,
        value_name = "MS"
    )]
    pub http_timeout_ms: u64,

    /// Origins allowed to call the API from a browser (CORS), comma-separated,
    /// or `*`; none by default (the dashboard is served from the same origin).
    #[arg(long, env = "API_CORS_ALLOW_ORIGINS", value_delimiter = ',')]
    pub cors_allow_origin: Vec<String>,

    /// Names of the Cassandra nodes in contact-point order, comma-separated
    /// (default PC1, PC2, ...).
    #[arg(long, env = "API_NODE_NAMES", value_delimiter = ',')]
    pub node_names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiRunError {
    #[error(transparent)]
    Cassandra(#[from] CassandraError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid CORS origin {0:?}")]
    CorsOrigin(String),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// What the handlers share.
pub struct ApiState {
    pub store: Arc<Store>,
    /// Each sensor's newest readings, shared by concurrent history requests.
    pub recent: RecentHistory,
    pub cluster: Arc<ClusterView>,
    pub metrics: Arc<ApiMetrics>,
}

/// Runs the API until SIGTERM/SIGINT.
pub async fn run(args: ApiArgs) -> Result<(), ApiRunError> {
    let stop = shutdown::on_signals().map_err(ApiRunError::Signals)?;
    let cors = cors_layer(&args.cors_allow_origin)?;
    let Some(session) =
        cassandra::connect_with_retry(&args.cassandra.session_options(), &stop).await
    else {
        return Ok(());
    };
    let store = Arc::new(
        Store::new(
            Arc::new(session),
            &args.cassandra.keyspace,
            args.read_consistency,
            args.fallback_to_one,
        )
        .await?,
    );
    let recent = RecentHistory::new(recent::loader(store.clone()));
    let cluster = cluster::start_probes(&args.cassandra.contact_points(), &args.node_names, &stop);
    let state = Arc::new(ApiState {
        store,
        recent,
        cluster,
        metrics: Arc::default(),
    });
    let web_dir = args.web_dir.clone().unwrap_or_else(default_web_dir);
    let timeout = Duration::from_millis(args.http_timeout_ms.max(1));
    let mut app = router(state, &web_dir, timeout);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| ApiRunError::Listen {
            address: args.listen,
            source,
        })?;
    tracing::info!(
        "API on http://{} (reads at {:?}{}), dashboard from {}",
        listener.local_addr().unwrap_or(args.listen),
        args.read_consistency,
        if args.fallback_to_one {
            ", falling back to ONE"
        } else {
            ""
        },
        web_dir.display()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .map_err(ApiRunError::Serve)
}

/// The API's routes over `state`, the dashboard from `web_dir` at `/`, every
/// request measured and bounded by `timeout`.
pub fn router(state: Arc<ApiState>, web_dir: &Path, timeout: Duration) -> Router {
    let metrics = state.metrics.clone();
    let routes = Router::new()
        .route("/sensors", get(routes::sensors))
        .route("/sensors/{id}/latest", get(routes::latest))
        .route("/sensors/{id}/history", get(routes::history))
        .route("/cluster", get(routes::cluster))
        .route("/events", get(routes::events))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics))
        .with_state(state)
        .fallback_service(ServeDir::new(web_dir));
    telemetry::measured(routes, metrics, timeout)
}

fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ApiRunError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let parsed = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| ApiRunError::CorsOrigin((*o).to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(parsed)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET])
            .expose_headers([HeaderName::from_static(routes::READ_CONSISTENCY_HEADER)]),
    ))
}

/// The checkout's `web/`: found from the current directory, else from where
/// the binary was built (target/<profile>/api), else `./web`.
fn default_web_dir() -> PathBuf {
    let is_root = |dir: &Path| dir.join("schema.cql").is_file() && dir.join("web").is_dir();
    let from_cwd = std::env::current_dir().ok();
    let from_exe = std::env::current_exe().ok();
    [from_cwd, from_exe]
        .into_iter()
        .flatten()
        .find_map(|start| {
            start
                .ancestors()
                .find(|dir| is_root(dir))
                .map(|root| root.join("web"))
        })
        .unwrap_or_else(|| PathBuf::from("web"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_lines_are_well_formed() {
        super::ApiArgs::command().debug_assert();
        crate::ingest::IngestArgs::command().debug_assert();
        crate::producer::ProducerArgs::command().debug_assert();
    }
}
