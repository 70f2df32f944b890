//! The three workers against the local RabbitMQ and PostgreSQL, each test with a vhost, a
//! database and a blob directory of its own: a real report through every stage, an unreadable
//! one, 300 reports through three parse replicas, and recovery after the broker closed every
//! connection while the workers ran.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use gongkai_archive::{Outcome as EventOutcome, Stage as ArchiveStage, Status};
use gongkai_queue::Stage;
use gongkai_queue::topology::ready_count;
use gongkai_workers::testkit::{TestPipeline, sample_file};
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

const SAMPLE: &str = "qingxi-2020-damaged.md";

/// `count` distinct documents (distinct bytes, so distinct submissions) with the sample's
/// content: a numbered line at the end changes the digest, not what is read.
fn variants(sample: &[u8], count: usize) -> Vec<(Vec<u8>, String)> {
    (0..count)
        .map(|n| {
            let mut bytes = sample.to_vec();
            bytes.extend_from_slice(format!("\n\n（测试副本 {n}）\n").as_bytes());
            (bytes, format!("copy-{n}.md"))
        })
        .collect()
}

/// Every report archived, none twice: all the copies are one agency's report of one year, so
/// each archiving takes the next version number; archiving one report twice would leave a gap
/// or a version above the count.
async fn assert_archived_exactly_once(pipeline: &TestPipeline, ids: &[Uuid]) {
    let mut versions = BTreeSet::new();
    for id in ids {
        let stored = pipeline.archive.get_report(*id).await.unwrap();
        assert_eq!(stored.status, Status::Archived, "{id}: {stored:?}");
        let archive_runs = stored
            .events
            .iter()
            .filter(|e| e.stage == ArchiveStage::Archive && e.outcome == EventOutcome::Succeeded)
            .count();
        assert_eq!(archive_runs, 1, "{id} archived {archive_runs} times");
        assert!(versions.insert(stored.version.unwrap()));
    }
    let expected: BTreeSet<u32> = (1..=u32::try_from(ids.len()).unwrap()).collect();
    assert_eq!(versions, expected);
}

async fn assert_queues_empty(pipeline: &TestPipeline) {
    let channel = pipeline.broker.channel().await.unwrap();
    for stage in Stage::ALL {
        for queue in [
            stage.queue(),
            stage.dead_letter_queue(),
            stage.retry_queue(),
        ] {
            assert_eq!(ready_count(&channel, &queue).await.unwrap(), 0, "{queue}");
        }
    }
}

/// The grace period of the artefacts in the flow test: long enough to see them after the
/// archiving, short enough to wait for.
const ARTEFACT_GRACE: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_real_report_goes_through_every_stage_and_an_unreadable_one_fails() {
    let sample = sample_file(SAMPLE);
    let pipeline = TestPipeline::start("flow").await.unwrap();
    let mut config = pipeline.worker_config();
    config.artefact_grace = ARTEFACT_GRACE;
    let workers: Vec<_> = Stage::ALL
        .into_iter()
        .map(|stage| pipeline.spawn_worker(stage, config.clone()))
        .collect();

    let report = pipeline.submit(sample.clone(), SAMPLE).await.unwrap();
    // A PNG: the engine names the format it cannot read; a result, not a retry.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let image = pipeline.submit(png, "scan.png").await.unwrap();
    pipeline
        .wait_final(
            &[report.report_id, image.report_id],
            Duration::from_secs(60),
        )
        .await
        .unwrap();

    let stored = pipeline.archive.get_report(report.report_id).await.unwrap();
    assert_eq!(stored.status, Status::Archived);
    assert_eq!(stored.agency.as_deref(), Some("青溪镇人民政府"));
    assert_eq!(stored.year, Some(2020));
    // The findings are exactly what the engine and the rules say about these bytes.
    let (_, expected_report) = gongkai_engine::read(&sample, SAMPLE).unwrap();
    let expected = gongkai_rules::check(&expected_report);
    assert!(!expected.is_empty(), "the sample has known anomalies");
    let checked = stored.checked.as_ref().unwrap();
    assert_eq!(checked.findings, expected);
    assert_eq!(checked.rules_version, gongkai_rules::RULES_VERSION);
    assert_eq!(checked.report, expected_report);
    let stages: Vec<_> = stored
        .events
        .iter()
        .filter(|e| e.outcome == EventOutcome::Succeeded)
        .map(|e| e.stage)
        .collect();
    assert_eq!(
        stages,
        [
            ArchiveStage::Receive,
            ArchiveStage::Parse,
            ArchiveStage::Validate,
            ArchiveStage::Archive
        ]
    );
    // The intermediate artefacts outlive the archiving by the grace period, then they are
    // gone; the document stays.
    let keys: Vec<String> = [
        gongkai_workers::PARSED_ARTEFACT,
        gongkai_workers::CHECKED_ARTEFACT,
    ]
    .iter()
    .map(|artefact| gongkai_blob::derived_key(report.report_id, artefact))
    .collect();
    for key in &keys {
        assert!(
            pipeline.blobs.exists(key).await.unwrap(),
            "{key} went at once"
        );
    }
    let deadline = std::time::Instant::now() + ARTEFACT_GRACE + Duration::from_secs(10);
    for key in &keys {
        while pipeline.blobs.exists(key).await.unwrap() {
            assert!(std::time::Instant::now() < deadline, "{key} is left");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(pipeline.blobs.exists(&report.blob_key).await.unwrap());

    let failed = pipeline.archive.get_report(image.report_id).await.unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.failure_stage, Some(ArchiveStage::Parse));
    let reason = failed.failure_reason.unwrap_or_default();
    assert!(reason.contains("无法读取报告"), "{reason}");

    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    assert_queues_empty(&pipeline).await;
}

#[tokio::test]
async fn three_hundred_reports_through_three_parse_replicas_are_archived_exactly_once() {
    let sample = sample_file(SAMPLE);
    let pipeline = TestPipeline::start("many").await.unwrap();
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(pipeline.spawn_worker(Stage::Parse, pipeline.worker_config()));
    }
    for stage in [Stage::Validate, Stage::Archive] {
        let mut config = pipeline.worker_config();
        config.prefetch = 8;
        workers.push(pipeline.spawn_worker(stage, config));
    }
    let mut ids = Vec::new();
    for (bytes, name) in variants(&sample, 300) {
        ids.push(pipeline.submit(bytes, &name).await.unwrap().report_id);
    }
    pipeline
        .wait_final(&ids, Duration::from_secs(300))
        .await
        .unwrap();
    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    assert_archived_exactly_once(&pipeline, &ids).await;
    assert_queues_empty(&pipeline).await;
}

#[tokio::test]
async fn workers_recover_when_the_broker_closes_their_connections() {
    let sample = sample_file(SAMPLE);
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("gongkai_queue=info,gongkai_workers=warn")
        .try_init();
    let pipeline = TestPipeline::start("reconnect").await.unwrap();
    let workers: Vec<_> = Stage::ALL
        .into_iter()
        .map(|stage| pipeline.spawn_worker(stage, pipeline.worker_config()))
        .collect();
    for stage in Stage::ALL {
        pipeline
            .wait_for_consumers(stage, 1, Duration::from_secs(60))
            .await
            .unwrap();
    }
    let copies = variants(&sample, 40);
    let mut ids = Vec::new();
    for (n, (bytes, name)) in copies.into_iter().enumerate() {
        ids.push(pipeline.submit(bytes, &name).await.unwrap().report_id);
        if n % 10 == 5 {
            // The test's own publisher is closed too; it recovers like the workers.
            let closed = pipeline.vhost.close_connections().unwrap();
            assert!(closed >= 3, "only {closed} connection(s) closed");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    pipeline
        .wait_final(&ids, Duration::from_secs(180))
        .await
        .unwrap();
    // The same workers, never restarted, still take new work.
    let (bytes, name) = variants(b"", 1).remove(0);
    let mut late_bytes = sample.clone();
    late_bytes.extend_from_slice(&bytes);
    late_bytes.extend_from_slice(b"late");
    ids.push(
        pipeline
            .submit(late_bytes, &format!("late-{name}"))
            .await
            .unwrap()
            .report_id,
    );
    pipeline
        .wait_final(&ids, Duration::from_secs(60))
        .await
        .unwrap();
    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    assert_archived_exactly_once(&pipeline, &ids).await;
    assert_queues_empty(&pipeline).await;
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_a_delay_and_then_succeeds() {
    let sample = sample_file(SAMPLE);
    let pipeline = TestPipeline::start("retry").await.unwrap();
    let parse = pipeline.spawn_worker(Stage::Parse, pipeline.worker_config());
    let report = pipeline.submit(sample, SAMPLE).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pipeline.archive.status(report.report_id).await.unwrap() != Status::Parsed {
        assert!(tokio::time::Instant::now() < deadline, "never parsed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    parse.stop(Duration::from_secs(30)).await.unwrap();

    // The parsed artefact goes missing, as if the blob store had not caught up: the validate
    // stage must retry, not fail the report.
    let artefact = pipeline.blob_dir.path().join(gongkai_blob::derived_key(
        report.report_id,
        gongkai_workers::PARSED_ARTEFACT,
    ));
    let saved = std::fs::read(&artefact).unwrap();
    std::fs::remove_file(&artefact).unwrap();
    let workers: Vec<_> = [Stage::Validate, Stage::Archive]
        .into_iter()
        .map(|stage| pipeline.spawn_worker(stage, pipeline.worker_config()))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = pipeline.archive.events(report.report_id).await.unwrap();
        if events
            .iter()
            .any(|e| e.stage == ArchiveStage::Validate && e.outcome == EventOutcome::Retrying)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no retry recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(&artefact, saved).unwrap();
    pipeline
        .wait_final(&[report.report_id], Duration::from_secs(60))
        .await
        .unwrap();
    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    let stored = pipeline.archive.get_report(report.report_id).await.unwrap();
    assert_eq!(stored.status, Status::Archived);
    let validate_attempts: Vec<_> = stored
        .events
        .iter()
        .filter(|e| e.stage == ArchiveStage::Validate)
        .map(|e| (e.attempt, e.outcome))
        .collect();
    assert_eq!(
        validate_attempts,
        [(1, EventOutcome::Retrying), (2, EventOutcome::Succeeded)]
    );
    assert_queues_empty(&pipeline).await;
}

#[tokio::test]
async fn the_parse_stage_refuses_a_report_over_max_report_bytes_naming_the_limit() {
    let large_bytes = sample_file("yunxi-2023.txt");
    let limit = large_bytes.len() - 1;
    let pipeline = TestPipeline::start("limit").await.unwrap();
    let mut config = pipeline.worker_config();
    config.max_report_bytes = limit;
    let workers: Vec<_> = Stage::ALL
        .into_iter()
        .map(|stage| pipeline.spawn_worker(stage, config.clone()))
        .collect();
    let large = pipeline
        .submit(large_bytes, "yunxi-2023.txt")
        .await
        .unwrap();
    // A report within the limit is read as before.
    let small_bytes = sample_file(SAMPLE);
    assert!(small_bytes.len() <= limit);
    let small = pipeline.submit(small_bytes, SAMPLE).await.unwrap();
    pipeline
        .wait_final(&[large.report_id, small.report_id], Duration::from_secs(60))
        .await
        .unwrap();

    let failed = pipeline.archive.get_report(large.report_id).await.unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.failure_stage, Some(ArchiveStage::Parse));
    let reason = failed.failure_reason.unwrap_or_default();
    assert!(
        reason.contains(&format!("{limit} 字节")) && reason.contains("MAX_REPORT_BYTES"),
        "{reason}"
    );
    let archived = pipeline.archive.get_report(small.report_id).await.unwrap();
    assert_eq!(archived.status, Status::Archived);

    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    assert_queues_empty(&pipeline).await;
}
