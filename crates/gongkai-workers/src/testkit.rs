//! Test helpers (feature `testkit`): a whole pipeline environment of its own — a RabbitMQ
//! vhost, a PostgreSQL database, a blob directory — with what the gateway would do to submit a
//! report, worker replicas as tasks, and bounded waits for reports to reach a final status.
//! Everything is deleted when the [`TestPipeline`] is dropped.

use crate::WorkerConfig;
use bytes::Bytes;
use chrono::Utc;
use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{Archive, NewSubmission, Status};
use gongkai_blob::BlobStore;
use gongkai_queue::testkit::TestVhost;
use gongkai_queue::{Broker, FieldTable, Publisher, Stage, StageMessage};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// The project's own sample report `name` (in `samples/` at the repository root), which every
/// checkout has: the pipeline's tests must not depend on the shared corpus being present.
pub fn sample_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("sample {}: {e}", path.display()))
}

/// A running worker replica (a task) and the switch that stops it.
#[derive(Debug)]
pub struct RunningWorker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), crate::WorkerError>>,
}

impl RunningWorker {
    /// Asks the worker to stop (finish what it holds) and waits for it, at most `timeout`.
    pub async fn stop(self, timeout: Duration) -> Result<(), String> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(timeout, self.task).await {
            Err(_) => Err(format!("the worker did not stop within {timeout:?}")),
            Ok(Err(join)) => Err(format!("the worker task failed: {join}")),
            Ok(Ok(Err(error))) => Err(format!("the worker failed: {error}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}

/// A pipeline environment of its own.
#[derive(Debug)]
pub struct TestPipeline {
    pub publisher: Publisher,
    pub broker: Broker,
    pub archive: Archive,
    pub blobs: BlobStore,
    pub blob_dir: tempfile::TempDir,
    pub db: TestDatabase,
    pub vhost: TestVhost,
}

impl TestPipeline {
    /// Creates the vhost, the database (migrated) and the blob directory.
    pub async fn start(label: &str) -> Result<TestPipeline, String> {
        let vhost = TestVhost::create(label)?;
        let db = TestDatabase::new(&format!("gongkai_workers_{label}"));
        let archive = Archive::connect_with_pool_size(db.url(), 8)
            .await
            .map_err(|e| e.to_string())?;
        let blob_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let blobs =
            BlobStore::open(&blob_dir.path().to_string_lossy()).map_err(|e| e.to_string())?;
        let broker = Broker::connect(&vhost.url, &format!("test-{label}"))
            .await
            .map_err(|e| e.to_string())?;
        let publisher = broker.publisher().await.map_err(|e| e.to_string())?;
        Ok(TestPipeline {
            publisher,
            broker,
            archive,
            blobs,
            blob_dir,
            db,
            vhost,
        })
    }

    /// The blob store location, as `BLOB_STORE`.
    pub fn blob_store(&self) -> String {
        self.blob_dir.path().to_string_lossy().into_owned()
    }

    /// A worker configuration for this environment (no metrics server, prefetch 4).
    pub fn worker_config(&self) -> WorkerConfig {
        let mut config = WorkerConfig::new(&self.vhost.url, self.db.url(), &self.blob_store());
        config.drain_timeout = Duration::from_secs(20);
        config
    }

    /// What the gateway does: stores the bytes, records the submission and publishes the
    /// parse message (confirmed).
    pub async fn submit(&self, bytes: Vec<u8>, filename: &str) -> Result<StageMessage, String> {
        let stored = self
            .blobs
            .put_content(Bytes::from(bytes))
            .await
            .map_err(|e| e.to_string())?;
        let submitted = self
            .archive
            .record_submission(&NewSubmission {
                sha256: stored.sha256.clone(),
                idempotency_key: None,
                filename: filename.to_owned(),
                media_type: None,
                size_bytes: stored.size,
                blob_key: stored.key.clone(),
                source_system: Some("gongkai-workers-test".to_owned()),
                received_at: Utc::now(),
                batch: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        if submitted.duplicate {
            return Err(format!("{filename} was submitted before"));
        }
        let message = StageMessage {
            report_id: submitted.report_id,
            sha256: stored.sha256,
            blob_key: stored.key,
            filename: filename.to_owned(),
            source_system: Some("gongkai-workers-test".to_owned()),
            attempt: 0,
            kind: gongkai_queue::MessageKind::Submission,
            batch: None,
        };
        self.publisher
            .publish(Stage::Parse, &message, FieldTable::default())
            .await
            .map_err(|e| e.to_string())?;
        Ok(message)
    }

    /// Starts one replica of `stage` as a task.
    pub fn spawn_worker(&self, stage: Stage, config: WorkerConfig) -> RunningWorker {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await.is_ok();
            };
            crate::run_worker(stage, config, shutdown).await
        });
        RunningWorker { stop, task }
    }

    /// Waits until `stage`'s queue has at least `count` consumers (the workers are up).
    pub async fn wait_for_consumers(
        &self,
        stage: Stage,
        count: u32,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let channel = self.broker.channel().await.map_err(|e| e.to_string())?;
        loop {
            let queue = channel
                .queue_declare(
                    stage.queue().as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..lapin::options::QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
            if queue.consumer_count() >= count {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{} has {} consumer(s), not {count}, after {timeout:?}",
                    stage.queue(),
                    queue.consumer_count()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every report of `ids` is ARCHIVED or FAILED; an error naming the ones that
    /// are not after `timeout`.
    pub async fn wait_final(&self, ids: &[Uuid], timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            for id in ids {
                match self.archive.status(*id).await {
                    Ok(Status::Archived | Status::Failed) => {}
                    Ok(status) => pending.push(format!("{id}: {}", status.as_str())),
                    Err(error) => pending.push(format!("{id}: {error}")),
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let shown: Vec<_> = pending.iter().take(5).collect();
                return Err(format!(
                    "{} report(s) not final after {timeout:?}, e.g. {shown:?}",
                    pending.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
