//! The lexical rules of one cell: which stretches of a digit run can be the printed text of a
//! count, a signed count or an amount, and what number each stretch stands for.
//!
//! These rules are what makes a flattened run decodable at all: without them `000` could be
//! `0`, `00` or `000`. They follow how tables are printed: no leading zeros except `0` itself,
//! a sign only in front of a signed cell (and never `-0`), a decimal point only in an amount,
//! thousands separators only in well-formed groups of three, and digit-count caps that no real
//! report reaches (a count of ten digits is already ten billion). The caps also bound the work
//! of the solver: a run longer than its cells can hold is rejected before any search.

use gongkai_model::ValueKind;
use rust_decimal::Decimal;

/// One symbol of a run after the character classes were folded (full-width digits are digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbol {
    Digit(u8),
    Dot,
    Minus,
    Plus,
    Comma,
}

impl Symbol {
    /// The symbol a character stands for inside a number, if any. Full-width forms and the
    /// minus sign U+2212 are accepted so that the solver works on raw and NFKC text alike.
    pub fn of(c: char) -> Option<Symbol> {
        match c {
            '0'..='9' => Some(Symbol::Digit(c as u8 - b'0')),
            '０'..='９' => Some(Symbol::Digit((c as u32 - '０' as u32) as u8)),
            '.' | '．' => Some(Symbol::Dot),
            '-' | '－' | '−' | '﹣' => Some(Symbol::Minus),
            '+' | '＋' => Some(Symbol::Plus),
            ',' => Some(Symbol::Comma),
            _ => None,
        }
    }

    pub fn is_digit(self) -> bool {
        matches!(self, Symbol::Digit(_))
    }
}

/// An exact number: `mantissa × 10^-scale`, the digits as printed (`73802895.90` keeps its
/// trailing zero as scale 2). Cheap to copy and to add, unlike a `Decimal`, which is built only
/// for the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    pub mantissa: i64,
    pub scale: u8,
}

impl Value {
    pub const ZERO: Value = Value {
        mantissa: 0,
        scale: 0,
    };

    pub const fn integer(n: i64) -> Value {
        Value {
            mantissa: n,
            scale: 0,
        }
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.mantissa, u32::from(self.scale))
    }

    /// The mantissa at a larger scale, for sums of values printed with different decimals.
    /// `None` if the rescaled value does not fit (it cannot for the capped lexemes).
    pub(crate) fn at_scale(self, scale: u8) -> Option<i128> {
        let shift = scale.checked_sub(self.scale)?;
        10i128
            .checked_pow(u32::from(shift))
            .and_then(|f| i128::from(self.mantissa).checked_mul(f))
    }
}

/// Digit-count caps per kind of cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most digits of a count or a signed count (sign not included).
    pub count_digits: u8,
    /// Most digits before the decimal point of an amount.
    pub amount_integer_digits: u8,
    /// Most digits after the decimal point of an amount.
    pub amount_fraction_digits: u8,
}

impl Caps {
    /// The ranges of §9 of the spec: ten digits for a count (the 平潭 goldens count splits
    /// with a ten-digit 采购项目数量 among them, so a smaller cap would hide decodings the rules
    /// cannot exclude), fifteen before and eight after the point for an amount. An amount
    /// using both (23 digits) exceeds the `i64` mantissa: the lexer stops where the digits no
    /// longer fit (18 to 19 of them), so such an amount is not a decoding, never an overflow.
    pub const DEFAULT: Caps = Caps {
        count_digits: 10,
        amount_integer_digits: 15,
        amount_fraction_digits: 8,
    };

    /// The most symbols one cell of `kind` can take (digits, sign, point and separators).
    pub fn max_symbols(&self, kind: ValueKind) -> usize {
        let with_commas =
            |digits: u8| usize::from(digits) + usize::from(digits.saturating_sub(1)) / 3;
        match kind {
            ValueKind::Count => with_commas(self.count_digits),
            ValueKind::SignedCount => with_commas(self.count_digits) + 1,
            ValueKind::Amount => {
                with_commas(self.amount_integer_digits)
                    + 1
                    + usize::from(self.amount_fraction_digits)
            }
        }
    }
}

impl Default for Caps {
    fn default() -> Self {
        Caps::DEFAULT
    }
}

/// Calls `emit(length, value)` for every prefix of `symbols` that is a well-formed cell of
/// `kind`, shortest first. `emit` returns false to stop early.
pub fn for_each_lexeme(
    symbols: &[Symbol],
    kind: ValueKind,
    caps: &Caps,
    mut emit: impl FnMut(usize, Value) -> bool,
) {
    let mut i = 0;
    let mut negative = false;
    if kind == ValueKind::SignedCount {
        match symbols.first() {
            Some(Symbol::Minus) => {
                negative = true;
                i = 1;
            }
            Some(Symbol::Plus) => i = 1,
            _ => {}
        }
    }
    let signed = i == 1;
    let integer_cap = match kind {
        ValueKind::Amount => caps.amount_integer_digits,
        ValueKind::Count | ValueKind::SignedCount => caps.count_digits,
    };
    let apply_sign = |m: i64| if negative { -m } else { m };

    // The integer part: no leading zero unless it is `0` itself; commas only as separators of
    // whole groups of three after a first group of one to three digits.
    let leading_zero = matches!(symbols.get(i), Some(Symbol::Digit(0)));
    let mut mantissa: i64 = 0;
    let mut digits: u8 = 0;
    let mut group: u8 = 0;
    let mut grouped = false;
    let mut integer_end = None; // the last position where the integer part may end
    while let Some(&symbol) = symbols.get(i) {
        match symbol {
            Symbol::Digit(d) => {
                if leading_zero && digits == 1 {
                    break;
                }
                if digits >= integer_cap || (grouped && group >= 3) {
                    break;
                }
                // The caps are the caller's: digits that no longer fit the mantissa end the
                // lexeme as the cap would.
                let Some(next) = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i64::from(d)))
                else {
                    break;
                };
                mantissa = next;
                digits += 1;
                group += 1;
                i += 1;
                let complete = !grouped || group == 3;
                if complete {
                    integer_end = Some(i);
                    // `-0` and `+0` are not how a change of zero is printed.
                    let zero_with_sign = signed && mantissa == 0;
                    if !zero_with_sign && !emit(i, Value::integer(apply_sign(mantissa))) {
                        return;
                    }
                }
            }
            Symbol::Comma => {
                let may_group = if grouped {
                    group == 3
                } else {
                    (1..=3).contains(&digits)
                };
                if !may_group
                    || leading_zero
                    || !matches!(symbols.get(i + 1), Some(Symbol::Digit(_)))
                {
                    break;
                }
                grouped = true;
                group = 0;
                i += 1;
            }
            Symbol::Dot | Symbol::Minus | Symbol::Plus => break,
        }
    }

    if kind != ValueKind::Amount {
        return;
    }
    // The fraction of an amount: a point right after a complete integer part, then digits; the
    // printed scale is kept (`.90` is scale 2).
    let Some(end) = integer_end else { return };
    if end != i || !matches!(symbols.get(i), Some(Symbol::Dot)) {
        return;
    }
    i += 1;
    let mut scale: u8 = 0;
    while let Some(&Symbol::Digit(d)) = symbols.get(i) {
        // A Decimal holds 28 decimals at most (`0.000…1` grows the scale, not the mantissa).
        if scale >= caps.amount_fraction_digits || u32::from(scale) >= Decimal::MAX_SCALE {
            return;
        }
        let Some(next) = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(d)))
        else {
            return;
        };
        mantissa = next;
        scale += 1;
        i += 1;
        let value = Value {
            mantissa: apply_sign(mantissa),
            scale,
        };
        if !emit(i, value) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(text: &str) -> Vec<Symbol> {
        text.chars().map(|c| Symbol::of(c).unwrap()).collect()
    }

    fn lexemes(text: &str, kind: ValueKind) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for_each_lexeme(&symbols(text), kind, &Caps::DEFAULT, |len, v| {
            out.push((len, v.to_decimal().to_string()));
            true
        });
        out
    }

    #[test]
    fn counts_have_no_leading_zeros() {
        assert_eq!(lexemes("023", ValueKind::Count), vec![(1, "0".into())]);
        assert_eq!(
            lexemes("230", ValueKind::Count),
            vec![(1, "2".into()), (2, "23".into()), (3, "230".into())]
        );
        assert!(lexemes("-18", ValueKind::Count).is_empty());
        assert!(lexemes(".5", ValueKind::Amount).is_empty());
    }

    #[test]
    fn signs_start_signed_cells_only_and_never_zero() {
        assert_eq!(
            lexemes("-185", ValueKind::SignedCount),
            vec![(2, "-1".into()), (3, "-18".into()), (4, "-185".into())]
        );
        assert!(lexemes("-0", ValueKind::SignedCount).is_empty());
        assert_eq!(lexemes("+7", ValueKind::SignedCount), vec![(2, "7".into())]);
    }

    #[test]
    fn amounts_keep_their_printed_scale() {
        let all = lexemes("95.90", ValueKind::Amount);
        assert_eq!(
            all,
            vec![
                (1, "9".into()),
                (2, "95".into()),
                (4, "95.9".into()),
                (5, "95.90".into())
            ]
        );
        assert_eq!(lexemes("0.5", ValueKind::Amount).last().unwrap().1, "0.5");
        assert!(
            lexemes("00.5", ValueKind::Amount)
                .iter()
                .all(|(l, _)| *l == 1)
        );
    }

    #[test]
    fn thousands_separators_only_in_whole_groups() {
        assert_eq!(
            lexemes("1,198", ValueKind::Count),
            vec![(1, "1".into()), (5, "1198".into())]
        );
        assert_eq!(lexemes("1,19", ValueKind::Count), vec![(1, "1".into())]);
        assert_eq!(lexemes("1234,567", ValueKind::Count).len(), 4);
    }

    #[test]
    fn digits_beyond_the_mantissa_end_the_lexeme_instead_of_overflowing() {
        // Fifteen integer and eight fraction digits are within the caps but not an i64.
        let all = lexemes("123456789012345.12345678", ValueKind::Amount);
        let longest = all.last().map(|(len, v)| (*len, v.clone()));
        assert_eq!(longest, Some((20, "123456789012345.1234".to_owned())));
        // Caps wider than the mantissa (a caller's choice) stop at the mantissa too.
        let wide = Caps {
            count_digits: 40,
            amount_integer_digits: 40,
            amount_fraction_digits: 40,
        };
        let run = symbols(&"9".repeat(40));
        for kind in [ValueKind::Count, ValueKind::SignedCount, ValueKind::Amount] {
            let mut longest = 0;
            for_each_lexeme(&run, kind, &wide, |len, _| {
                longest = len;
                true
            });
            assert_eq!(longest, 18, "{kind:?}");
        }
        let mut minus = vec![Symbol::Minus];
        minus.extend(symbols(&"9".repeat(40)));
        let mut last = None;
        for_each_lexeme(&minus, ValueKind::SignedCount, &wide, |_, v| {
            last = Some(v);
            true
        });
        assert_eq!(last.map(|v| v.mantissa), Some(-999_999_999_999_999_999));
    }

    #[test]
    fn caps_bound_the_length() {
        assert_eq!(lexemes("12345678901234", ValueKind::Count).len(), 10);
        assert_eq!(Caps::DEFAULT.max_symbols(ValueKind::Count), 13);
    }
}
