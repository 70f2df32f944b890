//! Telemetry shared by every gongkai service: logs, traces and metrics.
//!
//! * [`init`] installs logging (text, or JSON with `LOG_FORMAT=json`, both carrying trace and
//!   span ids) and OpenTelemetry tracing exported over OTLP from the standard `OTEL_*`
//!   variables, and returns a [`TelemetryGuard`] whose `shutdown()` flushes every span.
//! * [`propagation`] carries the W3C trace context through AMQP headers and gRPC metadata.
//! * [`spans`] builds the PRODUCER / CONSUMER / SERVER spans with the semantic-convention
//!   attributes; [`GrpcTelemetryLayer`] puts a SERVER span and metrics around each RPC.
//! * [`error_chain`] renders an error and its causes on one line, each cause once.
//! * [`Metrics`] is the typed Prometheus handle; [`serve_metrics`] serves `/metrics`,
//!   `/healthz` (readiness from [`Health`]) and `/livez`.

pub mod errors;
pub mod grpc;
pub mod init;
pub mod logfmt;
pub mod metrics;
pub mod propagation;
pub mod server;
pub mod spans;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub use errors::error_chain;
pub use grpc::GrpcTelemetryLayer;
pub use init::{TelemetryError, TelemetryGuard, init};
pub use metrics::{Health, InFlightGuard, Metrics, Outcome, Stage};
pub use propagation::{
    current_context, extract_amqp, extract_metadata, inject_amqp, inject_metadata,
    send_trace_context,
};
pub use server::{MetricsServer, serve_metrics};
pub use spans::{
    blob_span, consumer_span, db_span, linked_root_span, producer_span, record_attempt,
    record_error, record_findings, record_report, start_publish, step_span,
};

/// Re-exported so callers can use `.context()`, `.set_parent()` and `.add_link()` on a
/// `tracing::Span` without naming the bridge crate themselves.
pub use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The processes of gongkai, each with its `service.name` and default metrics address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Gateway,
    ParseWorker,
    ValidateWorker,
    ArchiveWorker,
    /// `gongkai up`: every stage in one process, one service name.
    AllInOne,
}

impl Service {
    /// The OpenTelemetry `service.name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gateway => "gongkai-gateway",
            Self::ParseWorker => "gongkai-parse-worker",
            Self::ValidateWorker => "gongkai-validate-worker",
            Self::ArchiveWorker => "gongkai-archive-worker",
            Self::AllInOne => "gongkai",
        }
    }

    /// Where `/metrics` listens unless `METRICS_ADDR` says otherwise; distinct ports so the
    /// services can run side by side on one machine.
    pub fn default_metrics_addr(self) -> SocketAddr {
        let port = match self {
            Self::Gateway | Self::AllInOne => 9464,
            Self::ParseWorker => 9465,
            Self::ValidateWorker => 9466,
            Self::ArchiveWorker => 9467,
        };
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    /// `METRICS_ADDR` when set and valid, otherwise [`Self::default_metrics_addr`].
    pub fn metrics_addr_from_env(self) -> SocketAddr {
        std::env::var("METRICS_ADDR")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| self.default_metrics_addr())
    }
}
