//! Every t3 row of both templates, laid out every way a pasted or converted table prints it, is
//! read cell-exact.
//!
//! The documents are generated from the schema (`gongkai_model::schema`): for F2019 and F2021,
//! each row label with and without its list numbering, with its group cells merged (the group
//! label on the first row of its run, an empty cell on the others, as a Word table pastes),
//! repeated on every row, or left out, as tab-separated lines, as columns separated by spaces
//! and as a Markdown pipe table, under the official three-row header. The values form a
//! consistent table (every identity of §6 holds), so the test also asserts that the rules find
//! no T3 error in any of them.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{groups_of, read, report_text, values, without_numbering, wrong_cells};
use gongkai_model::schema::{self, T3_COLUMNS};
use gongkai_model::{Severity, TableId, Template};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Tabs,
    Spaces,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Groups {
    /// The group label on the first row of its run, an empty cell on the others.
    Merged,
    /// The group label on every row.
    Repeated,
    /// No group cells: each row is its own label and its values.
    Omitted,
}

/// The cells of each printed t3 line (header rows first), before the layout joins them.
fn t3_lines(template: Template, groups: Groups, numbering: bool) -> Vec<Vec<String>> {
    let label = |s: &'static str| -> String {
        if numbering {
            s.to_owned()
        } else {
            without_numbering(s).to_owned()
        }
    };
    let mut lines: Vec<Vec<String>> = vec![
        vec![
            "(本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和)".to_owned(),
            "申请人情况".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "总计".to_owned(),
        ],
        vec![
            String::new(),
            "自然人".to_owned(),
            "法人或其他组织".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
        vec![
            String::new(),
            String::new(),
            "商业企业".to_owned(),
            "科研机构".to_owned(),
            "社会公益组织".to_owned(),
            "法律服务机构".to_owned(),
            "其他".to_owned(),
            String::new(),
        ],
    ];
    let specs = schema::rows(template, TableId::T3);
    let values = values(template);
    let mut previous: Vec<&str> = Vec::new();
    for (spec, (_, row)) in specs.iter().zip(&values) {
        let path = groups_of(spec);
        let mut cells: Vec<String> = Vec::new();
        if groups != Groups::Omitted {
            for (depth, group) in path.iter().enumerate() {
                let first = previous.get(depth) != Some(group);
                if first || groups == Groups::Repeated {
                    cells.push(label(group));
                } else {
                    cells.push(String::new());
                }
            }
        }
        cells.push(label(spec.label));
        cells.extend(row.iter().map(u64::to_string));
        lines.push(cells);
        previous = path;
    }
    lines
}

fn document(template: Template, groups: Groups, numbering: bool, layout: Layout) -> String {
    let mut doc = String::new();
    let label_columns = if groups == Groups::Omitted { 1 } else { 3 };
    for (index, cells) in t3_lines(template, groups, numbering)
        .into_iter()
        .enumerate()
    {
        match layout {
            Layout::Tabs => {
                doc.push_str(&cells.join("\t"));
                doc.push('\n');
            }
            Layout::Spaces => {
                // Empty cells are indentation; the header has no numbers and stays prose.
                let mut line = String::new();
                for cell in &cells {
                    if cell.is_empty() {
                        line.push_str("        ");
                    } else {
                        if !line.trim().is_empty() {
                            line.push_str("   ");
                        }
                        line.push_str(cell);
                    }
                }
                doc.push_str(&line);
                doc.push('\n');
            }
            Layout::Markdown => {
                // A converter's table has one column count: a label merged over several
                // label columns is followed by empty cells.
                let mut padded = cells.clone();
                if index >= 3 {
                    let labels = cells.len() - 7;
                    for _ in labels..label_columns {
                        padded.insert(labels, String::new());
                    }
                }
                doc.push_str("| ");
                doc.push_str(&padded.join(" | "));
                doc.push_str(" |\n");
                if index == 0 {
                    doc.push('|');
                    doc.push_str(&"---|".repeat(padded.len()));
                    doc.push('\n');
                }
            }
        }
    }
    report_text(template, &doc, layout == Layout::Markdown)
}

#[test]
fn every_t3_row_of_both_templates_in_every_layout() {
    let mut failures = Vec::new();
    let mut documents = 0;
    for template in [Template::F2019, Template::F2021] {
        for layout in [Layout::Tabs, Layout::Spaces, Layout::Markdown] {
            for groups in [Groups::Merged, Groups::Repeated, Groups::Omitted] {
                for numbering in [true, false] {
                    documents += 1;
                    let text = document(template, groups, numbering, layout);
                    let report = read(&text, layout == Layout::Markdown);
                    let case = format!("{template} {layout:?} {groups:?} numbering={numbering}");
                    if report.template != template {
                        failures.push(format!("{case}: template {}", report.template));
                    }
                    let wrong = wrong_cells(&report, &values(template));
                    if !wrong.is_empty() {
                        failures.push(format!("{case}: {}", wrong.join("; ")));
                    }
                    let t3_errors: Vec<String> = gongkai_rules::check(&report)
                        .into_iter()
                        .filter(|f| f.rule.starts_with("T3-") && f.severity == Severity::Error)
                        .map(|f| format!("{} {:?}.{:?}", f.rule, f.row, f.column))
                        .collect();
                    if !t3_errors.is_empty() {
                        failures.push(format!("{case}: findings {}", t3_errors.join(", ")));
                    }
                }
            }
        }
    }
    assert_eq!(documents, 36);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The issue's own case: a pasted Word t3 whose sub-rows start with the empty cell of the
/// merged `（六）其他处理`, and whose header row ends with the column `其他`.
#[test]
fn the_other_row_under_other_handling_is_read() {
    let text = document(Template::F2021, Groups::Merged, true, Layout::Tabs);
    assert!(text.contains("\t\t3.其他\t352\t2\t0\t0\t0\t0\t354\n"));
    let report = read(&text, false);
    let row = report
        .tables
        .t3
        .as_ref()
        .unwrap()
        .get("other_other")
        .unwrap();
    let printed: Vec<Option<String>> = T3_COLUMNS
        .iter()
        .map(|c| row.get(c.key).and_then(|c| c.value).map(|v| v.to_string()))
        .collect();
    let expected: Vec<Option<String>> = ["352", "2", "0", "0", "0", "0", "354"]
        .iter()
        .map(|v| Some((*v).to_owned()))
        .collect();
    assert_eq!(printed, expected);
    assert!(
        !gongkai_rules::check(&report)
            .iter()
            .any(|f| f.rule == "T3-RESULTS")
    );
}
