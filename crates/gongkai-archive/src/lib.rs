//! The PostgreSQL archive of gongkai: every submitted document, where it stands in the
//! pipeline, the events of each stage, and the checked report it became — with its cells
//! (exact NUMERIC, a view of the stored document) and findings as rows, and the version series of each agency's yearly report, corrections, reviewers' judgements,
//! batches and re-validations (`versions`, `dispositions`, `batches`).
//!
//! # Use
//!
//! [`Archive::connect`] creates the database if it is missing, applies the embedded migrations
//! (idempotent; concurrent services serialise on sqlx's advisory lock) and opens a pool. Then:
//!
//! * the gateway calls [`Archive::record_submission`] (duplicate detection by bytes and by
//!   idempotency key, race-free), [`Archive::mark_queued`] once the broker confirmed the
//!   report's message, [`Archive::unqueued`] to find the reports it must queue again (it
//!   stopped between recording and publishing), [`Archive::get_report`],
//!   [`Archive::list_reports`], [`Archive::document_ref`], [`Archive::status`] and streams
//!   [`Archive::watch`];
//! * the workers call [`Archive::record_event`] after each stage run,
//!   [`Archive::previous_year`] for the X-* rules, and [`Archive::archive_checked`] or
//!   [`Archive::archive_failed`] at the end.
//!
//! Every write is keyed so that a redelivered message changes nothing: events by
//! (report, stage, attempt, outcome), archived content by report id.
//!
//! # Schema
//!
//! | table | key | holds |
//! |---|---|---|
//! | `reports` | `report_id` (UUID v7, time-ordered); `sha256` unique among submissions; `idempotency_key` unique per kind | one row per submitted document: submission (file name, digest, blob key, media type, size, source system, received time), pipeline status with the failure stage and reason, and once archived the agency, year, template, title, rules version, finding counts, version number and the whole `CheckedReport` (`checked`, type `json`) |
//! | `report_series` | (`agency_key`, `year`) | the version series of one agency's report for one year: `latest_version` and `current_report_id` (its trigger keeps `report_facts.current`) |
//! | `report_facts` | `report_id` | per archived report with an agency and a year: its group columns (printed agency, agency key, region, year, template, version), `current`, and per metric of the dictionary its numerator and denominator (`metric_parts`): what the questions of the whole archive aggregate ([`Archive::query_metrics`]) |
//! | `report_cells` | `report_id` | every value cell of an archived report as parallel arrays in printed order (catalogue id, exact value, state, text): what an export reads |
//! | `agency_aliases` | `alias_key` | an admin's declaration that one agency key is another's ([`Archive::set_agency_alias`]) |
//! | `archive_upgrades` | `name` | the upgrades of stored data done at connect (`upgrade`: facts of reports archived before 0008) |
//! | `events` | `seq` (bigserial); unique (`report_id`, `stage`, `attempt`, `outcome`) | one run of one stage: start, end, outcome, detail and the report's status afterwards |
//! | `unqueued_reports` | `report_id` | the reports whose parse message the broker has not confirmed yet (written with the submission, deleted by [`Archive::mark_queued`]) |
//! | `cells` (a view of `reports.checked`) | (`report_id`, `table_id`, `row_key`, `column_key`) | every value cell of an archived report as a row: exact `numeric` value, source text, state, unit, position, candidates; `ordinal` keeps the printed order. Read from the stored document rather than stored twice (migration 0005 says why) |
//! | `findings` | (`report_id`, `ordinal`) | every finding: rule, severity, cell, expected/actual (jsonb, number or text), messages, rules version |
//! | `finding_dispositions` | (`agency`, `year`, `rule`, `table_id`, `row_key`, `column_key`) | a reviewer's judgement of a finding, kept for the series ([`Archive::set_disposition`]) |
//! | `batches` | `batch` | a submission label or a re-validation run: kind, creator, time |
//! | `revalidations` | (`batch`, `report_id`) | one report's re-validation in a batch: its status and the rule versions and finding counts before and after ([`Archive::archive_revalidation`]) |
//! | `caller_tokens` | `token_id`; unique `token_sha256`; unique `name` among active tokens | the known callers of §7: name, the SHA-256 of the token (never the token), scopes, who issued and who revoked it when |
//! | `audit_log` | `seq` | who did what when: token changes, DLQ redrives, and the reviewers' and admins' writes ([`record_audit_in`]) |
//!
//! Why these keys:
//!
//! * **Duplicates** are decided by the database, not by a read-then-write: the submission is an
//!   `INSERT … ON CONFLICT DO NOTHING` against the unique `sha256` and `idempotency_key`; the
//!   loser of a race waits for the winner's commit and then reads the winner's `report_id`.
//! * **Redelivery**: an event's identity is the run that produced it (report, stage, attempt,
//!   outcome), so recording it again is `ON CONFLICT DO NOTHING`; `archive_checked` locks the
//!   report row and does nothing when the report is already `ARCHIVED`, so cells, findings and
//!   versions are written exactly once.
//! * **Versions**: a corrected re-publication for the same (agency, year) is a different
//!   document (different bytes), so a new `report_id`; archiving it bumps
//!   `report_series.latest_version` with one upsert (row-locked, race-free), stores that number
//!   in `reports.version` (unique per agency and year) and moves `current_report_id` to it. Older
//!   versions stay queryable by their id. Reports without an agency or a year have no version.
//! * **Exactness**: values are `numeric` from `rust_decimal::Decimal` (scale kept:
//!   `73802895.90` stays `73802895.90`); `checked` is `json`, not `jsonb`, because jsonb
//!   reorders object keys and a table's printed row order lives in its key order. The model
//!   serialises decimals as exact JSON numbers, so the JSON round trip is exact too.
//! * **Status** only moves forward (`RECEIVED → PARSED → VALIDATED → ARCHIVED`, or `FAILED`);
//!   a late or duplicate event never moves it back. `FAILED` is left only by a later successful
//!   run (a redriven message) or by archiving; `ARCHIVED` is final.
//! * **Watching**: every event insert sends `pg_notify('gongkai_events', …)` in its statement
//!   (delivered on commit), carrying the event itself as JSON (only the report id when the
//!   event is too large for a notification; watchers then read it). One shared `PgListener`
//!   per [`Archive`] hands each notification to the watchers of that report only; a watcher
//!   listens before it reads, and also re-reads every few seconds, so no event is lost across
//!   reconnections.
//!
//! # Tests
//!
//! The tests run against the PostgreSQL at `127.0.0.1:5432` (trust auth, user `postgres`;
//! `GONGKAI_TEST_DATABASE_SERVER` overrides it), each in its own database named by
//! [`testing::TestDatabase`], which drops it afterwards. The crates built on the archive can use
//! the same helper.

#![forbid(unsafe_code)]

mod batches;
mod callers;
mod dispositions;
mod error;
mod facts;
mod metrics;
mod read;
pub mod seed;
pub mod testing;
mod types;
mod upgrade;
mod versions;
mod watch;
mod write;

pub use batches::{
    BatchFailure, BatchView, MAX_LISTED_FAILURES, QueueItem, REVALIDATION_BATCH_PREFIX, Retry,
    RevalidationPlan, RevalidationRequest, version_lt,
};
pub use callers::{
    ActiveToken, AuditEntry, AuditQuery, AuditRecord, NewToken, TokenRecord, record_audit_in,
};
pub use dispositions::{Judged, MAX_NOTE_CHARS, NewDisposition};
pub use error::{ArchiveError, Result};
pub use facts::state_name;
pub use metrics::{
    AgencyAlias, ExportedCell, ExportedFinding, ExportedReport, GroupBy, MAX_EXPORT_BATCH,
    MAX_EXPORT_IDS, MetricsQuery, MetricsRow, ReportSelection,
};
pub use read::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use types::{
    Archived, Disposition, DispositionRecord, DocumentRef, Event, EventRecord, FindingKey,
    ListFilter, NewSubmission, Outcome, ReportPage, ReportSummary, Stage, StageRun, Status,
    StoredCell, StoredReport, Submitted, Unqueued,
};
pub use versions::{
    CellCorrection, ChangedCell, CorrectionRecorded, MAX_CORRECTED_CELLS, MAX_REASON_CHARS,
    NewCorrection, Series, SeriesKey, VersionInfo, apply_corrections,
};
pub use watch::POLL_INTERVAL;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations under `crates/gongkai-archive/migrations/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The channel every event insert notifies, with the report id as payload.
pub const EVENTS_CHANNEL: &str = "gongkai_events";

/// A handle on the archive: a connection pool plus the shared listener behind
/// [`Archive::watch`]. Cheap to clone; clones share both.
#[derive(Clone)]
pub struct Archive {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    hub: watch::Hub,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("pool", &self.inner.pool)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Connects to `database_url` (`postgres://user@host:port/dbname`), creating the database
    /// when it does not exist (through the `postgres` maintenance database; a concurrent
    /// creation by another service is fine), applies the migrations and opens a pool of 10.
    pub async fn connect(database_url: &str) -> Result<Archive> {
        Archive::connect_with_pool_size(database_url, 10).await
    }

    /// [`Archive::connect`] with a chosen pool size.
    pub async fn connect_with_pool_size(
        database_url: &str,
        max_connections: u32,
    ) -> Result<Archive> {
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ArchiveError::InvalidArgument(format!(
                "database URL {:?} does not start with postgres://",
                redact_url(database_url)
            )));
        }
        let options = PgConnectOptions::from_str(database_url).map_err(|e| {
            ArchiveError::InvalidArgument(format!(
                "database URL {:?}: {e}",
                redact_url(database_url)
            ))
        })?;
        ensure_database(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(ArchiveError::db("connecting to the archive database"))?;
        Archive::from_pool(pool).await
    }

    /// Wraps an existing pool, applying the migrations first.
    pub async fn from_pool(pool: PgPool) -> Result<Archive> {
        MIGRATOR.run(&pool).await?;
        upgrade::run(&pool).await?;
        Ok(Archive {
            inner: Arc::new(Inner {
                pool,
                hub: watch::Hub::default(),
            }),
        })
    }

    /// The pool, for health checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Closes the pool, waiting for the connections in use to come back (graceful shutdown).
    /// Later calls fail with [`ArchiveError::Unavailable`].
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.pool)
            .await
            .map_err(ArchiveError::db("pinging the archive database"))?;
        Ok(())
    }
}

/// `url` without its password, for messages and logs: the password of the user part
/// (`postgres://user:***@host/db`) and a `password=` parameter (`?password=***`).
pub fn redact_url(url: &str) -> String {
    let mut redacted = url.to_owned();
    if let Some(scheme) = redacted.find("://") {
        let authority_end = redacted[scheme + 3..]
            .find(['/', '?', '#'])
            .map_or(redacted.len(), |i| scheme + 3 + i);
        if let Some(at) = redacted[..authority_end].rfind('@')
            && let Some(colon) = redacted[scheme + 3..at].find(':')
        {
            redacted.replace_range(scheme + 3 + colon + 1..at, "***");
        }
    }
    if let Some(query) = redacted.find('?') {
        let (head, params) = redacted.split_at(query + 1);
        let params: Vec<String> = params
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => param.to_owned(),
            })
            .collect();
        redacted = format!("{head}{}", params.join("&"));
    }
    redacted
}

/// Creates the database named in `options` when connecting to it says it does not exist.
async fn ensure_database(options: &PgConnectOptions) -> Result<()> {
    match options.connect().await {
        Ok(connection) => {
            // Closing politely is a courtesy; a failure here does not matter.
            let _ = connection.close().await;
            return Ok(());
        }
        // 3D000 invalid_catalog_name: the database does not exist.
        Err(sqlx::Error::Database(ref db)) if db.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(ArchiveError::db("connecting to the archive database")(e)),
    }
    let name = options
        .get_database()
        .unwrap_or_else(|| options.get_username())
        .to_owned();
    tracing::info!(database = %name, "creating the archive database");
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(ArchiveError::db(
            "connecting to the postgres maintenance database",
        ))?;
    let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    let created = sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    match created {
        Ok(_) => Ok(()),
        // 42P04 duplicate_database; 23505 when two creations race on pg_database's unique index.
        Err(sqlx::Error::Database(ref db))
            if matches!(db.code().as_deref(), Some("42P04") | Some("23505")) =>
        {
            Ok(())
        }
        Err(e) => Err(ArchiveError::db("creating the archive database")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgres://gongkai:s3cr%40t@db:5432/gongkai"),
            "postgres://gongkai:***@db:5432/gongkai"
        );
        assert_eq!(
            redact_url("postgres://u@db/g?sslmode=require&password=hunter2"),
            "postgres://u@db/g?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/gongkai"),
            "postgres://postgres@127.0.0.1:5432/gongkai"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        // An '@' after the host (in a parameter) is not mistaken for the user part's end.
        assert_eq!(
            redact_url("postgres://db/g?options=a:b@c"),
            "postgres://db/g?options=a:b@c"
        );
    }
}
