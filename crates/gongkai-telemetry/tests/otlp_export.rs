//! `init` end to end, in child processes (the subscriber and the environment are per process):
//! spans reach a real OTLP receiver over http/protobuf and over gRPC, `shutdown()` flushes them,
//! `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` / `OTEL_TRACES_SAMPLER` are honoured, and
//! log lines (text and JSON) carry the trace and span ids of the spans they were written in.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failure is a failed test

mod support;

use std::process::Output;

use tracing::Instrument;

use support::{KIND_CONSUMER, KIND_PRODUCER, ReceivedSpan};

const CHILD_FLAG: &str = "GONGKAI_TELEMETRY_CHILD";

/// Runs in the child process: initialise telemetry from the environment, emit a producer span,
/// a consumer span that continues its context, a step and a log line, then shut down.
#[test]
#[ignore = "run by the other tests of this file in a child process with its own environment"]
fn child_emits_spans() {
    assert!(
        std::env::var(CHILD_FLAG).is_ok(),
        "only meaningful as a child of the other tests"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let guard = gongkai_telemetry::init("gongkai-test-child").unwrap();
        if std::env::var("GONGKAI_EXPECT_NO_EXPORT").is_ok() {
            assert_eq!(guard.endpoint(), None);
        }
        let headers = {
            let producer = gongkai_telemetry::producer_span("gongkai", "parse", "m-1");
            let _entered = producer.enter();
            gongkai_telemetry::inject_amqp(&gongkai_telemetry::OpenTelemetrySpanExt::context(
                &producer,
            ))
        };
        let consumer =
            gongkai_telemetry::consumer_span("gongkai.parse", "parse", "m-1", Some(&headers));
        gongkai_telemetry::record_report(&consumer, "r-1", Some("测试局"), Some(2023));
        async {
            let step = tracing::info_span!(target: "gongkai_test", "decode");
            let _entered = step.enter();
            tracing::info!(report_id = "r-1", "handling report");
        }
        .instrument(consumer.clone())
        .await;
        drop(consumer);
        guard.shutdown().unwrap();
    });
}

async fn run_child(envs: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child_emits_spans",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FLAG, "1")
        .env("RUST_LOG", "info");
    for name in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_SDK_DISABLED",
        "LOG_FORMAT",
    ] {
        command.env_remove(name);
    }
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    assert!(
        output.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn one<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(found.len(), 1, "{name}: {spans:#?}");
    found[0]
}

fn check_tree(spans: &[ReceivedSpan], service_name: &str) -> (String, String) {
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let producer = one(spans, "publish parse");
    let consumer = one(spans, "process gongkai.parse");
    let step = one(spans, "decode");
    assert_eq!(producer.kind, KIND_PRODUCER);
    assert_eq!(consumer.kind, KIND_CONSUMER);
    assert_eq!(consumer.trace_id, producer.trace_id);
    assert_eq!(consumer.parent_span_id, producer.span_id);
    assert_eq!(
        consumer.links,
        vec![(producer.trace_id.clone(), producer.span_id.clone())]
    );
    assert_eq!(step.parent_span_id, consumer.span_id);
    assert_eq!(consumer.attributes["gongkai.report.agency"], "测试局");
    assert_eq!(consumer.attributes["gongkai.report.year"], "2023");
    assert_eq!(
        consumer.attributes["messaging.rabbitmq.destination.routing_key"],
        "parse"
    );
    for span in spans {
        assert_eq!(span.service_name, service_name);
    }
    (step.trace_id.clone(), step.span_id.clone())
}

#[tokio::test]
async fn http_protobuf_export_is_the_default_and_json_logs_carry_the_ids() {
    let (endpoint, received) = support::start_http_receiver().await;
    let output = run_child(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("LOG_FORMAT", "json"),
    ])
    .await;
    // shutdown() flushed before the child exited: nothing arrives later.
    let spans = received.spans();
    let (trace_id, span_id) = check_tree(&spans, "gongkai-test-child");

    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == "handling report")
        .unwrap_or_else(|| panic!("no JSON log line for the event in:\n{stderr}"));
    assert_eq!(line["trace_id"], trace_id.as_str(), "{line}");
    assert_eq!(line["span_id"], span_id.as_str(), "{line}");
    assert_eq!(line["report_id"], "r-1", "{line}");
    assert_eq!(line["level"], "INFO");
}

#[tokio::test]
async fn grpc_export_and_the_standard_resource_variables() {
    let (endpoint, received) = support::start_grpc_receiver().await;
    let output = run_child(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SERVICE_NAME", "renamed-by-env"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test",
        ),
    ])
    .await;
    let spans = received.spans();
    let (trace_id, span_id) = check_tree(&spans, "renamed-by-env");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|line| line.contains("handling report")
            && line.contains(&format!("trace_id={trace_id} span_id={span_id}"))),
        "text log lines carry the ids:\n{stderr}"
    );
}

#[tokio::test]
async fn the_sampler_variable_can_turn_tracing_off() {
    let (endpoint, received) = support::start_http_receiver().await;
    run_child(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ])
    .await;
    assert!(received.spans().is_empty(), "{:#?}", received.spans());
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported_but_logs_still_carry_ids() {
    let output = run_child(&[("GONGKAI_EXPECT_NO_EXPORT", "1")]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("otlp.endpoint=\"none\"") || stderr.contains("otlp.endpoint=none"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("handling report") && line.contains("trace_id=")),
        "{stderr}"
    );
}
