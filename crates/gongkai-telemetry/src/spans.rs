//! Span helpers that give every service the same span names, kinds and attributes: the PRODUCER
//! span of a publish, the CONSUMER span of a message taken from a queue (child of the context the
//! message carries, with a link to it), and the report attributes. Attribute names follow the
//! OpenTelemetry semantic conventions for messaging and RPC; the `gongkai.*` ones are ours.

use opentelemetry::trace::{Status, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::propagation::extract_amqp_opt;

/// Attribute names used across the services.
pub mod attr {
    pub const RPC_SYSTEM: &str = "rpc.system";
    pub const RPC_SERVICE: &str = "rpc.service";
    pub const RPC_METHOD: &str = "rpc.method";
    pub const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
    pub const MESSAGING_SYSTEM: &str = "messaging.system";
    pub const MESSAGING_DESTINATION_NAME: &str = "messaging.destination.name";
    pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
    pub const MESSAGING_ROUTING_KEY: &str = "messaging.rabbitmq.destination.routing_key";
    pub const MESSAGING_OPERATION: &str = "messaging.operation";
    pub const MESSAGING_OPERATION_TYPE: &str = "messaging.operation.type";
    pub const REPORT_ID: &str = "gongkai.report.id";
    pub const REPORT_AGENCY: &str = "gongkai.report.agency";
    pub const REPORT_YEAR: &str = "gongkai.report.year";
    pub const REPORT_SHA256: &str = "gongkai.report.sha256";
    pub const FINDINGS_TOTAL: &str = "gongkai.findings.total";
    pub const FINDINGS_ERRORS: &str = "gongkai.findings.errors";
    pub const FINDINGS_WARNINGS: &str = "gongkai.findings.warnings";
    pub const ATTEMPT: &str = "gongkai.attempt";
}

/// The PRODUCER span of publishing one message to `exchange` with `routing_key`. Enter it (or
/// instrument the publish future with it) and build the headers with
/// `inject_amqp(&span.context())` so the consumer becomes its child.
pub fn producer_span(exchange: &str, routing_key: &str, message_id: &str) -> Span {
    let name = format!("publish {routing_key}");
    tracing::info_span!(
        target: "gongkai_telemetry::messaging",
        "publish",
        otel.name = name.as_str(),
        otel.kind = "producer",
        messaging.system = "rabbitmq",
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = routing_key,
        messaging.message.id = message_id,
        messaging.operation = "publish",
        messaging.operation.type = "send",
    )
}

/// The PRODUCER span of one publish, with `headers` rewritten to carry its context (other
/// headers are kept). Its parent is the current span; outside any span (a tool republishing a
/// message) it continues the trace `headers` already carry instead of starting a new one.
/// Instrument the publish with the returned span.
pub fn start_publish(
    exchange: &str,
    routing_key: &str,
    message_id: &str,
    headers: &mut lapin::types::FieldTable,
) -> Span {
    let span = producer_span(exchange, routing_key, message_id);
    if !tracing::Span::current().context().has_active_span() {
        let carried = crate::propagation::extract_amqp(headers);
        if carried.span().span_context().is_valid() {
            let _ = span.set_parent(carried);
        }
    }
    crate::propagation::inject_amqp_into(&span.context(), headers);
    span
}

/// The CONSUMER span of handling one message taken from `queue`. Its parent is the context the
/// message's headers carry (so the stage joins the report's trace) and it also links to that
/// context, as the messaging conventions ask; without trace headers it starts a new trace.
pub fn consumer_span(
    queue: &str,
    routing_key: &str,
    message_id: &str,
    headers: Option<&lapin::types::FieldTable>,
) -> Span {
    let name = format!("process {queue}");
    let span = tracing::info_span!(
        target: "gongkai_telemetry::messaging",
        "process",
        otel.name = name.as_str(),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.destination.name = queue,
        messaging.rabbitmq.destination.routing_key = routing_key,
        messaging.message.id = message_id,
        messaging.operation = "process",
        messaging.operation.type = "process",
        gongkai.report.id = tracing::field::Empty,
        gongkai.attempt = tracing::field::Empty,
    );
    let carried = extract_amqp_opt(headers);
    let linked = carried.span().span_context().clone();
    if linked.is_valid() {
        // The span is not started yet (tracing-opentelemetry builds it lazily), so the parent
        // can still be set here.
        let _ = span.set_parent(carried);
        span.add_link(linked);
    }
    span
}

/// The SERVER span of one gRPC call, child of the caller's context when it sent one.
pub fn server_span(service: &str, method: &str, parent: opentelemetry::Context) -> Span {
    let name = format!("{service}/{method}");
    let span = tracing::info_span!(
        target: "gongkai_telemetry::grpc",
        "rpc",
        otel.name = name.as_str(),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
        gongkai.report.id = tracing::field::Empty,
    );
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span
}

/// A span that starts a trace of its own and links to `linked` (e.g. one item of a bulk
/// SubmitReports stream: each report gets its own trace, linked to the call that carried it).
pub fn linked_root_span(name: &str, linked: &opentelemetry::Context) -> Span {
    let span = tracing::info_span!(
        target: "gongkai_telemetry::grpc",
        parent: None,
        "item",
        otel.name = name,
    );
    let linked = linked.span().span_context().clone();
    if linked.is_valid() {
        // An empty parent context makes the bridge start a new trace instead of inheriting the
        // thread's current OpenTelemetry context.
        let _ = span.set_parent(opentelemetry::Context::new());
        span.add_link(linked);
    }
    span
}

/// Sets the report attributes on `span` (usually the CONSUMER or SERVER span).
pub fn record_report(span: &Span, report_id: &str, agency: Option<&str>, year: Option<i64>) {
    // A declared field is recorded (so log lines written in the span show it too, and the
    // attribute is set once); otherwise it becomes a plain attribute.
    if span.has_field(attr::REPORT_ID) {
        span.record(attr::REPORT_ID, report_id);
    } else {
        span.set_attribute(attr::REPORT_ID, report_id.to_owned());
    }
    if let Some(agency) = agency {
        span.set_attribute(attr::REPORT_AGENCY, agency.to_owned());
    }
    if let Some(year) = year {
        span.set_attribute(attr::REPORT_YEAR, year);
    }
}

/// Sets the finding counts on `span`.
pub fn record_findings(span: &Span, total: usize, errors: usize, warnings: usize) {
    let as_i64 = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
    span.set_attribute(attr::FINDINGS_TOTAL, as_i64(total));
    span.set_attribute(attr::FINDINGS_ERRORS, as_i64(errors));
    span.set_attribute(attr::FINDINGS_WARNINGS, as_i64(warnings));
}

/// Records the delivery attempt (1 for the first processing) on a CONSUMER span.
pub fn record_attempt(span: &Span, attempt: u32) {
    if span.has_field(attr::ATTEMPT) {
        span.record(attr::ATTEMPT, attempt);
    } else {
        span.set_attribute(attr::ATTEMPT, i64::from(attempt));
    }
}

/// A span around one blob-store operation (`get`, `put`, …) on `key`.
pub fn blob_span(operation: &str, key: &str) -> Span {
    let name = format!("blob {operation}");
    tracing::debug_span!(
        target: "gongkai_telemetry::blob",
        "blob",
        otel.name = name.as_str(),
        otel.kind = "client",
        gongkai.blob.operation = operation,
        gongkai.blob.key = key,
    )
}

/// A span around one database call or transaction (`what` says which, e.g.
/// `archive_checked`), with the database semantic-convention attributes.
pub fn db_span(what: &str) -> Span {
    let name = format!("postgresql {what}");
    tracing::debug_span!(
        target: "gongkai_telemetry::db",
        "db",
        otel.name = name.as_str(),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.system = "postgresql",
        db.operation.name = what,
    )
}

/// A span for one step inside a stage (`decode`, `read_document`, `rules`, …).
pub fn step_span(step: &str) -> Span {
    tracing::debug_span!(target: "gongkai_telemetry::step", "step", otel.name = step)
}

/// Marks `span` as failed with a description (shown in red in Jaeger).
pub fn record_error(span: &Span, error: &dyn std::fmt::Display) {
    span.set_status(Status::error(error.to_string()));
}
