//! The cross-year rules, which need the same agency's report of the previous year:
//! X-CARRY-OVER (this year's 上年结转 = last year's 结转下年度), X-IN-FORCE (F2021: 现行有效件数
//! = last year's + 本年制发 − 本年废止), X-PREVIOUS (F2019: 上一年项目数量 = last year's
//! 上一年项目数量 + 本年增/减), X-SPIKE (a count that changed more than fivefold, both values
//! at least 20).
//!
//! When the two reports cannot be compared this way (not consecutive years, a version without
//! the columns) the finding is *info*: nothing is wrong with either report. When cells are
//! missing the finding is the usual `无法核验` warning.

use crate::eval::{Unusable, describe_cells, effective_template, value};
use crate::findings::{Findings, cell_ref, finding};
use crate::labels::{cell_label, table_name};
use gongkai_model::schema::{self, T3_COLUMNS, TableId, Template, ValueKind};
use gongkai_model::{CellRef, CellState, Decimal, Observed, Report, Severity};

/// Which report an unusable cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    This,
    Previous,
}

/// One expected-vs-printed comparison: `printed` (this year) against `expected` computed from
/// the previous year (and possibly this year's other cells).
struct Comparison {
    table: TableId,
    row: &'static str,
    column: &'static str,
    expected: Decimal,
    printed: Decimal,
    explain_zh: String,
}

struct Outcome {
    comparisons: Vec<Comparison>,
    blocked: Vec<(Which, Unusable<'static>)>,
}

pub(crate) fn check(report: &Report, previous: &Report, out: &mut Findings) {
    let Some(template) = effective_template(report) else {
        return;
    };
    if let (Some(y), Some(p)) = (report.year, previous.year)
        && p.checked_add(1) != Some(y)
    {
        for rule in applicable_rules(template) {
            out.push_table(
                finding(
                    rule,
                    Severity::Info,
                    format!(
                        "用于比对的报告为 {p} 年度，不是 {} 年度，跨年核验不适用。",
                        y.saturating_sub(1)
                    ),
                    format!(
                        "the report to compare with is of {p}, not of {}",
                        y.saturating_sub(1)
                    ),
                )
                .at(rule_table(rule), None, None),
            );
        }
        return;
    }
    let prev_template = effective_template(previous);
    carry_over(report, previous, template, out);
    spike(report, previous, template, prev_template, out);
    match template {
        Template::F2021 | Template::Mixed => {
            in_force(report, previous, template, prev_template, out)
        }
        Template::F2019 => previous_items(report, previous, prev_template, out),
        Template::Legacy | Template::Unknown => {}
    }
}

fn applicable_rules(template: Template) -> Vec<&'static str> {
    match template {
        Template::F2019 => vec!["X-SPIKE", "X-CARRY-OVER", "X-PREVIOUS"],
        _ => vec!["X-SPIKE", "X-CARRY-OVER", "X-IN-FORCE"],
    }
}

fn rule_table(rule: &str) -> TableId {
    if rule == "X-CARRY-OVER" || rule == "X-SPIKE" {
        TableId::T3
    } else {
        TableId::T2
    }
}

fn not_applicable(rule: &'static str, zh: String, en: String, out: &mut Findings) {
    out.push_table(finding(rule, Severity::Info, zh, en).at(rule_table(rule), None, None));
}

fn carry_over(report: &Report, previous: &Report, template: Template, out: &mut Findings) {
    let mut outcome = Outcome {
        comparisons: Vec::new(),
        blocked: Vec::new(),
    };
    for col in T3_COLUMNS {
        let this = value(report, TableId::T3, "carried_over", col.key);
        let prev = value(previous, TableId::T3, "carried_forward", col.key);
        match (this, prev) {
            (Ok(printed), Ok(expected)) => outcome.comparisons.push(Comparison {
                table: TableId::T3,
                row: "carried_over",
                column: col.key,
                expected,
                printed,
                explain_zh: format!("上一年度报告的「四、结转下年度继续办理」为 {expected}"),
            }),
            (this, prev) => {
                outcome.blocked.extend(this.err().map(|u| (Which::This, u)));
                outcome
                    .blocked
                    .extend(prev.err().map(|u| (Which::Previous, u)));
            }
        }
    }
    emit("X-CARRY-OVER", template, outcome, out);
}

/// X-SPIKE: the smaller of two values this large, times this, is still below the larger.
const SPIKE_FACTOR: u32 = 5;
/// X-SPIKE: both values must be at least this; small counts swing by chance (3 to 16).
const SPIKE_FLOOR: u32 = 20;

/// X-SPIKE: every count cell (not the signed F2019 change, not amounts) that both versions of
/// the two reports have, compared. Whether a cell spiked is decided without the other value
/// when one value is usable and below the floor; otherwise an unusable value on either side
/// makes the cell one the rule could not evaluate.
fn spike(
    report: &Report,
    previous: &Report,
    template: Template,
    prev_template: Option<Template>,
    out: &mut Findings,
) {
    let Some(prev_template) = prev_template else {
        return;
    };
    let floor = Decimal::from(SPIKE_FLOOR);
    let factor = Decimal::from(SPIKE_FACTOR);
    let mut blocked: Vec<(Which, Unusable<'static>)> = Vec::new();
    for table in TableId::ALL {
        for spec in schema::rows(template, table) {
            let Some(prev_spec) = schema::row(prev_template, table, spec.key) else {
                continue;
            };
            for column in spec.columns {
                let comparable = column.kind == ValueKind::Count
                    && prev_spec
                        .column(column.key)
                        .is_some_and(|c| c.kind == ValueKind::Count);
                if !comparable {
                    continue;
                }
                let this = value(report, table, spec.key, column.key);
                let prev = value(previous, table, spec.key, column.key);
                let (now, before) = match (this, prev) {
                    (Ok(now), Ok(before)) => (now, before),
                    // One value under the floor: no spike, whatever the other is.
                    (Ok(v), Err(_)) | (Err(_), Ok(v)) if v < floor => continue,
                    (this, prev) => {
                        blocked.extend(this.err().map(|u| (Which::This, u)));
                        blocked.extend(prev.err().map(|u| (Which::Previous, u)));
                        continue;
                    }
                };
                if now < floor || before < floor {
                    continue;
                }
                let (Some(now_times), Some(before_times)) =
                    (now.checked_mul(factor), before.checked_mul(factor))
                else {
                    continue;
                };
                let (up, down) = (now > before_times, before > now_times);
                if !(up || down) {
                    continue;
                }
                let label = cell_label(template, table, spec.key, column.key);
                let (direction_zh, direction_en) = if up {
                    ("增加", "up")
                } else {
                    ("减少", "down")
                };
                out.push_table(
                    finding(
                        "X-SPIKE",
                        Severity::Warning,
                        format!(
                            "{label}为 {now}，上一年度报告为 {before}，{direction_zh}超过 {SPIKE_FACTOR} 倍，请核实是否填错。"
                        ),
                        format!(
                            "{table} {}/{} is {now}, the previous report has {before}: more than {SPIKE_FACTOR}-fold {direction_en}",
                            spec.key, column.key
                        ),
                    )
                    .at(table, Some(spec.key), Some(column.key))
                    .expected_actual(
                        Some(Observed::Number(before)),
                        Some(Observed::Number(now)),
                    )
                    .with_cells(vec![cell_ref(table, spec.key, column.key)]),
                );
            }
        }
    }
    emit(
        "X-SPIKE",
        template,
        Outcome {
            comparisons: Vec::new(),
            blocked,
        },
        out,
    );
}

fn in_force(
    report: &Report,
    previous: &Report,
    template: Template,
    prev_template: Option<Template>,
    out: &mut Findings,
) {
    if !matches!(prev_template, Some(Template::F2021 | Template::Mixed)) {
        not_applicable(
            "X-IN-FORCE",
            "上一年度报告不是 2021 年版格式，没有“现行有效件数”，无法按上年数推算本年现行有效件数。"
                .to_owned(),
            "the previous report has no in_force column (not F2021)".to_owned(),
            out,
        );
        return;
    }
    let mut outcome = Outcome {
        comparisons: Vec::new(),
        blocked: Vec::new(),
    };
    for row in ["regulations", "normative_documents"] {
        let prev = value(previous, TableId::T2, row, "in_force");
        let cells = ["issued", "repealed", "in_force"].map(|c| value(report, TableId::T2, row, c));
        match (prev, cells) {
            (Ok(before), [Ok(issued), Ok(repealed), Ok(printed)]) => {
                let Some(expected) = before
                    .checked_add(issued)
                    .and_then(|v| v.checked_sub(repealed))
                else {
                    outcome
                        .blocked
                        .push((Which::Previous, out_of_range(row, "in_force")));
                    outcome.blocked.extend(
                        ["issued", "repealed"].map(|c| (Which::This, out_of_range(row, c))),
                    );
                    continue;
                };
                outcome.comparisons.push(Comparison {
                    table: TableId::T2,
                    row,
                    column: "in_force",
                    expected,
                    printed,
                    explain_zh: format!(
                        "上一年度现行有效 {before} + 本年制发 {issued} − 本年废止 {repealed} = {expected}"
                    ),
                });
            }
            (prev, cells) => {
                outcome
                    .blocked
                    .extend(prev.err().map(|u| (Which::Previous, u)));
                outcome.blocked.extend(
                    cells
                        .into_iter()
                        .filter_map(Result::err)
                        .map(|u| (Which::This, u)),
                );
            }
        }
    }
    emit("X-IN-FORCE", template, outcome, out);
}

fn previous_items(
    report: &Report,
    previous: &Report,
    prev_template: Option<Template>,
    out: &mut Findings,
) {
    if prev_template != Some(Template::F2019) {
        not_applicable(
            "X-PREVIOUS",
            "上一年度报告不是 2019 年版格式，没有“上一年项目数量”和“本年增/减”，无法推算本年的上一年项目数量。"
                .to_owned(),
            "the previous report has no previous/change columns (not F2019)".to_owned(),
            out,
        );
        return;
    }
    let mut outcome = Outcome {
        comparisons: Vec::new(),
        blocked: Vec::new(),
    };
    for row in [
        "licensing",
        "other_services",
        "punishment",
        "enforcement",
        "fees",
    ] {
        let before = value(previous, TableId::T2, row, "previous");
        let change = value(previous, TableId::T2, row, "change");
        let printed = value(report, TableId::T2, row, "previous");
        match (before, change, printed) {
            (Ok(before), Ok(change), Ok(printed)) => {
                let Some(expected) = before.checked_add(change) else {
                    outcome.blocked.extend(
                        ["previous", "change"].map(|c| (Which::Previous, out_of_range(row, c))),
                    );
                    continue;
                };
                outcome.comparisons.push(Comparison {
                    table: TableId::T2,
                    row,
                    column: "previous",
                    expected,
                    printed,
                    explain_zh: format!(
                        "上一年度报告的上一年项目数量 {before} + 本年增/减 {change} = {expected}"
                    ),
                });
            }
            (before, change, printed) => {
                outcome.blocked.extend(
                    [before.err(), change.err()]
                        .into_iter()
                        .flatten()
                        .map(|u| (Which::Previous, u)),
                );
                outcome
                    .blocked
                    .extend(printed.err().map(|u| (Which::This, u)));
            }
        }
    }
    emit("X-PREVIOUS", Template::F2019, outcome, out);
}

/// A t2 cell whose value took part in a computation that overflowed (never for values within
/// §9's range, which is all the reader lets through).
fn out_of_range(row: &'static str, column: &'static str) -> Unusable<'static> {
    Unusable {
        table: TableId::T2,
        row,
        column,
        state: Some(CellState::Invalid),
    }
}

fn emit(rule: &'static str, template: Template, outcome: Outcome, out: &mut Findings) {
    for c in outcome.comparisons {
        if c.expected == c.printed {
            continue;
        }
        let label = cell_label(template, c.table, c.row, c.column);
        out.push_table(
            finding(
                rule,
                Severity::Warning,
                format!(
                    "{label}为 {}，但按{}，应为 {}。",
                    c.printed, c.explain_zh, c.expected
                ),
                format!(
                    "{} {}/{} is {}, the previous year implies {}",
                    c.table, c.row, c.column, c.printed, c.expected
                ),
            )
            .at(c.table, Some(c.row), Some(c.column))
            .expected_actual(
                Some(Observed::Number(c.expected)),
                Some(Observed::Number(c.printed)),
            )
            .with_cells(vec![cell_ref(c.table, c.row, c.column)]),
        );
    }
    if outcome.blocked.is_empty() {
        return;
    }
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for (which, name_zh) in [
        (Which::This, "本年度报告"),
        (Which::Previous, "上一年度报告"),
    ] {
        let cells: Vec<Unusable<'_>> = outcome
            .blocked
            .iter()
            .filter(|(w, _)| *w == which)
            .map(|(_, u)| u.clone())
            .collect();
        if cells.is_empty() {
            continue;
        }
        let (z, e) = describe_cells(template, &cells);
        zh.push(format!("{name_zh}{}{z}", table_name(cells[0].table)));
        en.push(format!("{which:?}: {e}"));
    }
    let refs: Vec<CellRef> = outcome
        .blocked
        .iter()
        .filter(|(w, _)| *w == Which::This)
        .map(|(_, u)| cell_ref(u.table, u.row, u.column))
        .collect();
    let main = outcome
        .blocked
        .iter()
        .find(|(w, _)| *w == Which::This)
        .map(|(_, u)| u);
    out.push_table(
        finding(
            rule,
            Severity::Warning,
            format!("无法核验：所需的单元格缺失或无法确定——{}。", zh.join("；")),
            format!("{rule} cannot be checked: {}", en.join("; ")),
        )
        .at(
            rule_table(rule),
            main.map(|u| u.row),
            main.map(|u| u.column),
        )
        .with_cells(refs),
    );
}
