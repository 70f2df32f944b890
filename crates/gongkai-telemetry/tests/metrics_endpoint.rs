//! `/metrics` shows what the typed handle recorded; `/healthz` follows readiness; `/livez`
//! always answers.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failure is a failed test

mod support;

use std::time::Duration;

use gongkai_telemetry::{Health, Metrics, Outcome, Stage, serve_metrics};
use support::{http_get, sample};

#[tokio::test]
async fn metrics_and_health_endpoints_reflect_the_service_state() {
    let metrics = Metrics::new("gongkai-test");
    let health = Health::new(&["amqp", "postgres"]).with_metrics(&metrics);
    let server = serve_metrics(
        "127.0.0.1:0".parse().unwrap(),
        metrics.clone(),
        health.clone(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();

    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""amqp":false"#), "{body}");
    health.set("amqp", true);
    let (status, _) = http_get(addr, "/healthz").await;
    assert_eq!(status, 503, "postgres is still down");
    health.set("postgres", true);
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(http_get(addr, "/livez").await.0, 200);

    let (_, before) = http_get(addr, "/metrics").await;
    let ok_parse = r#"gongkai_reports_total{stage="parse",outcome="ok"}"#;
    assert_eq!(sample(&before, ok_parse), 0.0);

    metrics.stage_finished(Stage::Parse, Outcome::Ok, Duration::from_millis(30));
    metrics.stage_finished(Stage::Parse, Outcome::Ok, Duration::from_millis(70));
    metrics.stage_finished(
        Stage::Validate,
        Outcome::DeadLettered,
        Duration::from_secs(1),
    );
    let in_flight = metrics.in_flight("gongkai.archive");
    metrics.redelivered("gongkai.parse");
    metrics.dead_lettered("gongkai.validate");
    metrics.published("validate");
    metrics.finding("T2-SUM", "error");
    metrics.findings_by_rule("T2-SUM", "error", 2);

    let (status, after) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&after, ok_parse), 2.0, "{after}");
    assert_eq!(
        sample(
            &after,
            r#"gongkai_stage_duration_seconds_count{stage="parse",outcome="ok"}"#
        ),
        2.0
    );
    assert!(
        (sample(
            &after,
            r#"gongkai_stage_duration_seconds_sum{stage="parse",outcome="ok"}"#
        ) - 0.1)
            .abs()
            < 1e-9
    );
    assert_eq!(
        sample(
            &after,
            r#"gongkai_reports_total{stage="validate",outcome="dead_lettered"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"gongkai_messages_in_flight{queue="gongkai.archive"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"gongkai_redeliveries_total{queue="gongkai.parse"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"gongkai_dead_lettered_total{queue="gongkai.validate"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"gongkai_findings_total{rule="T2-SUM",severity="error"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(&after, r#"gongkai_component_up{component="postgres"}"#),
        1.0
    );
    assert!(after.contains("gongkai_build_info{service=\"gongkai-test\""));

    drop(in_flight);
    let (_, settled) = http_get(addr, "/metrics").await;
    assert_eq!(
        sample(
            &settled,
            r#"gongkai_messages_in_flight{queue="gongkai.archive"}"#
        ),
        0.0
    );

    health.set("amqp", false);
    assert_eq!(http_get(addr, "/healthz").await.0, 503);
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
