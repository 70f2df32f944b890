//! The gongkai gRPC gateway as a library: `gongkai.v1.ReportService` over the content-addressed
//! blob store, the PostgreSQL archive and the RabbitMQ pipeline, plus `grpc.health.v1.Health`
//! and server reflection (`v1` and `v1alpha`) so that grpcurl and generic clients work.
//!
//! [`serve`] is the whole gateway (the `gongkai-gateway` binary is a thin wrapper around it;
//! `gongkai up` runs it beside the workers). [`Gateway::connect`] + [`Gateway::serve_on`] let a
//! caller bind the listener itself (tests bind port 0).

mod auth;
mod batches;
mod caller;
mod config;
mod convert;
mod error;
mod limits;
mod metrics;
mod outbox;
mod oversized;
mod review;
mod service;

pub use auth::{MAX_TOKEN_AGE, MISS_RELOAD_AFTER, REFRESH_INTERVAL, TokenCache};
pub use batches::BATCH_POLL_INTERVAL;
pub use caller::Caller;
pub use config::{
    AuthMode, DEFAULT_MAX_REPORT_BYTES, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_SUBMIT_RATE,
    DEFAULT_SUBMIT_STREAM_BYTES, GatewayConfig, MetricsAddr, SubmitRate,
};
pub use error::GatewayError;
pub use review::UNAUTHENTICATED_CALLER;
pub use service::ReportServiceImpl;

use gongkai_archive::Archive;
use gongkai_blob::BlobStore;
use gongkai_proto::v1::report_service_server::ReportServiceServer;
use gongkai_queue::Broker;
use gongkai_telemetry::{GrpcTelemetryLayer, Health, Metrics};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic_health::ServingStatus;

/// How often the gateway checks its broker connection and its database for `Health`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);

/// A connected gateway, ready to serve.
pub struct Gateway {
    config: GatewayConfig,
    service: ReportServiceImpl,
    broker: Broker,
    metrics: Metrics,
    health: Health,
    /// The input of the queued-notes writer, started by [`Gateway::serve_on`].
    queued_notes: tokio::sync::mpsc::UnboundedReceiver<uuid::Uuid>,
    /// The active caller tokens; `None` when authentication is off.
    tokens: Option<TokenCache>,
    /// The TLS settings, read from `GRPC_TLS_*` at connect time so that a bad file fails fast.
    tls: Option<tonic::transport::ServerTlsConfig>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Opens the blob store, the archive (creating the database and applying migrations) and
    /// the broker connection (declaring the topology). Fails fast when one is not there.
    pub async fn connect(config: GatewayConfig) -> Result<Gateway, GatewayError> {
        Gateway::connect_with(config, Metrics::new("gongkai-gateway")).await
    }

    /// [`Gateway::connect`] recording into `metrics` (shared with the workers in `gongkai up`).
    pub async fn connect_with(
        config: GatewayConfig,
        metrics: Metrics,
    ) -> Result<Gateway, GatewayError> {
        let blobs = BlobStore::open(&config.blob_store)?;
        let archive = Archive::connect_with_pool_size(&config.database_url, config.db_pool).await?;
        let broker = Broker::connect(&config.amqp_url, "gongkai-gateway").await?;
        let publisher = broker.publisher().await?;
        let health = Health::new(&["amqp", "postgres"]).with_metrics(&metrics);
        health.set("amqp", true);
        health.set("postgres", true);
        let tls = tls_config(&config)?;
        let tokens = if config.auth_required() {
            Some(TokenCache::load(archive.clone()).await?)
        } else {
            if !config.grpc_addr.ip().is_loopback() {
                tracing::warn!(
                    addr = %config.grpc_addr,
                    "AUTH=off on an address reachable from elsewhere: any client may call"
                );
            }
            None
        };
        let (queued, queued_notes) = outbox::QueuedNotes::new();
        let service = ReportServiceImpl::new(
            &config,
            blobs,
            archive,
            publisher,
            Some(metrics.clone()),
            queued,
        );
        tracing::info!(
            blob_store = service.blobs.location(),
            max_report_bytes = config.max_report_bytes,
            auth = tokens.is_some(),
            tls = tls.is_some(),
            client_certificates = config.tls_client_ca.is_some(),
            "gateway connected"
        );
        Ok(Gateway {
            config,
            service,
            broker,
            metrics,
            health,
            queued_notes,
            tokens,
            tls,
        })
    }

    /// The readiness state (`amqp`, `postgres`) the gateway keeps up to date while serving.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes the calls in progress.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<ReportServiceServer<ReportServiceImpl>>()
            .await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(gongkai_proto::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(gongkai_proto::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let Gateway {
            config,
            service,
            broker,
            metrics,
            health,
            queued_notes,
            tokens,
            tls,
        } = self;
        let token_refresh = tokens
            .clone()
            .map(|tokens| tokio::spawn(tokens.refresh_forever()));
        let notes_writer = tokio::spawn(outbox::write_notes(service.archive.clone(), queued_notes));
        let sweeper = tokio::spawn(outbox::sweep(
            service.archive.clone(),
            service.publisher.clone(),
            config.clone(),
        ));
        let monitor = tokio::spawn(monitor_health(
            broker.clone(),
            service.archive.clone(),
            health.clone(),
            health_reporter,
        ));

        let limit = config.max_decoding_message_size();
        let reports = ReportServiceServer::new(service.clone())
            .max_decoding_message_size(limit)
            .max_encoding_message_size(usize::MAX);
        let local = listener.local_addr().ok();
        tracing::info!(addr = ?local, "gateway serving gRPC");
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            server = server.tls_config(tls)?;
        }
        // Outermost first: telemetry sees every call, refusals included; authentication runs
        // before any body is read; the size bound wraps the body the service will decode.
        let result = server
            .layer(GrpcTelemetryLayer::new(metrics.clone()))
            .layer(oversized::OversizedStatusLayer {
                max_report_bytes: config.max_report_bytes,
            })
            .layer(auth::AuthLayer { tokens })
            .layer(limits::RequestSizeLayer {
                max_request_bytes: config.max_request_bytes,
            })
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(reports)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                shutdown,
            )
            .await;
        monitor.abort();
        sweeper.abort();
        if let Some(task) = token_refresh {
            task.abort();
        }
        // The notes of the last calls are written before the broker connection closes; the
        // writer ends once the service (holding the sending end) is gone.
        drop(service);
        if tokio::time::timeout(std::time::Duration::from_secs(5), notes_writer)
            .await
            .is_err()
        {
            tracing::warn!("queued notes not all written; the recovery sweep will cover them");
        }
        broker.close().await;
        tracing::info!("gateway stopped");
        result.map_err(GatewayError::from)
    }
}

/// The server TLS settings of `GRPC_TLS_CERT`, `GRPC_TLS_KEY` and `GRPC_TLS_CLIENT_CA`.
fn tls_config(
    config: &GatewayConfig,
) -> Result<Option<tonic::transport::ServerTlsConfig>, GatewayError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        if config.tls_cert.is_some() || config.tls_key.is_some() || config.tls_client_ca.is_some() {
            return Err(GatewayError::TlsSettings(
                "GRPC_TLS_CERT and GRPC_TLS_KEY go together (and GRPC_TLS_CLIENT_CA needs both)",
            ));
        }
        return Ok(None);
    };
    let read = |path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|source| GatewayError::TlsFile {
            path: path.clone(),
            source,
        })
    };
    // rustls is built with both ring and aws-lc-rs in this tree, so it cannot choose a
    // provider by itself: ring, the one tonic's `tls-ring` uses (an earlier choice stands).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identity = tonic::transport::Identity::from_pem(read(cert)?, read(key)?);
    let mut tls = tonic::transport::ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &config.tls_client_ca {
        tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
    }
    Ok(Some(tls))
}

/// Binds `addr` (port 0 picks a free one).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GatewayError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}

/// The whole gateway: connects, serves `/metrics` and `/healthz` when configured, listens on
/// `GRPC_ADDR` and serves until `shutdown` resolves.
pub async fn serve(
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let gateway = Gateway::connect(config.clone()).await?;
    let metrics_server = match config.metrics_addr.0 {
        Some(addr) => {
            Some(gongkai_telemetry::serve_metrics(addr, gateway.metrics(), gateway.health()).await?)
        }
        None => None,
    };
    let listener = bind(config.grpc_addr).await?;
    let result = gateway.serve_on(listener, shutdown).await;
    if let Some(server) = metrics_server {
        server.shutdown().await;
    }
    result
}

/// Keeps the gRPC health status and the `/healthz` readiness in step with the broker
/// connection and the database.
async fn monitor_health(
    broker: Broker,
    archive: Archive,
    health: Health,
    reporter: tonic_health::server::HealthReporter,
) {
    let mut last = None;
    loop {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        let amqp = broker.is_connected();
        let postgres = matches!(
            tokio::time::timeout(HEALTH_INTERVAL, archive.ping()).await,
            Ok(Ok(()))
        );
        health.set("amqp", amqp);
        health.set("postgres", postgres);
        let serving = amqp && postgres;
        if last != Some(serving) {
            let status = if serving {
                ServingStatus::Serving
            } else {
                tracing::warn!(amqp, postgres, "gateway not ready");
                ServingStatus::NotServing
            };
            reporter
                .set_service_status("gongkai.v1.ReportService", status)
                .await;
            reporter.set_service_status("", status).await;
            last = Some(serving);
        }
    }
}
