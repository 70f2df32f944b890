//! P-NUMBERS: the figures the prose states (收到/受理 N 件, 办结/答复 N 件, 上年结转 N 件,
//! N 件结转下年度/顺延, 行政复议 N 件, 行政诉讼 N 件) agree with the tables.
//!
//! Calibrated on the corpus prose. A figure counts only when the verb that names it stands in
//! its own clause before it (the latest such word wins: `行政复议案件2件、行政诉讼案件7件`), or,
//! for what is carried to next year, after it (`1件结转下年度继续办理`, `72件…顺延到下年度`).
//! Request figures need a sentence about 申请 that is not about other casework (许可, 信访,
//! 信箱…); review and litigation figures need a sentence about 公开. `收到 N 件` may count the
//! carried-over requests too (`收到…75件` = 74 new + 1 carried over), which is not flagged.
//! When the figure disagrees and the sentence names a narrower or different scope (区政府办,
//! 本机关, 各部门…) the finding is *info* and says the scope differs.

use crate::eval::{Unusable, describe_cells, effective_template, value};
use crate::findings::{Findings, cell_ref, finding};
use crate::labels::cell_label;
use crate::structure::chinese_number;
use crate::text::{excerpt, figures, is_clause_break, sentences};
use gongkai_model::schema::{TableId, Template};
use gongkai_model::{CellRef, Decimal, Observed, Report, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Received,
    Processed,
    CarriedOver,
    CarriedForward,
    Review,
    Litigation,
}

impl Kind {
    fn zh(self) -> &'static str {
        match self {
            Kind::Received => "收到申请",
            Kind::Processed => "办结（答复）申请",
            Kind::CarriedOver => "上年结转申请",
            Kind::CarriedForward => "结转下年度申请",
            Kind::Review => "行政复议",
            Kind::Litigation => "行政诉讼",
        }
    }

    fn about_requests(self) -> bool {
        !matches!(self, Kind::Review | Kind::Litigation)
    }
}

const CARRIED_FORWARD_WORDS: &[&str] = &[
    "结转下年",
    "结转至下年",
    "结转到下年",
    "结转下一年",
    "结转到下一年",
    "转入下年",
    "顺延",
];

const PREFIX_WORDS: &[(&str, Kind)] = &[
    ("收到", Kind::Received),
    ("新收", Kind::Received),
    ("受理", Kind::Received),
    ("接收", Kind::Received),
    ("办结", Kind::Processed),
    ("答复", Kind::Processed),
    ("上年结转", Kind::CarriedOver),
    ("上年度结转", Kind::CarriedOver),
    ("上一年度结转", Kind::CarriedOver),
    ("结转下年", Kind::CarriedForward),
    ("结转至下年", Kind::CarriedForward),
    ("结转到下年", Kind::CarriedForward),
    ("转入下年", Kind::CarriedForward),
    ("顺延", Kind::CarriedForward),
    ("行政复议", Kind::Review),
    ("诉讼", Kind::Litigation),
];

/// Sentences about requests of another kind of casework than information disclosure.
const OTHER_CASEWORK: &[&str] = &[
    "许可", "审批", "办件", "诉求", "信访", "来电", "热线", "投诉", "咨询", "留言", "信箱",
];

/// Words that say a sentence counts for a different body than the report's tables.
const NARROWER_SCOPE: &[&str] = &[
    "政府办",
    "办公室",
    "办公厅",
    "本机关",
    "本级",
    "本部门",
    "本单位",
];
const WIDER_SCOPE: &[&str] = &["各级", "各部门", "各单位", "全市各", "全区各", "全县各"];

/// The keyword at `at` does not count a figure: it is negated (`不予受理`, `未办结`) or part of
/// another word (`答复书`, `办结率`, `受理函`).
fn negated(prefix: &str, at: usize, word: &str) -> bool {
    let before = prefix.get(..at).unwrap_or("");
    let after = prefix.get(at + word.len()..).unwrap_or("");
    before.ends_with("不予")
        || before.ends_with('未')
        || before.ends_with('不')
        || after.starts_with(['书', '率', '函', '单'])
}

/// The kind named by the latest keyword of `prefix`, or by a carried-forward word in `suffix`.
fn classify(prefix: &str, suffix: &str) -> Option<Kind> {
    if CARRIED_FORWARD_WORDS.iter().any(|w| suffix.contains(w)) {
        return Some(Kind::CarriedForward);
    }
    PREFIX_WORDS
        .iter()
        .filter_map(|(w, k)| {
            let at = prefix.rfind(w)?;
            (!negated(prefix, at, w)).then_some((at + w.len(), *k))
        })
        .max_by_key(|(end, _)| *end)
        .map(|(_, k)| k)
}

/// The byte index where the clause holding `at` starts in `s`.
fn clause_start(s: &str, at: usize) -> usize {
    let head = s.get(..at).unwrap_or("");
    let mut chars = head.char_indices().rev().peekable();
    // The character after the current one, within `head`.
    let mut next: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if is_clause_break(c) {
            let digit_around = c == ','
                && chars.peek().is_some_and(|(_, p)| p.is_ascii_digit())
                && next.is_some_and(|q| q.is_ascii_digit());
            if !digit_around {
                return i + c.len_utf8();
            }
        }
        next = Some(c);
    }
    0
}

/// The byte index where the clause that starts at `from` ends.
fn clause_end(s: &str, from: usize) -> usize {
    let tail = s.get(from..).unwrap_or("");
    let mut chars = tail.char_indices().peekable();
    // The character before the current one, within `tail`.
    let mut previous: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if is_clause_break(c) {
            let digit_around = c == ','
                && previous.is_some_and(|p| p.is_ascii_digit())
                && chars.peek().is_some_and(|(_, q)| q.is_ascii_digit());
            if !digit_around {
                return from + i;
            }
        }
        previous = Some(c);
    }
    s.len()
}

/// What the tables say for `kind`: the figure to compare with, other readings of the prose
/// that are not contradictions, and the cells involved.
struct TableFigure {
    main: Decimal,
    accepted: Vec<Decimal>,
    cell: (TableId, &'static str, &'static str),
    cells: Vec<CellRef>,
}

fn table_figure(report: &Report, kind: Kind) -> Result<TableFigure, Vec<Unusable<'static>>> {
    let t3 = |row| value(report, TableId::T3, row, "total");
    let t4 = |row, col| value(report, TableId::T4, row, col);
    let sum_t4 = |row| -> Option<Decimal> {
        ["upheld", "corrected", "other", "pending"]
            .iter()
            .try_fold(Decimal::ZERO, |sum, c| sum.checked_add(t4(row, c).ok()?))
    };
    let one = |row: &'static str, table: TableId, v: Decimal| TableFigure {
        main: v,
        accepted: vec![v],
        cell: (table, row, "total"),
        cells: vec![cell_ref(table, row, "total")],
    };
    match kind {
        Kind::Received => {
            let new = t3("new_received").map_err(|e| vec![e])?;
            let mut f = one("new_received", TableId::T3, new);
            if let Some(both) = t3("carried_over").ok().and_then(|o| new.checked_add(o)) {
                f.accepted.push(both);
            }
            Ok(f)
        }
        Kind::Processed => Ok(one(
            "total_processed",
            TableId::T3,
            t3("total_processed").map_err(|e| vec![e])?,
        )),
        Kind::CarriedOver => Ok(one(
            "carried_over",
            TableId::T3,
            t3("carried_over").map_err(|e| vec![e])?,
        )),
        Kind::CarriedForward => Ok(one(
            "carried_forward",
            TableId::T3,
            t3("carried_forward").map_err(|e| vec![e])?,
        )),
        Kind::Review => {
            let total = t4("review", "total").map_err(|e| vec![e])?;
            let mut f = one("review", TableId::T4, total);
            f.accepted.extend(sum_t4("review"));
            Ok(f)
        }
        Kind::Litigation => {
            let direct = t4("litigation_direct", "total");
            let after = t4("litigation_after_review", "total");
            let (direct, after) = match (direct, after) {
                (Ok(d), Ok(a)) => (d, a),
                (d, a) => return Err(d.err().into_iter().chain(a.err()).collect()),
            };
            let both = direct.checked_add(after).ok_or_else(|| {
                ["litigation_direct", "litigation_after_review"]
                    .map(|row| Unusable {
                        table: TableId::T4,
                        row,
                        column: "total",
                        state: Some(gongkai_model::CellState::Invalid),
                    })
                    .to_vec()
            })?;
            let mut f = one("litigation_direct", TableId::T4, both);
            f.cells
                .push(cell_ref(TableId::T4, "litigation_after_review", "total"));
            f.accepted.extend([direct, after]);
            if let (Some(d), Some(a)) = (
                sum_t4("litigation_direct"),
                sum_t4("litigation_after_review"),
            ) && let Some(both) = d.checked_add(a)
            {
                f.accepted.push(both);
            }
            Ok(f)
        }
    }
}

fn table_text(template: Template, f: &TableFigure, kind: Kind) -> String {
    let (table, row, col) = f.cell;
    if kind == Kind::Litigation {
        format!(
            "{}与{}之和",
            cell_label(template, table, row, col),
            cell_label(template, table, "litigation_after_review", col)
        )
    } else {
        cell_label(template, table, row, col)
    }
}

fn scope_word(sentence: &str, agency: Option<&str>) -> Option<&'static str> {
    let agency_is_office = agency.is_some_and(|a| a.contains("办公室") || a.contains("办公厅"));
    NARROWER_SCOPE
        .iter()
        .filter(|_| !agency_is_office)
        .chain(WIDER_SCOPE)
        .find(|w| sentence.contains(*w))
        .copied()
}

/// P-NUMBERS over the prose of every section.
/// `compacted` holds [`crate::text::compact`] of each of `report.sections`, in order.
pub(crate) fn numbers(report: &Report, compacted: &[String], out: &mut Findings) {
    let template = effective_template(report).unwrap_or(Template::F2021);
    let mut seen: Vec<(Kind, Decimal)> = Vec::new();
    for (section, text) in report.sections.iter().zip(compacted) {
        for sentence in sentences(text) {
            // Most sentences state no figure: what the sentence is about is read only for
            // those that do.
            let figures = figures(sentence);
            if figures.is_empty() {
                continue;
            }
            let requests_ok = sentence.contains("申请")
                && (sentence.contains("信息公开")
                    || !OTHER_CASEWORK.iter().any(|w| sentence.contains(w)));
            let cases_ok = sentence.contains("公开");
            let mut previous_end = 0;
            for fig in figures {
                let start = clause_start(sentence, fig.start).max(previous_end);
                previous_end = fig.end;
                let prefix = sentence.get(start..fig.start).unwrap_or("");
                let suffix = sentence
                    .get(fig.end..clause_end(sentence, fig.end))
                    .unwrap_or("");
                let Some(kind) = classify(prefix, suffix) else {
                    continue;
                };
                let relevant = if kind.about_requests() {
                    requests_ok
                } else {
                    cases_ok
                };
                if !relevant || seen.contains(&(kind, fig.value)) {
                    continue;
                }
                seen.push((kind, fig.value));
                let clause = sentence
                    .get(start..clause_end(sentence, fig.end))
                    .unwrap_or("");
                compare(
                    report,
                    template,
                    section.number,
                    sentence,
                    clause,
                    kind,
                    fig.value,
                    out,
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compare(
    report: &Report,
    template: Template,
    section: u8,
    sentence: &str,
    clause: &str,
    kind: Kind,
    stated: Decimal,
    out: &mut Findings,
) {
    // The quote and the place are built only for a finding: most figures agree.
    let quote = || excerpt(clause, 48);
    let place = || format!("第{}部分", chinese_number(section));
    let figure = match table_figure(report, kind) {
        Ok(f) => f,
        Err(bad) => {
            let (quote, place) = (quote(), place());
            let (zh_cells, en_cells) = describe_cells(template, &bad);
            let first = bad.first();
            let refs = bad
                .iter()
                .map(|c| cell_ref(c.table, c.row, c.column))
                .collect();
            let mut f = finding(
                "P-NUMBERS",
                Severity::Warning,
                format!(
                    "无法核验：{place}正文称“{quote}”（{} {stated} 件），但表格中对应的单元格缺失或无法确定（{zh_cells}）。",
                    kind.zh()
                ),
                format!("P-NUMBERS cannot check the prose figure {stated} ({kind:?}): {en_cells}"),
            )
            .expected_actual(None, Some(Observed::Number(stated)))
            .with_cells(refs);
            if let Some(c) = first {
                f = f.at(c.table, Some(c.row), Some(c.column));
            }
            out.push(section, f);
            return;
        }
    };
    if figure.accepted.contains(&stated) {
        return;
    }
    let (quote, place) = (quote(), place());
    let (table, row, col) = figure.cell;
    let table_text = table_text(template, &figure, kind);
    let main = figure.main;
    let f = match scope_word(sentence, report.agency.as_deref()) {
        Some(word) => finding(
            "P-NUMBERS",
            Severity::Info,
            format!(
                "{place}正文所述“{quote}”（{} {stated} 件）的统计范围（“{word}”）与表格不同：{table_text}为 {main}。范围不同，不视为矛盾。",
                kind.zh()
            ),
            format!(
                "the prose states {stated} ({kind:?}) for a different scope ({word}); the table has {main}: not a contradiction"
            ),
        ),
        None => finding(
            "P-NUMBERS",
            Severity::Warning,
            format!(
                "{place}正文称“{quote}”（{} {stated} 件），但{table_text}为 {main}，二者不一致。",
                kind.zh()
            ),
            format!("the prose states {stated} ({kind:?}), the table has {main}"),
        ),
    };
    out.push(
        section,
        f.at(table, Some(row), Some(col))
            .expected_actual(Some(Observed::Number(main)), Some(Observed::Number(stated)))
            .with_cells(figure.cells),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_keyword_names_the_figure() {
        assert_eq!(
            classify("全市共受理政府信息公开申请", ""),
            Some(Kind::Received)
        );
        assert_eq!(classify("答复", ""), Some(Kind::Processed));
        assert_eq!(classify("含上年度结转申请", ""), Some(Kind::CarriedOver));
        assert_eq!(
            classify("另有", "申请按照《条例》顺延到下年度答复"),
            Some(Kind::CarriedForward)
        );
        assert_eq!(
            classify("", "结转下年度继续办理"),
            Some(Kind::CarriedForward)
        );
        assert_eq!(
            classify("因政府信息公开引起的行政复议案件2件、行政诉讼案件", ""),
            Some(Kind::Litigation)
        );
        assert_eq!(classify("其中结果维持", ""), None);
        assert_eq!(classify("不予受理", ""), None);
        assert_eq!(classify("编制答复书模板", ""), None);
    }
}
