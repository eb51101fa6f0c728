//! The HTTP endpoints, answering with the JSON bodies of [`contract::api`]
//! (which the dashboard, the conductor and the tests read), plus the error
//! mapping: client mistakes are 400/404 with `{"error": ...}`, a Cassandra
//! that cannot answer is 503.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use contract::api::{ClusterNode, ClusterStatus, ErrorBody, Health, LatestReading, SensorSummary};
use contract::events::ScenarioEvent;
use contract::headers;
use serde::Serialize;

use crate::api::params::{self, BadRequest};
use crate::api::store::Read;
use crate::api::{ApiState, DataLane};
use crate::cassandra::QueryError;

/// Why a request failed, and the status that says so.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    NotFound(String),
    Unavailable(String),
}

impl From<BadRequest> for ApiError {
    fn from(e: BadRequest) -> Self {
        ApiError::BadRequest(e.0)
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        tracing::warn!("Cassandra read failed: {e}");
        ApiError::Unavailable(format!("Cassandra cannot answer: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

/// A JSON answer read from Cassandra; flags a fallback to ONE in a header.
pub struct Answer<T> {
    body: T,
    fell_back: bool,
    /// Some rows are the last good copy (a replica was silent); said in a header.
    stale: bool,
}

impl<T> From<Read<T>> for Answer<T> {
    /// A read answered as it is, its fallback and staleness said in headers.
    fn from(read: Read<T>) -> Self {
        Answer {
            body: read.value,
            fell_back: read.fell_back,
            stale: read.stale,
        }
    }
}

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        flag_read(Json(self.body).into_response(), self.fell_back, self.stale)
    }
}

/// Says in headers that a read fell back to ONE, or that part of it is stale.
fn flag_read(mut response: Response, fell_back: bool, stale: bool) -> Response {
    if fell_back {
        response.headers_mut().insert(
            headers::READ_CONSISTENCY,
            HeaderValue::from_static(headers::READ_CONSISTENCY_ONE),
        );
    }
    if stale {
        response.headers_mut().insert(
            headers::DATA_STALE,
            HeaderValue::from_static(headers::DATA_STALE_TRUE),
        );
    }
    response
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn query_params(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params
        .map(|Query(map)| map)
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.body_text())))
}

fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) =
        id.map_err(|e| ApiError::BadRequest(format!("invalid path: {}", e.body_text())))?;
    params::sensor_id(&id)?;
    Ok(id)
}

/// `GET /sensors` (and `/rf1/sensors`)
pub async fn sensors(
    State(state): State<Arc<DataLane>>,
) -> Result<Answer<Vec<SensorSummary>>, ApiError> {
    Ok(state.store.sensors().await?.into())
}

/// `GET /sensors/{id}/latest` (and under `/rf1/`)
pub async fn latest(
    State(state): State<Arc<DataLane>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Answer<LatestReading>, ApiError> {
    let id = path_id(id)?;
    let read = state.store.latest(&id).await?;
    let Some(point) = read.value else {
        return Err(ApiError::NotFound(format!("unknown sensor {id:?}")));
    };
    Ok(Answer {
        body: LatestReading {
            sensor_id: id,
            timestamp: point.timestamp,
            value: point.value,
        },
        fell_back: read.fell_back,
        stale: read.stale,
    })
}

/// `GET /sensors/{id}/history?since=&until=&limit=` (and under `/rf1/`)
pub async fn history(
    State(state): State<Arc<DataLane>>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let query = params::history(&query_params(query)?, Utc::now())?;
    // Most requests are answered from the sensor's recent readings, read once
    // for all concurrent requests, their JSON made once too.
    if let Some(answer) = state.recent.answer(&id, &query).await {
        if answer.empty && !answer.known {
            ensure_known(&state, &id).await?;
        }
        let response = ([(header::CONTENT_TYPE, "application/json")], answer.json).into_response();
        return Ok(flag_read(response, answer.fell_back, false));
    }
    let read = state.store.history(&id, &query).await?;
    if read.value.is_empty() {
        ensure_known(&state, &id).await?;
    }
    Ok(Answer::from(read).into_response())
}

/// An empty window is a valid answer, but only for a sensor that exists.
async fn ensure_known(state: &DataLane, id: &str) -> Result<(), ApiError> {
    if state.store.is_known(id).await?.value {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("unknown sensor {id:?}")))
    }
}

/// `GET /cluster`
pub async fn cluster(State(state): State<Arc<ApiState>>) -> Json<ClusterStatus> {
    let nodes = state.cluster.snapshot();
    let checked_at = nodes
        .iter()
        .filter_map(|n| n.checked_at)
        .max()
        .unwrap_or_else(Utc::now);
    Json(ClusterStatus {
        checked_at,
        nodes: nodes
            .into_iter()
            .map(|n| ClusterNode {
                name: n.name,
                address: n.address,
                up: n.up,
                latency_ms: n.latency_ms,
                readings: n.readings,
                hints: n.hints,
                sees: n.sees,
            })
            .collect(),
    })
}

/// `GET /events?limit=`: today's and yesterday's (UTC) scenario events, newest first.
pub async fn events(
    State(state): State<Arc<ApiState>>,
    query: Params,
) -> Result<Answer<Vec<ScenarioEvent>>, ApiError> {
    let limit = params::events_limit(&query_params(query)?)?;
    let today = Utc::now().date_naive();
    let days = [today, today - Duration::days(1)].map(|d| d.format("%Y-%m-%d").to_string());
    Ok(state.main.store.events(&days, limit).await?.into())
}

/// `GET /health`: 200 when a Cassandra node answers, 503 otherwise.
pub async fn health(State(state): State<Arc<ApiState>>) -> Response {
    match state.main.store.ping().await {
        Ok(()) => Json(Health::ok()).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health::degraded(format!("Cassandra unreachable: {error}"))),
        )
            .into_response(),
    }
}

/// Any `/rf1/...` while the API runs without the contrast lane.
pub async fn contrast_off() -> ApiError {
    ApiError::NotFound(
        "the contrast lane is off: start the API with --contrast-keyspace (demo services up --contrast)"
            .into(),
    )
}

/// `GET /metrics`
pub async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    state.metrics.respond(&state.cluster.snapshot())
}
