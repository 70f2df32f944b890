//! Reading t2, t3 and t4 from table rows (grids, or separated lines).
//!
//! Every row group (one grid, one run of separated lines) is first assigned to a table by the
//! labels it contains; a group of bare numbers (t4 flattened to one row of 15 values) or a
//! continuation without labels is assigned by its shape or by the section it stands in. Rows
//! are then matched to the template's rows by keywords of their own label cell (the cell next
//! to the values), falling back to the whole row's labels (the spanning group labels such as
//! `（三）不予公开`). Values are the row's own cells after its label: cells covered by a span
//! that starts elsewhere are not values, so a value spanning two columns counts once and
//! header/body colspans that disagree do not shift the numbers. Cells the source lacks stay
//! `missing`.

use crate::items::{Item, Row, RowCell};
use crate::normalize::normalize_text;
use crate::number::Printed;
use aho_corasick::AhoCorasick;
use gongkai_model::report::empty_table;
use gongkai_model::schema::{self, RowSpec};
use gongkai_model::{Cell, Table, TableId, TableRow, Template};
use std::sync::LazyLock;

const T2_CUES: &[&str] = &[
    "第二十条",
    "规章",
    "规范性文件",
    "行政许可",
    "行政处罚",
    "行政强制",
    "事业性收费",
    "集中采购",
    "本年制发件数",
    "本年新制作数量",
    "信息内容",
    "对外管理",
    "本年收费金额",
    "采购",
];
const T3_CUES: &[&str] = &[
    "新收",
    "上年结转",
    "予以公开",
    "不予公开",
    "国家秘密",
    "申请人情况",
    "自然人",
    "商业企业",
    "科研机构",
    "不予处理",
    "无法提供",
    "结转下年度",
    "部分公开",
    "不掌握",
    "另行制作",
    "信访",
    "重复申请",
    "出版物",
    "逾期不补正",
    "缴纳费用",
    "其他处理",
];
const _: () = assert!(T2_CUES.len() + T3_CUES.len() + T4_CUES.len() <= 64);

const T4_CUES: &[&str] = &[
    "结果维持",
    "结果纠正",
    "其他结果",
    "尚未审结",
    "未经复议",
    "复议后起诉",
    "直接起诉",
];

/// A row split into its label cells and its value cells.
struct Split<'a> {
    /// Every label cell, spanned ones included, in order.
    labels: Vec<&'a RowCell<'a>>,
    /// The row's own values: origin cells after the last label cell.
    values: Vec<&'a RowCell<'a>>,
}

impl Split<'_> {
    fn own_key(&self) -> &str {
        self.labels
            .iter()
            .rev()
            .find(|c| !c.spanned)
            .or(self.labels.last())
            .map_or("", |c| c.key.as_str())
    }

    fn full_key(&self) -> String {
        let mut out = String::new();
        for c in &self.labels {
            if !out.ends_with(c.key.as_str()) {
                out.push_str(&c.key);
            }
        }
        out
    }

    fn has_values(&self) -> bool {
        !self.values.is_empty()
    }

    fn has_numbers(&self) -> bool {
        self.values
            .iter()
            .any(|c| matches!(c.printed, Printed::Number { .. }))
    }
}

fn split<'a>(row: &'a Row<'a>) -> Split<'a> {
    let is_label = |c: &RowCell| matches!(c.printed, Printed::Text);
    let last_label = row.cells.iter().rposition(is_label);
    let after = last_label.map_or(0, |i| i + 1);
    let (head, tail) = row.cells.split_at(after.min(row.cells.len()));
    // Sized once: collecting a filter grows the vector push by push.
    let mut labels = Vec::with_capacity(head.len());
    labels.extend(head.iter().filter(|c| is_label(c)));
    let mut values = Vec::with_capacity(tail.len());
    values.extend(tail.iter().filter(|c| !c.spanned));
    Split { labels, values }
}

/// Assigns each row group to a table: `section_of_group` is the section (1–6, 0 for the
/// preamble) the group stands in, `scores` the cues of each table its labels contain (from
/// [`crate::template::cues`], which reads the labels once for both).
pub fn classify_groups(
    items: &[Item],
    groups: usize,
    section_of_group: &[u8],
    scores: &[[usize; 3]],
) -> Vec<Option<TableId>> {
    let mut bare_numbers = vec![0usize; groups];
    for item in items {
        let Item::Row(row) = item else { continue };
        if row.group >= groups {
            continue;
        }
        // A row without labels: its values are its cells not covered by a span (what
        // `split` would collect, without collecting).
        if !row.cells.iter().any(|c| matches!(c.printed, Printed::Text)) {
            let values = row.cells.iter().filter(|c| !c.spanned);
            if values
                .clone()
                .any(|c| matches!(c.printed, Printed::Number { .. }))
            {
                bare_numbers[row.group] = bare_numbers[row.group].max(values.count());
            }
        }
    }
    (0..groups)
        .map(|g| {
            let score = scores.get(g).copied().unwrap_or_default();
            let best = (0..3).max_by_key(|&t| (score[t], std::cmp::Reverse(t)))?;
            if score[best] > 0 {
                return TableId::ALL.get(best).copied();
            }
            if bare_numbers[g] >= 15 {
                return Some(TableId::T4);
            }
            match section_of_group.get(g) {
                Some(2) => Some(TableId::T2),
                Some(3) => Some(TableId::T3),
                Some(4) => Some(TableId::T4),
                _ => None,
            }
        })
        .collect()
}

/// Every cue of t2, t3 and t4 in that order, then the version cues of
/// [`crate::template::all_cues`]: one pass over a label finds both kinds.
static CUE_SEARCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::new(
        T2_CUES
            .iter()
            .chain(T3_CUES)
            .chain(T4_CUES)
            .copied()
            .chain(crate::template::all_cues()),
    )
    .ok()
});

const TABLE_CUES: usize = T2_CUES.len() + T3_CUES.len() + T4_CUES.len();

/// The cues of a label cell's key: the number of distinct cues of t2, t3 and t4 it contains,
/// and the version cues it contains as the bits of [`crate::template::found_cues`].
pub(crate) fn label_cues(key: &str) -> ([usize; 3], u32) {
    let mut score = [0usize; 3];
    let Some(searcher) = CUE_SEARCHER.as_ref() else {
        // Building the automaton of fixed words does not fail; stay correct if it did.
        for (t, cues) in [T2_CUES, T3_CUES, T4_CUES].iter().enumerate() {
            score[t] += cues.iter().filter(|cue| key.contains(**cue)).count();
        }
        return (score, crate::template::found_cues(key));
    };
    // A cue counts once per label however often it occurs; there are fewer than 64 cues.
    let mut seen = 0u64;
    let mut version = 0u32;
    for m in searcher.find_overlapping_iter(key) {
        let id = m.pattern().as_usize();
        if id >= 64 || seen & (1 << id) != 0 {
            continue;
        }
        seen |= 1 << id;
        if id >= TABLE_CUES {
            version |= 1 << (id - TABLE_CUES);
            continue;
        }
        let table = if id < T2_CUES.len() {
            0
        } else if id < T2_CUES.len() + T3_CUES.len() {
            1
        } else {
            2
        };
        score[table] += 1;
    }
    (score, version)
}

/// Reads `table` of `template` from the rows of the groups assigned to it. `None` when no row
/// of the table was found.
pub fn read_table(
    items: &[Item],
    assigned: &[Option<TableId>],
    table: TableId,
    template: Template,
) -> Option<Table> {
    let rows: Vec<&Row> = items
        .iter()
        .filter_map(|i| match i {
            Item::Row(r) if assigned.get(r.group).copied().flatten() == Some(table) => Some(r),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let specs = schema::rows(template, table);
    let mut out = empty_table(template, table);
    let found = match table {
        TableId::T2 => read_t2(&rows, specs, &mut out),
        TableId::T3 => read_t3(&rows, specs, &mut out),
        TableId::T4 => read_t4(&rows, &mut out),
    };
    (found > 0).then_some(out)
}

/// Puts `cell` in `row` under `column`: the empty table already holds every column, so the
/// key is only allocated for a column it lacks.
fn set_cell(row: &mut TableRow, column: &str, cell: Cell) {
    match row.get_mut(column) {
        Some(slot) => *slot = cell,
        None => {
            row.insert(column.to_owned(), cell);
        }
    }
}

/// A 64-bit summary of the characters of a label key. A keyword with a character the key
/// lacks is not in the key: most keywords of most rows are rejected so, without a search.
#[derive(Debug, Clone, Copy)]
struct CharMask(u64);

impl CharMask {
    fn of(text: &str) -> CharMask {
        CharMask(
            text.chars()
                .fold(0, |mask, c| mask | 1 << (u32::from(c) % 64)),
        )
    }

    fn may_contain(self, word: &str) -> bool {
        CharMask::of(word).0 & !self.0 == 0
    }
}

/// The key (whose [`CharMask`] is `mask`) contains every word.
fn contains_all(key: &str, mask: CharMask, words: &[&str]) -> bool {
    words.iter().all(|w| mask.may_contain(w) && key.contains(w))
}

/// Extra spellings of t2 labels, beside the model's keywords.
fn t2_alternatives(row: &str) -> &'static [&'static [&'static str]] {
    match row {
        "fees" => &[&["行政事业"]],
        "procurement" => &[&["政府采购"]],
        _ => &[],
    }
}

/// The t2 row of `specs` a label key names.
pub(crate) fn match_t2_row(key: &str, specs: &'static [RowSpec]) -> Option<&'static RowSpec> {
    match_t2(key, specs)
}

fn match_t2(key: &str, specs: &'static [RowSpec]) -> Option<&'static RowSpec> {
    let mask = CharMask::of(key);
    specs.iter().find(|s| {
        contains_all(key, mask, s.keywords)
            || t2_alternatives(s.key)
                .iter()
                .any(|a| contains_all(key, mask, a))
    })
}

fn read_t2(rows: &[&Row], specs: &'static [RowSpec], out: &mut Table) -> usize {
    let mut found = 0;
    for (index, row) in rows.iter().enumerate() {
        let s = split(row);
        if !s.has_values() {
            continue;
        }
        let spec = match_t2(s.own_key(), specs)
            .or_else(|| match_t2(&s.full_key(), specs))
            .or_else(|| match_t2(&format!("{}{}", row.lead_key, s.own_key()), specs));
        let Some(spec) = spec else { continue };
        let Some(cells) = out.get_mut(spec.key) else {
            continue;
        };
        if cells
            .values()
            .any(|c| c.state != gongkai_model::CellState::Missing)
        {
            continue;
        }
        found += 1;
        for (column, value) in spec.columns.iter().zip(&s.values) {
            let mut cell = value.to_cell();
            if column.kind == schema::ValueKind::Amount
                && spec.key == "procurement"
                && cell.unit.is_none()
                && cell.value.is_some()
                && let Some(unit) = header_unit(&rows[..index], row.group)
            {
                cell = cell.with_unit(unit);
            }
            set_cell(cells, column.key, cell);
        }
    }
    found
}

/// The unit a column header states for the procurement amount (`采购总金额（单位:万元）`).
fn header_unit(previous: &[&Row], group: usize) -> Option<&'static str> {
    for row in previous.iter().rev().take_while(|r| r.group == group) {
        for cell in &row.cells {
            if cell.key.contains("采购总金额") || cell.key.contains("单位") {
                let text = normalize_text(cell.raw);
                if text.contains("万元") {
                    return Some("万元");
                }
                if text.contains("亿元") {
                    return Some("亿元");
                }
                if text.contains('元') {
                    return Some("元");
                }
            }
        }
    }
    None
}

/// Strips list numbering from a label key: `3其他` → `其他`, `六其他处理` → `其他处理`.
fn without_numbering(key: &str) -> &str {
    let trimmed = key.trim_start_matches(|c: char| c.is_ascii_digit());
    trimmed.trim_start_matches(|c: char| "一二三四五六七八九十".contains(c))
}

/// Extra spellings of t3 labels (typos seen in real reports), beside the model's keywords.
fn t3_alternatives(row: &str) -> &'static [&'static [&'static str]] {
    match row {
        "denied_prohibited_by_law" => &[&["法律行政"], &["行政法规"]],
        "denied_security_stability" => &[&["三安全"], &["一稳定"]],
        "not_handled_petition" => &[&["举报投诉"]],
        "not_handled_confirmation" => &[&["确认"]],
        "unavailable_needs_creation" => &[&["现成信息"]],
        "other_overdue_correction" => &[&["不补正"]],
        "other_overdue_fee" => &[&["收费通知"]],
        "carried_forward" => &[&["下年度", "继续办理"]],
        _ => &[],
    }
}

fn match_t3(key: &str, specs: &'static [RowSpec]) -> Option<&'static RowSpec> {
    if key.is_empty() {
        return None;
    }
    let mask = CharMask::of(key);
    // Generic words (`其他`, `总计`) last, so that `2.其他法律行政法规禁止公开` and
    // `（六）其他处理1.申请人…` find their specific rows first.
    let generic = ["other_other", "other_handling", "total_processed"];
    let specific = specs
        .iter()
        .filter(|s| !generic.contains(&s.key))
        .find(|s| {
            contains_all(key, mask, s.keywords)
                || t3_alternatives(s.key)
                    .iter()
                    .any(|a| contains_all(key, mask, a))
        });
    if specific.is_some() {
        return specific;
    }
    let stripped = without_numbering(key);
    if stripped == "其他"
        && let Some(s) = specs.iter().find(|s| s.key == "other_other")
    {
        return Some(s);
    }
    if key.contains("其他处理")
        && let Some(s) = specs.iter().find(|s| s.key == "other_handling")
    {
        return Some(s);
    }
    if key.contains("总计") {
        return specs.iter().find(|s| s.key == "total_processed");
    }
    None
}

/// Whether a row is t3's column header: two or more of its label cells are column labels
/// (`自然人`, `商业企业`, …, `其他`, `总计`) or the header's group labels. The header's last
/// label, `其他` (the organisations' other column), is followed by the blank under `总计`:
/// read as a value row it would be `3.其他` with one blank value, and take that row's place
/// before the real row comes.
fn is_t3_header(s: &Split) -> bool {
    const GROUP_LABELS: [&str; 2] = ["申请人情况", "法人或其他组织"];
    s.labels
        .iter()
        .filter(|c| {
            schema::T3_COLUMNS.iter().any(|col| col.label == c.key)
                || GROUP_LABELS.contains(&c.key.as_str())
        })
        .count()
        >= 2
}

/// The index in `specs` of the t3 row a label key names.
pub(crate) fn match_t3_row(key: &str, specs: &'static [RowSpec]) -> Option<usize> {
    let spec = match_t3(key, specs)?;
    specs.iter().position(|s| s.key == spec.key)
}

/// A t3 row of cells as a line of [`crate::placement`]: the row its own label cells name
/// (`None` for a row without labels, or whose labels name no row: a label torn in two), the
/// row that the short line before it names together with its own label (the first part of a
/// wrapped label), and its seven values. `None` for the header and for a row without exactly
/// seven values (a row with labels keeps its last seven, as [`read_t3`] does; a bare row may
/// be padded with blanks on either side).
pub(crate) fn t3_row_line(row: &Row, specs: &'static [RowSpec]) -> Option<T3RowLine> {
    let width = schema::T3_COLUMNS.len();
    let s = split(row);
    if !s.has_numbers() || is_t3_header(&s) {
        return None;
    }
    let mut values: &[&RowCell] = &s.values;
    while values.len() > width && values.last().is_some_and(|c| c.printed == Printed::Blank) {
        values = &values[..values.len() - 1];
    }
    if s.labels.is_empty() {
        while values.len() > width && values.first().is_some_and(|c| c.printed == Printed::Blank) {
            values = &values[1..];
        }
    } else if values.len() > width {
        values = &values[values.len() - width..];
    }
    if values.len() != width
        || !values
            .iter()
            .any(|c| matches!(c.printed, Printed::Number { .. }))
    {
        return None;
    }
    let own = if s.labels.is_empty() {
        None
    } else {
        match_t3_row(s.own_key(), specs).or_else(|| match_t3_row(&s.full_key(), specs))
    };
    let lead = if row.lead_key.is_empty() {
        None
    } else {
        match_t3_row(&format!("{}{}", row.lead_key, s.own_key()), specs)
    };
    Some(T3RowLine {
        own,
        lead,
        cells: values.iter().map(|c| c.to_cell()).collect(),
    })
}

/// What [`t3_row_line`] finds in a row.
pub(crate) struct T3RowLine {
    pub own: Option<usize>,
    pub lead: Option<usize>,
    pub cells: Vec<gongkai_model::Cell>,
}

fn read_t3(rows: &[&Row], specs: &'static [RowSpec], out: &mut Table) -> usize {
    let width = schema::T3_COLUMNS.len();
    let mut found = 0;
    for row in rows {
        let s = split(row);
        if !s.has_values() || (s.labels.is_empty() && row.lead_key.is_empty()) || is_t3_header(&s) {
            continue;
        }
        let spec = match_t3(s.own_key(), specs)
            .or_else(|| match_t3(&s.full_key(), specs))
            .or_else(|| match_t3(&format!("{}{}", row.lead_key, s.own_key()), specs));
        let Some(spec) = spec else { continue };
        let Some(cells) = out.get_mut(spec.key) else {
            continue;
        };
        if cells
            .values()
            .any(|c| c.state != gongkai_model::CellState::Missing)
        {
            continue;
        }
        let mut values: Vec<&RowCell> = s.values.clone();
        while values.len() > width && values.last().is_some_and(|c| c.raw.trim().is_empty()) {
            values.pop();
        }
        let values = if values.len() > width {
            &values[values.len() - width..]
        } else {
            &values[..]
        };
        found += 1;
        for (column, value) in spec.columns.iter().zip(values) {
            set_cell(cells, column.key, value.to_cell());
        }
    }
    found
}

fn match_t4_block(key: &str) -> Option<&'static str> {
    if key.contains("未经复议") || key.contains("直接起诉") {
        Some("litigation_direct")
    } else if key.contains("复议后起诉") || key.contains("复议后") {
        Some("litigation_after_review")
    } else if key.contains("行政复议") && !key.contains("诉讼") {
        Some("review")
    } else {
        None
    }
}

fn read_t4(rows: &[&Row], out: &mut Table) -> usize {
    let blocks = ["review", "litigation_direct", "litigation_after_review"];
    let width = schema::T4_COLUMNS.len();
    let mut found = 0;
    let fill = |block: &str, values: &[&RowCell], out: &mut Table| {
        if let Some(cells) = out.get_mut(block) {
            for (column, value) in schema::T4_COLUMNS.iter().zip(values) {
                set_cell(cells, column.key, value.to_cell());
            }
        }
    };
    // Rows labelled by block (a vertical layout): five values each.
    let mut bare: Vec<&RowCell> = Vec::new();
    for row in rows {
        let s = split(row);
        if !s.has_values() {
            continue;
        }
        if s.labels.is_empty() {
            bare.extend(s.values.iter().copied());
            continue;
        }
        if let Some(block) = match_t4_block(s.own_key())
            && s.values.len() >= width
            && s.has_numbers()
        {
            fill(block, &s.values[..width], out);
            found += 1;
        } else if s.values.len() >= width * blocks.len() {
            // The data row with a row label (`数量`) before its 15 values.
            bare.extend(s.values.iter().copied());
        }
    }
    if found == 0 && !bare.is_empty() {
        for (block, chunk) in blocks.iter().zip(bare.chunks(width)) {
            fill(block, chunk, out);
            found += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: each table's cues and the version cues searched for one by one.
    fn label_cues_by_contains(key: &str) -> ([usize; 3], u32) {
        let mut score = [0usize; 3];
        for (t, cues) in [T2_CUES, T3_CUES, T4_CUES].iter().enumerate() {
            score[t] += cues.iter().filter(|cue| key.contains(**cue)).count();
        }
        let version = crate::template::all_cues()
            .enumerate()
            .filter(|(_, cue)| key.contains(cue))
            .fold(0, |bits, (id, _)| bits | 1 << id);
        (score, version)
    }

    #[test]
    fn one_search_finds_the_table_and_version_cues() {
        let cues: Vec<&str> = T2_CUES
            .iter()
            .chain(T3_CUES)
            .chain(T4_CUES)
            .copied()
            .chain(crate::template::all_cues())
            .collect();
        let mut keys: Vec<String> = vec![String::new(), "合计".to_owned()];
        for (i, cue) in cues.iter().enumerate() {
            keys.push((*cue).to_owned());
            keys.push(format!("（一）{cue}{cue}其他"));
            keys.push(format!("{cue}{}", cues[(i * 7 + 3) % cues.len()]));
        }
        keys.push(cues.concat());
        for key in &keys {
            assert_eq!(label_cues(key), label_cues_by_contains(key), "{key:?}");
        }
    }
}
