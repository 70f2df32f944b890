//! The corpus's hand-verified values (`shared/corpus/golden/*.json`) through the archive: every
//! real report's tables archived and read back digit for digit (amounts such as `18759.694`,
//! `73802895.90`, `24252.311082`), the agencies' year series and the previous-year lookups the
//! X-* rules make. Skipped when the corpus is absent.

// Tests may unwrap (the team's standard); the helpers below are test code too.
#![allow(clippy::unwrap_used)]

mod golden;

use chrono::Utc;
use golden::{corpus, goldens};
use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{Archive, ListFilter, NewSubmission, StageRun, Status};

#[tokio::test]
async fn every_golden_report_archives_and_reads_back_exactly() {
    let Some(corpus) = corpus() else {
        return;
    };
    let goldens = goldens(&corpus);
    assert!(goldens.len() >= 10, "{} golden reports", goldens.len());
    let db = TestDatabase::new("archive_corpus");
    let archive = Archive::connect(db.url()).await.unwrap();

    let mut ids = Vec::new();
    for golden in &goldens {
        let submitted = archive
            .record_submission(&NewSubmission {
                sha256: golden.sha256.clone(),
                idempotency_key: None,
                filename: golden.file.clone(),
                media_type: None,
                size_bytes: 1,
                blob_key: format!("sha256/{}", golden.sha256),
                source_system: None,
                received_at: Utc::now(),
                batch: None,
            })
            .await
            .unwrap();
        let archived = archive
            .archive_checked(submitted.report_id, &golden.checked, StageRun::now())
            .await
            .unwrap();
        assert_eq!(archived.version, Some(1), "{}", golden.file);
        ids.push(submitted.report_id);
    }

    for (golden, id) in goldens.iter().zip(&ids) {
        let stored = archive.get_report(*id).await.unwrap();
        assert_eq!(stored.status, Status::Archived);
        assert_eq!(
            stored.checked.as_ref(),
            Some(&golden.checked),
            "{}",
            golden.file
        );
        assert_eq!(stored.cells.len(), golden.values.len(), "{}", golden.file);
        // Cell by cell, in printed order, each number with exactly its printed digits.
        for (cell, (table, row, column, printed)) in stored.cells.iter().zip(&golden.values) {
            assert_eq!(
                (cell.table, &cell.row, &cell.column),
                (*table, row, column),
                "{}",
                golden.file
            );
            assert_eq!(
                cell.value.map(|v| v.to_string()),
                *printed,
                "{} {row}.{column}",
                golden.file
            );
        }
    }

    // The 平潭 series: each year's previous year is the archived report of the year before.
    for year in 2020..=2023u16 {
        let previous = archive
            .previous_year("平潭综合实验区", year)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(previous.year, Some(year - 1));
        let golden = goldens
            .iter()
            .find(|g| {
                g.checked.report.agency.as_deref() == Some("平潭综合实验区")
                    && g.checked.report.year == Some(year - 1)
            })
            .unwrap();
        assert_eq!(previous, golden.checked.report);
    }
    assert!(
        archive
            .previous_year("平潭综合实验区", 2019)
            .await
            .unwrap()
            .is_none()
    );

    let pingtan = archive
        .list_reports(
            &ListFilter {
                agency_contains: Some("平潭".into()),
                ..Default::default()
            },
            0,
            None,
        )
        .await
        .unwrap();
    assert_eq!(pingtan.reports.len(), 5);
    let mut years: Vec<_> = pingtan.reports.iter().filter_map(|r| r.year).collect();
    years.sort_unstable();
    assert_eq!(years, vec![2019, 2020, 2021, 2022, 2023]);
}
