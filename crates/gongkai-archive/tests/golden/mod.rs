//! The corpus's hand-verified values (`shared/corpus/golden/*.json`) as checked reports, for
//! the tests that archive them (`corpus.rs`, `metrics.rs`). Skipped (None) when the corpus is
//! absent; under `CI=true` its absence fails.

#![allow(clippy::unwrap_used, dead_code)]

use gongkai_model::schema::{self, T3_COLUMNS, T4_COLUMNS};
use gongkai_model::{
    Cell, CheckedReport, Decimal, Report, Source, Summary, Table, TableId, Template,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub fn corpus() -> Option<PathBuf> {
    // `GONGKAI_CORPUS` for a checkout that is not beside `shared/` (a git worktree).
    let dir = std::env::var_os("GONGKAI_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
        PathBuf::from,
    );
    if dir.join("golden").is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no corpus at {} under CI=true",
            dir.display()
        );
        println!("skipping: no corpus at {}", dir.display());
        None
    }
}

pub struct Golden {
    pub file: String,
    pub sha256: String,
    pub checked: CheckedReport,
    /// The golden file's JSON as read.
    pub json: Value,
    /// (table, row, column, printed number or None for a missing cell)
    pub values: Vec<(TableId, String, String, Option<String>)>,
}

fn golden_table(
    json: &Value,
    table: TableId,
    template: Template,
    units: &Value,
    values: &mut Vec<(TableId, String, String, Option<String>)>,
) -> Option<Table> {
    let rows = json.get(table.as_str())?.as_object()?;
    let mut out = Table::default();
    for (row, cells) in rows {
        let pairs: Vec<(String, &Value)> = match cells {
            Value::Object(columns) => columns.iter().map(|(c, v)| (c.clone(), v)).collect(),
            Value::Array(numbers) => {
                let columns = match table {
                    TableId::T3 => T3_COLUMNS,
                    TableId::T4 => T4_COLUMNS,
                    TableId::T2 => schema::row(template, table, row).unwrap().columns,
                };
                columns
                    .iter()
                    .map(|c| c.key.to_owned())
                    .zip(numbers.iter())
                    .collect()
            }
            other => panic!("unexpected golden cells {other}"),
        };
        let mut columns = indexmap::IndexMap::default();
        for (column, value) in pairs {
            let printed = match value {
                Value::Number(n) => Some(n.to_string()),
                Value::Null => None,
                other => panic!("unexpected golden value {other}"),
            };
            let cell = match &printed {
                Some(text) => {
                    let cell = Cell::number(Decimal::from_str(text).unwrap(), text.clone(), None);
                    let unit_key = format!("{}.{row}.{column}", table.as_str());
                    match units.get(&unit_key).and_then(Value::as_str) {
                        Some(unit) => cell.with_unit(unit),
                        None => cell,
                    }
                }
                None => Cell::missing(),
            };
            values.push((table, row.clone(), column.clone(), printed));
            columns.insert(column, cell);
        }
        out.insert(row.clone(), columns);
    }
    Some(out)
}

pub fn goldens(corpus: &Path) -> Vec<Golden> {
    let mut files: Vec<_> = std::fs::read_dir(corpus.join("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // The legacy report has no tables and no digest to submit it under.
        let Some(sha256) = json.get("sha256").and_then(Value::as_str) else {
            continue;
        };
        let template = Template::from_id(json["template"].as_str().unwrap()).unwrap();
        let units = json.get("units").cloned().unwrap_or(Value::Null);
        let mut report = Report::empty();
        report.agency = json["agency"].as_str().map(str::to_owned);
        report.year = json["year"].as_u64().map(|y| u16::try_from(y).unwrap());
        report.template = template;
        let mut values = Vec::new();
        report.tables.t2 = golden_table(&json, TableId::T2, template, &units, &mut values);
        report.tables.t3 = golden_table(&json, TableId::T3, template, &units, &mut values);
        report.tables.t4 = golden_table(&json, TableId::T4, template, &units, &mut values);
        let file = json["file"].as_str().unwrap().to_owned();
        let checked = CheckedReport {
            source: Source {
                name: file.clone(),
                sha256: sha256.to_owned(),
                media_type: "text/plain".to_owned(),
                encoding: None,
                bytes: 1,
            },
            report,
            findings: Vec::new(),
            summary: Summary::default(),
            rules_version: "golden".to_owned(),
        };
        out.push(Golden {
            json: json.clone(),
            file,
            sha256: sha256.to_owned(),
            checked,
            values,
        });
    }
    out
}
