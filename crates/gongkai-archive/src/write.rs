//! The writes: submissions, stage events, archived reports and failures. Each is one
//! transaction, keyed so that repeating it (a redelivered message, a client retry) changes
//! nothing, and each event it records notifies [`crate::EVENTS_CHANNEL`] on commit.

use crate::error::{ArchiveError, Result};
use crate::types::{
    Archived, EventRecord, NewSubmission, Outcome, Stage, StageRun, Status, Submitted,
};
use crate::{Archive, EVENTS_CHANNEL};
use chrono::Utc;
use gongkai_model::{CheckedReport, Observed, TableId};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// Rows per multi-row INSERT; keeps the bind count far below PostgreSQL's 65535.
const ROWS_PER_INSERT: usize = 500;

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
        for _ in 0..3 {
            let mut tx = self
                .pool()
                .begin()
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
            let report_id = Uuid::now_v7();
            let inserted: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO reports (report_id, sha256, idempotency_key, filename, media_type, \
                   size_bytes, blob_key, source_system, received_at, status, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'RECEIVED', now()) \
                 ON CONFLICT DO NOTHING RETURNING report_id",
            )
            .bind(report_id)
            .bind(&sha256)
            .bind(idempotency_key)
            .bind(&submission.filename)
            .bind(&submission.media_type)
            .bind(size)
            .bind(&submission.blob_key)
            .bind(&submission.source_system)
            .bind(submission.received_at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;

            if let Some(report_id) = inserted {
                let record = EventRecord {
                    stage: Stage::Receive,
                    attempt: 1,
                    status: Some(Status::Received),
                    outcome: Outcome::Succeeded,
                    detail: None,
                    started_at: submission.received_at,
                    finished_at: Utc::now(),
                };
                insert_event(&mut tx, report_id, &record, Status::Received).await?;
                tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
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
            .fetch_optional(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
            tx.rollback().await.map_err(ArchiveError::db(CONTEXT))?;
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

    /// Records one run of one stage and moves the report's status as the record says.
    ///
    /// Idempotent: a run is identified by (report, stage, attempt, outcome); recording it again
    /// changes nothing. The status never moves back (a late event does not undo a later
    /// stage); `FAILED` also records `detail` as the failure reason, and is left only by a
    /// later `Succeeded` run (a redriven message). `status: Some(ARCHIVED)` is refused: use
    /// [`Archive::archive_checked`], which writes the content with it.
    #[tracing::instrument(name = "archive.record_event", skip_all, fields(%report_id, stage = %record.stage, attempt = record.attempt))]
    pub async fn record_event(&self, report_id: Uuid, record: &EventRecord) -> Result<()> {
        if record.status == Some(Status::Archived) {
            return Err(ArchiveError::InvalidArgument(
                "ARCHIVED is set by archive_checked, together with the archived content".into(),
            ));
        }
        if record.attempt == 0 {
            return Err(ArchiveError::InvalidArgument(
                "attempts are counted from 1".into(),
            ));
        }
        const CONTEXT: &str = "recording an event";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let current = lock_status(&mut tx, report_id).await?;
        let next = transition(current, record.status, record.outcome);
        if insert_event(&mut tx, report_id, record, next).await? && next != current {
            let (failure_stage, failure_reason) = if next == Status::Failed {
                (Some(record.stage.as_str()), record.detail.as_deref())
            } else {
                (None, None)
            };
            sqlx::query(
                "UPDATE reports SET status = $2, failure_stage = $3, failure_reason = $4, \
                   updated_at = now(), \
                   finished_at = CASE WHEN $2 = 'FAILED' THEN now() ELSE NULL END \
                 WHERE report_id = $1",
            )
            .bind(report_id)
            .bind(next.as_str())
            .bind(failure_stage)
            .bind(failure_reason)
            .execute(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        }
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(())
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
    ) -> Result<()> {
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
        let current = lock_status(&mut tx, report_id).await?;
        let (version, sha256): (Option<i32>, String) =
            sqlx::query_as("SELECT version, sha256 FROM reports WHERE report_id = $1")
                .bind(report_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
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
        for statement in [
            "DELETE FROM cells WHERE report_id = $1",
            "DELETE FROM findings WHERE report_id = $1",
        ] {
            sqlx::query(statement)
                .bind(report_id)
                .execute(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
        }
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

/// Locks the report row for the rest of the transaction and returns its status.
async fn lock_status(tx: &mut PgConnection, report_id: Uuid) -> Result<Status> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM reports WHERE report_id = $1 FOR UPDATE")
            .bind(report_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ArchiveError::db("locking a report"))?;
    let status = status.ok_or(ArchiveError::NotFound { report_id })?;
    Status::from_id(&status)
        .ok_or_else(|| ArchiveError::corrupt(report_id, format!("unknown status {status:?}")))
}

/// The status after an event that asks for `requested` with `outcome`, from `current`.
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

/// Inserts the event unless this run was recorded already; notifies the watchers on commit.
/// Returns whether it was new.
async fn insert_event(
    tx: &mut PgConnection,
    report_id: Uuid,
    record: &EventRecord,
    status_after: Status,
) -> Result<bool> {
    const CONTEXT: &str = "recording an event";
    let attempt = i32::try_from(record.attempt)
        .map_err(|_| ArchiveError::InvalidArgument(format!("attempt {}", record.attempt)))?;
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO events (report_id, stage, attempt, status, outcome, detail, started_at, \
           finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (report_id, stage, attempt, outcome) DO NOTHING RETURNING seq",
    )
    .bind(report_id)
    .bind(record.stage.as_str())
    .bind(attempt)
    .bind(status_after.as_str())
    .bind(record.outcome.as_str())
    .bind(&record.detail)
    .bind(record.started_at)
    .bind(record.finished_at.max(record.started_at))
    .fetch_optional(&mut *tx)
    .await
    .map_err(ArchiveError::db(CONTEXT))?;
    if seq.is_none() {
        return Ok(false);
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(report_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
    Ok(true)
}

/// One `cells` row per cell of t2, t3, t4, numbered in printed order.
async fn insert_cells(
    tx: &mut PgConnection,
    report_id: Uuid,
    checked: &CheckedReport,
) -> Result<()> {
    let mut rows = Vec::new();
    for table in TableId::ALL {
        let Some(cells) = checked.report.tables.get(table) else {
            continue;
        };
        for (row_key, columns) in cells {
            for (column_key, cell) in columns {
                rows.push((table, row_key, column_key, cell));
            }
        }
    }
    for (chunk_index, chunk) in rows.chunks(ROWS_PER_INSERT).enumerate() {
        let mut positions = Vec::with_capacity(chunk.len());
        for (_, _, _, cell) in chunk {
            positions.push(match &cell.position {
                Some(p) => {
                    Some(
                        serde_json::to_value(p).map_err(|source| ArchiveError::Serialize {
                            what: "a cell position",
                            source,
                        })?,
                    )
                }
                None => None,
            });
        }
        let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO cells (report_id, table_id, row_key, column_key, ordinal, value, text, \
               state, unit, position, candidates) ",
        );
        let base = chunk_index * ROWS_PER_INSERT;
        insert.push_values(
            chunk.iter().zip(positions).enumerate(),
            |mut values, (i, ((table, row_key, column_key, cell), position))| {
                values
                    .push_bind(report_id)
                    .push_bind(table.as_str())
                    .push_bind(row_key.as_str())
                    .push_bind(column_key.as_str())
                    .push_bind(i32::try_from(base + i).unwrap_or(i32::MAX))
                    .push_bind(cell.value)
                    .push_bind(cell.text.as_str())
                    .push_bind(cell.state.as_str())
                    .push_bind(cell.unit.as_deref())
                    .push_bind(position.map(sqlx::types::Json))
                    .push_bind(cell.candidates.clone());
            },
        );
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(ArchiveError::db("archiving cells"))?;
    }
    Ok(())
}

fn observed_json(o: &Option<Observed>) -> Result<Option<serde_json::Value>> {
    o.as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|source| ArchiveError::Serialize {
            what: "a finding's expected or actual value",
            source,
        })
}

/// One `findings` row per finding, in the rule set's order, with the rules version.
async fn insert_findings(
    tx: &mut PgConnection,
    report_id: Uuid,
    checked: &CheckedReport,
) -> Result<()> {
    for (chunk_index, chunk) in checked.findings.chunks(ROWS_PER_INSERT).enumerate() {
        let mut observed = Vec::with_capacity(chunk.len());
        for finding in chunk {
            observed.push((
                observed_json(&finding.expected)?,
                observed_json(&finding.actual)?,
            ));
        }
        let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO findings (report_id, ordinal, rule, severity, table_id, row_key, \
               column_key, expected, actual, message, message_en, rules_version) ",
        );
        let base = chunk_index * ROWS_PER_INSERT;
        insert.push_values(
            chunk.iter().zip(observed).enumerate(),
            |mut values, (i, (finding, (expected, actual)))| {
                values
                    .push_bind(report_id)
                    .push_bind(i32::try_from(base + i).unwrap_or(i32::MAX))
                    .push_bind(finding.rule.as_str())
                    .push_bind(finding.severity.as_str())
                    .push_bind(finding.table.map(TableId::as_str))
                    .push_bind(finding.row.as_deref())
                    .push_bind(finding.column.as_deref())
                    .push_bind(expected.map(sqlx::types::Json))
                    .push_bind(actual.map(sqlx::types::Json))
                    .push_bind(finding.message.as_str())
                    .push_bind(finding.message_en.as_deref())
                    .push_bind(checked.rules_version.as_str());
            },
        );
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(ArchiveError::db("archiving findings"))?;
    }
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
}
