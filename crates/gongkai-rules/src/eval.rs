//! Reading the values the arithmetic rules need, and collecting what they could not read.
//!
//! Only `number` and `blank` cells (blank as 0) have a usable value; a missing, placeholder or
//! ambiguous cell blocks every computation it takes part in. [`Blocked`] gathers those cells
//! per rule and turns them into one `无法核验` warning, so that a rule never passes silently.

use crate::findings::{Findings, cell_ref, finding};
use crate::labels::{column_label, row_label, table_name, unusable_state};
use gongkai_model::schema::{TableId, Template};
use gongkai_model::{Cell, CellState, Decimal, Report, Severity, Table, TableHasher, TableRow};
use std::collections::HashSet;
use std::fmt::Write;

/// A cell a rule needed and could not use. The keys are borrowed from the rule (the schema's
/// keys) or the report: a table with many missing cells yields hundreds of these per check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unusable<'a> {
    pub table: TableId,
    pub row: &'a str,
    pub column: &'a str,
    /// `None` when the row or column is not in the table at all.
    pub state: Option<CellState>,
}

/// The template whose rows the table rules follow: the report's own, or for `unknown` the one
/// its tables' keys reveal; `None` when nothing tells.
pub(crate) fn effective_template(report: &Report) -> Option<Template> {
    match report.template {
        t @ (Template::F2019 | Template::F2021 | Template::Mixed) => Some(t),
        Template::Legacy => None,
        Template::Unknown => infer_template(report),
    }
}

fn infer_template(report: &Report) -> Option<Template> {
    let has = |table: Option<&Table>, row: &str, column: Option<&str>| {
        table.and_then(|t| t.get(row)).is_some_and(|cells| {
            cells
                .iter()
                .any(|(k, c)| column.is_none_or(|col| k == col) && c.state != CellState::Missing)
        })
    };
    let t2 = report.tables.t2.as_ref();
    let t3 = report.tables.t3.as_ref();
    if has(t3, "other_overdue_correction", None) || has(t2, "regulations", Some("issued")) {
        Some(Template::F2021)
    } else if has(t3, "other_handling", None) || has(t2, "regulations", Some("made")) {
        Some(Template::F2019)
    } else {
        None
    }
}

/// The usable value of one cell.
pub(crate) fn value<'a>(
    report: &Report,
    table: TableId,
    row: &'a str,
    column: &'a str,
) -> Result<Decimal, Unusable<'a>> {
    let cell = report.tables.cell(table, row, column);
    match cell.and_then(|c| c.usable()) {
        Some(v) => Ok(v),
        None => Err(Unusable {
            table,
            row,
            column,
            state: cell.map(|c| c.state),
        }),
    }
}

/// `row[column]`, tried first at position `hint`: the reader fills rows in the template's
/// column order, so one string compare usually replaces hashing the key.
pub(crate) fn cell_at<'m>(row: &'m TableRow, column: &str, hint: usize) -> Option<&'m Cell> {
    match row.get_index(hint) {
        Some((key, cell)) if key == column => Some(cell),
        _ => row.get(column),
    }
}

/// The values of cells given as (row key, the row's map if the table has it, column key,
/// the column's position in the template), for rules that look each row up once.
pub(crate) fn values_in<'a>(
    table: TableId,
    cells: &[(&'a str, Option<&TableRow>, &'a str, usize)],
) -> Result<Vec<Decimal>, Vec<Unusable<'a>>> {
    let mut ok = Vec::with_capacity(cells.len());
    let mut bad = Vec::new();
    for &(row, map, column, hint) in cells {
        let cell = map.and_then(|m| cell_at(m, column, hint));
        match cell.and_then(Cell::usable) {
            Some(v) => ok.push(v),
            None => bad.push(Unusable {
                table,
                row,
                column,
                state: cell.map(|c| c.state),
            }),
        }
    }
    if bad.is_empty() { Ok(ok) } else { Err(bad) }
}

/// The exact sum of `terms`, `None` if it would overflow a [`Decimal`]. Usable values lie
/// within §9's range ([`Cell::usable`]), so a sum of a table's cells never does; the rules
/// still never add unchecked, and treat an overflow as cells they could not use.
pub(crate) fn checked_sum(terms: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    terms
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, v| sum.checked_add(v))
}

/// The cells of a computation that overflowed, as cells the rule could not use.
pub(crate) fn overflowed<'a>(table: TableId, cells: &[(&'a str, &'a str)]) -> Vec<Unusable<'a>> {
    cells
        .iter()
        .map(|&(row, column)| Unusable {
            table,
            row,
            column,
            state: Some(CellState::Invalid),
        })
        .collect()
}

/// True when the source does not contain the row at all (absent, or every cell `missing`).
pub(crate) fn row_absent(report: &Report, table: TableId, row: &str) -> bool {
    report
        .tables
        .get(table)
        .and_then(|t| t.get(row))
        .is_none_or(|cells| cells.values().all(|c| c.state == CellState::Missing))
}

/// The cells one rule could not use, over all the places (columns, rows) it tried.
#[derive(Debug)]
pub(crate) struct Blocked<'a> {
    rule: &'static str,
    table: TableId,
    template: Template,
    places: Vec<String>,
    cells: Vec<Unusable<'a>>,
    /// The (row, column) of every cell in `cells` (all of `table`): a truncated table blocks
    /// hundreds of cells, too many to deduplicate by scanning the list.
    seen: HashSet<(&'a str, &'a str), TableHasher>,
}

impl<'a> Blocked<'a> {
    pub(crate) fn new(rule: &'static str, table: TableId, template: Template) -> Blocked<'a> {
        Blocked {
            rule,
            table,
            template,
            places: Vec::new(),
            cells: Vec::new(),
            seen: HashSet::default(),
        }
    }

    /// Records that the rule could not be evaluated at `place` (a column or row label).
    pub(crate) fn add(&mut self, place: String, cells: Vec<Unusable<'a>>) {
        self.places.push(place);
        for c in cells {
            let new = if c.table == self.table {
                self.seen.insert((c.row, c.column))
            } else {
                !self.cells.contains(&c)
            };
            if new {
                self.cells.push(c);
            }
        }
    }

    /// One warning for everything the rule could not evaluate, if anything.
    pub(crate) fn finish(self, out: &mut Findings) {
        let Some(first) = self.cells.first() else {
            return;
        };
        let (zh_cells, en_cells) = describe_cells(self.template, &self.cells);
        let places = summarise_places(&self.places);
        let zh = format!(
            "无法核验：{}{}所需的单元格缺失或无法确定（{}），本规则未计算。",
            table_name(self.table),
            places,
            zh_cells
        );
        let en = format!(
            "{} cannot be checked for {} of {}: {}",
            self.rule,
            self.places.len(),
            self.table,
            en_cells
        );
        let refs = self
            .cells
            .iter()
            .map(|c| cell_ref(c.table, c.row, c.column))
            .collect();
        let f = finding(self.rule, Severity::Warning, zh, en)
            .at(self.table, Some(first.row), Some(first.column))
            .with_cells(refs);
        out.push_table(f);
    }
}

fn summarise_places(places: &[String]) -> String {
    match places {
        [] => String::new(),
        [one] => one.clone(),
        [first, ..] if places.len() > 3 => format!("{first}等 {} 处", places.len()),
        many => many.join("、"),
    }
}

/// Groups unusable cells by row: `「（七）总计」行（7 列均缺失）、「二、…」行「自然人」列为占位符`.
pub(crate) fn describe_cells(template: Template, cells: &[Unusable<'_>]) -> (String, String) {
    let mut rows: Vec<(&str, Vec<&Unusable<'_>>)> = Vec::new();
    for c in cells {
        match rows.iter_mut().find(|(r, _)| *r == c.row) {
            Some((_, v)) => v.push(c),
            None => rows.push((c.row, vec![c])),
        }
    }
    // Long runs of whole rows in the same state (a truncated table) read as a range.
    let whole = |group: &[&Unusable<'_>]| {
        group.len() > 2 && group.iter().all(|c| c.state == group[0].state)
    };
    if rows.len() > 3 && rows.iter().all(|(_, g)| whole(g)) {
        let states: Vec<Option<CellState>> = rows.iter().map(|(_, g)| g[0].state).collect();
        if states.iter().all(|s| *s == states[0]) {
            let table = rows[0].1[0].table;
            let first = row_label(template, table, rows[0].0);
            let last = row_label(template, table, rows[rows.len() - 1].0);
            let (state_zh, state_en) = unusable_state(states[0]);
            return (
                format!("「{first}」至「{last}」共 {} 行均{state_zh}", rows.len()),
                format!(
                    "{} rows from {} to {} {state_en}",
                    rows.len(),
                    rows[0].0,
                    rows[rows.len() - 1].0
                ),
            );
        }
    }
    // The parts are written into the two lists directly: a truncated table names hundreds of
    // cells, and a String per part, joined at the end, was most of this function's cost.
    let mut zh = String::new();
    let mut en = String::new();
    let mut first = true;
    let mut separate = |zh: &mut String, en: &mut String| {
        if !first {
            zh.push('、');
            en.push_str(", ");
        }
        first = false;
    };
    for (row, group) in rows {
        let table = group.first().map_or(TableId::T3, |c| c.table);
        let label = row_label(template, table, row);
        let same_state = group.iter().all(|c| c.state == group[0].state);
        let (state_zh, state_en) = unusable_state(group[0].state);
        if group.len() > 2 && same_state {
            separate(&mut zh, &mut en);
            let _ = write!(zh, "「{label}」行（{} 列均{state_zh}）", group.len());
            let _ = write!(en, "{row} ({} columns {state_en})", group.len());
        } else {
            for c in group {
                let (s_zh, s_en) = unusable_state(c.state);
                separate(&mut zh, &mut en);
                let _ = write!(
                    zh,
                    "「{label}」行「{}」列{s_zh}",
                    column_label(template, table, row, c.column)
                );
                let _ = write!(en, "{row}/{} {s_en}", c.column);
            }
        }
    }
    (zh, en)
}
