//! A tower layer for the tonic server: one SERVER span per RPC, child of the W3C context the
//! caller sent in its metadata, with the `rpc.*` attributes and the gRPC status; and the
//! per-method request count and latency in [`Metrics`].
//!
//! `Server::builder().layer(GrpcTelemetryLayer::new(metrics))…`

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tracing::Instrument;

use crate::metrics::Metrics;
use crate::propagation::extract_http;
use crate::spans::{record_error, server_span};

/// Wraps a gRPC service with tracing and metrics.
#[derive(Clone, Debug, Default)]
pub struct GrpcTelemetryLayer {
    metrics: Option<Metrics>,
}

impl GrpcTelemetryLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics: Some(metrics),
        }
    }

    /// Spans only, no metrics.
    pub fn tracing_only() -> Self {
        Self { metrics: None }
    }
}

impl<S> tower::Layer<S> for GrpcTelemetryLayer {
    type Service = GrpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTelemetry {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`GrpcTelemetryLayer`] produces.
#[derive(Clone, Debug)]
pub struct GrpcTelemetry<S> {
    inner: S,
    metrics: Option<Metrics>,
}

/// `/package.Service/Method` → (`package.Service`, `Method`).
pub fn split_grpc_path(path: &str) -> (String, String) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.rsplit_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (trimmed.to_owned(), String::new()),
    }
}

/// The canonical name of a numeric gRPC status code.
pub fn grpc_code_name(code: i32) -> &'static str {
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for GrpcTelemetry<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready is the one that must take the call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let (service, method) = split_grpc_path(request.uri().path());
        let metric_method = format!("{service}/{method}");
        let started = Instant::now();

        // Health probes arrive every few seconds; they are counted but not traced.
        if service == "grpc.health.v1.Health" {
            let future = inner.call(request);
            return Box::pin(async move {
                let result = future.await;
                if let Some(metrics) = metrics {
                    metrics.grpc_request(&metric_method, status_name(&result), started.elapsed());
                }
                result
            });
        }

        let span = server_span(&service, &method, extract_http(request.headers()));
        let future = span.in_scope(|| inner.call(request));
        let outer = span.clone();
        Box::pin(
            async move {
                let result = future.await;
                let code = status_code(&result);
                outer.record("rpc.grpc.status_code", code);
                match &result {
                    Err(error) => record_error(&outer, error),
                    Ok(_) if code != 0 => {
                        record_error(&outer, &grpc_code_name(code));
                    }
                    Ok(_) => {}
                }
                if let Some(metrics) = metrics {
                    metrics.grpc_request(&metric_method, grpc_code_name(code), started.elapsed());
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The grpc-status of a response: tonic puts it in the headers of an error answered without a
/// body; a response that has begun normally is OK (a later error would be in the trailers, after
/// this layer has returned).
fn status_code<B, E>(result: &Result<http::Response<B>, E>) -> i32 {
    match result {
        Ok(response) => response
            .headers()
            .get("grpc-status")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i32>().ok())
            .unwrap_or(0),
        Err(_) => tonic::Code::Unknown as i32,
    }
}

fn status_name<B, E>(result: &Result<http::Response<B>, E>) -> &'static str {
    grpc_code_name(status_code(result))
}
