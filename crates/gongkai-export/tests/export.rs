//! Exports read back with the `csv`, `calamine` and `parquet` crates equal the cells of the
//! archive, exact digits included (archive.md §6), on the corpus's reports archived into a real
//! PostgreSQL.

#![allow(clippy::unwrap_used)]

#[path = "../../gongkai-archive/tests/golden/mod.rs"]
mod golden;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::Utc;
use gongkai_archive::testing::TestDatabase;
use gongkai_archive::{
    Archive, GroupBy, MetricsQuery, NewSubmission, ReportSelection, StageRun, StoredReport,
};
use gongkai_export::{CELL_COLUMNS, Format, export_cells, export_metrics, metric_columns};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

async fn archived_corpus(name: &str) -> Option<(TestDatabase, Archive, Vec<StoredReport>)> {
    let corpus = golden::corpus()?;
    let goldens = golden::goldens(&corpus);
    let db = TestDatabase::new(name);
    let archive = Archive::connect(db.url()).await.unwrap();
    let mut stored = Vec::new();
    for g in &goldens {
        let submitted = archive
            .record_submission(&NewSubmission {
                sha256: g.sha256.clone(),
                idempotency_key: None,
                filename: g.file.clone(),
                media_type: None,
                size_bytes: 1,
                blob_key: format!("sha256/{}", g.sha256),
                source_system: None,
                received_at: Utc::now(),
                batch: None,
            })
            .await
            .unwrap();
        archive
            .archive_checked(submitted.report_id, &g.checked, StageRun::now())
            .await
            .unwrap();
        stored.push(archive.get_report(submitted.report_id).await.unwrap());
    }
    stored.sort_by_key(|r| r.report_id);
    Some((db, archive, stored))
}

async fn file_of(archive: &Archive, format: Format) -> Vec<u8> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let archive = archive.clone();
    let writer = tokio::spawn(async move {
        export_cells(&archive, &ReportSelection::default(), format, tx).await;
    });
    let mut bytes = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk.unwrap();
        assert!(chunk.len() <= gongkai_export::CHUNK_BYTES);
        bytes.extend(chunk);
        chunks += 1;
    }
    writer.await.unwrap();
    assert!(chunks >= 1);
    bytes
}

/// (report id, table, row, column, value, state, text) of every archived cell, in export order.
fn expected_rows(stored: &[StoredReport]) -> Vec<[String; 7]> {
    stored
        .iter()
        .flat_map(|r| {
            r.cells.iter().map(move |c| {
                [
                    r.report_id.to_string(),
                    c.table.as_str().to_owned(),
                    c.row.clone(),
                    c.column.clone(),
                    c.value.map(|v| v.to_string()).unwrap_or_default(),
                    c.state.as_str().to_owned(),
                    c.text.clone(),
                ]
            })
        })
        .collect()
}

#[tokio::test]
async fn csv_reads_back_as_the_archives_cells_digit_for_digit() {
    let Some((_db, archive, stored)) = archived_corpus("export_csv").await else {
        return;
    };
    let bytes = file_of(&archive, Format::Csv).await;
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "UTF-8 with a byte-order mark"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CELL_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected = expected_rows(&stored);
    assert_eq!(rows.len(), expected.len());
    let by_id: BTreeMap<String, &StoredReport> = stored
        .iter()
        .map(|r| (r.report_id.to_string(), r))
        .collect();
    for (row, want) in rows.iter().zip(&expected) {
        let got = [0, 6, 7, 8, 9, 10, 11].map(|i| row.get(i).unwrap().to_owned());
        assert_eq!(&got, want);
        let report = by_id[&got[0]];
        assert_eq!(row.get(1), report.agency.as_deref());
        assert_eq!(row.get(3).unwrap(), report.year.unwrap().to_string());
    }
    // The amounts keep their printed digits.
    let values: Vec<&str> = rows.iter().map(|r| r.get(9).unwrap()).collect();
    for amount in ["18759.694", "73802895.90"] {
        assert!(values.contains(&amount), "{amount} is exported as printed");
    }
}

#[tokio::test]
async fn parquet_reads_back_as_the_archives_cells_with_decimal_values() {
    let Some((_db, archive, stored)) = archived_corpus("export_parquet").await else {
        return;
    };
    let bytes = bytes::Bytes::from(file_of(&archive, Format::Parquet).await);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let schema = reader.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, CELL_COLUMNS);
    assert_eq!(
        schema.field_with_name("value").unwrap().data_type(),
        &arrow::datatypes::DataType::Decimal128(38, 8)
    );
    let expected = expected_rows(&stored);
    let mut seen = 0;
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        let text = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap()
                .clone()
        };
        let values = batch
            .column(9)
            .as_any()
            .downcast_ref::<arrow::array::Decimal128Array>()
            .unwrap()
            .clone();
        let (ids, tables, rows, columns, states, texts) =
            (text(0), text(6), text(7), text(8), text(10), text(11));
        for i in 0..batch.num_rows() {
            let want = &expected[seen];
            assert_eq!(
                [
                    ids.value(i),
                    tables.value(i),
                    rows.value(i),
                    columns.value(i)
                ],
                [want[0].as_str(), &want[1], &want[2], &want[3]]
            );
            let value = (!arrow::array::Array::is_null(&values, i))
                .then(|| Decimal::from_i128_with_scale(values.value(i), 8));
            let archived = (!want[4].is_empty()).then(|| want[4].parse::<Decimal>().unwrap());
            assert_eq!(value, archived, "{want:?}");
            assert_eq!(
                [states.value(i), texts.value(i)],
                [want[5].as_str(), &want[6]]
            );
            seen += 1;
        }
    }
    assert_eq!(seen, expected.len());
}

#[tokio::test]
async fn xlsx_has_a_sheet_per_table_with_numbers_as_numbers_and_findings() {
    let Some((_db, archive, stored)) = archived_corpus("export_xlsx").await else {
        return;
    };
    let bytes = file_of(&archive, Format::Xlsx).await;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), ["t2", "t3", "t4", "findings"]);
    let mut checked = 0;
    for table in ["t2", "t3", "t4"] {
        let range = workbook.worksheet_range(table).unwrap();
        let mut rows = range.rows();
        let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(&header[..2], ["report_id", "agency"]);
        let by_id: BTreeMap<String, &[Data]> = rows.map(|r| (r[0].to_string(), r)).collect();
        assert_eq!(by_id.len(), stored.len());
        for report in &stored {
            let row = by_id[&report.report_id.to_string()];
            for cell in report.cells.iter().filter(|c| c.table.as_str() == table) {
                let name = format!("{}.{}", cell.row, cell.column);
                let index = header.iter().position(|h| *h == name).unwrap();
                match (cell.value, &row[index]) {
                    (Some(v), Data::Float(f)) => assert_eq!(*f, v.to_f64().unwrap(), "{name}"),
                    (None, Data::Empty) => {}
                    (v, got) => panic!("{table} {name}: archived {v:?}, XLSX {got:?}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, stored.iter().map(|r| r.cells.len()).sum::<usize>());
    let findings = workbook.worksheet_range("findings").unwrap();
    let header: Vec<String> = findings
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        header,
        [
            "report_id",
            "rule",
            "severity",
            "table",
            "row",
            "column",
            "message"
        ]
    );
    let expected_findings: usize = stored.iter().map(|r| r.findings().len()).sum();
    assert_eq!(findings.rows().count(), 1 + expected_findings);
}

#[tokio::test]
async fn a_metrics_export_is_the_query_answer() {
    let Some((_db, archive, _)) = archived_corpus("export_metrics").await else {
        return;
    };
    let question = MetricsQuery {
        metrics: vec!["applications_new".into(), "disclosure_rate".into()],
        group_by: vec![GroupBy::Year],
        percentiles: vec![50],
        ..Default::default()
    };
    let answer = archive.query_metrics(&question).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let a = archive.clone();
    let q = question.clone();
    tokio::spawn(async move { export_metrics(&a, &q, Format::Csv, tx).await });
    let mut bytes = Vec::new();
    while let Some(chunk) = rx.recv().await {
        bytes.extend(chunk.unwrap());
    }
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, metric_columns(&[50]));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), answer.len() * 2);
    for (row, (group, (metric, value))) in rows.iter().zip(
        answer
            .iter()
            .flat_map(|g| g.values.iter().map(move |v| (g, v))),
    ) {
        assert_eq!(row.get(0).unwrap(), group.group[0].1);
        assert_eq!(row.get(4).unwrap(), *metric);
        assert_eq!(
            row.get(5).unwrap(),
            value.value.map(|v| v.to_string()).unwrap_or_default()
        );
        assert_eq!(row.get(6).unwrap(), value.reports.to_string());
        assert_eq!(row.get(7).unwrap(), value.excluded.to_string());
        assert_eq!(
            row.get(8).unwrap(),
            value.percentiles[0]
                .1
                .map(|v| v.to_string())
                .unwrap_or_default()
        );
    }
}
