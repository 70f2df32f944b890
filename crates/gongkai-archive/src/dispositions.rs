//! Finding dispositions (archive.md §2): a reviewer's judgement of one finding, kept per series
//! (agency, year) under the finding's rule and location, so that it applies to every version
//! and re-validation of the series in which the same finding recurs.

use crate::Archive;
use crate::error::{ArchiveError, Result};
use crate::types::{Disposition, DispositionRecord, FindingKey};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A judgement to record ([`Archive::set_disposition`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDisposition {
    /// The report the reviewer judges the finding on (any version of the series).
    pub report_id: Uuid,
    pub key: FindingKey,
    pub disposition: Disposition,
    pub note: String,
    pub caller: String,
}

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

/// The series a judgement was recorded for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub agency: String,
    pub year: u16,
}

impl Archive {
    /// Records (or replaces) the judgement of the finding `key` in the series of `report_id`.
    /// The report must be archived in a series ([`ArchiveError::FailedPrecondition`]) and have
    /// that finding ([`ArchiveError::InvalidArgument`] naming it otherwise).
    #[tracing::instrument(name = "archive.set_disposition", skip_all, fields(report_id = %judgement.report_id, rule = %judgement.key.rule))]
    pub async fn set_disposition(&self, judgement: &NewDisposition) -> Result<Judged> {
        const CONTEXT: &str = "recording a disposition";
        if judgement.note.chars().count() > MAX_NOTE_CHARS {
            return Err(ArchiveError::InvalidArgument(format!(
                "note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let report_id = judgement.report_id;
        type Row = (String, Option<String>, Option<String>, Option<i32>, bool);
        // The judgement is kept under the series' agency key; the answer names the agency as
        // the report printed it.
        let row: Option<Row> = sqlx::query_as(
            "SELECT r.status, r.agency, coalesce(r.agency_key, r.agency), r.year, EXISTS ( \
               SELECT 1 FROM findings f WHERE f.report_id = r.report_id AND f.rule = $2 \
                 AND coalesce(f.table_id, '') = $3 AND coalesce(f.row_key, '') = $4 \
                 AND coalesce(f.column_key, '') = $5) \
             FROM reports r WHERE r.report_id = $1",
        )
        .bind(report_id)
        .bind(&judgement.key.rule)
        .bind(judgement.key.table.as_deref().unwrap_or(""))
        .bind(judgement.key.row.as_deref().unwrap_or(""))
        .bind(judgement.key.column.as_deref().unwrap_or(""))
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let (status, agency, series_key, year, has_finding) =
            row.ok_or(ArchiveError::NotFound { report_id })?;
        let (Some(agency), Some(series_key), Some(year)) = (agency, series_key, year) else {
            return Err(ArchiveError::FailedPrecondition(format!(
                "report {report_id} is {status} and belongs to no series: only the findings of \
                 an archived report with an agency and a year can be judged"
            )));
        };
        if !has_finding {
            let place = [
                &judgement.key.table,
                &judgement.key.row,
                &judgement.key.column,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(".");
            return Err(ArchiveError::InvalidArgument(format!(
                "report {report_id} has no finding {} at {}",
                judgement.key.rule,
                if place.is_empty() {
                    "report level"
                } else {
                    &place
                }
            )));
        }
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        sqlx::query(
            "INSERT INTO finding_dispositions (agency, year, rule, table_id, row_key, column_key, \
               disposition, note, caller, report_id, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now()) \
             ON CONFLICT (agency, year, rule, table_id, row_key, column_key) DO UPDATE \
               SET disposition = EXCLUDED.disposition, note = EXCLUDED.note, \
                   caller = EXCLUDED.caller, report_id = EXCLUDED.report_id, set_at = now()",
        )
        .bind(&series_key)
        .bind(year)
        .bind(&judgement.key.rule)
        .bind(judgement.key.table.as_deref().unwrap_or(""))
        .bind(judgement.key.row.as_deref().unwrap_or(""))
        .bind(judgement.key.column.as_deref().unwrap_or(""))
        .bind(judgement.disposition.as_str())
        .bind(&judgement.note)
        .bind(&judgement.caller)
        .bind(report_id)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        crate::record_audit_in(
            &mut tx,
            &crate::AuditEntry {
                actor: judgement.caller.clone(),
                action: "finding.disposition".to_owned(),
                subject: Some(report_id.to_string()),
                detail: serde_json::json!({
                    "rule": judgement.key.rule,
                    "table": judgement.key.table,
                    "row": judgement.key.row,
                    "column": judgement.key.column,
                    "disposition": judgement.disposition.as_str(),
                    "note": judgement.note,
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(Judged {
            agency,
            year: u16::try_from(year).unwrap_or(0),
        })
    }
}

/// The judgements of the series (agency key, year) of `report_id` (`agency` stands in for a
/// report without a key).
pub(crate) async fn series_dispositions(
    connection: &mut PgConnection,
    report_id: Uuid,
    agency: &str,
    year: i32,
) -> Result<Vec<DispositionRecord>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Uuid,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT rule, table_id, row_key, column_key, disposition, note, caller, report_id, \
           set_at FROM finding_dispositions \
         WHERE agency = coalesce((SELECT agency_key FROM reports WHERE report_id = $3), $1) \
           AND year = $2",
    )
    .bind(agency)
    .bind(year)
    .bind(report_id)
    .fetch_all(&mut *connection)
    .await
    .map_err(ArchiveError::db("reading dispositions"))?;
    let some = |s: String| (!s.is_empty()).then_some(s);
    rows.into_iter()
        .map(
            |(rule, table, row, column, disposition, note, caller, judged_on, set_at)| {
                Ok(DispositionRecord {
                    key: FindingKey {
                        rule,
                        table: some(table),
                        row: some(row),
                        column: some(column),
                    },
                    disposition: Disposition::from_id(&disposition).ok_or_else(|| {
                        ArchiveError::corrupt(
                            report_id,
                            format!("unknown disposition {disposition:?}"),
                        )
                    })?,
                    note,
                    caller,
                    report_id: judged_on,
                    set_at,
                })
            },
        )
        .collect()
}

/// The SQL condition (over `reports r`) of "an error finding no reviewer has judged".
pub(crate) const UNJUDGED_ERRORS_SQL: &str = "EXISTS ( \
    SELECT 1 FROM findings f WHERE f.report_id = r.report_id AND f.severity = 'error' \
      AND NOT EXISTS ( \
        SELECT 1 FROM finding_dispositions d WHERE d.agency = r.agency_key AND d.year = r.year \
          AND d.rule = f.rule AND d.table_id = coalesce(f.table_id, '') \
          AND d.row_key = coalesce(f.row_key, '') \
          AND d.column_key = coalesce(f.column_key, '')))";
