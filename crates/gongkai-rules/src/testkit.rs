//! Test helpers: clean reports of both versions built on the model's `empty_table`, setters
//! for single cells, and selectors over findings.

use gongkai_model::report::{SECTION_HEADINGS, empty_table};
use gongkai_model::schema::{T3_COLUMNS, T4_COLUMNS, TableId, Template};
use gongkai_model::{Cell, Decimal, Finding, Observed, Report, Section, Severity};
use std::str::FromStr;

pub(crate) fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub(crate) fn num(text: &str) -> Cell {
    Cell::number(dec(text), text, None)
}

pub(crate) fn obs(text: &str) -> Option<Observed> {
    Some(Observed::Number(dec(text)))
}

pub(crate) fn set(report: &mut Report, table: TableId, row: &str, column: &str, cell: Cell) {
    let t = report.tables.get_mut(table).as_mut().unwrap();
    let cells = t.entry(row.to_owned()).or_default();
    cells.insert(column.to_owned(), cell);
}

pub(crate) fn set_row(report: &mut Report, table: TableId, row: &str, values: &[i64]) {
    let columns = match table {
        TableId::T3 => T3_COLUMNS,
        TableId::T4 => T4_COLUMNS,
        TableId::T2 => panic!("t2 rows differ per version; use set"),
    };
    assert_eq!(columns.len(), values.len());
    for (c, v) in columns.iter().zip(values) {
        set(report, table, row, c.key, num(&v.to_string()));
    }
}

/// Every cell of the table that is still `missing` becomes 0.
fn zero_fill(report: &mut Report, table: TableId) {
    let t = report.tables.get_mut(table).as_mut().unwrap();
    for cells in t.values_mut() {
        for cell in cells.values_mut() {
            if cell.state == gongkai_model::CellState::Missing {
                *cell = num("0");
            }
        }
    }
}

fn sections(texts: [&str; 6]) -> Vec<Section> {
    (1u8..)
        .zip(SECTION_HEADINGS)
        .zip(texts)
        .map(|((number, heading), text)| Section {
            number,
            heading: heading.to_owned(),
            found: true,
            content_without_heading: false,
            text: text.to_owned(),
            position: Some(gongkai_model::Position::Line {
                line: u32::from(number) * 10,
                column: 1,
            }),
        })
        .collect()
}

fn base(template: Template, year: u16) -> Report {
    let mut r = Report::empty();
    r.title = Some(format!(
        "示例市示例区人民政府{year}年政府信息公开工作年度报告"
    ));
    r.agency = Some("示例市示例区人民政府".to_owned());
    r.year = Some(year);
    r.template = template;
    let t3_template = template;
    r.tables.t2 = Some(empty_table(template, TableId::T2));
    r.tables.t3 = Some(empty_table(t3_template, TableId::T3));
    r.tables.t4 = Some(empty_table(template, TableId::T4));
    r
}

fn fill_t3_t4(r: &mut Report) {
    set_row(r, TableId::T3, "new_received", &[10, 2, 0, 0, 1, 0, 13]);
    set_row(r, TableId::T3, "carried_over", &[1, 0, 0, 0, 0, 0, 1]);
    set_row(r, TableId::T3, "granted", &[5, 1, 0, 0, 0, 0, 6]);
    set_row(r, TableId::T3, "partially_granted", &[2, 0, 0, 0, 0, 0, 2]);
    set_row(
        r,
        TableId::T3,
        "unavailable_not_held",
        &[2, 1, 0, 0, 1, 0, 4],
    );
    set_row(r, TableId::T3, "total_processed", &[9, 2, 0, 0, 1, 0, 12]);
    set_row(r, TableId::T3, "carried_forward", &[2, 0, 0, 0, 0, 0, 2]);
    zero_fill(r, TableId::T3);
    set_row(r, TableId::T4, "review", &[1, 0, 1, 0, 2]);
    set_row(r, TableId::T4, "litigation_direct", &[1, 0, 0, 1, 2]);
    set_row(r, TableId::T4, "litigation_after_review", &[0, 0, 0, 0, 0]);
}

/// A 2024 F2021 report that breaks no rule.
pub(crate) fn clean_f2021() -> Report {
    let mut r = base(Template::F2021, 2024);
    r.sections = sections([
        "2024年，示例区人民政府共收到政府信息公开申请13件，办结12件，2件结转下年度继续办理。因政府信息公开引起的行政复议2件、行政诉讼2件。",
        "",
        "",
        "",
        "一是政策解读形式不够丰富；二是基层政务公开标准化水平有待提升。2025年将加强培训。",
        "无",
    ]);
    let t2 = [
        ("regulations", "issued", "0"),
        ("regulations", "repealed", "0"),
        ("regulations", "in_force", "0"),
        ("normative_documents", "issued", "3"),
        ("normative_documents", "repealed", "1"),
        ("normative_documents", "in_force", "20"),
        ("licensing", "decisions", "1,234"),
        ("punishment", "decisions", "20"),
        ("enforcement", "decisions", "5"),
        ("fees", "amount", "12.50"),
    ];
    for (row, col, v) in t2 {
        let cell = Cell::number(dec(&v.replace(',', "")), v, None);
        set(&mut r, TableId::T2, row, col, cell);
    }
    fill_t3_t4(&mut r);
    r
}

/// A 2020 F2019 report that breaks no rule.
pub(crate) fn clean_f2019() -> Report {
    let mut r = base(Template::F2019, 2020);
    r.sections = sections([
        "2020年，示例区共受理政府信息公开申请13件，上年结转1件，答复12件。",
        "",
        "",
        "",
        "存在的主要问题是公开意识有待增强。2021年将进一步完善制度。",
        "无其他需要报告的事项。",
    ]);
    let t2 = [
        ("regulations", "made", "0"),
        ("regulations", "published", "0"),
        ("regulations", "total_published", "0"),
        ("normative_documents", "made", "4"),
        ("normative_documents", "published", "4"),
        ("normative_documents", "total_published", "30"),
        ("licensing", "previous", "66"),
        ("licensing", "change", "4"),
        ("licensing", "decisions", "227"),
        ("other_services", "previous", "191"),
        ("other_services", "change", "-62"),
        ("other_services", "decisions", "1198"),
        ("punishment", "previous", "1443"),
        ("punishment", "change", "-205"),
        ("punishment", "decisions", "188"),
        ("enforcement", "previous", "29"),
        ("enforcement", "change", "-8"),
        ("enforcement", "decisions", "10"),
        ("fees", "previous", "2"),
        ("fees", "change", "-1"),
        ("procurement", "items", "157"),
        ("procurement", "amount", "18759.694"),
    ];
    for (row, col, v) in t2 {
        set(&mut r, TableId::T2, row, col, num(v));
    }
    fill_t3_t4(&mut r);
    r
}

/// The findings of `rule`.
pub(crate) fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

/// `(rule, severity)` of every finding, for compact assertions.
pub(crate) fn summary(findings: &[Finding]) -> Vec<(String, Severity)> {
    findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity))
        .collect()
}
