//! Documents for the t3 tests: a consistent t3 of either template from the schema, and the
//! report around a section 3 body.

// Each test file uses part of this module.
#![allow(dead_code)]

use gongkai_model::schema::{self, RowSpec, T3_COLUMNS};
use gongkai_model::{CellState, Decimal, Report, SourceFormat, TableId, Template};
use gongkai_parse::{read_document, read_text_str};

/// `（三）不予公开` → `不予公开`, `1.属于国家秘密` → `属于国家秘密`, `四、结转…` → `结转…`.
pub fn without_numbering(label: &str) -> &str {
    const NUMERALS: &str = "一二三四五六七八九十";
    if let Some(rest) = label.strip_prefix('（')
        && let Some(end) = rest.find('）')
        && rest[..end].chars().all(|c| NUMERALS.contains(c))
    {
        return &rest[end + '）'.len_utf8()..];
    }
    let numeral = label
        .char_indices()
        .take_while(|(_, c)| NUMERALS.contains(*c))
        .last();
    if let Some((at, c)) = numeral
        && let Some(rest) = label[at + c.len_utf8()..].strip_prefix('、')
    {
        return rest;
    }
    let digits = label.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = label[digits..].strip_prefix('.')
    {
        return rest;
    }
    label
}

/// A consistent t3 (every T3 identity holds), row by row in template order. `other_other`
/// holds the row (`352 2 0 0 0 0 354`); the rows named in `zero` are all zeros.
pub fn values_with(template: Template, zero: &[&str]) -> Vec<(&'static str, [u64; 7])> {
    let specs = schema::rows(template, TableId::T3);
    let results = schema::t3_result_rows(template);
    let mut rows: Vec<(&'static str, [u64; 7])> = Vec::new();
    let mut processed = [0u64; 7];
    for (i, spec) in results.iter().enumerate() {
        let mut row = [0u64; 7];
        if spec.key == "other_other" {
            row = [352, 2, 0, 0, 0, 0, 0];
        } else if !zero.contains(&spec.key) {
            for (c, cell) in row.iter_mut().take(6).enumerate() {
                *cell = (((i as u64 + 1) * (c as u64 + 2) * 2_654_435_761) >> 7) % 10;
            }
            // Only the rows asked for are all zeros.
            if row.iter().all(|v| *v == 0) {
                row[0] = 1;
            }
        }
        row[6] = row[..6].iter().sum();
        for (p, v) in processed.iter_mut().zip(row) {
            *p += v;
        }
        rows.push((spec.key, row));
    }
    let with_total = |mut r: [u64; 7]| {
        r[6] = r[..6].iter().sum();
        r
    };
    let carried_over = with_total([0, 1, 0, 1, 0, 1, 0]);
    let carried_forward = with_total([2, 0, 1, 2, 0, 1, 0]);
    let mut new_received = [0u64; 7];
    for c in 0..7 {
        new_received[c] = processed[c] + carried_forward[c] - carried_over[c];
    }
    specs
        .iter()
        .map(|s| {
            let v = match s.key {
                "new_received" => new_received,
                "carried_over" => carried_over,
                "total_processed" => processed,
                "carried_forward" => carried_forward,
                key => {
                    rows.iter()
                        .find(|(k, _)| *k == key)
                        .expect("a result row")
                        .1
                }
            };
            (s.key, v)
        })
        .collect()
}

/// The group labels over a row, outermost first.
pub fn groups_of(spec: &RowSpec) -> Vec<&'static str> {
    match spec.block {
        None => Vec::new(),
        Some(b) if b == "三、本年度办理结果" => vec![b],
        Some(b) => vec!["三、本年度办理结果", b],
    }
}

pub fn values(template: Template) -> Vec<(&'static str, [u64; 7])> {
    values_with(template, &[])
}

/// The report around `section3` (its lines as printed), with headings as Markdown headings
/// when `markdown`.
pub fn report_text(template: Template, section3: &str, markdown: bool) -> String {
    let year = if template == Template::F2019 {
        2020
    } else {
        2021
    };
    let heading = |text: &str| {
        if markdown {
            format!("## {text}\n")
        } else {
            format!("{text}\n")
        }
    };
    let mut doc = format!("某某区人民政府{year}年政府信息公开工作年度报告\n\n");
    doc.push_str(&heading("一、总体情况"));
    doc.push_str("本年度，我区依法做好政府信息公开工作。\n");
    doc.push_str(&heading("二、主动公开政府信息情况"));
    doc.push_str("主动公开情况见下。\n");
    doc.push_str(&heading("三、收到和处理政府信息公开申请情况"));
    doc.push_str(section3);
    doc.push_str(&heading("四、政府信息公开行政复议、行政诉讼情况"));
    doc.push_str("本年度未发生行政复议、行政诉讼。\n");
    doc.push_str(&heading("五、存在的主要问题及改进情况"));
    doc.push_str("公开内容还不够全面。\n");
    doc.push_str(&heading("六、其他需要报告的事项"));
    doc.push_str("无。\n");
    doc
}

pub fn read(text: &str, markdown: bool) -> Report {
    let format = if markdown {
        SourceFormat::Markdown
    } else {
        SourceFormat::Text
    };
    read_document(&read_text_str(text, format, None))
}

/// Every cell of t3 that differs from `expected`, as `row.column: expected, found`.
pub fn wrong_cells(report: &Report, expected: &[(&'static str, [u64; 7])]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (row, printed) in expected {
        for (column, value) in T3_COLUMNS.iter().zip(printed) {
            let cell = report.tables.cell(TableId::T3, row, column.key);
            let ok = cell.is_some_and(|c| {
                c.state == CellState::Number && c.value == Some(Decimal::from(*value))
            });
            if !ok {
                wrong.push(format!(
                    "{row}.{}: expected {value}, found {:?}",
                    column.key,
                    cell.map(|c| (c.state, c.value, c.text.clone()))
                ));
            }
        }
    }
    wrong
}
