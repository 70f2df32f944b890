//! t4 torn by PDF-to-text converters, generated from known values: its fifteen numbers one a
//! line, in blocks, wrapped, as a Markdown row, printed before its header, with page numbers
//! and stray digits among them. Where T4-TOTAL decides which line is noise, every cell is
//! read; where it does not, the blocks the readings disagree on are `ambiguous` with the true
//! values among the candidates, reported as C-AMBIGUOUS, never a guess.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{read, report_text};
use gongkai_model::schema::{self, T4_COLUMNS};
use gongkai_model::{AmbiguityKind, CellState, Decimal, Report, Severity, TableId, Template};

/// The header of t4 as a converter prints it: one word a line.
const HEADER: &str = "行政复议\n行政诉讼\n结果维持\n结果纠正\n其他结果\n尚未审结\n总计\n\
未经复议直接起诉\n复议后起诉\n结果维持\n结果纠正\n其他结果\n尚未审结\n总计\n\
结果维持\n结果纠正\n其他结果\n尚未审结\n总计\n";

/// Three blocks whose first four cells add up to the fifth.
const VALUES: [u64; 15] = [2, 1, 0, 1, 4, 1, 0, 1, 0, 2, 1, 0, 0, 0, 1];

fn joined(values: &[u64]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn report_with_t4(template: Template, section4: &str) -> Report {
    let text =
        report_text(template, "", false).replace("本年度未发生行政复议、行政诉讼。\n", section4);
    read(&text, false)
}

/// Every cell of t4 that is not the number of `expected`, as `block.column: found`.
fn wrong_t4(report: &Report, template: Template, expected: &[u64; 15]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (b, spec) in schema::rows(template, TableId::T4).iter().enumerate() {
        for (c, column) in T4_COLUMNS.iter().enumerate() {
            let cell = report.tables.cell(TableId::T4, spec.key, column.key);
            let want = Decimal::from(expected[b * 5 + c]);
            if !cell.is_some_and(|x| x.state == CellState::Number && x.value == Some(want)) {
                wrong.push(format!(
                    "{}.{}: {:?}",
                    spec.key,
                    column.key,
                    cell.map(|x| (x.state, x.value))
                ));
            }
        }
    }
    wrong
}

fn errors(report: &Report, rule: &str) -> usize {
    gongkai_rules::check(report)
        .iter()
        .filter(|f| f.rule == rule && f.severity == Severity::Error)
        .count()
}

#[test]
fn torn_t4_layouts_are_read_cell_exact() {
    let v = &VALUES;
    let layouts = [
        (
            "one a line",
            format!("{HEADER}{}\n", v.map(|x| x.to_string()).join("\n")),
        ),
        (
            "blocks of five",
            format!(
                "{HEADER}{}\n{}\n{}\n",
                joined(&v[..5]),
                joined(&v[5..10]),
                joined(&v[10..])
            ),
        ),
        (
            "wrapped eight and seven",
            format!("{HEADER}{}\n{}\n", joined(&v[..8]), joined(&v[8..])),
        ),
        (
            "a page number between",
            format!("{HEADER}{}\n— 3 —\n{}\n", joined(&v[..7]), joined(&v[7..])),
        ),
        (
            "a stray digit between",
            format!("{HEADER}{}\n3\n{}\n", joined(&v[..7]), joined(&v[7..])),
        ),
        (
            "values before the header",
            format!("{}\n{HEADER}", joined(v)),
        ),
        (
            "a Markdown row",
            format!("{HEADER}| {} |\n", v.map(|x| x.to_string()).join(" | ")),
        ),
    ];
    let mut failures = Vec::new();
    for template in [Template::F2019, Template::F2021] {
        for (name, section4) in &layouts {
            let report = report_with_t4(template, section4);
            let wrong = wrong_t4(&report, template, v);
            if !wrong.is_empty() {
                failures.push(format!("{template} {name}: {}", wrong.join("; ")));
            }
            for rule in ["T4-TOTAL", "C-AMBIGUOUS", "S-TABLE-INCOMPLETE"] {
                if errors(&report, rule) > 0 {
                    failures.push(format!("{template} {name}: {rule}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_stray_digit_t4_total_decides_is_left_out() {
    // One value a line and a stray `7` after the second block: left out anywhere else, some
    // block breaks T4-TOTAL, which the published numbers satisfy.
    let mut lines: Vec<String> = VALUES.iter().map(u64::to_string).collect();
    lines.insert(10, "7".to_owned());
    let report = report_with_t4(Template::F2021, &format!("{HEADER}{}\n", lines.join("\n")));
    assert_eq!(
        wrong_t4(&report, Template::F2021, &VALUES),
        Vec::<String>::new()
    );
    assert_eq!(errors(&report, "C-AMBIGUOUS"), 0);
}

#[test]
fn a_stray_digit_no_identity_decides_leaves_its_block_ambiguous() {
    // The last block as published breaks T4-TOTAL (1 + 0 + 0 + 0 printed as 2), and a stray
    // `5` follows it: whichever of its single-value lines is left out, the block breaks
    // T4-TOTAL, so nothing says which is noise. The first two blocks are read; the last is
    // ambiguous where its readings differ, with the published values among the candidates.
    let mut published = VALUES;
    published[14] = 2;
    let mut lines: Vec<String> = published.iter().map(u64::to_string).collect();
    lines.push("5".to_owned());
    let report = report_with_t4(Template::F2021, &format!("{HEADER}{}\n", lines.join("\n")));
    let wrong = wrong_t4(&report, Template::F2021, &published);
    assert!(
        !wrong.is_empty()
            && wrong
                .iter()
                .all(|w| w.starts_with("litigation_after_review.")),
        "{wrong:?}"
    );
    for (c, column) in T4_COLUMNS.iter().enumerate() {
        let cell = report
            .tables
            .cell(TableId::T4, "litigation_after_review", column.key)
            .unwrap();
        let truth = Decimal::from(published[10 + c]);
        match cell.state {
            CellState::Number => assert_eq!(cell.value, Some(truth)),
            CellState::Ambiguous => assert!(cell.candidates.contains(&truth), "{}", column.key),
            other => panic!("{}: {other:?}", column.key),
        }
    }
    let total = report
        .tables
        .cell(TableId::T4, "litigation_after_review", "total")
        .unwrap();
    assert_eq!(total.state, CellState::Ambiguous);
    assert!(total.candidates.contains(&Decimal::from(5)));
    let ambiguity = report
        .ambiguities
        .iter()
        .find(|a| a.table == TableId::T4)
        .unwrap();
    assert_eq!(ambiguity.kind, AmbiguityKind::Placement);
    let findings: Vec<_> = gongkai_rules::check(&report)
        .into_iter()
        .filter(|f| f.rule == "C-AMBIGUOUS")
        .collect();
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0].message.contains("与行标签分离"),
        "{}",
        findings[0].message
    );
}

#[test]
fn a_t4_the_readers_read_is_left_as_read() {
    // A t4 with its block labels is the ordinary reader's: placing never rereads it, even
    // with a stray digit in the section.
    let section4 = format!(
        "行政复议 {}\n未经复议直接起诉 {}\n复议后起诉 {}\n— 4 —\n",
        joined(&VALUES[..5]),
        joined(&VALUES[5..10]),
        joined(&VALUES[10..])
    );
    let report = report_with_t4(Template::F2021, &section4);
    assert_eq!(
        wrong_t4(&report, Template::F2021, &VALUES),
        Vec::<String>::new()
    );
    assert!(report.ambiguities.is_empty(), "{:?}", report.ambiguities);
}
