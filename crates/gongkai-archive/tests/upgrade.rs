//! The archive's storage for questions of the whole archive, against the real PostgreSQL:
//! aggregates count each series' current report only (the `current` flag a trigger keeps as
//! versions supersede each other), and reports archived before the facts existed (migration
//! 0008) are given their agency key and facts when the archive connects.

#![allow(clippy::unwrap_used)]

use gongkai_archive::seed::synthetic_report;
use gongkai_archive::testing::{TestDatabase, archive_report};
use gongkai_archive::{Archive, GroupBy, MetricsQuery, ReportSelection};
use gongkai_model::{CheckedReport, Decimal};
use uuid::Uuid;

async fn archive(archive: &Archive, checked: &CheckedReport) -> Uuid {
    let source = &checked.source;
    archive_report(archive, &source.sha256, &source.name, checked)
        .await
        .unwrap()
}

/// `applications_new` over `selection`, grouped by year: (reports, sum) of the one year.
async fn new_applications(archive: &Archive, selection: ReportSelection) -> (u64, Decimal) {
    let rows = archive
        .query_metrics(&MetricsQuery {
            metrics: vec!["applications_new".into()],
            selection,
            group_by: vec![GroupBy::Year],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    (rows[0].reports, rows[0].values[0].1.value.unwrap())
}

fn applications(checked: &CheckedReport) -> Decimal {
    checked
        .report
        .tables
        .cell(gongkai_model::TableId::T3, "new_received", "total")
        .and_then(|c| c.value)
        .unwrap()
}

#[tokio::test]
async fn aggregates_count_the_current_version_of_each_series() {
    let db = TestDatabase::new("facts_current");
    let store = Archive::connect(db.url()).await.unwrap();
    let first = synthetic_report(0);
    archive(&store, &first).await;
    // A second publication of the same agency and year: version 2, current.
    let mut second = synthetic_report(5 * 7);
    second.report.agency = first.report.agency.clone();
    second.report.year = first.report.year;
    archive(&store, &second).await;
    // Another agency's report of that year.
    let other = synthetic_report(5);
    archive(&store, &other).await;

    let current = new_applications(&store, ReportSelection::default()).await;
    assert_eq!(current, (2, applications(&second) + applications(&other)));
    let every = new_applications(
        &store,
        ReportSelection {
            all_versions: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        every,
        (
            3,
            applications(&first) + applications(&second) + applications(&other)
        )
    );
}

#[tokio::test]
async fn reports_archived_before_the_facts_get_them_on_connect() {
    let db = TestDatabase::new("facts_upgrade");
    let store = Archive::connect(db.url()).await.unwrap();
    let reports: Vec<CheckedReport> = (0..3).map(|i| synthetic_report(i * 5)).collect();
    let mut ids = Vec::new();
    for r in &reports {
        ids.push(archive(&store, r).await);
    }
    let before = new_applications(&store, ReportSelection::default()).await;
    let keys: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT report_id, agency_key FROM reports ORDER BY report_id")
            .fetch_all(store.pool())
            .await
            .unwrap();

    // What migration 0008 left of reports archived before it: no facts, no cell arrays, the
    // printed name as the agency key of the report and its series.
    sqlx::raw_sql(
        "DELETE FROM report_facts; DELETE FROM report_cells; \
         UPDATE reports SET agency_key = agency; UPDATE report_series SET agency_key = agency; \
         DELETE FROM archive_upgrades;",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let rows = store
        .query_metrics(&MetricsQuery {
            metrics: vec!["applications_new".into()],
            group_by: vec![GroupBy::Year],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    store.close().await;

    let store = Archive::connect(db.url()).await.unwrap();
    assert_eq!(
        new_applications(&store, ReportSelection::default()).await,
        before
    );
    let upgraded: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT report_id, agency_key FROM reports ORDER BY report_id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(upgraded, keys);
    let cells: i64 = sqlx::query_scalar("SELECT count(*) FROM report_cells")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(cells, 3);
    let series: Vec<String> =
        sqlx::query_scalar("SELECT agency_key FROM report_series ORDER BY agency_key")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let mut expected: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    expected.sort();
    assert_eq!(series, expected);
    // Done once: recorded, and a later connection finds nothing to do.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM archive_upgrades")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(recorded, 1);
}
