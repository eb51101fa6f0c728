//! The read-only REST API over Cassandra, and the dashboard's web server.
//!
//! It reads Cassandra only (never Kafka): the sensors, their latest reading
//! and history, the scenario events; it also shows each Cassandra node as it
//! sees it. Consistency is QUORUM by default, optionally falling back to ONE.
//! With `--contrast-keyspace` it also serves the same sensor endpoints under
//! `/rf1/` from the contrast lane's keyspace (a single copy, read at ONE).

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
use contract::args::ApiArgs;
use contract::headers;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::cassandra::{self, CassandraError};
use crate::config;
use crate::shutdown;

use cluster::ClusterView;
use recent::RecentHistory;
use store::Store;
use telemetry::ApiMetrics;

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
    /// The main data (its store also reads the events and answers health).
    pub main: Arc<DataLane>,
    pub cluster: Arc<ClusterView>,
    pub metrics: Arc<ApiMetrics>,
}

/// One keyspace's sensors, as the sensor endpoints serve them.
pub struct DataLane {
    pub store: Arc<Store>,
    /// Each sensor's newest readings, shared by concurrent history requests.
    pub recent: RecentHistory,
}

impl DataLane {
    fn new(store: Store) -> Arc<Self> {
        let store = Arc::new(store);
        let recent = RecentHistory::new(recent::loader(store.clone()));
        Arc::new(DataLane { store, recent })
    }
}

/// Runs the API until SIGTERM/SIGINT.
pub async fn run(args: ApiArgs) -> Result<(), ApiRunError> {
    let stop = shutdown::on_signals().map_err(ApiRunError::Signals)?;
    let cors = cors_layer(&args.cors_allow_origin)?;
    let Some(session) =
        cassandra::connect_with_retry(&config::session_options(&args.cassandra), &stop).await
    else {
        return Ok(());
    };
    let session = Arc::new(session);
    let main = DataLane::new(
        Store::new(
            session.clone(),
            &args.cassandra.keyspace,
            config::driver_consistency(args.read_consistency),
            args.fallback_to_one,
        )
        .await?,
    );
    let contrast = match &args.contrast_keyspace {
        // The lane is a counter-example: without it the main data is still served.
        Some(keyspace) => match Store::contrast(session, keyspace).await {
            Ok(store) => Some(DataLane::new(store)),
            Err(error) => {
                tracing::warn!("contrast lane off: cannot read keyspace {keyspace}: {error}");
                None
            }
        },
        None => None,
    };
    let cluster = cluster::start_probes(
        &args.cassandra.contact_points(),
        &args.node_names,
        &args.cassandra.keyspace,
        &stop,
    );
    let state = Arc::new(ApiState {
        main,
        cluster,
        metrics: Arc::default(),
    });
    let web_dir = args.web_dir.clone().unwrap_or_else(default_web_dir);
    let timeout = Duration::from_millis(args.http_timeout_ms.max(1));
    let contrast_keyspace = contrast.as_ref().and(args.contrast_keyspace.as_ref());
    let mut app = router(state, contrast.clone(), &web_dir, timeout);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }

    let listener = config::listener(args.listen, args.listen_fd)
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
    if let Some(keyspace) = contrast_keyspace {
        tracing::info!("contrast lane on: /rf1/ serves {keyspace} at ONE");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .map_err(ApiRunError::Serve)
}

/// The API's routes over `state` (and `/rf1/` over the contrast lane, if on),
/// the dashboard from `web_dir` at `/`, every request measured and bounded by `timeout`.
pub fn router(
    state: Arc<ApiState>,
    contrast: Option<Arc<DataLane>>,
    web_dir: &Path,
    timeout: Duration,
) -> Router {
    let metrics = state.metrics.clone();
    let contrast_routes = match contrast {
        Some(lane) => sensor_routes(lane),
        None => Router::new().fallback(routes::contrast_off),
    };
    let routes = Router::new()
        .merge(sensor_routes(state.main.clone()))
        .nest("/rf1", contrast_routes)
        .route("/cluster", get(routes::cluster))
        .route("/events", get(routes::events))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics))
        .with_state(state)
        .fallback_service(ServeDir::new(web_dir));
    telemetry::measured(routes, metrics, timeout)
}

/// The sensor endpoints over one lane's data.
fn sensor_routes<S>(lane: Arc<DataLane>) -> Router<S> {
    Router::new()
        .route("/sensors", get(routes::sensors))
        .route("/sensors/{id}/latest", get(routes::latest))
        .route("/sensors/{id}/history", get(routes::history))
        .with_state(lane)
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
            .expose_headers([HeaderName::from_static(headers::READ_CONSISTENCY)]),
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
