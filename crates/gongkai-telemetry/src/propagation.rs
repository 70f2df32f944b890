//! W3C trace-context propagation across process boundaries: AMQP message headers (lapin
//! `FieldTable`, values as `LongString`) and gRPC metadata / HTTP headers. The format is always
//! W3C `traceparent` / `tracestate`, whatever global propagator a process has installed, so two
//! services agree even if one of them forgot `init`.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header that carries trace id, parent span id and sampling flag.
pub const TRACEPARENT: &str = "traceparent";
/// The header that carries vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// The OpenTelemetry context of the current `tracing` span (what a message published now should
/// carry).
pub fn current_context() -> Context {
    tracing::Span::current().context()
}

/// Headers for an AMQP message that carry `context`: `traceparent` and, when non-empty,
/// `tracestate`, both as `LongString`. Empty when `context` holds no valid span.
pub fn inject_amqp(context: &Context) -> FieldTable {
    let mut headers = FieldTable::default();
    inject_amqp_into(context, &mut headers);
    headers
}

/// Adds the trace headers of `context` to existing AMQP headers (replacing old ones).
pub fn inject_amqp_into(context: &Context, headers: &mut FieldTable) {
    TraceContextPropagator::new().inject_context(context, &mut AmqpInjector(headers));
}

/// The context carried by AMQP headers; an empty context when the headers carry none or a
/// malformed one (a message without trace headers starts a new trace, it is not an error).
pub fn extract_amqp(headers: &FieldTable) -> Context {
    TraceContextPropagator::new().extract(&AmqpExtractor(headers))
}

/// Same as [`extract_amqp`] for the optional headers lapin hands a consumer.
pub fn extract_amqp_opt(headers: Option<&FieldTable>) -> Context {
    headers.map(extract_amqp).unwrap_or_default()
}

/// Adds the trace headers of `context` to gRPC metadata (client side).
pub fn inject_metadata(context: &Context, metadata: &mut tonic::metadata::MetadataMap) {
    TraceContextPropagator::new().inject_context(context, &mut MetadataInjector(metadata));
}

/// The context a gRPC caller sent in its metadata (server side).
pub fn extract_metadata(metadata: &tonic::metadata::MetadataMap) -> Context {
    TraceContextPropagator::new().extract(&MetadataExtractor(metadata))
}

/// The context carried by HTTP headers (what a tower layer in front of tonic sees).
pub fn extract_http(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Adds the trace headers of `context` to HTTP headers.
pub fn inject_http(context: &Context, headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(context, &mut HeaderInjector(headers));
}

/// A tonic client interceptor that sends the current span's context with every call:
/// `GatewayClient::with_interceptor(channel, gongkai_telemetry::propagation::send_trace_context)`.
#[allow(clippy::result_large_err)] // tonic's interceptor signature returns `Status` by value.
pub fn send_trace_context(
    mut request: tonic::Request<()>,
) -> Result<tonic::Request<()>, tonic::Status> {
    inject_metadata(&current_context(), request.metadata_mut());
    Ok(request)
}

struct AmqpInjector<'a>(&'a mut FieldTable);

impl Injector for AmqpInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(
            ShortString::from(key),
            AMQPValue::LongString(LongString::from(value)),
        );
    }
}

struct AmqpExtractor<'a>(&'a FieldTable);

impl Extractor for AmqpExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // Other producers (e.g. the management UI's "publish message") may send the header as a
        // short string or with a capitalised name; accept both rather than lose the trace.
        let value = self.0.inner().get(key).or_else(|| {
            self.0
                .inner()
                .iter()
                .find(|(name, _)| name.as_str().eq_ignore_ascii_case(key))
                .map(|(_, value)| value)
        })?;
        match value {
            AMQPValue::LongString(text) => std::str::from_utf8(text.as_bytes()).ok(),
            AMQPValue::ShortString(text) => Some(text.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(ShortString::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let key = tonic::metadata::MetadataKey::from_bytes(key.as_bytes());
        let value = tonic::metadata::MetadataValue::try_from(value.as_str());
        if let (Ok(key), Ok(value)) = (key, value) {
            self.0.insert(key, value);
        }
    }
}

struct MetadataExtractor<'a>(&'a tonic::metadata::MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|key| match key {
                tonic::metadata::KeyRef::Ascii(key) => key.as_str(),
                tonic::metadata::KeyRef::Binary(key) => key.as_str(),
            })
            .collect()
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = http::HeaderName::from_bytes(key.as_bytes());
        let value = http::HeaderValue::from_str(&value);
        if let (Ok(name), Ok(value)) = (name, value) {
            self.0.insert(name, value);
        }
    }
}
