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
    /// A reviewer's correction (archive.md §1): `value` is the corrected value (`None`: the
    /// cell is blank), `text` still the text read from the source, and `previous_state` /
    /// `previous_value` what the reader had made of it.
    Corrected,
}

impl CellState {
    pub const fn as_str(self) -> &'static str {
        match self {
            CellState::Number => "number",
            CellState::Blank => "blank",
            CellState::Placeholder => "placeholder",
            CellState::Missing => "missing",
            CellState::Ambiguous => "ambiguous",
            CellState::Corrected => "corrected",
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
    /// For `corrected` cells: the state the reader gave the cell before the correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<CellState>,
    /// For `corrected` cells: the value before the correction (`None` when it had none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::exact::option"
    )]
    pub previous_value: Option<Decimal>,
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
            previous_state: None,
            previous_value: None,
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
            previous_state: None,
            previous_value: None,
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
            previous_state: None,
            previous_value: None,
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
            previous_state: None,
            previous_value: None,
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
            previous_state: None,
            previous_value: None,
        }
    }

    pub fn with_unit(mut self, unit: impl Into<String>) -> Cell {
        self.unit = Some(unit.into());
        self
    }

    /// `self` corrected by a reviewer to `value` (`None`: blank, read as 0): the source text
    /// and position stay, the reader's state and value are kept as the previous ones. A cell
    /// corrected twice keeps what the reader had read, not the first correction.
    pub fn corrected(&self, value: Option<Decimal>) -> Cell {
        let (previous_state, previous_value) = match self.state {
            CellState::Corrected => (self.previous_state, self.previous_value),
            state => (Some(state), self.value),
        };
        Cell {
            value: Some(value.unwrap_or(Decimal::ZERO)),
            text: self.text.clone(),
            state: CellState::Corrected,
            position: self.position.clone(),
            unit: self.unit.clone(),
            candidates: Vec::new(),
            previous_state,
            previous_value,
        }
    }

    /// The value the arithmetic rules may use: numbers, blanks (as 0) and corrected values,
    /// nothing else.
    pub fn usable(&self) -> Option<Decimal> {
        match self.state {
            CellState::Number | CellState::Blank | CellState::Corrected => self.value,
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
