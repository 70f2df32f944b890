//! The small HTTP server each service runs beside its real work: `/metrics` for Prometheus,
//! `/healthz` for readiness (503 while a needed connection is down) and `/livez` for liveness.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::oneshot;

use crate::init::TelemetryError;
use crate::metrics::{Health, Metrics};

#[derive(Clone)]
struct ServerState {
    metrics: Metrics,
    health: Health,
}

/// A running metrics server. Dropping the handle leaves the server running for the life of the
/// process; `shutdown()` stops it.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// The address actually bound (useful when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting scrapes and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `addr` and serves `/metrics`, `/healthz` and `/livez` on a background task.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Metrics,
    health: Health,
) -> Result<MetricsServer, TelemetryError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TelemetryError::MetricsBind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| TelemetryError::MetricsBind { addr, source })?;
    let router = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(readiness))
        .route("/readyz", get(readiness))
        .route("/livez", get(liveness))
        .with_state(ServerState { metrics, health });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stop_signal = async move {
            // A dropped handle must not stop the server: only an explicit shutdown does.
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(stop_signal)
            .await
        {
            tracing::error!(%error, "metrics server failed");
        }
    });
    tracing::info!(%local_addr, "metrics and health endpoint listening");
    Ok(MetricsServer {
        local_addr,
        stop: Some(stop),
        task,
    })
}

async fn metrics_text(State(state): State<ServerState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn readiness(State(state): State<ServerState>) -> impl IntoResponse {
    let components = state.health.snapshot();
    let ready = components.values().all(|up| *up);
    let body = serde_json::json!({ "ready": ready, "components": components });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

async fn liveness() -> impl IntoResponse {
    (StatusCode::OK, "alive\n")
}
