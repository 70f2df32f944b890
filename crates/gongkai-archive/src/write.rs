//! The writes: submissions, stage events, archived reports and failures. Each is one
//! transaction, keyed so that repeating it (a redelivered message, a client retry) changes
//! nothing, and each event it records notifies [`crate::EVENTS_CHANNEL`] on commit.

use crate::error::{ArchiveError, Result};
use crate::facts::{FactTables, Facts};
use crate::types::{
    Archived, EventRecord, NewSubmission, Outcome, Stage, StageRun, Status, Submitted, Unqueued,
};
use crate::{Archive, EVENTS_CHANNEL};
use chrono::Utc;
use gongkai_model::{CheckedReport, Finding, Observed, Source, Summary, TableId, Template};
use std::sync::LazyLock;
use uuid::Uuid;

impl Archive {
    /// Records a submitted document as a new report in `RECEIVED`, with its `receive` event
    /// (from `received_at` to now), unless the same bytes (`sha256`) or the same
    /// `idempotency_key` were submitted before: then it returns the earlier report's id with
    /// `duplicate = true` and records nothing. Safe under concurrent submissions of the same
    /// document: exactly one of them gets `duplicate = false`.
    ///
    /// When the key matches one report and the bytes another, the key wins.
    #[tracing::instrument(name = "archive.record_submission", skip_all, fields(sha256 = %submission.sha256))]
    pub async fn record_submission(&self, submission: &NewSubmission) -> Result<Submitted> {
        let sha256 = submission.sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ArchiveError::InvalidArgument(format!(
                "sha256 {:?} is not 64 hexadecimal digits",
                submission.sha256
            )));
        }
        let size = i64::try_from(submission.size_bytes).map_err(|_| {
            ArchiveError::InvalidArgument(format!("size {} is too large", submission.size_bytes))
        })?;
        let idempotency_key = submission
            .idempotency_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let batch = submission
            .batch
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        const CONTEXT: &str = "recording a submission";
        // A conflicting row that vanished between our INSERT and SELECT can only be one that
        // was rolled back; trying again then inserts ours.
        // One statement on the common path: the report, its `receive` event and the event's
        // notification, committed together.
        static STATEMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "WITH new_report AS ( \
                   INSERT INTO reports (report_id, sha256, idempotency_key, filename, \
                     media_type, size_bytes, blob_key, source_system, received_at, status, \
                     updated_at, batch) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, 'RECEIVED', now(), $13) \
                   ON CONFLICT DO NOTHING RETURNING report_id), \
                 new_batch AS ( \
                   INSERT INTO batches (batch, kind, created_at) \
                   SELECT $13, 'SUBMISSION', $11 FROM new_report WHERE $13::text IS NOT NULL \
                   ON CONFLICT (batch) DO NOTHING), \
                 inserted AS ( \
                   INSERT INTO events (report_id, stage, attempt, status, outcome, started_at, \
                     finished_at) \
                   SELECT report_id, 'receive', 1, 'RECEIVED', 'succeeded', $11, \
                     greatest($11, $12) \
                   FROM new_report RETURNING *), \
                 awaiting_queue AS ( \
                   INSERT INTO unqueued_reports (report_id, received_at) \
                   SELECT report_id, $11 FROM new_report), \
                 {notified} \
                 SELECT (SELECT report_id FROM new_report), (SELECT count(*) FROM notified)",
                notified = notify_inserted_sql("$9", "$10"),
            )
        });
        for _ in 0..3 {
            let (inserted, _): (Option<Uuid>, i64) = sqlx::query_as(STATEMENT.as_str())
                .bind(Uuid::now_v7())
                .bind(&sha256)
                .bind(idempotency_key)
                .bind(&submission.filename)
                .bind(&submission.media_type)
                .bind(size)
                .bind(&submission.blob_key)
                .bind(&submission.source_system)
                .bind(EVENTS_CHANNEL)
                .bind(crate::watch::MAX_EVENT_PAYLOAD)
                .bind(submission.received_at)
                .bind(Utc::now())
                .bind(batch)
                .fetch_one(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
            if let Some(report_id) = inserted {
                return Ok(Submitted {
                    report_id,
                    duplicate: false,
                });
            }

            // READ COMMITTED: this statement sees the row whose commit the INSERT waited for.
            let existing: Option<Uuid> = sqlx::query_scalar(
                "SELECT report_id FROM reports \
                 WHERE kind = 'SUBMISSION' AND (idempotency_key = $1 OR sha256 = $2) \
                 ORDER BY (idempotency_key IS NOT DISTINCT FROM $1) DESC LIMIT 1",
            )
            .bind(idempotency_key)
            .bind(&sha256)
            .fetch_optional(self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
            if let Some(report_id) = existing {
                return Ok(Submitted {
                    report_id,
                    duplicate: true,
                });
            }
        }
        Err(ArchiveError::Database {
            context: CONTEXT,
            source: sqlx::Error::Protocol(
                "the conflicting submission disappeared three times in a row".to_owned(),
            ),
        })
    }

    /// Records one run of one stage and moves the report's status as the record says; returns
    /// the report's status afterwards.
    ///
    /// Idempotent: a run is identified by (report, stage, attempt, outcome); recording it again
    /// changes nothing. The status never moves back (a late event does not undo a later
    /// stage); `FAILED` also records `detail` as the failure reason, and is left only by a
    /// later `Succeeded` run (a redriven message). `status: Some(ARCHIVED)` is refused: use
    /// [`Archive::archive_checked`], which writes the content with it.
    ///
    /// One statement, so one round trip and its own transaction: the report's row is locked,
    /// the next status computed by `TRANSITION_SQL` (status never moves back; checked against
    /// a plain Rust statement of the rule by a test), the event inserted and announced, the status updated.
    #[tracing::instrument(name = "archive.record_event", skip_all, fields(%report_id, stage = %record.stage, attempt = record.attempt))]
    pub async fn record_event(&self, report_id: Uuid, record: &EventRecord) -> Result<Status> {
        if record.status == Some(Status::Archived) {
            return Err(ArchiveError::InvalidArgument(
                "ARCHIVED is set by archive_checked, together with the archived content".into(),
            ));
        }
        let attempt = i32::try_from(record.attempt)
            .ok()
            .filter(|a| *a >= 1)
            .ok_or_else(|| ArchiveError::InvalidArgument("attempts are counted from 1".into()))?;
        const CONTEXT: &str = "recording an event";
        static STATEMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "WITH current AS ( \
               SELECT status FROM reports WHERE report_id = $1 FOR UPDATE), \
             next AS ( \
               SELECT status AS current, {TRANSITION_SQL} AS next FROM current), \
             inserted AS ( \
               INSERT INTO events (report_id, stage, attempt, status, outcome, detail, \
                 started_at, finished_at) \
               SELECT $1, $2, $3, next.next, $5, $6, $7, $8 FROM next \
               ON CONFLICT (report_id, stage, attempt, outcome) DO NOTHING RETURNING *), \
             updated AS ( \
               UPDATE reports SET status = next.next, \
                 failure_stage = CASE WHEN next.next = 'FAILED' THEN $2 END, \
                 failure_reason = CASE WHEN next.next = 'FAILED' THEN $6 END, \
                 updated_at = now(), \
                 finished_at = CASE WHEN next.next = 'FAILED' THEN now() END \
               FROM next \
               WHERE reports.report_id = $1 AND next.next <> next.current \
                 AND EXISTS (SELECT 1 FROM inserted) \
               RETURNING 1), \
             {notified} \
             SELECT next.next, (SELECT count(*) FROM notified) AS notified FROM next",
                notified = notify_inserted_sql("$9", "$10"),
            )
        });
        let row: Option<(String, i64)> = sqlx::query_as(STATEMENT.as_str())
            .bind(report_id)
            .bind(record.stage.as_str())
            .bind(attempt)
            .bind(record.status.map(Status::as_str))
            .bind(record.outcome.as_str())
            .bind(&record.detail)
            .bind(record.started_at)
            .bind(record.finished_at.max(record.started_at))
            .bind(EVENTS_CHANNEL)
            .bind(crate::watch::MAX_EVENT_PAYLOAD)
            .fetch_optional(self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let (status, _) = row.ok_or(ArchiveError::NotFound { report_id })?;
        Status::from_id(&status)
            .ok_or_else(|| ArchiveError::corrupt(report_id, format!("unknown status {status:?}")))
    }

    /// Notes that the parse messages of `report_ids` were confirmed by the broker, so that
    /// [`Archive::unqueued`] leaves them alone. Idempotent; unknown ids are ignored.
    pub async fn mark_queued(&self, report_ids: &[Uuid]) -> Result<()> {
        if report_ids.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM unqueued_reports WHERE report_id = ANY($1)")
            .bind(report_ids)
            .execute(self.pool())
            .await
            .map_err(ArchiveError::db("noting queued reports"))?;
        Ok(())
    }

    /// Reports still `RECEIVED` whose message was never confirmed, received more than
    /// `older_than` ago (long enough for a gateway to have published and noted them), oldest
    /// first, at most `limit`. Forgets, on the way, the reports that went on although their
    /// note was lost (a gateway stopped before writing it).
    pub async fn unqueued(
        &self,
        older_than: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Unqueued>> {
        let older_than = chrono::Duration::from_std(older_than)
            .map_err(|_| ArchiveError::InvalidArgument("the age is too large".into()))?;
        let rows: Vec<(Uuid, String, String, String, Option<String>)> = sqlx::query_as(
            "WITH went_on AS ( \
               DELETE FROM unqueued_reports u USING reports r \
               WHERE r.report_id = u.report_id AND r.status <> 'RECEIVED' \
                 AND u.received_at < $1) \
             SELECT r.report_id, r.sha256, r.blob_key, r.filename, r.source_system \
             FROM unqueued_reports u JOIN reports r ON r.report_id = u.report_id \
             WHERE r.status = 'RECEIVED' AND u.received_at < $1 \
             ORDER BY u.received_at LIMIT $2",
        )
        .bind(Utc::now() - older_than)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("finding unqueued reports"))?;
        Ok(rows
            .into_iter()
            .map(
                |(report_id, sha256, blob_key, filename, source_system)| Unqueued {
                    report_id,
                    sha256,
                    blob_key,
                    filename,
                    source_system,
                },
            )
            .collect())
    }

    /// Marks the report `FAILED` at `stage` with `reason` (for people: Chinese is welcome),
    /// recording the event of that run. For a report that cannot be read at all, or that the
    /// pipeline gave up on. Idempotent like [`Archive::record_event`]; an `ARCHIVED` report stays
    /// archived (the event is still recorded).
    pub async fn archive_failed(
        &self,
        report_id: Uuid,
        stage: Stage,
        reason: &str,
        run: StageRun,
    ) -> Result<Status> {
        let record = EventRecord {
            stage,
            attempt: run.attempt,
            status: Some(Status::Failed),
            outcome: Outcome::Failed,
            detail: Some(reason.to_owned()),
            started_at: run.started_at,
            finished_at: Utc::now(),
        };
        self.record_event(report_id, &record).await
    }

    /// Archives a checked report: the report's content and `checked` JSON (its cells are read
    /// from there, through the view `cells`), its version in the (agency, year) series (the
    /// current pointer moves to it), its findings, status `ARCHIVED` (error findings or not)
    /// and the `archive` event of `run`, all committed together. When the report is already
    /// `ARCHIVED` (a redelivered message) nothing changes and `already_archived` is true.
    ///
    /// A `checked.source.sha256` that is not the submitted document's is refused
    /// ([`ArchiveError::InvalidArgument`]): the content would be filed under the wrong report.
    pub async fn archive_checked(
        &self,
        report_id: Uuid,
        checked: &CheckedReport,
        run: StageRun,
    ) -> Result<Archived> {
        let json = serde_json::to_string(checked).map_err(|source| ArchiveError::Serialize {
            what: "the checked report",
            source,
        })?;
        self.archive_checked_json(report_id, &json, run).await
    }

    /// [`Archive::archive_checked`] for a checked report as JSON (the archive stage reads it
    /// from the validate stage's artefact), stored as it is: the text is not encoded again.
    /// Only the parts the archive writes besides the document are decoded (source, title,
    /// agency, year, template, findings, summary, rules version, and the tables for the facts
    /// and cell arrays). JSON that is not a checked report is
    /// [`ArchiveError::InvalidArgument`].
    ///
    /// One statement, so one round trip and its own transaction (it was nine): the report's row
    /// is locked and checked (known, same bytes, not archived yet), and only then are the
    /// series, the report, its findings and the event written. A report whose content was
    /// archived before and whose status was reset by hand takes a second path that deletes
    /// the old findings first.
    #[tracing::instrument(name = "archive.archive_checked", skip_all, fields(%report_id, attempt = run.attempt))]
    pub async fn archive_checked_json(
        &self,
        report_id: Uuid,
        json: &str,
        run: StageRun,
    ) -> Result<Archived> {
        const CONTEXT: &str = "archiving a checked report";
        let parts: ArchivedParts = serde_json::from_str(json).map_err(|error| {
            ArchiveError::InvalidArgument(format!("not a checked report: {error}"))
        })?;
        let content = ArchiveContent::of(&parts, json, run)?;
        let outcome = content
            .write(report_id, self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?
            .ok_or(ArchiveError::NotFound { report_id })?;
        if let Some(refused) = outcome.refusal(report_id, &content) {
            return refused;
        }
        if !outcome.had_content {
            return Ok(outcome.archived());
        }

        // Archived before, and its status reset by hand since: the old findings go first, in
        // the same transaction, so that the write is exact (the cells go with `checked`).
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        sqlx::query(
            // The update locks the report's row; the findings go only if it was reset (not
            // archived again meanwhile, which the statement below then tells).
            "WITH reset AS ( \
               UPDATE reports SET checked = NULL \
               WHERE report_id = $1 AND status <> 'ARCHIVED' RETURNING report_id) \
             , facts AS (DELETE FROM report_facts WHERE report_id IN (SELECT report_id FROM reset)) \
             , cell_arrays AS ( \
               DELETE FROM report_cells WHERE report_id IN (SELECT report_id FROM reset)) \
             DELETE FROM findings WHERE report_id IN (SELECT report_id FROM reset)",
        )
        .bind(report_id)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let outcome = content
            .write(report_id, &mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?
            .ok_or(ArchiveError::NotFound { report_id })?;
        if let Some(refused) = outcome.refusal(report_id, &content) {
            return refused;
        }
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(outcome.archived())
    }
}

/// What the archive reads of a checked report's JSON besides storing it: everything but the
/// sections (serde skips those without building them), and of the tables only what the facts
/// need ([`FactTables`], borrowed from the JSON).
#[derive(serde::Deserialize)]
pub(crate) struct ArchivedParts<'a> {
    pub(crate) source: Source,
    #[serde(borrow)]
    pub(crate) report: ArchivedReport<'a>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) summary: Summary,
    pub(crate) rules_version: String,
}

#[derive(serde::Deserialize)]
pub(crate) struct ArchivedReport<'a> {
    pub(crate) title: Option<String>,
    pub(crate) agency: Option<String>,
    pub(crate) year: Option<u16>,
    pub(crate) template: Template,
    /// Read for the facts (metric parts and cell arrays) written beside the document.
    #[serde(default, borrow)]
    pub(crate) tables: FactTables<'a>,
}

/// What the archiving statement found and did.
struct ArchiveOutcome {
    /// The report's status before the statement.
    status: String,
    /// The report's submitted bytes.
    sha256: String,
    /// The report held archived content already (its status was reset by hand).
    had_content: bool,
    /// The report's version before the statement.
    old_version: Option<i32>,
    /// The version the statement gave it, when it wrote and the report has a series.
    new_version: Option<i32>,
}

impl ArchiveOutcome {
    /// The answer when the statement did not write: other bytes, or archived before.
    fn refusal(&self, report_id: Uuid, content: &ArchiveContent<'_>) -> Option<Result<Archived>> {
        if let Some(claimed) = &content.claimed_sha256
            && *claimed != self.sha256
        {
            return Some(Err(ArchiveError::InvalidArgument(format!(
                "the checked report is of bytes {claimed}, report {report_id} of {}",
                self.sha256
            ))));
        }
        match Status::from_id(&self.status) {
            None => Some(Err(ArchiveError::corrupt(
                report_id,
                format!("unknown status {:?}", self.status),
            ))),
            Some(Status::Archived) => Some(Ok(Archived {
                version: self.old_version.and_then(|v| u32::try_from(v).ok()),
                already_archived: true,
            })),
            Some(_) => None,
        }
    }

    fn archived(&self) -> Archived {
        Archived {
            version: self.new_version.and_then(|v| u32::try_from(v).ok()),
            already_archived: false,
        }
    }
}

/// The parameters of the archiving statement: the report's fields, and its findings as one
/// array per attribute (so that the statement's text, prepared once per connection, does not
/// depend on how many there are).
struct ArchiveContent<'a> {
    claimed_sha256: Option<String>,
    parts: &'a ArchivedParts<'a>,
    json: &'a str,
    attempt: i32,
    run: StageRun,
    finished_at: chrono::DateTime<Utc>,
    findings: FindingColumns<'a>,
    facts: Facts<'a>,
}

/// The archiving statement. `current` locks the report's row and decides (`ok`) whether to
/// write: the report is not archived yet, the content is of its bytes, and it holds no content
/// from an earlier archiving; every write below is conditional on it.
static ARCHIVE_STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH current AS ( \
           SELECT status, sha256, version, region, checked IS NOT NULL AS had_content, \
             status <> 'ARCHIVED' AND ($2::text IS NULL OR $2 = sha256) \
               AND checked IS NULL AS ok \
           FROM reports WHERE report_id = $1 FOR UPDATE), \
         key AS ( \
           SELECT coalesce((SELECT a.agency_key FROM agency_aliases a \
                            WHERE a.alias_key = $27), $27) AS agency_key, \
             coalesce(current.region, $28) AS region \
           FROM current), \
         series AS ( \
           INSERT INTO report_series (agency_key, agency, year, latest_version, \
             current_report_id) \
           SELECT key.agency_key, $3, $4, 1, $1 FROM current, key \
           WHERE current.ok AND key.agency_key IS NOT NULL AND $4::integer IS NOT NULL \
           ON CONFLICT (agency_key, year) DO UPDATE \
             SET latest_version = report_series.latest_version + 1, \
                 current_report_id = EXCLUDED.current_report_id, agency = EXCLUDED.agency \
           RETURNING latest_version), \
         updated AS ( \
           UPDATE reports SET agency = $3, year = $4, template = $5, title = $6, \
             rules_version = $7, error_count = $8, warning_count = $9, info_count = $10, \
             version = (SELECT latest_version FROM series), checked = $11::json, \
             media_type = $12, status = 'ARCHIVED', failure_stage = NULL, \
             failure_reason = NULL, updated_at = now(), finished_at = now(), \
             agency_key = key.agency_key, region = nullif(key.region, '') \
           FROM current, key WHERE reports.report_id = $1 AND current.ok \
           RETURNING 1), \
         facts AS ( \
           INSERT INTO report_facts (report_id, agency, agency_key, region, year, template, \
             version, metrics_version, metric_parts) \
           SELECT $1, $3, key.agency_key, coalesce(key.region, ''), $4, $5, \
             series.latest_version, $29, $30::numeric[] \
           FROM current, key, series WHERE current.ok \
           ON CONFLICT (report_id) DO UPDATE SET agency = EXCLUDED.agency, \
             agency_key = EXCLUDED.agency_key, region = EXCLUDED.region, year = EXCLUDED.year, \
             template = EXCLUDED.template, version = EXCLUDED.version, \
             metrics_version = EXCLUDED.metrics_version, \
             metric_parts = EXCLUDED.metric_parts), \
         cell_arrays AS ( \
           INSERT INTO report_cells (report_id, cell_ids, cell_values, cell_states, \
             cell_texts) \
           SELECT $1, $31::smallint[], $32::numeric[], $33::\"char\"[], $34::text[] \
           FROM current, series WHERE current.ok \
           ON CONFLICT (report_id) DO UPDATE SET cell_ids = EXCLUDED.cell_ids, \
             cell_values = EXCLUDED.cell_values, cell_states = EXCLUDED.cell_states, \
             cell_texts = EXCLUDED.cell_texts), \
         findings AS ( \
           INSERT INTO findings (report_id, ordinal, rule, severity, table_id, row_key, \
             column_key, expected, actual, message, message_en, rules_version) \
           SELECT $1, (f.ordinal - 1)::integer, f.rule, f.severity, f.table_id, f.row_key, \
             f.column_key, f.expected::jsonb, f.actual::jsonb, f.message, f.message_en, $7 \
           FROM current, \
             unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::text[], \
                    $23::text[], $24::text[], $25::text[], $26::text[]) \
               WITH ORDINALITY AS f(rule, severity, table_id, row_key, column_key, expected, \
                                    actual, message, message_en, ordinal) \
           WHERE current.ok), \
         inserted AS ( \
           INSERT INTO events (report_id, stage, attempt, status, outcome, detail, started_at, \
             finished_at) \
           SELECT $1, 'archive', $13, 'ARCHIVED', 'succeeded', NULL, $14, $15 FROM current \
           WHERE current.ok \
           ON CONFLICT (report_id, stage, attempt, outcome) DO NOTHING RETURNING *), \
         {notified} \
         SELECT current.status, current.sha256, current.had_content, current.version, \
           (SELECT latest_version FROM series), (SELECT count(*) FROM notified) \
         FROM current",
        notified = notify_inserted_sql("$16", "$17"),
    )
});

impl<'a> ArchiveContent<'a> {
    fn of(parts: &'a ArchivedParts<'a>, json: &'a str, run: StageRun) -> Result<Self> {
        let attempt = i32::try_from(run.attempt)
            .ok()
            .filter(|a| *a >= 1)
            .ok_or_else(|| ArchiveError::InvalidArgument("attempts are counted from 1".into()))?;
        let claimed = parts.source.sha256.trim();
        Ok(ArchiveContent {
            claimed_sha256: (!claimed.is_empty()).then(|| claimed.to_ascii_lowercase()),
            parts,
            json,
            attempt,
            run,
            finished_at: Utc::now().max(run.started_at),
            findings: FindingColumns::of(&parts.findings)?,
            facts: Facts::of(&parts.report),
        })
    }

    /// Runs the archiving statement; `None` when the report is unknown.
    async fn write<'e, E>(
        &self,
        report_id: Uuid,
        executor: E,
    ) -> std::result::Result<Option<ArchiveOutcome>, sqlx::Error>
    where
        E: sqlx::PgExecutor<'e>,
    {
        let report = &self.parts.report;
        let summary = self.parts.summary;
        let findings = &self.findings;
        let facts = &self.facts;
        type Row = (String, String, bool, Option<i32>, Option<i32>, i64);
        let row: Option<Row> = sqlx::query_as(ARCHIVE_STATEMENT.as_str())
            .bind(report_id)
            .bind(&self.claimed_sha256)
            .bind(report.agency.as_deref().filter(|a| !a.trim().is_empty()))
            .bind(report.year.map(i32::from))
            .bind(report.template.as_str())
            .bind(&report.title)
            .bind(&self.parts.rules_version)
            .bind(count(summary.errors))
            .bind(count(summary.warnings))
            .bind(count(summary.infos))
            .bind(self.json)
            .bind(&self.parts.source.media_type)
            .bind(self.attempt)
            .bind(self.run.started_at)
            .bind(self.finished_at)
            .bind(EVENTS_CHANNEL)
            .bind(crate::watch::MAX_EVENT_PAYLOAD)
            .bind(&findings.rules)
            .bind(&findings.severities)
            .bind(&findings.tables)
            .bind(&findings.rows)
            .bind(&findings.columns)
            .bind(&findings.expected)
            .bind(&findings.actual)
            .bind(&findings.messages)
            .bind(&findings.messages_en)
            .bind(&facts.agency_key)
            .bind(&facts.region)
            .bind(i32::try_from(gongkai_metrics::METRICS_VERSION).unwrap_or(i32::MAX))
            .bind(&facts.metric_parts)
            .bind(&facts.cell_ids)
            .bind(&facts.cell_values)
            .bind(&facts.cell_states)
            .bind(&facts.cell_texts)
            .fetch_optional(executor)
            .await?;
        Ok(row.map(
            |(status, sha256, had_content, old_version, new_version, _)| ArchiveOutcome {
                status,
                sha256,
                had_content,
                old_version,
                new_version,
            },
        ))
    }
}

pub(crate) fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status after an event that asks for `requested` with `outcome`, from `current`: the
/// rule `TRANSITION_SQL` applies, written here in Rust to state it plainly and to check the
/// SQL against (`transition_sql_is_transition`).
#[cfg(test)]
fn transition(current: Status, requested: Option<Status>, outcome: Outcome) -> Status {
    fn rank(s: Status) -> u8 {
        match s {
            Status::Received => 0,
            Status::Parsed => 1,
            Status::Validated => 2,
            Status::Failed => 3,
            Status::Archived => 4,
        }
    }
    let Some(requested) = requested else {
        return current;
    };
    match current {
        Status::Archived => current,
        // A redriven message that now succeeds resumes a report that had failed.
        Status::Failed if outcome == Outcome::Succeeded && requested != Status::Failed => requested,
        Status::Failed => current,
        _ if rank(requested) > rank(current) => requested,
        _ => current,
    }
}

/// The status transition in SQL (the `transition` of the tests), over the columns `status` (current) and the parameters `$4`
/// (requested status, NULL for none) and `$5` (outcome).
const TRANSITION_SQL: &str = "CASE \
      WHEN $4::text IS NULL OR status = 'ARCHIVED' THEN status \
      WHEN status = 'FAILED' THEN \
        CASE WHEN $5 = 'succeeded' AND $4 <> 'FAILED' THEN $4 ELSE status END \
      WHEN array_position(ARRAY['RECEIVED','PARSED','VALIDATED','FAILED','ARCHIVED'], $4) \
         > array_position(ARRAY['RECEIVED','PARSED','VALIDATED','FAILED','ARCHIVED'], status) \
        THEN $4 \
      ELSE status END";

/// A CTE `notified` that announces the rows of the CTE `inserted` (events) on the channel in
/// parameter `channel`: the event as JSON when it is at most `max_payload` bytes, else only its
/// report id (see [`crate::watch`]). The event is turned into JSON once (it was twice, for the
/// test and for the payload: a third of `record_event`'s time under `auto_explain`).
pub(crate) fn notify_inserted_sql(channel: &str, max_payload: &str) -> String {
    format!(
        "notified AS ( \
           SELECT pg_notify({channel}, CASE WHEN octet_length(e.json) <= {max_payload} \
                                       THEN e.json ELSE e.report_id::text END) \
           FROM (SELECT row_to_json(inserted)::text AS json, inserted.report_id \
                 FROM inserted) AS e)"
    )
}

/// The findings in the rule set's order, one array per attribute.
pub(crate) struct FindingColumns<'a> {
    pub(crate) rules: Vec<&'a str>,
    pub(crate) severities: Vec<&'static str>,
    pub(crate) tables: Vec<Option<&'static str>>,
    pub(crate) rows: Vec<Option<&'a str>>,
    pub(crate) columns: Vec<Option<&'a str>>,
    pub(crate) expected: Vec<Option<String>>,
    pub(crate) actual: Vec<Option<String>>,
    pub(crate) messages: Vec<&'a str>,
    pub(crate) messages_en: Vec<Option<&'a str>>,
}

impl<'a> FindingColumns<'a> {
    pub(crate) fn of(findings: &'a [Finding]) -> Result<Self> {
        let mut columns = FindingColumns {
            rules: Vec::with_capacity(findings.len()),
            severities: Vec::with_capacity(findings.len()),
            tables: Vec::with_capacity(findings.len()),
            rows: Vec::with_capacity(findings.len()),
            columns: Vec::with_capacity(findings.len()),
            expected: Vec::with_capacity(findings.len()),
            actual: Vec::with_capacity(findings.len()),
            messages: Vec::with_capacity(findings.len()),
            messages_en: Vec::with_capacity(findings.len()),
        };
        for finding in findings {
            columns.rules.push(finding.rule.as_str());
            columns.severities.push(finding.severity.as_str());
            columns.tables.push(finding.table.map(TableId::as_str));
            columns.rows.push(finding.row.as_deref());
            columns.columns.push(finding.column.as_deref());
            columns.expected.push(observed_json(&finding.expected)?);
            columns.actual.push(observed_json(&finding.actual)?);
            columns.messages.push(finding.message.as_str());
            columns.messages_en.push(finding.message_en.as_deref());
        }
        Ok(columns)
    }
}

fn observed_json(o: &Option<Observed>) -> Result<Option<String>> {
    o.as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|source| ArchiveError::Serialize {
            what: "a finding's expected or actual value",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgConnection;

    #[test]
    fn status_never_moves_back_and_final_states_hold() {
        use Outcome::{Failed as Failure, Retrying, Succeeded};
        use Status::*;
        assert_eq!(transition(Received, Some(Parsed), Succeeded), Parsed);
        assert_eq!(transition(Validated, Some(Parsed), Succeeded), Validated);
        assert_eq!(transition(Parsed, None, Retrying), Parsed);
        assert_eq!(transition(Parsed, Some(Failed), Failure), Failed);
        assert_eq!(transition(Archived, Some(Failed), Failure), Archived);
        assert_eq!(transition(Failed, Some(Parsed), Retrying), Failed);
        assert_eq!(transition(Failed, Some(Parsed), Succeeded), Parsed);
    }

    /// The SQL of the status transition agrees with its Rust statement for every current
    /// status, requested status and outcome.
    #[tokio::test]
    async fn transition_sql_is_transition() {
        use sqlx::Connection as _;
        if std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some() {
            eprintln!("GONGKAI_SKIP_SERVICE_TESTS is set: not checking the SQL transition");
            return;
        }
        let url = format!(
            "{}/postgres",
            crate::testing::server_url().trim_end_matches('/')
        );
        let mut connection = PgConnection::connect(&url)
            .await
            .expect("PostgreSQL must run for this test (or set GONGKAI_SKIP_SERVICE_TESTS)");
        let statement = format!(
            "SELECT {TRANSITION_SQL} FROM (SELECT $1::text AS status, $2::text, $3::text) AS s"
        );
        let statuses = [
            Status::Received,
            Status::Parsed,
            Status::Validated,
            Status::Failed,
            Status::Archived,
        ];
        let mut checked = 0;
        for current in statuses {
            for requested in statuses.iter().copied().map(Some).chain([None]) {
                for outcome in [Outcome::Succeeded, Outcome::Retrying, Outcome::Failed] {
                    let from_sql: String =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(statement.as_str()))
                            .bind(current.as_str())
                            .bind("unused")
                            .bind("unused")
                            .bind(requested.map(Status::as_str))
                            .bind(outcome.as_str())
                            .fetch_one(&mut connection)
                            .await
                            .expect("the transition runs");
                    assert_eq!(
                        from_sql,
                        transition(current, requested, outcome).as_str(),
                        "from {current:?} asked {requested:?} with {outcome:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 6 * 3);
    }
}
