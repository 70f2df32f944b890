//! Process-wide set-up: the `tracing` subscriber (filtered logs in text or JSON carrying trace and
//! span ids, plus the OpenTelemetry layer), the OTLP exporter configured by the standard `OTEL_*`
//! variables, the W3C propagator, and the guard that flushes every span on shutdown.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::logfmt::{JsonWithTraceIds, LogFormat, TextWithTraceIds};

/// Which `tracing` spans become OpenTelemetry spans unless `OTEL_SPAN_FILTER` says otherwise:
/// all of ours down to `debug` (the steps inside a stage), only warnings from libraries.
pub const DEFAULT_SPAN_FILTER: &str = "warn,gongkai=debug";

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("RUST_LOG filter `{filter}` is invalid")]
    Filter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL `{0}` is not supported (use `http/protobuf` or `grpc`)")]
    UnsupportedProtocol(String),
    #[error("cannot build the OTLP span exporter for {endpoint}")]
    Exporter {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("cannot start the runtime that carries gRPC span exports")]
    ExportRuntime(#[source] std::io::Error),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
    #[error("flushing spans on shutdown failed")]
    Flush(#[source] opentelemetry_sdk::error::OTelSdkError),
    #[error("cannot bind the metrics endpoint on {addr}")]
    MetricsBind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Keeps the tracer provider alive; `shutdown()` (or dropping it) exports every span still
/// buffered. Hold it in `main` until the service has stopped.
#[must_use = "dropping the guard at once shuts tracing down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    /// gRPC exports need a Tokio reactor while the SDK's batch thread has none; this small
    /// runtime owns the tonic channel so exports work from that thread.
    export_runtime: Option<tokio::runtime::Runtime>,
    service_name: String,
    endpoint: Option<String>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("service_name", &self.service_name)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl TelemetryGuard {
    /// The `service.name` this process reports under.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The OTLP endpoint spans go to, `None` when nothing is exported.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Exports every buffered span and stops the exporter. Safe to call inside a Tokio runtime.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), TelemetryError> {
        let result = match self.provider.take() {
            Some(provider) => {
                // shutdown() blocks on the batch thread; move it off any async worker thread so a
                // caller inside a current-thread runtime does not stall its own reactor.
                let outcome = std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            let _ = provider.force_flush();
                            provider.shutdown_with_timeout(Duration::from_secs(10))
                        })
                        .join()
                });
                match outcome {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(TelemetryError::Flush(error)),
                    Err(_) => Err(TelemetryError::Flush(
                        opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                            "the span flush thread panicked".to_owned(),
                        ),
                    )),
                }
            }
            None => Ok(()),
        };
        if let Some(runtime) = self.export_runtime.take() {
            runtime.shutdown_background();
        }
        result
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown_inner() {
            eprintln!("telemetry shutdown: {error}");
        }
    }
}

/// Installs logging and tracing for a service and returns the guard that flushes spans.
///
/// * `service_name` is the `service.name` resource unless `OTEL_SERVICE_NAME` (or `service.name`
///   in `OTEL_RESOURCE_ATTRIBUTES`) says otherwise.
/// * Logs go to stderr, filtered by `RUST_LOG` (default `info`), as text or, with
///   `LOG_FORMAT=json`, as one JSON object per line; both carry `trace_id` and `span_id`.
/// * Spans are exported over OTLP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
///   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not `true`;
///   `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (default) or `grpc`; `OTEL_TRACES_SAMPLER`
///   and `OTEL_TRACES_SAMPLER_ARG` pick the sampler. Without an endpoint trace ids still exist and
///   still travel to the next process, so a later stage can export a trace the earlier one did not.
///
/// gRPC export needs no caller runtime; `init` may be called before or inside `#[tokio::main]`.
pub fn init(service_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    let filter_text = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&filter_text).map_err(|source| TelemetryError::Filter {
        filter: filter_text.clone(),
        source,
    })?;
    let (provider, export_runtime, endpoint) = build_provider(service_name)?;
    let resolved_name = resolved_service_name(service_name);

    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer("gongkai");
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_error_records_to_exceptions(true);

    let fmt_layer: Box<dyn Layer<Registry> + Send + Sync> = match LogFormat::from_env() {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(TextWithTraceIds::new())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(JsonWithTraceIds::new())
            .with_filter(filter)
            .boxed(),
    };

    // Spans are filtered apart from logs: `RUST_LOG=warn` must quiet the logs without cutting
    // the traces. `OTEL_SPAN_FILTER` (EnvFilter syntax) narrows or widens what becomes a span.
    let span_filter_text =
        std::env::var("OTEL_SPAN_FILTER").unwrap_or_else(|_| DEFAULT_SPAN_FILTER.to_owned());
    let span_filter =
        EnvFilter::try_new(&span_filter_text).map_err(|source| TelemetryError::Filter {
            filter: span_filter_text.clone(),
            source,
        })?;

    let subscriber = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer.with_filter(span_filter));
    // Installed directly rather than with `try_init`, which would also route the `log` crate
    // into tracing: a `log_enabled!` check evaluates the per-layer filters without creating
    // anything, and the verdict it leaves behind was then applied to the next span, silently
    // hiding it from the OpenTelemetry layer.
    tracing::subscriber::set_global_default(subscriber)
        .map_err(TelemetryError::AlreadyInstalled)?;

    tracing::info!(
        service.name = %resolved_name,
        otlp.endpoint = endpoint.as_deref().unwrap_or("none"),
        "telemetry initialised"
    );
    Ok(TelemetryGuard {
        provider: Some(provider),
        export_runtime,
        service_name: resolved_name,
        endpoint,
    })
}

/// The endpoint spans are sent to, or `None` when export is off.
pub fn otlp_endpoint_from_env() -> Option<String> {
    let disabled = std::env::var("OTEL_SDK_DISABLED")
        .map(|value| value.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false);
    let exporter_none = std::env::var("OTEL_TRACES_EXPORTER")
        .map(|value| value.trim().eq_ignore_ascii_case("none"))
        .unwrap_or(false);
    if disabled || exporter_none {
        return None;
    }
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .map(|value| value.trim().to_owned())
    .find(|value| !value.is_empty())
}

/// The protocol named by `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`,
/// `http/protobuf` when neither is set.
pub fn otlp_protocol_from_env() -> Result<Protocol, TelemetryError> {
    let named = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .map(|value| value.trim().to_owned())
    .find(|value| !value.is_empty());
    match named.as_deref() {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("grpc") => Ok(Protocol::Grpc),
        Some(other) => Err(TelemetryError::UnsupportedProtocol(other.to_owned())),
    }
}

fn resource(service_name: &str) -> Resource {
    // The env detectors (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) must win over our default,
    // so the default is added only when they left the name unknown.
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .map(|value| !value.as_str().starts_with("unknown_service"))
        .unwrap_or(false);
    if named {
        detected
    } else {
        Resource::builder()
            .with_service_name(service_name.to_owned())
            .with_attribute(KeyValue::new("service.namespace", "gongkai"))
            .build()
    }
}

fn resolved_service_name(default_name: &str) -> String {
    resource(default_name)
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .map(|value| value.as_str().into_owned())
        .unwrap_or_else(|| default_name.to_owned())
}

type BuiltProvider = (
    SdkTracerProvider,
    Option<tokio::runtime::Runtime>,
    Option<String>,
);

fn build_provider(service_name: &str) -> Result<BuiltProvider, TelemetryError> {
    let builder = SdkTracerProvider::builder().with_resource(resource(service_name));
    let Some(endpoint) = otlp_endpoint_from_env() else {
        return Ok((builder.build(), None, None));
    };
    let exporter_error = |source| TelemetryError::Exporter {
        endpoint: endpoint.clone(),
        source,
    };
    match otlp_protocol_from_env()? {
        Protocol::Grpc => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-grpc-export")
                .enable_all()
                .build()
                .map_err(TelemetryError::ExportRuntime)?;
            let exporter = {
                let _entered = runtime.enter();
                SpanExporter::builder()
                    .with_tonic()
                    .build()
                    .map_err(exporter_error)?
            };
            Ok((
                builder.with_batch_exporter(exporter).build(),
                Some(runtime),
                Some(endpoint),
            ))
        }
        _ => {
            let exporter = SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()
                .map_err(exporter_error)?;
            Ok((
                builder.with_batch_exporter(exporter).build(),
                None,
                Some(endpoint),
            ))
        }
    }
}
