//! Finding things in flattened section text: the runs of printed numbers, the row labels, and
//! the source position of a byte offset.
//!
//! A flattened table reads `…禁止公开00000003.危及“三安全一稳定”…`: the `3.` there is the list
//! number of the next label, not a value, and `第二十条第（一）项`, `（2）` are label text too.
//! Runs are therefore maximal stretches of number characters and spaces, with those label
//! numbers cut off, so that the solver only ever sees the digits of values.

use crate::lexeme::Symbol;
use gongkai_model::Position;

/// A stretch of the text that holds printed values (digits, signs, points, separators, spaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRun {
    /// Byte range in the section text, without surrounding spaces or label numbers.
    pub start: usize,
    pub end: usize,
    /// The unit printed right after the run (`元`, `万元`).
    pub unit: Option<&'static str>,
    /// Number of symbols (digits, signs, points, separators) and whitespace-separated tokens,
    /// for a quick "could this hold n cells" before any parsing.
    pub symbols: usize,
    pub tokens: usize,
}

impl NumberRun {
    pub fn could_hold(&self, cells: usize) -> bool {
        self.tokens >= 1 && self.tokens <= cells && cells <= self.symbols
    }
}

const UNITS: [&str; 2] = ["万元", "元"];

/// Characters after which a number is part of a label or a date, not a value:
/// `第20条`, `2020年`, `（2）`.
fn is_label_prefix(c: char) -> bool {
    matches!(c, '第' | '(' | '（')
}

fn is_label_suffix(c: char) -> bool {
    matches!(
        c,
        '条' | '项' | '款' | '年' | '月' | '日' | '号' | ')' | '）' | '、'
    )
}

/// Every number run of `text`, in order.
pub fn number_runs(text: &str) -> Vec<NumberRun> {
    let mut runs = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((offset, c)) = chars.next() {
        if Symbol::of(c).is_none() {
            previous = Some(c);
            continue;
        }
        // A run starts here and extends over number characters and whitespace.
        let before = previous;
        let start = offset;
        let mut last_end = offset + c.len_utf8();
        let mut last_char = c;
        while let Some(&(o, next)) = chars.peek() {
            if Symbol::of(next).is_some() {
                last_end = o + next.len_utf8();
                last_char = next;
            } else if !next.is_whitespace() {
                break;
            }
            chars.next();
        }
        previous = Some(last_char);
        let after = text
            .get(last_end..)
            .and_then(|rest| rest.trim_start().chars().next());
        if let Some(run) = finish_run(text, start, last_end, before, after) {
            runs.push(run);
        }
    }
    runs
}

/// Trims a raw run to the values it holds, or drops it when it holds none.
fn finish_run(
    text: &str,
    mut start: usize,
    mut end: usize,
    before: Option<char>,
    after: Option<char>,
) -> Option<NumberRun> {
    let slice = |s: usize, e: usize| text.get(s..e).unwrap_or("");
    if before.is_some_and(is_label_prefix) || after.is_some_and(is_label_suffix) {
        // `第20条`, `（2）`, `2020年`, `2、`: label or date, unless digits precede the label
        // number in the same run (`00000002、其他…`), which then keep their values.
        if after == Some('、') {
            end = strip_last_digit(text, start, end)?;
        } else {
            return None;
        }
    }
    // The list number of the next label: `…00000002.其他` ends with `2.`.
    if slice(start, end).ends_with(['.', '．']) {
        let without_dot = end
            - slice(start, end)
                .chars()
                .next_back()
                .map_or(1, char::len_utf8);
        let ends_in_digit = slice(start, without_dot)
            .chars()
            .next_back()
            .is_some_and(|c| matches!(Symbol::of(c), Some(Symbol::Digit(_))));
        if ends_in_digit {
            end = strip_last_digit(text, start, without_dot)?;
        }
    }
    // Stray separators at either end belong to the prose, not to a value.
    let trimmed = slice(start, end);
    let inner = trimmed
        .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '．' | ','))
        .trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(Symbol::of(c), Some(s) if !s.is_digit())
        });
    if inner.is_empty() {
        return None;
    }
    start += trimmed.len()
        - trimmed
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '．' | ','))
            .len();
    end = start + inner.len();
    let mut symbols = 0;
    let mut tokens = 0;
    let mut in_token = false;
    let mut digits = 0;
    for c in inner.chars() {
        if c.is_whitespace() {
            in_token = false;
        } else {
            if !in_token {
                tokens += 1;
                in_token = true;
            }
            symbols += 1;
            if matches!(Symbol::of(c), Some(Symbol::Digit(_))) {
                digits += 1;
            }
        }
    }
    if digits == 0 {
        return None;
    }
    let rest = text.get(end..).unwrap_or("");
    let unit = UNITS.into_iter().find(|u| rest.starts_with(u));
    Some(NumberRun {
        start,
        end,
        unit,
        symbols,
        tokens,
    })
}

/// Removes the last character (a digit of a label number) and the whitespace before it;
/// `None` when nothing is left.
fn strip_last_digit(text: &str, start: usize, end: usize) -> Option<usize> {
    let slice = text.get(start..end)?;
    let last = slice.chars().next_back()?;
    let rest = &slice[..slice.len() - last.len_utf8()];
    let kept = rest.trim_end();
    if kept.is_empty() {
        None
    } else {
        Some(start + kept.len())
    }
}

/// The first occurrence of `keyword` at or after byte `from`, tolerating whitespace inside the
/// printed label (`商业 企业`). Returns its byte range.
pub fn find_keyword(text: &str, from: usize, keyword: &str) -> Option<(usize, usize)> {
    let mut key = keyword.chars();
    let first = key.next()?;
    let rest: &str = key.as_str();
    let mut at = from;
    loop {
        let hay = text.get(at..)?;
        let found = hay.find(first)?;
        let start = at + found;
        let mut pos = start + first.len_utf8();
        let mut ok = true;
        for k in rest.chars() {
            let tail = text.get(pos..).unwrap_or("");
            let skipped = tail.len() - tail.trim_start().len();
            pos += skipped;
            match text.get(pos..).and_then(|t| t.chars().next()) {
                Some(c) if c == k => pos += c.len_utf8(),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some((start, pos));
        }
        at = start + first.len_utf8();
    }
}

/// Turns byte offsets of the section text into positions in the source, given where the
/// section text starts. Offsets are usually asked in increasing order, so it walks forward
/// from the last answer instead of recounting from the start.
pub struct Locator<'a> {
    text: &'a str,
    origin_line: u32,
    origin_column: u32,
    other_origin: Option<Position>,
    offset: usize,
    line: u32,
    column: u32,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str, origin: &Position) -> Locator<'a> {
        let (line, column, other) = match origin {
            Position::Line { line, column } => (*line, *column, None),
            other => (1, 1, Some(other.clone())),
        };
        Locator {
            text,
            origin_line: line,
            origin_column: column,
            other_origin: other,
            offset: 0,
            line,
            column,
        }
    }

    pub fn position(&mut self, offset: usize) -> Position {
        if let Some(other) = &self.other_origin {
            // Not a line-oriented origin: the best pointer is where the section starts.
            return other.clone();
        }
        if offset < self.offset {
            self.offset = 0;
            self.line = self.origin_line;
            self.column = self.origin_column;
        }
        let span = self.text.get(self.offset..offset).unwrap_or("");
        for c in span.chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.offset = offset;
        Position::Line {
            line: self.line,
            column: self.column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str) -> Vec<&str> {
        number_runs(text)
            .iter()
            .map(|r| &text[r.start..r.end])
            .collect()
    }

    #[test]
    fn label_numbers_are_not_values() {
        assert_eq!(
            runs("1.属于国家秘密00000002.其他法律行政法规禁止公开 00000003.危及"),
            vec!["0000000", "0000000"]
        );
        assert_eq!(runs("第二十条第（一）项信息内容规章 000行政"), vec!["000"]);
        assert_eq!(runs("（2）部分公开12 3（三）"), vec!["12 3"]);
        assert_eq!(runs("第20条规定2020年共"), Vec::<&str>::new());
        assert_eq!(runs("查询事项0000000 2、其他"), vec!["0000000"]);
    }

    #[test]
    fn runs_keep_signs_decimals_spaces_and_units() {
        let text = "行政处罚2648-18538行政强制 总计23 0 00 0 023四、采购39573802895.90元三、";
        assert_eq!(
            runs(text),
            vec!["2648-18538", "23 0 00 0 023", "39573802895.90"]
        );
        let all = number_runs(text);
        assert_eq!(all[2].unit, Some("元"));
        assert_eq!((all[1].tokens, all[1].symbols), (5, 9));
        assert_eq!(runs("收费24252.311082三、"), vec!["24252.311082"]);
    }

    #[test]
    fn keywords_match_across_spaces() {
        let text = "其他 商业 企业科研";
        assert_eq!(find_keyword(text, 0, "商业企业"), Some((7, 20)));
        assert_eq!(find_keyword(text, 8, "商业企业"), None);
    }

    #[test]
    fn positions_count_characters_from_the_origin() {
        let text = "规章000\n规范性文件7";
        let mut at = Locator::new(
            text,
            &Position::Line {
                line: 10,
                column: 5,
            },
        );
        assert_eq!(
            at.position(6),
            Position::Line {
                line: 10,
                column: 7
            }
        );
        let seven = text.find('7').unwrap();
        assert_eq!(
            at.position(seven),
            Position::Line {
                line: 11,
                column: 6
            }
        );
        assert_eq!(
            at.position(0),
            Position::Line {
                line: 10,
                column: 5
            }
        );
    }
}
