//! Artefacts left behind (a worker killed within the grace period, a delete the store refused)
//! are found and deleted by the archive worker's sweep, against the local PostgreSQL and a
//! real blob directory: only those older than the grace period, and only of reports no stage
//! will read them for again.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use gongkai_archive::seed::synthetic_report;
use gongkai_archive::testing::{archive_report, submit_report};
use gongkai_archive::{RevalidationRequest, Stage as ArchiveStage, StageRun};
use gongkai_queue::Stage;
use gongkai_workers::artefacts::{Swept, sweep_leftovers};
use gongkai_workers::testkit::TestPipeline;
use gongkai_workers::{CHECKED_ARTEFACT, PARSED_ARTEFACT};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

const ARTEFACTS: [&str; 2] = [PARSED_ARTEFACT, CHECKED_ARTEFACT];

async fn archived(pipeline: &TestPipeline, index: u64) -> Uuid {
    let checked = synthetic_report(index);
    archive_report(
        &pipeline.archive,
        &checked.source.sha256,
        &checked.source.name,
        &checked,
    )
    .await
    .unwrap()
}

/// A submission that is still in the pipeline (RECEIVED).
async fn in_flight(pipeline: &TestPipeline, name: &str) -> Uuid {
    let sha256 = gongkai_blob::sha256_hex(name.as_bytes());
    submit_report(&pipeline.archive, &sha256, name)
        .await
        .unwrap()
}

/// Writes both artefacts of `report_id`, dated `age` ago.
async fn leave_artefacts(pipeline: &TestPipeline, report_id: Uuid, age: Duration) {
    for name in ARTEFACTS {
        pipeline
            .blobs
            .put_derived(report_id, name, Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let path = pipeline
            .blob_dir
            .path()
            .join(gongkai_blob::derived_key(report_id, name));
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    }
}

async fn left(pipeline: &TestPipeline, report_id: Uuid) -> usize {
    let mut count = 0;
    for name in ARTEFACTS {
        if pipeline
            .blobs
            .exists(&gongkai_blob::derived_key(report_id, name))
            .await
            .unwrap()
        {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn the_sweep_deletes_old_artefacts_of_archived_reports_only() {
    let pipeline = TestPipeline::start("sweep").await.unwrap();
    let hour = Duration::from_secs(3600);
    let done = archived(&pipeline, 0).await;
    let recent = archived(&pipeline, 5).await;
    let revalidating = archived(&pipeline, 10).await;
    let received = in_flight(&pipeline, "still-parsing.txt").await;
    let failed = in_flight(&pipeline, "failed.txt").await;
    pipeline
        .archive
        .archive_failed(failed, ArchiveStage::Validate, "测试", StageRun::now())
        .await
        .unwrap();
    // A re-validation of the third report waits in the queue: its validate stage will write a
    // checked artefact for its archive stage.
    let plan = pipeline
        .archive
        .plan_revalidation(&RevalidationRequest {
            agency_contains: synthetic_report(10).report.agency.clone(),
            current_rules_version: "9999.1.1".into(),
            caller: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(plan.queued.len(), 1);
    assert_eq!(plan.queued[0].report_id, revalidating);
    for id in [done, revalidating, received, failed] {
        leave_artefacts(&pipeline, id, hour).await;
    }
    leave_artefacts(&pipeline, recent, Duration::ZERO).await;
    let unknown = Uuid::now_v7();
    leave_artefacts(&pipeline, unknown, hour).await;

    let swept = sweep_leftovers(&pipeline.blobs, &pipeline.archive, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        swept,
        Swept {
            old: 10,
            deleted: 2
        }
    );
    assert_eq!(left(&pipeline, done).await, 0);
    for kept in [recent, revalidating, received, failed, unknown] {
        assert_eq!(left(&pipeline, kept).await, 2, "{kept}");
    }
    // Nothing else is touched: the second sweep finds nothing more to delete.
    let again = sweep_leftovers(&pipeline.blobs, &pipeline.archive, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(again, Swept { old: 8, deleted: 0 });
}

#[tokio::test]
async fn an_archive_worker_sweeps_what_a_killed_one_left_a_grace_period_after_it_starts() {
    let pipeline = TestPipeline::start("sweep_start").await.unwrap();
    let report = archived(&pipeline, 0).await;
    let received = in_flight(&pipeline, "still-parsing.txt").await;
    // What a worker killed before it could delete them leaves.
    leave_artefacts(&pipeline, report, Duration::ZERO).await;
    leave_artefacts(&pipeline, received, Duration::ZERO).await;

    let mut config = pipeline.worker_config();
    config.artefact_grace = Duration::from_secs(2);
    config.artefact_sweep = Some(Duration::from_secs(3600));
    let worker = pipeline.spawn_worker(Stage::Archive, config);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while left(&pipeline, report).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the artefacts of the archived report are still there"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(left(&pipeline, received).await, 2);
    worker.stop(Duration::from_secs(20)).await.unwrap();
}
