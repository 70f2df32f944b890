//! Batches (archive.md §4) and re-validation (§3). A batch is a caller's label on submissions
//! (its reports carry it in `reports.batch`) or a re-validation run (its reports are rows of
//! `revalidations`, each with a status of its own while the report stays ARCHIVED). This
//! module answers a batch's progress, plans a re-validation (which current reports, which are
//! skipped), writes a re-validated report (findings replaced, rules version updated, the
//! before/after recorded, exactly once however often the message is delivered), and finds
//! what `RetryBatch` must queue again.

use crate::error::{ArchiveError, Result};
use crate::facts::Facts;
use crate::read::parse_checked;
use crate::write::{ArchivedParts, FindingColumns, count};
use crate::{Archive, Status};
use chrono::{DateTime, Utc};
use gongkai_model::{Report, Source, Template};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

/// The prefix of the batches re-validations make (`revalidation-<uuid>`); submissions may not
/// use it.
pub const REVALIDATION_BATCH_PREFIX: &str = "revalidation-";
/// The most failures a batch view lists.
pub const MAX_LISTED_FAILURES: i64 = 1000;

/// One report of a batch that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub report_id: Uuid,
    pub filename: String,
    pub stage: Option<String>,
    pub reason: Option<String>,
}

/// A batch's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchView {
    pub batch: String,
    /// `SUBMISSION` or `REVALIDATION`.
    pub kind: String,
    pub caller: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Reports by status: the reports' statuses for a submission batch (`RECEIVED` …
    /// `ARCHIVED`, `FAILED`), the re-validations' for a re-validation (`QUEUED`, `DONE`,
    /// `SKIPPED`, `FAILED`), in that order, the absent ones left out.
    pub counts: Vec<(String, u32)>,
    pub total: u32,
    pub failed: u32,
    /// Nothing left in the pipeline.
    pub complete: bool,
    /// When the first report was received (or queued).
    pub started_at: Option<DateTime<Utc>>,
    /// When its last report finished.
    pub finished_at: Option<DateTime<Utc>>,
    pub failures: Vec<BatchFailure>,
}

/// A report to queue (again): what the stage message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub report_id: Uuid,
    pub sha256: String,
    pub blob_key: String,
    pub filename: String,
    pub source_system: Option<String>,
}

/// What [`Archive::plan_revalidation`] selects: the current archived reports matching the
/// filter (the `ReportFilter` of archive.md §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevalidationRequest {
    pub agency_contains: Option<String>,
    /// A prefix of the region path (`江苏省/淮安市`), whole parts only, as QueryMetrics reads it.
    pub region: Option<String>,
    pub year_from: Option<u16>,
    pub year_to: Option<u16>,
    pub template: Option<Template>,
    /// Only reports checked by a rule set older than this (`2026.11.1`, compared number by
    /// number).
    pub rules_version_below: Option<String>,
    /// The rule set the workers run now: reports already checked by it are skipped…
    pub current_rules_version: String,
    /// … unless this is set.
    pub force: bool,
    /// Read the stored documents again.
    pub reparse: bool,
    pub caller: String,
}

/// A planned re-validation: its batch, the reports to queue and how many were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevalidationPlan {
    pub batch: String,
    pub queued: Vec<QueueItem>,
    pub skipped: u32,
}

/// What `RetryBatch` must queue again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// `SUBMISSION` or `REVALIDATION`.
    pub kind: String,
    pub reparse: bool,
    pub items: Vec<QueueItem>,
}

/// Whether rule-set version `a` is older than `b`, number by number (`2026.9.1` < `2026.11.1`);
/// a part that is not a number compares as text.
pub fn version_lt(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split('.')
            .filter(|p| !p.is_empty())
            .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_owned()))
            .collect()
    };
    parts(a) < parts(b)
}

fn u32_of(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Archive {
    /// The progress of `batch`, with up to [`MAX_LISTED_FAILURES`] failures when
    /// `with_failures`. [`ArchiveError::InvalidArgument`] for an unknown batch.
    pub async fn get_batch(&self, batch: &str, with_failures: bool) -> Result<BatchView> {
        const CONTEXT: &str = "reading a batch";
        let row: Option<(String, Option<String>, DateTime<Utc>)> =
            sqlx::query_as("SELECT kind, caller, created_at FROM batches WHERE batch = $1")
                .bind(batch)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
        let (kind, caller, created_at) = row
            .ok_or_else(|| ArchiveError::InvalidArgument(format!("there is no batch {batch:?}")))?;
        let revalidation = kind == "REVALIDATION";
        let (counts_sql, times_sql, failures_sql, order): (&str, &str, &str, &[&str]) =
            if revalidation {
                (
                    "SELECT status, count(*) FROM revalidations WHERE batch = $1 GROUP BY status",
                    "SELECT min(queued_at), max(finished_at) FROM revalidations WHERE batch = $1",
                    "SELECT v.report_id, r.filename, v.failure_stage, v.failure_reason \
                     FROM revalidations v JOIN reports r USING (report_id) \
                     WHERE v.batch = $1 AND v.status = 'FAILED' ORDER BY v.finished_at LIMIT $2",
                    &["QUEUED", "DONE", "SKIPPED", "FAILED"],
                )
            } else {
                (
                    "SELECT status, count(*) FROM reports WHERE batch = $1 GROUP BY status",
                    "SELECT min(received_at), max(finished_at) FROM reports WHERE batch = $1",
                    "SELECT report_id, filename, failure_stage, failure_reason FROM reports \
                     WHERE batch = $1 AND status = 'FAILED' ORDER BY received_at LIMIT $2",
                    &["RECEIVED", "PARSED", "VALIDATED", "ARCHIVED", "FAILED"],
                )
            };
        let by_status: Vec<(String, i64)> = sqlx::query_as(counts_sql)
            .bind(batch)
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let (started_at, finished_at): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
            sqlx::query_as(times_sql)
                .bind(batch)
                .fetch_one(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
        let failures: Vec<(Uuid, String, Option<String>, Option<String>)> = if with_failures {
            sqlx::query_as(failures_sql)
                .bind(batch)
                .bind(MAX_LISTED_FAILURES)
                .fetch_all(self.pool())
                .await
                .map_err(ArchiveError::db(CONTEXT))?
        } else {
            Vec::new()
        };
        let counts: Vec<(String, u32)> = order
            .iter()
            .filter_map(|status| {
                by_status
                    .iter()
                    .find(|(s, _)| s == status)
                    .map(|(s, n)| (s.clone(), u32_of(*n)))
            })
            .collect();
        let of = |status: &str| {
            counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n)
        };
        let total = counts.iter().map(|(_, n)| *n).sum();
        let in_flight = if revalidation {
            of("QUEUED")
        } else {
            of("RECEIVED") + of("PARSED") + of("VALIDATED")
        };
        Ok(BatchView {
            batch: batch.to_owned(),
            kind,
            caller,
            created_at,
            failed: of("FAILED"),
            total,
            complete: in_flight == 0,
            started_at,
            finished_at: if in_flight == 0 { finished_at } else { None },
            counts,
            failures: failures
                .into_iter()
                .map(|(report_id, filename, stage, reason)| BatchFailure {
                    report_id,
                    filename,
                    stage,
                    reason,
                })
                .collect(),
        })
    }

    /// The newest `limit` batches (at most 100), newest first, without their failures.
    pub async fn list_batches(&self, limit: u32) -> Result<Vec<BatchView>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT batch FROM batches ORDER BY created_at DESC, batch DESC LIMIT $1",
        )
        .bind(i64::from(limit.clamp(1, 100)))
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("listing batches"))?;
        let mut views = Vec::with_capacity(names.len());
        for name in names {
            views.push(self.get_batch(&name, false).await?);
        }
        Ok(views)
    }

    /// Plans a re-validation: selects the current archived reports matching `request`, records
    /// a batch of kind REVALIDATION with one `revalidations` row per report (`QUEUED`, or
    /// `SKIPPED` for a report already checked by the current rules unless `force`), and returns
    /// the reports to queue. An empty selection is still a (complete) batch.
    pub async fn plan_revalidation(
        &self,
        request: &RevalidationRequest,
    ) -> Result<RevalidationPlan> {
        const CONTEXT: &str = "planning a re-validation";
        let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT r.report_id, r.sha256, r.blob_key, r.filename, r.source_system, \
               coalesce(r.rules_version, '') \
             FROM report_series s JOIN reports r ON r.report_id = s.current_report_id \
             WHERE r.status = 'ARCHIVED'",
        );
        if let Some(agency) = request.agency_contains.as_deref().filter(|a| !a.is_empty()) {
            query
                .push(" AND strpos(r.agency, ")
                .push_bind(agency.to_owned())
                .push(") > 0");
        }
        if let Some(region) = request
            .region
            .as_deref()
            .map(gongkai_metrics::agency::normalise_region)
            .filter(|r| !r.is_empty())
        {
            query
                .push(" AND (r.region = ")
                .push_bind(region.clone())
                .push(" OR starts_with(r.region, ")
                .push_bind(format!("{region}/"))
                .push("))");
        }
        if let Some(from) = request.year_from {
            query.push(" AND r.year >= ").push_bind(i32::from(from));
        }
        if let Some(to) = request.year_to {
            query.push(" AND r.year <= ").push_bind(i32::from(to));
        }
        if let Some(template) = request.template {
            query
                .push(" AND r.template = ")
                .push_bind(template.as_str());
        }
        query.push(" ORDER BY r.year, r.agency");
        type Row = (Uuid, String, String, String, Option<String>, String);
        let rows: Vec<Row> = query
            .build_query_as()
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let mut queued = Vec::new();
        let mut skipped = Vec::new();
        for (report_id, sha256, blob_key, filename, source_system, rules) in rows {
            if let Some(below) = &request.rules_version_below
                && !version_lt(&rules, below)
            {
                continue;
            }
            if rules == request.current_rules_version && !request.force {
                skipped.push(report_id);
                continue;
            }
            queued.push(QueueItem {
                report_id,
                sha256,
                blob_key,
                filename,
                source_system,
            });
        }
        let batch = format!("{REVALIDATION_BATCH_PREFIX}{}", Uuid::now_v7());
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        sqlx::query(
            "INSERT INTO batches (batch, kind, caller, reparse, rules_version) \
             VALUES ($1, 'REVALIDATION', $2, $3, $4)",
        )
        .bind(&batch)
        .bind(&request.caller)
        .bind(request.reparse)
        .bind(&request.current_rules_version)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let queued_ids: Vec<Uuid> = queued.iter().map(|q| q.report_id).collect();
        sqlx::query(
            "INSERT INTO revalidations (batch, report_id, status, finished_at) \
             SELECT $1, id, 'QUEUED', NULL FROM unnest($2::uuid[]) AS id \
             UNION ALL \
             SELECT $1, id, 'SKIPPED', now() FROM unnest($3::uuid[]) AS id",
        )
        .bind(&batch)
        .bind(&queued_ids)
        .bind(&skipped)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        crate::record_audit_in(
            &mut tx,
            &crate::AuditEntry {
                actor: request.caller.clone(),
                action: "reports.revalidate".to_owned(),
                subject: Some(batch.clone()),
                detail: serde_json::json!({
                    "agency": request.agency_contains,
                    "region": request.region,
                    "year_from": request.year_from,
                    "year_to": request.year_to,
                    "template": request.template.map(|t| t.as_str()),
                    "rules_version_below": request.rules_version_below,
                    "rules_version": request.current_rules_version,
                    "force": request.force,
                    "reparse": request.reparse,
                    "queued": queued_ids.len(),
                    "skipped": skipped.len(),
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(RevalidationPlan {
            batch,
            queued,
            skipped: u32::try_from(skipped.len()).unwrap_or(u32::MAX),
        })
    }

    /// The archived content of a report, for its re-validation: its source and read report as
    /// archived.
    pub async fn archived_content(&self, report_id: Uuid) -> Result<(Source, Report)> {
        let checked: Option<Option<String>> =
            sqlx::query_scalar("SELECT checked::text FROM reports WHERE report_id = $1")
                .bind(report_id)
                .fetch_optional(self.pool())
                .await
                .map_err(ArchiveError::db("reading an archived report"))?;
        let checked = checked
            .ok_or(ArchiveError::NotFound { report_id })?
            .ok_or_else(|| {
                ArchiveError::FailedPrecondition(format!("report {report_id} is not archived"))
            })?;
        let checked = parse_checked(report_id, &checked)?;
        Ok((checked.source, checked.report))
    }

    /// Writes the re-validation of `report_id` in `batch`: the checked report (JSON, as the
    /// validate stage wrote it) replaces the archived one and its findings, `rules_version` and
    /// the counts are updated, the before and after are recorded on the batch's row and as the
    /// report's `revalidate` event. No new version; status, agency, year and series stay.
    /// Returns `true` when this re-validation was written before (a redelivered message):
    /// nothing changes then.
    #[tracing::instrument(name = "archive.archive_revalidation", skip_all, fields(%report_id, batch))]
    pub async fn archive_revalidation(
        &self,
        batch: &str,
        report_id: Uuid,
        json: &str,
        started_at: DateTime<Utc>,
    ) -> Result<bool> {
        const CONTEXT: &str = "archiving a re-validation";
        let parts: ArchivedParts = serde_json::from_str(json).map_err(|error| {
            ArchiveError::InvalidArgument(format!("not a checked report: {error}"))
        })?;
        let findings = FindingColumns::of(&parts.findings)?;
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        // The batch's row and the report's, locked together: a second copy of the message
        // waits here for the first to commit, then finds the row DONE.
        type Locked = (
            String,
            String,
            Option<String>,
            Option<i32>,
            Option<i32>,
            Option<i32>,
            String,
        );
        let locked: Option<Locked> = sqlx::query_as(
            "SELECT v.status, r.status, r.rules_version, r.error_count, r.warning_count, \
               r.info_count, r.sha256 \
             FROM revalidations v JOIN reports r ON r.report_id = v.report_id \
             WHERE v.batch = $1 AND v.report_id = $2 FOR UPDATE OF v, r",
        )
        .bind(batch)
        .bind(report_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let Some((
            revalidation,
            status,
            rules_before,
            errors_before,
            warnings_before,
            infos_before,
            sha256,
        )) = locked
        else {
            return Err(ArchiveError::InvalidArgument(format!(
                "report {report_id} is not part of re-validation {batch:?}"
            )));
        };
        if matches!(revalidation.as_str(), "DONE" | "SKIPPED") {
            return Ok(true);
        }
        if status != Status::Archived.as_str() {
            return Err(ArchiveError::FailedPrecondition(format!(
                "report {report_id} is {status}: only an archived report is re-validated"
            )));
        }
        let claimed = parts.source.sha256.trim().to_ascii_lowercase();
        if !claimed.is_empty() && claimed != sha256 {
            return Err(ArchiveError::InvalidArgument(format!(
                "the checked report is of bytes {claimed}, report {report_id} of {sha256}"
            )));
        }
        let summary = parts.summary;
        let (errors, warnings, infos) = (
            count(summary.errors),
            count(summary.warnings),
            count(summary.infos),
        );
        let n = |v: Option<i32>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        let detail = format!(
            "re-validated ({batch}): rules {} → {}; errors {} → {errors}, warnings {} → \
             {warnings}, infos {} → {infos}",
            rules_before.as_deref().unwrap_or("?"),
            parts.rules_version,
            n(errors_before),
            n(warnings_before),
            n(infos_before),
        );
        // One statement for the report, its old findings, the event and the batch's row (all
        // different rows; the new findings follow in their own statement, so that they do not
        // meet the old ones, deleted by this one, in the primary key).
        // The facts are derived from the document: a re-read (reparse) may change its cells,
        // and the dictionary may have changed since, so they are rewritten with it.
        let facts = Facts::of(&parts.report);
        sqlx::query(
            "WITH updated AS ( \
               UPDATE reports SET checked = $2::json, rules_version = $3, error_count = $4, \
                 warning_count = $5, info_count = $6, template = $7, title = $8, \
                 updated_at = now() WHERE report_id = $1 RETURNING 1), \
             removed AS (DELETE FROM findings WHERE report_id = $1 RETURNING 1), \
             facts AS ( \
               UPDATE report_facts SET template = $7, metrics_version = $16, \
                 metric_parts = $17::numeric[] WHERE report_id = $1 RETURNING 1), \
             cells AS ( \
               UPDATE report_cells SET cell_ids = $18::smallint[], \
                 cell_values = $19::numeric[], cell_states = $20::\"char\"[], \
                 cell_texts = $21::text[] WHERE report_id = $1 RETURNING 1), \
             event AS ( \
               INSERT INTO events (report_id, stage, attempt, status, outcome, detail, \
                 started_at, finished_at) \
               SELECT $1, 'revalidate', coalesce(max(attempt), 0) + 1, 'ARCHIVED', \
                 'succeeded', $9, $10, greatest($10, now()) \
               FROM events WHERE report_id = $1 AND stage = 'revalidate' RETURNING 1), \
             done AS ( \
               UPDATE revalidations SET status = 'DONE', finished_at = now(), \
                 failure_stage = NULL, failure_reason = NULL, rules_before = $12, \
                 rules_after = $3, errors_before = $13, warnings_before = $14, \
                 infos_before = $15, errors_after = $4, warnings_after = $5, infos_after = $6 \
               WHERE batch = $11 AND report_id = $1 RETURNING 1) \
             SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM removed), \
               (SELECT count(*) FROM event), (SELECT count(*) FROM done)",
        )
        .bind(report_id)
        .bind(json)
        .bind(&parts.rules_version)
        .bind(errors)
        .bind(warnings)
        .bind(infos)
        .bind(parts.report.template.as_str())
        .bind(&parts.report.title)
        .bind(&detail)
        .bind(started_at)
        .bind(batch)
        .bind(&rules_before)
        .bind(errors_before)
        .bind(warnings_before)
        .bind(infos_before)
        .bind(i32::try_from(gongkai_metrics::METRICS_VERSION).unwrap_or(i32::MAX))
        .bind(&facts.metric_parts)
        .bind(&facts.cell_ids)
        .bind(&facts.cell_values)
        .bind(&facts.cell_states)
        .bind(&facts.cell_texts)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        sqlx::query(
            "INSERT INTO findings (report_id, ordinal, rule, severity, table_id, row_key, \
               column_key, expected, actual, message, message_en, rules_version) \
             SELECT $1, (f.ordinal - 1)::integer, f.rule, f.severity, f.table_id, f.row_key, \
               f.column_key, f.expected::jsonb, f.actual::jsonb, f.message, f.message_en, $2 \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::text[], $11::text[]) \
               WITH ORDINALITY AS f(rule, severity, table_id, row_key, column_key, expected, \
                                    actual, message, message_en, ordinal)",
        )
        .bind(report_id)
        .bind(&parts.rules_version)
        .bind(&findings.rules)
        .bind(&findings.severities)
        .bind(&findings.tables)
        .bind(&findings.rows)
        .bind(&findings.columns)
        .bind(&findings.expected)
        .bind(&findings.actual)
        .bind(&findings.messages)
        .bind(&findings.messages_en)
        .execute(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(false)
    }

    /// Whether the re-validation of `report_id` in `batch` is over (written, skipped or
    /// failed): a redelivered message of it has nothing left to do.
    pub async fn revalidation_finished(&self, batch: &str, report_id: Uuid) -> Result<bool> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM revalidations WHERE batch = $1 AND report_id = $2",
        )
        .bind(batch)
        .bind(report_id)
        .fetch_optional(self.pool())
        .await
        .map_err(ArchiveError::db("reading a re-validation"))?;
        Ok(status.is_some_and(|s| s != "QUEUED"))
    }

    /// Marks the re-validation of `report_id` in `batch` FAILED at `stage` with `reason`
    /// (only while it is queued: a written one stays written).
    pub async fn fail_revalidation(
        &self,
        batch: &str,
        report_id: Uuid,
        stage: &str,
        reason: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE revalidations SET status = 'FAILED', failure_stage = $3, \
               failure_reason = $4, finished_at = now() \
             WHERE batch = $1 AND report_id = $2 AND status = 'QUEUED'",
        )
        .bind(batch)
        .bind(report_id)
        .bind(stage)
        .bind(reason)
        .execute(self.pool())
        .await
        .map_err(ArchiveError::db("failing a re-validation"))?;
        Ok(())
    }

    /// What `RetryBatch` queues again: the batch's FAILED reports, and only those. For a
    /// re-validation their rows go back to `QUEUED` here (so that the batch shows them in
    /// flight); a submission batch's reports are moved on by the stages as a redriven message
    /// moves a failed report. The retry is audited (`batch.retry`) as done by `caller`.
    pub async fn retry_batch(&self, batch: &str, caller: &str) -> Result<Retry> {
        const CONTEXT: &str = "retrying a batch";
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let row: Option<(String, bool)> =
            sqlx::query_as("SELECT kind, reparse FROM batches WHERE batch = $1")
                .bind(batch)
                .fetch_optional(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
        let (kind, reparse) = row
            .ok_or_else(|| ArchiveError::InvalidArgument(format!("there is no batch {batch:?}")))?;
        let sql = if kind == "REVALIDATION" {
            "WITH again AS ( \
               UPDATE revalidations SET status = 'QUEUED', failure_stage = NULL, \
                 failure_reason = NULL, finished_at = NULL, queued_at = now() \
               WHERE batch = $1 AND status = 'FAILED' RETURNING report_id) \
             SELECT r.report_id, r.sha256, r.blob_key, r.filename, r.source_system \
             FROM again JOIN reports r USING (report_id) ORDER BY r.report_id"
        } else {
            "SELECT report_id, sha256, blob_key, filename, source_system FROM reports \
             WHERE batch = $1 AND status = 'FAILED' ORDER BY report_id"
        };
        let rows: Vec<(Uuid, String, String, String, Option<String>)> = sqlx::query_as(sql)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        crate::record_audit_in(
            &mut tx,
            &crate::AuditEntry {
                actor: caller.to_owned(),
                action: "batch.retry".to_owned(),
                subject: Some(batch.to_owned()),
                detail: serde_json::json!({
                    "kind": kind,
                    "requeued": rows.iter().map(|row| row.0).collect::<Vec<_>>(),
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        Ok(Retry {
            kind,
            reparse,
            items: rows
                .into_iter()
                .map(
                    |(report_id, sha256, blob_key, filename, source_system)| QueueItem {
                        report_id,
                        sha256,
                        blob_key,
                        filename,
                        source_system,
                    },
                )
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::version_lt;

    #[test]
    fn rule_set_versions_compare_number_by_number() {
        assert!(version_lt("2026.9.1", "2026.11.1"));
        assert!(version_lt("2026.11.1", "2026.11.2"));
        assert!(!version_lt("2026.11.1", "2026.11.1"));
        assert!(!version_lt("2027.1.0", "2026.11.1"));
        assert!(version_lt("", "2026.11.1"));
    }
}
