//! Which version of the format a report follows, from the labels it prints.
//!
//! t2's column and row labels differ between the versions (F2019 `本年新制作数量`,
//! `上一年项目数量`, `政府集中采购`; F2021 `本年制发件数`, `现行有效件数`, `本年收费金额`), and
//! so do t3's last rows (F2021 `逾期不补正`, `缴纳费用`; F2019 one `其他处理` row). A report
//! with F2021 t2 labels and only the F2019 `其他处理` row is `mixed`. The 2008-era format is
//! recognised by its single statistics table (`政府信息公开情况统计表`, `指标名称`/`计量单位`).

use crate::items::Item;
use aho_corasick::AhoCorasick;
use gongkai_model::Template;
use std::sync::LazyLock;

const T2_F2019: &[&str] = &[
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "其他对外管理服务事项",
    "政府集中采购",
    "采购总金额",
    "采购项目数量",
];
const T2_F2021: &[&str] = &[
    "本年制发件数",
    "本年废止件数",
    "现行有效件数",
    "本年收费金额",
];
const T3_F2021: &[&str] = &["逾期不补正", "缴纳费用", "收费通知"];
const T3_F2019: &str = "其他处理";
const LEGACY_TITLE: &str = "政府信息公开情况统计表";
const LEGACY_NAME: &str = "指标名称";
const LEGACY_UNIT: &str = "计量单位";

/// Every cue in the order of the bits [`found_cues`] sets: t2 F2019, t2 F2021, t3 F2021, t3
/// F2019, then the legacy title, name and unit headers.
pub(crate) fn all_cues() -> impl Iterator<Item = &'static str> {
    T2_F2019
        .iter()
        .chain(T2_F2021)
        .chain(T3_F2021)
        .copied()
        .chain([T3_F2019, LEGACY_TITLE, LEGACY_NAME, LEGACY_UNIT])
}

const T3_F2021_BITS: u32 = ((1 << T3_F2021.len()) - 1) << (T2_F2019.len() + T2_F2021.len());
const T3_F2019_BIT: u32 = 1 << (T2_F2019.len() + T2_F2021.len() + T3_F2021.len());
const LEGACY_TITLE_BIT: u32 = T3_F2019_BIT << 1;
const LEGACY_NAME_BIT: u32 = T3_F2019_BIT << 2;
const LEGACY_UNIT_BIT: u32 = T3_F2019_BIT << 3;
const _: () = assert!(T2_F2019.len() + T2_F2021.len() + T3_F2021.len() + 4 <= 32);

static CUE_SEARCHER: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| AhoCorasick::new(all_cues()).ok());

/// Texts longer than this are searched cue by cue.
const LONG_TEXT_BYTES: usize = 256;

/// The cues `text` contains, as bits in the order of [`all_cues`], found in one pass.
pub(crate) fn found_cues(text: &str) -> u32 {
    // The automaton wins on short labels, where each `contains` costs mostly its set-up; on
    // long prose the vectorised `contains` of each cue is faster than one automaton pass.
    let searcher = CUE_SEARCHER
        .as_ref()
        .filter(|_| text.len() <= LONG_TEXT_BYTES);
    match searcher {
        Some(searcher) => searcher
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_u32())
            .filter(|&id| id < 32)
            .fold(0, |bits, id| bits | 1 << id),
        // Long texts (and, were it ever to fail, a missing automaton): cue by cue.
        None => all_cues()
            .enumerate()
            .filter(|(_, cue)| text.contains(cue))
            .fold(0, |bits, (id, _)| bits | 1 << id),
    }
}

/// The version cues found in a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cues {
    /// `指标名称` and `计量单位`: the header of the 2008-era statistics table.
    pub legacy: bool,
    /// `政府信息公开情况统计表`, a weaker sign (modern reports may name it too).
    pub legacy_title: bool,
    pub t2_f2019: usize,
    pub t2_f2021: usize,
    pub t3_f2021: bool,
    pub t3_other_handling: bool,
}

impl Cues {
    pub fn template(&self) -> Template {
        // The old format's prose may name modern categories (`政府集中采购项目类信息`), so
        // a few modern cues do not outweigh the old table's own header.
        let modern = self.t2_f2019 + self.t2_f2021;
        if (self.legacy && modern < 3) || (self.legacy_title && modern == 0) {
            return Template::Legacy;
        }
        let t3 = if self.t3_f2021 {
            Some(Template::F2021)
        } else if self.t3_other_handling {
            Some(Template::F2019)
        } else {
            None
        };
        let t2 = match self.t2_f2019.cmp(&self.t2_f2021) {
            std::cmp::Ordering::Greater => Some(Template::F2019),
            std::cmp::Ordering::Less => Some(Template::F2021),
            std::cmp::Ordering::Equal => None,
        };
        match (t2, t3) {
            (Some(Template::F2021), Some(Template::F2019)) => Template::Mixed,
            (Some(t), _) | (None, Some(t)) => t,
            _ => Template::Unknown,
        }
    }
}

/// The cues of `items`; `in_tables` tells whether an item may hold a table's labels (the text
/// of sections 2 and 3, or everything when those headings were not found), so that long prose
/// is not searched for table labels. With them, the table cues of each of the `groups` row
/// groups for [`crate::tables::classify_groups`]: one search over each label finds both.
pub fn cues(
    items: &[Item],
    groups: usize,
    in_tables: impl Fn(usize) -> bool,
) -> (Cues, Vec<[usize; 3]>) {
    let mut cues = Cues::default();
    let mut scores = vec![[0usize; 3]; groups];
    let mut seen19 = [false; T2_F2019.len()];
    let mut seen21 = [false; T2_F2021.len()];
    let mut add = |found: u32| {
        for (i, seen) in seen19.iter_mut().enumerate() {
            *seen |= found & (1 << i) != 0;
        }
        for (i, seen) in seen21.iter_mut().enumerate() {
            *seen |= found & (1 << (T2_F2019.len() + i)) != 0;
        }
        cues.t3_f2021 |= found & T3_F2021_BITS != 0;
        cues.t3_other_handling |= found & T3_F2019_BIT != 0;
        cues.legacy_title |= found & LEGACY_TITLE_BIT != 0;
        cues.legacy |= found & LEGACY_NAME_BIT != 0 && found & LEGACY_UNIT_BIT != 0;
    };
    let mut legacy = false;
    let mut legacy_title = false;
    for (index, item) in items.iter().enumerate() {
        match item {
            Item::Text(t) => {
                legacy_title |= t.text.contains(LEGACY_TITLE);
                legacy |= t.text.contains(LEGACY_NAME) && t.text.contains(LEGACY_UNIT);
                if in_tables(index) {
                    add(found_cues(&crate::normalize::without_whitespace(&t.text)));
                }
            }
            Item::Row(r) => {
                for c in r.cells.iter().filter(|c| !c.spanned) {
                    if matches!(c.printed, crate::number::Printed::Text) {
                        let (table_cues, found) = crate::tables::label_cues(&c.key);
                        add(found);
                        if let Some(score) = scores.get_mut(r.group) {
                            for (s, n) in score.iter_mut().zip(table_cues) {
                                *s += n;
                            }
                        }
                    }
                }
            }
        }
    }
    cues.legacy |= legacy;
    cues.legacy_title |= legacy_title;
    cues.t2_f2019 = seen19.iter().filter(|s| **s).count();
    cues.t2_f2021 = seen21.iter().filter(|s| **s).count();
    (cues, scores)
}
