//! Small reads and writes of a local-directory store done on the calling thread.
//!
//! object_store's `LocalFileSystem` hands every operation to tokio's blocking pool: a thread
//! wake-up there and back for each of the ~8 blob operations a report takes through the
//! pipeline (about 5 % of `gongkai up`'s CPU went to `Spawner::spawn_task` alone, and more to
//! the context switches, `perf`, `gongkai bench -n 1000 -c 64`). A report and its artefacts are
//! tens of kilobytes; writing or reading that much to or from the page cache takes tens of
//! microseconds, less than the hand-off, and within what an async task may spend between two
//! awaits. Anything larger than [`INLINE_MAX_BYTES`] still goes through object_store (and its
//! blocking pool), so a 64 MiB upload never stalls the runtime.
//!
//! Durability: the submitted documents are written with `fsync` (file, then directory), since
//! nothing else holds them once the gateway has answered; object_store's local store never
//! syncs. The derived artefacts are not (two more syncs per report would cost the pipeline a
//! tenth of its throughput): a crash of the process loses nothing, the page cache survives it;
//! after a power loss, a stage whose input artefact is gone retries, then dead-letters the
//! message and marks the report FAILED with the reason. Such a report can be rebuilt from its
//! durable document; the stages do not yet do that on their own.
//!
//! The layout is object_store's: the object under `<root>/<key>`, written to a staging file
//! `<root>/<key>#<n>` in the same directory and renamed into place, so a reader never sees a
//! partial object and the two paths can be mixed freely.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Objects up to this size are read and written on the calling thread.
pub(crate) const INLINE_MAX_BYTES: u64 = 1024 * 1024;

/// Distinguishes the staging files of concurrent writes of the same key in this process;
/// the process id and a per-store random start distinguish processes.
static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A local-directory store's root.
#[derive(Debug, Clone)]
pub(crate) struct LocalDir {
    root: PathBuf,
    staging_prefix: String,
}

/// What [`LocalDir::read_small`] found.
pub(crate) enum SmallRead {
    Bytes(Vec<u8>),
    /// Larger than [`INLINE_MAX_BYTES`]: to be read through object_store.
    TooLarge,
    NotFound,
}

impl LocalDir {
    pub(crate) fn new(root: PathBuf) -> LocalDir {
        let staging_prefix = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        LocalDir {
            root,
            staging_prefix,
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Removes the object; one that is not there is fine.
    pub(crate) fn remove(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The object's size, `None` when there is none.
    pub(crate) fn size(&self, key: &str) -> std::io::Result<Option<u64>> {
        match std::fs::metadata(self.path(key)) {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The object's bytes when it is small enough to read here.
    pub(crate) fn read_small(&self, key: &str) -> std::io::Result<SmallRead> {
        let path = self.path(key);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(SmallRead::NotFound),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(SmallRead::NotFound);
        }
        if meta.len() > INLINE_MAX_BYTES {
            return Ok(SmallRead::TooLarge);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok(SmallRead::Bytes(bytes))
    }

    /// Writes the object: staging file, then rename over any earlier version. `durable`: the
    /// data is on disk before the rename and the rename is on disk before this returns
    /// (`fsync` of the file and of its directory), so that the object survives a power loss,
    /// not only a crash of the process.
    pub(crate) fn write(&self, key: &str, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        let path = self.path(key);
        let staging = self.staging_path(&path);
        let result = self
            .write_staging(&staging, bytes, durable)
            .and_then(|()| std::fs::rename(&staging, &path))
            .and_then(|()| match (durable, path.parent()) {
                (true, Some(directory)) => std::fs::File::open(directory)?.sync_all(),
                _ => Ok(()),
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&staging);
        }
        result
    }

    fn staging_path(&self, path: &Path) -> PathBuf {
        let n = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut staging = path.as_os_str().to_owned();
        staging.push(format!("#{}-{n}", self.staging_prefix));
        PathBuf::from(staging)
    }

    fn write_staging(&self, staging: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(staging)
        };
        let mut file = match open() {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if let Some(parent) = staging.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                open()?
            }
            Err(e) => return Err(e),
        };
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        Ok(())
    }
}

/// An I/O error as the object_store error the rest of the crate reports.
pub(crate) fn storage_error(source: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(source),
    }
}
