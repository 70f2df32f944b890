//! The structure rules: S-METADATA, S-TEMPLATE, S-SECTION, S-TABLE-MISSING,
//! S-TABLE-INCOMPLETE — is the report what the format says a report is.

use crate::eval::{cell_at, effective_template, row_absent};
use crate::findings::{DOCUMENT, Findings, cell_ref, finding, row_ref};
use crate::labels::{column_label, row_label, table_name};
use gongkai_model::report::SECTION_HEADINGS;
use gongkai_model::schema::{self, RowSpec, TableId, Template};
use gongkai_model::{CellState, Observed, Position, Report, Severity, TextLayer};

/// S-METADATA: the agency and the year were found.
pub(crate) fn metadata(report: &Report, out: &mut Findings) {
    if report.agency.is_none() {
        out.push(
            DOCUMENT,
            finding(
                "S-METADATA",
                Severity::Warning,
                "未能识别报告机关名称（标题应为“<机关名称><年度>年政府信息公开工作年度报告”）。"
                    .to_owned(),
                "the agency was not found".to_owned(),
            ),
        );
    }
    if report.year.is_none() {
        out.push(
            DOCUMENT,
            finding(
                "S-METADATA",
                Severity::Warning,
                "未能识别报告年度；依赖年度的核验（S-TEMPLATE 的版本与年度是否相符、P-YEAR）未进行。"
                    .to_owned(),
                "the year was not found; the year-dependent checks (S-TEMPLATE version vs year, P-YEAR) were not run"
                    .to_owned(),
            ),
        );
    }
}

fn template_name(t: Template) -> &'static str {
    match t {
        Template::F2019 => "2019 年版格式（国办公开办函〔2019〕60号）",
        Template::F2021 => "2021 年版格式（国办公开办函〔2021〕30号）",
        Template::Mixed => "两版混用",
        Template::Legacy => "2008 年版格式（政府信息公开情况统计表）",
        Template::Unknown => "未能识别的版本",
    }
}

/// S-TEMPLATE: the version matches the year and is not a mix; legacy reports are recognised.
pub(crate) fn template(report: &Report, out: &mut Findings) {
    let expected = report.year.map(Template::expected_for_year);
    let observed = |e: Option<Template>| {
        (
            e.map(|t| Observed::from(t.as_str())),
            Some(Observed::from(report.template.as_str())),
        )
    };
    match report.template {
        Template::Legacy => {
            // Right for 2018 and earlier (nothing is wrong, the tables are just not checked);
            // a legacy table in a later report is the wrong format.
            let right_for_year = report.year.is_some_and(|y| y <= 2018);
            let severity = if right_for_year {
                Severity::Info
            } else {
                Severity::Warning
            };
            let year_note = match report.year {
                Some(y) if y >= 2019 => format!(
                    "；{y} 年度报告应使用 {}",
                    template_name(Template::expected_for_year(y))
                ),
                _ => String::new(),
            };
            let (e, a) = observed(expected.filter(|_| !right_for_year));
            out.push(
                DOCUMENT,
                finding(
                    "S-TEMPLATE",
                    severity,
                    format!(
                        "本报告采用 2008 年版格式（单一的“政府信息公开情况统计表”，指标名称/计量单位），表格不予核验{year_note}。"
                    ),
                    "legacy 2008-era format (one statistics table); its tables are not checked".to_owned(),
                )
                .expected_actual(e, a),
            );
        }
        Template::Unknown => {
            out.push(
                DOCUMENT,
                finding(
                    "S-TEMPLATE",
                    Severity::Warning,
                    "未能识别报告所用的格式版本（2019 年版或 2021 年版）；表格按其中能识别的行核验。"
                        .to_owned(),
                    "the format version could not be recognised".to_owned(),
                )
                .expected_actual(expected.map(|t| Observed::from(t.as_str())), Some(Observed::from("unknown"))),
            );
        }
        Template::Mixed => {
            let foreign: Vec<String> = report
                .foreign_rows
                .iter()
                .map(|key| foreign_row_label(key))
                .collect();
            let rows_zh = if foreign.is_empty() {
                String::new()
            } else {
                format!("，但保留了 2019 年版的行：{}", foreign.join("、"))
            };
            let year_note = match (report.year, expected) {
                (Some(y), Some(t @ Template::F2019)) => {
                    format!("；{y} 年度报告应使用 {}", template_name(t))
                }
                _ => String::new(),
            };
            let (e, a) = observed(expected);
            out.push(
                DOCUMENT,
                finding(
                    "S-TEMPLATE",
                    Severity::Warning,
                    format!("报告混用两版格式：表格按 2021 年版{rows_zh}{year_note}。"),
                    format!(
                        "the report mixes the two versions (foreign rows: {})",
                        report.foreign_rows.join(", ")
                    ),
                )
                .expected_actual(e, a),
            );
        }
        t @ (Template::F2019 | Template::F2021) => {
            let (Some(year), Some(want)) = (report.year, expected) else {
                return;
            };
            if t != want {
                let (e, a) = observed(expected);
                out.push(
                    DOCUMENT,
                    finding(
                        "S-TEMPLATE",
                        Severity::Warning,
                        format!(
                            "{year} 年度报告应使用 {}，但本报告使用的是 {}。",
                            template_name(want),
                            template_name(t)
                        ),
                        format!("a {year} report should follow {want}, this one follows {t}"),
                    )
                    .expected_actual(e, a),
                );
            }
        }
    }
}

/// `t3.other_handling` → `表三「（六）其他处理」行`.
fn foreign_row_label(key: &str) -> String {
    let mut parts = key.splitn(2, '.');
    let table = parts.next().and_then(TableId::from_id);
    match (table, parts.next()) {
        (Some(table), Some(row)) => format!(
            "{}「{}」行",
            table_name(table),
            row_label(Template::F2019, table, row)
        ),
        _ => key.to_owned(),
    }
}

/// A sortable key of a position of the same kind of source.
fn position_key(p: &Position) -> (u8, i64, i64, i64) {
    match *p {
        Position::Line { line, column } => (0, i64::from(line), i64::from(column), 0),
        Position::Page { page, x, y } => (1, i64::from(page), i64::from(y), i64::from(x)),
        Position::Grid { table, row, column } => {
            (2, i64::from(table), i64::from(row), i64::from(column))
        }
    }
}

/// S-SECTION: the six sections, present and in order; lost headings over surviving content.
pub(crate) fn sections(report: &Report, out: &mut Findings) {
    if report.text_layer == TextLayer::ImageOnly && report.sections.iter().all(|s| !s.found) {
        out.push(
            DOCUMENT,
            finding(
                "S-SECTION",
                Severity::Warning,
                "文档为图片版，无文字层：无法识别六个部分。".to_owned(),
                "the document is an image without a text layer: no section can be found".to_owned(),
            ),
        );
        return;
    }
    for (number, canonical) in (1u8..).zip(SECTION_HEADINGS) {
        let section = report.section(number);
        let (zh, en) = match section {
            Some(s) if s.found => continue,
            Some(s) if s.content_without_heading => (
                format!(
                    "第{}部分的标题“{}”缺失，但该部分的内容（如表格）仍在文中。",
                    chinese_number(number),
                    s.heading
                ),
                format!("section {number}: the heading is lost while its content survives"),
            ),
            _ => (
                format!(
                    "未找到第{}部分“{}”。",
                    chinese_number(number),
                    section.map_or(canonical, |s| s.heading.as_str())
                ),
                format!("section {number} ({canonical}) was not found"),
            ),
        };
        out.push(
            number,
            finding("S-SECTION", Severity::Warning, zh, en)
                .expected_actual(Some(Observed::from(canonical)), None),
        );
    }
    // Order: compare each found section with the next found one whose position is comparable.
    let mut found: Vec<_> = report
        .sections
        .iter()
        .filter(|s| s.found)
        .filter_map(|s| s.position.as_ref().map(|p| (s, position_key(p))))
        .collect();
    found.sort_by_key(|(s, _)| s.number);
    for pair in found.windows(2) {
        let [(a, ka), (b, kb)] = pair else { continue };
        if ka.0 == kb.0 && kb < ka {
            out.push(
                b.number,
                finding(
                    "S-SECTION",
                    Severity::Warning,
                    format!(
                        "第{}部分“{}”出现在第{}部分“{}”之前，顺序有误。",
                        chinese_number(b.number),
                        b.heading,
                        chinese_number(a.number),
                        a.heading
                    ),
                    format!("section {} comes before section {}", b.number, a.number),
                ),
            );
        }
    }
}

pub(crate) fn chinese_number(n: u8) -> &'static str {
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

/// S-TABLE-MISSING: each of t2, t3, t4 is present.
pub(crate) fn tables_missing(report: &Report, out: &mut Findings) {
    for table in TableId::ALL {
        if report.tables.get(table).is_some() {
            continue;
        }
        let (zh, en) = if report.text_layer == TextLayer::ImageOnly {
            (
                format!(
                    "缺少{}“{}”：文档为图片版，无文字层，表格无法读取。",
                    table_name(table),
                    table.label()
                ),
                format!("{table} is missing: the document is an image without a text layer"),
            )
        } else {
            (
                format!(
                    "缺少{}“{}”：原文中未找到该表格。",
                    table_name(table),
                    table.label()
                ),
                format!("{table} is missing from the source"),
            )
        };
        out.push_table(finding("S-TABLE-MISSING", Severity::Error, zh, en).at(table, None, None));
    }
}

const F2021_OTHER_ROWS: [&str; 3] = [
    "other_overdue_correction",
    "other_overdue_fee",
    "other_other",
];

/// In a `mixed` t3: true when the source printed the single F2019 （六）其他处理 row and none
/// of the three F2021 sub-rows.
pub(crate) fn mixed_t3_uses_single_other_row(report: &Report) -> bool {
    let single = !row_absent(report, TableId::T3, "other_handling");
    let split = F2021_OTHER_ROWS
        .iter()
        .any(|r| !row_absent(report, TableId::T3, r));
    single && !split
}

/// The rows a table must have. In a `mixed` t3 only the printed variant of （六）其他处理 is
/// required: the single F2019 row or the three F2021 sub-rows (S-TEMPLATE reports the mix).
pub(crate) fn required_rows(
    report: &Report,
    template: Template,
    table: TableId,
) -> Vec<&'static RowSpec> {
    let rows = schema::rows(template, table);
    if !(template == Template::Mixed && table == TableId::T3) {
        return rows.iter().collect();
    }
    let use_single = mixed_t3_uses_single_other_row(report);
    rows.iter()
        .filter(|r| {
            if r.key == "other_handling" {
                use_single
            } else if F2021_OTHER_ROWS.contains(&r.key) {
                !use_single
            } else {
                true
            }
        })
        .collect()
}

/// S-TABLE-INCOMPLETE: every row and cell of the version is present.
pub(crate) fn tables_incomplete(report: &Report, out: &mut Findings) {
    let template = effective_template(report);
    for table in TableId::ALL {
        let Some(t) = report.tables.get(table) else {
            continue;
        };
        let Some(template) = template else {
            out.push_table(
                finding(
                    "S-TABLE-INCOMPLETE",
                    Severity::Warning,
                    format!(
                        "无法核验：未能识别格式版本，不知道{}应有哪些行。",
                        table_name(table)
                    ),
                    format!("{table}: completeness cannot be checked without a format version"),
                )
                .at(table, None, None),
            );
            continue;
        };
        let required = required_rows(report, template, table);
        let mut missing_rows = Vec::new();
        let mut missing_cells = Vec::new();
        for spec in &required {
            match t.get(spec.key) {
                // The row is in the table: absent only when every cell is `missing`.
                Some(cells) if !cells.values().all(|c| c.state == CellState::Missing) => {
                    for (hint, col) in spec.columns.iter().enumerate() {
                        let state = cell_at(cells, col.key, hint).map(|c| c.state);
                        if matches!(state, None | Some(CellState::Missing)) {
                            missing_cells.push((spec.key, col.key));
                        }
                    }
                }
                _ => missing_rows.push(spec.key),
            }
        }
        if missing_rows.is_empty() && missing_cells.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        if !missing_rows.is_empty() {
            let labels: Vec<String> = missing_rows
                .iter()
                .map(|r| format!("「{}」", row_label(template, table, r)))
                .collect();
            // A table that stops early: the missing rows are exactly the last ones.
            let present = required.len() - missing_rows.len();
            let truncated = present > 0
                && required
                    .iter()
                    .skip(present)
                    .map(|r| r.key)
                    .eq(missing_rows.iter().copied());
            let cut = if truncated {
                required
                    .get(present - 1)
                    .map(|r| {
                        format!(
                            "（表格在「{}」行之后中断）",
                            row_label(template, table, r.key)
                        )
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let listed = match (truncated, labels.first(), labels.last()) {
                (true, Some(first), Some(last)) if labels.len() > 5 => format!("{first}至{last}"),
                _ => labels.join("、"),
            };
            parts.push(format!("缺少 {} 行{cut}：{listed}", missing_rows.len()));
        }
        if !missing_cells.is_empty() {
            let labels: Vec<String> = missing_cells
                .iter()
                .map(|(r, c)| {
                    format!(
                        "「{}」行「{}」列",
                        row_label(template, table, r),
                        column_label(template, table, r, c)
                    )
                })
                .collect();
            parts.push(format!(
                "缺少 {} 个单元格：{}",
                missing_cells.len(),
                labels.join("、")
            ));
        }
        let zh = format!("{}不完整，{}。", table_name(table), parts.join("；"));
        let en = format!(
            "{table} is incomplete: missing rows [{}], missing cells [{}]",
            missing_rows.join(", "),
            missing_cells
                .iter()
                .map(|(r, c)| format!("{r}/{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut refs: Vec<_> = missing_rows.iter().map(|r| row_ref(table, r)).collect();
        refs.extend(missing_cells.iter().map(|(r, c)| cell_ref(table, r, c)));
        let (row, column) = match (missing_rows.first(), missing_cells.first()) {
            (Some(r), _) => (Some(*r), None),
            (None, Some((r, c))) => (Some(*r), Some(*c)),
            (None, None) => (None, None),
        };
        out.push_table(
            finding("S-TABLE-INCOMPLETE", Severity::Error, zh, en)
                .at(table, row, column)
                .with_cells(refs),
        );
    }
}
