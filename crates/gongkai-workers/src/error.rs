//! Why a worker could not start or stopped with an error.

/// A worker's fatal error (transient failures while running are retried, not returned).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot open the archive: {0}")]
    Archive(#[source] gongkai_archive::ArchiveError),
    #[error("cannot open the blob store: {0}")]
    Blob(#[source] gongkai_blob::BlobError),
    #[error("the broker: {0}")]
    Queue(#[from] gongkai_queue::QueueError),
    #[error("cannot serve metrics: {0}")]
    Metrics(#[source] gongkai_telemetry::TelemetryError),
}
