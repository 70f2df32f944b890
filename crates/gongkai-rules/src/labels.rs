//! The Chinese names of tables, rows, columns and cells used in messages, taken from the
//! model's schema labels so that a message names a cell the way the printed report does.

use gongkai_model::schema::{self, RowSpec, TableId, Template};
use gongkai_model::{CellState, Decimal};

/// The short name of a table in messages: the table of section 二 is 表二, and so on.
pub(crate) fn table_name(table: TableId) -> &'static str {
    match table {
        TableId::T2 => "表二",
        TableId::T3 => "表三",
        TableId::T4 => "表四",
    }
}

/// The templates to look a key up in, `preferred` first.
fn lookup_order(preferred: Template) -> [Template; 4] {
    [preferred, Template::F2021, Template::F2019, Template::Mixed]
}

pub(crate) fn row_spec(preferred: Template, table: TableId, row: &str) -> Option<&'static RowSpec> {
    lookup_order(preferred)
        .into_iter()
        .find_map(|t| schema::row(t, table, row))
}

/// The printed label of a row, without the long remark of （二）部分公开 and with the group
/// heading of numbered sub-rows (（三）不予公开·1.属于国家秘密), so that it is unambiguous.
pub(crate) fn row_label(preferred: Template, table: TableId, row: &str) -> String {
    let Some(spec) = row_spec(preferred, table, row) else {
        return row.to_owned();
    };
    let label = shorten(spec.label).replace(" › ", "·");
    match spec.block {
        Some(block) if table == TableId::T3 && block.starts_with('（') => {
            format!("{block}·{label}")
        }
        _ => label,
    }
}

/// Cuts a trailing parenthetical remark: `（二）部分公开（区分处理的…）` → `（二）部分公开`.
fn shorten(label: &str) -> &str {
    label
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '（')
        .map_or(label, |(i, _)| label.get(..i).unwrap_or(label))
}

/// The printed label of a column; t3's organisation columns carry their group heading.
pub(crate) fn column_label(preferred: Template, table: TableId, row: &str, column: &str) -> String {
    let spec = lookup_order(preferred)
        .into_iter()
        .filter_map(|t| schema::row(t, table, row))
        .find_map(|r| r.column(column));
    match spec {
        Some(c) if table == TableId::T3 && !matches!(c.key, "natural_person" | "total") => {
            format!("法人或其他组织·{}", c.label)
        }
        Some(c) => shorten(c.label).to_owned(),
        None => column.to_owned(),
    }
}

/// `表三「（一）予以公开」行「自然人」列`.
pub(crate) fn cell_label(preferred: Template, table: TableId, row: &str, column: &str) -> String {
    format!(
        "{}「{}」行「{}」列",
        table_name(table),
        row_label(preferred, table, row),
        column_label(preferred, table, row, column)
    )
}

/// `t3 granted/natural_person`, for English messages.
pub(crate) fn cell_id(table: TableId, row: &str, column: &str) -> String {
    format!("{table} {row}/{column}")
}

/// What is wrong with a cell that a rule cannot use, in Chinese and English.
pub(crate) fn unusable_state(state: Option<CellState>) -> (&'static str, &'static str) {
    match state {
        None | Some(CellState::Missing) => ("缺失", "missing"),
        Some(CellState::Placeholder) => ("为占位符", "a placeholder"),
        Some(CellState::Ambiguous) => ("有多种拆分", "ambiguous"),
        Some(CellState::Invalid) => ("超出数值范围", "out of range"),
        Some(CellState::Number | CellState::Blank | CellState::Corrected) => {
            ("无数值", "without a value")
        }
    }
}

/// `a + b + c` of the non-zero terms (`0` when all are zero), for messages about sums.
pub(crate) fn nonzero_terms(terms: &[(String, Decimal)]) -> String {
    let parts: Vec<String> = terms
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(label, v)| format!("{label} {v}"))
        .collect();
    if parts.is_empty() {
        "各项均为 0".to_owned()
    } else {
        parts.join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_schema() {
        assert_eq!(
            cell_label(
                Template::F2021,
                TableId::T3,
                "partially_granted",
                "other_org"
            ),
            "表三「（二）部分公开」行「法人或其他组织·其他」列"
        );
        assert_eq!(
            row_label(Template::F2019, TableId::T3, "denied_state_secret"),
            "（三）不予公开·1.属于国家秘密"
        );
        assert_eq!(
            row_label(Template::F2021, TableId::T4, "litigation_direct"),
            "行政诉讼·未经复议直接起诉"
        );
        assert_eq!(
            column_label(Template::F2021, TableId::T2, "fees", "amount"),
            "本年收费金额"
        );
        assert_eq!(
            cell_label(Template::F2019, TableId::T2, "licensing", "change"),
            "表二「行政许可」行「本年增/减」列"
        );
    }
}
