//! Versions and corrections (archive.md §1): a reviewer's correction is a report of its own
//! (kind `CORRECTION`) whose content is its parent's with the named cells replaced. This module
//! applies corrections to a report (pure, so that the gateway refuses a bad one before anything
//! is recorded and the validate stage rebuilds exactly the same content), records a correction
//! with every refusal of the spec, rebuilds a correction's content for the validate stage, and
//! lists a series' versions.

use crate::error::{ArchiveError, Result};
use crate::read::parse_checked;
use crate::{Archive, EVENTS_CHANNEL};
use chrono::{DateTime, Utc};
use gongkai_model::report::empty_table;
use gongkai_model::{CellState, Report, Source, TableId, schema};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::LazyLock;
use uuid::Uuid;

/// The most cells one correction may set (a report has about 200).
pub const MAX_CORRECTED_CELLS: usize = 1000;
/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 4000;

/// One cell a correction asks for, as the caller wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCorrection {
    pub table: String,
    pub row: String,
    pub column: String,
    /// An exact decimal as text; `None`: the cell is blank.
    pub value: Option<String>,
}

/// One cell a correction changed: what it was and what it became. Kept with the correction
/// (`reports.changed_cells`) and shown by `ListVersions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedCell {
    pub table: TableId,
    pub row: String,
    pub column: String,
    /// The value before, when the cell had one.
    #[serde(with = "gongkai_model::exact::option")]
    pub before: Option<Decimal>,
    /// The state before (`missing` for a cell the source lacked).
    pub before_state: CellState,
    /// The value after; `None`: blank.
    #[serde(with = "gongkai_model::exact::option")]
    pub after: Option<Decimal>,
    /// The text read from the source.
    pub text: String,
}

/// `report` with `corrections` applied: each named cell becomes `corrected` (the read text and
/// the previous state and value kept), and a run of concatenated digits that covered a
/// corrected cell is no longer an open ambiguity (its other cells, still ambiguous, are
/// reported one by one by the rules). Refuses an unknown table, row or column (for the
/// report's template) and a value that is not a decimal number, naming it; the same cell named
/// twice is refused too.
pub fn apply_corrections(
    report: &Report,
    corrections: &[CellCorrection],
) -> Result<(Report, Vec<ChangedCell>)> {
    if corrections.is_empty() {
        return Err(ArchiveError::InvalidArgument(
            "no cells to correct: name at least one {table, row, column, value}".into(),
        ));
    }
    if corrections.len() > MAX_CORRECTED_CELLS {
        return Err(ArchiveError::InvalidArgument(format!(
            "{} cells in one correction; at most {MAX_CORRECTED_CELLS}",
            corrections.len()
        )));
    }
    let mut corrected = report.clone();
    let mut changed: Vec<ChangedCell> = Vec::with_capacity(corrections.len());
    for correction in corrections {
        let id = format!(
            "{}.{}.{}",
            correction.table, correction.row, correction.column
        );
        let table = TableId::from_id(correction.table.trim()).ok_or_else(|| {
            ArchiveError::InvalidArgument(format!(
                "unknown table {:?} in {id} (t2, t3, t4)",
                correction.table
            ))
        })?;
        let (row, column) = (correction.row.trim(), correction.column.trim());
        let value = match correction.value.as_deref() {
            None => None,
            Some(text) => Some(parse_value(text).ok_or_else(|| {
                ArchiveError::InvalidArgument(format!(
                    "the value {text:?} for {id} is not a number (write an exact decimal such as 71 or 18759.694)"
                ))
            })?),
        };
        if changed
            .iter()
            .any(|c| c.table == table && c.row == row && c.column == column)
        {
            return Err(ArchiveError::InvalidArgument(format!(
                "{id} is named twice"
            )));
        }
        let template = report.template;
        let known_to_template =
            schema::row(template, table, row).is_some_and(|spec| spec.column(column).is_some());
        let present = corrected
            .tables
            .get(table)
            .and_then(|t| t.get(row))
            .is_some_and(|r| r.contains_key(column));
        if !present && !known_to_template {
            let what = if schema::row(template, table, row).is_none()
                && corrected
                    .tables
                    .get(table)
                    .and_then(|t| t.get(row))
                    .is_none()
            {
                format!("unknown row {row:?} of {table}")
            } else {
                format!("unknown column {column:?} of {table}.{row}")
            };
            return Err(ArchiveError::InvalidArgument(format!(
                "{what} for a report of template {template} (see annual-report.md for the ids)"
            )));
        }
        let slot = corrected.tables.get_mut(table);
        let rows = slot.get_or_insert_with(|| empty_table(template, table));
        let cells = rows.entry(row.to_owned()).or_default();
        let cell = cells
            .entry(column.to_owned())
            .or_insert_with(gongkai_model::Cell::missing);
        changed.push(ChangedCell {
            table,
            row: row.to_owned(),
            column: column.to_owned(),
            before: cell.value,
            before_state: cell.state,
            after: value,
            text: cell.text.clone(),
        });
        *cell = cell.corrected(value);
    }
    corrected.ambiguities.retain(|run| {
        !run.cells.iter().any(|key| {
            changed.iter().any(|c| {
                c.table == run.table
                    && key
                        .split_once('.')
                        .is_some_and(|(r, col)| r == c.row && col == c.column)
            })
        })
    });
    Ok((corrected, changed))
}

/// An exact decimal as a person writes it: digits with an optional sign and decimal point
/// (no exponent, no thousands separators, not empty).
fn parse_value(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    Decimal::from_str(text).ok()
}

/// A correction to record ([`Archive::record_correction`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection {
    pub parent_report_id: Uuid,
    pub cells: Vec<CellCorrection>,
    pub reason: String,
    /// Who corrects (the authenticated caller's name).
    pub caller: String,
    pub idempotency_key: Option<String>,
}

/// A recorded correction: what the pipeline needs to take it on, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRecorded {
    pub report_id: Uuid,
    /// The version it takes once archived (its parent's + 1).
    pub version: u32,
    pub status: crate::Status,
    /// The idempotency key was used before: this is that correction, nothing new was recorded.
    pub duplicate: bool,
    pub sha256: String,
    pub blob_key: String,
    pub filename: String,
}

/// One version of a series, as `ListVersions` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub report_id: Uuid,
    pub version: Option<u32>,
    /// `SUBMISSION` or `CORRECTION`.
    pub kind: String,
    pub parent_report_id: Option<Uuid>,
    pub reason: Option<String>,
    pub caller: Option<String>,
    pub created_at: DateTime<Utc>,
    pub changed_cells: Vec<ChangedCell>,
    pub errors: u32,
    pub current: bool,
    pub status: crate::Status,
}

/// A series: its agency and year and its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub agency: String,
    pub year: u16,
    pub versions: Vec<VersionInfo>,
}

/// Which series [`Archive::list_versions`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesKey {
    /// The series of this report.
    Report(Uuid),
    AgencyYear {
        agency: String,
        year: u16,
    },
}

impl Archive {
    /// Records a correction of `parent_report_id` as a new report of kind `CORRECTION`
    /// (status `RECEIVED`, with its `receive` event), after checking every refusal of §1:
    /// the parent must be ARCHIVED ([`ArchiveError::FailedPrecondition`]) and current (the
    /// refusal names the current report), the reason non-empty and the cells known for the
    /// parent's template with decimal values ([`ArchiveError::InvalidArgument`]). A correction
    /// already in the pipeline for the same parent is refused too (no forks). The same
    /// idempotency key answers with the correction it made the first time.
    #[tracing::instrument(name = "archive.record_correction", skip_all, fields(parent = %correction.parent_report_id))]
    pub async fn record_correction(
        &self,
        correction: &NewCorrection,
    ) -> Result<CorrectionRecorded> {
        const CONTEXT: &str = "recording a correction";
        let reason = correction.reason.trim();
        if reason.is_empty() {
            return Err(ArchiveError::InvalidArgument(
                "reason is empty: say why the report is corrected".into(),
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ArchiveError::InvalidArgument(format!(
                "reason is longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let key = correction
            .idempotency_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        if let Some(key) = key
            && let Some(existing) = self.correction_by_key(key).await?
        {
            return Ok(existing);
        }
        let parent = correction.parent_report_id;
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        // The parent's row is locked (shared) so that its state cannot change under the check.
        type ParentRow = (
            String,
            Option<i32>,
            Option<Uuid>,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            i64,
        );
        let row: Option<ParentRow> = sqlx::query_as(
            "SELECT r.status, r.version, s.current_report_id, r.checked::text, r.sha256, \
               r.blob_key, r.filename, r.media_type, r.size_bytes \
             FROM reports r LEFT JOIN report_series s \
               ON s.agency_key = r.agency_key AND s.year = r.year \
             WHERE r.report_id = $1 FOR SHARE OF r",
        )
        .bind(parent)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let (status, version, current, checked, sha256, blob_key, filename, media_type, size) =
            row.ok_or(ArchiveError::NotFound { report_id: parent })?;
        if status != crate::Status::Archived.as_str() {
            return Err(ArchiveError::FailedPrecondition(format!(
                "report {parent} is {status}, not ARCHIVED: only an archived report can be corrected"
            )));
        }
        let (Some(version), Some(current)) = (version, current) else {
            return Err(ArchiveError::FailedPrecondition(format!(
                "report {parent} names no agency or no year, so it belongs to no series and cannot be corrected"
            )));
        };
        if current != parent {
            return Err(ArchiveError::FailedPrecondition(format!(
                "report {parent} is not the current version of its series: the current one is \
                 {current}; correct that one"
            )));
        }
        let checked = checked.ok_or_else(|| {
            ArchiveError::corrupt(parent, "archived report without its checked content")
        })?;
        let checked = parse_checked(parent, &checked)?;
        let (_, changed) = apply_corrections(&checked.report, &correction.cells)?;
        let changed_json =
            serde_json::to_value(&changed).map_err(|source| ArchiveError::Serialize {
                what: "the changed cells",
                source,
            })?;
        let report_id = Uuid::now_v7();
        let now = Utc::now();
        static STATEMENT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "WITH new_report AS ( \
               INSERT INTO reports (report_id, sha256, idempotency_key, filename, media_type, \
                 size_bytes, blob_key, source_system, received_at, status, updated_at, kind, \
                 parent_report_id, reason, caller, changed_cells) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'RECEIVED', $9, 'CORRECTION', $10, \
                 $11, $8, $12) \
               RETURNING report_id), \
             inserted AS ( \
               INSERT INTO events (report_id, stage, attempt, status, outcome, detail, \
                 started_at, finished_at) \
               SELECT report_id, 'receive', 1, 'RECEIVED', 'succeeded', $13, $9, $9 \
               FROM new_report RETURNING *), \
             {notified} \
             SELECT count(*) FROM notified",
                notified = crate::write::notify_inserted_sql("$14", "$15"),
            )
        });
        let inserted = sqlx::query(STATEMENT.as_str())
            .bind(report_id)
            .bind(&sha256)
            .bind(key)
            .bind(&filename)
            .bind(&media_type)
            .bind(size)
            .bind(&blob_key)
            .bind(&correction.caller)
            .bind(now)
            .bind(parent)
            .bind(reason)
            .bind(&changed_json)
            .bind(format!("correction of {parent}"))
            .bind(EVENTS_CHANNEL)
            .bind(crate::watch::MAX_EVENT_PAYLOAD)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => {
                drop(tx);
                // A race on the same key: the winner's correction is the answer.
                if let Some(key) = key
                    && let Some(existing) = self.correction_by_key(key).await?
                {
                    return Ok(existing);
                }
                let live: Option<Uuid> = sqlx::query_scalar(
                    "SELECT report_id FROM reports WHERE parent_report_id = $1 \
                     AND status <> 'FAILED'",
                )
                .bind(parent)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
                return Err(ArchiveError::FailedPrecondition(match live {
                    Some(live) => {
                        format!("report {parent} already has a correction in the pipeline: {live}")
                    }
                    None => format!("report {parent} was corrected concurrently; try again"),
                }));
            }
            Err(error) => return Err(ArchiveError::db(CONTEXT)(error)),
        }
        crate::record_audit_in(
            &mut tx,
            &crate::AuditEntry {
                actor: correction.caller.clone(),
                action: "report.correct".to_owned(),
                subject: Some(parent.to_string()),
                detail: serde_json::json!({
                    "correction": report_id,
                    "reason": reason,
                    "changed_cells": changed_json,
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(CorrectionRecorded {
            report_id,
            version: u32::try_from(version).unwrap_or(0).saturating_add(1),
            status: crate::Status::Received,
            duplicate: false,
            sha256,
            blob_key,
            filename,
        })
    }

    async fn correction_by_key(&self, key: &str) -> Result<Option<CorrectionRecorded>> {
        type Row = (
            Uuid,
            String,
            Option<i32>,
            Option<i32>,
            String,
            String,
            String,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT c.report_id, c.status, c.version, p.version, c.sha256, c.blob_key, \
                   c.filename \
                 FROM reports c JOIN reports p ON p.report_id = c.parent_report_id \
                 WHERE c.kind = 'CORRECTION' AND c.idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db("reading a correction by its key"))?;
        row.map(
            |(report_id, status, version, parent_version, sha256, blob_key, filename)| {
                let status = crate::Status::from_id(&status).ok_or_else(|| {
                    ArchiveError::corrupt(report_id, format!("unknown status {status:?}"))
                })?;
                let version = version
                    .or(parent_version.map(|v| v.saturating_add(1)))
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0);
                Ok(CorrectionRecorded {
                    report_id,
                    version,
                    status,
                    duplicate: true,
                    sha256,
                    blob_key,
                    filename,
                })
            },
        )
        .transpose()
    }

    /// The content of a correction, for the validate stage: its parent's source and read report
    /// with the recorded cells applied. [`ArchiveError::InvalidArgument`] when the report is
    /// not a correction.
    pub async fn corrected_content(&self, report_id: Uuid) -> Result<(Source, Report)> {
        let row: Option<(Option<Uuid>, Option<serde_json::Value>, Option<String>)> =
            sqlx::query_as(
                "SELECT c.parent_report_id, c.changed_cells, p.checked::text \
                 FROM reports c LEFT JOIN reports p ON p.report_id = c.parent_report_id \
                 WHERE c.report_id = $1",
            )
            .bind(report_id)
            .fetch_optional(self.pool())
            .await
            .map_err(ArchiveError::db("reading a correction's content"))?;
        let (parent, changed, checked) = row.ok_or(ArchiveError::NotFound { report_id })?;
        let (Some(parent), Some(changed)) = (parent, changed) else {
            return Err(ArchiveError::InvalidArgument(format!(
                "report {report_id} is not a correction"
            )));
        };
        let checked = checked
            .ok_or_else(|| ArchiveError::corrupt(parent, "corrected report without content"))?;
        let checked = parse_checked(parent, &checked)?;
        let changed: Vec<ChangedCell> = serde_json::from_value(changed)
            .map_err(|e| ArchiveError::corrupt(report_id, format!("changed cells: {e}")))?;
        let cells: Vec<CellCorrection> = changed
            .iter()
            .map(|c| CellCorrection {
                table: c.table.as_str().to_owned(),
                row: c.row.clone(),
                column: c.column.clone(),
                value: c.after.map(|d| d.to_string()),
            })
            .collect();
        let (report, _) = apply_corrections(&checked.report, &cells)?;
        Ok((checked.source, report))
    }

    /// The versions of a series, oldest first: archived versions in version order, then the
    /// corrections still in the pipeline (or failed). [`ArchiveError::NotFound`] for an unknown
    /// report; a report that belongs to no series (not archived, or without agency or year)
    /// is [`ArchiveError::FailedPrecondition`].
    pub async fn list_versions(&self, key: &SeriesKey) -> Result<Series> {
        const CONTEXT: &str = "listing versions";
        // The series is keyed by agency key (after aliases), not by the printed name: a body
        // that printed its name differently across versions is still one series.
        let (agency_key, year) = match key {
            SeriesKey::AgencyYear { agency, year } => {
                let year = i32::from(*year);
                // The key of the reports that printed this name for that year.
                let key: Option<String> = sqlx::query_scalar(
                    "SELECT agency_key FROM reports WHERE agency = $1 AND year = $2 \
                       AND agency_key IS NOT NULL ORDER BY version DESC NULLS LAST LIMIT 1",
                )
                .bind(agency)
                .bind(year)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
                let Some(key) = key else {
                    return Err(ArchiveError::InvalidArgument(format!(
                        "no archived report of {agency} for {year}"
                    )));
                };
                (key, year)
            }
            SeriesKey::Report(report_id) => {
                // A correction not archived yet belongs to its parent's series.
                let row: Option<(Option<String>, Option<i32>)> = sqlx::query_as(
                    "SELECT coalesce(r.agency_key, p.agency_key), coalesce(r.year, p.year) \
                     FROM reports r LEFT JOIN reports p ON p.report_id = r.parent_report_id \
                     WHERE r.report_id = $1",
                )
                .bind(report_id)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
                match row.ok_or(ArchiveError::NotFound {
                    report_id: *report_id,
                })? {
                    (Some(key), Some(year)) => (key, year),
                    _ => {
                        return Err(ArchiveError::FailedPrecondition(format!(
                            "report {report_id} belongs to no series yet (not archived, or \
                             without agency or year)"
                        )));
                    }
                }
            }
        };
        type Row = (
            Uuid,
            Option<i32>,
            String,
            Option<Uuid>,
            Option<String>,
            Option<String>,
            DateTime<Utc>,
            Option<serde_json::Value>,
            Option<i32>,
            bool,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "WITH series AS ( \
               SELECT r.report_id FROM reports r WHERE r.agency_key = $1 AND r.year = $2 \
                 AND r.version IS NOT NULL \
               UNION \
               SELECT c.report_id FROM reports c JOIN reports p \
                 ON p.report_id = c.parent_report_id \
               WHERE p.agency_key = $1 AND p.year = $2 AND c.version IS NULL) \
             SELECT r.report_id, r.version, r.kind, r.parent_report_id, r.reason, r.caller, \
               r.received_at, r.changed_cells, r.error_count, \
               coalesce(s.current_report_id = r.report_id, false), r.status \
             FROM series JOIN reports r USING (report_id) \
             LEFT JOIN report_series s ON s.agency_key = $1 AND s.year = $2 \
             ORDER BY r.version NULLS LAST, r.received_at",
        )
        .bind(&agency_key)
        .bind(year)
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let versions = rows
            .into_iter()
            .map(
                |(
                    report_id,
                    version,
                    kind,
                    parent_report_id,
                    reason,
                    caller,
                    created_at,
                    changed,
                    errors,
                    current,
                    status,
                )| {
                    let changed_cells = changed
                        .map(serde_json::from_value)
                        .transpose()
                        .map_err(|e| {
                            ArchiveError::corrupt(report_id, format!("changed cells: {e}"))
                        })?
                        .unwrap_or_default();
                    Ok(VersionInfo {
                        report_id,
                        version: version.and_then(|v| u32::try_from(v).ok()),
                        kind,
                        parent_report_id,
                        reason,
                        caller,
                        created_at,
                        changed_cells,
                        errors: errors.and_then(|e| u32::try_from(e).ok()).unwrap_or(0),
                        current,
                        status: crate::Status::from_id(&status).ok_or_else(|| {
                            ArchiveError::corrupt(report_id, format!("unknown status {status:?}"))
                        })?,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        if versions.is_empty() {
            return Err(ArchiveError::InvalidArgument(format!(
                "no archived report of {agency_key} for {year}"
            )));
        }
        // The name the series' current report printed, for people.
        let agency: String = sqlx::query_scalar(
            "SELECT agency FROM report_series WHERE agency_key = $1 AND year = $2",
        )
        .bind(&agency_key)
        .bind(year)
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db(CONTEXT))?
        .unwrap_or(agency_key);
        Ok(Series {
            agency,
            year: u16::try_from(year).unwrap_or(0),
            versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gongkai_model::{Cell, Template};

    fn report() -> Report {
        let mut report = Report::empty();
        report.template = Template::F2021;
        let mut t3 = empty_table(Template::F2021, TableId::T3);
        if let Some(row) = t3.get_mut("granted") {
            row.insert(
                "total".into(),
                Cell::ambiguous("7171", vec![Decimal::from(71), Decimal::from(7)], None),
            );
        }
        report.tables.t3 = Some(t3);
        report.ambiguities.push(gongkai_model::report::Ambiguity {
            table: TableId::T3,
            kind: gongkai_model::AmbiguityKind::Digits,
            text: "7171".into(),
            cells: vec!["granted.total".into(), "granted.natural_person".into()],
            decodings: vec![],
            position: None,
        });
        report
    }

    fn cell(table: &str, row: &str, column: &str, value: Option<&str>) -> CellCorrection {
        CellCorrection {
            table: table.into(),
            row: row.into(),
            column: column.into(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn a_corrected_cell_keeps_what_was_read_and_closes_its_ambiguity() {
        let (corrected, changed) =
            apply_corrections(&report(), &[cell("t3", "granted", "total", Some("71"))]).unwrap();
        let c = corrected
            .tables
            .cell(TableId::T3, "granted", "total")
            .unwrap();
        assert_eq!(c.state, CellState::Corrected);
        assert_eq!(c.value, Some(Decimal::from(71)));
        assert_eq!(c.text, "7171");
        assert_eq!(c.previous_state, Some(CellState::Ambiguous));
        assert!(corrected.ambiguities.is_empty());
        assert_eq!(changed[0].before_state, CellState::Ambiguous);
        assert_eq!(changed[0].after, Some(Decimal::from(71)));
        // Blank: read as 0.
        let (blanked, _) =
            apply_corrections(&report(), &[cell("t3", "granted", "total", None)]).unwrap();
        let b = blanked
            .tables
            .cell(TableId::T3, "granted", "total")
            .unwrap();
        assert_eq!(b.usable(), Some(Decimal::ZERO));
    }

    #[test]
    fn unknown_ids_and_non_numbers_are_refused_by_name() {
        let cases = [
            (
                cell("t9", "granted", "total", Some("1")),
                "unknown table \"t9\"",
            ),
            (
                cell("t3", "grantd", "total", Some("1")),
                "unknown row \"grantd\"",
            ),
            (
                cell("t3", "granted", "totl", Some("1")),
                "unknown column \"totl\"",
            ),
            (
                cell("t3", "granted", "total", Some("七十一")),
                "not a number",
            ),
            (
                cell("t3", "granted", "total", Some("1,000")),
                "not a number",
            ),
            (cell("t3", "granted", "total", Some("")), "not a number"),
            (cell("t3", "granted", "total", Some("1e5")), "not a number"),
        ];
        for (correction, expected) in cases {
            match apply_corrections(&report(), std::slice::from_ref(&correction)) {
                Err(ArchiveError::InvalidArgument(message)) => {
                    assert!(message.contains(expected), "{message} lacks {expected}")
                }
                other => panic!("{correction:?}: {other:?}"),
            }
        }
        assert!(matches!(
            apply_corrections(&report(), &[]),
            Err(ArchiveError::InvalidArgument(_))
        ));
        let twice = [
            cell("t3", "granted", "total", Some("1")),
            cell("t3", "granted", "total", Some("2")),
        ];
        assert!(matches!(
            apply_corrections(&report(), &twice),
            Err(ArchiveError::InvalidArgument(m)) if m.contains("twice")
        ));
    }

    #[test]
    fn changed_cells_round_trip_exactly() {
        let (_, changed) =
            apply_corrections(&report(), &[cell("t3", "granted", "total", Some("71.50"))]).unwrap();
        let json = serde_json::to_string(&changed).unwrap();
        assert!(json.contains("\"after\":71.50"), "{json}");
        let back: Vec<ChangedCell> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, changed);
    }
}
