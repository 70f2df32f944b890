//! The title line, and from it the agency and the year.
//!
//! Titles come as `<agency><year>年政府信息公开工作年度报告`, with 度 or spaces
//! (`洛阳市瀍河区人民政府 2020 年…`, `平潭综合实验区2021年度…`), or with the year first
//! (`2019年上海市人民政府办公厅…`). The first such phrase near the top of the document is the
//! title; a phrase inside book-title marks (`《…2021年政府信息公开工作年度报告…通知》`) or after
//! `关于` names another document and is skipped.

use crate::items::Item;

/// How many text items from the top are searched for the title.
const TITLE_SEARCH_ITEMS: usize = 40;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub title: Option<String>,
    pub agency: Option<String>,
    pub year: Option<u16>,
}

pub fn find(items: &[Item]) -> Metadata {
    let texts = items
        .iter()
        .filter_map(|i| match i {
            Item::Text(t) => Some(t.text.as_ref()),
            Item::Row(_) => None,
        })
        .take(TITLE_SEARCH_ITEMS);
    for text in texts {
        if let Some(m) = title_in(text) {
            return m;
        }
    }
    // No title: the statistics period (`自2019年1月1日起`) still gives the year.
    let year = items.iter().find_map(|i| match i {
        Item::Text(t) => period_year(&t.text),
        Item::Row(_) => None,
    });
    Metadata {
        title: None,
        agency: None,
        year,
    }
}

const REPORT_WORDS: [&str; 3] = [
    "政府信息公开工作年度报告",
    "政府信息公开年度报告",
    "政府信息公开工作报告",
];

fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '：' | ':'
                | '，'
                | ','
                | '。'
                | '；'
                | ';'
                | '》'
                | '【'
                | '】'
                | '|'
                | '>'
                | '«'
                | '»'
                | '“'
                | '”'
        )
}

/// Phrases naming another document: `《…关于编制公布2021年政府信息公开工作年度报告…的通知》`.
const OTHER_DOCUMENT_WORDS: [&str; 5] = ["编制", "印发", "公布", "做好", "通知"];

/// How many report phrases of one text item are examined (a hostile text may repeat it).
const MAX_PHRASES_PER_ITEM: usize = 16;

fn title_in(text: &str) -> Option<Metadata> {
    let mut search_from = 0;
    let mut examined = 0;
    while examined < MAX_PHRASES_PER_ITEM
        && let Some((found, word)) = REPORT_WORDS
            .iter()
            .filter_map(|w| {
                text.get(search_from..)?
                    .find(w)
                    .map(|p| (search_from + p, *w))
            })
            .min_by_key(|(p, _)| *p)
    {
        let end = found + word.len();
        search_from = end;
        examined += 1;
        // The phrase starts after the last delimiter before it, allowing spaces between the
        // agency, the year and 年 (`洛阳市瀍河区人民政府 2020 年政府…`).
        let head = &text[..found];
        let start = phrase_start(head);
        if text[..start].ends_with('《')
            || OTHER_DOCUMENT_WORDS
                .iter()
                .any(|w| head[start..].contains(w))
        {
            continue;
        }
        let phrase = text[start..end].trim();
        if let Some(m) = parse_title(phrase) {
            return Some(m);
        }
    }
    None
}

/// Walks back from the report words over the agency, the year and spaces around the year;
/// at most [`MAX_PHRASE_CHARS`] characters, so that a long line costs no more than a short one.
fn phrase_start(head: &str) -> usize {
    let mut start = head.len();
    let mut chars = head.char_indices().rev().take(MAX_PHRASE_CHARS).peekable();
    let mut next: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if c == '《' {
            break;
        }
        if c.is_whitespace() {
            // A space belongs to the phrase when it stands next to the year's digits or 年.
            let prev = chars.peek().map(|x| x.1);
            let near_year =
                |ch: Option<char>| ch.is_some_and(|ch| ch.is_ascii_digit() || ch == '年');
            if !(near_year(prev) || near_year(next)) {
                break;
            }
        } else if is_delimiter(c) {
            break;
        }
        start = i;
        next = Some(c);
    }
    start
}

/// The longest title phrase looked at (agency and year included).
const MAX_PHRASE_CHARS: usize = 120;

fn parse_title(phrase: &str) -> Option<Metadata> {
    let compact: String = phrase.chars().filter(|c| !c.is_whitespace()).collect();
    let (year_at, year) = find_year(&compact)?;
    let before = compact[..year_at].trim_matches(|c: char| !is_agency_char(c));
    let after_year = &compact[year_at + 4..];
    let after_year = after_year
        .strip_prefix("年度")
        .or_else(|| after_year.strip_prefix('年'))?;
    let between = REPORT_WORDS
        .iter()
        .find_map(|w| after_year.find(w).map(|p| &after_year[..p]))
        .unwrap_or("");
    let agency = if !before.is_empty() { before } else { between };
    let agency = agency.trim_end_matches("关于");
    let agency = (!agency.is_empty() && agency.chars().count() <= 60).then(|| agency.to_owned());
    Some(Metadata {
        title: Some(phrase.to_owned()),
        agency,
        year: Some(year),
    })
}

fn is_agency_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '（' | '）' | '(' | ')' | '·')
}

/// The first `19xx`/`20xx` followed by 年, as (byte offset, year).
fn find_year(text: &str) -> Option<(usize, u16)> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|i| {
        let digits = bytes.get(i..i + 4)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if i > 0 && bytes.get(i - 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if !text.get(i + 4..)?.starts_with('年') {
            return None;
        }
        let year: u16 = text.get(i..i + 4)?.parse().ok()?;
        (1990..=2100).contains(&year).then_some((i, year))
    })
}

/// `统计期限自2019年1月1日起` → 2019.
fn period_year(text: &str) -> Option<u16> {
    let p = text.find("年1月1日")?;
    let year: u16 = text.get(p.checked_sub(4)?..p)?.parse().ok()?;
    (1990..=2100).contains(&year).then_some(year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> (Option<String>, Option<u16>) {
        let r = title_in(text).unwrap_or_default();
        (r.agency, r.year)
    }

    #[test]
    fn title_forms() {
        assert_eq!(
            m("洛阳市瀍河区人民政府 2020 年政府信息公开工作年度报告"),
            (Some("洛阳市瀍河区人民政府".into()), Some(2020))
        );
        assert_eq!(
            m("标题: 平潭综合实验区2021年度政府信息公开工作年度报告"),
            (Some("平潭综合实验区".into()), Some(2021))
        );
        assert_eq!(
            m("2019年上海市人民政府办公厅政府信息公开工作年度报告"),
            (Some("上海市人民政府办公厅".into()), Some(2019))
        );
        assert_eq!(
            m(
                "根据《福建省人民政府办公厅关于编制公布2021年政府信息公开工作年度报告有关事项的通知》"
            ),
            (None, None)
        );
    }
}
