//! The three real PDFs of the shared corpus, checked at the level of the document IR (no report
//! reader involved): three table grids of the expected shapes, no page footer left anywhere,
//! and every value of the golden file in the value cells of its row, in the template's row
//! order. `gongkai-engine`'s golden harness checks the same files through `read_document`.
//! Without `../shared/corpus` the tests say so and pass.

#![allow(clippy::unwrap_used)]

use gongkai_model::{Block, GridCell, GridTable};
use gongkai_pdf::read_pdf;
use serde_json::Value;
use std::path::PathBuf;

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

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The values of a grid row: its trailing numeric cells, spanned copies dropped.
fn row_values(row: &[GridCell]) -> Vec<String> {
    let mut values: Vec<String> = row
        .iter()
        .rev()
        .take_while(|c| is_number(&c.text))
        .filter(|c| !c.spanned)
        .map(|c| c.text.clone())
        .collect();
    values.reverse();
    values
}

fn value_rows(table: &GridTable) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|r| row_values(r))
        .filter(|v| !v.is_empty())
        .collect()
}

fn golden_rows(golden: &Value, table: &str) -> Vec<Vec<String>> {
    let as_text = |v: &Value| v.as_number().map(ToString::to_string);
    golden[table]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|row| match row {
            Value::Object(cols) => cols.values().map(as_text).collect(),
            Value::Array(values) => values.iter().map(as_text).collect(),
            _ => None,
        })
        .collect()
}

fn check(file: &str, t3_rows: usize) {
    let Some(dir) = corpus() else {
        eprintln!("skipping {file}: ../shared/corpus is not present");
        return;
    };
    let doc = read_pdf(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    assert!(doc.has_text);
    let base = file.trim_end_matches(".pdf");
    let golden: Value = serde_json::from_slice(
        &std::fs::read(dir.join("golden").join(format!("{base}.json"))).unwrap(),
    )
    .unwrap();
    let tables: Vec<&GridTable> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            Block::Paragraph { .. } => None,
        })
        .collect();
    let shapes: Vec<(usize, usize)> = tables
        .iter()
        .map(|t| (t.rows.len(), t.rows[0].len()))
        .collect();
    assert_eq!(shapes, vec![(14, 4), (t3_rows, 10), (4, 15)], "{file}");
    for block in &doc.blocks {
        if let Block::Paragraph { text, .. } = block {
            let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                !squeezed
                    .trim_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit()),
                "{file}: page number left: {text}"
            );
        }
    }
    assert_eq!(
        value_rows(tables[0]),
        golden_rows(&golden, "t2"),
        "{file} t2"
    );
    assert_eq!(
        value_rows(tables[1]),
        golden_rows(&golden, "t3"),
        "{file} t3"
    );
    // t4 is printed as one row of fifteen numbers, three blocks of five.
    assert_eq!(
        value_rows(tables[2]).concat(),
        golden_rows(&golden, "t4").concat(),
        "{file} t4"
    );
}

#[test]
fn huaian_2024() {
    check("淮安市人民政府_2024.pdf", 28);
}

#[test]
fn hongze_2023() {
    check("淮安市洪泽区人民政府_2023.pdf", 26);
}

#[test]
fn hongze_2024() {
    check("淮安市洪泽区人民政府_2024.pdf", 26);
}
