//! One printed cell to one [`Cell`]: numbers with thousands separators, signs, decimals and
//! units; blanks; placeholders.
//!
//! Values are exact decimals parsed from the printed digits (`18,759.694` → `18759.694` with
//! its scale), never through a float. The cell keeps the text as printed.

use crate::normalize::normalize_text;
use gongkai_model::{Cell, Decimal, Position};
use std::borrow::Cow;
use std::str::FromStr;

/// Units printed after an amount or a count; kept in [`Cell::unit`].
const UNITS: &[&str] = &[
    "万元", "亿元", "元", "人次", "件", "个", "项", "条", "次", "家",
];

/// Texts that stand where a number belongs without being one.
const PLACEHOLDERS: &[&str] = &[
    "无",
    "不适用",
    "暂无",
    "未涉及",
    "空",
    "/",
    "\\",
    "-",
    "--",
    "—",
    "——",
    "–",
    "…",
    "……",
    "×",
    "N/A",
    "n/a",
    "NA",
];

/// What a printed cell holds, before it becomes a [`Cell`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    /// A number; `value` is `None` when it has more digits than a [`Decimal`] holds, far
    /// beyond the range of any cell (§9: the cell is `invalid`). Values within a `Decimal`
    /// but beyond their column's range are judged once the column is known
    /// ([`gongkai_model::Tables::invalidate_out_of_range`]).
    Number {
        value: Option<Decimal>,
        unit: Option<String>,
    },
    Blank,
    Placeholder,
    /// Words: a label, not a value.
    Text,
}

/// Classifies printed cell text.
pub fn classify(raw: &str) -> Printed {
    classify_normalized(&normalize_text(raw))
}

/// [`classify`] for text already passed through [`normalize_text`].
pub fn classify_normalized(normalized: &str) -> Printed {
    // Most cells are plain digits, which the general path below reads the same way; up to
    // 18 digits fit a u64, whose Decimal is the one `from_str` gives (scale 0).
    if !normalized.is_empty() && normalized.bytes().all(|b| b.is_ascii_digit()) {
        let value = if normalized.len() <= 18 {
            normalized
                .bytes()
                .try_fold(0u64, |n, d| {
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
                .map(Decimal::from)
        } else {
            Decimal::from_str(normalized).ok()
        };
        // Digits too many for any Decimal are still a number, one out of range (§9).
        return Printed::Number { value, unit: None };
    }
    let compact: Cow<'_, str> = crate::normalize::without_whitespace(normalized);
    if compact.is_empty() {
        return Printed::Blank;
    }
    if PLACEHOLDERS.contains(&compact.as_ref())
        || compact
            .chars()
            .all(|c| matches!(c, '/' | '-' | '—' | '–' | '\\' | '－' | '／'))
    {
        return Printed::Placeholder;
    }
    match parse_number(&compact) {
        Some((value, unit)) => Printed::Number { value, unit },
        None => Printed::Text,
    }
}

/// Parses `-205`, `+1036`, `1,198`, `18,759.694`, `251000元`, `96171.6万元`; the value is
/// `None` for a well-formed number too long for a [`Decimal`].
pub fn parse_number(compact: &str) -> Option<(Option<Decimal>, Option<String>)> {
    let mut body = compact;
    let mut unit = None;
    for u in UNITS {
        if let Some(stripped) = body.strip_suffix(u) {
            body = stripped;
            unit = Some((*u).to_owned());
            break;
        }
    }
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    // Words (labels) fail at their first character: nothing is allocated for them.
    let digits: Cow<'_, str> = if digits.contains('，') {
        Cow::Owned(digits.replace('，', ","))
    } else {
        Cow::Borrowed(digits)
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits.as_ref(), None),
    };
    if int_part.is_empty() || !int_part.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let single_group = !int_part.contains(',');
    let valid_groups = int_part.split(',').enumerate().all(|(i, g)| {
        !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()) && (i == 0 || g.len() == 3)
    }) && int_part
        .split(',')
        .next()
        .is_some_and(|g| single_group || g.len() <= 3);
    if !valid_groups {
        return None;
    }
    if let Some(f) = frac_part
        && (f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut plain = String::with_capacity(digits.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.extend(int_part.chars().filter(|c| *c != ','));
    if let Some(f) = frac_part {
        plain.push('.');
        plain.push_str(f);
    }
    // A number beyond a Decimal is kept as a number out of range, not read as a label.
    Some((Decimal::from_str(&plain).ok(), unit))
}

/// The model cell for printed text at `position`.
pub fn read_cell(raw: &str, position: Option<Position>) -> Cell {
    let text = raw.trim();
    cell_from(&classify(text), text, position)
}

/// The model cell for printed `text` already classified as `printed`.
pub fn cell_from(printed: &Printed, text: &str, position: Option<Position>) -> Cell {
    let text = text.trim();
    match printed {
        Printed::Number { value, unit } => {
            let cell = match value {
                Some(v) => Cell::number(*v, text, position),
                None => Cell::invalid(text, position),
            };
            match unit {
                Some(u) => cell.with_unit(u.clone()),
                None => cell,
            }
        }
        Printed::Blank => Cell::blank(text, position),
        Printed::Placeholder | Printed::Text => Cell::placeholder(text, position),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(raw: &str) -> Option<String> {
        match classify(raw) {
            Printed::Number { value, .. } => value.map(|v| v.to_string()),
            _ => None,
        }
    }

    #[test]
    fn numbers_as_printed() {
        assert_eq!(value("1,198").as_deref(), Some("1198"));
        assert_eq!(value("-205").as_deref(), Some("-205"));
        assert_eq!(value("+1036").as_deref(), Some("1036"));
        assert_eq!(value("18,759.694").as_deref(), Some("18759.694"));
        assert_eq!(value("73802895.90").as_deref(), Some("73802895.90"));
        assert_eq!(value("１２３").as_deref(), Some("123"));
        assert_eq!(value(" 4 ").as_deref(), Some("4"));
        assert_eq!(value("1,2"), None);
        assert_eq!(value("12,34,567"), None);
        assert_eq!(value("1.2.3"), None);
    }

    #[test]
    fn plain_digits_read_as_from_str_reads_them() {
        for text in [
            "0",
            "7",
            "007",
            "1198",
            "999999999999999999",
            "1000000000000000000",
        ] {
            let Printed::Number {
                value: Some(value), ..
            } = classify(text)
            else {
                panic!("{text}");
            };
            let parsed = Decimal::from_str(text).expect("decimal");
            assert_eq!(value.serialize(), parsed.serialize(), "{text}");
        }
    }

    #[test]
    fn numbers_too_long_for_a_decimal_are_invalid_cells_not_labels() {
        for text in [
            "123456789012345678901234567890123",
            "1,234,567,890,123,456,789,012,345,678,901",
            "123456789012345678901234567890.5元",
        ] {
            assert!(
                matches!(classify(text), Printed::Number { value: None, .. }),
                "{text}"
            );
            let cell = read_cell(text, None);
            assert_eq!(cell.state, gongkai_model::CellState::Invalid, "{text}");
            assert_eq!(cell.value, None);
            assert_eq!(cell.text, text);
        }
        // Within a Decimal: a number, judged against its column's range later.
        assert_eq!(
            value("12345678901234567890123456789").as_deref(),
            Some("12345678901234567890123456789")
        );
    }

    #[test]
    fn units_are_kept() {
        let cell = read_cell("251000元", None);
        assert_eq!(cell.value.map(|v| v.to_string()).as_deref(), Some("251000"));
        assert_eq!(cell.unit.as_deref(), Some("元"));
        assert_eq!(cell.text, "251000元");
    }

    #[test]
    fn blanks_and_placeholders() {
        assert_eq!(classify(""), Printed::Blank);
        assert_eq!(classify("\u{A0}"), Printed::Blank);
        for p in ["/", "-", "—", "——", "无", "不适用", "／"] {
            assert_eq!(classify(p), Printed::Placeholder, "{p}");
        }
        assert_eq!(classify("规章"), Printed::Text);
        let blank = read_cell("", None);
        assert_eq!(blank.value, Some(Decimal::ZERO));
    }
}
