//! Why a worker could not start or stopped with an error.

/// A worker's fatal error (transient failures while running are retried, not returned).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot open the archive")]
    Archive(#[source] gongkai_archive::ArchiveError),
    #[error("cannot open the blob store")]
    Blob(#[source] gongkai_blob::BlobError),
    #[error("the broker failed")]
    Queue(#[from] gongkai_queue::QueueError),
    #[error("cannot serve metrics")]
    Metrics(#[source] gongkai_telemetry::TelemetryError),
}
