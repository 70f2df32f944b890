//! Decoding of the statistics tables of a report when a web page or text dump flattened them
//! to text without cell separators (`规范性文件7777166`, `21317000001324019`).

pub mod lexeme;
pub mod solver;

use gongkai_model::{Ambiguity, Position, Table, TableId, Template};

/// A table decoded from flattened text, with the runs that fit the rules in more than one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatTable {
    pub table: Table,
    pub ambiguities: Vec<Ambiguity>,
}

/// Reads `table` of `template` from the normalised text of its section.
pub fn read_flattened_table(
    text: &str,
    origin: Position,
    table: TableId,
    template: Template,
) -> Option<FlatTable> {
    let _ = (text, origin, table, template);
    None
}
