//! The reads: one report with everything GetReport shows, listings with filters and keyset
//! pagination, the previous year's current report of an agency (for the X-* rules), a report's
//! status, where its bytes are, its events, and which reports' intermediate artefacts no stage
//! will read again.

use crate::Archive;
use crate::error::{ArchiveError, Result};
use crate::types::{
    DocumentRef, Event, ListFilter, Outcome, ReportPage, ReportSummary, Stage, Status, StoredCell,
    StoredReport,
};
use chrono::{DateTime, Utc};
use gongkai_model::{CheckedReport, Report, TableId, Template};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

/// The page size when the caller asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page [`Archive::list_reports`] returns.
pub const MAX_PAGE_SIZE: u32 = 1000;

const REPORT_COLUMNS: &str = "r.report_id, r.status, r.failure_stage, r.failure_reason, \
    r.filename, r.sha256, r.blob_key, r.media_type, r.size_bytes, r.source_system, \
    r.idempotency_key, r.received_at, r.updated_at, r.finished_at, r.agency, r.year, \
    r.template, r.rules_version, r.version, r.checked::text AS checked, \
    (s.current_report_id IS NOT NULL AND s.current_report_id = r.report_id) AS is_current, \
    r.kind, r.parent_report_id, r.reason, r.caller, r.batch, \
    (SELECT n.report_id FROM reports n WHERE n.agency_key = r.agency_key AND n.year = r.year \
       AND n.version = r.version + 1) AS superseded_by";

impl Archive {
    /// Of `report_ids`, the ones whose intermediate artefacts (`parsed.json`, `checked.json`)
    /// no stage will read again: ARCHIVED and not waiting in a re-validation (whose validate
    /// stage writes a new checked artefact for its archive stage). A report in the pipeline,
    /// FAILED (a redriven message reads its stage's input) or unknown to this archive (the
    /// store may be shared) is not among them.
    pub async fn artefacts_unneeded(&self, report_ids: &[Uuid]) -> Result<Vec<Uuid>> {
        sqlx::query_scalar(
            "SELECT r.report_id FROM reports r \
             WHERE r.report_id = ANY($1) AND r.status = 'ARCHIVED' \
               AND NOT EXISTS (SELECT 1 FROM revalidations v \
                 WHERE v.report_id = r.report_id AND v.status = 'QUEUED')",
        )
        .bind(report_ids)
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db(
            "finding the reports done with their artefacts",
        ))
    }

    /// Everything about one report: submission, status (with the failure reason), archived
    /// content (the exact `CheckedReport`, the cells from their table, version and whether it is
    /// current) and all its events. Read from one consistent snapshot.
    #[tracing::instrument(name = "archive.get_report", skip_all, fields(%report_id))]
    pub async fn get_report(&self, report_id: Uuid) -> Result<StoredReport> {
        const CONTEXT: &str = "reading a report";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports r \
             LEFT JOIN report_series s ON s.agency_key = r.agency_key AND s.year = r.year \
             WHERE r.report_id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(report_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?
            .ok_or(ArchiveError::NotFound { report_id })?;

        let events = read_events(&mut tx, report_id).await?;
        let dispositions = match (
            get::<Option<String>>(&row, report_id, "agency")?,
            get::<Option<i32>>(&row, report_id, "year")?,
        ) {
            (Some(agency), Some(year)) => {
                crate::dispositions::series_dispositions(&mut tx, report_id, &agency, year).await?
            }
            _ => Vec::new(),
        };
        tx.rollback().await.map_err(ArchiveError::db(CONTEXT))?;

        let checked: Option<String> = get(&row, report_id, "checked")?;
        let checked = checked
            .map(|json| parse_checked(report_id, &json))
            .transpose()?;
        // What the view `cells` shows, read from the same document without a second query.
        let cells = checked.as_ref().map(stored_cells).unwrap_or_default();
        let failure_stage: Option<String> = get(&row, report_id, "failure_stage")?;
        Ok(StoredReport {
            report_id,
            status: parse_status(report_id, &get::<String>(&row, report_id, "status")?)?,
            failure_stage: failure_stage
                .map(|s| parse_stage(report_id, &s))
                .transpose()?,
            failure_reason: get(&row, report_id, "failure_reason")?,
            filename: get(&row, report_id, "filename")?,
            sha256: get(&row, report_id, "sha256")?,
            blob_key: get(&row, report_id, "blob_key")?,
            media_type: get(&row, report_id, "media_type")?,
            size_bytes: non_negative(get::<i64>(&row, report_id, "size_bytes")?),
            source_system: get(&row, report_id, "source_system")?,
            idempotency_key: get(&row, report_id, "idempotency_key")?,
            received_at: get(&row, report_id, "received_at")?,
            updated_at: get(&row, report_id, "updated_at")?,
            finished_at: get(&row, report_id, "finished_at")?,
            agency: get(&row, report_id, "agency")?,
            year: year(get(&row, report_id, "year")?),
            template: template(report_id, get(&row, report_id, "template")?)?,
            rules_version: get(&row, report_id, "rules_version")?,
            version: get::<Option<i32>>(&row, report_id, "version")?
                .and_then(|v| u32::try_from(v).ok()),
            is_current: get(&row, report_id, "is_current")?,
            checked,
            cells,
            events,
            kind: get(&row, report_id, "kind")?,
            parent_report_id: get(&row, report_id, "parent_report_id")?,
            reason: get(&row, report_id, "reason")?,
            caller: get(&row, report_id, "caller")?,
            batch: get(&row, report_id, "batch")?,
            superseded_by: get(&row, report_id, "superseded_by")?,
            dispositions,
        })
    }

    /// Reports matching `filter`, newest submission first, `page_size` at a time (0 means
    /// [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`]). Pass the returned
    /// `next_page_token` to continue; the pages stay consistent while new reports arrive
    /// (keyset pagination on submission time and id). A token that was not issued here is an
    /// [`ArchiveError::InvalidArgument`].
    #[tracing::instrument(name = "archive.list_reports", skip_all, fields(page_size = page_size))]
    pub async fn list_reports(
        &self,
        filter: &ListFilter,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<ReportPage> {
        let page_size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let after = page_token
            .filter(|t| !t.is_empty())
            .map(decode_token)
            .transpose()?;
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT r.report_id, r.status, r.filename, r.agency, r.year, r.template, r.version, \
               (s.current_report_id IS NOT NULL AND s.current_report_id = r.report_id) \
                 AS is_current, \
               coalesce(r.error_count, 0) AS errors, coalesce(r.warning_count, 0) AS warnings, \
               coalesce(r.info_count, 0) AS infos, r.received_at, r.updated_at \
             FROM reports r \
             LEFT JOIN report_series s ON s.agency_key = r.agency_key AND s.year = r.year \
             WHERE TRUE",
        );
        if let Some(agency) = filter.agency_contains.as_deref().filter(|a| !a.is_empty()) {
            query
                .push(" AND strpos(r.agency, ")
                .push_bind(agency.to_owned())
                .push(") > 0");
        }
        if let Some(year) = filter.year {
            query.push(" AND r.year = ").push_bind(i32::from(year));
        }
        if let Some(template) = filter.template {
            query
                .push(" AND r.template = ")
                .push_bind(template.as_str());
        }
        if let Some(status) = filter.status {
            query.push(" AND r.status = ").push_bind(status.as_str());
        }
        match filter.has_errors {
            Some(true) => {
                query.push(" AND r.error_count > 0");
            }
            Some(false) => {
                query.push(" AND r.error_count = 0");
            }
            None => {}
        }
        if filter.unjudged_errors {
            query
                .push(" AND r.error_count > 0 AND ")
                .push(crate::dispositions::UNJUDGED_ERRORS_SQL);
        }
        if let Some((received_at, report_id)) = after {
            query
                .push(" AND (r.received_at, r.report_id) < (")
                .push_bind(received_at)
                .push(", ")
                .push_bind(report_id)
                .push(")");
        }
        query
            .push(" ORDER BY r.received_at DESC, r.report_id DESC LIMIT ")
            .push_bind(i64::from(page_size) + 1);
        let rows = query
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db("listing reports"))?;

        let mut reports = rows
            .iter()
            .map(report_summary)
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = if reports.len() > page_size as usize {
            reports.truncate(page_size as usize);
            reports
                .last()
                .map(|last| encode_token(last.received_at, last.report_id))
        } else {
            None
        };
        Ok(ReportPage {
            reports,
            next_page_token,
        })
    }

    /// The current version of `agency`'s report for `year − 1`, as archived: what the X-* rules
    /// (X-CARRY-OVER, X-IN-FORCE, X-PREVIOUS, X-SPIKE) compare with. `None` when there is none.
    /// The agency is found by its key (archive.md §5), after aliases, so a body that printed
    /// its name differently last year is still found once an admin declared the alias.
    #[tracing::instrument(name = "archive.previous_year", skip(self))]
    pub async fn previous_year(&self, agency: &str, year: u16) -> Result<Option<Report>> {
        let Some(previous) = year.checked_sub(1) else {
            return Ok(None);
        };
        let key = gongkai_metrics::agency::agency_key(agency);
        let row: Option<(Uuid, Option<String>)> = sqlx::query_as(
            "SELECT r.report_id, r.checked::text FROM report_series s \
             JOIN reports r ON r.report_id = s.current_report_id \
             WHERE s.agency_key = coalesce((SELECT a.agency_key FROM agency_aliases a \
                                           WHERE a.alias_key = $1), $1) \
               AND s.year = $2",
        )
        .bind(key)
        .bind(i32::from(previous))
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db("reading the previous year's report"))?;
        match row {
            Some((report_id, Some(json))) => Ok(Some(parse_checked(report_id, &json)?.report)),
            Some((report_id, None)) => Err(ArchiveError::corrupt(
                report_id,
                "current version of a series without archived content",
            )),
            None => Ok(None),
        }
    }

    /// The report's status.
    pub async fn status(&self, report_id: Uuid) -> Result<Status> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM reports WHERE report_id = $1")
                .bind(report_id)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db("reading a report's status"))?;
        let status = status.ok_or(ArchiveError::NotFound { report_id })?;
        parse_status(report_id, &status)
    }

    /// Where the report's original bytes are in the blob store, with their name, media type,
    /// size and digest (for GetDocument).
    pub async fn document_ref(&self, report_id: Uuid) -> Result<DocumentRef> {
        let row: Option<(String, String, Option<String>, i64, String)> = sqlx::query_as(
            "SELECT blob_key, filename, media_type, size_bytes, sha256 FROM reports \
             WHERE report_id = $1",
        )
        .bind(report_id)
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db("reading a report's blob key"))?;
        let (blob_key, filename, media_type, size, sha256) =
            row.ok_or(ArchiveError::NotFound { report_id })?;
        Ok(DocumentRef {
            report_id,
            blob_key,
            filename,
            media_type,
            size_bytes: non_negative(size),
            sha256,
        })
    }

    /// Every event of the report, in order ([`ArchiveError::NotFound`] for an unknown report).
    pub async fn events(&self, report_id: Uuid) -> Result<Vec<Event>> {
        let mut connection = self
            .pool()
            .acquire()
            .await
            .map_err(ArchiveError::db("reading events"))?;
        let events = read_events(&mut connection, report_id).await?;
        if events.is_empty() {
            // Every report has its receive event, so no events means no report.
            self.status(report_id).await?;
        }
        Ok(events)
    }
}

pub(crate) async fn read_events(
    connection: &mut PgConnection,
    report_id: Uuid,
) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT seq, stage, attempt, status, outcome, detail, started_at, finished_at, \
           recorded_at FROM events WHERE report_id = $1 ORDER BY seq",
    )
    .bind(report_id)
    .fetch_all(&mut *connection)
    .await
    .map_err(ArchiveError::db("reading events"))?;
    rows.iter()
        .map(|row| {
            let outcome: String = get(row, report_id, "outcome")?;
            Ok(Event {
                seq: get(row, report_id, "seq")?,
                report_id,
                stage: parse_stage(report_id, &get::<String>(row, report_id, "stage")?)?,
                attempt: u32::try_from(get::<i32>(row, report_id, "attempt")?).unwrap_or(0),
                status: parse_status(report_id, &get::<String>(row, report_id, "status")?)?,
                outcome: Outcome::from_id(&outcome).ok_or_else(|| {
                    ArchiveError::corrupt(report_id, format!("unknown outcome {outcome:?}"))
                })?,
                detail: get(row, report_id, "detail")?,
                started_at: get(row, report_id, "started_at")?,
                finished_at: get(row, report_id, "finished_at")?,
                recorded_at: get(row, report_id, "recorded_at")?,
            })
        })
        .collect()
}

fn get<'r, T>(row: &'r PgRow, report_id: Uuid, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column)
        .map_err(|e| ArchiveError::corrupt(report_id, format!("column {column}: {e}")))
}

fn parse_status(report_id: Uuid, text: &str) -> Result<Status> {
    Status::from_id(text)
        .ok_or_else(|| ArchiveError::corrupt(report_id, format!("unknown status {text:?}")))
}

fn parse_stage(report_id: Uuid, text: &str) -> Result<Stage> {
    Stage::from_id(text)
        .ok_or_else(|| ArchiveError::corrupt(report_id, format!("unknown stage {text:?}")))
}

fn template(report_id: Uuid, text: Option<String>) -> Result<Option<Template>> {
    text.map(|t| {
        Template::from_id(&t)
            .ok_or_else(|| ArchiveError::corrupt(report_id, format!("unknown template {t:?}")))
    })
    .transpose()
}

fn year(year: Option<i32>) -> Option<u16> {
    year.and_then(|y| u16::try_from(y).ok())
}

fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn parse_checked(report_id: Uuid, json: &str) -> Result<CheckedReport> {
    serde_json::from_str(json)
        .map_err(|e| ArchiveError::corrupt(report_id, format!("checked report JSON: {e}")))
}

/// The value cells of a checked report in printed order (t2, t3, t4), as the view `cells`
/// shows them.
fn stored_cells(checked: &CheckedReport) -> Vec<StoredCell> {
    TableId::ALL
        .iter()
        .filter_map(|table| Some((*table, checked.report.tables.get(*table)?)))
        .flat_map(|(table, rows)| {
            rows.iter().flat_map(move |(row, columns)| {
                columns.iter().map(move |(column, cell)| StoredCell {
                    table,
                    row: row.clone(),
                    column: column.clone(),
                    value: cell.value,
                    text: cell.text.clone(),
                    state: cell.state,
                    unit: cell.unit.clone(),
                    position: cell.position.clone(),
                    candidates: cell.candidates.clone(),
                })
            })
        })
        .collect()
}

fn report_summary(row: &PgRow) -> Result<ReportSummary> {
    let report_id: Uuid = row
        .try_get("report_id")
        .map_err(|e| ArchiveError::corrupt(Uuid::nil(), format!("column report_id: {e}")))?;
    let count = |column: &str| -> Result<u32> {
        Ok(u32::try_from(get::<i32>(row, report_id, column)?).unwrap_or(0))
    };
    Ok(ReportSummary {
        report_id,
        status: parse_status(report_id, &get::<String>(row, report_id, "status")?)?,
        filename: get(row, report_id, "filename")?,
        agency: get(row, report_id, "agency")?,
        year: year(get(row, report_id, "year")?),
        template: template(report_id, get(row, report_id, "template")?)?,
        version: get::<Option<i32>>(row, report_id, "version")?.and_then(|v| u32::try_from(v).ok()),
        is_current: get(row, report_id, "is_current")?,
        errors: count("errors")?,
        warnings: count("warnings")?,
        infos: count("infos")?,
        received_at: get(row, report_id, "received_at")?,
        updated_at: get(row, report_id, "updated_at")?,
    })
}

/// The position after the last row of a page: its submission time (microseconds, as stored)
/// and id, as 48 hex digits.
fn encode_token(received_at: DateTime<Utc>, report_id: Uuid) -> String {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&received_at.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(report_id.as_bytes());
    hex::encode(bytes)
}

/// How much of a caller's text an error message echoes.
const ECHO_CHARS: usize = 40;

/// The first [`ECHO_CHARS`] characters of `text`, with `…` when cut.
fn echo_prefix(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn decode_token(token: &str) -> Result<(DateTime<Utc>, Uuid)> {
    // The token comes from the caller: only its start is echoed, so an error never carries
    // (and a log line never repeats) whatever a client chose to send.
    let invalid = || {
        ArchiveError::InvalidArgument(format!("page token {:?} is not valid", echo_prefix(token)))
    };
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let (micros, id) = bytes.split_at_checked(8).ok_or_else(invalid)?;
    let micros = i64::from_be_bytes(micros.try_into().map_err(|_| invalid())?);
    let id = Uuid::from_slice(id).map_err(|_| invalid())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let at = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        let token = encode_token(at, id);
        assert_eq!(decode_token(&token).unwrap(), (at, id));
        for bad in ["", "zz", "00", &token[..46], &format!("{token}00")] {
            assert!(matches!(
                decode_token(bad),
                Err(ArchiveError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn a_page_token_echoed_in_an_error_is_cut_short() {
        let hostile = "x".repeat(60_000);
        let Err(ArchiveError::InvalidArgument(message)) = decode_token(&hostile) else {
            panic!("a garbage token is refused");
        };
        assert!(message.len() < 120, "{message}");
        assert!(message.contains("xxxx…"), "{message}");
        let Err(ArchiveError::InvalidArgument(short)) = decode_token("zz") else {
            panic!("a garbage token is refused");
        };
        assert!(short.contains("\"zz\""), "{short}");
    }
}
