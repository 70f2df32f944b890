//! The worker binary as a process: killed with SIGKILL while it holds a message, the message is
//! delivered again and archived once; asked to stop with SIGTERM, it finishes the messages in
//! hand and exits 0. The test hook `GONGKAI_TEST_HOLD_MS` makes the worker hold each message
//! long enough to be caught holding it.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use gongkai_archive::Status;
use gongkai_queue::Stage;
use gongkai_queue::topology::ready_count;
use gongkai_workers::TEST_HOLD_ENV;
use gongkai_workers::testkit::{TestPipeline, sample_file};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const SAMPLE: &str = "qingxi-2020-damaged.md";

fn spawn_worker(pipeline: &TestPipeline, prefetch: u16, hold_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gongkai-parse-worker"))
        .env("AMQP_URL", &pipeline.vhost.url)
        .env("DATABASE_URL", pipeline.db.url())
        .env("BLOB_STORE", pipeline.blob_store())
        .env("PREFETCH", prefetch.to_string())
        .env("METRICS_ADDR", "off")
        .env(TEST_HOLD_ENV, hold_ms.to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn parse_ready(pipeline: &TestPipeline) -> u32 {
    let channel = pipeline.broker.channel().await.unwrap();
    let count = ready_count(&channel, &Stage::Parse.queue()).await.unwrap();
    let _ = channel.close(200, "ok".into()).await;
    count
}

async fn wait_for_ready(pipeline: &TestPipeline, expected: u32, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while parse_ready(pipeline).await != expected {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_message_held_by_a_killed_worker_is_delivered_again_and_archived_once() {
    let sample = sample_file(SAMPLE);
    let pipeline = TestPipeline::start("sigkill").await.unwrap();
    let mut child = spawn_worker(&pipeline, 1, 120_000);
    let report = pipeline.submit(sample, SAMPLE).await.unwrap();
    wait_for_ready(&pipeline, 0, "the worker takes the message").await;
    // Let it settle into holding the message, then kill it without warning.
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.start_kill().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    assert_eq!(
        pipeline.archive.status(report.report_id).await.unwrap(),
        Status::Received
    );
    wait_for_ready(&pipeline, 1, "the broker takes the message back").await;

    let workers: Vec<_> = Stage::ALL
        .into_iter()
        .map(|stage| pipeline.spawn_worker(stage, pipeline.worker_config()))
        .collect();
    pipeline
        .wait_final(&[report.report_id], Duration::from_secs(60))
        .await
        .unwrap();
    for worker in workers {
        worker.stop(Duration::from_secs(30)).await.unwrap();
    }
    let stored = pipeline.archive.get_report(report.report_id).await.unwrap();
    assert_eq!(stored.status, Status::Archived);
    assert_eq!(stored.version, Some(1));
    let parse_runs = stored
        .events
        .iter()
        .filter(|e| e.stage == gongkai_archive::Stage::Parse)
        .count();
    assert_eq!(parse_runs, 1, "{:?}", stored.events);
}

#[tokio::test]
async fn sigterm_finishes_the_messages_in_hand_and_exits_zero() {
    let sample = sample_file(SAMPLE);
    let pipeline = TestPipeline::start("sigterm").await.unwrap();
    let mut child = spawn_worker(&pipeline, 2, 3_000);
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut bytes = sample.clone();
        bytes.extend_from_slice(format!("\n（副本 {n}）\n").as_bytes());
        ids.push(
            pipeline
                .submit(bytes, &format!("copy-{n}.md"))
                .await
                .unwrap()
                .report_id,
        );
    }
    // Two in hand (the prefetch), one left in the queue.
    wait_for_ready(&pipeline, 1, "the worker takes two messages").await;
    let pid = child.id().unwrap().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the worker exits within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut parsed = 0;
    for id in &ids {
        if pipeline.archive.status(*id).await.unwrap() == Status::Parsed {
            parsed += 1;
        }
    }
    assert_eq!(parsed, 2, "the two messages in hand were finished");
    assert_eq!(parse_ready(&pipeline).await, 1, "the third was not taken");
    let channel = pipeline.broker.channel().await.unwrap();
    assert_eq!(
        ready_count(&channel, &Stage::Validate.queue())
            .await
            .unwrap(),
        2
    );
}
