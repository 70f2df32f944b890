//! The collector the rules push their findings into, and the stable order findings leave in:
//! by the part of the report (0 = the whole document, then sections 1–6; a table's findings
//! under its section), then the rule's place in the catalogue, then row and column in the
//! printed order of the template, then the order the rule produced them.

use crate::catalogue::rule_rank;
use gongkai_model::schema::{self, TableId, Template};
use gongkai_model::{CellRef, Finding, Severity};

/// The part of the report a finding belongs to, when it is not a table's.
pub(crate) const DOCUMENT: u8 = 0;

#[derive(Debug, Default)]
pub(crate) struct Findings {
    items: Vec<(u8, Finding)>,
}

impl Findings {
    /// Adds a finding about section `section` (1–6), or [`DOCUMENT`].
    pub(crate) fn push(&mut self, section: u8, finding: Finding) {
        self.items.push((section, finding));
    }

    /// Adds a finding about a table: it sorts under the table's section.
    pub(crate) fn push_table(&mut self, finding: Finding) {
        let section = finding.table.map_or(DOCUMENT, TableId::section);
        self.items.push((section, finding));
    }

    pub(crate) fn into_sorted(self) -> Vec<Finding> {
        let mut keyed: Vec<_> = self
            .items
            .into_iter()
            .enumerate()
            .map(|(seq, (section, f))| {
                let key = (
                    section,
                    rule_rank(&f.rule),
                    row_rank(f.table, f.row.as_deref()),
                    column_rank(f.table, f.row.as_deref(), f.column.as_deref()),
                    seq,
                );
                (key, f)
            })
            .collect();
        keyed.sort_by_key(|(key, _)| *key);
        keyed.into_iter().map(|(_, f)| f).collect()
    }
}

/// The printed position of `row` in `table`, over every version (t2 rows of F2019 first, as
/// their keys are a superset of F2021's except the docs columns).
fn row_rank(table: Option<TableId>, row: Option<&str>) -> usize {
    let (Some(table), Some(row)) = (table, row) else {
        return 0;
    };
    let order: &[&[schema::RowSpec]] = match table {
        TableId::T2 => &[schema::T2_F2019, schema::T2_F2021],
        TableId::T3 => &[schema::T3_ALL],
        TableId::T4 => &[schema::T4_ROWS],
    };
    order
        .iter()
        .find_map(|rows| rows.iter().position(|r| r.key == row))
        .map_or(usize::MAX, |p| p + 1)
}

fn column_rank(table: Option<TableId>, row: Option<&str>, column: Option<&str>) -> usize {
    let (Some(table), Some(row), Some(column)) = (table, row, column) else {
        return 0;
    };
    [Template::F2019, Template::F2021, Template::Mixed]
        .into_iter()
        .filter_map(|t| schema::row(t, table, row))
        .find_map(|r| r.columns.iter().position(|c| c.key == column))
        .map_or(usize::MAX, |p| p + 1)
}

/// A reference to one cell.
pub(crate) fn cell_ref(table: TableId, row: &str, column: &str) -> CellRef {
    CellRef {
        table,
        row: Some(row.to_owned()),
        column: Some(column.to_owned()),
    }
}

/// A reference to a whole row.
pub(crate) fn row_ref(table: TableId, row: &str) -> CellRef {
    CellRef {
        table,
        row: Some(row.to_owned()),
        column: None,
    }
}

/// A new finding of `rule` with the given severity and messages.
pub(crate) fn finding(rule: &str, severity: Severity, zh: String, en: String) -> Finding {
    Finding::new(rule, severity, zh).en(en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_section_then_rule_then_row_then_column() {
        let mut f = Findings::default();
        let t3 = |row: &str, col: &str| {
            Finding::new("T3-ROW-TOTAL", Severity::Error, "").at(TableId::T3, Some(row), Some(col))
        };
        f.push(5, Finding::new("P-EMPTY", Severity::Warning, ""));
        f.push_table(t3("partially_granted", "total"));
        f.push_table(t3("granted", "total"));
        f.push_table(Finding::new("T3-BALANCE", Severity::Error, "").at(
            TableId::T3,
            Some("total_processed"),
            Some("total"),
        ));
        f.push_table(Finding::new("C-BLANK", Severity::Warning, "").at(
            TableId::T3,
            Some("new_received"),
            Some("research"),
        ));
        f.push(DOCUMENT, Finding::new("S-METADATA", Severity::Warning, ""));
        f.push_table(Finding::new("T4-TOTAL", Severity::Error, "").at(
            TableId::T4,
            Some("review"),
            Some("total"),
        ));
        let sorted = f.into_sorted();
        let got: Vec<(&str, Option<&str>)> = sorted
            .iter()
            .map(|f| (f.rule.as_str(), f.row.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("S-METADATA", None),
                ("C-BLANK", Some("new_received")),
                ("T3-BALANCE", Some("total_processed")),
                ("T3-ROW-TOTAL", Some("granted")),
                ("T3-ROW-TOTAL", Some("partially_granted")),
                ("T4-TOTAL", Some("review")),
                ("P-EMPTY", None),
            ]
        );
    }
}
