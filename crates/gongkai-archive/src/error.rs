//! The one error type of the archive, [`ArchiveError`], sorted so that callers can act on it:
//! a missing report ([`ArchiveError::NotFound`]), a database that cannot be reached right now
//! ([`ArchiveError::Unavailable`], worth a retry; the gateway answers UNAVAILABLE), a bad
//! argument from the caller, and the rest (a bug or damaged data: do not retry blindly).

use uuid::Uuid;

/// What went wrong in an archive operation; every variant names the operation it happened in.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// No report has this id.
    #[error("report {report_id} is not in the archive")]
    NotFound { report_id: Uuid },

    /// The database cannot be reached or refuses connections for now (network, pool timeout,
    /// server shutting down, too many connections). Retrying later may succeed.
    #[error("the archive database is unavailable while {context}")]
    Unavailable {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// The caller passed something the archive cannot use (a malformed database URL or page
    /// token, an event that would skip the archive step). Retrying the same call fails again.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The request is well-formed but the archive is not in the state it needs (a correction of
    /// a report that is not archived, or not current; an alias that would put two reports of
    /// one year in one series). The message says which state is; retrying fails until the
    /// state changes.
    #[error("{0}")]
    FailedPrecondition(String),

    /// The database answered with an error that is not about reachability.
    #[error("archive database error while {context}")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// Applying the embedded migrations failed.
    #[error("applying the archive migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A stored row could not be turned back into the model (unknown status text, JSON that
    /// no longer deserialises): the data or the code is wrong, not the request.
    #[error("stored data of report {report_id} is unreadable: {detail}")]
    Corrupt { report_id: Uuid, detail: String },

    /// A value could not be serialised for storage.
    #[error("cannot serialise {what} for the archive")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl ArchiveError {
    /// True when the database could not be reached: the operation may succeed on retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ArchiveError::Unavailable { .. })
            || matches!(self, ArchiveError::Migrate(sqlx::migrate::MigrateError::Execute(e)) if is_connection_error(e))
    }

    /// Sorts a sqlx error into [`ArchiveError::Unavailable`] or [`ArchiveError::Database`].
    pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> ArchiveError {
        move |source| {
            if is_connection_error(&source) {
                ArchiveError::Unavailable { context, source }
            } else {
                ArchiveError::Database { context, source }
            }
        }
    }

    pub(crate) fn corrupt(report_id: Uuid, detail: impl Into<String>) -> ArchiveError {
        ArchiveError::Corrupt {
            report_id,
            detail: detail.into(),
        }
    }
}

/// The result type of every archive operation.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Errors that say "the server is not there (now)" rather than "the server said no".
fn is_connection_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now;
            // 53300: too many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}
