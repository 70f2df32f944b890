//! t3 torn apart by PDF-to-text and PDF-to-Markdown converters, generated from a consistent
//! table so that every expected cell is known: label lines standing alone and value rows
//! without labels, labels split over two lines with their values between, page numbers and
//! stray digits between rows, the header repeated after a page break, some rows still on one
//! line with their label. Where the template's order and the identities decide the placement,
//! every cell is read; where they do not (a stray line of zeros that could be either of two
//! zero rows' line, a lost line), the cells are `ambiguous` with the true values among the
//! candidates and a C-AMBIGUOUS finding, never a guess.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{groups_of, read, report_text, values, values_with, without_numbering, wrong_cells};
use gongkai_model::schema::{self, T3_COLUMNS};
use gongkai_model::{CellState, Decimal, Report, Severity, TableId, Template};

const HEADER: [&str; 10] = [
    "（本列数据的勾稽关系为：第一项加第二项之和，",
    "等于第三项加第四项之和）",
    "申请人情况",
    "自然人",
    "法人或其他组织",
    "总计",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构 其他",
];

fn value_line(row: &[u64; 7]) -> String {
    row.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
}

/// The label lines of each row: the group labels that start there, then its own label.
fn label_lines(template: Template) -> Vec<Vec<String>> {
    let mut previous: Vec<&str> = Vec::new();
    schema::rows(template, TableId::T3)
        .iter()
        .map(|spec| {
            let path = groups_of(spec);
            let mut lines: Vec<String> = Vec::new();
            for (depth, group) in path.iter().enumerate() {
                if previous.get(depth) != Some(group) {
                    lines.push((*group).to_owned());
                }
            }
            lines.push(spec.label.to_owned());
            previous = path;
            lines
        })
        .collect()
}

/// `abcdef` → (`abc`, `def`).
fn halves(label: &str) -> (String, String) {
    let chars: Vec<char> = label.chars().collect();
    let mid = chars.len() / 2;
    (chars[..mid].iter().collect(), chars[mid..].iter().collect())
}

#[derive(Debug, Clone, Copy)]
enum Tear {
    /// Every label line first, then every value line.
    LabelsThenValues,
    /// Each label split in two with its values between.
    SplitLabels,
    /// Label lines and value lines alternate, with page numbers, stray digits and the header
    /// repeated after a page break between them.
    NoiseBetweenRows,
    /// Every third row keeps its label on its value line; the others lose it.
    SomeAnchored,
    /// Labels without numbering, then values as Markdown pipe rows without labels.
    MarkdownValueRows,
    /// Value rows wrapped over two lines (four values and three, or six and one with a stray
    /// digit between the two, which only T3-ROW-TOTAL tells from the row's last value).
    WrappedRows,
}

fn torn(template: Template, tear: Tear, expected: &[(&'static str, [u64; 7])]) -> String {
    let labels = label_lines(template);
    let mut body: String = HEADER.iter().map(|h| format!("{h}\n")).collect();
    match tear {
        Tear::LabelsThenValues => {
            for lines in &labels {
                for l in lines {
                    body.push_str(&format!("{l}\n"));
                }
            }
            for (_, v) in expected {
                body.push_str(&format!("{}\n", value_line(v)));
            }
        }
        Tear::SplitLabels => {
            for (lines, (_, v)) in labels.iter().zip(expected) {
                let (own, groups) = lines.split_last().unwrap();
                for g in groups {
                    body.push_str(&format!("{g}\n"));
                }
                let (a, b) = halves(own);
                body.push_str(&format!("{a}\n{}\n{b}\n", value_line(v)));
            }
        }
        Tear::NoiseBetweenRows => {
            for (i, (lines, (_, v))) in labels.iter().zip(expected).enumerate() {
                for l in lines {
                    body.push_str(&format!("{l}\n"));
                }
                body.push_str(&format!("{}\n", value_line(v)));
                match i % 6 {
                    1 => body.push_str(&format!("— {} —\n", i / 6 + 1)),
                    3 => body.push_str(&format!("{}\n", i % 10)),
                    5 => {
                        body.push_str(&format!("- {} -\n", i / 6 + 2));
                        for h in HEADER {
                            body.push_str(&format!("{h}\n"));
                        }
                    }
                    _ => {}
                }
            }
        }
        Tear::SomeAnchored => {
            for (i, (lines, (_, v))) in labels.iter().zip(expected).enumerate() {
                let (own, groups) = lines.split_last().unwrap();
                for g in groups {
                    body.push_str(&format!("{g}\n"));
                }
                if i % 3 == 0 {
                    body.push_str(&format!("{own} {}\n", value_line(v)));
                } else {
                    body.push_str(&format!("{}\n{own}\n", value_line(v)));
                }
            }
        }
        Tear::WrappedRows => {
            for (i, (lines, (_, v))) in labels.iter().zip(expected).enumerate() {
                for l in lines {
                    body.push_str(&format!("{l}\n"));
                }
                let text: Vec<String> = v.iter().map(u64::to_string).collect();
                if i % 5 == 2 {
                    let stray = (v[6] + 1) % 10;
                    body.push_str(&format!("{}\n{stray}\n{}\n", text[..6].join(" "), text[6]));
                } else {
                    body.push_str(&format!(
                        "{}\n{}\n",
                        text[..4].join(" "),
                        text[4..].join(" ")
                    ));
                }
            }
        }
        Tear::MarkdownValueRows => {
            for lines in &labels {
                for l in lines {
                    body.push_str(&format!("{}\n\n", without_numbering(l)));
                }
            }
            body.push_str("| | | | | | | |\n|---|---|---|---|---|---|---|\n");
            for (_, v) in expected {
                let cells: Vec<String> = v.iter().map(u64::to_string).collect();
                body.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
        }
    }
    report_text(template, &body, matches!(tear, Tear::MarkdownValueRows))
}

fn findings(report: &Report, rule: &str) -> Vec<gongkai_model::Finding> {
    gongkai_rules::check(report)
        .into_iter()
        .filter(|f| f.rule == rule && f.severity == Severity::Error)
        .collect()
}

#[test]
fn torn_tables_decided_by_their_order_are_read_cell_exact() {
    let mut failures = Vec::new();
    for template in [Template::F2019, Template::F2021] {
        for tear in [
            Tear::LabelsThenValues,
            Tear::SplitLabels,
            Tear::NoiseBetweenRows,
            Tear::SomeAnchored,
            Tear::MarkdownValueRows,
            Tear::WrappedRows,
        ] {
            let expected = values(template);
            let text = torn(template, tear, &expected);
            let report = read(&text, matches!(tear, Tear::MarkdownValueRows));
            let case = format!("{template} {tear:?}");
            if report.template != template {
                failures.push(format!("{case}: template {}", report.template));
            }
            let wrong = wrong_cells(&report, &expected);
            if !wrong.is_empty() {
                failures.push(format!("{case}: {}", wrong.join("; ")));
            }
            for rule in ["T3-RESULTS", "T3-BALANCE", "T3-ROW-TOTAL", "C-AMBIGUOUS"] {
                if !findings(&report, rule).is_empty() {
                    failures.push(format!("{case}: {rule}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Inserts `line` after the value line of `row`.
fn with_line_after(text: &str, row_values: &[u64; 7], line: &str) -> String {
    let marker = format!("{}\n", value_line(row_values));
    let at = text.find(&marker).unwrap() + marker.len();
    format!("{}{line}\n{}", &text[..at], &text[at..])
}

#[test]
fn a_stray_value_line_is_left_out_where_the_identities_say() {
    // A line of nines between two result rows: placed anywhere, it would break T3-RESULTS,
    // which the published numbers satisfy; left out, every identity holds.
    for template in [Template::F2019, Template::F2021] {
        let expected = values(template);
        let text = torn(template, Tear::LabelsThenValues, &expected);
        let granted = expected.iter().find(|(k, _)| *k == "granted").unwrap().1;
        let text = with_line_after(&text, &granted, "9 9 9 9 9 9 54");
        let report = read(&text, false);
        assert_eq!(
            wrong_cells(&report, &expected),
            Vec::<String>::new(),
            "{template}"
        );
        assert!(report.ambiguities.is_empty(), "{:?}", report.ambiguities);
    }
}

fn row_states(report: &Report, row: &str) -> Vec<CellState> {
    T3_COLUMNS
        .iter()
        .map(|c| report.tables.cell(TableId::T3, row, c.key).unwrap().state)
        .collect()
}

#[test]
fn a_stray_line_of_zeros_between_two_zero_rows_stays_ambiguous() {
    // Rows 1.属于国家秘密 and 4.保护第三方合法权益 are zeros, and a stray line of zeros follows
    // the first: left out, it is either the stray or the line of 保护第三方 (the three rows
    // between then move down one line). Every identity holds either way, so the three rows
    // between are ambiguous, with their true values among the candidates; the rest is read.
    let template = Template::F2021;
    let zero = ["denied_state_secret", "denied_third_party"];
    let expected = values_with(template, &zero);
    let text = torn(template, Tear::LabelsThenValues, &expected);
    let text = with_line_after(&text, &[0; 7], "0 0 0 0 0 0 0");
    let report = read(&text, false);
    let moved = [
        "denied_prohibited_by_law",
        "denied_security_stability",
        "denied_third_party",
    ];
    let decided: Vec<(&'static str, [u64; 7])> = expected
        .iter()
        .filter(|(k, _)| !moved.contains(k))
        .copied()
        .collect();
    assert_eq!(wrong_cells(&report, &decided), Vec::<String>::new());
    for (row, truth) in expected.iter().filter(|(k, _)| moved.contains(k)) {
        for (column, value) in T3_COLUMNS.iter().zip(truth) {
            let cell = report.tables.cell(TableId::T3, row, column.key).unwrap();
            if cell.state == CellState::Ambiguous {
                assert!(cell.value.is_none());
                assert!(
                    cell.candidates.contains(&Decimal::from(*value)),
                    "{row}.{}",
                    column.key
                );
            } else {
                // A column the candidate lines agree on is read.
                assert_eq!(
                    cell.value,
                    Some(Decimal::from(*value)),
                    "{row}.{}",
                    column.key
                );
            }
        }
        assert!(
            row_states(&report, row).contains(&CellState::Ambiguous),
            "{row}"
        );
        assert!(
            report
                .ambiguities
                .iter()
                .any(|a| a.cells.iter().any(|c| c.starts_with(&format!("{row}."))))
        );
    }
    assert!(!findings(&report, "C-AMBIGUOUS").is_empty());
    // No placement was chosen, so none can break a rule the source satisfies.
    assert!(findings(&report, "T3-RESULTS").is_empty());
    assert!(findings(&report, "T3-BALANCE").is_empty());
}

#[test]
fn a_lost_value_line_leaves_the_result_rows_ambiguous() {
    // One result row's line is lost: T3-BALANCE still fixes the first two rows and the last
    // two, but nothing tells which result row lost its line.
    let template = Template::F2021;
    let expected = values(template);
    let text = torn(template, Tear::LabelsThenValues, &expected);
    let lost = expected
        .iter()
        .find(|(k, _)| *k == "denied_process_info")
        .unwrap()
        .1;
    let text = text.replacen(&format!("{}\n", value_line(&lost)), "", 1);
    let report = read(&text, false);
    let fixed = [
        "new_received",
        "carried_over",
        "total_processed",
        "carried_forward",
    ];
    let decided: Vec<(&'static str, [u64; 7])> = expected
        .iter()
        .filter(|(k, _)| fixed.contains(k))
        .copied()
        .collect();
    assert_eq!(wrong_cells(&report, &decided), Vec::<String>::new());
    assert!(row_states(&report, "denied_process_info").contains(&CellState::Ambiguous));
    assert!(!findings(&report, "C-AMBIGUOUS").is_empty());
    assert!(findings(&report, "T3-BALANCE").is_empty());
}

#[test]
fn too_many_placements_are_reported_ambiguous_not_searched() {
    // Four hundred stray lines of zeros: the placements are beyond counting.
    let template = Template::F2021;
    let expected = values(template);
    let text = torn(template, Tear::LabelsThenValues, &expected);
    let first = expected[0].1;
    let text = with_line_after(&text, &first, &"0 0 0 0 0 0 0\n".repeat(400));
    let report = read(&text, false);
    assert!(row_states(&report, "granted").contains(&CellState::Ambiguous));
    assert!(report.ambiguities.iter().any(|a| a.decodings.is_empty()));
    assert!(!findings(&report, "C-AMBIGUOUS").is_empty());
}

#[test]
fn a_torn_table_under_renumbered_headings() {
    // Section 2 was dropped and the sections after it renumbered; t3 is torn as well.
    let template = Template::F2021;
    let expected = values(template);
    let full = torn(template, Tear::SplitLabels, &expected);
    let start = full.find("三、收到和处理").unwrap();
    let end = full.find("四、政府信息公开行政复议").unwrap();
    let table = &full[start + "三、收到和处理政府信息公开申请情况\n".len()..end];
    let text = format!(
        "某某区人民政府2021年政府信息公开工作年度报告\n一、总体情况\n本年度，我区依法做好政府信息公开工作。\n\
         二、收到和处理政府信息公开申请情况\n{table}三、政府信息公开行政复议、行政诉讼情况\n本年度未发生行政复议。\n\
         四、存在的主要问题及改进情况\n公开内容还不够全面。\n五、其他需要报告的事项\n无。\n"
    );
    let report = read(&text, false);
    assert_eq!(wrong_cells(&report, &expected), Vec::<String>::new());
    let found: Vec<u8> = report
        .sections
        .iter()
        .filter(|s| s.found)
        .map(|s| s.number)
        .collect();
    assert_eq!(found, vec![1, 3, 4, 5, 6]);
    assert!(findings(&report, "C-AMBIGUOUS").is_empty());
}

/// t2 of `template` as (row, printed values), every row with distinct values.
fn t2_rows(template: Template) -> Vec<(&'static str, &'static str, Vec<String>)> {
    schema::rows(template, TableId::T2)
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let values = spec
                .columns
                .iter()
                .enumerate()
                .map(|(c, column)| match column.kind {
                    schema::ValueKind::Amount => format!("{}.5", 10 + i),
                    schema::ValueKind::SignedCount if i % 2 == 0 => format!("-{}", c + 1),
                    _ => (i * 10 + c + 1).to_string(),
                })
                .collect();
            (spec.key, spec.label, values)
        })
        .collect()
}

/// The report with t2's rows as loose lines at the end of section 1 (`extra` after them),
/// and section 2 holding only the table's labels.
fn loose_t2_report(template: Template, extra: &str) -> String {
    let year = if template == Template::F2019 {
        2020
    } else {
        2021
    };
    let mut text = format!(
        "某某区人民政府{year}年政府信息公开工作年度报告\n一、总体情况\n本年度，我区依法做好政府信息公开工作。\n"
    );
    for (_, label, values) in t2_rows(template) {
        text.push_str(&format!("{label} {}\n", values.join(" ")));
    }
    text.push_str(extra);
    text.push_str("— 2 —\n二、主动公开政府信息情况\n第二十条第（一）项\n信息内容\n");
    for spec in schema::rows(template, TableId::T2) {
        for column in spec.columns {
            text.push_str(&format!("{}\n", column.label));
        }
        text.push_str(&format!("{}\n", spec.label));
    }
    let expected = values(template);
    let mut t3 = String::from("三、收到和处理政府信息公开申请情况\n");
    for ((_, v), spec) in expected.iter().zip(schema::rows(template, TableId::T3)) {
        t3.push_str(&format!("{} {}\n", spec.label, value_line(v)));
    }
    text.push_str(&t3);
    text.push_str("四、政府信息公开行政复议、行政诉讼情况\n无。\n五、存在的主要问题及改进情况\n无。\n六、其他需要报告的事项\n无。\n");
    text
}

#[test]
fn t2_rows_printed_as_loose_lines_before_the_heading() {
    for template in [Template::F2019, Template::F2021] {
        let report = read(&loose_t2_report(template, ""), false);
        assert_eq!(report.template, template);
        for (row, _, printed) in t2_rows(template) {
            let spec = schema::row(template, TableId::T2, row).unwrap();
            for (column, text) in spec.columns.iter().zip(&printed) {
                let cell = report.tables.cell(TableId::T2, row, column.key).unwrap();
                assert_eq!(
                    cell.state,
                    CellState::Number,
                    "{template} {row}.{}",
                    column.key
                );
                assert_eq!(&cell.text, text, "{template} {row}.{}", column.key);
                assert_eq!(
                    cell.value,
                    Some(text.parse::<Decimal>().unwrap()),
                    "{template} {row}.{}",
                    column.key
                );
            }
        }
        assert!(report.ambiguities.is_empty(), "{:?}", report.ambiguities);
    }
}

#[test]
fn loose_t2_lines_that_disagree_are_ambiguous() {
    let template = Template::F2021;
    let report = read(&loose_t2_report(template, "行政许可 98\n"), false);
    let cell = report
        .tables
        .cell(TableId::T2, "licensing", "decisions")
        .unwrap();
    assert_eq!(cell.state, CellState::Ambiguous);
    let licensing = t2_rows(template)
        .into_iter()
        .find(|(k, _, _)| *k == "licensing")
        .unwrap();
    assert_eq!(
        cell.candidates,
        vec![
            licensing.2[0].parse::<Decimal>().unwrap(),
            Decimal::from(98)
        ]
    );
    assert!(!findings(&report, "C-AMBIGUOUS").is_empty());
    // The other rows are read.
    let cell = report
        .tables
        .cell(TableId::T2, "punishment", "decisions")
        .unwrap();
    assert_eq!(cell.state, CellState::Number);
}

/// The text with `row`'s value line printed wrapped: its first six values, a stray digit
/// `stray`, then its last value, each on a line of its own.
fn wrapped_with_stray(text: &str, row: &[u64; 7], stray: u64) -> String {
    let six: Vec<String> = row[..6].iter().map(u64::to_string).collect();
    text.replacen(
        &format!("{}\n", value_line(row)),
        &format!("{}\n{stray}\n{}\n", six.join(" "), row[6]),
        1,
    )
}

/// `expected` with `row`'s first value raised by one: a published row whose total breaks
/// T3-ROW-TOTAL, so that the row's own total cannot tell its last value from a stray digit.
fn with_broken_row(
    expected: &[(&'static str, [u64; 7])],
    row: &str,
) -> Vec<(&'static str, [u64; 7])> {
    expected
        .iter()
        .map(|(k, v)| {
            let mut v = *v;
            if *k == row {
                v[0] += 1;
            }
            (*k, v)
        })
        .collect()
}

#[test]
fn a_wrapped_row_with_two_cuts_is_decided_by_the_table_identities() {
    // 授予 wrapped as six values, a stray digit, its total; its total breaks T3-ROW-TOTAL as
    // published, so either digit could end it. T3-RESULTS of the total column holds with the
    // real total and not with the stray: the row is read, its published break reported.
    for template in [Template::F2019, Template::F2021] {
        let expected = with_broken_row(&values(template), "granted");
        let granted = expected.iter().find(|(k, _)| *k == "granted").unwrap().1;
        let stray = (granted[6] + 3) % 10;
        let text = wrapped_with_stray(
            &torn(template, Tear::LabelsThenValues, &expected),
            &granted,
            stray,
        );
        let report = read(&text, false);
        assert_eq!(
            wrong_cells(&report, &expected),
            Vec::<String>::new(),
            "{template}"
        );
        assert!(findings(&report, "C-AMBIGUOUS").is_empty(), "{template}");
        assert!(!findings(&report, "T3-ROW-TOTAL").is_empty(), "{template}");
    }
}

#[test]
fn a_wrapped_row_no_identity_decides_is_ambiguous_not_missing() {
    // As above, but 办理结果总计's total is misprinted too: T3-RESULTS of the total column
    // holds with neither digit. The row's total is ambiguous between the two, its other
    // columns (the same in both cuts) are read, and C-AMBIGUOUS lists both lines.
    for template in [Template::F2019, Template::F2021] {
        let mut expected = with_broken_row(&values(template), "granted");
        if let Some((_, total)) = expected.iter_mut().find(|(k, _)| *k == "total_processed") {
            total[6] += 20;
        }
        let granted = expected.iter().find(|(k, _)| *k == "granted").unwrap().1;
        let stray = (granted[6] + 3) % 10;
        let text = wrapped_with_stray(
            &torn(template, Tear::LabelsThenValues, &expected),
            &granted,
            stray,
        );
        let report = read(&text, false);
        let others: Vec<(&'static str, [u64; 7])> = expected
            .iter()
            .filter(|(k, _)| *k != "granted")
            .copied()
            .collect();
        assert_eq!(
            wrong_cells(&report, &others),
            Vec::<String>::new(),
            "{template}"
        );
        for (column, value) in T3_COLUMNS.iter().zip(granted).take(6) {
            let cell = report
                .tables
                .cell(TableId::T3, "granted", column.key)
                .unwrap();
            assert_eq!(cell.value, Some(Decimal::from(value)), "{template}");
        }
        let total = report.tables.cell(TableId::T3, "granted", "total").unwrap();
        assert_eq!(total.state, CellState::Ambiguous, "{template}");
        let mut candidates = vec![Decimal::from(granted[6]), Decimal::from(stray)];
        candidates.sort();
        assert_eq!(total.candidates, candidates, "{template}");
        let ambiguous = findings(&report, "C-AMBIGUOUS");
        assert_eq!(ambiguous.len(), 1, "{template}: {ambiguous:?}");
        // The reader is told what was torn and which lines are the candidates.
        let message = &ambiguous[0].message;
        assert!(message.contains("与行标签分离"), "{message}");
        assert!(message.contains(&format!("{stray}")), "{message}");
        assert!(!message.contains("连写数字串"), "{message}");
    }
}
