//! One value cell of a table: the number read, the text it came from, where, and in what state.
//!
//! Numbers are [`rust_decimal::Decimal`], never binary floats: an amount printed `18,759.694`
//! or `73802895.90` keeps exactly those digits (scale included) from the source to the JSON
//! and the archive.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What the reader found where a value belongs (§5 of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellState {
    /// A number was read; `value` holds it.
    Number,
    /// The cell exists but is empty; `value` is 0 and a `C-BLANK` warning is due.
    Blank,
    /// `/`, `-`, `—`, `无`, `不适用` and the like; `value` is `None`.
    Placeholder,
    /// The source does not contain the cell (a truncated table); `value` is `None`.
    Missing,
    /// Concatenated digits that decode in more than one way; `candidates` lists the values.
    Ambiguous,
}

impl CellState {
    pub const fn as_str(self) -> &'static str {
        match self {
            CellState::Number => "number",
            CellState::Blank => "blank",
            CellState::Placeholder => "placeholder",
            CellState::Missing => "missing",
            CellState::Ambiguous => "ambiguous",
        }
    }
}

/// Where in the source a cell or a finding was read, so that a person can be pointed at it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    /// Text and Markdown: 1-based line of the decoded text, 1-based character column.
    Line { line: u32, column: u32 },
    /// HTML and DOCX: 0-based index of the table in the document, then grid row and column
    /// (after rowspan/colspan or gridSpan/vMerge expansion).
    Grid { table: u32, row: u32, column: u32 },
    /// PDF: 1-based page, then the glyph box's left and top in whole PDF points from the page's
    /// top-left corner.
    Page { page: u32, x: i32, y: i32 },
}

/// One value cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The number; `None` for placeholder, missing and ambiguous cells, 0 for blank ones.
    #[serde(with = "crate::exact::option")]
    pub value: Option<Decimal>,
    /// The source text the value was read from, as printed (after decoding, before
    /// normalisation), e.g. `1,198`, `-205`, `251000元`, `&nbsp;` read as ``.
    pub text: String,
    pub state: CellState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// A unit printed with the number (`万元`, `元`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// For `ambiguous` cells: every value this cell takes in some decoding that fits every rule.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::exact::vec"
    )]
    pub candidates: Vec<Decimal>,
}

impl Cell {
    pub fn number(value: Decimal, text: impl Into<String>, position: Option<Position>) -> Cell {
        Cell {
            value: Some(value),
            text: text.into(),
            state: CellState::Number,
            position,
            unit: None,
            candidates: Vec::new(),
        }
    }

    pub fn blank(text: impl Into<String>, position: Option<Position>) -> Cell {
        Cell {
            value: Some(Decimal::ZERO),
            text: text.into(),
            state: CellState::Blank,
            position,
            unit: None,
            candidates: Vec::new(),
        }
    }

    pub fn placeholder(text: impl Into<String>, position: Option<Position>) -> Cell {
        Cell {
            value: None,
            text: text.into(),
            state: CellState::Placeholder,
            position,
            unit: None,
            candidates: Vec::new(),
        }
    }

    pub fn missing() -> Cell {
        Cell {
            value: None,
            text: String::new(),
            state: CellState::Missing,
            position: None,
            unit: None,
            candidates: Vec::new(),
        }
    }

    pub fn ambiguous(
        text: impl Into<String>,
        candidates: Vec<Decimal>,
        position: Option<Position>,
    ) -> Cell {
        Cell {
            value: None,
            text: text.into(),
            state: CellState::Ambiguous,
            position,
            unit: None,
            candidates,
        }
    }

    pub fn with_unit(mut self, unit: impl Into<String>) -> Cell {
        self.unit = Some(unit.into());
        self
    }

    /// The value the arithmetic rules may use: numbers and blanks (as 0), nothing else.
    pub fn usable(&self) -> Option<Decimal> {
        match self.state {
            CellState::Number | CellState::Blank => self.value,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decimals_keep_their_printed_digits_in_json() {
        for text in ["18759.694", "73802895.90", "24252.311082", "0", "-205"] {
            let d = Decimal::from_str(text).expect("decimal");
            let cell = Cell::number(d, text, None);
            let json = serde_json::to_string(&cell).expect("serialize");
            assert!(
                json.contains(&format!("\"value\":{text},")),
                "{json} should hold {text}"
            );
            let back: Cell = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back.value.map(|v| v.to_string()), Some(text.to_owned()));
        }
    }
}
