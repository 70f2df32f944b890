//! Questions of the whole archive against the real PostgreSQL: every metric of archive.md §5
//! on the corpus's reports equals the value computed by hand from their golden files (NA where
//! a golden cell is missing), percentiles equal numpy's, and agency aliases join one body's
//! series across the names it printed.

#![allow(clippy::unwrap_used)]

mod golden;

use chrono::Utc;
use golden::{Golden, corpus, goldens};
use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{
    Archive, ArchiveError, GroupBy, MetricsQuery, NewSubmission, ReportSelection, StageRun,
};
use gongkai_model::{CheckedReport, Decimal};
use rust_decimal::RoundingStrategy;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;
use uuid::Uuid;

/// A golden cell's value: `None` when the golden file has it null or lacks it.
fn cell(json: &Value, table: &str, row: &str, column: &str) -> Option<Decimal> {
    const T3: [&str; 7] = [
        "natural_person",
        "commercial",
        "research",
        "social_welfare",
        "legal_service",
        "other_org",
        "total",
    ];
    const T4: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];
    let cells = json.get(table)?.get(row)?;
    let value = match cells {
        Value::Array(numbers) => {
            let columns: &[&str] = if table == "t3" { &T3 } else { &T4 };
            numbers.get(columns.iter().position(|c| *c == column)?)?
        }
        Value::Object(map) => map.get(column)?,
        _ => return None,
    };
    match value {
        Value::Number(n) => Some(Decimal::from_str(&n.to_string()).unwrap()),
        _ => None,
    }
}

/// The metrics of archive.md §5, written out by hand from the spec's table: (numerator,
/// denominator), `None` for NA.
fn by_hand(json: &Value, key: &str) -> Option<(Decimal, Decimal)> {
    let c = |t: &str, r: &str, col: &str| cell(json, t, r, col);
    let one = Decimal::ONE;
    Some(match key {
        "applications_new" => (c("t3", "new_received", "total")?, one),
        "applications_carried_over" => (c("t3", "carried_over", "total")?, one),
        "applications_processed" => (c("t3", "total_processed", "total")?, one),
        "applications_carried_forward" => (c("t3", "carried_forward", "total")?, one),
        "applications_from_organisations" => (
            c("t3", "new_received", "commercial")?
                + c("t3", "new_received", "research")?
                + c("t3", "new_received", "social_welfare")?
                + c("t3", "new_received", "legal_service")?
                + c("t3", "new_received", "other_org")?,
            one,
        ),
        "disclosure_rate" => (
            c("t3", "granted", "total")? + c("t3", "partially_granted", "total")?,
            c("t3", "total_processed", "total")?,
        ),
        "not_held_rate" => (
            c("t3", "unavailable_not_held", "total")?,
            c("t3", "total_processed", "total")?,
        ),
        "review_cases" => (c("t4", "review", "total")?, one),
        "review_corrected_rate" => (
            c("t4", "review", "corrected")?,
            c("t4", "review", "total")? - c("t4", "review", "pending")?,
        ),
        "litigation_cases" => (
            c("t4", "litigation_direct", "total")? + c("t4", "litigation_after_review", "total")?,
            one,
        ),
        "litigation_corrected_rate" => (
            c("t4", "litigation_direct", "corrected")?
                + c("t4", "litigation_after_review", "corrected")?,
            c("t4", "litigation_direct", "total")? - c("t4", "litigation_direct", "pending")?
                + c("t4", "litigation_after_review", "total")?
                - c("t4", "litigation_after_review", "pending")?,
        ),
        "dispute_rate" => (
            c("t4", "review", "total")?
                + c("t4", "litigation_direct", "total")?
                + c("t4", "litigation_after_review", "total")?,
            c("t3", "total_processed", "total")?,
        ),
        "licensing_decisions" => (c("t2", "licensing", "decisions")?, one),
        "punishment_decisions" => (c("t2", "punishment", "decisions")?, one),
        "fees_amount" => (c("t2", "fees", "amount")?, one),
        other => panic!("no hand formula for {other}"),
    })
}

const RATES: [&str; 5] = [
    "disclosure_rate",
    "not_held_rate",
    "review_corrected_rate",
    "litigation_corrected_rate",
    "dispute_rate",
];

fn four_places(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven);
    v.rescale(4);
    v.to_string()
}

/// The value a group's numerator and denominator sums come to, by hand.
fn expected(key: &str, numerator: Decimal, denominator: Decimal, reports: u64) -> Option<String> {
    if reports == 0 {
        return None;
    }
    if RATES.contains(&key) {
        (!denominator.is_zero()).then(|| four_places(numerator / denominator))
    } else {
        Some(numerator.to_string())
    }
}

async fn archive_checked(
    archive: &Archive,
    sha256: &str,
    name: &str,
    checked: &CheckedReport,
) -> Uuid {
    gongkai_archive::testing::archive_report(archive, sha256, name, checked)
        .await
        .unwrap()
}

async fn archive_goldens(archive: &Archive, goldens: &[Golden]) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for g in goldens {
        ids.push(archive_checked(archive, &g.sha256, &g.file, &g.checked).await);
    }
    ids
}

/// numpy.percentile of `values` at each of `ps` (the default method, linear), when numpy is
/// installed.
fn numpy_percentiles(values: &[Decimal], ps: &[u32]) -> Option<Vec<f64>> {
    let list: Vec<String> = values.iter().map(Decimal::to_string).collect();
    let ps: Vec<String> = ps.iter().map(u32::to_string).collect();
    let script = format!(
        "import numpy; print(' '.join(repr(float(x)) for x in numpy.percentile([{}], [{}])))",
        list.join(","),
        ps.join(",")
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout)
        .ok()?
        .split_whitespace()
        .map(|x| x.parse().ok())
        .collect()
}

#[tokio::test]
async fn every_metric_of_the_corpus_equals_the_golden_files_by_hand() {
    let Some(corpus) = corpus() else {
        return;
    };
    let goldens = goldens(&corpus);
    let db = TestDatabase::new("metrics_corpus");
    let archive = Archive::connect(db.url()).await.unwrap();
    archive_goldens(&archive, &goldens).await;
    let keys: Vec<&str> = gongkai_metrics::METRICS.iter().map(|m| m.key).collect();
    assert_eq!(keys.len(), 15);

    // One group per report: agency and year.
    let rows = archive
        .query_metrics(&MetricsQuery {
            group_by: vec![GroupBy::Agency, GroupBy::Year],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), goldens.len());
    let mut checked_values = 0;
    let mut saw_na = false;
    for g in &goldens {
        let key = gongkai_metrics::agency::agency_key(g.json["agency"].as_str().unwrap());
        let year = g.json["year"].as_u64().unwrap().to_string();
        let row = rows
            .iter()
            .find(|r| {
                r.group
                    == vec![
                        (GroupBy::Agency, key.clone()),
                        (GroupBy::Year, year.clone()),
                    ]
            })
            .unwrap_or_else(|| panic!("no row for {key} {year}"));
        assert_eq!(row.reports, 1);
        assert_eq!(row.agency_name.as_deref(), g.json["agency"].as_str());
        assert_eq!(row.values.len(), 15);
        for (metric, value) in &row.values {
            let hand = by_hand(&g.json, metric);
            let (reports, excluded) = if hand.is_some() { (1, 0) } else { (0, 1) };
            assert_eq!(
                (value.reports, value.excluded),
                (reports, excluded),
                "{} {metric}",
                g.file
            );
            let expected = hand.and_then(|(n, d)| expected(metric, n, d, 1));
            saw_na |= expected.is_none();
            assert_eq!(
                value.value.map(|v| v.to_string()),
                expected,
                "{} {metric}",
                g.file
            );
            checked_values += 1;
        }
    }
    assert_eq!(checked_values, 15 * goldens.len());
    assert!(
        saw_na,
        "the corpus has NA metrics (瀍河区's truncated t3, F2019 fees)"
    );

    // All reports together: counts summed, rates the ratio of the sums, percentiles numpy's.
    let percentiles = vec![0, 25, 50, 75, 90, 100];
    let all = archive
        .query_metrics(&MetricsQuery {
            percentiles: percentiles.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].reports, goldens.len() as u64);
    let mut numpy_checked = 0;
    for (metric, value) in &all[0].values {
        let parts: Vec<(Decimal, Decimal)> = goldens
            .iter()
            .filter_map(|g| by_hand(&g.json, metric))
            .collect();
        let numerator: Decimal = parts.iter().map(|p| p.0).sum();
        let denominator: Decimal = parts.iter().map(|p| p.1).sum();
        assert_eq!(value.reports, parts.len() as u64, "{metric}");
        assert_eq!(
            value.excluded,
            (goldens.len() - parts.len()) as u64,
            "{metric}"
        );
        assert_eq!(
            value.value.map(|v| v.to_string()),
            expected(metric, numerator, denominator, parts.len() as u64),
            "{metric}"
        );
        let per_report: Vec<Decimal> = parts
            .iter()
            .filter(|(_, d)| !d.is_zero())
            .map(|(n, d)| n / d)
            .collect();
        if per_report.is_empty() {
            assert!(
                value.percentiles.iter().all(|(_, got)| got.is_none()),
                "{metric}"
            );
            continue;
        }
        let Some(numpy) = numpy_percentiles(&per_report, &percentiles) else {
            continue;
        };
        for ((p, got), numpy) in value.percentiles.iter().zip(numpy) {
            let numpy = Decimal::from_str(&format!("{numpy:.10}")).unwrap();
            assert_eq!(
                got.unwrap().to_string(),
                four_places(numpy),
                "{metric} P{p}"
            );
            numpy_checked += 1;
        }
    }
    if numpy_percentiles(&[Decimal::ONE], &[50]).is_some() {
        // Every metric with a per-report value, six percentiles each.
        assert!(
            numpy_checked >= 6 * 10,
            "{numpy_checked} percentiles checked against numpy"
        );
    } else {
        // CI installs numpy (scripts/test): there, a missing numpy is a failure, not a skip.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "numpy is not installed: `python3 -m pip install numpy` (scripts/test does)"
        );
        println!("numpy is not installed: percentiles checked by gongkai-metrics' unit tests only");
    }
}

#[tokio::test]
async fn an_alias_joins_one_bodys_series_across_its_printed_names() {
    let Some(corpus) = corpus() else {
        return;
    };
    let goldens = goldens(&corpus);
    let db = TestDatabase::new("metrics_alias");
    let archive = Archive::connect(db.url()).await.unwrap();
    let ids = archive_goldens(&archive, &goldens).await;
    let position = |agency: &str, year: u64| {
        goldens
            .iter()
            .position(|g| g.json["agency"] == agency && g.json["year"] == year)
            .unwrap()
    };
    let hongze_2023 = position("洪泽区人民政府", 2023);
    let hongze_2024 = position("淮安市洪泽区人民政府", 2024);

    // Two printed names, two keys: the 2024 report has no previous year, two trends.
    assert!(
        archive
            .previous_year("淮安市洪泽区人民政府", 2024)
            .await
            .unwrap()
            .is_none()
    );
    let trend = |archive: Archive| async move {
        archive
            .query_metrics(&MetricsQuery {
                metrics: vec!["applications_new".into()],
                selection: ReportSelection {
                    agency: Some("洪泽".into()),
                    ..Default::default()
                },
                group_by: vec![GroupBy::Agency],
                ..Default::default()
            })
            .await
            .unwrap()
    };
    assert_eq!(trend(archive.clone()).await.len(), 2);

    let alias = archive
        .set_agency_alias("洪泽区人民政府", "淮安市洪泽区人民政府", "admin-test")
        .await
        .unwrap();
    assert_eq!(alias.alias_key, "洪泽区/人民政府");
    assert_eq!(alias.agency_key, "淮安市/洪泽区/人民政府");
    assert_eq!(alias.created_by, "admin-test");
    assert_eq!(alias.reports_moved, 1);
    let listed = archive.list_agency_aliases().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].alias_name, "洪泽区人民政府");
    assert!(listed[0].created_at <= Utc::now());

    // One series: the cross-year rules find 2023 under the 2024 name, one trend group.
    let previous = archive
        .previous_year("淮安市洪泽区人民政府", 2024)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(previous, goldens[hongze_2023].checked.report);
    let rows = trend(archive.clone()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].group,
        vec![(GroupBy::Agency, "淮安市/洪泽区/人民政府".to_owned())]
    );
    assert_eq!(rows[0].reports, 2);
    assert_eq!(rows[0].agency_name.as_deref(), Some("淮安市洪泽区人民政府"));
    let expected: Decimal = [hongze_2023, hongze_2024]
        .iter()
        .map(|i| by_hand(&goldens[*i].json, "applications_new").unwrap().0)
        .sum();
    assert_eq!(rows[0].values[0].1.value, Some(expected));
    // The printed names stay as printed; both reports are still current.
    for i in [hongze_2023, hongze_2024] {
        let stored = archive.get_report(ids[i]).await.unwrap();
        assert_eq!(
            stored.agency,
            goldens[i].json["agency"].as_str().map(str::to_owned)
        );
        assert!(stored.is_current);
    }
    // A later report printed with the old name joins the series as its next version.
    let mut again = goldens[hongze_2023].checked.clone();
    again.source.sha256 = "a".repeat(64);
    let id = archive_checked(&archive, &"a".repeat(64), "again", &again).await;
    let stored = archive.get_report(id).await.unwrap();
    assert_eq!((stored.version, stored.is_current), (Some(2), true));
    assert!(
        !archive
            .get_report(ids[hongze_2023])
            .await
            .unwrap()
            .is_current
    );

    // Declaring it again changes nothing; an alias that would merge two reports of one year
    // is refused, naming the year.
    let again = archive
        .set_agency_alias("洪泽区人民政府", "淮安市洪泽区人民政府", "admin-test")
        .await
        .unwrap();
    assert_eq!(
        (again.agency_key.as_str(), again.reports_moved),
        ("淮安市/洪泽区/人民政府", 0)
    );
    match archive
        .set_agency_alias("淮安市人民政府", "淮安市洪泽区人民政府", "admin-test")
        .await
    {
        Err(ArchiveError::FailedPrecondition(message)) => {
            assert!(message.contains("2024"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        archive
            .set_agency_alias("", "淮安市人民政府", "admin")
            .await,
        Err(ArchiveError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn regions_filter_and_group_and_only_current_reports_count() {
    let Some(corpus) = corpus() else {
        return;
    };
    let goldens = goldens(&corpus);
    let db = TestDatabase::new("metrics_region");
    let archive = Archive::connect(db.url()).await.unwrap();
    // The submission's region wins over the name's.
    let first = &goldens[0];
    let submitted = archive
        .record_submission(&NewSubmission {
            sha256: first.sha256.clone(),
            idempotency_key: None,
            filename: first.file.clone(),
            media_type: None,
            size_bytes: 1,
            blob_key: format!("sha256/{}", first.sha256),
            source_system: None,
            received_at: Utc::now(),
            batch: None,
        })
        .await
        .unwrap();
    archive
        .set_submitted_region(submitted.report_id, " 上海市 / 黄浦区 ")
        .await
        .unwrap();
    archive
        .archive_checked(submitted.report_id, &first.checked, StageRun::now())
        .await
        .unwrap();
    archive_goldens(&archive, &goldens[1..]).await;

    let by_region = archive
        .query_metrics(&MetricsQuery {
            metrics: vec!["applications_new".into()],
            group_by: vec![GroupBy::Region],
            ..Default::default()
        })
        .await
        .unwrap();
    let regions: BTreeMap<String, u64> = by_region
        .iter()
        .map(|r| (r.group[0].1.clone(), r.reports))
        .collect();
    let mut expected = BTreeMap::new();
    for g in &goldens[1..] {
        let region = gongkai_metrics::agency::region_of(g.json["agency"].as_str().unwrap());
        *expected.entry(region).or_insert(0) += 1;
    }
    *expected.entry("上海市/黄浦区".to_owned()).or_insert(0) += 1;
    assert_eq!(regions, expected);
    assert!(regions.contains_key("淮安市/洪泽区"));

    // A region prefix takes whole parts: 淮安市 and 淮安市/洪泽区 (洪泽区人民政府's own name
    // gives only 洪泽区).
    let huaian = archive
        .query_metrics(&MetricsQuery {
            metrics: vec!["applications_new".into()],
            selection: ReportSelection {
                region: Some("淮安市".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(huaian[0].reports, 2);

    // A second version of one series: current only by default, both with all versions.
    let pingtan = goldens
        .iter()
        .position(|g| g.json["agency"] == "平潭综合实验区")
        .unwrap();
    let mut second = goldens[pingtan].checked.clone();
    second.source.sha256 = "b".repeat(64);
    archive_checked(&archive, &"b".repeat(64), "second", &second).await;
    let count = |all_versions: bool| {
        let archive = archive.clone();
        async move {
            archive
                .query_metrics(&MetricsQuery {
                    metrics: vec!["applications_new".into()],
                    selection: ReportSelection {
                        agency: Some("平潭".into()),
                        year_from: Some(2019),
                        year_to: Some(2019),
                        all_versions,
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .await
                .unwrap()[0]
                .reports
        }
    };
    assert_eq!(count(false).await, 1);
    assert_eq!(count(true).await, 2);

    for bad in [
        MetricsQuery {
            metrics: vec!["no_such_metric".into()],
            ..Default::default()
        },
        MetricsQuery {
            percentiles: vec![101],
            ..Default::default()
        },
        MetricsQuery {
            selection: ReportSelection {
                year_from: Some(2024),
                year_to: Some(2020),
                ..Default::default()
            },
            ..Default::default()
        },
    ] {
        assert!(matches!(
            archive.query_metrics(&bad).await,
            Err(ArchiveError::InvalidArgument(_))
        ));
    }
}
