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
//! The pending ones are deleted at once on a graceful stop ([`ArtefactReaper::flush`]). A
//! worker killed meanwhile leaves a grace period's artefacts behind (about 50 KB a report: at
//! 250 reports a second, gigabytes), and so does a store that refused a delete: the archive
//! worker's [`sweep_leftovers`] finds them by listing the store, every
//! [`DEFAULT_SWEEP_PERIOD`] (`ARTEFACT_SWEEP_SECS`) and once a grace period after it starts,
//! and deletes those older than the grace period whose reports the archive says are done with
//! them ([`gongkai_archive::Archive::artefacts_unneeded`]). Memory is bounded: past
//! [`MAX_PENDING`] reports waiting, the oldest is deleted early; a sweep holds one page of
//! [`SWEEP_PAGE`] artefacts at a time.

use futures::TryStreamExt;
use gongkai_archive::Archive;
use gongkai_blob::{BlobStore, DerivedArtefact};
use std::collections::{HashSet, VecDeque};
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

/// How often the archive worker sweeps the store for artefacts left behind, by default.
pub const DEFAULT_SWEEP_PERIOD: Duration = Duration::from_secs(3600);

/// The environment variable that sets the sweep period, in seconds (0: no sweep).
pub const ARTEFACT_SWEEP_ENV: &str = "ARTEFACT_SWEEP_SECS";

/// How many listed artefacts a sweep asks the archive about at once.
pub const SWEEP_PAGE: usize = 1000;

/// The sweep period `ARTEFACT_SWEEP_SECS` asks for (`None`: 0, no sweep), else the default.
pub fn sweep_period_from_env() -> Option<Duration> {
    let period = std::env::var(ARTEFACT_SWEEP_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_SWEEP_PERIOD, Duration::from_secs);
    (!period.is_zero()).then_some(period)
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

/// What one sweep of the store found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Artefacts older than the grace period.
    pub old: u64,
    /// Of those, the ones deleted (their reports are done with them).
    pub deleted: u64,
}

/// Why a sweep stopped early (the next one starts over).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot list or delete the artefacts")]
    Blob(#[from] gongkai_blob::BlobError),
    #[error("cannot ask the archive which reports are done with their artefacts")]
    Archive(#[from] gongkai_archive::ArchiveError),
}

/// Deletes the derived artefacts written more than `older_than` ago whose reports no stage
/// will read them for again (ARCHIVED, no re-validation waiting), page by page. Artefacts of
/// reports in the pipeline, FAILED or unknown to the archive stay.
pub async fn sweep_leftovers(
    blobs: &BlobStore,
    archive: &Archive,
    older_than: Duration,
) -> Result<Swept, SweepError> {
    let cutoff = std::time::SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(std::time::UNIX_EPOCH);
    let mut swept = Swept::default();
    let mut page: Vec<DerivedArtefact> = Vec::with_capacity(SWEEP_PAGE);
    let mut listing = blobs.list_derived();
    while let Some(artefact) = listing.try_next().await? {
        if artefact.written_at > cutoff {
            continue;
        }
        swept.old += 1;
        page.push(artefact);
        if page.len() == SWEEP_PAGE {
            swept.deleted += delete_unneeded(blobs, archive, &mut page).await?;
        }
    }
    swept.deleted += delete_unneeded(blobs, archive, &mut page).await?;
    Ok(swept)
}

/// Deletes the artefacts of `page` whose reports are done with them; empties the page.
async fn delete_unneeded(
    blobs: &BlobStore,
    archive: &Archive,
    page: &mut Vec<DerivedArtefact>,
) -> Result<u64, SweepError> {
    if page.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<uuid::Uuid> = page.iter().map(|a| a.report_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let done: HashSet<uuid::Uuid> = archive
        .artefacts_unneeded(&ids)
        .await?
        .into_iter()
        .collect();
    let mut deleted = 0;
    for artefact in page.drain(..) {
        if done.contains(&artefact.report_id) {
            blobs.delete_derived_key(&artefact.key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The sweeping task of a worker; dropping it stops the sweep.
#[derive(Debug)]
pub struct Sweeper(tokio::task::JoinHandle<()>);

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sweeps the store once a grace period after the start (the leftovers of a worker killed
/// before it are older than that by then), then every `period`, until the returned
/// [`Sweeper`] is dropped. Several archive workers sweeping at once only repeat each other's
/// deletions.
pub fn start_sweeper(
    blobs: BlobStore,
    archive: Archive,
    grace: Duration,
    period: Duration,
) -> Sweeper {
    Sweeper(tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        loop {
            match sweep_leftovers(&blobs, &archive, grace).await {
                Ok(swept) if swept.deleted > 0 => tracing::info!(
                    old = swept.old,
                    deleted = swept.deleted,
                    "deleted intermediate artefacts left behind"
                ),
                Ok(swept) => tracing::debug!(old = swept.old, "no artefact left behind"),
                Err(error) => tracing::warn!(
                    error = %gongkai_telemetry::error_chain(&error),
                    "the sweep of intermediate artefacts stopped early"
                ),
            }
            tokio::time::sleep(period).await;
        }
    }))
}
