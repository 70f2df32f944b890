//! The arithmetic rules of tables 3 and 4: T3-BALANCE, T3-RESULTS, T3-ROW-TOTAL, T4-TOTAL.
//!
//! Each compares the value a table printed with the one its other cells imply, exactly
//! (decimals, no floats). Cells that cannot be used stop the computation where they occur and
//! end in one `无法核验` warning per rule ([`Blocked`]).

use crate::eval::{Blocked, checked_sum, effective_template, overflowed, values_in};
use crate::findings::{Findings, cell_ref, finding};
use crate::labels::{cell_label, column_label, nonzero_terms, row_label};
use crate::structure::mixed_t3_uses_single_other_row;
use gongkai_model::schema::{self, T3_COLUMNS, T4_COLUMNS, TableId, Template};
use gongkai_model::{CellState, Decimal, Observed, Report, Severity, TableRow};

const T3: TableId = TableId::T3;
const T4: TableId = TableId::T4;

/// Labels of the template in messages; F2021's when the version is not known.
fn label_template(report: &Report) -> Template {
    effective_template(report).unwrap_or(Template::F2021)
}

/// T3-BALANCE: per column, new_received + carried_over = total_processed + carried_forward.
pub(crate) fn t3_balance(report: &Report, out: &mut Findings) {
    if report.tables.t3.is_none() {
        return;
    }
    let tpl = label_template(report);
    let mut blocked = Blocked::new("T3-BALANCE", T3, tpl);
    let t3 = report.tables.t3.as_ref();
    let rows = [
        "new_received",
        "carried_over",
        "total_processed",
        "carried_forward",
    ]
    .map(|r| (r, t3.and_then(|t| t.get(r))));
    for (hint, col) in T3_COLUMNS.iter().enumerate() {
        let c = col.key;
        let cells = rows.map(|(r, _)| (r, c));
        // The label is built only for a column that yields a finding.
        let column = || column_label(tpl, T3, "new_received", c);
        match values_in(T3, &rows.map(|(r, map)| (r, map, c, hint))) {
            Ok(v) => {
                let (new, over, done, forward) = (v[0], v[1], v[2], v[3]);
                let (Some(left), Some(right)) =
                    (checked_sum([new, over]), checked_sum([done, forward]))
                else {
                    blocked.add(format!("「{}」列", column()), overflowed(T3, &cells));
                    continue;
                };
                if left == right {
                    continue;
                }
                let column = column();
                let zh = format!(
                    "表三「{column}」列不平衡：「{}」{new} +「{}」{over} = {left}，而「{}」{done} +「{}」{forward} = {right}（表头注明：第一项加第二项之和，等于第三项加第四项之和）。",
                    row_label(tpl, T3, "new_received"),
                    row_label(tpl, T3, "carried_over"),
                    row_label(tpl, T3, "total_processed"),
                    row_label(tpl, T3, "carried_forward"),
                );
                let en = format!(
                    "t3 column {c}: new_received {new} + carried_over {over} = {left}, but total_processed {done} + carried_forward {forward} = {right}"
                );
                out.push_table(
                    finding("T3-BALANCE", Severity::Error, zh, en)
                        .at(T3, Some("total_processed"), Some(c))
                        .expected_actual(
                            Some(Observed::Number(left)),
                            Some(Observed::Number(right)),
                        )
                        .with_cells(cells.iter().map(|(r, c)| cell_ref(T3, r, c)).collect()),
                );
            }
            Err(bad) => blocked.add(format!("「{}」列", column()), bad),
        }
    }
    blocked.finish(out);
}

/// The t3 rows whose sum is `total_processed` in this report.
fn result_rows(report: &Report, template: Template) -> Vec<&'static str> {
    let version = match template {
        Template::Mixed if mixed_t3_uses_single_other_row(report) => Template::F2019,
        Template::Mixed => Template::F2021,
        t => t,
    };
    schema::t3_result_rows(version)
        .iter()
        .map(|r| r.key)
        .collect()
}

/// T3-RESULTS: per column, total_processed = the sum of the result rows.
pub(crate) fn t3_results(report: &Report, out: &mut Findings) {
    if report.tables.t3.is_none() {
        return;
    }
    let Some(template) = effective_template(report) else {
        out.push_table(
            finding(
                "T3-RESULTS",
                Severity::Warning,
                "无法核验：未能识别格式版本，不知道表三哪些行计入（七）总计。".to_owned(),
                "T3-RESULTS cannot be checked without a format version".to_owned(),
            )
            .at(T3, Some("total_processed"), None),
        );
        return;
    };
    let rows = result_rows(report, template);
    let mut blocked = Blocked::new("T3-RESULTS", T3, template);
    // Each row is looked up once for all the columns.
    let t3 = report.tables.t3.as_ref();
    let maps: Vec<(&str, Option<&TableRow>)> = rows
        .iter()
        .copied()
        .chain(["total_processed"])
        .map(|r| (r, t3.and_then(|t| t.get(r))))
        .collect();
    for (hint, col) in T3_COLUMNS.iter().enumerate() {
        let c = col.key;
        let cells: Vec<(&str, &str)> = maps.iter().map(|(r, _)| (*r, c)).collect();
        let located: Vec<_> = maps.iter().map(|&(r, map)| (r, map, c, hint)).collect();
        match values_in(T3, &located) {
            Ok(v) => {
                let (printed, terms) = match v.split_last() {
                    Some((p, t)) => (*p, t),
                    None => continue,
                };
                let Some(sum) = checked_sum(terms.iter().copied()) else {
                    let column = column_label(template, T3, "total_processed", c);
                    blocked.add(format!("「{column}」列"), overflowed(T3, &cells));
                    continue;
                };
                if sum == printed {
                    continue;
                }
                // Only the non-zero terms are named in the message: only they get labels.
                let labelled: Vec<(String, Decimal)> = rows
                    .iter()
                    .zip(terms)
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(r, v)| (format!("「{}」", row_label(template, T3, r)), *v))
                    .collect();
                let zh = format!(
                    "{}为 {printed}，但各项办理结果之和为 {sum}（{}）。",
                    cell_label(template, T3, "total_processed", c),
                    nonzero_terms(&labelled)
                );
                let en = format!(
                    "t3 column {c}: total_processed is {printed}, the result rows sum to {sum}"
                );
                out.push_table(
                    finding("T3-RESULTS", Severity::Error, zh, en)
                        .at(T3, Some("total_processed"), Some(c))
                        .expected_actual(
                            Some(Observed::Number(sum)),
                            Some(Observed::Number(printed)),
                        )
                        .with_cells(cells.iter().map(|(r, c)| cell_ref(T3, r, c)).collect()),
                );
            }
            Err(bad) => {
                let column = column_label(template, T3, "total_processed", c);
                blocked.add(format!("「{column}」列"), bad);
            }
        }
    }
    blocked.finish(out);
}

/// T3-ROW-TOTAL: per row, total = the sum of the six applicant columns.
pub(crate) fn t3_row_total(report: &Report, out: &mut Findings) {
    row_totals(
        report,
        out,
        T3,
        "T3-ROW-TOTAL",
        |tpl, row| format!("「{}」行", row_label(tpl, T3, row)),
        |tpl, row, parts, terms, printed, sum| {
            let labelled: Vec<(String, Decimal)> = parts
                .iter()
                .zip(terms)
                .filter(|(_, v)| !v.is_zero())
                .map(|(c, v)| (column_label(tpl, T3, row, c), *v))
                .collect();
            (
                format!(
                    "{}为 {printed}，但六类申请人之和为 {sum}（{}）。",
                    cell_label(tpl, T3, row, "total"),
                    nonzero_terms(&labelled)
                ),
                format!("t3 row {row}: total is {printed}, the applicants sum to {sum}"),
            )
        },
    );
}

/// T4-TOTAL: per block, upheld + corrected + other + pending = total.
pub(crate) fn t4_total(report: &Report, out: &mut Findings) {
    row_totals(
        report,
        out,
        T4,
        "T4-TOTAL",
        |tpl, row| format!("「{}」", row_label(tpl, T4, row)),
        |tpl, row, parts, terms, printed, sum| {
            let label = row_label(tpl, T4, row);
            let terms_zh: Vec<String> = parts
                .iter()
                .zip(terms)
                .map(|(c, v)| format!("{} {v}", column_label(tpl, T4, row, c)))
                .collect();
            (
                format!(
                    "表四「{label}」的「总计」为 {printed}，但{} = {sum}。",
                    terms_zh.join(" + ")
                ),
                format!("t4 block {row}: total is {printed}, the results sum to {sum}"),
            )
        },
    );
}

/// The per-row rule shared by t3 and t4: in every row the source contains, the columns other
/// than `total` sum to `total`.
fn row_totals(
    report: &Report,
    out: &mut Findings,
    table: TableId,
    rule: &'static str,
    // The row's name in a not-evaluable warning.
    name: impl Fn(Template, &str) -> String,
    // The Chinese and English messages for a row whose printed total differs from its sum.
    messages: impl Fn(Template, &str, &[&str], &[Decimal], Decimal, Decimal) -> (String, String),
) {
    let Some(rows) = report.tables.get(table) else {
        return;
    };
    let tpl = label_template(report);
    let mut blocked = Blocked::new(rule, table, tpl);
    let columns = if table == T3 { T3_COLUMNS } else { T4_COLUMNS };
    let parts: Vec<&str> = columns
        .iter()
        .map(|c| c.key)
        .filter(|k| *k != "total")
        .collect();
    // The columns other than `total`, then `total`, each with its position in the template.
    let mut located_columns: Vec<(&str, usize)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.key != "total")
        .map(|(i, c)| (c.key, i))
        .collect();
    located_columns.push((
        "total",
        columns.iter().position(|c| c.key == "total").unwrap_or(0),
    ));
    for (row, map) in rows {
        // The row is in the table: absent only when every cell is `missing`.
        if map.values().all(|c| c.state == CellState::Missing) {
            continue;
        }
        let cells: Vec<(&str, &str)> = located_columns
            .iter()
            .map(|&(c, _)| (row.as_str(), c))
            .collect();
        let located: Vec<_> = located_columns
            .iter()
            .map(|&(c, hint)| (row.as_str(), Some(map), c, hint))
            .collect();
        match values_in(table, &located) {
            Ok(v) => {
                let Some((&printed, terms)) = v.split_last() else {
                    continue;
                };
                let Some(sum) = checked_sum(terms.iter().copied()) else {
                    blocked.add(name(tpl, row), overflowed(table, &cells));
                    continue;
                };
                if sum == printed {
                    continue;
                }
                let (zh, en) = messages(tpl, row, &parts, terms, printed, sum);
                out.push_table(
                    finding(rule, Severity::Error, zh, en)
                        .at(table, Some(row), Some("total"))
                        .expected_actual(
                            Some(Observed::Number(sum)),
                            Some(Observed::Number(printed)),
                        )
                        .with_cells(cells.iter().map(|(r, c)| cell_ref(table, r, c)).collect()),
                );
            }
            Err(bad) => blocked.add(name(tpl, row), bad),
        }
    }
    blocked.finish(out);
}
