//! Deferred deletion of a report's intermediate artefacts (`parsed.json`, `checked.json`).
//!
//! Once a report is archived nothing reads its artefacts again, so they are deleted — but not
//! at once: on ext4 (the local blob store's usual file system) creating a file looks at every
//! inode of its group freed in the last half minute before taking one, so a pipeline that
//! deletes two files a report while it creates two more a report spends a third of its CPU in
//! the kernel's inode allocator (`recently_deleted`, BENCHMARKS.md "Pipeline" of session 5).
//! An inode counts as recently freed for 30 s, and for five and a half minutes while its
//! inode-table block stays dirty, which steady creating and deleting keeps it. Deleting each
//! report's artefacts [`DEFAULT_ARTEFACT_GRACE`] (six minutes) after its archiving lets the
//! allocator take inodes freed long enough ago. `ARTEFACT_GRACE_SECS` sets it (0: at once,
//! the right choice for an object store such as S3).
//!
//! Deletion stays best effort, as it was: the pending ones are deleted at once on a graceful
//! stop ([`ArtefactReaper::flush`]); a worker killed meanwhile leaves at most a grace period's
//! artefacts behind (about 50 KB a report), which cost space, not correctness. Memory is bounded: past
//! [`MAX_PENDING`] reports waiting, the oldest is deleted early.

use gongkai_blob::BlobStore;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

/// How long an archived report's artefacts are kept by default: past ext4's five and a half
/// minutes of "recently freed".
pub const DEFAULT_ARTEFACT_GRACE: Duration = Duration::from_secs(360);

/// The environment variable that sets the grace period, in seconds.
pub const ARTEFACT_GRACE_ENV: &str = "ARTEFACT_GRACE_SECS";

/// The most reports whose artefacts wait for deletion (about 24 bytes each: 6 MiB); beyond
/// it the oldest go early. A grace period's reports at 500 reports a second.
pub const MAX_PENDING: usize = 262_144;

/// The grace period `ARTEFACT_GRACE_SECS` asks for, else the default.
pub fn grace_from_env() -> Duration {
    std::env::var(ARTEFACT_GRACE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_ARTEFACT_GRACE, Duration::from_secs)
}

/// The names of the artefacts a report's stages leave in the blob store.
const ARTEFACTS: [&str; 2] = [crate::PARSED_ARTEFACT, crate::CHECKED_ARTEFACT];

enum Command {
    Forget(Uuid, Instant),
    Flush(oneshot::Sender<()>),
}

/// The handle on the task that deletes artefacts once their grace period is over. Cheap to
/// clone; the task ends when every handle is dropped, deleting what is pending first.
#[derive(Clone)]
pub struct ArtefactReaper {
    commands: mpsc::UnboundedSender<Command>,
    grace: Duration,
}

impl std::fmt::Debug for ArtefactReaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtefactReaper")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl ArtefactReaper {
    /// Starts the deleting task on the current runtime.
    pub fn start(blobs: BlobStore, grace: Duration) -> ArtefactReaper {
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(reap(blobs, receiver));
        ArtefactReaper { commands, grace }
    }

    /// Deletes `report_id`'s artefacts once the grace period is over.
    pub fn forget(&self, report_id: Uuid) {
        let due = Instant::now() + self.grace;
        // The task has ended only when the runtime is shutting down: the artefacts stay.
        let _ = self.commands.send(Command::Forget(report_id, due));
    }

    /// Deletes every pending report's artefacts now and waits until it is done (a graceful
    /// stop). Later `forget`s still wait their grace period.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).is_ok() {
            let _ = finished.await;
        }
    }
}

async fn reap(blobs: BlobStore, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut pending: VecDeque<(Uuid, Instant)> = VecDeque::new();
    loop {
        let next_due = pending.front().map(|(_, due)| *due);
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Forget(report_id, due)) => {
                    pending.push_back((report_id, due));
                    while pending.len() > MAX_PENDING {
                        if let Some((report_id, _)) = pending.pop_front() {
                            delete(&blobs, report_id).await;
                        }
                    }
                }
                Some(Command::Flush(done)) => {
                    while let Some((report_id, _)) = pending.pop_front() {
                        delete(&blobs, report_id).await;
                    }
                    let _ = done.send(());
                }
                None => {
                    while let Some((report_id, _)) = pending.pop_front() {
                        delete(&blobs, report_id).await;
                    }
                    return;
                }
            },
            () = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)),
                if next_due.is_some() => {
                if let Some((report_id, _)) = pending.pop_front() {
                    delete(&blobs, report_id).await;
                }
            }
        }
    }
}

async fn delete(blobs: &BlobStore, report_id: Uuid) {
    use tracing::Instrument;
    if let Err(error) = blobs
        .delete_derived(report_id, &ARTEFACTS)
        .instrument(gongkai_telemetry::blob_span("delete", "derived"))
        .await
    {
        tracing::warn!(%report_id, %error, "cannot delete the intermediate artefacts");
    }
}
