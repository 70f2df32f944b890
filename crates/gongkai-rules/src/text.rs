//! Small text helpers for the prose rules: compacting the line-wrapped prose of PDFs, splitting
//! sentences and clauses, reading the figures and years written in it.

use gongkai_model::text::{utf8_len, whitespace_len};
use gongkai_model::{Decimal, ValueKind};
use std::str::FromStr;

/// Removes whitespace (PDF text wraps lines anywhere, `2024 年` has spaces), except a single
/// space between two ASCII letters or digits so that words and numbers stay apart. Full-width
/// digits become ASCII ones.
pub(crate) fn compact(text: &str) -> String {
    // Runs of kept characters are copied as slices, and characters are told apart on their
    // bytes: whitespace by `whitespace_len`, full-width digits as EF BC 90..=99.
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    let mut pending_space = false;
    let mut i = 0;
    while i < bytes.len() {
        let space = whitespace_len(bytes, i);
        if space > 0 {
            if !pending_space {
                out.push_str(text.get(run..i).unwrap_or(""));
                pending_space = true;
            }
            i += space;
            run = i;
            continue;
        }
        let lead = bytes[i];
        let digit = (lead == 0xEF && bytes.get(i + 1) == Some(&0xBC))
            .then(|| bytes.get(i + 2).copied())
            .flatten()
            .filter(|b| (0x90..=0x99).contains(b))
            .map(|b| b - 0x90 + b'0');
        if pending_space {
            // Everything before `i` is in `out`. A non-ASCII character's bytes (first or
            // last) are no ASCII letter or digit.
            if digit.unwrap_or(lead).is_ascii_alphanumeric()
                && out.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
            {
                out.push(' ');
            }
            pending_space = false;
        }
        if let Some(d) = digit {
            out.push_str(text.get(run..i).unwrap_or(""));
            out.push(char::from(d));
            i += 3;
            run = i;
            continue;
        }
        i += utf8_len(lead);
    }
    if !pending_space {
        out.push_str(text.get(run..).unwrap_or(""));
    }
    out
}

/// Sentences of compacted prose, ended by 。；！？ (and their ASCII forms).
pub(crate) fn sentences(text: &str) -> impl Iterator<Item = &str> {
    // The terminators are `;`, `!`, `?` and characters with the lead byte E3 (。) or EF (the
    // full-width forms): the bytes are scanned and only those characters decoded.
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while start <= bytes.len() {
            let mut end = None;
            while i < bytes.len() {
                let b = bytes[i];
                if matches!(b, b';' | b'!' | b'?') {
                    end = Some((i, 1));
                    break;
                }
                if matches!(b, 0xE3 | 0xEF)
                    && let Some(c) = text.get(i..).and_then(|rest| rest.chars().next())
                {
                    if matches!(c, '。' | '；' | '！' | '？') {
                        end = Some((i, c.len_utf8()));
                        break;
                    }
                    i += c.len_utf8();
                    continue;
                }
                i += 1;
            }
            let (piece_end, next) = match end {
                Some((at, len)) => (at, at + len),
                None => (bytes.len(), bytes.len() + 1),
            };
            let piece = text.get(start..piece_end).unwrap_or("").trim();
            start = next;
            i = next;
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        None
    })
}

/// True for the characters that end a clause inside a sentence. A comma between two digits is
/// a thousands separator, which the caller handles.
pub(crate) fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '，' | ',' | '：' | ':' | '（' | '）' | '(' | ')' | '“' | '”'
    )
}

/// A figure `N件` found in a sentence: its value and byte range (digits through 件).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Figure {
    pub value: Decimal,
    pub start: usize,
    pub end: usize,
}

/// Every `N件` (digits with optional thousands separators immediately before 件) in `s`.
/// `2200余件`, `100多件` and the like are approximate and skipped.
pub(crate) fn figures(s: &str) -> Vec<Figure> {
    // Most sentences have no 件 and most digits are not before one: each 件 is found by a
    // memchr search and only the digits and commas just before it are read. A figure's bytes
    // are digits and commas, so the scan from the first of them cuts the same figures as a
    // scan from the start of `s` would.
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    for (at, _) in s.match_indices('件') {
        let mut from = at;
        while from > 0 && (bytes[from - 1].is_ascii_digit() || bytes[from - 1] == b',') {
            from -= 1;
        }
        if from < at {
            figures_before(s, from, at, &mut out);
        }
    }
    out
}

/// The figure of `s[from..at]` (digits and commas) that ends at `at`, where a 件 follows.
fn figures_before(s: &str, from: usize, at: usize, out: &mut Vec<Figure>) {
    let bytes = s.as_bytes();
    let mut i = from;
    while i < at {
        if !bytes[i].is_ascii_digit()
            || (i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let (start, j, separators) = number_at(bytes, i);
        if j == at {
            let printed = s.get(start..j).unwrap_or("");
            let value = if separators {
                Decimal::from_str(&printed.replace(',', ""))
            } else {
                Decimal::from_str(printed)
            };
            // A figure longer than any count (§9) is not a number of requests.
            if let Ok(value) = value
                && ValueKind::Count.holds(value)
            {
                out.push(Figure {
                    value,
                    start,
                    end: j + '件'.len_utf8(),
                });
            }
        }
        i = j.max(i + 1);
    }
}

/// The digits starting at `i` with their thousands separators: (start, end, any separator).
fn number_at(bytes: &[u8], i: usize) -> (usize, usize, bool) {
    let mut j = i;
    let mut separators = false;
    while j < bytes.len() {
        let b = bytes[j];
        if b.is_ascii_digit() {
            j += 1;
        } else if b == b','
            && bytes
                .get(j + 1..j + 4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && !bytes.get(j + 4).is_some_and(u8::is_ascii_digit)
        {
            separators = true;
            j += 1;
        } else {
            break;
        }
    }
    (i, j, separators)
}

/// Every year written `YYYY年` (1990–2100) in compacted text, in order.
pub(crate) fn years(text: &str) -> Vec<u16> {
    // ASCII digits are single bytes and no other character's encoding contains one, so the
    // four digits and the digit that must not precede them are checked on bytes.
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (at, _) in text.match_indices('年') {
        let Some(start) = at.checked_sub(4) else {
            continue;
        };
        let digits = &bytes[start..at];
        if !digits.iter().all(u8::is_ascii_digit)
            || start
                .checked_sub(1)
                .is_some_and(|k| bytes[k].is_ascii_digit())
        {
            continue;
        }
        let y = digits
            .iter()
            .fold(0u16, |y, d| y * 10 + u16::from(d - b'0'));
        if (1990..=2100).contains(&y) {
            out.push(y);
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keeps_words_apart_and_joins_wrapped_lines() {
        assert_eq!(compact("答\n复 3050 件"), "答复3050件");
        assert_eq!(compact("意识 and 能力"), "意识and能力");
        assert_eq!(compact("IPv6 and  more"), "IPv6 and more");
        assert_eq!(compact("２０２４ 年"), "2024年");
    }

    /// The definitions the fast versions replace.
    fn compact_by_chars(text: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                pending_space = true;
                continue;
            }
            let c = match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                _ => c,
            };
            if pending_space
                && c.is_ascii_alphanumeric()
                && out
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_ascii_alphanumeric())
            {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
        out
    }

    /// `figures` as a scan from the start of the text, the definition the 件-first search
    /// must agree with.
    fn figures_by_scan(s: &str) -> Vec<(String, usize, usize)> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit()
                || (i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'))
            {
                i += 1;
                continue;
            }
            let (start, j, separators) = number_at(bytes, i);
            if s.get(j..).is_some_and(|rest| rest.starts_with('件')) {
                let printed = s.get(start..j).unwrap_or("");
                let printed = if separators {
                    printed.replace(',', "")
                } else {
                    printed.to_owned()
                };
                if let Ok(value) = Decimal::from_str(&printed)
                    && ValueKind::Count.holds(value)
                {
                    out.push((value.to_string(), start, j + '件'.len_utf8()));
                }
            }
            i = j.max(i + 1);
        }
        out
    }

    #[test]
    fn figures_agree_with_a_scan_from_the_start() {
        let samples = [
            "",
            "件",
            "3件",
            "a3件b12件",
            "1.5件 2.件 .5件",
            "1,234件 12,34件 1,2345件 ,123件 1,234,567件 1,,234件",
            "共收到申请3050件，办结 2 件；另有12,000件和100多件、2200余件。",
            "０１2件9件件99件",
            "1,234.5件 5,000,件 7,000件,8件",
        ];
        for s in samples {
            let got: Vec<_> = figures(s)
                .into_iter()
                .map(|f| (f.value.to_string(), f.start, f.end))
                .collect();
            assert_eq!(got, figures_by_scan(s), "{s:?}");
        }
        // Every text of up to six characters over the characters that matter.
        let alphabet = ['1', '0', ',', '.', '件', 'a'];
        let mut texts = vec![String::new()];
        for _ in 0..6 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            for s in &texts {
                let got: Vec<_> = figures(s)
                    .into_iter()
                    .map(|f| (f.value.to_string(), f.start, f.end))
                    .collect();
                assert_eq!(got, figures_by_scan(s), "{s:?}");
            }
        }
    }

    fn sentences_by_split(text: &str) -> Vec<&str> {
        text.split(['。', '；', ';', '！', '!', '？', '?'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn byte_scans_agree_with_the_definitions() {
        let samples = [
            "",
            " ",
            "。",
            "a。b",
            "答\n复 3050 件。 共 １２ 件；另有 ２ 件! ok? 好！ 不？",
            "IPv6 and  more\u{3000}x\u{A0}y\u{2003}z\u{85}w\u{1680}v\u{2028}u",
            "意识 and 能力；；;!?",
            "１ ２ a ３ 。",
            " 前后 ",
            "ｅ ＡＢ ｆ。＂",
        ];
        for s in samples {
            assert_eq!(compact(s), compact_by_chars(s), "{s:?}");
            assert_eq!(
                sentences(s).collect::<Vec<_>>(),
                sentences_by_split(s),
                "{s:?}"
            );
        }
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("a{c}1 {c}b{c}");
            assert_eq!(compact(&s), compact_by_chars(&s), "{:04X}", u32::from(c));
            assert_eq!(
                sentences(&s).collect::<Vec<_>>(),
                sentences_by_split(&s),
                "{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn figures_read_counts_and_skip_approximations() {
        let f = figures("受理申请859件，另有1,198件，约2200余件，比例12.5件");
        let v: Vec<String> = f.iter().map(|f| f.value.to_string()).collect();
        assert_eq!(v, vec!["859", "1198"]);
    }

    #[test]
    fn years_are_found_before_nian() {
        assert_eq!(years("2024年，较2023年度，共12345年"), vec![2024, 2023]);
    }
}
