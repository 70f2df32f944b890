//! Upgrades of stored data that migrations cannot do in SQL because they need the Rust
//! definitions (agency keys, the metric dictionary, the cell catalogue), run by
//! [`Archive::connect`](crate::Archive::connect) after the migrations and recorded in
//! `archive_upgrades` once done, so that later connections skip them with one lookup.
//!
//! `facts_of_earlier_reports`: a report archived before migration 0008 has no row in
//! `report_facts` or `report_cells`, and its series is keyed by its printed name (0008 could
//! not compute keys). Each such report is read back from its stored document, its series and
//! versions moved to the canonical agency key (after aliases), and its facts and cell arrays
//! written, so that the questions of the whole archive count it. A series whose key is already
//! taken for that year (another printed name of the same body, archived since) stays under its
//! printed name and is logged: merging two series of one year is an admin's decision (an
//! alias). Any number of services may connect at once: each batch locks its reports with
//! `SKIP LOCKED`, and every write is conditional, so the work is shared, never done twice.

use crate::error::{ArchiveError, Result};
use crate::facts::Facts;
use crate::write::ArchivedParts;
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::LazyLock;
use uuid::Uuid;

/// The upgrade's name in `archive_upgrades`.
const FACTS_OF_EARLIER_REPORTS: &str = "facts_of_earlier_reports";

/// Reports upgraded per transaction.
const BATCH: i64 = 200;

/// The reports the upgrade is for (`r`): archived before migration 0008, so with a series but
/// no facts; `$1` lists those whose stored document could not be read, left out.
const EARLIER_REPORTS: &str = "r.status = 'ARCHIVED' AND r.checked IS NOT NULL \
     AND r.agency_key IS NOT NULL AND r.year IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM report_facts f WHERE f.report_id = r.report_id) \
     AND r.report_id <> ALL($1)";

/// The next batch of [`EARLIER_REPORTS`], locked, skipping those another service holds.
static NEXT_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT r.report_id, r.checked::text FROM reports r WHERE {EARLIER_REPORTS} \
         ORDER BY r.report_id LIMIT $2 FOR UPDATE OF r SKIP LOCKED"
    )
});

/// Whether any of [`EARLIER_REPORTS`] is left, locked or not.
static ANY_LEFT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT EXISTS (SELECT 1 FROM reports r WHERE {EARLIER_REPORTS})"));

/// Runs the upgrades not recorded as done; returns how many reports were upgraded.
pub(crate) async fn run(pool: &PgPool) -> Result<u64> {
    const CONTEXT: &str = "upgrading reports archived before migration 0008";
    let done: Option<String> =
        sqlx::query_scalar("SELECT name FROM archive_upgrades WHERE name = $1")
            .bind(FACTS_OF_EARLIER_REPORTS)
            .fetch_optional(pool)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
    if done.is_some() {
        return Ok(0);
    }
    let mut upgraded = 0u64;
    // Reports whose stored document cannot be read: logged and left out of the upgrade.
    let mut unreadable: Vec<Uuid> = Vec::new();
    loop {
        let mut tx = pool.begin().await.map_err(ArchiveError::db(CONTEXT))?;
        let rows: Vec<(Uuid, String)> = sqlx::query_as(NEXT_BATCH.as_str())
            .bind(&unreadable)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
        if rows.is_empty() {
            // Reports another service holds are its to finish; the upgrade is recorded when
            // none is left at all.
            let left: bool = sqlx::query_scalar(ANY_LEFT.as_str())
                .bind(&unreadable)
                .fetch_one(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
            if !left {
                sqlx::query(
                    "INSERT INTO archive_upgrades (name) VALUES ($1) ON CONFLICT DO NOTHING",
                )
                .bind(FACTS_OF_EARLIER_REPORTS)
                .execute(&mut *tx)
                .await
                .map_err(ArchiveError::db(CONTEXT))?;
            }
            tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
            return Ok(upgraded);
        }
        for (report_id, json) in &rows {
            let parts: ArchivedParts = match serde_json::from_str(json) {
                Ok(parts) => parts,
                Err(error) => {
                    tracing::error!(
                        %report_id,
                        %error,
                        "the stored document cannot be read: the report gets no facts"
                    );
                    unreadable.push(*report_id);
                    continue;
                }
            };
            upgrade_report(&mut tx, *report_id, &parts).await?;
            upgraded += 1;
        }
        tx.commit().await.map_err(ArchiveError::db(CONTEXT))?;
        tracing::info!(
            upgraded,
            "reports archived before migration 0008 given their facts"
        );
    }
}

/// One report: its series moved to the canonical key when that is free, then its facts.
async fn upgrade_report(
    tx: &mut Transaction<'_, Postgres>,
    report_id: Uuid,
    parts: &ArchivedParts<'_>,
) -> Result<()> {
    const CONTEXT: &str = "upgrading a report archived before migration 0008";
    let facts = Facts::of(&parts.report);
    let (stored_key, year, region): (String, i32, Option<String>) =
        sqlx::query_as("SELECT agency_key, year, region FROM reports WHERE report_id = $1")
            .bind(report_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
    let canonical: Option<String> = match &facts.agency_key {
        Some(key) => sqlx::query_scalar(
            "SELECT coalesce((SELECT agency_key FROM agency_aliases WHERE alias_key = $1), $1)",
        )
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?,
        None => None,
    };
    let mut key = stored_key.clone();
    if let Some(canonical) = canonical.filter(|c| *c != stored_key) {
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM report_series WHERE agency_key = $1 AND year = $2)",
        )
        .bind(&canonical)
        .bind(year)
        .fetch_one(&mut **tx)
        .await
        .map_err(ArchiveError::db(CONTEXT))?;
        if taken {
            tracing::warn!(
                %report_id,
                printed = stored_key,
                key = canonical,
                year,
                "a series of this agency key and year exists already: the report stays under \
                 its printed name (declare an alias to merge them)"
            );
        } else {
            // The whole series moves: the series row, every version, the judgements.
            sqlx::query(
                "WITH series AS (UPDATE report_series SET agency_key = $2 \
                                 WHERE agency_key = $1 AND year = $3), \
                 judged AS (UPDATE finding_dispositions SET agency = $2 \
                            WHERE agency = $1 AND year = $3) \
                 UPDATE reports SET agency_key = $2 WHERE agency_key = $1 AND year = $3",
            )
            .bind(&stored_key)
            .bind(&canonical)
            .bind(year)
            .execute(&mut **tx)
            .await
            .map_err(ArchiveError::db(CONTEXT))?;
            key = canonical;
        }
    }
    let region = region
        .filter(|r| !r.is_empty())
        .or(facts.region.clone())
        .unwrap_or_default();
    sqlx::query(
        "WITH facts AS ( \
           INSERT INTO report_facts (report_id, agency, agency_key, region, year, template, \
             version, metrics_version, metric_parts, current) \
           SELECT r.report_id, r.agency, $2, $3, r.year, r.template, coalesce(r.version, 1), \
             $4, $5::numeric[], \
             EXISTS (SELECT 1 FROM report_series s WHERE s.current_report_id = r.report_id) \
           FROM reports r WHERE r.report_id = $1 \
           ON CONFLICT (report_id) DO NOTHING) \
         , region AS (UPDATE reports SET region = nullif($3, '') \
                      WHERE report_id = $1 AND region IS NULL) \
         INSERT INTO report_cells (report_id, cell_ids, cell_values, cell_states, cell_texts) \
         VALUES ($1, $6::smallint[], $7::numeric[], $8::\"char\"[], $9::text[]) \
         ON CONFLICT (report_id) DO NOTHING",
    )
    .bind(report_id)
    .bind(&key)
    .bind(&region)
    .bind(i32::try_from(gongkai_metrics::METRICS_VERSION).unwrap_or(i32::MAX))
    .bind(&facts.metric_parts)
    .bind(&facts.cell_ids)
    .bind(&facts.cell_values)
    .bind(&facts.cell_states)
    .bind(&facts.cell_texts)
    .execute(&mut **tx)
    .await
    .map_err(ArchiveError::db(CONTEXT))?;
    Ok(())
}
