//! Submit → ARCHIVED through the real pipeline: the gateway and one replica of each worker
//! in-process, on a vhost and a database of their own, with a real report of the corpus.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{request, services_available, start, start_workers};
use futures::StreamExt;
use gongkai_proto::v1;
use std::path::PathBuf;
use std::time::Duration;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Under CI the corpus is always there: its absence must fail the run, not skip it.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is absent: the corpus tests cannot run",
            dir.display()
        );
        eprintln!("skipping: no corpus at {}", dir.display());
        None
    }
}

async fn watch_to_end(
    client: &mut gongkai_proto::ReportServiceClient<tonic::transport::Channel>,
    report_id: &str,
) -> Vec<v1::ReportEvent> {
    let stream = client
        .watch_report(v1::WatchReportRequest {
            report_id: report_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(
        Duration::from_secs(60),
        stream.map(|e| e.unwrap()).collect::<Vec<_>>(),
    )
    .await
    .expect("the report reaches a final status within a minute")
}

fn cell<'a>(report: &'a v1::Report, table: &str, row: &str, column: &str) -> &'a v1::Cell {
    report
        .tables
        .iter()
        .find(|t| t.table == table)
        .and_then(|t| t.cells.iter().find(|c| c.row == row && c.column == column))
        .unwrap_or_else(|| panic!("no cell {table}.{row}.{column}"))
}

/// The golden value as the exact decimal text the API must carry.
fn golden_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Number(n) => Some(n.to_string()),
        other => panic!("unexpected golden value {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_goes_from_submit_to_archived_with_its_cells_findings_and_events() {
    if !services_available() {
        return;
    }
    let Some(corpus) = corpus() else { return };
    let name = "洛阳市瀍河区人民政府_2020.md";
    let bytes = std::fs::read(corpus.join(name)).unwrap();
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(corpus.join("golden/洛阳市瀍河区人民政府_2020.json")).unwrap(),
    )
    .unwrap();

    let gw = start("pipeline", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;

    let submitted = client
        .submit_report(request(&bytes, name))
        .await
        .unwrap()
        .into_inner();
    let events = watch_to_end(&mut client, &submitted.report_id).await;

    // Every stage, in order, each once, ending with ARCHIVED.
    let stages: Vec<(&str, &str, i32)> = events
        .iter()
        .map(|e| (e.stage.as_str(), e.outcome.as_str(), e.status))
        .collect();
    assert_eq!(
        stages,
        vec![
            ("receive", "succeeded", v1::ReportStatus::Received as i32),
            ("parse", "succeeded", v1::ReportStatus::Parsed as i32),
            ("validate", "succeeded", v1::ReportStatus::Validated as i32),
            ("archive", "succeeded", v1::ReportStatus::Archived as i32),
        ],
        "{events:#?}"
    );
    for event in &events {
        assert_eq!(event.report_id, submitted.report_id);
        let (start, end) = (event.started_at.unwrap(), event.finished_at.unwrap());
        assert!(
            (start.seconds, start.nanos) <= (end.seconds, end.nanos),
            "{event:?}"
        );
    }

    let report = client
        .get_report(v1::GetReportRequest {
            report_id: submitted.report_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.status, v1::ReportStatus::Archived as i32);
    assert_eq!(report.agency.as_deref(), golden["agency"].as_str());
    assert_eq!(report.year, golden["year"].as_u64().map(|y| y as u32));
    assert_eq!(report.template.as_deref(), golden["template"].as_str());
    assert_eq!(report.events.len(), 4);

    // t2 and t4 against the hand-verified values; decimals keep their exact digits.
    for (row, columns) in golden["t2"].as_object().unwrap() {
        for (column, value) in columns.as_object().unwrap() {
            assert_eq!(
                cell(&report, "t2", row, column).value,
                golden_text(value),
                "t2.{row}.{column}"
            );
        }
    }
    assert_eq!(
        cell(&report, "t2", "procurement", "amount")
            .value
            .as_deref(),
        Some("18759.694")
    );
    let t4_columns = ["upheld", "corrected", "other", "pending", "total"];
    for (row, values) in golden["t4"].as_object().unwrap() {
        for (column, value) in t4_columns.iter().zip(values.as_array().unwrap()) {
            assert_eq!(
                cell(&report, "t4", row, column).value,
                golden_text(value),
                "t4.{row}.{column}"
            );
        }
    }
    for missing in golden["missing"].as_array().unwrap() {
        let key = missing.as_str().unwrap();
        let (_, row) = key.split_once('.').unwrap();
        let state = cell(&report, "t3", row, "total").state;
        assert_eq!(state, v1::CellState::Missing as i32, "{key}");
    }

    // The findings are exactly what the rules say about these bytes.
    let expected = gongkai_engine::check(&bytes, name).unwrap();
    let found: Vec<(String, String, Option<String>, Option<String>)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.clone(),
                format!("{}", f.severity),
                f.row.clone(),
                f.column.clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, Option<String>, Option<String>)> = expected
        .findings
        .iter()
        .map(|f| {
            let severity = match f.severity {
                gongkai_model::Severity::Info => v1::Severity::Info,
                gongkai_model::Severity::Warning => v1::Severity::Warning,
                gongkai_model::Severity::Error => v1::Severity::Error,
            } as i32;
            (
                f.rule.clone(),
                format!("{severity}"),
                f.row.clone(),
                f.column.clone(),
            )
        })
        .collect();
    assert_eq!(found, want);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "S-TABLE-INCOMPLETE" && f.severity == v1::Severity::Error as i32)
    );
    let summary = report.summary.unwrap();
    assert_eq!(summary.errors, expected.summary.errors);
    assert_eq!(summary.warnings, expected.summary.warnings);
    assert_eq!(report.rules_version, expected.rules_version);

    // Submitting the same bytes again, or under the first one's idempotency key, changes
    // nothing: one report, one archive row, nothing processed twice.
    let again = client
        .submit_report(request(&bytes, "copy.md"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(again.report_id, submitted.report_id);
    assert_eq!(again.status, v1::ReportStatus::Archived as i32);

    let mut keyed = request(b"first under the key", "keyed.txt");
    keyed.idempotency_key = Some("pipeline-key".to_owned());
    let k1 = client.submit_report(keyed).await.unwrap().into_inner();
    let mut keyed_again = request(b"second under the key", "keyed2.txt");
    keyed_again.idempotency_key = Some("pipeline-key".to_owned());
    let k2 = client
        .submit_report(keyed_again)
        .await
        .unwrap()
        .into_inner();
    assert!(k2.duplicate);
    assert_eq!(k2.report_id, k1.report_id);
    watch_to_end(&mut client, &k1.report_id).await;

    // Let any (wrong) second processing happen before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed = client
        .list_reports(v1::ListReportsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.reports.len(), 2, "{:?}", listed.reports);
    let report_again = client
        .get_report(v1::GetReportRequest {
            report_id: submitted.report_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report_again.events.len(), 4, "no stage ran twice");
    let by_agency = client
        .list_reports(v1::ListReportsRequest {
            agency: Some("瀍河".to_owned()),
            year: Some(2020),
            status: v1::ReportStatus::Archived as i32,
            has_errors: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_agency.reports.len(), 1);
    assert_eq!(by_agency.reports[0].report_id, submitted.report_id);

    // The original bytes come back exactly.
    let mut chunks = client
        .get_document(v1::GetDocumentRequest {
            report_id: submitted.report_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut back = Vec::new();
    while let Some(chunk) = chunks.next().await {
        back.extend_from_slice(&chunk.unwrap().data);
    }
    assert!(back == bytes);

    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_document_ends_failed_with_a_reason() {
    if !services_available() {
        return;
    }
    let gw = start("failed", |_| {}).await;
    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    // A PNG: an image of a report, which no reader can take.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
    let submitted = client
        .submit_report(request(png, "scan.png"))
        .await
        .unwrap()
        .into_inner();
    let events = watch_to_end(&mut client, &submitted.report_id).await;
    let last = events.last().unwrap();
    assert_eq!(last.status, v1::ReportStatus::Failed as i32, "{events:#?}");
    assert!(last.detail.as_deref().is_some_and(|d| !d.is_empty()));
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    gw.stop().await;
}

/// A sample report of the project's own `samples/`.
fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples")
            .join(name),
    )
    .unwrap()
}

/// What a gateway that stopped between recording a submission and publishing its message
/// leaves behind (the bytes stored, the report RECEIVED, no message): the recovery sweep of a
/// running gateway queues it, and it is archived once. A report submitted normally is noted as
/// queued, so the sweep leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_recorded_but_never_queued_is_queued_by_the_sweep() {
    if !services_available() {
        return;
    }
    let gw = start("sweep", |config| config.requeue_after_secs = 1).await;
    let archive = gongkai_archive::Archive::connect(gw.db.url())
        .await
        .unwrap();
    let blobs = gongkai_blob::BlobStore::open(&gw.config.blob_store).unwrap();
    let bytes = sample("yunxi-2023.txt");
    let stored = blobs.put_content(bytes::Bytes::from(bytes)).await.unwrap();
    let stranded = archive
        .record_submission(&gongkai_archive::NewSubmission {
            sha256: stored.sha256.clone(),
            idempotency_key: None,
            filename: "yunxi-2023.txt".to_owned(),
            media_type: None,
            size_bytes: stored.size,
            blob_key: stored.key.clone(),
            source_system: Some("crashed-gateway".to_owned()),
            received_at: chrono::Utc::now() - chrono::Duration::seconds(5),
            batch: None,
        })
        .await
        .unwrap()
        .report_id;

    let (stop, workers) = start_workers(&gw);
    let mut client = gw.client().await;
    let events = watch_to_end(&mut client, &stranded.to_string()).await;
    let last = events.last().unwrap();
    assert_eq!(
        last.status,
        v1::ReportStatus::Archived as i32,
        "{events:#?}"
    );
    let report = client
        .get_report(v1::GetReportRequest {
            report_id: stranded.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.agency.as_deref(), Some("清河市云溪区人民政府"));

    // A normal submission: noted as queued once the broker confirmed it.
    let submitted = client
        .submit_report(request(&sample("yunxi-2024.md"), "yunxi-2024.md"))
        .await
        .unwrap()
        .into_inner();
    let normal = uuid::Uuid::parse_str(&submitted.report_id).unwrap();
    watch_to_end(&mut client, &submitted.report_id).await;
    let pool = sqlx::PgPool::connect(gw.db.url()).await.unwrap();
    let mut noted = false;
    for _ in 0..100 {
        let unnoted: i64 =
            sqlx::query_scalar("SELECT count(*) FROM unqueued_reports WHERE report_id = ANY($1)")
                .bind(vec![stranded, normal])
                .fetch_one(&pool)
                .await
                .unwrap();
        if unnoted == 0 {
            noted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(noted, "both reports are noted as queued");
    // Each report was archived once: one archive event each, and nothing left to sweep.
    let archived: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE stage = 'archive' AND report_id = ANY($1)",
    )
    .bind(vec![stranded, normal])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(archived, 2);
    assert!(
        archive
            .unqueued(Duration::ZERO, 10)
            .await
            .unwrap()
            .is_empty()
    );
    pool.close().await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    gw.stop().await;
}
