//! Questions of the whole archive (`archive.md` §5–§6), answered from `report_facts` and `report_cells`
//! (migration 0008) rather than the stored documents: metric aggregates grouped by year,
//! agency or region; agency aliases; the submitted region; and the cells of the selected
//! reports in batches, for exports.
//!
//! The database sums each metric's stored numerators and denominators per group and hands the
//! per-report values over for percentiles; everything past the sums (ratios, rounding,
//! percentiles, NA) is `gongkai_metrics`' arithmetic, so it is stated once.

use crate::Archive;
use crate::error::{ArchiveError, Result};
use crate::facts::state_name;
use chrono::{DateTime, Utc};
use gongkai_metrics::catalogue::{self, CellKey};
use gongkai_metrics::{Accumulator, GroupValue, METRICS, MetricKind, agency};
use gongkai_model::{Decimal, Template};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

/// Which reports a question selects (`ReportFilter` of archive.md §5); unset fields select all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportSelection {
    /// A substring of the agency's name as printed.
    pub agency: Option<String>,
    /// A prefix of the region path (`江苏省/淮安市`), whole parts only.
    pub region: Option<String>,
    pub year_from: Option<u16>,
    pub year_to: Option<u16>,
    pub template: Option<Template>,
    /// Every archived version, not only each series' current report.
    pub all_versions: bool,
}

/// What a metrics answer is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    Year,
    /// The agency key (after aliases).
    Agency,
    Region,
}

impl GroupBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            GroupBy::Year => "year",
            GroupBy::Agency => "agency",
            GroupBy::Region => "region",
        }
    }

    pub fn from_id(id: &str) -> Option<GroupBy> {
        [GroupBy::Year, GroupBy::Agency, GroupBy::Region]
            .into_iter()
            .find(|g| g.as_str() == id)
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Year => "f.year::text",
            GroupBy::Agency => "f.agency_key",
            GroupBy::Region => "f.region",
        }
    }
}

/// A QueryMetrics question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsQuery {
    /// Metric keys; empty means every metric of the dictionary.
    pub metrics: Vec<String>,
    pub selection: ReportSelection,
    pub group_by: Vec<GroupBy>,
    /// Percentiles to compute, each 0–100.
    pub percentiles: Vec<u32>,
}

/// One row of a QueryMetrics answer: one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRow {
    /// The group's value of each `group_by`, in the order asked (year as digits, agency key,
    /// region path).
    pub group: Vec<(GroupBy, String)>,
    /// With `group_by` agency: the name printed by the group's latest report.
    pub agency_name: Option<String>,
    /// Reports in the group.
    pub reports: u64,
    /// Per metric asked, in the order asked.
    pub values: Vec<(&'static str, GroupValue)>,
}

/// An admin's alias: reports of `alias_key` are of `agency_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyAlias {
    pub alias_key: String,
    pub agency_key: String,
    pub alias_name: String,
    pub agency_name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// [`Archive::set_agency_alias`] only: how many reports moved to `agency_key`.
    pub reports_moved: u64,
}

/// One report's cells as an export writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedReport {
    pub report_id: Uuid,
    pub agency: String,
    pub agency_key: String,
    pub region: String,
    pub year: i32,
    pub template: String,
    pub version: i32,
    pub cells: Vec<ExportedCell>,
    pub findings: Vec<ExportedFinding>,
}

/// One cell of an [`ExportedReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedCell {
    pub key: CellKey,
    pub value: Option<Decimal>,
    pub state: &'static str,
    pub text: String,
}

/// One finding of an [`ExportedReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFinding {
    pub rule: String,
    pub severity: String,
    pub table: Option<String>,
    pub row: Option<String>,
    pub column: Option<String>,
    pub message: String,
}

/// The most reports [`Archive::export_reports`] reads at once.
pub const MAX_EXPORT_BATCH: u32 = 5000;

/// The most report ids [`Archive::export_ids`] answers at once.
pub const MAX_EXPORT_IDS: u32 = 100_000;

/// The largest percentile list accepted.
const MAX_PERCENTILES: usize = 20;

fn push_selection(query: &mut QueryBuilder<Postgres>, selection: &ReportSelection) {
    if let Some(agency) = selection.agency.as_deref().filter(|a| !a.is_empty()) {
        // LIKE rather than strpos so that the trigram index answers it.
        let escaped = agency
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query
            .push(" AND f.agency LIKE ")
            .push_bind(format!("%{escaped}%"));
    }
    if let Some(region) = selection
        .region
        .as_deref()
        .map(agency::normalise_region)
        .filter(|r| !r.is_empty())
    {
        query
            .push(" AND (f.region = ")
            .push_bind(region.clone())
            .push(" OR starts_with(f.region, ")
            .push_bind(format!("{region}/"))
            .push("))");
    }
    if let Some(from) = selection.year_from {
        query.push(" AND f.year >= ").push_bind(i32::from(from));
    }
    if let Some(to) = selection.year_to {
        query.push(" AND f.year <= ").push_bind(i32::from(to));
    }
    if let Some(template) = selection.template {
        query
            .push(" AND f.template = ")
            .push_bind(template.as_str());
    }
    if !selection.all_versions {
        // Kept by a trigger on report_series (migration 0010): no join with the series.
        query.push(" AND f.current");
    }
}

fn invalid(message: String) -> ArchiveError {
    ArchiveError::InvalidArgument(message)
}

fn row_get<'r, T>(row: &'r PgRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| {
        ArchiveError::corrupt(Uuid::nil(), format!("report_facts column {column}: {e}"))
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Archive {
    /// Answers a QueryMetrics question (archive.md §5): per group, every metric asked with its
    /// value (NA as `None`), the reports that contributed, those excluded and the percentiles.
    /// An unknown metric, a percentile over 100 or a year range the wrong way round is
    /// [`ArchiveError::InvalidArgument`].
    #[tracing::instrument(name = "archive.query_metrics", skip_all)]
    pub async fn query_metrics(&self, question: &MetricsQuery) -> Result<Vec<MetricsRow>> {
        let metrics: Vec<(usize, &'static gongkai_metrics::Metric)> = if question.metrics.is_empty()
        {
            METRICS.iter().enumerate().collect()
        } else {
            question
                .metrics
                .iter()
                .map(|key| {
                    gongkai_metrics::metric(key).ok_or_else(|| {
                        invalid(format!(
                            "unknown metric {key:?} (ListMetrics lists them: {})",
                            METRICS.iter().map(|m| m.key).collect::<Vec<_>>().join(", ")
                        ))
                    })
                })
                .collect::<Result<_>>()?
        };
        if let Some(p) = question.percentiles.iter().find(|p| **p > 100) {
            return Err(invalid(format!("percentile {p} is over 100")));
        }
        if question.percentiles.len() > MAX_PERCENTILES {
            return Err(invalid(format!("at most {MAX_PERCENTILES} percentiles")));
        }
        let s = &question.selection;
        if let (Some(from), Some(to)) = (s.year_from, s.year_to)
            && from > to
        {
            return Err(invalid(format!("year_from {from} is after year_to {to}")));
        }
        let mut group_by = Vec::new();
        for g in &question.group_by {
            if !group_by.contains(g) {
                group_by.push(*g);
            }
        }

        let mut query: QueryBuilder<Postgres> = QueryBuilder::new("SELECT count(*) AS n");
        for (i, g) in group_by.iter().enumerate() {
            query.push(format!(", {} AS g{i}", g.column()));
        }
        if group_by.contains(&GroupBy::Agency) {
            query.push(
                ", (array_agg(f.agency ORDER BY f.year DESC, f.version DESC))[1] AS agency_name",
            );
        }
        for (n, (index, metric)) in metrics.iter().enumerate() {
            let num = 2 * index + 1;
            let den = num + 1;
            query.push(format!(
                ", count(f.metric_parts[{num}]) AS r{n}, sum(f.metric_parts[{num}]) AS num{n}, \
                 sum(f.metric_parts[{den}]) AS den{n}"
            ));
            if !question.percentiles.is_empty() {
                match metric.kind {
                    MetricKind::Count => query.push(format!(
                        ", array_agg(f.metric_parts[{num}]) FILTER \
                           (WHERE f.metric_parts[{num}] IS NOT NULL) AS v{n}"
                    )),
                    MetricKind::Rate => query.push(format!(
                        ", array_agg(f.metric_parts[{num}] / f.metric_parts[{den}]) FILTER \
                           (WHERE f.metric_parts[{den}] <> 0) AS v{n}"
                    )),
                };
            }
        }
        query.push(" FROM report_facts f WHERE TRUE");
        push_selection(&mut query, s);
        if !group_by.is_empty() {
            let columns: Vec<String> = (0..group_by.len()).map(|i| format!("g{i}")).collect();
            // Years are four digits, so their text sorts as their numbers do.
            let columns = columns.join(", ");
            query.push(format!(" GROUP BY {columns} ORDER BY {columns}"));
        }
        let rows = query
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db("querying metrics"))?;

        let mut answer = Vec::with_capacity(rows.len());
        for row in &rows {
            let reports = count(row_get::<i64>(row, "n")?);
            if reports == 0 && !group_by.is_empty() {
                continue;
            }
            let group = group_by
                .iter()
                .enumerate()
                .map(|(i, g)| Ok((*g, row_get::<String>(row, &format!("g{i}"))?)))
                .collect::<Result<Vec<_>>>()?;
            let agency_name = if group_by.contains(&GroupBy::Agency) {
                row_get::<Option<String>>(row, "agency_name")?
            } else {
                None
            };
            let mut values = Vec::with_capacity(metrics.len());
            for (n, (_, metric)) in metrics.iter().enumerate() {
                let contributed = count(row_get::<i64>(row, &format!("r{n}"))?);
                let numerator = row_get::<Option<Decimal>>(row, &format!("num{n}"))?;
                let denominator = row_get::<Option<Decimal>>(row, &format!("den{n}"))?;
                let per_report = if question.percentiles.is_empty() {
                    Vec::new()
                } else {
                    row_get::<Option<Vec<Decimal>>>(row, &format!("v{n}"))?.unwrap_or_default()
                };
                let accumulator = Accumulator::from_sums(
                    numerator.unwrap_or_default(),
                    denominator.unwrap_or_default(),
                    contributed,
                    reports.saturating_sub(contributed),
                    per_report,
                );
                values.push((
                    metric.key,
                    accumulator.finish(metric, &question.percentiles),
                ));
            }
            answer.push(MetricsRow {
                group,
                agency_name,
                reports,
                values,
            });
        }
        Ok(answer)
    }

    /// Declares that the body printed `alias_name` is the body printed `agency_name`
    /// (archive.md §5): names (or keys, with `/`) are turned into keys, the target resolved
    /// through the existing aliases, and every report, series and fact of the alias key moves
    /// to the target, with `who` and the time recorded. Aliases that pointed at the alias key
    /// now point at the target. Idempotent. Two reports of one year in the two series would
    /// make one series of two unrelated versions: [`ArchiveError::FailedPrecondition`] naming
    /// the year.
    #[tracing::instrument(name = "archive.set_agency_alias", skip(self))]
    pub async fn set_agency_alias(
        &self,
        alias_name: &str,
        agency_name: &str,
        who: &str,
    ) -> Result<AgencyAlias> {
        const CONTEXT: &str = "declaring an agency alias";
        let alias_key = key_of(alias_name);
        let named_key = key_of(agency_name);
        if alias_key.is_empty() || named_key.is_empty() {
            return Err(invalid("both agency names must be non-empty".into()));
        }
        let who = who.trim();
        if who.is_empty() {
            return Err(invalid("who declares the alias must be named".into()));
        }
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        // Archiving takes ROW EXCLUSIVE on report_series: this waits for the archivings in
        // flight and holds new ones until the move is committed.
        sqlx::query("LOCK TABLE report_series IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        let target: String = sqlx::query_scalar(
            "SELECT coalesce((SELECT agency_key FROM agency_aliases WHERE alias_key = $1), $1)",
        )
        .bind(&named_key)
        .fetch_one(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        if target == alias_key {
            return Err(invalid(format!(
                "{alias_name:?} and {agency_name:?} are already the same agency ({target})"
            )));
        }
        let clashes: Vec<i32> = sqlx::query_scalar(
            "SELECT a.year FROM report_series a JOIN report_series b ON b.year = a.year \
             WHERE a.agency_key = $1 AND b.agency_key = $2 ORDER BY a.year",
        )
        .bind(&alias_key)
        .bind(&target)
        .fetch_all(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        if !clashes.is_empty() {
            let years: Vec<String> = clashes.iter().map(i32::to_string).collect();
            return Err(ArchiveError::FailedPrecondition(format!(
                "{alias_key} 与 {target} 在 {} 年度各有报告，不能合并为一个系列 / both agencies \
                 have a report for {}: they cannot be one series",
                years.join("、"),
                years.join(", ")
            )));
        }
        let moved: i64 = sqlx::query_scalar(
            "WITH aliases AS ( \
               UPDATE agency_aliases SET agency_key = $2 WHERE agency_key = $1), \
             series AS ( \
               UPDATE report_series SET agency_key = $2 WHERE agency_key = $1), \
             facts AS ( \
               UPDATE report_facts SET agency_key = $2 WHERE agency_key = $1), \
             judgements AS ( \
               UPDATE finding_dispositions SET agency = $2 WHERE agency = $1), \
             moved AS ( \
               UPDATE reports SET agency_key = $2 WHERE agency_key = $1 RETURNING 1) \
             SELECT count(*) FROM moved",
        )
        .bind(&alias_key)
        .bind(&target)
        .fetch_one(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let row = sqlx::query(
            "INSERT INTO agency_aliases (alias_key, agency_key, alias_name, agency_name, \
               created_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (alias_key) DO UPDATE SET agency_key = EXCLUDED.agency_key, \
               alias_name = EXCLUDED.alias_name, agency_name = EXCLUDED.agency_name, \
               created_by = EXCLUDED.created_by, created_at = now() \
             RETURNING alias_key, agency_key, alias_name, agency_name, created_by, created_at",
        )
        .bind(&alias_key)
        .bind(&target)
        .bind(alias_name.trim())
        .bind(agency_name.trim())
        .bind(who)
        .fetch_one(&mut *tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        crate::record_audit_in(
            &mut tx,
            &crate::AuditEntry {
                actor: who.to_owned(),
                action: "agency.alias".to_owned(),
                subject: Some(alias_key.clone()),
                detail: serde_json::json!({
                    "alias": alias_name.trim(),
                    "agency": agency_name.trim(),
                    "agency_key": target,
                    "reports_moved": moved,
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        let mut alias = alias_of(&row)?;
        alias.reports_moved = count(moved);
        Ok(alias)
    }

    /// Every alias, by alias key.
    pub async fn list_agency_aliases(&self) -> Result<Vec<AgencyAlias>> {
        let rows = sqlx::query(
            "SELECT alias_key, agency_key, alias_name, agency_name, created_by, created_at \
             FROM agency_aliases ORDER BY alias_key",
        )
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db("listing agency aliases"))?;
        rows.iter().map(alias_of).collect()
    }

    /// Records the region a submission gave (`SubmitReportRequest.region`, e.g.
    /// `江苏省/淮安市/洪泽区`) before the report is archived; archiving prefers it to the region
    /// read from the agency's name. An empty region is ignored.
    pub async fn set_submitted_region(&self, report_id: Uuid, region: &str) -> Result<()> {
        let region = agency::normalise_region(region);
        if region.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE reports SET region = $2 WHERE report_id = $1 AND checked IS NULL")
            .bind(report_id)
            .bind(region)
            .execute(self.pool())
            .await
            .map_err(ArchiveError::db("recording a submission's region"))?;
        Ok(())
    }

    /// The ids of the next `limit` (at most [`MAX_EXPORT_IDS`]) selected reports after `after`,
    /// in id order: an export plans its batches with these, then reads several at once
    /// ([`Archive::export_reports`]).
    #[tracing::instrument(name = "archive.export_ids", skip(self, selection))]
    pub async fn export_ids(
        &self,
        selection: &ReportSelection,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Uuid>> {
        let limit = limit.clamp(1, MAX_EXPORT_IDS);
        let mut query: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT f.report_id FROM report_facts f WHERE TRUE");
        if let Some(after) = after {
            query.push(" AND f.report_id > ").push_bind(after);
        }
        push_selection(&mut query, selection);
        query
            .push(" ORDER BY f.report_id LIMIT ")
            .push_bind(i64::from(limit));
        query
            .build_query_scalar()
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db("selecting the reports of an export"))
    }

    /// The reports `ids` (at most [`MAX_EXPORT_BATCH`], as [`Archive::export_ids`] gave them)
    /// with their cells in printed order and, when asked, their findings, in id order.
    #[tracing::instrument(name = "archive.export_reports", skip_all, fields(reports = ids.len()))]
    pub async fn export_reports(
        &self,
        ids: &[Uuid],
        with_findings: bool,
    ) -> Result<Vec<ExportedReport>> {
        const CONTEXT: &str = "reading cells for an export";
        if ids.len() > MAX_EXPORT_BATCH as usize {
            return Err(invalid(format!(
                "at most {MAX_EXPORT_BATCH} reports a batch, not {}",
                ids.len()
            )));
        }
        let rows = sqlx::query(
            "SELECT f.report_id, f.agency, f.agency_key, f.region, f.year, f.template, \
               f.version, c.cell_ids, c.cell_values, c.cell_states, c.cell_texts \
             FROM report_facts f JOIN report_cells c ON c.report_id = f.report_id \
             WHERE f.report_id = ANY($1) ORDER BY f.report_id",
        )
        .bind(ids)
        .fetch_all(self.pool())
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        let mut reports = Vec::with_capacity(rows.len());
        for row in &rows {
            let report_id: Uuid = row_get(row, "report_id")?;
            let ids: Vec<i16> = row_get(row, "cell_ids")?;
            let values: Vec<Option<Decimal>> = row_get(row, "cell_values")?;
            let states: Vec<i8> = row_get(row, "cell_states")?;
            let texts: Vec<String> = row_get(row, "cell_texts")?;
            if values.len() != ids.len() || states.len() != ids.len() || texts.len() != ids.len() {
                return Err(ArchiveError::corrupt(
                    report_id,
                    "cell arrays of different lengths",
                ));
            }
            let mut cells = Vec::with_capacity(ids.len());
            for (((id, value), state), text) in ids.into_iter().zip(values).zip(states).zip(texts) {
                let key = catalogue::cell_key(id).ok_or_else(|| {
                    ArchiveError::corrupt(report_id, format!("unknown cell id {id}"))
                })?;
                cells.push(ExportedCell {
                    key,
                    value,
                    state: state_name(state),
                    text,
                });
            }
            reports.push(ExportedReport {
                report_id,
                agency: row_get(row, "agency")?,
                agency_key: row_get(row, "agency_key")?,
                region: row_get(row, "region")?,
                year: row_get(row, "year")?,
                template: row_get(row, "template")?,
                version: row_get(row, "version")?,
                cells,
                findings: Vec::new(),
            });
        }
        if with_findings && !reports.is_empty() {
            let ids: Vec<Uuid> = reports.iter().map(|r| r.report_id).collect();
            let rows = sqlx::query(
                "SELECT report_id, rule, severity, table_id, row_key, column_key, message \
                 FROM findings WHERE report_id = ANY($1) ORDER BY report_id, ordinal",
            )
            .bind(&ids)
            .fetch_all(self.pool())
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
            let mut index = 0;
            for row in &rows {
                let id: Uuid = row_get(row, "report_id")?;
                while reports.get(index).is_some_and(|r| r.report_id < id) {
                    index += 1;
                }
                if let Some(report) = reports.get_mut(index).filter(|r| r.report_id == id) {
                    report.findings.push(ExportedFinding {
                        rule: row_get(row, "rule")?,
                        severity: row_get(row, "severity")?,
                        table: row_get(row, "table_id")?,
                        row: row_get(row, "row_key")?,
                        column: row_get(row, "column_key")?,
                        message: row_get(row, "message")?,
                    });
                }
            }
        }
        Ok(reports)
    }
}

/// A name or a key (containing `/`) as a key.
fn key_of(name: &str) -> String {
    if name.contains('/') {
        agency::normalise_region(name)
    } else {
        agency::agency_key(name)
    }
}

fn alias_of(row: &PgRow) -> Result<AgencyAlias> {
    Ok(AgencyAlias {
        alias_key: row_get(row, "alias_key")?,
        agency_key: row_get(row, "agency_key")?,
        alias_name: row_get(row, "alias_name")?,
        agency_name: row_get(row, "agency_name")?,
        created_by: row_get(row, "created_by")?,
        created_at: row_get(row, "created_at")?,
        reports_moved: 0,
    })
}
