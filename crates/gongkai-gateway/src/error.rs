//! The gateway's own errors and how every failure becomes a gRPC status: the caller's
//! mistakes are INVALID_ARGUMENT / RESOURCE_EXHAUSTED / NOT_FOUND, the broker or the database
//! being away is UNAVAILABLE, and only our own faults are INTERNAL.

use gongkai_archive::ArchiveError;
use gongkai_blob::BlobError;
use gongkai_queue::{PublishError, QueueError};
use tonic::Status;

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot open the blob store")]
    Blob(#[from] BlobError),
    #[error("cannot open the archive")]
    Archive(#[from] ArchiveError),
    #[error("cannot connect to the broker")]
    Queue(#[from] QueueError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the metrics server")]
    Metrics(#[from] gongkai_telemetry::TelemetryError),
    #[error("the gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot read the TLS file {path}: {source}")]
    TlsFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS settings: {0}")]
    TlsSettings(&'static str),
}

pub(crate) fn archive_status(error: ArchiveError) -> Status {
    match &error {
        ArchiveError::NotFound { report_id } => Status::not_found(format!("no report {report_id}")),
        ArchiveError::InvalidArgument(message) => Status::invalid_argument(message.clone()),
        ArchiveError::FailedPrecondition(message) => Status::failed_precondition(message.clone()),
        _ if error.is_unavailable() => {
            let error = gongkai_telemetry::error_chain(&error);
            tracing::warn!(%error, "archive unavailable");
            Status::unavailable(format!("the archive is unavailable: {error}"))
        }
        _ => {
            let error = gongkai_telemetry::error_chain(&error);
            tracing::error!(%error, "archive error");
            Status::internal(format!("archive error: {error}"))
        }
    }
}

pub(crate) fn blob_status(error: BlobError) -> Status {
    match &error {
        BlobError::NotFound { key } => {
            tracing::error!(%key, "archived report without its blob");
            Status::data_loss(format!("the stored document {key} is missing"))
        }
        BlobError::Corrupt { .. } => {
            tracing::error!(%error, "corrupt blob");
            Status::data_loss(error.to_string())
        }
        BlobError::Storage { .. } => {
            let error = gongkai_telemetry::error_chain(&error);
            tracing::warn!(%error, "blob store unavailable");
            Status::unavailable(format!("the blob store is unavailable: {error}"))
        }
        BlobError::Config { .. } | BlobError::InvalidKey { .. } => {
            let error = gongkai_telemetry::error_chain(&error);
            tracing::error!(%error, "blob store error");
            Status::internal(error)
        }
    }
}

pub(crate) fn publish_status(error: &PublishError) -> Status {
    match error {
        PublishError::Encode(_) => Status::internal(error.to_string()),
        _ => Status::unavailable(format!(
            "the broker did not accept the report for processing; it is recorded and a retry \
             of the same submission will queue it: {}",
            gongkai_telemetry::error_chain(error)
        )),
    }
}

pub(crate) fn timeout_status(what: &str, after: std::time::Duration) -> Status {
    tracing::warn!(what, ?after, "timed out");
    Status::unavailable(format!("{what} did not answer within {after:?}"))
}
