//! The whole pipeline as separate processes — the gateway, two parse-worker replicas, the
//! validate and the archive worker, built from this workspace — against the local RabbitMQ (a
//! vhost of its own) and PostgreSQL (a database of its own), exporting spans over OTLP/HTTP to
//! a receiver inside this test. Each report is submitted with a `traceparent` of its own; the
//! test checks that one trace covers the gateway's SERVER span and the spans of all three
//! workers, that PRODUCER/CONSUMER kinds, parents and links are right, that the attributes are
//! set, that four distinct `service.name`s took part, that reports handled by either parse
//! replica form whole traces, and that each service's `/metrics` counted the reports.
//!
//! The binaries are built (`cargo build -p …`, a no-op when up to date) into the target
//! directory this test was built into, and run from there.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failure is a failed test

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gongkai_proto::v1::SubmitReportRequest;
use support::{KIND_CONSUMER, KIND_PRODUCER, KIND_SERVER, ReceivedSpan, http_get, sample};
use tokio::process::{Child, Command};

const BINARIES: [(&str, &str); 4] = [
    ("gongkai-gateway", "gongkai-gateway-service"),
    ("gongkai-parse-worker", "gongkai-parse-worker"),
    ("gongkai-validate-worker", "gongkai-validate-worker"),
    ("gongkai-archive-worker", "gongkai-archive-worker"),
];

/// `<target>/debug`, where cargo puts the binaries next to the `deps` dir of this test.
fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the four binaries (a no-op when they are up to date), so that the test never runs
/// stale ones.
fn ensure_binaries() -> PathBuf {
    let dir = binary_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = std::process::Command::new(cargo);
    command.arg("build");
    for (_, package) in BINARIES {
        command.args(["-p", package]);
    }
    // Same profile directory as this test: `<target>/debug` → target dir `<target>`.
    command.env("CARGO_TARGET_DIR", dir.parent().unwrap());
    let status = command.status().unwrap();
    assert!(status.success(), "building the service binaries failed");
    for (binary, _) in BINARIES {
        assert!(dir.join(binary).exists(), "{binary} was not built");
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"))
}

/// A RabbitMQ vhost and a PostgreSQL database of this test's own, removed when dropped.
struct Isolation {
    vhost: String,
    database: String,
}

impl Isolation {
    fn create() -> Isolation {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let isolation = Isolation {
            vhost: format!("gongkai-test-trace-{suffix}"),
            database: format!("gongkai_test_trace_{suffix}"),
        };
        let added = run("rabbitmqctl", &["add_vhost", &isolation.vhost]);
        assert!(added.status.success(), "{added:?}");
        let permitted = run(
            "rabbitmqctl",
            &[
                "set_permissions",
                "-p",
                &isolation.vhost,
                "guest",
                ".*",
                ".*",
                ".*",
            ],
        );
        assert!(permitted.status.success(), "{permitted:?}");
        isolation
    }

    fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.vhost)
    }

    fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.database)
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        let _ = run("rabbitmqctl", &["delete_vhost", &self.vhost]);
        let _ = run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            ],
        );
    }
}

/// One service process; SIGTERM on `stop`, SIGKILL if dropped before.
struct Service {
    name: String,
    child: Child,
    metrics: SocketAddr,
    log: PathBuf,
}

impl Service {
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let waited = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        match waited {
            Ok(Ok(status)) => assert!(
                status.success(),
                "{} exited with {status}:\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            ),
            other => panic!("{} did not stop on SIGTERM: {other:?}", self.name),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

struct Stack {
    binaries: PathBuf,
    common: Vec<(String, String)>,
    logs: PathBuf,
}

impl Stack {
    fn spawn(&self, binary: &str, instance: &str, extra: &[(&str, String)]) -> Service {
        let metrics_port = free_port();
        let log = self.logs.join(format!("{instance}.log"));
        let mut command = Command::new(self.binaries.join(binary));
        command
            .envs(self.common.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("service.instance.id={instance}"),
            )
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true);
        Service {
            name: instance.to_owned(),
            child: command.spawn().unwrap(),
            metrics: SocketAddr::from(([127, 0, 0, 1], metrics_port)),
            log,
        }
    }
}

async fn wait_ready(service: &Service, limit: Duration) {
    let started = Instant::now();
    loop {
        if let Ok(Ok((200, _))) =
            tokio::time::timeout(Duration::from_secs(2), try_get(service.metrics, "/healthz")).await
        {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{} not ready after {limit:?}:\n{}",
            service.name,
            std::fs::read_to_string(&service.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    // `http_get` panics on a refused connection; probe first.
    tokio::net::TcpStream::connect(addr).await?;
    Ok(http_get(addr, path).await)
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut reports = Vec::new();
    for name in ["yunxi-2023.txt", "yunxi-2024.md", "baishi-2020.html"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        // Two submissions of each: the second differs by a trailing newline, so it is a report
        // of its own (another sha256) and not a duplicate.
        let mut variant = bytes.clone();
        variant.extend_from_slice(b"\n");
        reports.push((name.to_owned(), bytes));
        reports.push((format!("variant-{name}"), variant));
    }
    reports
}

fn random_hex(bytes: usize) -> String {
    let mut text = uuid::Uuid::new_v4().simple().to_string();
    text.push_str(&uuid::Uuid::new_v4().simple().to_string());
    text.truncate(bytes * 2);
    text
}

fn one<'a>(spans: &'a [&'a ReceivedSpan], kind: i32, name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|span| span.kind == kind && span.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {name} (kind {kind}) expected in {spans:#?}"
    );
    found[0]
}

fn attr<'a>(span: &'a ReceivedSpan, key: &str) -> &'a str {
    span.attributes
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{} lacks {key}: {:?}", span.name, span.attributes))
}

fn assert_messaging(
    producer: &ReceivedSpan,
    consumer: &ReceivedSpan,
    routing_key: &str,
    report_id: &str,
) {
    assert_eq!(attr(producer, "messaging.system"), "rabbitmq");
    assert_eq!(attr(producer, "messaging.destination.name"), "gongkai");
    assert_eq!(
        attr(producer, "messaging.rabbitmq.destination.routing_key"),
        routing_key
    );
    assert_eq!(attr(producer, "messaging.operation"), "publish");
    assert_eq!(attr(producer, "messaging.message.id"), report_id);
    assert_eq!(
        consumer.parent_span_id, producer.span_id,
        "{}",
        consumer.name
    );
    assert!(
        consumer
            .links
            .contains(&(producer.trace_id.clone(), producer.span_id.clone())),
        "{} links to its producer",
        consumer.name
    );
    assert_eq!(attr(consumer, "messaging.system"), "rabbitmq");
    assert_eq!(
        attr(consumer, "messaging.destination.name"),
        format!("gongkai.{routing_key}")
    );
    assert_eq!(
        attr(consumer, "messaging.rabbitmq.destination.routing_key"),
        routing_key
    );
    assert_eq!(attr(consumer, "messaging.operation"), "process");
    assert_eq!(attr(consumer, "messaging.message.id"), report_id);
    assert_eq!(attr(consumer, "gongkai.report.id"), report_id);
}

fn sum_samples(expositions: &[&str], series: &str) -> f64 {
    expositions.iter().map(|text| sample(text, series)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_per_report_across_four_processes_and_two_parse_replicas() {
    let binaries = ensure_binaries();
    let isolation = Isolation::create();
    let (endpoint, received) = support::start_http_receiver().await;
    let scratch = tempfile::tempdir().unwrap();
    let blobs = scratch.path().join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let grpc_port = free_port();
    let stack = Stack {
        binaries,
        logs: scratch.path().to_path_buf(),
        common: vec![
            ("AMQP_URL".into(), isolation.amqp_url()),
            ("DATABASE_URL".into(), isolation.database_url()),
            ("BLOB_STORE".into(), blobs.display().to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
            ("LOG_FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "info".into()),
        ],
    };

    let gateway = stack.spawn(
        "gongkai-gateway",
        "gateway",
        &[("GRPC_ADDR", format!("127.0.0.1:{grpc_port}"))],
    );
    wait_ready(&gateway, Duration::from_secs(60)).await;
    // Each parse replica holds one message at a time and takes a while with it, so the broker
    // must hand reports to both.
    let slow_parse = [
        ("PREFETCH", "1".to_owned()),
        ("GONGKAI_TEST_HOLD_MS", "300".to_owned()),
    ];
    let workers = vec![
        stack.spawn("gongkai-parse-worker", "parse-1", &slow_parse),
        stack.spawn("gongkai-parse-worker", "parse-2", &slow_parse),
        stack.spawn("gongkai-validate-worker", "validate", &[]),
        stack.spawn("gongkai-archive-worker", "archive", &[]),
    ];
    for worker in &workers {
        wait_ready(worker, Duration::from_secs(60)).await;
    }

    // Submit every report with a caller context of its own.
    let mut client =
        gongkai_proto::ReportServiceClient::connect(format!("http://127.0.0.1:{grpc_port}"))
            .await
            .unwrap();
    let mut submitted = Vec::new(); // (report id, trace id, caller span id)
    for (name, content) in samples() {
        let trace_id = random_hex(16);
        let caller_span = random_hex(8);
        let mut request = tonic::Request::new(SubmitReportRequest {
            content,
            filename: name,
            media_type: None,
            source_system: "pipeline-trace-test".into(),
            idempotency_key: None,
            batch: None,
            region: None,
        });
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{trace_id}-{caller_span}-01").parse().unwrap(),
        );
        let response = client.submit_report(request).await.unwrap().into_inner();
        assert!(!response.duplicate);
        submitted.push((response.report_id, trace_id, caller_span));
    }
    let count = submitted.len() as f64;

    // Wait until the archive worker counted every report, then stop everything with SIGTERM:
    // the processes flush their spans on the way out.
    let archive = &workers[3];
    let started = Instant::now();
    loop {
        let (_, text) = http_get(archive.metrics, "/metrics").await;
        if sample(
            &text,
            r#"gongkai_reports_total{stage="archive",outcome="ok"}"#,
        ) >= count
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "reports not archived in time; metrics:\n{text}\nlogs:\n{}",
            workers
                .iter()
                .map(|w| std::fs::read_to_string(&w.log).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // /metrics of each service shows the reports moving.
    let gateway_metrics = http_get(gateway.metrics, "/metrics").await.1;
    let mut worker_metrics = Vec::new();
    for worker in &workers {
        worker_metrics.push(http_get(worker.metrics, "/metrics").await.1);
    }
    assert_eq!(
        sample(
            &gateway_metrics,
            r#"gongkai_reports_total{stage="submit",outcome="ok"}"#
        ),
        count,
        "{gateway_metrics}"
    );
    assert_eq!(
        sample(
            &gateway_metrics,
            r#"gongkai_grpc_requests_total{method="gongkai.v1.ReportService/SubmitReport",code="OK"}"#
        ),
        count
    );
    assert_eq!(
        sample(
            &gateway_metrics,
            r#"gongkai_messages_published_total{routing_key="parse"}"#
        ),
        count
    );
    let parse: Vec<&str> = worker_metrics[..2].iter().map(String::as_str).collect();
    assert_eq!(
        sum_samples(
            &parse,
            r#"gongkai_reports_total{stage="parse",outcome="ok"}"#
        ),
        count,
        "{parse:?}"
    );
    for text in &parse {
        assert!(
            sample(text, r#"gongkai_reports_total{stage="parse",outcome="ok"}"#) >= 1.0,
            "both parse replicas took reports: {parse:?}"
        );
        assert_eq!(
            sample(text, r#"gongkai_messages_in_flight{queue="gongkai.parse"}"#),
            0.0
        );
    }
    assert_eq!(
        sample(
            &worker_metrics[2],
            r#"gongkai_reports_total{stage="validate",outcome="ok"}"#
        ),
        count
    );
    assert!(
        sample(
            &worker_metrics[2],
            r#"gongkai_stage_duration_seconds_count{stage="validate",outcome="ok"}"#
        ) >= count
    );
    assert!(
        worker_metrics[2].contains("gongkai_findings_total{rule="),
        "the sample reports have findings: {}",
        worker_metrics[2]
    );

    for worker in workers {
        worker.stop().await;
    }
    gateway.stop().await;

    let spans = received.spans();
    if let Ok(path) = std::env::var("GONGKAI_TRACE_DUMP") {
        std::fs::write(&path, format!("{spans:#?}")).unwrap();
        for entry in std::fs::read_dir(scratch.path()).unwrap() {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "log") {
                std::fs::copy(
                    entry.path(),
                    format!("{path}.{}", entry.file_name().to_string_lossy()),
                )
                .unwrap();
            }
        }
    }
    let services: BTreeSet<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
    assert_eq!(
        services,
        BTreeSet::from([
            "gongkai-gateway",
            "gongkai-parse-worker",
            "gongkai-validate-worker",
            "gongkai-archive-worker"
        ])
    );

    let mut parse_instances = BTreeMap::<String, usize>::new();
    for (report_id, trace_id, caller_span) in &submitted {
        let trace: Vec<&ReceivedSpan> = spans.iter().filter(|s| &s.trace_id == trace_id).collect();
        let in_trace: BTreeSet<&str> = trace.iter().map(|s| s.service_name.as_str()).collect();
        assert_eq!(in_trace.len(), 4, "report {report_id}: {in_trace:?}");

        let server = one(&trace, KIND_SERVER, "gongkai.v1.ReportService/SubmitReport");
        assert_eq!(server.service_name, "gongkai-gateway");
        assert_eq!(
            &server.parent_span_id, caller_span,
            "the caller's traceparent"
        );
        assert_eq!(attr(server, "rpc.system"), "grpc");
        assert_eq!(attr(server, "rpc.service"), "gongkai.v1.ReportService");
        assert_eq!(attr(server, "rpc.method"), "SubmitReport");
        assert_eq!(attr(server, "gongkai.report.id"), report_id);

        let publish_parse = one(&trace, KIND_PRODUCER, "publish parse");
        assert_eq!(publish_parse.service_name, "gongkai-gateway");
        assert_eq!(publish_parse.parent_span_id, server.span_id);
        let process_parse = one(&trace, KIND_CONSUMER, "process gongkai.parse");
        assert_eq!(process_parse.service_name, "gongkai-parse-worker");
        assert_messaging(publish_parse, process_parse, "parse", report_id);
        assert!(!attr(process_parse, "gongkai.report.agency").is_empty());
        assert!(
            attr(process_parse, "gongkai.report.year")
                .parse::<u16>()
                .is_ok()
        );
        *parse_instances
            .entry(process_parse.resource["service.instance.id"].clone())
            .or_default() += 1;
        for step in ["decode", "read_document"] {
            let step_span = trace
                .iter()
                .find(|s| s.name == step)
                .unwrap_or_else(|| panic!("no {step} step in {trace:#?}"));
            assert_eq!(step_span.parent_span_id, process_parse.span_id);
        }
        // Inside read_document, the reader's own steps.
        let read_document = trace.iter().find(|s| s.name == "read_document").unwrap();
        for step in ["locate sections", "read tables"] {
            let step_span = trace
                .iter()
                .find(|s| s.name == step)
                .unwrap_or_else(|| panic!("no {step} step in {trace:#?}"));
            assert_eq!(step_span.parent_span_id, read_document.span_id);
        }

        let publish_validate = one(&trace, KIND_PRODUCER, "publish validate");
        assert_eq!(publish_validate.service_name, "gongkai-parse-worker");
        assert_eq!(publish_validate.parent_span_id, process_parse.span_id);
        let process_validate = one(&trace, KIND_CONSUMER, "process gongkai.validate");
        assert_eq!(process_validate.service_name, "gongkai-validate-worker");
        assert_messaging(publish_validate, process_validate, "validate", report_id);
        assert!(
            attr(process_validate, "gongkai.findings.total")
                .parse::<u64>()
                .is_ok()
        );
        let rules = trace.iter().find(|s| s.name == "rules").unwrap();
        assert_eq!(rules.parent_span_id, process_validate.span_id);

        let publish_archive = one(&trace, KIND_PRODUCER, "publish archive");
        assert_eq!(publish_archive.service_name, "gongkai-validate-worker");
        assert_eq!(publish_archive.parent_span_id, process_validate.span_id);
        let process_archive = one(&trace, KIND_CONSUMER, "process gongkai.archive");
        assert_eq!(process_archive.service_name, "gongkai-archive-worker");
        assert_messaging(publish_archive, process_archive, "archive", report_id);
        let transaction = trace
            .iter()
            .find(|s| s.name == "postgresql archive_checked transaction")
            .unwrap_or_else(|| panic!("no database transaction span in {trace:#?}"));
        assert_eq!(transaction.parent_span_id, process_archive.span_id);
        assert_eq!(attr(transaction, "db.system.name"), "postgresql");

        // Nothing of this report escaped into another trace.
        for span in spans.iter().filter(|s| {
            s.attributes.get("gongkai.report.id") == Some(report_id)
                || s.attributes.get("messaging.message.id") == Some(report_id)
        }) {
            assert_eq!(&span.trace_id, trace_id, "{span:#?}");
        }
    }
    assert_eq!(
        parse_instances
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["parse-1", "parse-2"],
        "reports handled by either replica form whole traces: {parse_instances:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_readiness_follows_its_broker_connection() {
    let binaries = ensure_binaries();
    let isolation = Isolation::create();
    // A vhost that does not exist yet: the worker cannot connect and must say so.
    let missing = format!("{}-later", isolation.vhost);
    let scratch = tempfile::tempdir().unwrap();
    let stack = Stack {
        binaries,
        logs: scratch.path().to_path_buf(),
        common: vec![
            (
                "AMQP_URL".into(),
                format!("amqp://guest:guest@127.0.0.1:5672/{missing}"),
            ),
            ("DATABASE_URL".into(), isolation.database_url()),
            (
                "BLOB_STORE".into(),
                scratch.path().join("blobs").display().to_string(),
            ),
            ("RUST_LOG".into(), "warn".into()),
        ],
    };
    let worker = stack.spawn("gongkai-validate-worker", "validate", &[]);
    let started = Instant::now();
    let body = loop {
        match try_get(worker.metrics, "/healthz").await {
            Ok((503, body)) if body.contains(r#""database":true"#) => break body,
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            std::fs::read_to_string(&worker.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(body.contains(r#""amqp":false"#), "{body}");
    assert_eq!(http_get(worker.metrics, "/livez").await.0, 200);
    let metrics = http_get(worker.metrics, "/metrics").await.1;
    assert_eq!(
        sample(&metrics, r#"gongkai_component_up{component="amqp"}"#),
        0.0
    );

    // The broker side appears: the worker connects on its own and becomes ready.
    let _later = Vhost::create(&missing);
    wait_ready(&worker, Duration::from_secs(60)).await;
    let metrics = http_get(worker.metrics, "/metrics").await.1;
    assert_eq!(
        sample(&metrics, r#"gongkai_component_up{component="amqp"}"#),
        1.0
    );
    worker.stop().await;
}

/// A vhost created by name (guest may use it), deleted when dropped.
struct Vhost(String);

impl Vhost {
    fn create(name: &str) -> Vhost {
        assert!(run("rabbitmqctl", &["add_vhost", name]).status.success());
        assert!(
            run(
                "rabbitmqctl",
                &["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]
            )
            .status
            .success()
        );
        Vhost(name.to_owned())
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = run("rabbitmqctl", &["delete_vhost", &self.0]);
    }
}
