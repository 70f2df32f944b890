//! Integration tests of the archive against the real PostgreSQL at 127.0.0.1:5432 (trust auth,
//! user postgres). Every test works in its own freshly named database, which
//! [`TestDatabase`] drops at the end.

// Tests may unwrap (the team's standard); the helpers below are test code too.
#![allow(clippy::unwrap_used)]

use chrono::{Duration as TimeDelta, Utc};
use futures::StreamExt;
use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{
    Archive, ArchiveError, EventRecord, ListFilter, NewSubmission, Outcome, Stage, StageRun, Status,
};
use gongkai_model::report::empty_table;
use gongkai_model::{
    Cell, CellRef, CellState, CheckedReport, Decimal, Finding, Observed, Position, Report,
    Severity, Source, Summary, TableId, Template,
};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn sha_of(seed: &str) -> String {
    use std::fmt::Write;
    // Not a real digest: any 64 hex digits will do, and a seed makes them distinct.
    let mut out = String::new();
    for byte in seed.bytes().cycle().take(32) {
        write!(out, "{byte:02x}").unwrap();
    }
    let tail = format!("{:x}", seed.len());
    out.replace_range(64 - tail.len().., &tail);
    out
}

fn submission(seed: &str, key: Option<&str>) -> NewSubmission {
    NewSubmission {
        sha256: sha_of(seed),
        idempotency_key: key.map(str::to_owned),
        filename: format!("{seed}.txt"),
        media_type: Some("text/plain".to_owned()),
        size_bytes: 1234,
        blob_key: format!("sha256/{}", sha_of(seed)),
        source_system: Some("tests".to_owned()),
        received_at: Utc::now() - TimeDelta::milliseconds(5),
        batch: None,
    }
}

/// A small but complete F2021 checked report: exact amounts, every cell state, findings with
/// numbers and words.
fn checked(
    sha256: &str,
    agency: Option<&str>,
    year: Option<u16>,
    carried_forward: &str,
) -> CheckedReport {
    let mut report = Report::empty();
    report.title = Some(format!(
        "{}{}年政府信息公开工作年度报告",
        agency.unwrap_or(""),
        year.map(|y| y.to_string()).unwrap_or_default()
    ));
    report.agency = agency.map(str::to_owned);
    report.year = year;
    report.template = Template::F2021;
    let line = |line| Some(Position::Line { line, column: 3 });

    let mut t2 = empty_table(Template::F2021, TableId::T2);
    t2["regulations"]["issued"] = Cell::number(dec("2"), "2", line(10));
    t2["regulations"]["in_force"] = Cell::number(dec("18759.694"), "18,759.694", line(10));
    t2["licensing"]["decisions"] = Cell::blank("", line(12));
    t2["punishment"]["decisions"] = Cell::placeholder("/", line(13));
    t2["fees"]["amount"] =
        Cell::number(dec("73802895.90"), "73802895.90", line(15)).with_unit("万元");
    let mut t3 = empty_table(Template::F2021, TableId::T3);
    t3["new_received"]["natural_person"] = Cell::number(dec("5"), "5", line(20));
    t3["new_received"]["total"] = Cell::number(dec("5"), "5", line(20));
    t3["carried_forward"]["total"] = Cell::number(dec(carried_forward), carried_forward, line(44));
    let mut t4 = empty_table(Template::F2021, TableId::T4);
    t4["review"]["upheld"] = Cell::ambiguous(
        "12",
        vec![dec("1"), dec("12")],
        Some(Position::Grid {
            table: 2,
            row: 3,
            column: 0,
        }),
    );
    report.tables.t2 = Some(t2);
    report.tables.t3 = Some(t3);
    report.tables.t4 = Some(t4);

    let findings = vec![
        Finding::new("T3-BALANCE", Severity::Error, "收支不平衡")
            .at(TableId::T3, Some("new_received"), Some("total"))
            .expected_actual(
                Some(Observed::Number(dec("7.50"))),
                Some(Observed::Number(dec("5"))),
            )
            .en("the balance does not hold")
            .with_cells(vec![CellRef {
                table: TableId::T3,
                row: Some("carried_forward".to_owned()),
                column: Some("total".to_owned()),
            }]),
        Finding::new("S-TEMPLATE", Severity::Warning, "格式版本与年份不符")
            .expected_actual(Some(Observed::from("F2021")), Some(Observed::from("mixed"))),
        Finding::new("P-TEXT-DAMAGE", Severity::Info, "正文有乱码"),
    ];
    CheckedReport {
        source: Source {
            name: "report.txt".to_owned(),
            sha256: sha256.to_owned(),
            media_type: "text/markdown".to_owned(),
            encoding: Some("utf-8".to_owned()),
            bytes: 1234,
        },
        report,
        summary: Summary::of(&findings),
        findings,
        rules_version: "rules-test-1".to_owned(),
    }
}

/// A checked report without error findings.
fn clean(checked: CheckedReport) -> CheckedReport {
    let findings: Vec<Finding> = checked
        .findings
        .into_iter()
        .filter(|f| f.severity != Severity::Error)
        .collect();
    CheckedReport {
        summary: Summary::of(&findings),
        findings,
        ..checked
    }
}

async fn fresh(prefix: &str) -> (TestDatabase, Archive) {
    let db = TestDatabase::new(prefix);
    let archive = Archive::connect(db.url()).await.unwrap();
    (db, archive)
}

fn event(stage: Stage, status: Option<Status>, outcome: Outcome, attempt: u32) -> EventRecord {
    let started_at = Utc::now();
    EventRecord {
        stage,
        attempt,
        status,
        outcome,
        detail: None,
        started_at,
        finished_at: started_at + TimeDelta::milliseconds(3),
    }
}

async fn count(archive: &Archive, sql: &'static str, report_id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(report_id)
        .fetch_one(archive.pool())
        .await
        .unwrap()
}

/// Submits and archives a report; returns its id.
async fn archive_one(archive: &Archive, seed: &str, checked: &CheckedReport) -> Uuid {
    let submitted = archive
        .record_submission(&submission(seed, None))
        .await
        .unwrap();
    assert!(!submitted.duplicate);
    archive
        .archive_checked(submitted.report_id, checked, StageRun::now())
        .await
        .unwrap();
    submitted.report_id
}

#[tokio::test]
async fn connect_creates_the_database_and_migrations_apply_once() {
    let db = TestDatabase::new("archive_connect");
    assert!(!db.exists().await.unwrap());
    // Two services starting at once against a missing database.
    let (a, b) = tokio::join!(Archive::connect(db.url()), Archive::connect(db.url()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(db.exists().await.unwrap());
    let migrations = |archive: Archive| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(archive.pool())
            .await
            .unwrap()
    };
    let before = migrations(a.clone()).await;
    let embedded = i64::try_from(sqlx::migrate!("./migrations").iter().count()).unwrap();
    assert!(embedded >= 2, "the embedded migrations are found");
    assert_eq!(before, embedded);
    drop(b);
    let again = Archive::connect(db.url()).await.unwrap();
    assert_eq!(migrations(again.clone()).await, before);
    again.ping().await.unwrap();
    // The schema is usable after the second application.
    let submitted = again
        .record_submission(&submission("connect", None))
        .await
        .unwrap();
    assert_eq!(
        a.status(submitted.report_id).await.unwrap(),
        Status::Received
    );
    // After a graceful close the archive says it is unavailable.
    again.close().await;
    let error = again.status(submitted.report_id).await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_and_a_bad_url_invalid() {
    let error = Archive::connect("postgres://postgres@127.0.0.1:1/gongkai")
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    for url in ["mysql://nothing", "postgres://postgres@127.0.0.1:port/x"] {
        let error = Archive::connect(url).await.unwrap_err();
        assert!(
            matches!(error, ArchiveError::InvalidArgument(_)),
            "{url}: {error:?}"
        );
        assert!(!error.is_unavailable());
    }
}

#[tokio::test]
async fn the_same_bytes_or_the_same_key_are_the_same_report() {
    let (_db, archive) = fresh("archive_submit").await;
    let first = archive
        .record_submission(&submission("a", Some("key-1")))
        .await
        .unwrap();
    assert!(!first.duplicate);

    let same_bytes = archive
        .record_submission(&submission("a", None))
        .await
        .unwrap();
    assert_eq!(same_bytes.report_id, first.report_id);
    assert!(same_bytes.duplicate);

    let same_key = archive
        .record_submission(&submission("other bytes", Some("key-1")))
        .await
        .unwrap();
    assert_eq!(same_key.report_id, first.report_id);
    assert!(same_key.duplicate);

    let new = archive
        .record_submission(&submission("b", Some("key-2")))
        .await
        .unwrap();
    assert!(!new.duplicate);
    assert_ne!(new.report_id, first.report_id);

    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM reports")
        .fetch_one(archive.pool())
        .await
        .unwrap();
    assert_eq!(total, 2);
    // One receive event each, none for the duplicates.
    let events = archive.events(first.report_id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].stage, Stage::Receive);
    assert_eq!(events[0].status, Status::Received);

    let mut bad = submission("c", None);
    bad.sha256 = "not hex".to_owned();
    assert!(matches!(
        archive.record_submission(&bad).await,
        Err(ArchiveError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn concurrent_duplicate_submissions_make_one_report() {
    let (_db, archive) = fresh("archive_race").await;
    // Same bytes from 16 tasks, and the same key with different bytes from 16 more.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let by_bytes = archive.clone();
        tasks.push(tokio::spawn(async move {
            by_bytes.record_submission(&submission("race", None)).await
        }));
        let by_key = archive.clone();
        tasks.push(tokio::spawn(async move {
            by_key
                .record_submission(&submission(&format!("keyed {i}"), Some("race-key")))
                .await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    let by_bytes: Vec<_> = results.iter().step_by(2).collect();
    let by_key: Vec<_> = results.iter().skip(1).step_by(2).collect();
    for group in [by_bytes, by_key] {
        assert_eq!(group.iter().filter(|s| !s.duplicate).count(), 1);
        assert!(group.iter().all(|s| s.report_id == group[0].report_id));
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM reports")
        .fetch_one(archive.pool())
        .await
        .unwrap();
    assert_eq!(total, 2);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(archive.pool())
        .await
        .unwrap();
    assert_eq!(events, 2);
}

#[tokio::test]
async fn archiving_twice_writes_once_and_returns_the_report_exactly() {
    let (_db, archive) = fresh("archive_redeliver").await;
    let submitted = archive
        .record_submission(&submission("r", None))
        .await
        .unwrap();
    let id = submitted.report_id;
    let original = checked(&sha_of("r"), Some("洛阳市瀍河区人民政府"), Some(2021), "2");
    let run = StageRun::now();
    let first = archive.archive_checked(id, &original, run).await.unwrap();
    assert_eq!(first.version, Some(1));
    assert!(!first.already_archived);
    // The redelivered message, and a retry with the next attempt.
    let second = archive.archive_checked(id, &original, run).await.unwrap();
    assert!(second.already_archived);
    assert_eq!(second.version, Some(1));
    let retry = StageRun {
        attempt: 2,
        ..StageRun::now()
    };
    assert!(
        archive
            .archive_checked(id, &original, retry)
            .await
            .unwrap()
            .already_archived
    );

    let cells_expected = [TableId::T2, TableId::T3, TableId::T4]
        .iter()
        .map(|t| {
            original
                .report
                .tables
                .get(*t)
                .unwrap()
                .values()
                .map(|r| r.len())
                .sum::<usize>()
        })
        .sum::<usize>() as i64;
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM cells WHERE report_id = $1",
            id
        )
        .await,
        cells_expected
    );
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM findings WHERE report_id = $1",
            id
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM events WHERE report_id = $1 AND stage = 'archive'",
            id
        )
        .await,
        1
    );
    let series: i32 = sqlx::query_scalar("SELECT latest_version FROM report_series")
        .fetch_one(archive.pool())
        .await
        .unwrap();
    assert_eq!(series, 1);

    let stored = archive.get_report(id).await.unwrap();
    assert_eq!(stored.status, Status::Archived);
    let back = stored.checked.clone().unwrap();
    assert_eq!(back, original);
    // Exactly: the same JSON text, rows in printed order, decimals with their scale.
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(&original).unwrap()
    );
    assert_eq!(stored.findings().len(), 3);
    assert_eq!(stored.rules_version.as_deref(), Some("rules-test-1"));
    assert_eq!(stored.agency.as_deref(), Some("洛阳市瀍河区人民政府"));
    assert_eq!(stored.year, Some(2021));
    assert_eq!(stored.template, Some(Template::F2021));
    assert_eq!(stored.media_type.as_deref(), Some("text/markdown"));
    assert_eq!(stored.version, Some(1));
    assert!(stored.is_current);
    assert!(stored.finished_at.is_some());
    assert_eq!(stored.cells.len() as i64, cells_expected);
    // Cells come back in printed order with every state.
    assert_eq!(stored.cells[0].table, TableId::T2);
    assert_eq!(stored.cells[0].row, "regulations");
    assert_eq!(stored.cells[0].column, "issued");
    let find = |t: TableId, r: &str, c: &str| {
        stored
            .cells
            .iter()
            .find(|x| x.table == t && x.row == r && x.column == c)
            .unwrap()
            .clone()
    };
    let blank = find(TableId::T2, "licensing", "decisions");
    assert_eq!(
        (blank.state, blank.value),
        (CellState::Blank, Some(Decimal::ZERO))
    );
    let placeholder = find(TableId::T2, "punishment", "decisions");
    assert_eq!(
        (
            placeholder.state,
            placeholder.value,
            placeholder.text.as_str()
        ),
        (CellState::Placeholder, None, "/")
    );
    let missing = find(TableId::T3, "granted", "total");
    assert_eq!(missing.state, CellState::Missing);
    let ambiguous = find(TableId::T4, "review", "upheld");
    assert_eq!(ambiguous.state, CellState::Ambiguous);
    assert_eq!(ambiguous.candidates, vec![dec("1"), dec("12")]);
    assert_eq!(
        ambiguous.position,
        Some(Position::Grid {
            table: 2,
            row: 3,
            column: 0
        })
    );
    assert_eq!(stored.events.last().unwrap().status, Status::Archived);
}

#[tokio::test]
async fn decimals_round_trip_exactly() {
    let (_db, archive) = fresh("archive_decimal").await;
    let original = checked(&sha_of("d"), Some("某市人民政府"), Some(2022), "0");
    let id = archive_one(&archive, "d", &original).await;
    let stored = archive.get_report(id).await.unwrap();
    let value = |row: &str, column: &str| {
        stored
            .cells
            .iter()
            .find(|c| c.row == row && c.column == column)
            .and_then(|c| c.value)
            .unwrap()
    };
    assert_eq!(value("fees", "amount").to_string(), "73802895.90");
    assert_eq!(value("regulations", "in_force").to_string(), "18759.694");
    let fees = stored.cells.iter().find(|c| c.row == "fees").unwrap();
    assert_eq!(fees.unit.as_deref(), Some("万元"));
    assert_eq!(fees.text, "73802895.90");
    // In the database itself, as NUMERIC with its scale.
    let texts: Vec<String> = sqlx::query_scalar(
        "SELECT value::text FROM cells WHERE report_id = $1 AND row_key IN ('fees', 'regulations') \
         AND value IS NOT NULL ORDER BY ordinal",
    )
    .bind(id)
    .fetch_all(archive.pool())
    .await
    .unwrap();
    assert_eq!(texts, ["2", "18759.694", "73802895.90"]);
    let expected: String = sqlx::query_scalar(
        "SELECT expected::text FROM findings WHERE report_id = $1 AND rule = 'T3-BALANCE'",
    )
    .bind(id)
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(expected, "7.50");
    let json_amount: String = sqlx::query_scalar(
        "SELECT checked -> 'report' -> 'tables' -> 't2' -> 'fees' -> 'amount' ->> 'value' \
         FROM reports WHERE report_id = $1",
    )
    .bind(id)
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(json_amount, "73802895.90");
    let back = stored.report().unwrap();
    let amount = back.tables.cell(TableId::T2, "fees", "amount").unwrap();
    assert_eq!(amount.value.unwrap().to_string(), "73802895.90");
    assert_eq!(
        stored.findings()[0].expected,
        Some(Observed::Number(dec("7.50")))
    );
}

#[tokio::test]
async fn a_corrected_republication_becomes_the_current_version() {
    let (_db, archive) = fresh("archive_versions").await;
    let agency = "某县人民政府";
    let v1 = archive_one(
        &archive,
        "v1",
        &checked(&sha_of("v1"), Some(agency), Some(2021), "3"),
    )
    .await;
    let v2 = archive_one(
        &archive,
        "v2",
        &checked(&sha_of("v2"), Some(agency), Some(2021), "4"),
    )
    .await;
    let other_year = archive_one(
        &archive,
        "v3",
        &checked(&sha_of("v3"), Some(agency), Some(2022), "1"),
    )
    .await;
    let nameless = archive_one(
        &archive,
        "v4",
        &checked(&sha_of("v4"), None, Some(2021), "1"),
    )
    .await;

    let first = archive.get_report(v1).await.unwrap();
    let second = archive.get_report(v2).await.unwrap();
    assert_eq!((first.version, first.is_current), (Some(1), false));
    assert_eq!((second.version, second.is_current), (Some(2), true));
    // The old version stays whole.
    assert_eq!(
        first
            .report()
            .unwrap()
            .tables
            .cell(TableId::T3, "carried_forward", "total")
            .unwrap()
            .text,
        "3"
    );
    let third = archive.get_report(other_year).await.unwrap();
    assert_eq!((third.version, third.is_current), (Some(1), true));
    let fourth = archive.get_report(nameless).await.unwrap();
    assert_eq!((fourth.version, fourth.is_current), (None, false));
    let current: Uuid = sqlx::query_scalar(
        "SELECT current_report_id FROM report_series WHERE agency = $1 AND year = 2021",
    )
    .bind(agency)
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(current, v2);
}

#[tokio::test]
async fn previous_year_is_the_current_version_of_the_year_before() {
    let (_db, archive) = fresh("archive_previous").await;
    let agency = "某区人民政府";
    assert!(archive.previous_year(agency, 2022).await.unwrap().is_none());
    archive_one(
        &archive,
        "p1",
        &checked(&sha_of("p1"), Some(agency), Some(2021), "3"),
    )
    .await;
    archive_one(
        &archive,
        "p2",
        &checked(&sha_of("p2"), Some(agency), Some(2021), "9"),
    )
    .await;
    archive_one(
        &archive,
        "p3",
        &checked(&sha_of("p3"), Some("别的机关"), Some(2021), "5"),
    )
    .await;

    let previous = archive.previous_year(agency, 2022).await.unwrap().unwrap();
    assert_eq!(previous.agency.as_deref(), Some(agency));
    assert_eq!(previous.year, Some(2021));
    let carried = previous
        .tables
        .cell(TableId::T3, "carried_forward", "total")
        .unwrap();
    assert_eq!(carried.value, Some(dec("9")));
    assert!(archive.previous_year(agency, 2021).await.unwrap().is_none());
    assert!(archive.previous_year(agency, 2023).await.unwrap().is_none());
    assert!(archive.previous_year("某区", 2022).await.unwrap().is_none());
    assert!(archive.previous_year(agency, 0).await.unwrap().is_none());
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let (_db, archive) = fresh("archive_list").await;
    let a = archive_one(
        &archive,
        "l1",
        &checked(&sha_of("l1"), Some("洛阳市瀍河区人民政府"), Some(2021), "1"),
    )
    .await;
    let b = archive_one(
        &archive,
        "l2",
        &clean(checked(
            &sha_of("l2"),
            Some("洛阳市西工区人民政府"),
            Some(2022),
            "1",
        )),
    )
    .await;
    let mut f2019 = clean(checked(
        &sha_of("l3"),
        Some("郑州市人民政府"),
        Some(2020),
        "1",
    ));
    f2019.report.template = Template::F2019;
    let c = archive_one(&archive, "l3", &f2019).await;
    let received = archive
        .record_submission(&submission("l4", None))
        .await
        .unwrap()
        .report_id;
    let failed = archive
        .record_submission(&submission("l5", None))
        .await
        .unwrap()
        .report_id;
    archive
        .archive_failed(
            failed,
            Stage::Parse,
            "无法识别的文件格式（OFD）",
            StageRun::now(),
        )
        .await
        .unwrap();

    let ids = |page: &gongkai_archive::ReportPage| {
        page.reports.iter().map(|r| r.report_id).collect::<Vec<_>>()
    };
    let all = archive
        .list_reports(&ListFilter::default(), 0, None)
        .await
        .unwrap();
    // Newest first.
    assert_eq!(ids(&all), vec![failed, received, c, b, a]);
    assert!(all.next_page_token.is_none());

    let filter = |f: ListFilter| {
        let archive = archive.clone();
        async move { ids(&archive.list_reports(&f, 10, None).await.unwrap()) }
    };
    assert_eq!(
        filter(ListFilter {
            agency_contains: Some("洛阳".into()),
            ..Default::default()
        })
        .await,
        vec![b, a]
    );
    assert_eq!(
        filter(ListFilter {
            year: Some(2020),
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        filter(ListFilter {
            template: Some(Template::F2019),
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        filter(ListFilter {
            status: Some(Status::Failed),
            ..Default::default()
        })
        .await,
        vec![failed]
    );
    assert_eq!(
        filter(ListFilter {
            status: Some(Status::Received),
            ..Default::default()
        })
        .await,
        vec![received]
    );
    assert_eq!(
        filter(ListFilter {
            has_errors: Some(true),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        filter(ListFilter {
            has_errors: Some(false),
            ..Default::default()
        })
        .await,
        vec![c, b]
    );
    assert_eq!(
        filter(ListFilter {
            agency_contains: Some("洛阳".into()),
            has_errors: Some(false),
            ..Default::default()
        })
        .await,
        vec![b]
    );
    assert_eq!(
        filter(ListFilter {
            agency_contains: Some("%".into()),
            ..Default::default()
        })
        .await,
        Vec::<Uuid>::new()
    );

    let summary = &all.reports[4];
    assert_eq!(summary.errors, 1);
    assert_eq!(summary.warnings, 1);
    assert_eq!(summary.infos, 1);
    assert_eq!(summary.version, Some(1));
    assert!(summary.is_current);
    assert_eq!(summary.template, Some(Template::F2021));

    // Pages of two, then one, in the same order as the whole list.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = archive
            .list_reports(&ListFilter::default(), 2, token.as_deref())
            .await
            .unwrap();
        assert!(page.reports.len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids(&all));
    // A report submitted while paging does not shift the later pages.
    let first = archive
        .list_reports(&ListFilter::default(), 2, None)
        .await
        .unwrap();
    archive
        .record_submission(&submission("l6", None))
        .await
        .unwrap();
    let second = archive
        .list_reports(&ListFilter::default(), 2, first.next_page_token.as_deref())
        .await
        .unwrap();
    assert_eq!(ids(&second), vec![c, b]);

    assert!(matches!(
        archive
            .list_reports(&ListFilter::default(), 2, Some("garbage"))
            .await,
        Err(ArchiveError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn events_are_idempotent_and_the_status_only_moves_forward() {
    let (_db, archive) = fresh("archive_events").await;
    let id = archive
        .record_submission(&submission("e", None))
        .await
        .unwrap()
        .report_id;
    let parsed = event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1);
    archive.record_event(id, &parsed).await.unwrap();
    archive.record_event(id, &parsed).await.unwrap();
    assert_eq!(archive.status(id).await.unwrap(), Status::Parsed);
    let validated = event(
        Stage::Validate,
        Some(Status::Validated),
        Outcome::Succeeded,
        1,
    );
    archive.record_event(id, &validated).await.unwrap();
    // A late parse event of a later attempt does not move the status back.
    let late = event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 2);
    archive.record_event(id, &late).await.unwrap();
    assert_eq!(archive.status(id).await.unwrap(), Status::Validated);
    // A retry keeps the status.
    let mut retry = event(Stage::Archive, None, Outcome::Retrying, 1);
    retry.detail = Some("database busy".to_owned());
    archive.record_event(id, &retry).await.unwrap();
    assert_eq!(archive.status(id).await.unwrap(), Status::Validated);

    let events = archive.events(id).await.unwrap();
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.stage, e.attempt, e.status, e.outcome))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Stage::Receive, 1, Status::Received, Outcome::Succeeded),
            (Stage::Parse, 1, Status::Parsed, Outcome::Succeeded),
            (Stage::Validate, 1, Status::Validated, Outcome::Succeeded),
            (Stage::Parse, 2, Status::Validated, Outcome::Succeeded),
            (Stage::Archive, 1, Status::Validated, Outcome::Retrying),
        ]
    );
    assert_eq!(events[4].detail.as_deref(), Some("database busy"));
    assert_eq!(
        events[1].finished_at - events[1].started_at,
        TimeDelta::milliseconds(3)
    );

    let archived = event(
        Stage::Archive,
        Some(Status::Archived),
        Outcome::Succeeded,
        1,
    );
    assert!(matches!(
        archive.record_event(id, &archived).await,
        Err(ArchiveError::InvalidArgument(_))
    ));
    let unknown = Uuid::now_v7();
    assert!(matches!(
        archive.record_event(unknown, &parsed).await,
        Err(ArchiveError::NotFound { report_id }) if report_id == unknown
    ));
    assert!(matches!(
        archive.status(unknown).await,
        Err(ArchiveError::NotFound { .. })
    ));
    assert!(matches!(
        archive.get_report(unknown).await,
        Err(ArchiveError::NotFound { .. })
    ));
    assert!(matches!(
        archive.events(unknown).await,
        Err(ArchiveError::NotFound { .. })
    ));
    assert!(matches!(
        archive.document_ref(unknown).await,
        Err(ArchiveError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_report_that_cannot_be_read_is_failed_with_its_reason() {
    let (_db, archive) = fresh("archive_failed").await;
    let new = submission("f", None);
    let id = archive.record_submission(&new).await.unwrap().report_id;
    let run = StageRun::now();
    archive
        .archive_failed(id, Stage::Parse, "不支持的格式：OFD", run)
        .await
        .unwrap();
    archive
        .archive_failed(id, Stage::Parse, "不支持的格式：OFD", run)
        .await
        .unwrap();
    let stored = archive.get_report(id).await.unwrap();
    assert_eq!(stored.status, Status::Failed);
    assert_eq!(stored.failure_stage, Some(Stage::Parse));
    assert_eq!(stored.failure_reason.as_deref(), Some("不支持的格式：OFD"));
    assert!(stored.checked.is_none());
    assert!(stored.cells.is_empty());
    assert_eq!(stored.events.len(), 2);
    assert_eq!(stored.filename, "f.txt");
    assert_eq!(stored.sha256, new.sha256);
    assert_eq!(stored.source_system.as_deref(), Some("tests"));
    assert_eq!(stored.size_bytes, 1234);
    let document = archive.document_ref(id).await.unwrap();
    assert_eq!(document.blob_key, new.blob_key);
    assert_eq!(document.media_type.as_deref(), Some("text/plain"));

    // A redriven message that now succeeds resumes the report, and archiving finishes it.
    let parsed = event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 2);
    archive.record_event(id, &parsed).await.unwrap();
    let resumed = archive.get_report(id).await.unwrap();
    assert_eq!(resumed.status, Status::Parsed);
    assert_eq!(resumed.failure_reason, None);
    archive
        .archive_checked(
            id,
            &checked(&new.sha256, Some("甲"), Some(2021), "0"),
            StageRun::now(),
        )
        .await
        .unwrap();
    // An archived report stays archived.
    archive
        .archive_failed(
            id,
            Stage::Archive,
            "late failure",
            StageRun {
                attempt: 9,
                ..StageRun::now()
            },
        )
        .await
        .unwrap();
    assert_eq!(archive.status(id).await.unwrap(), Status::Archived);
}

async fn collect_watch(archive: &Archive, id: Uuid) -> Vec<(Stage, Status)> {
    let stream = archive.watch(id);
    tokio::time::timeout(Duration::from_secs(20), stream.collect::<Vec<_>>())
        .await
        .expect("the watch ends after the final status")
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            (e.stage, e.status)
        })
        .collect()
}

#[tokio::test]
async fn watch_streams_every_event_in_order_and_ends_when_archived() {
    let (_db, archive) = fresh("archive_watch").await;
    let id = archive
        .record_submission(&submission("w", None))
        .await
        .unwrap()
        .report_id;
    let other = archive
        .record_submission(&submission("w2", None))
        .await
        .unwrap()
        .report_id;

    let watcher = {
        let archive = archive.clone();
        tokio::spawn(async move {
            let mut stream = Box::pin(archive.watch(id));
            let mut seen = Vec::new();
            while let Some(event) = tokio::time::timeout(Duration::from_secs(20), stream.next())
                .await
                .unwrap()
            {
                let event = event.unwrap();
                seen.push((event.stage, event.status, std::time::Instant::now()));
            }
            seen
        })
    };
    // Let the watcher replay the history and start waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    archive
        .record_event(
            id,
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    archive
        .record_event(
            other,
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    // A redelivery: not a second event.
    archive
        .record_event(
            id,
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    archive
        .record_event(
            id,
            &event(
                Stage::Validate,
                Some(Status::Validated),
                Outcome::Succeeded,
                1,
            ),
        )
        .await
        .unwrap();
    archive
        .archive_checked(
            id,
            &checked(&sha_of("w"), Some("乙"), Some(2021), "0"),
            StageRun::now(),
        )
        .await
        .unwrap();
    let archive_done = std::time::Instant::now();
    // Whatever happens after the final status is not streamed.
    archive
        .archive_failed(
            id,
            Stage::Archive,
            "late",
            StageRun {
                attempt: 5,
                ..StageRun::now()
            },
        )
        .await
        .unwrap();

    let seen = watcher.await.unwrap();
    let stages: Vec<_> = seen
        .iter()
        .map(|(stage, status, _)| (*stage, *status))
        .collect();
    assert_eq!(
        stages,
        vec![
            (Stage::Receive, Status::Received),
            (Stage::Parse, Status::Parsed),
            (Stage::Validate, Status::Validated),
            (Stage::Archive, Status::Archived),
        ]
    );
    // Delivered by notification, not by the 3-second poll (which would come about 2.7 s
    // after these writes).
    let latency = seen.last().unwrap().2.duration_since(archive_done);
    assert!(latency < Duration::from_millis(1500), "{latency:?}");

    // Watching a finished report replays its history and ends.
    assert_eq!(collect_watch(&archive, id).await, stages);
}

#[tokio::test]
async fn watch_ends_on_failure_and_reports_unknown_ids() {
    let (_db, archive) = fresh("archive_watch_fail").await;
    let id = archive
        .record_submission(&submission("wf", None))
        .await
        .unwrap()
        .report_id;
    let watcher = {
        let archive = archive.clone();
        tokio::spawn(async move { collect_watch(&archive, id).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    archive
        .record_event(id, &event(Stage::Parse, None, Outcome::Retrying, 1))
        .await
        .unwrap();
    archive
        .archive_failed(
            id,
            Stage::Parse,
            "文件已损坏",
            StageRun {
                attempt: 2,
                ..StageRun::now()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        watcher.await.unwrap(),
        vec![
            (Stage::Receive, Status::Received),
            (Stage::Parse, Status::Received),
            (Stage::Parse, Status::Failed),
        ]
    );

    let unknown = Uuid::now_v7();
    let items: Vec<_> = archive.watch(unknown).collect().await;
    assert_eq!(items.len(), 1);
    assert!(
        matches!(&items[0], Err(ArchiveError::NotFound { report_id }) if *report_id == unknown)
    );
}

/// Events travel in their notification, but one too large for a notification (a long failure
/// reason) is announced by report id only: the watcher reads it back whole.
#[tokio::test]
async fn watch_delivers_events_too_large_for_a_notification() {
    let (_db, archive) = fresh("archive_watch_large").await;
    let id = archive
        .record_submission(&submission("wl", None))
        .await
        .unwrap()
        .report_id;
    let watcher = {
        let archive = archive.clone();
        tokio::spawn(async move {
            let events: Vec<_> = archive.watch(id).collect().await;
            events
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    archive
        .record_event(
            id,
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    let reason = "表格无法识别；".repeat(1_500);
    assert!(reason.len() > 8_000);
    archive
        .archive_failed(
            id,
            Stage::Validate,
            &reason,
            StageRun {
                attempt: 1,
                ..StageRun::now()
            },
        )
        .await
        .unwrap();
    let events: Vec<_> = watcher
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let seen: Vec<_> = events.iter().map(|e| (e.stage, e.status)).collect();
    assert_eq!(
        seen,
        vec![
            (Stage::Receive, Status::Received),
            (Stage::Parse, Status::Parsed),
            (Stage::Validate, Status::Failed),
        ]
    );
    assert_eq!(events[2].detail.as_deref(), Some(reason.as_str()));
    assert_eq!(events[1].report_id, id);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test]
async fn many_watchers_share_one_listener() {
    let (_db, archive) = fresh("archive_watch_many").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            archive
                .record_submission(&submission(&format!("m{i}"), None))
                .await
                .unwrap()
                .report_id,
        );
    }
    let watchers: Vec<_> = ids
        .iter()
        .map(|&id| {
            let archive = archive.clone();
            tokio::spawn(async move { collect_watch(&archive, id).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, &id) in ids.iter().enumerate() {
        archive
            .archive_checked(
                id,
                &checked(&sha_of(&format!("m{i}")), Some("丙"), Some(2021), "0"),
                StageRun::now(),
            )
            .await
            .unwrap();
    }
    for watcher in watchers {
        assert_eq!(
            watcher.await.unwrap(),
            vec![
                (Stage::Receive, Status::Received),
                (Stage::Archive, Status::Archived)
            ]
        );
    }
    // 20 versions of one (agency, year), archived in order.
    let latest: i32 = sqlx::query_scalar("SELECT latest_version FROM report_series")
        .fetch_one(archive.pool())
        .await
        .unwrap();
    assert_eq!(latest, 20);
    // The watchers did not hold pool connections (pool of 10, 20 watchers): one listener
    // connection in all.
    let listeners: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(listeners, 1);
}

#[tokio::test]
async fn concurrent_archiving_writes_once_and_numbers_versions_without_gaps() {
    let (_db, archive) = fresh("archive_concurrent").await;
    // The same report archived by 8 deliveries at once.
    let id = archive
        .record_submission(&submission("c0", None))
        .await
        .unwrap()
        .report_id;
    let content = checked(&sha_of("c0"), Some("丁"), Some(2021), "0");
    let tasks: Vec<_> = (0..8)
        .map(|attempt| {
            let archive = archive.clone();
            let content = content.clone();
            tokio::spawn(async move {
                let run = StageRun {
                    attempt: attempt + 1,
                    ..StageRun::now()
                };
                archive.archive_checked(id, &content, run).await
            })
        })
        .collect();
    let mut fresh_writes = 0;
    for task in tasks {
        let archived = task.await.unwrap().unwrap();
        assert_eq!(archived.version, Some(1));
        if !archived.already_archived {
            fresh_writes += 1;
        }
    }
    assert_eq!(fresh_writes, 1);
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM findings WHERE report_id = $1",
            id
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM events WHERE report_id = $1 AND stage = 'archive'",
            id
        )
        .await,
        1
    );

    // Eight different publications of one (agency, year) archived at once: versions 1..=8.
    let mut ids = Vec::new();
    for i in 1..=8 {
        let seed = format!("c{i}");
        ids.push((
            archive
                .record_submission(&submission(&seed, None))
                .await
                .unwrap()
                .report_id,
            seed,
        ));
    }
    let tasks: Vec<_> = ids
        .iter()
        .cloned()
        .map(|(id, seed)| {
            let archive = archive.clone();
            tokio::spawn(async move {
                archive
                    .archive_checked(
                        id,
                        &checked(&sha_of(&seed), Some("戊"), Some(2021), "0"),
                        StageRun::now(),
                    )
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().version.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<u32>>());
    let (latest, current): (i32, Uuid) = sqlx::query_as(
        "SELECT latest_version, current_report_id FROM report_series WHERE agency = '戊'",
    )
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(latest, 8);
    let current_version = archive.get_report(current).await.unwrap().version;
    assert_eq!(current_version, Some(8));
}

#[tokio::test]
async fn archiving_refuses_content_of_other_bytes_and_blank_keys_are_no_keys() {
    let (_db, archive) = fresh("archive_guard").await;
    let id = archive
        .record_submission(&submission("g1", Some("  ")))
        .await
        .unwrap()
        .report_id;
    let other = archive
        .record_submission(&submission("g2", Some("")))
        .await
        .unwrap();
    assert!(
        !other.duplicate,
        "blank idempotency keys must not make reports duplicates"
    );
    let key: Option<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM reports WHERE report_id = $1")
            .bind(id)
            .fetch_one(archive.pool())
            .await
            .unwrap();
    assert_eq!(key, None);

    let wrong = checked(&sha_of("g2"), Some("己"), Some(2021), "0");
    assert!(matches!(
        archive.archive_checked(id, &wrong, StageRun::now()).await,
        Err(ArchiveError::InvalidArgument(_))
    ));
    assert_eq!(archive.status(id).await.unwrap(), Status::Received);
    assert!(matches!(
        archive
            .archive_checked(Uuid::now_v7(), &wrong, StageRun::now())
            .await,
        Err(ArchiveError::NotFound { .. })
    ));
}

#[tokio::test]
async fn watch_survives_the_listener_connection_being_killed() {
    let (_db, archive) = fresh("archive_watch_kill").await;
    let id = archive
        .record_submission(&submission("k", None))
        .await
        .unwrap()
        .report_id;
    let watcher = {
        let archive = archive.clone();
        tokio::spawn(async move { collect_watch(&archive, id).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(archive.pool())
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);
    // Recorded while the listener is down or reconnecting.
    archive
        .record_event(
            id,
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    archive
        .archive_checked(
            id,
            &checked(&sha_of("k"), Some("庚"), Some(2021), "0"),
            StageRun::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        watcher.await.unwrap(),
        vec![
            (Stage::Receive, Status::Received),
            (Stage::Parse, Status::Parsed),
            (Stage::Archive, Status::Archived),
        ]
    );
    // The listener came back on a new backend (the killed one is gone), exactly one.
    let mut listeners = 0;
    for _ in 0..50 {
        listeners = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(archive.pool())
        .await
        .unwrap();
        if listeners == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listeners, 1);
    // And it delivers: a new report's events arrive without waiting for the poll.
    let next = archive
        .record_submission(&submission("k2", None))
        .await
        .unwrap()
        .report_id;
    let watcher = {
        let archive = archive.clone();
        tokio::spawn(async move { collect_watch(&archive, next).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    archive
        .archive_checked(
            next,
            &checked(&sha_of("k2"), Some("庚"), Some(2022), "0"),
            StageRun::now(),
        )
        .await
        .unwrap();
    let archive_done = std::time::Instant::now();
    assert_eq!(watcher.await.unwrap().len(), 2);
    let latency = archive_done.elapsed();
    assert!(latency < Duration::from_millis(1500), "{latency:?}");
}

/// A report archived before whose status an operator reset by hand is archived again exactly:
/// the new cells and findings replace the old ones (none of the old stay behind), and the
/// report ends ARCHIVED with the new content.
#[tokio::test]
async fn archiving_again_after_a_reset_by_hand_replaces_the_content() {
    let (_db, archive) = fresh("archive_reset").await;
    let first = checked(&sha_of("reset"), Some("庚"), Some(2021), "3");
    let id = archive_one(&archive, "reset", &first).await;
    let cells_before = count(
        &archive,
        "SELECT count(*) FROM cells WHERE report_id = $1",
        id,
    )
    .await;
    assert!(cells_before > 0);
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM findings WHERE report_id = $1",
            id
        )
        .await,
        3
    );

    sqlx::query("UPDATE reports SET status = 'VALIDATED' WHERE report_id = $1")
        .bind(id)
        .execute(archive.pool())
        .await
        .unwrap();
    // Fewer findings, and one cell changed.
    let second = clean(checked(&sha_of("reset"), Some("庚"), Some(2021), "4"));
    let archived = archive
        .archive_checked(
            id,
            &second,
            StageRun {
                attempt: 2,
                ..StageRun::now()
            },
        )
        .await
        .unwrap();
    assert!(!archived.already_archived);
    let stored = archive.get_report(id).await.unwrap();
    assert_eq!(stored.status, Status::Archived);
    assert_eq!(stored.checked.as_ref(), Some(&second));
    assert_eq!(stored.cells.len() as i64, cells_before);
    let carried: String = sqlx::query_scalar(
        "SELECT value::text FROM cells WHERE report_id = $1 AND table_id = 't3' \
         AND row_key = 'carried_forward' AND column_key = 'total'",
    )
    .bind(id)
    .fetch_one(archive.pool())
    .await
    .unwrap();
    assert_eq!(carried, "4");
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM findings WHERE report_id = $1",
            id
        )
        .await,
        2
    );
}

/// The outbox's view of the archive: a submission waits in `unqueued_reports` until its
/// message is noted as confirmed; the sweep sees the unnoted ones still RECEIVED, oldest
/// first, and forgets those that went on without their note.
#[tokio::test]
async fn unqueued_reports_are_the_unnoted_ones_still_received() {
    let (_db, archive) = fresh("archive_unqueued").await;
    let mut ids = Vec::new();
    for seed in ["q1", "q2", "q3"] {
        ids.push(
            archive
                .record_submission(&submission(seed, None))
                .await
                .unwrap()
                .report_id,
        );
    }
    let unqueued = |archive: Archive| async move {
        archive
            .unqueued(std::time::Duration::ZERO, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.report_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(unqueued(archive.clone()).await, ids);
    let first = archive
        .unqueued(std::time::Duration::ZERO, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.sha256, sha_of("q1"));
    assert_eq!(first.blob_key, format!("sha256/{}", sha_of("q1")));
    assert!(
        archive
            .unqueued(std::time::Duration::from_secs(3600), 10)
            .await
            .unwrap()
            .is_empty(),
        "none is an hour old"
    );

    archive.mark_queued(&ids[..1]).await.unwrap();
    archive.mark_queued(&ids[..1]).await.unwrap();
    assert_eq!(unqueued(archive.clone()).await, ids[1..].to_vec());

    // q2 was parsed although its note was lost: not swept, and forgotten.
    archive
        .record_event(
            ids[1],
            &event(Stage::Parse, Some(Status::Parsed), Outcome::Succeeded, 1),
        )
        .await
        .unwrap();
    assert_eq!(unqueued(archive.clone()).await, ids[2..].to_vec());
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM unqueued_reports WHERE report_id = $1",
            ids[1]
        )
        .await,
        0
    );
}

/// The view `cells` (SQL users' table of values) shows exactly the cells GetReport returns:
/// same order (ordinal 0, 1, 2, … in printed order), exact values with their scale, states,
/// units, positions and candidates.
#[tokio::test]
async fn the_cells_view_shows_the_archived_cells_exactly() {
    let (_db, archive) = fresh("archive_cells_view").await;
    let id = archive_one(
        &archive,
        "view",
        &checked(&sha_of("view"), Some("辛"), Some(2022), "0"),
    )
    .await;
    let stored = archive.get_report(id).await.unwrap();
    assert!(stored.cells.len() > 100);
    type Row = (
        String,
        String,
        String,
        i32,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        Vec<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT table_id, row_key, column_key, ordinal, value::text, text, state, unit, \
           position::text, candidates::text[] \
         FROM cells WHERE report_id = $1 ORDER BY ordinal",
    )
    .bind(id)
    .fetch_all(archive.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), stored.cells.len());
    for (i, (row, cell)) in rows.iter().zip(&stored.cells).enumerate() {
        let (table, row_key, column_key, ordinal, value, text, state, unit, position, candidates) =
            row;
        assert_eq!(*ordinal as usize, i);
        assert_eq!(table, cell.table.as_str());
        assert_eq!(row_key, &cell.row);
        assert_eq!(column_key, &cell.column);
        assert_eq!(
            value,
            &cell.value.map(|v| v.to_string()),
            "{row_key}.{column_key}"
        );
        assert_eq!(text, &cell.text);
        assert_eq!(state, cell.state.as_str());
        assert_eq!(unit, &cell.unit);
        let position: Option<Position> = position
            .as_deref()
            .map(|p| serde_json::from_str(p).unwrap());
        assert_eq!(position, cell.position);
        let candidates: Vec<Decimal> = candidates.iter().map(|c| dec(c)).collect();
        assert_eq!(candidates, cell.candidates);
    }
    let fees = stored.cells.iter().find(|c| c.row == "fees").unwrap();
    assert_eq!(fees.value.unwrap().to_string(), "73802895.90");
    assert!(
        rows.iter()
            .any(|r| r.1 == "review" && r.2 == "upheld" && r.9 == ["1", "12"]),
        "the ambiguous cell's candidates"
    );
}

/// An archive written by the schema before migrations 5 and 6 (cells as rows, `queued_at`)
/// comes forward: its reports read back whole, the view shows the cells the table held, and a
/// report recorded but never queued is still found by the sweep.
#[tokio::test]
async fn an_archive_of_the_earlier_schema_is_carried_forward() {
    use sqlx::Connection as _;
    let db = TestDatabase::new("archive_upgrade");
    {
        let server = format!(
            "{}/postgres",
            gongkai_archive::testing::server_url().trim_end_matches('/')
        );
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{}\"",
            db.name()
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
    sqlx::migrate!("./migrations")
        .run_to(4, &pool)
        .await
        .unwrap();

    // An archived report as the earlier code wrote it: the document, and its cells as rows.
    let archived = Uuid::now_v7();
    let document = checked(&sha_of("old"), Some("壬"), Some(2020), "6");
    let json = serde_json::to_string(&document).unwrap();
    sqlx::query(
        "INSERT INTO reports (report_id, sha256, filename, size_bytes, blob_key, received_at, \
           status, updated_at, agency, year, template, checked, version, queued_at) \
         VALUES ($1, $2, 'old.txt', 10, $3, now(), 'ARCHIVED', now(), '壬', 2020, 'F2021', \
           $4::json, 1, now())",
    )
    .bind(archived)
    .bind(sha_of("old"))
    .bind(format!("sha256/{}", sha_of("old")))
    .bind(&json)
    .execute(&pool)
    .await
    .unwrap();
    let mut ordinal = 0;
    for table in TableId::ALL {
        for (row, columns) in document.report.tables.get(table).unwrap() {
            for (column, cell) in columns {
                sqlx::query(
                    "INSERT INTO cells (report_id, table_id, row_key, column_key, ordinal, value, \
                       text, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(archived)
                .bind(table.as_str())
                .bind(row)
                .bind(column)
                .bind(ordinal)
                .bind(cell.value)
                .bind(&cell.text)
                .bind(cell.state.as_str())
                .execute(&pool)
                .await
                .unwrap();
                ordinal += 1;
            }
        }
    }
    let cells_before: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_id, row_key, column_key, value::text FROM cells ORDER BY ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // A report recorded and never queued.
    let stranded = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO reports (report_id, sha256, filename, size_bytes, blob_key, received_at, \
           status, updated_at) \
         VALUES ($1, $2, 'new.txt', 10, $3, now() - interval '1 hour', 'RECEIVED', now())",
    )
    .bind(stranded)
    .bind(sha_of("stranded"))
    .bind(format!("sha256/{}", sha_of("stranded")))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let archive = Archive::connect(db.url()).await.unwrap();
    let cells_after: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_id, row_key, column_key, value::text FROM cells ORDER BY ordinal",
    )
    .fetch_all(archive.pool())
    .await
    .unwrap();
    assert_eq!(cells_after, cells_before);
    let stored = archive.get_report(archived).await.unwrap();
    assert_eq!(stored.checked.as_ref(), Some(&document));
    assert_eq!(stored.cells.len(), cells_before.len());
    let unqueued: Vec<Uuid> = archive
        .unqueued(Duration::from_secs(60), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.report_id)
        .collect();
    assert_eq!(unqueued, vec![stranded]);
}
