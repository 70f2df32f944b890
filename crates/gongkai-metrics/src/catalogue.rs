//! A stable small id for every value cell of either template (t2 of F2021 and F2019, t3 with
//! every row of both versions, t4): the order in which the archive stores one report's cells as
//! arrays (`report_facts.cell_ids`), so that a cell's row and column keys are not stored again
//! for every report. Ids are positions in [`CATALOGUE`]: only ever appended to.

use gongkai_model::TableId;
use gongkai_model::schema::{T2_F2019, T2_F2021, T3_ALL, T3_COLUMNS, T4_ROWS};
use std::collections::HashMap;
use std::sync::LazyLock;

/// One catalogued cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellKey {
    pub table: TableId,
    pub row: &'static str,
    pub column: &'static str,
}

/// Every cell of either template, in a fixed order: t2 (F2021's cells, then F2019's others),
/// t3 (every row of both versions × the seven columns), t4.
pub static CATALOGUE: LazyLock<Vec<CellKey>> = LazyLock::new(|| {
    let mut cells: Vec<CellKey> = Vec::new();
    let mut push = |table: TableId, row: &'static str, column: &'static str| {
        let key = CellKey { table, row, column };
        if !cells.contains(&key) {
            cells.push(key);
        }
    };
    for rows in [T2_F2021, T2_F2019] {
        for row in rows {
            for column in row.columns {
                push(TableId::T2, row.key, column.key);
            }
        }
    }
    for row in T3_ALL {
        for column in T3_COLUMNS {
            push(TableId::T3, row.key, column.key);
        }
    }
    for row in T4_ROWS {
        for column in row.columns {
            push(TableId::T4, row.key, column.key);
        }
    }
    cells
});

type Ids = HashMap<&'static str, HashMap<&'static str, i16>>;

/// The ids by table, row and column (a lookup for each of a report's 200 cells).
static IDS: LazyLock<[Ids; 3]> = LazyLock::new(|| {
    let mut ids: [Ids; 3] = Default::default();
    for (i, key) in CATALOGUE.iter().enumerate() {
        if let (Ok(id), Some(table)) = (i16::try_from(i), ids.get_mut(table_index(key.table))) {
            table.entry(key.row).or_default().insert(key.column, id);
        }
    }
    ids
});

fn table_index(table: TableId) -> usize {
    match table {
        TableId::T2 => 0,
        TableId::T3 => 1,
        TableId::T4 => 2,
    }
}

/// The id of a cell, `None` for one no template has.
pub fn cell_id(table: TableId, row: &str, column: &str) -> Option<i16> {
    IDS.get(table_index(table))?.get(row)?.get(column).copied()
}

/// The cell of an id.
pub fn cell_key(id: i16) -> Option<CellKey> {
    usize::try_from(id)
        .ok()
        .and_then(|i| CATALOGUE.get(i).copied())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_are_stable_and_cover_both_templates() {
        // t2: 10 F2021 cells + 22 F2019 cells, of which licensing/punishment/enforcement
        // `decisions` are shared (3): 29. t3: 26 rows × 7 = 182. t4: 15.
        assert_eq!(CATALOGUE.len(), 29 + 182 + 15);
        assert_eq!(cell_id(TableId::T2, "regulations", "issued"), Some(0));
        assert_eq!(cell_id(TableId::T2, "fees", "amount"), Some(9));
        assert_eq!(
            cell_id(TableId::T3, "new_received", "natural_person"),
            Some(29)
        );
        assert_eq!(
            cell_id(TableId::T4, "litigation_after_review", "total"),
            Some(225)
        );
        for (i, key) in CATALOGUE.iter().enumerate() {
            let id = i16::try_from(i).unwrap();
            assert_eq!(cell_key(id), Some(*key));
            assert_eq!(cell_id(key.table, key.row, key.column), Some(id));
        }
        assert_eq!(cell_id(TableId::T3, "nonsense", "total"), None);
    }
}
