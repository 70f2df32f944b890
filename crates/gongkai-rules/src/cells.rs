//! The cell rules: C-BLANK, C-PLACEHOLDER, C-AMBIGUOUS, C-NEGATIVE, C-NOT-INTEGER, C-RANGE —
//! what is wrong with one cell, whatever the others hold.

use crate::eval::effective_template;
use crate::findings::{Findings, cell_ref, finding};
use crate::labels::{cell_id, cell_label, column_label, row_label, row_spec, table_name};
use gongkai_model::cell::MAX_FRACTION_DIGITS;
use gongkai_model::schema::{RowSpec, TableId, Template, ValueKind};
use gongkai_model::{
    Ambiguity, AmbiguityKind, Cell, CellState, Decimal, Observed, Report, Severity,
};

pub(crate) fn check(report: &Report, out: &mut Findings) {
    let template = effective_template(report).unwrap_or(Template::F2021);
    for table in TableId::ALL {
        let Some(t) = report.tables.get(table) else {
            continue;
        };
        for (row, cells) in t {
            // The row's spec is looked up once for all its cells.
            let spec = row_spec(template, table, row);
            for (column, cell) in cells {
                one_cell(template, table, row, spec, column, cell, out);
            }
        }
    }
    ambiguities(report, template, out);
}

fn kind(spec: Option<&RowSpec>, column: &str) -> ValueKind {
    spec.and_then(|r| r.column(column))
        .map_or(ValueKind::Count, |c| c.kind)
}

fn one_cell(
    template: Template,
    table: TableId,
    row: &str,
    spec: Option<&RowSpec>,
    column: &str,
    cell: &Cell,
    out: &mut Findings,
) {
    // Labels are built only for a cell that yields a finding: most cells yield none.
    let label = || cell_label(template, table, row, column);
    let id = || cell_id(table, row, column);
    let at = |f: gongkai_model::Finding| {
        f.at(table, Some(row), Some(column))
            .with_cells(vec![cell_ref(table, row, column)])
    };
    match cell.state {
        CellState::Blank => out.push_table(at(finding(
            "C-BLANK",
            Severity::Warning,
            format!("{}为空白，按 0 计。", label()),
            format!("{} is blank, read as 0", id()),
        )
        .expected_actual(None, Some(Observed::Number(Decimal::ZERO))))),
        CellState::Placeholder => out.push_table(at(finding(
            "C-PLACEHOLDER",
            Severity::Warning,
            format!("{}填写的是占位符“{}”而不是数字。", label(), cell.text),
            format!(
                "{} holds the placeholder {:?} instead of a number",
                id(),
                cell.text
            ),
        )
        .expected_actual(None, Some(Observed::Text(cell.text.clone()))))),
        CellState::Number | CellState::Corrected => {
            let Some(v) = cell.value else { return };
            let negative = v.is_sign_negative() && !v.is_zero();
            // A value without decimals is whole: `fract` is computed only for the others.
            let fraction = v.scale() > 0 && !v.fract().is_zero();
            if !negative && !fraction {
                return;
            }
            let k = kind(spec, column);
            if negative && k != ValueKind::SignedCount {
                out.push_table(at(finding(
                    "C-NEGATIVE",
                    Severity::Error,
                    format!(
                        "{}为负数 {v}；{}不能为负（只有 2019 年版“本年增/减”可为负）。",
                        label(),
                        if k == ValueKind::Amount {
                            "金额"
                        } else {
                            "件数"
                        }
                    ),
                    format!("{} is negative ({v}); only the F2019 change may be", id()),
                )
                .expected_actual(None, Some(Observed::Number(v)))));
            }
            if fraction && k != ValueKind::Amount {
                out.push_table(at(finding(
                    "C-NOT-INTEGER",
                    Severity::Error,
                    format!("{}为 {v}；件数应为整数。", label()),
                    format!("{} is {v}; a count must be a whole number", id()),
                )
                .expected_actual(None, Some(Observed::Number(v)))));
            }
        }
        CellState::Invalid => {
            let k = kind(spec, column);
            let (limit_zh, limit_en) = match k {
                ValueKind::Amount => (
                    format!(
                        "金额最多 {} 位整数、{} 位小数",
                        k.max_integer_digits(),
                        MAX_FRACTION_DIGITS
                    ),
                    format!(
                        "an amount has at most {} integer and {} decimal digits",
                        k.max_integer_digits(),
                        MAX_FRACTION_DIGITS
                    ),
                ),
                ValueKind::Count | ValueKind::SignedCount => (
                    format!("件数最多 {} 位", k.max_integer_digits()),
                    format!("a count has at most {} digits", k.max_integer_digits()),
                ),
            };
            out.push_table(at(finding(
                "C-RANGE",
                Severity::Error,
                format!(
                    "{}的数字“{}”超出范围（{limit_zh}），不参与任何计算。",
                    label(),
                    cell.text
                ),
                format!(
                    "{} holds {:?}, out of range ({limit_en}); left out of every sum",
                    id(),
                    cell.text
                ),
            )
            .expected_actual(None, Some(Observed::Text(cell.text.clone())))));
        }
        // Ambiguous cells are reported by run below; missing ones by S-TABLE-INCOMPLETE.
        CellState::Ambiguous | CellState::Missing => {}
    }
}

fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('.')
}

/// True when `key` is `{row}.{column}`, compared without building the key.
fn is_key_of(key: &str, row: &str, column: &str) -> bool {
    key.strip_prefix(row)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|rest| rest == column)
}

fn ambiguities(report: &Report, template: Template, out: &mut Findings) {
    let mut covered: Vec<(TableId, &str)> = Vec::new();
    for a in &report.ambiguities {
        covered.extend(a.cells.iter().map(|c| (a.table, c.as_str())));
        out.push_table(ambiguity_finding(template, a));
    }
    // Ambiguous cells that no listed run covers still deserve their error.
    for table in TableId::ALL {
        let Some(t) = report.tables.get(table) else {
            continue;
        };
        for (row, cells) in t {
            for (column, cell) in cells {
                if cell.state != CellState::Ambiguous {
                    continue;
                }
                let covered_by_run = covered
                    .iter()
                    .any(|(ct, ck)| *ct == table && is_key_of(ck, row, column));
                if covered_by_run {
                    continue;
                }
                let candidates: Vec<String> =
                    cell.candidates.iter().map(Decimal::to_string).collect();
                out.push_table(
                    finding(
                        "C-AMBIGUOUS",
                        Severity::Error,
                        format!(
                            "{}的数字串“{}”有多种拆分方式，可能的值：{}；无法确定。",
                            cell_label(template, table, row, column),
                            cell.text,
                            candidates.join("、")
                        ),
                        format!(
                            "{} is ambiguous ({:?}); candidates {}",
                            cell_id(table, row, column),
                            cell.text,
                            candidates.join(", ")
                        ),
                    )
                    .at(table, Some(row), Some(column))
                    .with_cells(vec![cell_ref(table, row, column)]),
                );
            }
        }
    }
}

fn ambiguity_finding(template: Template, a: &Ambiguity) -> gongkai_model::Finding {
    let table = a.table;
    let keys: Vec<(&str, &str)> = a.cells.iter().filter_map(|c| split_key(c)).collect();
    let first = keys.first().copied();
    let row_labels: Vec<String> = row_keys(&keys)
        .iter()
        .map(|r| format!("「{}」", row_label(template, table, r)))
        .collect();
    let columns: Vec<String> = keys
        .iter()
        .map(|(r, c)| format!("「{}」", column_label(template, table, r, c)))
        .collect();
    let shown: Vec<String> = a
        .decodings
        .iter()
        .take(4)
        .map(|d| {
            d.iter()
                .map(Decimal::to_string)
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let more = if a.decodings.len() > shown.len() {
        "等"
    } else {
        ""
    };
    let (zh, en) = match a.kind {
        AmbiguityKind::Digits => digits_message(a, &row_labels, &columns, &shown, more),
        AmbiguityKind::Placement => placement_message(a, &row_labels, &row_keys(&keys)),
        AmbiguityKind::Duplicate => (
            format!(
                "{}{}行出现多次且数值不同（{}），无法确定其值。",
                table_name(table),
                row_labels.join(""),
                a.text
            ),
            format!(
                "{} is printed more than once with different values ({}); cells {}",
                row_keys(&keys).join(", "),
                a.text,
                a.cells.join(", ")
            ),
        ),
    };
    let refs = keys
        .iter()
        .map(|(r, c)| cell_ref(table, r, c))
        .collect::<Vec<_>>();
    finding("C-AMBIGUOUS", Severity::Error, zh, en)
        .at(table, first.map(|(r, _)| r), first.map(|(_, c)| c))
        .expected_actual(None, Some(Observed::Text(a.text.clone())))
        .with_cells(refs)
}

/// The message of a run of concatenated digits.
fn digits_message(
    a: &Ambiguity,
    row_labels: &[String],
    columns: &[String],
    shown: &[String],
    more: &str,
) -> (String, String) {
    let table = a.table;
    // The digit solver gives up listing decodings past its work bound: an empty list means
    // "too many to enumerate", not "none".
    if a.decodings.is_empty() {
        (
            format!(
                "{}{}行的连写数字串“{}”拆分方式过多，无法一一列举，无法确定{}的值。",
                table_name(table),
                row_labels.join(""),
                a.text,
                columns.join("")
            ),
            format!(
                "the run {:?} in {table} has too many decodings to enumerate; cells {}",
                a.text,
                a.cells.join(", ")
            ),
        )
    } else {
        (
            format!(
                "{}{}行的连写数字串“{}”有 {} 种符合各项规则的拆分方式（如 {}{more}），无法确定{}的值。",
                table_name(table),
                row_labels.join(""),
                a.text,
                a.decodings.len(),
                shown.join("、"),
                columns.join("")
            ),
            format!(
                "the run {:?} in {table} decodes in {} ways ({}); cells {}",
                a.text,
                a.decodings.len(),
                shown.join("; "),
                a.cells.join(", ")
            ),
        )
    }
}

/// The message of value rows torn from their labels that fit more than one row: `text` lists
/// the candidate lines as printed, `decodings` their values.
fn placement_message(a: &Ambiguity, row_labels: &[String], row_keys: &[&str]) -> (String, String) {
    let table = a.table;
    // A table too torn to enumerate names every row it could not fix; a few name the place.
    let rows = if row_labels.len() > 4 {
        format!("{}等 {} 行", row_labels[..4].join(""), row_labels.len())
    } else {
        format!("{}行", row_labels.join(""))
    };
    if a.decodings.is_empty() {
        (
            format!(
                "{}的数值行与行标签分离，按模板行序和表内勾稽关系可能的对应方式过多，无法确定{}的值。",
                table_name(table),
                rows
            ),
            format!(
                "value rows of {table} torn from their labels fit the template in too many ways \
                 to enumerate; cells {}",
                a.cells.join(", ")
            ),
        )
    } else {
        (
            format!(
                "{}{}的数值与行标签分离，按模板行序和表内勾稽关系可能是以下 {} 行数值之一：{}，无法确定其值。",
                table_name(table),
                rows,
                a.decodings.len().max(2),
                a.text
            ),
            format!(
                "value rows of {table} torn from their labels: {} may be any of the lines {}; cells {}",
                row_keys.join(", "),
                a.text,
                a.cells.join(", ")
            ),
        )
    }
}

/// The distinct row keys of `keys`, in order.
fn row_keys<'a>(keys: &[(&'a str, &str)]) -> Vec<&'a str> {
    let mut rows: Vec<&str> = Vec::new();
    for (r, _) in keys {
        if !rows.contains(r) {
            rows.push(r);
        }
    }
    rows
}
