//! The human-readable rendering of a checked report: metadata, the three tables as aligned
//! text tables with their Chinese labels (widths measured with `unicode-width`, so CJK labels
//! line up), cell states marked, then the findings grouped by severity with the cells they
//! concern. Colour is ANSI escapes, only when asked for.

use gongkai_model::schema::{self, RowSpec, TableId, Template};
use gongkai_model::{
    Cell, CellRef, CellState, CheckedReport, Finding, Report, Severity, Table, TextLayer,
};
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// The widest a row label may be before it is cut with `…`.
const LABEL_WIDTH: usize = 34;

#[derive(Clone, Copy)]
struct Paint {
    on: bool,
}

impl Paint {
    fn code(self, text: &str, code: &str) -> String {
        if self.on && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(self, t: &str) -> String {
        self.code(t, "1")
    }
    fn dim(self, t: &str) -> String {
        self.code(t, "2")
    }
    fn severity(self, t: &str, s: Severity) -> String {
        match s {
            Severity::Error => self.code(t, "1;31"),
            Severity::Warning => self.code(t, "33"),
            Severity::Info => self.code(t, "36"),
        }
    }
}

/// One cell of a text grid: what to print and the ANSI style to print it in.
struct GridCell {
    text: String,
    style: Option<&'static str>,
}

impl GridCell {
    fn plain(text: impl Into<String>) -> GridCell {
        GridCell {
            text: text.into(),
            style: None,
        }
    }
}

/// Prints rows as columns: the first left-aligned, the others right-aligned, padded by
/// display width. `first_width` fixes the label column's width (to align several grids).
fn grid(out: &mut String, rows: &[Vec<GridCell>], first_width: usize, paint: Paint) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.text.width());
        }
    }
    if let Some(w) = widths.first_mut() {
        *w = (*w).max(first_width);
    }
    for row in rows {
        let mut line = String::from("  ");
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(c.text.width()));
            let text = match c.style {
                Some(code) => paint.code(&c.text, code),
                None => c.text.clone(),
            };
            if i == 0 {
                line.push_str(&text);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(&text);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Cuts `text` to `max` display columns, marking the cut with `…`.
fn fit(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for ch in text.chars() {
        let next = format!("{out}{ch}");
        if next.width() + 1 > max {
            break;
        }
        out = next;
    }
    out.push('…');
    out
}

/// `（二）部分公开（区分处理的…）` → `（二）部分公开`.
fn short_label(label: &str) -> &str {
    label
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '（')
        .map_or(label, |(i, _)| label.get(..i).unwrap_or(label))
}

fn template_label(t: Template) -> &'static str {
    match t {
        Template::F2019 => "2019 年版格式（F2019）",
        Template::F2021 => "2021 年版格式（F2021）",
        Template::Mixed => "两版混用（mixed）",
        Template::Legacy => "2008 年版格式（legacy，表格不核验）",
        Template::Unknown => "格式版本未识别（unknown）",
    }
}

/// The template whose labels to print a table with.
fn table_template(report: &Report, table: &Table, id: TableId) -> Template {
    match report.template {
        t @ (Template::F2019 | Template::F2021 | Template::Mixed) => t,
        _ => {
            let f2019 = match id {
                TableId::T2 => table
                    .get("regulations")
                    .is_some_and(|r| r.contains_key("made")),
                TableId::T3 => table.contains_key("other_handling"),
                TableId::T4 => false,
            };
            if f2019 {
                Template::F2019
            } else {
                Template::F2021
            }
        }
    }
}

fn spec_of(template: Template, id: TableId, row: &str) -> Option<&'static RowSpec> {
    [template, Template::F2021, Template::F2019, Template::Mixed]
        .into_iter()
        .find_map(|t| schema::row(t, id, row))
}

/// How a cell prints, and whether a finding points at it.
fn cell_text(cell: Option<&Cell>, flagged: Option<Severity>) -> GridCell {
    let (mut text, mut style) = match cell {
        None => ("[缺]".to_owned(), Some("31")),
        Some(c) => match c.state {
            CellState::Number => {
                let v = c.value.map(|v| v.to_string()).unwrap_or_default();
                (format!("{v}{}", c.unit.as_deref().unwrap_or("")), None)
            }
            CellState::Blank => ("[空]".to_owned(), Some("33")),
            CellState::Placeholder => (format!("[{}]", c.text.trim()), Some("33")),
            CellState::Missing => ("[缺]".to_owned(), Some("31")),
            CellState::Ambiguous => ("[歧]".to_owned(), Some("35")),
            // The printed digits are in the C-RANGE finding; a 30-digit cell would break
            // the columns.
            CellState::Invalid => ("[超]".to_owned(), Some("31")),
            CellState::Corrected => {
                let v = c.value.map(|v| v.to_string()).unwrap_or_default();
                (
                    format!("{v}{}[改]", c.unit.as_deref().unwrap_or("")),
                    Some("36"),
                )
            }
        },
    };
    match flagged {
        Some(Severity::Error) => {
            text.push('*');
            style = Some("1;31");
        }
        Some(Severity::Warning) if style.is_none() => {
            text.push('*');
            style = Some("33");
        }
        _ => {}
    }
    GridCell { text, style }
}

/// The worst severity of the findings whose main cell is `row`/`column` of `id`.
fn flag(findings: &[Finding], id: TableId, row: &str, column: &str) -> Option<Severity> {
    findings
        .iter()
        .filter(|f| {
            f.table == Some(id)
                && f.row.as_deref() == Some(row)
                && f.column.as_deref() == Some(column)
                && f.severity != Severity::Info
        })
        .map(|f| f.severity)
        .max()
}

fn row_absent(table: &Table, row: &str) -> bool {
    table
        .get(row)
        .is_none_or(|c| c.values().all(|c| c.state == CellState::Missing))
}

/// In a `mixed` t3 the variant of （六）其他处理 the source did not print is left out.
fn hidden_in_mixed(table: &Table, row: &str) -> bool {
    const SPLIT: [&str; 3] = [
        "other_overdue_correction",
        "other_overdue_fee",
        "other_other",
    ];
    let single = !row_absent(table, "other_handling");
    let split = SPLIT.iter().any(|r| !row_absent(table, r));
    (row == "other_handling" && !single && split)
        || (SPLIT.contains(&row) && single && !split && row_absent(table, row))
}

/// A block of t2 (第二十条第（一）项 …) and its rows.
type T2Block<'a> = (Option<&'static str>, Vec<(&'a str, &'static RowSpec)>);

fn render_t2(out: &mut String, report: &Report, table: &Table, findings: &[Finding], p: Paint) {
    let template = table_template(report, table, TableId::T2);
    let mut blocks: Vec<T2Block<'_>> = Vec::new();
    for row in table.keys() {
        let Some(spec) = spec_of(template, TableId::T2, row) else {
            continue;
        };
        match blocks.last_mut() {
            Some((b, rows)) if *b == spec.block => rows.push((row, spec)),
            _ => blocks.push((spec.block, vec![(row, spec)])),
        }
    }
    let label_width = table
        .keys()
        .filter_map(|r| spec_of(template, TableId::T2, r))
        .map(|s| s.label.width())
        .chain(["信息内容".width()])
        .max()
        .unwrap_or(0);
    for (block, rows) in blocks {
        if let Some(b) = block {
            let _ = writeln!(out, "  {}", p.dim(b));
        }
        let mut lines = Vec::new();
        if let Some((_, first)) = rows.first() {
            let mut header = vec![GridCell::plain("信息内容")];
            header.extend(first.columns.iter().map(|c| GridCell::plain(c.label)));
            lines.push(header);
        }
        for (row, spec) in rows {
            let cells = table.get(row);
            let mut line = vec![GridCell::plain(spec.label)];
            line.extend(spec.columns.iter().map(|c| {
                cell_text(
                    cells.and_then(|cs| cs.get(c.key)),
                    flag(findings, TableId::T2, row, c.key),
                )
            }));
            lines.push(line);
        }
        grid(out, &lines, label_width, p);
    }
}

fn render_t3(out: &mut String, report: &Report, table: &Table, findings: &[Finding], p: Paint) {
    let template = table_template(report, table, TableId::T3);
    let mut lines = Vec::new();
    let mut header = vec![GridCell::plain("")];
    header.extend(schema::T3_COLUMNS.iter().map(|c| GridCell::plain(c.label)));
    lines.push(header);
    let mut headings_done: Vec<&str> = Vec::new();
    for row in table.keys() {
        if template == Template::Mixed && hidden_in_mixed(table, row) {
            continue;
        }
        let spec = spec_of(template, TableId::T3, row);
        let label = spec.map_or(row.as_str(), |s| short_label(s.label));
        // Group headings: 三、本年度办理结果 at the top level, （三）不予公开 and the like below it.
        let indent = match spec.and_then(|s| s.block) {
            None => 0,
            Some(block) => {
                let nested = block.starts_with('（');
                if nested && !headings_done.contains(&"三、本年度办理结果") {
                    headings_done.push("三、本年度办理结果");
                    lines.push(vec![GridCell::plain("三、本年度办理结果")]);
                }
                if !headings_done.contains(&block) {
                    headings_done.push(block);
                    let pad = if nested { "  " } else { "" };
                    lines.push(vec![GridCell::plain(fit(
                        &format!("{pad}{block}"),
                        LABEL_WIDTH,
                    ))]);
                }
                if nested { 4 } else { 2 }
            }
        };
        let cells = table.get(row);
        let mut line = vec![GridCell::plain(fit(
            &format!("{}{label}", " ".repeat(indent)),
            LABEL_WIDTH,
        ))];
        line.extend(schema::T3_COLUMNS.iter().map(|c| {
            cell_text(
                cells.and_then(|cs| cs.get(c.key)),
                flag(findings, TableId::T3, row, c.key),
            )
        }));
        lines.push(line);
    }
    grid(out, &lines, 0, p);
}

fn render_t4(out: &mut String, table: &Table, findings: &[Finding], p: Paint) {
    let mut lines = Vec::new();
    let mut header = vec![GridCell::plain("")];
    header.extend(schema::T4_COLUMNS.iter().map(|c| GridCell::plain(c.label)));
    lines.push(header);
    for row in table.keys() {
        let label = spec_of(Template::F2021, TableId::T4, row)
            .map_or(row.clone(), |s| s.label.replace(" › ", "·"));
        let cells = table.get(row);
        let mut line = vec![GridCell::plain(label)];
        line.extend(schema::T4_COLUMNS.iter().map(|c| {
            cell_text(
                cells.and_then(|cs| cs.get(c.key)),
                flag(findings, TableId::T4, row, c.key),
            )
        }));
        lines.push(line);
    }
    grid(out, &lines, 0, p);
}

fn cell_ref_text(c: &CellRef) -> String {
    match (&c.row, &c.column) {
        (Some(r), Some(col)) => format!("{}.{r}.{col}", c.table),
        (Some(r), None) => format!("{}.{r}", c.table),
        _ => c.table.to_string(),
    }
}

fn render_findings(out: &mut String, c: &CheckedReport, p: Paint) {
    let s = c.summary;
    let _ = writeln!(
        out,
        "{}{} 个错误，{} 个警告，{} 条提示",
        p.bold("核验结果："),
        p.severity(&s.errors.to_string(), Severity::Error),
        p.severity(&s.warnings.to_string(), Severity::Warning),
        p.severity(&s.infos.to_string(), Severity::Info)
    );
    if c.findings.is_empty() {
        let _ = writeln!(out, "  未发现问题。");
        return;
    }
    for (severity, heading, mark) in [
        (Severity::Error, "错误", "✗"),
        (Severity::Warning, "警告", "!"),
        (Severity::Info, "提示", "i"),
    ] {
        let group: Vec<&Finding> = c
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            p.severity(&format!("{heading}（{}）", group.len()), severity)
        );
        for f in group {
            let _ = writeln!(
                out,
                "  {} {}  {}",
                p.severity(mark, severity),
                p.bold(&f.rule),
                f.message
            );
            let mut refs: Vec<String> = f.cells.iter().map(cell_ref_text).collect();
            if refs.is_empty()
                && let Some(t) = f.table
            {
                refs.push(cell_ref_text(&CellRef {
                    table: t,
                    row: f.row.clone(),
                    column: f.column.clone(),
                }));
            }
            if !refs.is_empty() {
                let shown = refs.iter().take(8).cloned().collect::<Vec<_>>().join("、");
                let more = if refs.len() > 8 {
                    format!(" 等 {} 个", refs.len())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "      {}", p.dim(&format!("涉及：{shown}{more}")));
            }
        }
    }
}

/// The whole report for a person.
pub(crate) fn render(c: &CheckedReport, color: bool) -> String {
    let p = Paint { on: color };
    let r = &c.report;
    let mut out = String::new();
    let agency = r.agency.as_deref().unwrap_or("（机关未识别）");
    let year = r
        .year
        .map_or_else(|| "（年度未识别）".to_owned(), |y| format!("{y} 年度"));
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "{agency} · {year} · {}",
            template_label(r.template)
        ))
    );
    if let Some(title) = &r.title {
        let _ = writeln!(out, "{title}");
    }
    let src = &c.source;
    let sha: String = src.sha256.chars().take(12).collect();
    let _ = writeln!(
        out,
        "{}",
        p.dim(&format!(
            "来源：{}（{}，{}，{} 字节，sha256 {sha}…）· 规则版本 {}",
            src.name,
            src.media_type,
            src.encoding.as_deref().unwrap_or("—"),
            src.bytes,
            c.rules_version
        ))
    );
    if r.text_layer == TextLayer::ImageOnly {
        let _ = writeln!(
            out,
            "{}",
            p.severity("文档为图片版，无文字层。", Severity::Error)
        );
    }
    let parts: Vec<String> = r
        .sections
        .iter()
        .map(|s| {
            let mark = if s.found {
                "✓"
            } else if s.content_without_heading {
                "（标题缺失）"
            } else {
                "✗"
            };
            format!("{}{mark}", number_zh(s.number))
        })
        .collect();
    if !parts.is_empty() {
        let _ = writeln!(out, "部分：{}", parts.join(" "));
    }
    if r.template != Template::Legacy {
        for id in TableId::ALL {
            let _ = writeln!(out);
            let heading = format!("{}、{}", number_zh(id.section()), id.label());
            let _ = writeln!(out, "{}", p.bold(&heading));
            match r.tables.get(id) {
                None => {
                    let _ = writeln!(out, "  {}", p.severity("（未找到该表格）", Severity::Error));
                }
                Some(t) => match id {
                    TableId::T2 => render_t2(&mut out, r, t, &c.findings, p),
                    TableId::T3 => render_t3(&mut out, r, t, &c.findings, p),
                    TableId::T4 => render_t4(&mut out, t, &c.findings, p),
                },
            }
        }
        let _ = writeln!(
            out,
            "{}",
            p.dim("  [缺] 原文缺失  [空] 空白按 0 计  [歧] 数字串有多种拆分  [超] 数字超出范围  [/] 等为占位符  * 有问题的单元格")
        );
    }
    let _ = writeln!(out);
    render_findings(&mut out, c, p);
    out
}

fn number_zh(n: u8) -> &'static str {
    match n {
        1 => "一",
        2 => "二",
        3 => "三",
        4 => "四",
        5 => "五",
        6 => "六",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gongkai_model::report::empty_table;
    use gongkai_model::{Decimal, Source, Summary};
    use std::str::FromStr;

    fn checked() -> CheckedReport {
        let mut r = Report::empty();
        r.agency = Some("示例县人民政府".to_owned());
        r.year = Some(2022);
        r.template = Template::F2021;
        let mut t3 = empty_table(Template::F2021, TableId::T3);
        let row = t3.get_mut("new_received").unwrap();
        row.insert(
            "natural_person".to_owned(),
            Cell::number(Decimal::from_str("1198").unwrap(), "1,198", None),
        );
        row.insert("commercial".to_owned(), Cell::blank("", None));
        r.tables.t3 = Some(t3);
        r.tables.t4 = Some(empty_table(Template::F2021, TableId::T4));
        let findings = vec![
            Finding::new(
                "T3-ROW-TOTAL",
                Severity::Error,
                "表三「一、…」行「总计」列不符。",
            )
            .at(TableId::T3, Some("new_received"), Some("total")),
        ];
        CheckedReport {
            source: Source {
                name: "示例.md".to_owned(),
                sha256: "ab".repeat(32),
                media_type: "text/markdown".to_owned(),
                encoding: Some("utf-8".to_owned()),
                bytes: 10,
            },
            summary: Summary::of(&findings),
            report: r,
            findings,
            rules_version: "test".to_owned(),
        }
    }

    #[test]
    fn tables_align_by_display_width_and_mark_states() {
        let text = render(&checked(), false);
        assert!(
            text.starts_with("示例县人民政府 · 2022 年度 · 2021 年版格式（F2021）"),
            "{text}"
        );
        assert!(text.contains("（未找到该表格）"), "t2 is absent: {text}");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.iter().find(|l| l.contains("自然人")).unwrap();
        let new = lines.iter().find(|l| l.contains("一、本年新收")).unwrap();
        // The right edge of 自然人 and of its value line up in display columns.
        let col_end = |line: &str, needle: &str| {
            let at = line.find(needle).unwrap() + needle.len();
            line[..at].width()
        };
        assert_eq!(col_end(header, "自然人"), col_end(new, "1198"));
        assert!(new.contains("[空]"), "{new}");
        assert!(new.contains("[缺]*"), "flagged missing total: {new}");
        assert!(text.contains("三、本年度办理结果"));
        assert!(text.contains("    1.属于国家秘密"));
        assert!(text.contains("错误（1）"));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(render(&checked(), true).contains("\x1b[1;31m"));
    }

    #[test]
    fn long_labels_are_cut_to_the_label_width() {
        let cut = fit(
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            30,
        );
        assert!(cut.width() <= 30);
        assert!(cut.ends_with('…'));
    }
}
