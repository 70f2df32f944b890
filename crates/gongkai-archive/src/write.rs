//! The writes: submissions, stage events, archived reports and failures. Each is one
//! transaction, keyed so that repeating it (a redelivered message, a client retry) changes
//! nothing, and each event it records notifies [`crate::EVENTS_CHANNEL`] on commit.

use crate::error::{ArchiveError, Result};
use crate::types::{
    Archived, EventRecord, NewSubmission, Outcome, Stage, StageRun, Status, Submitted, Unqueued,
};
use crate::{Archive, EVENTS_CHANNEL};
use chrono::Utc;
use gongkai_model::{CheckedReport, Observed, TableId};
use sqlx::PgConnection;
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
                     updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, 'RECEIVED', now()) \
                   ON CONFLICT DO NOTHING RETURNING report_id), \
                 inserted AS ( \
                   INSERT INTO events (report_id, stage, attempt, status, outcome, started_at, \
                     finished_at) \
                   SELECT report_id, 'receive', 1, 'RECEIVED', 'succeeded', $11, \
                     greatest($11, $12) \
                   FROM new_report RETURNING *), \
                 {NOTIFY_INSERTED_SQL} \
                 SELECT (SELECT report_id FROM new_report), (SELECT count(*) FROM notified)"
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
                 WHERE idempotency_key = $1 OR sha256 = $2 \
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
             {NOTIFY_INSERTED_SQL} \
             SELECT next.next, (SELECT count(*) FROM notified) AS notified FROM next"
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
        sqlx::query(
            "UPDATE reports SET queued_at = now() \
             WHERE report_id = ANY($1) AND queued_at IS NULL",
        )
        .bind(report_ids)
        .execute(self.pool())
        .await
        .map_err(ArchiveError::db("noting queued reports"))?;
        Ok(())
    }

    /// Reports still `RECEIVED` whose message was never confirmed, received more than
    /// `older_than` ago (long enough for a gateway to have published and noted them), oldest
    /// first, at most `limit`.
    pub async fn unqueued(
        &self,
        older_than: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Unqueued>> {
        let older_than = chrono::Duration::from_std(older_than)
            .map_err(|_| ArchiveError::InvalidArgument("the age is too large".into()))?;
        let rows: Vec<(Uuid, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT report_id, sha256, blob_key, filename, source_system FROM reports \
             WHERE queued_at IS NULL AND status = 'RECEIVED' AND received_at < $1 \
             ORDER BY received_at LIMIT $2",
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

    /// Archives a checked report in one transaction: the report's content and `checked` JSON,
    /// its version in the (agency, year) series (the current pointer moves to it), its cells
    /// and findings, status `ARCHIVED` (error findings or not) and the `archive` event of
    /// `run`. When the report is already `ARCHIVED` (a redelivered message) nothing changes and
    /// `already_archived` is true.
    ///
    /// A `checked.source.sha256` that is not the submitted document's is refused
    /// ([`ArchiveError::InvalidArgument`]): the content would be filed under the wrong report.
    #[tracing::instrument(name = "archive.archive_checked", skip_all, fields(%report_id, attempt = run.attempt))]
    pub async fn archive_checked(
        &self,
        report_id: Uuid,
        checked: &CheckedReport,
        run: StageRun,
    ) -> Result<Archived> {
        if run.attempt == 0 {
            return Err(ArchiveError::InvalidArgument(
                "attempts are counted from 1".into(),
            ));
        }
        const CONTEXT: &str = "archiving a checked report";
        let json = serde_json::to_string(checked).map_err(|source| ArchiveError::Serialize {
            what: "the checked report",
            source,
        })?;
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let (current, version, sha256): (String, Option<i32>, String) = sqlx::query_as(
            "SELECT status, version, sha256 FROM reports WHERE report_id = $1 FOR UPDATE",
        )
        .bind(report_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?
        .ok_or(ArchiveError::NotFound { report_id })?;
        let current = Status::from_id(&current).ok_or_else(|| {
            ArchiveError::corrupt(report_id, format!("unknown status {current:?}"))
        })?;
        let claimed = checked.source.sha256.trim();
        if !claimed.is_empty() && !claimed.eq_ignore_ascii_case(&sha256) {
            return Err(ArchiveError::InvalidArgument(format!(
                "the checked report is of bytes {claimed}, report {report_id} of {sha256}"
            )));
        }
        if current == Status::Archived {
            tx.rollback().await.map_err(ArchiveError::db(CONTEXT))?;
            return Ok(Archived {
                version: version.and_then(|v| u32::try_from(v).ok()),
                already_archived: true,
            });
        }

        let report = &checked.report;
        let agency = report.agency.as_deref().filter(|a| !a.trim().is_empty());
        let year = report.year.map(i32::from);
        let version: Option<i32> = match (agency, year) {
            (Some(agency), Some(year)) => Some(
                sqlx::query_scalar(
                    "INSERT INTO report_series (agency, year, latest_version, current_report_id) \
                     VALUES ($1, $2, 1, $3) \
                     ON CONFLICT (agency, year) DO UPDATE \
                       SET latest_version = report_series.latest_version + 1, \
                           current_report_id = EXCLUDED.current_report_id \
                     RETURNING latest_version",
                )
                .bind(agency)
                .bind(year)
                .bind(report_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?,
            ),
            _ => None,
        };

        let summary = checked.summary;
        sqlx::query(
            "UPDATE reports SET agency = $2, year = $3, template = $4, title = $5, \
               rules_version = $6, error_count = $7, warning_count = $8, info_count = $9, \
               version = $10, checked = $11::json, media_type = $12, status = 'ARCHIVED', \
               failure_stage = NULL, failure_reason = NULL, \
               updated_at = now(), finished_at = now() \
             WHERE report_id = $1",
        )
        .bind(report_id)
        .bind(agency)
        .bind(year)
        .bind(report.template.as_str())
        .bind(&report.title)
        .bind(&checked.rules_version)
        .bind(count(summary.errors))
        .bind(count(summary.warnings))
        .bind(count(summary.infos))
        .bind(version)
        .bind(&json)
        .bind(&checked.source.media_type)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;

        // A report is archived once, so these find nothing; they keep the write exact if an
        // operator reset a report's status by hand.
        sqlx::query(
            "WITH cells_gone AS (DELETE FROM cells WHERE report_id = $1) \
             DELETE FROM findings WHERE report_id = $1",
        )
        .bind(report_id)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        insert_cells(&mut tx, report_id, checked).await?;
        insert_findings(&mut tx, report_id, checked).await?;

        let record = EventRecord {
            stage: Stage::Archive,
            attempt: run.attempt,
            status: Some(Status::Archived),
            outcome: Outcome::Succeeded,
            detail: None,
            started_at: run.started_at,
            finished_at: Utc::now(),
        };
        insert_event(&mut tx, report_id, &record, Status::Archived).await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(Archived {
            version: version.and_then(|v| u32::try_from(v).ok()),
            already_archived: false,
        })
    }
}

fn count(n: u32) -> i32 {
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

/// A CTE `notified` that announces the rows of the CTE `inserted` (events) on `$9`: the event
/// as JSON when it is at most `$10` bytes, else only its report id (see [`crate::watch`]).
const NOTIFY_INSERTED_SQL: &str = "notified AS ( \
      SELECT pg_notify($9, CASE WHEN octet_length(row_to_json(inserted)::text) <= $10 \
                               THEN row_to_json(inserted)::text \
                               ELSE inserted.report_id::text END) \
      FROM inserted)";

/// Inserts the event unless this run was recorded already; notifies the watchers on commit.
/// Returns whether it was new.
///
/// One round trip: the notification is sent by the same statement, and carries the event
/// itself as JSON (see [`crate::watch`]), so that a watcher need not read it back; an event too
/// large for a notification's 8,000 bytes sends only the report id, and watchers read it.
async fn insert_event(
    tx: &mut PgConnection,
    report_id: Uuid,
    record: &EventRecord,
    status_after: Status,
) -> Result<bool> {
    const CONTEXT: &str = "recording an event";
    let attempt = i32::try_from(record.attempt)
        .map_err(|_| ArchiveError::InvalidArgument(format!("attempt {}", record.attempt)))?;
    static STATEMENT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH inserted AS ( \
           INSERT INTO events (report_id, stage, attempt, status, outcome, detail, started_at, \
             finished_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
           ON CONFLICT (report_id, stage, attempt, outcome) DO NOTHING RETURNING *), \
         {NOTIFY_INSERTED_SQL} \
         SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM notified)"
        )
    });
    let (inserted, _): (i64, i64) = sqlx::query_as(STATEMENT.as_str())
        .bind(report_id)
        .bind(record.stage.as_str())
        .bind(attempt)
        .bind(status_after.as_str())
        .bind(record.outcome.as_str())
        .bind(&record.detail)
        .bind(record.started_at)
        .bind(record.finished_at.max(record.started_at))
        .bind(EVENTS_CHANNEL)
        .bind(crate::watch::MAX_EVENT_PAYLOAD)
        .fetch_one(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
    Ok(inserted > 0)
}

/// One `cells` row per cell of t2, t3, t4, numbered in printed order.
///
/// One statement whatever the number of cells: the columns go as arrays and `unnest` turns them
/// into rows. A multi-row `VALUES` list has a different text for every row count, so each
/// report's insert was parsed and planned anew (and its thousands of parameters bound one by
/// one); this statement is prepared once per connection. Positions go as JSON text and the
/// candidates as array literals, because PostgreSQL arrays cannot nest arrays of different
/// lengths.
async fn insert_cells(
    tx: &mut PgConnection,
    report_id: Uuid,
    checked: &CheckedReport,
) -> Result<()> {
    let count: usize = TableId::ALL
        .iter()
        .filter_map(|table| checked.report.tables.get(*table))
        .map(|rows| rows.values().map(|columns| columns.len()).sum::<usize>())
        .sum();
    if count == 0 {
        return Ok(());
    }
    let mut tables = Vec::with_capacity(count);
    let mut row_keys = Vec::with_capacity(count);
    let mut column_keys = Vec::with_capacity(count);
    let mut values = Vec::with_capacity(count);
    let mut texts = Vec::with_capacity(count);
    let mut states = Vec::with_capacity(count);
    let mut units = Vec::with_capacity(count);
    let mut positions = Vec::with_capacity(count);
    let mut candidates = Vec::with_capacity(count);
    for table in TableId::ALL {
        let Some(cells) = checked.report.tables.get(table) else {
            continue;
        };
        for (row_key, columns) in cells {
            for (column_key, cell) in columns {
                tables.push(table.as_str());
                row_keys.push(row_key.as_str());
                column_keys.push(column_key.as_str());
                values.push(cell.value);
                texts.push(cell.text.as_str());
                states.push(cell.state.as_str());
                units.push(cell.unit.as_deref());
                positions.push(match &cell.position {
                    Some(p) => Some(serde_json::to_string(p).map_err(|source| {
                        ArchiveError::Serialize {
                            what: "a cell position",
                            source,
                        }
                    })?),
                    None => None,
                });
                candidates.push(array_literal(&cell.candidates));
            }
        }
    }
    sqlx::query(
        "INSERT INTO cells (report_id, table_id, row_key, column_key, ordinal, value, text, \
           state, unit, position, candidates) \
         SELECT $1, c.table_id, c.row_key, c.column_key, (c.ordinal - 1)::integer, c.value, \
           c.text, c.state, c.unit, c.position::jsonb, c.candidates::numeric[] \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::text[]) \
           WITH ORDINALITY AS c(table_id, row_key, column_key, value, text, state, unit, \
                                position, candidates, ordinal)",
    )
    .bind(report_id)
    .bind(tables)
    .bind(row_keys)
    .bind(column_keys)
    .bind(values)
    .bind(texts)
    .bind(states)
    .bind(units)
    .bind(positions)
    .bind(candidates)
    .execute(&mut *tx)
    .await
    .map_err(ArchiveError::db("archiving cells"))?;
    Ok(())
}

/// `{1,2.5}`: a PostgreSQL array literal of exact decimals (their `Display` is exact).
fn array_literal(numbers: &[rust_decimal::Decimal]) -> String {
    let mut literal = String::with_capacity(2 + numbers.len() * 4);
    literal.push('{');
    for (i, number) in numbers.iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        literal.push_str(&number.to_string());
    }
    literal.push('}');
    literal
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

/// One `findings` row per finding, in the rule set's order, with the rules version; one
/// statement, as for the cells.
async fn insert_findings(
    tx: &mut PgConnection,
    report_id: Uuid,
    checked: &CheckedReport,
) -> Result<()> {
    let findings = &checked.findings;
    if findings.is_empty() {
        return Ok(());
    }
    let mut rules = Vec::with_capacity(findings.len());
    let mut severities = Vec::with_capacity(findings.len());
    let mut tables = Vec::with_capacity(findings.len());
    let mut rows = Vec::with_capacity(findings.len());
    let mut columns = Vec::with_capacity(findings.len());
    let mut expected = Vec::with_capacity(findings.len());
    let mut actual = Vec::with_capacity(findings.len());
    let mut messages = Vec::with_capacity(findings.len());
    let mut messages_en = Vec::with_capacity(findings.len());
    for finding in findings {
        rules.push(finding.rule.as_str());
        severities.push(finding.severity.as_str());
        tables.push(finding.table.map(TableId::as_str));
        rows.push(finding.row.as_deref());
        columns.push(finding.column.as_deref());
        expected.push(observed_json(&finding.expected)?);
        actual.push(observed_json(&finding.actual)?);
        messages.push(finding.message.as_str());
        messages_en.push(finding.message_en.as_deref());
    }
    sqlx::query(
        "INSERT INTO findings (report_id, ordinal, rule, severity, table_id, row_key, \
           column_key, expected, actual, message, message_en, rules_version) \
         SELECT $1, (f.ordinal - 1)::integer, f.rule, f.severity, f.table_id, f.row_key, \
           f.column_key, f.expected::jsonb, f.actual::jsonb, f.message, f.message_en, $11 \
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::text[], $9::text[], $10::text[]) \
           WITH ORDINALITY AS f(rule, severity, table_id, row_key, column_key, expected, \
                                actual, message, message_en, ordinal)",
    )
    .bind(report_id)
    .bind(rules)
    .bind(severities)
    .bind(tables)
    .bind(rows)
    .bind(columns)
    .bind(expected)
    .bind(actual)
    .bind(messages)
    .bind(messages_en)
    .bind(checked.rules_version.as_str())
    .execute(&mut *tx)
    .await
    .map_err(ArchiveError::db("archiving findings"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
