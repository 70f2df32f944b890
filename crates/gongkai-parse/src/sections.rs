//! Finding the six section headings.
//!
//! A heading is a Chinese numeral, a separator (`、`, `.`, `，`, a space) and, within a few
//! characters, the words that name the section (`总体情况`, `主动公开`, `收到和处理`, `复议`,
//! `问题`, `其他需要`). It may stand on its own line or in the middle of one long line (text
//! dumps of web pages); it may be worded differently or carry typos (`行政法复议`). Headings
//! are searched in order, each after the previous one found, so that the numbered rows inside
//! the tables (`三、本年度办理结果`, `四、结转下年度继续办理`) and the section list of the
//! preamble are never taken for headings.

use crate::items::Item;
use crate::normalize::label_key;

/// A heading found in a text item.
#[derive(Debug, Clone)]
pub struct Heading {
    pub number: u8,
    pub item: usize,
    /// Byte offsets of the heading in the item's text.
    pub start: usize,
    pub end: usize,
}

const NUMERALS: [char; 6] = ['一', '二', '三', '四', '五', '六'];

/// The words that identify each section's heading, and how far after the separator (in
/// characters of the label key) they may start.
const KEYWORDS: [(&[&str], usize); 6] = [
    (&["总体情况", "概述", "基本情况", "总体"], 6),
    (&["主动公开"], 8),
    (&["收到和处理", "收到", "依申请", "申请"], 12),
    (&["复议", "诉讼"], 20),
    (&["问题", "不足"], 20),
    (&["其他需要", "其他"], 6),
];

const CJK_NUMERALS: &str = "一二三四五六七八九十百零〇";

/// The words that identify a section's heading printed under another numeral, when a section
/// was dropped and the ones after it renumbered (`二、收到和处理政府信息公开申请情况`): only
/// the words no other section's heading or table label contains.
const RENUMBERED_KEYWORDS: [(&[&str], usize); 6] = [
    (&["总体情况"], 6),
    (&["主动公开"], 8),
    (&["收到和处理", "依申请"], 12),
    (&["复议"], 20),
    (&["主要问题", "问题及改进"], 20),
    (&["其他需要报告"], 6),
];

/// Finds the headings in order; a section whose heading is not found is skipped.
///
/// Each heading is first searched under its own numeral. A section still missing is then
/// searched, between the headings found before and after it, under any numeral with the
/// words of [`RENUMBERED_KEYWORDS`]: a document that dropped a section numbers the following
/// ones one lower.
pub fn find_headings(items: &[Item]) -> Vec<Heading> {
    let mut found: Vec<Heading> = Vec::new();
    let mut cursor = (0usize, 0usize);
    for (index, numeral) in NUMERALS.iter().enumerate() {
        let number = u8::try_from(index + 1).unwrap_or(u8::MAX);
        let Some((keywords, limit)) = KEYWORDS.get(index) else {
            continue;
        };
        let search = Search {
            numerals: std::slice::from_ref(numeral),
            keywords,
            limit: *limit,
            until: None,
        };
        if let Some(h) = find_one(items, cursor, &search, number) {
            cursor = (h.item, h.end);
            found.push(h);
        }
    }
    if found.len() == NUMERALS.len() {
        return found;
    }
    for (index, (keywords, limit)) in RENUMBERED_KEYWORDS.iter().enumerate() {
        let number = u8::try_from(index + 1).unwrap_or(u8::MAX);
        if found.iter().any(|h| h.number == number) {
            continue;
        }
        // `found` stays in section order: the heading goes between its neighbours.
        let at = found
            .iter()
            .position(|h| h.number > number)
            .unwrap_or(found.len());
        let from = at
            .checked_sub(1)
            .and_then(|p| found.get(p))
            .map_or((0, 0), |h| (h.item, h.end));
        let search = Search {
            numerals: &NUMERALS,
            keywords,
            limit: *limit,
            until: found.get(at).map(|h| (h.item, h.start)),
        };
        if let Some(h) = find_one(items, from, &search, number) {
            found.insert(at, h);
        }
    }
    found
}

/// What [`find_one`] looks for: one of `numerals` followed by one of `keywords` within
/// `limit` characters, before `until` (item, byte offset) when given.
struct Search<'a> {
    numerals: &'a [char],
    keywords: &'a [&'a str],
    limit: usize,
    until: Option<(usize, usize)>,
}

fn find_one(items: &[Item], from: (usize, usize), search: &Search, number: u8) -> Option<Heading> {
    let (keywords, limit) = (search.keywords, &search.limit);
    for (item_index, item) in items.iter().enumerate().skip(from.0) {
        if search.until.is_some_and(|(item, _)| item_index > item) {
            break;
        }
        let Item::Text(text_item) = item else {
            continue;
        };
        let text: &str = &text_item.text;
        let start_at = if item_index == from.0 { from.1 } else { 0 };
        let Some(slice) = text.get(start_at..) else {
            continue;
        };
        // One numeral (the first pass, over the whole text) is searched for as a character,
        // which is much faster than testing every character against a set.
        let mut single = None;
        let mut several = None;
        let hits: &mut dyn Iterator<Item = (usize, &str)> = match search.numerals {
            [numeral] => single.insert(slice.match_indices(*numeral)),
            numerals => several.insert(slice.match_indices(|c: char| numerals.contains(&c))),
        };
        for (offset, c) in hits {
            let Some(c) = c.chars().next() else {
                continue;
            };
            let numeral_at = start_at + offset;
            if search
                .until
                .is_some_and(|(item, start)| item_index == item && numeral_at >= start)
            {
                break;
            }
            let before = text[..numeral_at].chars().next_back();
            let after = &text[numeral_at + c.len_utf8()..];
            // `第一部分 总体情况` is the other way of numbering sections.
            let (at, separator_len) = if before == Some('第') && after.starts_with("部分") {
                (numeral_at - '第'.len_utf8(), "部分".len())
            } else {
                if before
                    .is_some_and(|b| CJK_NUMERALS.contains(b) || b == '第' || b == '（' || b == '(')
                {
                    continue;
                }
                let Some(separator) = after.chars().next() else {
                    continue;
                };
                if !matches!(separator, '、' | '.' | '，' | ',' | ' ' | '：' | ':') {
                    continue;
                }
                (numeral_at, separator.len_utf8())
            };
            let body_start = numeral_at + c.len_utf8() + separator_len;
            let body = text[body_start..].trim_start_matches([' ', '：', ':', '、']);
            let body_start = text.len() - body.len();
            let window = heading_window(body);
            let key = label_key(window);
            let hit = keywords.iter().find_map(|kw| {
                key.find(kw)
                    .map(|byte| (key[..byte].chars().count(), kw))
                    .filter(|(chars, _)| chars <= limit)
            });
            if hit.is_none() {
                continue;
            }
            let end = body_start + heading_length(body, window);
            return Some(Heading {
                number,
                item: item_index,
                start: at,
                end,
            });
        }
    }
    None
}

/// The part of the text after a numeral that may belong to the heading: up to the first digit
/// or sentence end, at most 40 characters.
fn heading_window(body: &str) -> &str {
    let mut end = body.len();
    for (count, (i, c)) in body.char_indices().enumerate() {
        if count >= 40 || c.is_ascii_digit() || matches!(c, '。' | '；' | ';' | '\n') {
            end = i;
            break;
        }
    }
    &body[..end]
}

/// How much of `body` is heading: up to the first `情况` or `事项` of the window, else the
/// whole rest of a short line, else the window.
fn heading_length(body: &str, window: &str) -> usize {
    let ending = ["情况", "事项"]
        .iter()
        .filter_map(|e| window.find(e).map(|p| p + e.len()))
        .min();
    if let Some(end) = ending {
        return end;
    }
    if body.chars().count() <= 40 && !body.contains(['。', '，']) {
        return body.len();
    }
    window.trim_end().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::TextItem;

    fn text(s: &str) -> Item<'_> {
        Item::Text(TextItem {
            text: s.into(),
            position: None,
            ordinal: 0,
        })
    }

    #[test]
    fn headings_inside_one_long_line() {
        let line = "本报告包括总体情况、主动公开政府信息情况等六个部分。一、总体情况2019年，我区……二、主动公开政府信息情况 第二十条第（一）项规章000三、收到和处理政府信息公开申请情况三、本年度办理结果（一）予以公开7000007四、结转下年度继续办理 0 0 0 四、政府信息公开行政法复议、行政诉讼情况行政复议000000000000000 五、存在的主要问题及改进情况2019年，……六、其他需要报告的事项无。";
        let items = vec![text(line)];
        let found = find_headings(&items);
        let texts: Vec<&str> = found.iter().map(|h| &line[h.start..h.end]).collect();
        assert_eq!(
            texts,
            vec![
                "一、总体情况",
                "二、主动公开政府信息情况",
                "三、收到和处理政府信息公开申请情况",
                "四、政府信息公开行政法复议、行政诉讼情况",
                "五、存在的主要问题及改进情况",
                "六、其他需要报告的事项",
            ]
        );
    }

    #[test]
    fn headings_numbered_as_parts() {
        let items = vec![
            text("第一部分 总体情况"),
            text("第二部分：主动公开政府信息情况"),
        ];
        let found = find_headings(&items);
        assert_eq!(
            found.iter().map(|h| h.number).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(found[0].start, 0);
    }

    #[test]
    fn headings_renumbered_after_a_dropped_section() {
        // Section 2 was dropped: the ones after it are numbered one lower. The table labels
        // numbered 二、, 三、 and 四、 inside section 3 are not headings.
        let items = vec![
            text("一、总体情况"),
            text("二、收到和处理政府信息公开申请情况"),
            text("二、上年结转政府信息公开申请数量"),
            text("三、本年度办理结果"),
            text("四、结转下年度继续办理"),
            text("三、政府信息公开行政复议、行政诉讼情况"),
            text("四、存在的主要问题及改进情况"),
            text("五、其他需要报告的事项"),
        ];
        let found: Vec<(u8, usize)> = find_headings(&items)
            .iter()
            .map(|h| (h.number, h.item))
            .collect();
        assert_eq!(found, vec![(1, 0), (3, 1), (4, 5), (5, 6), (6, 7)]);
    }

    #[test]
    fn lost_heading_is_skipped() {
        let items = vec![
            text("一、总体情况"),
            text("三、收到和处理政府信息公开申请情况"),
            text("五、政府信息公开工作存在的主要问题及改进情况"),
            text("六、其他需要报告的事项"),
        ];
        let numbers: Vec<u8> = find_headings(&items).iter().map(|h| h.number).collect();
        assert_eq!(numbers, vec![1, 3, 5, 6]);
    }
}
