//! The table rules against the hand-verified values of the shared corpus: a report built from
//! each golden file's tables must break exactly the rules its `source_anomalies` list (with the
//! same cells, expected and printed values) and report `rules_not_evaluable` as warnings.

use gongkai_model::report::empty_table;
use gongkai_model::schema::{T3_COLUMNS, T4_COLUMNS, TableId, Template};
use gongkai_model::{Cell, Decimal, Observed, Report, Severity};
use serde_json::Value;
use std::path::PathBuf;
use std::str::FromStr;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/golden");
    if dir.is_dir() {
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

fn cell(v: &Value, blank: bool) -> Cell {
    match v {
        Value::Null => Cell::missing(),
        Value::Number(n) if blank => {
            assert_eq!(n.to_string(), "0");
            Cell::blank("", None)
        }
        Value::Number(n) => {
            let text = n.to_string();
            Cell::number(
                Decimal::from_str(&text).expect("golden decimal"),
                text,
                None,
            )
        }
        other => panic!("unexpected golden value {other}"),
    }
}

fn report_from(g: &Value) -> Option<Report> {
    let template = Template::from_id(g["template"].as_str()?)?;
    if template == Template::Legacy {
        return None;
    }
    let blanks: Vec<&str> = g["blank_as_zero"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut r = Report::empty();
    r.agency = g["agency"].as_str().map(str::to_owned);
    r.year = g["year"].as_u64().and_then(|y| u16::try_from(y).ok());
    r.template = template;
    if template == Template::Mixed {
        r.foreign_rows = vec!["t3.other_handling".to_owned()];
    }
    let mut t2 = empty_table(template, TableId::T2);
    for (row, cols) in g["t2"].as_object()? {
        for (col, v) in cols.as_object()? {
            let key = format!("t2.{row}.{col}");
            t2.get_mut(row)?
                .insert(col.clone(), cell(v, blanks.contains(&key.as_str())));
        }
    }
    let arrays = |id: TableId, columns: &[gongkai_model::ColumnSpec]| {
        let mut t = empty_table(template, id);
        for (row, values) in g[id.as_str()].as_object()? {
            for (c, v) in columns.iter().zip(values.as_array()?) {
                let key = format!("{id}.{row}.{}", c.key);
                t.get_mut(row)?
                    .insert(c.key.to_owned(), cell(v, blanks.contains(&key.as_str())));
            }
        }
        Some(t)
    };
    r.tables.t3 = arrays(TableId::T3, T3_COLUMNS);
    r.tables.t4 = arrays(TableId::T4, T4_COLUMNS);
    r.tables.t2 = Some(t2);
    Some(r)
}

#[test]
fn table_rules_find_exactly_the_published_anomalies() {
    let Some(dir) = corpus() else {
        eprintln!("shared corpus not found: skipping");
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(report) = report_from(&g) else {
            continue;
        };
        checked += 1;
        let findings = gongkai_rules::check(&report);
        let name = path.display();
        let table_rules = ["T3-BALANCE", "T3-RESULTS", "T3-ROW-TOTAL", "T4-TOTAL"];
        let mut errors: Vec<(String, String, String, String, String)> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error && table_rules.contains(&f.rule.as_str()))
            .map(|f| {
                let num =
                    |o: &Option<Observed>| o.as_ref().map(ToString::to_string).unwrap_or_default();
                (
                    f.rule.clone(),
                    f.row.clone().unwrap_or_default(),
                    f.column.clone().unwrap_or_default(),
                    num(&f.expected),
                    num(&f.actual),
                )
            })
            .collect();
        let mut expected: Vec<(String, String, String, String, String)> = g["source_anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let s = |k: &str| match &a[k] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                (s("rule"), s("row"), s("column"), s("expected"), s("actual"))
            })
            .collect();
        errors.sort();
        expected.sort();
        assert_eq!(errors, expected, "{name}");
        // Rules the golden file says cannot be evaluated are warnings, never silent passes.
        let not_evaluable: Vec<&str> = g["rules_not_evaluable"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for rule in &not_evaluable {
            assert!(
                findings.iter().any(|f| f.rule == *rule
                    && f.severity == Severity::Warning
                    && f.message.starts_with("无法核验")),
                "{name}: {rule} should be reported as not evaluable"
            );
        }
        // Every blank cell has its C-BLANK warning; missing rows only where the golden says.
        let blanks = findings.iter().filter(|f| f.rule == "C-BLANK").count();
        assert_eq!(
            blanks,
            g["blank_as_zero"].as_array().map_or(0, Vec::len),
            "{name}"
        );
        let incomplete = findings.iter().any(|f| f.rule == "S-TABLE-INCOMPLETE");
        let golden_missing = g["missing"].as_array().is_some_and(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .any(|k| !k.starts_with("t3.other_") || g["template"] != "mixed")
        });
        assert_eq!(incomplete, golden_missing, "{name}");
    }
    assert!(checked >= 10, "only {checked} golden files checked");
}
