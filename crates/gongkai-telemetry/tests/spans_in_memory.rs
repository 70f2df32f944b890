//! The span tree the helpers build, checked with the SDK's in-memory exporter: a CONSUMER span
//! parented to the context a message carries and linked to it, steps nested inside it, a SERVER
//! span parented to the caller's `traceparent`, and the gRPC layer's span and metrics.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failure is a failed test

use std::convert::Infallible;

use gongkai_telemetry::spans::{consumer_span, producer_span, record_findings, record_report};
use gongkai_telemetry::{GrpcTelemetryLayer, Metrics, OpenTelemetrySpanExt, inject_amqp};
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::{Layer, Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

fn in_memory_tracing() -> (
    SdkTracerProvider,
    InMemorySpanExporter,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    (provider, exporter, guard)
}

fn finished(provider: &SdkTracerProvider, exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span named {name:?} among {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|span| span.name.to_string()).collect()
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn text(span: &SpanData, key: &str) -> String {
    match attribute(span, key) {
        Some(value) => value.as_str().into_owned(),
        None => panic!("span {:?} lacks {key}: {:?}", span.name, span.attributes),
    }
}

#[test]
fn consumer_span_is_child_of_the_carried_context_and_links_to_it() {
    let (provider, exporter, _guard) = in_memory_tracing();

    let headers = {
        let producer = producer_span("gongkai", "parse", "report-1");
        let _entered = producer.enter();
        inject_amqp(&producer.context())
    };
    assert!(headers.contains_key("traceparent"));

    {
        let consumer = consumer_span("gongkai.parse", "parse", "report-1", Some(&headers));
        record_report(
            &consumer,
            "report-1",
            Some("某某市人民政府办公室"),
            Some(2024),
        );
        record_findings(&consumer, 3, 1, 2);
        let _entered = consumer.enter();
        tracing::info_span!("decode").in_scope(|| {});
        tracing::info_span!("locate_sections").in_scope(|| {});
    }

    let spans = finished(&provider, &exporter);
    let producer = by_name(&spans, "publish parse");
    let consumer = by_name(&spans, "process gongkai.parse");
    let decode = by_name(&spans, "decode");
    let locate = by_name(&spans, "locate_sections");

    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(consumer.span_kind, SpanKind::Consumer);
    let trace_id = producer.span_context.trace_id();
    for span in [consumer, decode, locate] {
        assert_eq!(span.span_context.trace_id(), trace_id, "{}", span.name);
    }
    assert_eq!(consumer.parent_span_id, producer.span_context.span_id());
    assert!(consumer.parent_span_is_remote);
    assert_eq!(consumer.links.links.len(), 1);
    assert_eq!(
        consumer.links.links[0].span_context.span_id(),
        producer.span_context.span_id()
    );
    assert_eq!(decode.parent_span_id, consumer.span_context.span_id());
    assert_eq!(locate.parent_span_id, consumer.span_context.span_id());

    assert_eq!(text(producer, "messaging.system"), "rabbitmq");
    assert_eq!(text(producer, "messaging.destination.name"), "gongkai");
    assert_eq!(
        text(producer, "messaging.rabbitmq.destination.routing_key"),
        "parse"
    );
    assert_eq!(text(producer, "messaging.operation"), "publish");
    assert_eq!(text(producer, "messaging.message.id"), "report-1");
    assert_eq!(
        text(consumer, "messaging.destination.name"),
        "gongkai.parse"
    );
    assert_eq!(text(consumer, "messaging.operation"), "process");
    assert_eq!(text(consumer, "gongkai.report.id"), "report-1");
    assert_eq!(
        text(consumer, "gongkai.report.agency"),
        "某某市人民政府办公室"
    );
    assert_eq!(
        attribute(consumer, "gongkai.report.year"),
        Some(Value::I64(2024))
    );
    assert_eq!(
        attribute(consumer, "gongkai.findings.total"),
        Some(Value::I64(3))
    );
    assert_eq!(
        attribute(consumer, "gongkai.findings.errors"),
        Some(Value::I64(1))
    );
    // The span-kind field is consumed by the bridge, not left as an attribute.
    assert_eq!(attribute(consumer, "otel.kind"), None);
}

#[test]
fn a_message_without_trace_headers_starts_a_new_trace() {
    let (provider, exporter, _guard) = in_memory_tracing();
    consumer_span("gongkai.validate", "validate", "m", None).in_scope(|| {});
    let garbage = {
        let mut headers = lapin::types::FieldTable::default();
        headers.insert(
            "traceparent".into(),
            lapin::types::AMQPValue::LongString("00-not-a-trace-01".into()),
        );
        headers
    };
    consumer_span("gongkai.validate", "validate", "n", Some(&garbage)).in_scope(|| {});
    let spans = finished(&provider, &exporter);
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert_eq!(span.span_kind, SpanKind::Consumer);
        assert_eq!(span.parent_span_id, opentelemetry::trace::SpanId::INVALID);
        assert!(span.links.links.is_empty());
    }
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[test]
fn amqp_headers_round_trip_the_w3c_context() {
    let (provider, exporter, _guard) = in_memory_tracing();
    let span = tracing::info_span!("origin");
    let context = span.context();
    let headers = inject_amqp(&context);
    let traceparent = match headers.inner().get("traceparent") {
        Some(lapin::types::AMQPValue::LongString(value)) => {
            String::from_utf8(value.as_bytes().to_vec()).unwrap()
        }
        other => panic!("traceparent is not a long string: {other:?}"),
    };
    use opentelemetry::trace::TraceContextExt as _;
    let expected = context.span().span_context().clone();
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", expected.trace_id(), expected.span_id())
    );
    let extracted = gongkai_telemetry::extract_amqp(&headers);
    assert_eq!(
        extracted.span().span_context().trace_id(),
        expected.trace_id()
    );
    assert!(extracted.span().span_context().is_remote());
    drop(span);
    drop(finished(&provider, &exporter));

    // gRPC metadata carries the same header.
    let mut metadata = tonic::metadata::MetadataMap::new();
    gongkai_telemetry::inject_metadata(&context, &mut metadata);
    let back = gongkai_telemetry::extract_metadata(&metadata);
    assert_eq!(back.span().span_context().span_id(), expected.span_id());
}

#[tokio::test(flavor = "current_thread")]
async fn grpc_layer_makes_a_server_span_under_the_callers_traceparent_and_counts_the_call() {
    let (provider, exporter, _guard) = in_memory_tracing();
    let metrics = Metrics::new("test");
    let inner = tower::service_fn(|request: http::Request<()>| async move {
        tracing::info_span!("handler").in_scope(|| {});
        let status = if request.uri().path().ends_with("/Submit") {
            "3"
        } else {
            "0"
        };
        Ok::<_, Infallible>(
            http::Response::builder()
                .header("grpc-status", status)
                .body(())
                .unwrap(),
        )
    });
    let mut service = GrpcTelemetryLayer::new(metrics.clone()).layer(inner);
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let request = http::Request::builder()
        .uri("http://gateway/gongkai.v1.Gateway/Submit")
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .body(())
        .unwrap();
    service.ready().await.unwrap().call(request).await.unwrap();
    let health = http::Request::builder()
        .uri("http://gateway/grpc.health.v1.Health/Check")
        .body(())
        .unwrap();
    service.ready().await.unwrap().call(health).await.unwrap();

    let spans = finished(&provider, &exporter);
    let server = by_name(&spans, "gongkai.v1.Gateway/Submit");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.span_context.trace_id().to_string(), caller_trace);
    assert_eq!(server.parent_span_id.to_string(), caller_span);
    assert_eq!(text(server, "rpc.system"), "grpc");
    assert_eq!(text(server, "rpc.service"), "gongkai.v1.Gateway");
    assert_eq!(text(server, "rpc.method"), "Submit");
    assert_eq!(
        attribute(server, "rpc.grpc.status_code"),
        Some(Value::I64(3))
    );
    assert!(matches!(server.status, Status::Error { .. }));
    let handler = by_name(&spans, "handler");
    assert_eq!(handler.parent_span_id, server.span_context.span_id());
    assert!(
        !names(&spans).iter().any(|name| name.contains("Health")),
        "health probes are not traced: {:?}",
        names(&spans)
    );

    let text = metrics.encode();
    assert!(
        text.contains(
            r#"gongkai_grpc_requests_total{method="gongkai.v1.Gateway/Submit",code="INVALID_ARGUMENT"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gongkai_grpc_requests_total{method="grpc.health.v1.Health/Check",code="OK"} 1"#
        ),
        "{text}"
    );
}

#[test]
fn a_linked_root_span_starts_its_own_trace_inside_another() {
    let (provider, exporter, _guard) = in_memory_tracing();
    let call = tracing::info_span!(target: "gongkai_test", "call");
    call.in_scope(|| {
        let context = gongkai_telemetry::current_context();
        gongkai_telemetry::linked_root_span("item 0", &context).in_scope(|| {});
    });
    drop(call);
    let spans = finished(&provider, &exporter);
    let call = by_name(&spans, "call");
    let item = by_name(&spans, "item 0");
    assert_ne!(item.span_context.trace_id(), call.span_context.trace_id());
    assert_eq!(item.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_eq!(item.links.links.len(), 1);
    assert_eq!(
        item.links.links[0].span_context.span_id(),
        call.span_context.span_id()
    );
}

#[test]
fn start_publish_makes_a_producer_child_of_the_current_span_and_injects_it() {
    let (provider, exporter, _guard) = in_memory_tracing();
    let mut headers = lapin::types::FieldTable::default();
    let call = tracing::info_span!(target: "gongkai_test", "call");
    call.in_scope(|| {
        let span = gongkai_telemetry::start_publish("gongkai", "parse", "r-9", &mut headers);
        span.in_scope(|| {});
    });
    drop(call);
    let spans = finished(&provider, &exporter);
    let call = by_name(&spans, "call");
    let producer = by_name(&spans, "publish parse");
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(producer.parent_span_id, call.span_context.span_id());
    use opentelemetry::trace::TraceContextExt as _;
    let carried = gongkai_telemetry::extract_amqp(&headers);
    assert_eq!(
        carried.span().span_context().span_id(),
        producer.span_context.span_id()
    );

    // Outside any span the producer continues the trace the headers carry.
    let span = gongkai_telemetry::start_publish("gongkai", "validate", "r-9", &mut headers);
    drop(span);
    let spans = finished(&provider, &exporter);
    let again = by_name(&spans, "publish validate");
    assert_eq!(again.parent_span_id, producer.span_context.span_id());
    assert_eq!(
        again.span_context.trace_id(),
        producer.span_context.trace_id()
    );
}
