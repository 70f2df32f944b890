//! Golden tests: every report of the shared corpus is read and checked, and compared cell by
//! cell with its hand-verified `golden/*.json` (agency, year, template, every t2/t3/t4 value,
//! `missing`, `blank_as_zero`, units), and the arithmetic findings (T3-*, T4-* errors) must be
//! exactly the golden's `source_anomalies`. Cells the golden lists as `undecidable_from_text`
//! may instead be `ambiguous`, with the golden value among the candidates and a C-AMBIGUOUS
//! finding on the cell. One test per file, so that a failure names the file. The corpus lives
//! outside the repository (`../shared/corpus`); without it the tests say so and pass.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

use gongkai_model::{CellState, CheckedReport, Observed, Severity, TableId};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const T3_COLUMNS: [&str; 7] = [
    "natural_person",
    "commercial",
    "research",
    "social_welfare",
    "legal_service",
    "other_org",
    "total",
];
const T4_COLUMNS: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.join("golden").is_dir() {
        return Some(dir);
    }
    // Under CI the corpus is always there: its absence must fail the run, not skip it.
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is absent: the corpus tests cannot run",
        dir.display()
    );
    None
}

fn strings(golden: &Value, key: &str) -> BTreeSet<String> {
    golden
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `(table, row, column, golden value)` for every cell of the golden's tables.
fn golden_cells(golden: &Value) -> Vec<(TableId, String, String, Value)> {
    let mut out = Vec::new();
    for table in TableId::ALL {
        let Some(rows) = golden.get(table.as_str()).and_then(Value::as_object) else {
            continue;
        };
        for (row, cols) in rows {
            match cols {
                Value::Object(map) => {
                    for (col, v) in map {
                        out.push((table, row.clone(), col.clone(), v.clone()));
                    }
                }
                Value::Array(values) => {
                    let names: &[&str] = if table == TableId::T3 {
                        &T3_COLUMNS
                    } else {
                        &T4_COLUMNS
                    };
                    for (col, v) in names.iter().zip(values) {
                        out.push((table, row.clone(), (*col).to_owned(), v.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn compare(file: &str, checked: &CheckedReport, golden: &Value) -> Vec<String> {
    let report = &checked.report;
    let mut errors = Vec::new();
    if let Some(sha) = golden.get("sha256").and_then(Value::as_str)
        && sha != checked.source.sha256
    {
        errors.push(format!("sha256 {} != {sha}", checked.source.sha256));
    }
    if let Some(agency) = golden.get("agency").and_then(Value::as_str)
        && report.agency.as_deref() != Some(agency)
    {
        errors.push(format!("agency {:?} != {agency}", report.agency));
    }
    if let Some(year) = golden.get("year").and_then(Value::as_u64)
        && report.year.map(u64::from) != Some(year)
    {
        errors.push(format!("year {:?} != {year}", report.year));
    }
    let template = golden.get("template").and_then(Value::as_str).unwrap_or("");
    if report.template.as_str() != template {
        errors.push(format!("template {} != {template}", report.template));
    }
    if template == "legacy" {
        for t in TableId::ALL {
            if report.tables.get(t).is_some() {
                errors.push(format!("{t} read from a legacy report"));
            }
        }
        return errors;
    }

    let missing = strings(golden, "missing");
    let blank = strings(golden, "blank_as_zero");
    let undecidable: BTreeSet<String> = golden
        .get("undecidable_from_text")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|u| {
            u.get("cells")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
        })
        .collect();
    let cells = golden_cells(golden);
    for table in TableId::ALL {
        let expected_rows: BTreeSet<&str> = cells
            .iter()
            .filter(|c| c.0 == table)
            .map(|c| c.1.as_str())
            .collect();
        let got_rows: BTreeSet<&str> = report
            .tables
            .get(table)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if expected_rows != got_rows {
            errors.push(format!("{table} rows {got_rows:?} != {expected_rows:?}"));
        }
    }
    for (table, row, column, value) in &cells {
        let key = format!("{table}.{row}.{column}");
        let Some(cell) = report.tables.cell(*table, row, column) else {
            errors.push(format!("{key}: no such cell"));
            continue;
        };
        let shown = format!("{key}: {:?} ({})", cell.text, cell.state.as_str());
        match number_text(value) {
            None => {
                let listed = missing.contains(&format!("{table}.{row}")) || missing.contains(&key);
                if cell.state != CellState::Missing || !listed {
                    errors.push(format!("{shown}, golden null (listed missing: {listed})"));
                }
            }
            Some(golden_value) => {
                if cell.state == CellState::Ambiguous && undecidable.contains(&key) {
                    let among = cell
                        .candidates
                        .iter()
                        .any(|c| c.to_string() == golden_value);
                    let reported = checked.findings.iter().any(|f| {
                        f.rule == "C-AMBIGUOUS"
                            && f.cells.iter().any(|c| {
                                c.table == *table
                                    && c.row.as_deref() == Some(row.as_str())
                                    && c.column.as_deref() == Some(column.as_str())
                            })
                    });
                    if !among || !reported {
                        errors.push(format!(
                            "{shown}: golden {golden_value} among candidates {among}, C-AMBIGUOUS {reported}"
                        ));
                    }
                    continue;
                }
                let got = cell.value.map(|v| v.to_string());
                if got.as_deref() != Some(golden_value.as_str()) {
                    errors.push(format!("{shown} = {got:?}, golden {golden_value}"));
                }
                let want_state = if blank.contains(&key) {
                    CellState::Blank
                } else {
                    CellState::Number
                };
                if cell.state != want_state {
                    errors.push(format!("{shown}, expected {}", want_state.as_str()));
                }
            }
        }
    }
    if let Some(units) = golden.get("units").and_then(Value::as_object) {
        for (key, unit) in units {
            let parts: Vec<&str> = key.split('.').collect();
            let got = match parts.as_slice() {
                [t, r, c] => TableId::from_id(t)
                    .and_then(|t| report.tables.cell(t, r, c))
                    .and_then(|c| c.unit.clone()),
                _ => None,
            };
            if got.as_deref() != unit.as_str() {
                errors.push(format!("unit of {key}: {got:?} != {unit}"));
            }
        }
    }

    // The arithmetic errors must be exactly the anomalies of the published numbers.
    type Anomaly = (String, String, String, Option<String>, Option<String>);
    let observed = |o: &Option<Observed>| o.as_ref().map(ToString::to_string);
    let found: BTreeSet<Anomaly> = checked
        .findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Error
                && (f.rule.starts_with("T3-") || f.rule.starts_with("T4-"))
        })
        .map(|f| {
            (
                f.rule.clone(),
                f.row.clone().unwrap_or_default(),
                f.column.clone().unwrap_or_default(),
                observed(&f.expected),
                observed(&f.actual),
            )
        })
        .collect();
    let wanted: BTreeSet<Anomaly> = golden
        .get("source_anomalies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| {
            let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            (
                s("rule"),
                s("row"),
                s("column"),
                a.get("expected").and_then(number_text),
                a.get("actual").and_then(number_text),
            )
        })
        .collect();
    if found != wanted {
        errors.push(format!(
            "arithmetic findings differ from the golden's source_anomalies\n  found:  {found:?}\n  golden: {wanted:?}"
        ));
    }
    let _ = file;
    errors
}

fn golden_test(file: &str) {
    let Some(dir) = corpus() else {
        eprintln!("skipping {file}: ../shared/corpus is not present");
        return;
    };
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let base = file.rsplit_once('.').map_or(file, |(b, _)| b);
    let golden: Value = serde_json::from_slice(
        &std::fs::read(dir.join("golden").join(format!("{base}.json"))).unwrap(),
    )
    .unwrap();
    let checked = gongkai_engine::check(&bytes, file).unwrap();
    let errors = compare(file, &checked, &golden);
    assert!(
        errors.is_empty(),
        "{file}: {} difference(s) from the golden file:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

macro_rules! golden {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(#[test] fn $name() { golden_test($file); })*
    };
}

golden! {
    luoyang_2020_markdown => "洛阳市瀍河区人民政府_2020.md",
    shanghai_2019_html => "上海市人民政府办公厅_2019.html",
    pingtan_2018_legacy_text => "平潭综合实验区_2018_legacy.txt",
    pingtan_2019_text => "平潭综合实验区_2019.txt",
    pingtan_2020_text => "平潭综合实验区_2020.txt",
    pingtan_2021_text => "平潭综合实验区_2021.txt",
    pingtan_2022_text => "平潭综合实验区_2022.txt",
    pingtan_2023_text => "平潭综合实验区_2023.txt",
    hongze_2023_pdf => "淮安市洪泽区人民政府_2023.pdf",
    hongze_2024_pdf => "淮安市洪泽区人民政府_2024.pdf",
    huaian_2024_pdf => "淮安市人民政府_2024.pdf",
}

/// The sample of the issue, beyond the golden values: positions, printed texts, the lost
/// heading and the units.
#[test]
fn luoyang_sample_details() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/corpus is not present");
        return;
    };
    let file = "洛阳市瀍河区人民政府_2020.md";
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let (source, report) = gongkai_engine::read(&bytes, file).unwrap();
    assert_eq!(source.media_type, "text/markdown");
    assert_eq!(source.encoding.as_deref(), Some("utf-8"));
    assert_eq!(source.bytes, 6705);
    let cell = |t, r: &str, c: &str| report.tables.cell(t, r, c).unwrap().clone();
    let change = cell(TableId::T2, "punishment", "change");
    assert_eq!(change.text, "-205");
    assert_eq!(change.value.unwrap().to_string(), "-205");
    let amount = cell(TableId::T2, "procurement", "amount");
    assert_eq!(amount.text, "18,759.694");
    assert_eq!(amount.value.unwrap().to_string(), "18759.694");
    assert_eq!(amount.unit.as_deref(), Some("万元"));
    // `政府集中采购\t157\t18,759.694` on line 40: the amount starts at character 12.
    assert_eq!(
        amount.position,
        Some(gongkai_model::Position::Line {
            line: 40,
            column: 12
        })
    );
    let section4 = report.section(4).unwrap();
    assert!(!section4.found);
    assert!(section4.content_without_heading);
    assert!(
        report
            .sections
            .iter()
            .filter(|s| s.number != 4)
            .all(|s| s.found)
    );
    let t4 = cell(TableId::T4, "litigation_direct", "total");
    assert_eq!(t4.value.unwrap().to_string(), "6");
}
