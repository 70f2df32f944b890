//! One value cell of a table: the number read, the text it came from, where, and in what state.
//!
//! Numbers are [`rust_decimal::Decimal`], never binary floats: an amount printed `18,759.694`
//! or `73802895.90` keeps exactly those digits (scale included) from the source to the JSON
//! and the archive.

use crate::schema::ValueKind;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most digits of a count (§9 of the spec): ten digits is already ten billion requests.
pub const MAX_COUNT_DIGITS: u32 = 10;
/// The most digits before the decimal point of an amount (§9).
pub const MAX_AMOUNT_INTEGER_DIGITS: u32 = 15;
/// The most digits after the decimal point of an amount (§9); counts are held to it too, so
/// that a count printed with decimals is a `C-NOT-INTEGER` finding, not an overflow.
pub const MAX_FRACTION_DIGITS: u32 = 8;

impl ValueKind {
    /// The most digits before the decimal point a value of this kind may have (§9).
    pub const fn max_integer_digits(self) -> u32 {
        match self {
            ValueKind::Count | ValueKind::SignedCount => MAX_COUNT_DIGITS,
            ValueKind::Amount => MAX_AMOUNT_INTEGER_DIGITS,
        }
    }

    /// Whether `value` is within §9's range for this kind: at most
    /// [`Self::max_integer_digits`] digits before the point and [`MAX_FRACTION_DIGITS`] after
    /// it (as printed: `12.50` has two). Values in range can be summed by the hundreds without
    /// any risk of overflowing a [`Decimal`].
    pub fn holds(self, value: Decimal) -> bool {
        let scale = value.scale();
        if scale > MAX_FRACTION_DIGITS {
            return false;
        }
        // The integer part is below 10^n exactly when the mantissa is below 10^(n + scale):
        // integer arithmetic on the parts, no Decimal built (this runs for every cell read).
        10i128
            .checked_pow(self.max_integer_digits() + scale)
            .is_some_and(|bound| value.mantissa().unsigned_abs() < bound.unsigned_abs())
    }
}

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
    /// A number longer than any real count or amount (§9); `value` is `None`, the text is
    /// kept, and a `C-RANGE` error is due.
    Invalid,
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
            CellState::Invalid => "invalid",
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
    /// The number; `None` for placeholder, missing, ambiguous and invalid cells, 0 for blank
    /// ones.
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

    /// A number out of range (§9): the printed text is kept, the value is not.
    pub fn invalid(text: impl Into<String>, position: Option<Position>) -> Cell {
        Cell {
            value: None,
            text: text.into(),
            state: CellState::Invalid,
            position,
            unit: None,
            candidates: Vec::new(),
            previous_state: None,
            previous_value: None,
        }
    }

    /// Makes a `number` cell whose value is outside `kind`'s range (§9) `invalid`; true if it
    /// did. Other cells are left as they are.
    pub fn invalidate_out_of_range(&mut self, kind: ValueKind) -> bool {
        match (self.state, self.value) {
            (CellState::Number, Some(v)) if !kind.holds(v) => {
                self.state = CellState::Invalid;
                self.value = None;
                true
            }
            _ => false,
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
    /// nothing else, and never a value beyond the widest range of §9 (which a report read by
    /// gongkai never holds, its reader makes such cells `invalid`, but a report built
    /// otherwise might).
    pub fn usable(&self) -> Option<Decimal> {
        match self.state {
            CellState::Number | CellState::Blank | CellState::Corrected => {
                self.value.filter(|v| ValueKind::Amount.holds(*v))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    #[test]
    fn ranges_follow_section_nine() {
        assert!(ValueKind::Count.holds(d("9999999999")));
        assert!(!ValueKind::Count.holds(d("10000000000")));
        assert!(ValueKind::SignedCount.holds(d("-9999999999")));
        assert!(!ValueKind::SignedCount.holds(d("-10000000000")));
        assert!(ValueKind::Amount.holds(d("999999999999999.99999999")));
        assert!(!ValueKind::Amount.holds(d("1000000000000000")));
        assert!(!ValueKind::Amount.holds(d("1.123456789")));
        // Trailing zeros are printed digits.
        assert!(!ValueKind::Amount.holds(d("1.000000000")));
        assert!(ValueKind::Count.holds(d("12.5")));
        assert!(!ValueKind::Count.holds(d("12345678901234567890123456789")));
    }

    #[test]
    fn out_of_range_numbers_become_invalid_and_unusable() {
        let mut cell = Cell::number(d("12345678901"), "12345678901", None);
        assert!(cell.invalidate_out_of_range(ValueKind::Count));
        assert_eq!(cell.state, CellState::Invalid);
        assert_eq!(cell.value, None);
        assert_eq!(cell.text, "12345678901");
        let json = serde_json::to_string(&cell).expect("serialize");
        assert!(json.contains("\"state\":\"invalid\""), "{json}");
        assert!(json.contains("\"value\":null"), "{json}");

        let mut amount = Cell::number(d("12345678901"), "12345678901", None);
        assert!(!amount.invalidate_out_of_range(ValueKind::Amount));
        assert_eq!(amount.usable(), Some(d("12345678901")));
        // A report built otherwise than by the reader never hands the rules a huge value.
        let huge = Cell::number(d("79228162514264337593543950335"), "7…", None);
        assert_eq!(huge.usable(), None);
    }

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
