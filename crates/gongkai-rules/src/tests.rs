//! Unit tests of every rule: a report that passes, one that fails, and the cases where the rule
//! cannot be evaluated. Reports are built from the clean reports of `testkit`.

use crate::testkit::*;
use crate::{check, check_against_previous};
use gongkai_model::schema::{TableId, Template};
use gongkai_model::{Ambiguity, Cell, CellRef, Finding, Observed, Severity, TextLayer};

fn cref(table: TableId, row: &str, column: &str) -> CellRef {
    CellRef {
        table,
        row: Some(row.to_owned()),
        column: Some(column.to_owned()),
    }
}

fn at(f: &Finding) -> (Option<TableId>, Option<&str>, Option<&str>) {
    (f.table, f.row.as_deref(), f.column.as_deref())
}

fn missing_from(report: &mut gongkai_model::Report, table: TableId, first_missing_row: &str) {
    let t = report.tables.get_mut(table).as_mut().unwrap();
    let mut cut = false;
    for (row, cells) in t.iter_mut() {
        cut |= row == first_missing_row;
        if cut {
            for c in cells.values_mut() {
                *c = Cell::missing();
            }
        }
    }
}

// ---- clean reports --------------------------------------------------------------------------

#[test]
fn clean_reports_have_no_findings() {
    assert_eq!(summary(&check(&clean_f2021())), vec![]);
    assert_eq!(summary(&check(&clean_f2019())), vec![]);
}

// ---- S-METADATA -----------------------------------------------------------------------------

#[test]
fn metadata_missing_agency_and_year() {
    let mut r = clean_f2021();
    r.agency = None;
    r.year = None;
    let f = check(&r);
    let m = of(&f, "S-METADATA");
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|f| f.severity == Severity::Warning));
    assert!(m[0].message.contains("机关"));
    assert!(m[1].message.contains("年度"));
    // Year-dependent rules did not run, and the document-level findings come first.
    assert!(of(&f, "S-TEMPLATE").is_empty());
    assert_eq!(f[0].rule, "S-METADATA");
}

// ---- S-TEMPLATE -----------------------------------------------------------------------------

#[test]
fn template_must_match_the_year() {
    let mut r = clean_f2019();
    r.year = Some(2021);
    r.sections[0].text = r.sections[0].text.replace("2020年", "2021年");
    let f = check(&r);
    let t = of(&f, "S-TEMPLATE");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].severity, Severity::Warning);
    assert_eq!(t[0].expected, Some(Observed::from("F2021")));
    assert_eq!(t[0].actual, Some(Observed::from("F2019")));
    assert!(
        t[0].message.contains("2021 年度报告应使用 2021 年版格式"),
        "{}",
        t[0].message
    );
}

fn mixed_report() -> gongkai_model::Report {
    let mut r = clean_f2021();
    r.template = Template::Mixed;
    let mut t3 = gongkai_model::report::empty_table(Template::Mixed, TableId::T3);
    for (row, cells) in r.tables.t3.take().unwrap() {
        t3.insert(row, cells);
    }
    r.tables.t3 = Some(t3);
    for c in gongkai_model::schema::T3_COLUMNS {
        set(&mut r, TableId::T3, "other_handling", c.key, num("0"));
        for row in [
            "other_overdue_correction",
            "other_overdue_fee",
            "other_other",
        ] {
            set(&mut r, TableId::T3, row, c.key, Cell::missing());
        }
    }
    r.foreign_rows = vec!["t3.other_handling".to_owned()];
    r
}

#[test]
fn mixed_report_is_one_template_warning_and_not_incomplete() {
    let r = mixed_report();
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("S-TEMPLATE".to_owned(), Severity::Warning)]
    );
    assert!(
        f[0].message.contains("表三「（六）其他处理」行"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].actual, Some(Observed::from("mixed")));
}

#[test]
fn mixed_report_sums_the_single_other_row() {
    let mut r = mixed_report();
    set(
        &mut r,
        TableId::T3,
        "other_handling",
        "natural_person",
        num("1"),
    );
    set(&mut r, TableId::T3, "other_handling", "total", num("1"));
    let f = check(&r);
    let results = of(&f, "T3-RESULTS");
    assert_eq!(results.len(), 2, "{f:#?}");
    assert_eq!(
        at(results[0]),
        (
            Some(TableId::T3),
            Some("total_processed"),
            Some("natural_person")
        )
    );
    assert_eq!(results[0].expected, obs("10"));
    assert_eq!(results[0].actual, obs("9"));
    assert!(
        results[0]
            .cells
            .contains(&cref(TableId::T3, "other_handling", "natural_person"))
    );
}

#[test]
fn legacy_reports_are_recognised_and_not_checked() {
    let mut r = clean_f2019();
    r.template = Template::Legacy;
    r.year = Some(2018);
    r.tables = Default::default();
    r.sections.clear();
    let f = check(&r);
    assert_eq!(summary(&f), vec![("S-TEMPLATE".to_owned(), Severity::Info)]);
    assert!(f[0].message.contains("2008 年版"));
    assert!(f[0].message.contains("不予核验"));
    r.year = Some(2020);
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("S-TEMPLATE".to_owned(), Severity::Warning)]
    );
    assert_eq!(f[0].expected, Some(Observed::from("F2019")));
}

// ---- S-SECTION ------------------------------------------------------------------------------

#[test]
fn lost_heading_with_surviving_content_is_reported() {
    let mut r = clean_f2019();
    r.sections[3].found = false;
    r.sections[3].content_without_heading = true;
    let f = check(&r);
    let s = of(&f, "S-SECTION");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].severity, Severity::Warning);
    assert!(s[0].message.contains("第四部分的标题"), "{}", s[0].message);
    assert!(s[0].message.contains("内容"));
}

#[test]
fn missing_and_misordered_sections_are_reported() {
    let mut r = clean_f2021();
    r.sections.remove(5);
    r.sections[2].position = Some(gongkai_model::Position::Line {
        line: 99,
        column: 1,
    });
    let f = check(&r);
    let s = of(&f, "S-SECTION");
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(
        s[0].message.contains("第四部分") && s[0].message.contains("之前"),
        "{}",
        s[0].message
    );
    assert!(s[1].message.contains("未找到第六部分"));
}

// ---- S-TABLE-MISSING ------------------------------------------------------------------------

#[test]
fn missing_table_is_an_error_and_image_only_says_so() {
    let mut r = clean_f2021();
    r.tables.t4 = None;
    r.sections[0].text = "2024年，共收到政府信息公开申请13件。".to_owned();
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("S-TABLE-MISSING".to_owned(), Severity::Error)]
    );
    assert_eq!(at(&f[0]), (Some(TableId::T4), None, None));
    r.text_layer = TextLayer::ImageOnly;
    r.tables = Default::default();
    r.sections.iter_mut().for_each(|s| {
        s.found = false;
        s.text.clear();
    });
    let f = check(&r);
    let m = of(&f, "S-TABLE-MISSING");
    assert_eq!(m.len(), 3);
    assert!(m.iter().all(|f| f.message.contains("图片版，无文字层")));
    let s = of(&f, "S-SECTION");
    assert_eq!(s.len(), 1);
    assert!(s[0].message.contains("图片版"));
}

// ---- S-TABLE-INCOMPLETE and not-evaluable table rules ----------------------------------------

#[test]
fn truncated_t3_names_missing_rows_and_blocks_the_identities() {
    let mut r = clean_f2019();
    missing_from(&mut r, TableId::T3, "granted");
    r.sections[0].text = "2020年共受理政府信息公开申请13件。".to_owned();
    let f = check(&r);
    let inc = of(&f, "S-TABLE-INCOMPLETE");
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].severity, Severity::Error);
    assert_eq!(at(inc[0]), (Some(TableId::T3), Some("granted"), None));
    assert_eq!(inc[0].cells.len(), 21);
    assert!(inc[0].message.contains("缺少 21 行"), "{}", inc[0].message);
    assert!(
        inc[0]
            .message
            .contains("「二、上年结转政府信息公开申请数量」行之后中断")
    );
    assert!(
        inc[0]
            .message
            .contains("「（一）予以公开」至「四、结转下年度继续办理」"),
        "{}",
        inc[0].message
    );
    for (rule, cells) in [
        ("T3-BALANCE", "「（七）总计」行（7 列均缺失）"),
        (
            "T3-RESULTS",
            "「（一）予以公开」至「（七）总计」共 20 行均缺失",
        ),
    ] {
        let w = of(&f, rule);
        assert_eq!(w.len(), 1, "{rule}");
        assert_eq!(w[0].severity, Severity::Warning);
        assert!(w[0].message.starts_with("无法核验"), "{}", w[0].message);
        assert!(w[0].message.contains(cells), "{}", w[0].message);
        assert_eq!(w[0].expected, None);
    }
    // The two rows present still satisfy their row totals: nothing else is said.
    assert!(of(&f, "T3-ROW-TOTAL").is_empty());
    assert_eq!(f.len(), 3, "{f:#?}");
}

#[test]
fn a_missing_cell_in_a_present_row_is_listed() {
    let mut r = clean_f2021();
    set(&mut r, TableId::T4, "review", "pending", Cell::missing());
    let f = check(&r);
    let inc = of(&f, "S-TABLE-INCOMPLETE");
    assert_eq!(
        at(inc[0]),
        (Some(TableId::T4), Some("review"), Some("pending"))
    );
    assert!(
        inc[0].message.contains("「行政复议」行「尚未审结」列"),
        "{}",
        inc[0].message
    );
    let t4 = of(&f, "T4-TOTAL");
    assert_eq!(t4.len(), 1);
    assert_eq!(t4[0].severity, Severity::Warning);
    assert_eq!(t4[0].cells, vec![cref(TableId::T4, "review", "pending")]);
}

// ---- C-* ------------------------------------------------------------------------------------

#[test]
fn blank_cells_warn_and_count_as_zero() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "granted",
        "research",
        Cell::blank("", None),
    );
    let f = check(&r);
    assert_eq!(summary(&f), vec![("C-BLANK".to_owned(), Severity::Warning)]);
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T3), Some("granted"), Some("research"))
    );
    assert_eq!(f[0].actual, obs("0"));
    assert!(
        f[0].message
            .contains("表三「（一）予以公开」行「法人或其他组织·科研机构」列为空白")
    );
}

#[test]
fn placeholders_warn_and_block_the_sums_they_are_in() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "granted",
        "natural_person",
        Cell::placeholder("/", None),
    );
    let f = check(&r);
    let p = of(&f, "C-PLACEHOLDER");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].actual, Some(Observed::from("/")));
    let results = of(&f, "T3-RESULTS");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].severity, Severity::Warning);
    assert!(
        results[0].message.contains("为占位符"),
        "{}",
        results[0].message
    );
    assert_eq!(
        results[0].cells,
        vec![cref(TableId::T3, "granted", "natural_person")]
    );
    assert_eq!(of(&f, "T3-ROW-TOTAL")[0].severity, Severity::Warning);
    assert!(of(&f, "T3-BALANCE").is_empty());
}

#[test]
fn ambiguous_runs_are_errors_naming_every_cell() {
    let mut r = clean_f2019();
    for col in ["made", "published", "total_published"] {
        set(
            &mut r,
            TableId::T2,
            "normative_documents",
            col,
            Cell::ambiguous("7777166", vec![], None),
        );
    }
    r.ambiguities.push(Ambiguity {
        table: TableId::T2,
        kind: gongkai_model::AmbiguityKind::Digits,
        text: "7777166".to_owned(),
        cells: vec![
            "normative_documents.made".to_owned(),
            "normative_documents.published".to_owned(),
            "normative_documents.total_published".to_owned(),
        ],
        decodings: vec![
            vec![dec("77"), dec("77"), dec("166")],
            vec![dec("7"), dec("777"), dec("166")],
        ],
        position: None,
    });
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("C-AMBIGUOUS".to_owned(), Severity::Error)]
    );
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T2), Some("normative_documents"), Some("made"))
    );
    assert_eq!(f[0].cells.len(), 3);
    assert!(
        f[0].message.contains("“7777166”有 2 种"),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("77/77/166"));
}

#[test]
fn a_run_with_too_many_decodings_says_so_instead_of_zero_ways() {
    let mut r = clean_f2019();
    for col in ["made", "published", "total_published"] {
        set(
            &mut r,
            TableId::T2,
            "normative_documents",
            col,
            Cell::ambiguous("12345678901234567890", vec![], None),
        );
    }
    r.ambiguities.push(Ambiguity {
        table: TableId::T2,
        kind: gongkai_model::AmbiguityKind::Digits,
        text: "12345678901234567890".to_owned(),
        cells: vec![
            "normative_documents.made".to_owned(),
            "normative_documents.published".to_owned(),
            "normative_documents.total_published".to_owned(),
        ],
        decodings: vec![],
        position: None,
    });
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("C-AMBIGUOUS".to_owned(), Severity::Error)]
    );
    assert!(f[0].message.contains("拆分方式过多"), "{}", f[0].message);
    assert!(!f[0].message.contains("有 0 种"), "{}", f[0].message);
}

#[test]
fn negative_counts_are_errors_except_the_f2019_change() {
    let mut r = clean_f2021();
    set(&mut r, TableId::T2, "licensing", "decisions", num("-5"));
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("C-NEGATIVE".to_owned(), Severity::Error)]
    );
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T2), Some("licensing"), Some("decisions"))
    );
    assert_eq!(f[0].actual, obs("-5"));
    // clean_f2019 has negative changes and no finding (see clean_reports_have_no_findings).
}

#[test]
fn counts_with_decimals_are_errors_amounts_are_not() {
    let mut r = clean_f2019();
    set(&mut r, TableId::T2, "licensing", "decisions", num("227.5"));
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("C-NOT-INTEGER".to_owned(), Severity::Error)]
    );
    assert_eq!(f[0].actual, obs("227.5"));
    // procurement amount 18759.694 raised nothing.
}

#[test]
fn out_of_range_cells_are_errors_and_block_the_sums_they_belong_to() {
    let mut r = clean_f2021();
    let long = "12345678901234567890123456789";
    set(
        &mut r,
        TableId::T3,
        "granted",
        "natural_person",
        Cell::invalid(long, None),
    );
    let f = check(&r);
    let range = of(&f, "C-RANGE");
    assert_eq!(range.len(), 1, "{f:#?}");
    assert_eq!(range[0].severity, Severity::Error);
    assert_eq!(
        at(range[0]),
        (Some(TableId::T3), Some("granted"), Some("natural_person"))
    );
    assert_eq!(range[0].actual, Some(Observed::from(long)));
    assert!(range[0].message.contains(long), "{}", range[0].message);
    assert!(range[0].message.contains("件数最多 10 位"));
    // The rules that need the cell say they could not be evaluated, as for missing cells.
    for rule in ["T3-RESULTS", "T3-ROW-TOTAL"] {
        let not_evaluable = of(&f, rule);
        assert_eq!(not_evaluable.len(), 1, "{rule}: {f:#?}");
        assert_eq!(not_evaluable[0].severity, Severity::Warning);
        assert!(
            not_evaluable[0].message.starts_with("无法核验")
                && not_evaluable[0].message.contains("超出数值范围"),
            "{}",
            not_evaluable[0].message
        );
        assert!(
            not_evaluable[0]
                .cells
                .contains(&cref(TableId::T3, "granted", "natural_person"))
        );
    }
    // The other rules still hold.
    assert!(of(&f, "T3-BALANCE").is_empty());
}

#[test]
fn an_out_of_range_amount_names_the_amount_limits() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T2,
        "fees",
        "amount",
        Cell::invalid("1234567890123456.5", None),
    );
    let f = check(&r);
    let range = of(&f, "C-RANGE");
    assert_eq!(range.len(), 1);
    assert!(
        range[0].message.contains("金额最多 15 位整数、8 位小数"),
        "{}",
        range[0].message
    );
}

#[test]
fn the_largest_decimals_never_overflow_a_rule() {
    // A report built otherwise than by the reader (JSON from elsewhere) may hold numbers far
    // beyond §9: the rules leave them out instead of overflowing.
    let mut r = clean_f2021();
    let max = gongkai_model::Decimal::MAX;
    for row in ["new_received", "carried_over", "granted", "total_processed"] {
        set(
            &mut r,
            TableId::T3,
            row,
            "natural_person",
            Cell::number(max, max.to_string(), None),
        );
    }
    for column in ["upheld", "corrected", "other", "pending", "total"] {
        set(
            &mut r,
            TableId::T4,
            "litigation_direct",
            column,
            Cell::number(max, max.to_string(), None),
        );
        set(
            &mut r,
            TableId::T4,
            "litigation_after_review",
            column,
            Cell::number(max, max.to_string(), None),
        );
    }
    let f = check(&r);
    for rule in ["T3-BALANCE", "T3-RESULTS", "T3-ROW-TOTAL", "T4-TOTAL"] {
        assert!(
            of(&f, rule).iter().all(|f| f.severity == Severity::Warning),
            "{rule}: {f:#?}"
        );
    }
    let previous = r.clone();
    let _ = check_against_previous(&r, &previous);
}

// ---- T3 / T4 arithmetic ---------------------------------------------------------------------

#[test]
fn t3_balance_fails_per_column_with_both_sides() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "carried_forward",
        "natural_person",
        num("3"),
    );
    set(&mut r, TableId::T3, "carried_forward", "total", num("3"));
    r.sections[0].text = "2024年共收到政府信息公开申请13件。".to_owned();
    let f = check(&r);
    let b = of(&f, "T3-BALANCE");
    assert_eq!(b.len(), 2);
    assert_eq!(
        at(b[0]),
        (
            Some(TableId::T3),
            Some("total_processed"),
            Some("natural_person")
        )
    );
    assert_eq!(b[0].expected, obs("11"));
    assert_eq!(b[0].actual, obs("12"));
    assert_eq!(b[1].column.as_deref(), Some("total"));
    assert_eq!(b[1].expected, obs("14"));
    assert_eq!(b[1].actual, obs("15"));
    assert_eq!(b[0].cells.len(), 4);
    assert!(b[0].message.contains("「自然人」列不平衡"));
    assert_eq!(f.len(), 2, "{f:#?}");
}

#[test]
fn t3_results_compares_the_printed_total_with_the_result_rows() {
    let mut r = clean_f2019();
    set(&mut r, TableId::T3, "granted", "natural_person", num("6"));
    set(&mut r, TableId::T3, "granted", "total", num("7"));
    let f = check(&r);
    let res = of(&f, "T3-RESULTS");
    assert_eq!(res.len(), 2, "{f:#?}");
    assert_eq!(res[0].expected, obs("10"));
    assert_eq!(res[0].actual, obs("9"));
    assert_eq!(res[1].column.as_deref(), Some("total"));
    assert_eq!(res[1].expected, obs("13"));
    assert_eq!(res[1].actual, obs("12"));
    assert_eq!(res[0].cells.len(), 20);
    assert!(
        res[0].message.contains("「（一）予以公开」 6"),
        "{}",
        res[0].message
    );
    assert_eq!(f.len(), 2);
}

#[test]
fn t3_results_in_f2021_counts_the_three_other_rows() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "other_overdue_fee",
        "commercial",
        num("1"),
    );
    set(&mut r, TableId::T3, "other_overdue_fee", "total", num("1"));
    r.sections[5].text = "本年度收取信息处理费0元。".to_owned();
    let f = check(&r);
    let res = of(&f, "T3-RESULTS");
    assert_eq!(res.len(), 2);
    assert_eq!(res[0].column.as_deref(), Some("commercial"));
    assert_eq!(res[0].expected, obs("3"));
    assert_eq!(res[0].actual, obs("2"));
}

#[test]
fn t3_row_total_fails_when_the_total_column_is_blank() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "granted",
        "total",
        Cell::blank("", None),
    );
    let f = check(&r);
    let rt = of(&f, "T3-ROW-TOTAL");
    assert_eq!(rt.len(), 1);
    assert_eq!(
        at(rt[0]),
        (Some(TableId::T3), Some("granted"), Some("total"))
    );
    assert_eq!(rt[0].expected, obs("6"));
    assert_eq!(rt[0].actual, obs("0"));
    assert_eq!(rt[0].cells.len(), 7);
    let res = of(&f, "T3-RESULTS");
    assert_eq!(res[0].expected, obs("6"));
    assert_eq!(res[0].actual, obs("12"));
    assert_eq!(summary(&f).len(), 3, "{f:#?}"); // C-BLANK too
}

#[test]
fn t4_total_fails_per_block() {
    let mut r = clean_f2021();
    set(&mut r, TableId::T4, "review", "total", num("0"));
    let f = check(&r);
    assert_eq!(summary(&f), vec![("T4-TOTAL".to_owned(), Severity::Error)]);
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T4), Some("review"), Some("total"))
    );
    assert_eq!(f[0].expected, obs("2"));
    assert_eq!(f[0].actual, obs("0"));
    assert!(
        f[0].message.contains("表四「行政复议」的「总计」为 0"),
        "{}",
        f[0].message
    );
}

// ---- P-NUMBERS ------------------------------------------------------------------------------

#[test]
fn prose_figures_that_disagree_are_warnings() {
    let mut r = clean_f2021();
    r.sections[0].text =
        "2024年，本区共收到政府信息公开申请15件，办结12件，2件结转下年度继续办理。".to_owned();
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("P-NUMBERS".to_owned(), Severity::Warning)]
    );
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T3), Some("new_received"), Some("total"))
    );
    assert_eq!(f[0].expected, obs("13"));
    assert_eq!(f[0].actual, obs("15"));
    assert!(f[0].message.contains("不一致"));
}

#[test]
fn prose_of_a_narrower_scope_is_info_not_a_contradiction() {
    let mut r = clean_f2021();
    r.sections[0].text =
        "2024年，区政府办代表区政府受理政府信息公开申请 17 件，均已在法定期限内予以答复。"
            .to_owned();
    let f = check(&r);
    assert_eq!(summary(&f), vec![("P-NUMBERS".to_owned(), Severity::Info)]);
    assert!(f[0].message.contains("统计范围"), "{}", f[0].message);
    assert!(f[0].message.contains("不视为矛盾"));
    assert_eq!(f[0].actual, obs("17"));
}

#[test]
fn received_may_include_the_carried_over_requests() {
    let mut r = clean_f2021();
    r.sections[0].text = "2024年，全区收到政府信息公开申请14件，涉及自然人11件。".to_owned();
    assert_eq!(summary(&check(&r)), vec![]);
}

#[test]
fn prose_figure_without_its_table_cell_is_not_evaluable() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T4,
        "review",
        "total",
        Cell::placeholder("-", None),
    );
    let f = check(&r);
    let p = of(&f, "P-NUMBERS");
    assert_eq!(p.len(), 1, "{f:#?}");
    assert_eq!(p[0].severity, Severity::Warning);
    assert!(p[0].message.starts_with("无法核验"));
    assert_eq!(p[0].actual, obs("2"));
}

#[test]
fn other_casework_and_approximate_figures_are_ignored() {
    let mut r = clean_f2021();
    r.sections[0].text = "2024年收到群众诉求348件，办结率100%。共办理市长信箱交办件23件、依申请公开13件，已全部办结。发布信息2200余件。".to_owned();
    assert_eq!(summary(&check(&r)), vec![]);
}

// ---- P-YEAR, P-FEES, P-EMPTY, P-TEXT-DAMAGE ---------------------------------------------------

#[test]
fn prose_about_another_year_is_a_warning() {
    let mut r = clean_f2021();
    r.sections[0].text = r.sections[0].text.replace("2024年", "2023年");
    r.sections[4].text = "存在的问题：培训不足。".to_owned();
    let f = check(&r);
    assert_eq!(summary(&f), vec![("P-YEAR".to_owned(), Severity::Warning)]);
    assert_eq!(f[0].expected, obs("2024"));
    assert_eq!(f[0].actual, obs("2023"));
}

#[test]
fn fees_charged_must_be_reported_in_section_six() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "partially_granted",
        "natural_person",
        num("1"),
    );
    set(&mut r, TableId::T3, "partially_granted", "total", num("1"));
    set(
        &mut r,
        TableId::T3,
        "other_overdue_fee",
        "natural_person",
        num("1"),
    );
    set(&mut r, TableId::T3, "other_overdue_fee", "total", num("1"));
    let f = check(&r);
    assert_eq!(summary(&f), vec![("P-FEES".to_owned(), Severity::Warning)]);
    assert_eq!(
        at(&f[0]),
        (Some(TableId::T3), Some("other_overdue_fee"), Some("total"))
    );
    assert!(f[0].message.contains("第六部分"), "{}", f[0].message);
    r.sections[5].text = "2024年，本机关收取信息处理费200元。".to_owned();
    assert_eq!(summary(&check(&r)), vec![]);
}

#[test]
fn section_five_may_not_be_empty_section_six_may_say_none() {
    let mut r = clean_f2021();
    r.sections[4].text = "无。".to_owned();
    r.sections[5].text = String::new();
    let f = check(&r);
    let e = of(&f, "P-EMPTY");
    assert_eq!(e.len(), 2);
    assert!(e[0].message.contains("第五部分"));
    assert!(e[1].message.contains("第六部分"));
    assert!(e.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn damaged_prose_is_info() {
    let mut r = clean_f2021();
    r.sections[0]
        .text
        .push_str("切实增强全区政务公开工作人员的意识 and 能力。");
    let f = check(&r);
    assert_eq!(
        summary(&f),
        vec![("P-TEXT-DAMAGE".to_owned(), Severity::Info)]
    );
    assert!(f[0].message.contains("“and”"));
    assert!(f[0].message.starts_with("第一部分"));
}

#[test]
fn fees_cannot_be_checked_without_the_fee_row() {
    let mut r = clean_f2021();
    set(
        &mut r,
        TableId::T3,
        "other_overdue_fee",
        "total",
        Cell::ambiguous("11", vec![dec("1"), dec("11")], None),
    );
    let f = check(&r);
    let fees = of(&f, "P-FEES");
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0].severity, Severity::Warning);
    assert!(
        fees[0].message.starts_with("无法核验"),
        "{}",
        fees[0].message
    );
    assert!(fees[0].message.contains("有多种拆分"));
    // A mixed report that printed the single F2019 row has no fee row to look at.
    assert!(of(&check(&mixed_report()), "P-FEES").is_empty());
}

#[test]
fn section_one_about_another_year_is_a_warning_even_if_the_year_appears() {
    let mut r = clean_f2021();
    r.sections[0].text = "2023年全区共收到政府信息公开申请13件。2023年办结12件。2023年结转2件。本报告统计期限为2024年。".to_owned();
    let f = check(&r);
    let y = of(&f, "P-YEAR");
    assert_eq!(y.len(), 1, "{f:#?}");
    assert_eq!(y[0].expected, obs("2024"));
    assert_eq!(y[0].actual, obs("2023"));
    assert!(y[0].message.contains("第一部分"));
}

#[test]
fn unknown_template_is_reported_and_infers_from_the_tables() {
    let mut r = clean_f2021();
    r.template = Template::Unknown;
    let f = check(&r);
    // The F2021 rows tell the version: only S-TEMPLATE says it was not recognised.
    assert_eq!(
        summary(&f),
        vec![("S-TEMPLATE".to_owned(), Severity::Warning)]
    );
    assert_eq!(f[0].actual, Some(Observed::from("unknown")));
    // Nothing tells the version: completeness and the result rows cannot be checked.
    let mut r = clean_f2021();
    r.template = Template::Unknown;
    r.tables.t2 = None;
    for row in [
        "other_overdue_correction",
        "other_overdue_fee",
        "other_other",
    ] {
        r.tables.t3.as_mut().unwrap().shift_remove(row);
    }
    let f = check(&r);
    let inc = of(&f, "S-TABLE-INCOMPLETE");
    assert!(
        inc.iter()
            .all(|f| f.severity == Severity::Warning && f.message.starts_with("无法核验"))
    );
    assert_eq!(inc.len(), 2);
    let res = of(&f, "T3-RESULTS");
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].severity, Severity::Warning);
}

// ---- X-* ------------------------------------------------------------------------------------

#[test]
fn carry_over_must_continue_last_years_carried_forward() {
    let mut prev = clean_f2021();
    prev.year = Some(2023);
    let this = clean_f2021();
    // this.carried_over = [1,0,…,1], prev.carried_forward = [2,0,…,2]
    let f = check_against_previous(&this, &prev);
    let c = of(&f, "X-CARRY-OVER");
    assert_eq!(c.len(), 2, "{f:#?}");
    assert_eq!(
        at(c[0]),
        (
            Some(TableId::T3),
            Some("carried_over"),
            Some("natural_person")
        )
    );
    assert_eq!(c[0].expected, obs("2"));
    assert_eq!(c[0].actual, obs("1"));
    assert!(of(&f, "X-IN-FORCE").len() == 1); // 20 + 3 - 1 = 22 ≠ 20
    let mut prev = prev;
    set_row(
        &mut prev,
        TableId::T3,
        "carried_forward",
        &[1, 0, 0, 0, 0, 0, 1],
    );
    set(
        &mut prev,
        TableId::T2,
        "normative_documents",
        "in_force",
        num("18"),
    );
    assert_eq!(summary(&check_against_previous(&this, &prev)), vec![]);
}

#[test]
fn in_force_follows_from_last_year() {
    let mut prev = clean_f2021();
    prev.year = Some(2023);
    set_row(
        &mut prev,
        TableId::T3,
        "carried_forward",
        &[1, 0, 0, 0, 0, 0, 1],
    );
    let f = check_against_previous(&clean_f2021(), &prev);
    let x = of(&f, "X-IN-FORCE");
    assert_eq!(x.len(), 1);
    assert_eq!(
        at(x[0]),
        (
            Some(TableId::T2),
            Some("normative_documents"),
            Some("in_force")
        )
    );
    assert_eq!(x[0].expected, obs("22"));
    assert_eq!(x[0].actual, obs("20"));
    assert!(
        x[0].message
            .contains("上一年度现行有效 20 + 本年制发 3 − 本年废止 1 = 22")
    );
}

#[test]
fn previous_items_follow_from_last_year_in_f2019() {
    let mut prev = clean_f2019();
    prev.year = Some(2019);
    set_row(
        &mut prev,
        TableId::T3,
        "carried_forward",
        &[1, 0, 0, 0, 0, 0, 1],
    );
    set(&mut prev, TableId::T2, "licensing", "previous", num("60"));
    set(&mut prev, TableId::T2, "licensing", "change", num("6"));
    set(
        &mut prev,
        TableId::T2,
        "other_services",
        "previous",
        num("253"),
    );
    set(
        &mut prev,
        TableId::T2,
        "other_services",
        "change",
        num("-62"),
    );
    set(
        &mut prev,
        TableId::T2,
        "punishment",
        "previous",
        num("1443"),
    );
    set(&mut prev, TableId::T2, "punishment", "change", num("0"));
    set(&mut prev, TableId::T2, "enforcement", "previous", num("29"));
    set(&mut prev, TableId::T2, "enforcement", "change", num("0"));
    set(&mut prev, TableId::T2, "fees", "previous", num("2"));
    set(&mut prev, TableId::T2, "fees", "change", num("0"));
    let this = clean_f2019();
    assert_eq!(summary(&check_against_previous(&this, &prev)), vec![]);
    set(&mut prev, TableId::T2, "fees", "change", num("-1"));
    let f = check_against_previous(&this, &prev);
    assert_eq!(
        summary(&f),
        vec![("X-PREVIOUS".to_owned(), Severity::Warning)]
    );
    assert_eq!(f[0].expected, obs("1"));
    assert_eq!(f[0].actual, obs("2"));
}

#[test]
fn cross_year_rules_say_when_they_do_not_apply_or_cannot_be_evaluated() {
    let mut prev = clean_f2019();
    prev.year = Some(2020);
    set_row(
        &mut prev,
        TableId::T3,
        "carried_forward",
        &[1, 0, 0, 0, 0, 0, 1],
    );
    let mut this = clean_f2021();
    this.year = Some(2021);
    let f = check_against_previous(&this, &prev);
    // (The clean reports' t2 decisions differ more than fivefold across the two fixtures:
    // X-SPIKE's warnings are beside the point here.)
    let f: Vec<Finding> = f.into_iter().filter(|f| f.rule != "X-SPIKE").collect();
    assert_eq!(summary(&f), vec![("X-IN-FORCE".to_owned(), Severity::Info)]);
    // Missing cells: a warning naming the cells of each report.
    set(
        &mut prev,
        TableId::T3,
        "carried_forward",
        "total",
        Cell::missing(),
    );
    let f = check_against_previous(&this, &prev);
    let c = of(&f, "X-CARRY-OVER");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].severity, Severity::Warning);
    assert!(c[0].message.contains("上一年度报告"), "{}", c[0].message);
    // Not consecutive years: info.
    prev.year = Some(2018);
    let f = check_against_previous(&this, &prev);
    assert!(
        f.iter()
            .all(|f| f.severity == Severity::Info && f.message.contains("不适用"))
    );
    assert_eq!(f.len(), 3);
}

/// The previous year of `clean_f2021` with its t3 `granted` natural persons set to `before`,
/// and this year's to `now`; everything else equal.
fn spike_pair(before: Cell, now: Cell) -> (gongkai_model::Report, gongkai_model::Report) {
    let mut prev = clean_f2021();
    prev.year = Some(2023);
    set_row(
        &mut prev,
        TableId::T3,
        "carried_forward",
        &[1, 0, 0, 0, 0, 0, 1],
    );
    set(&mut prev, TableId::T3, "granted", "natural_person", before);
    let mut this = clean_f2021();
    set(&mut this, TableId::T3, "granted", "natural_person", now);
    (this, prev)
}

fn spikes(before: Cell, now: Cell) -> Vec<Finding> {
    let (this, prev) = spike_pair(before, now);
    check_against_previous(&this, &prev)
        .into_iter()
        .filter(|f| f.rule == "X-SPIKE")
        .collect()
}

#[test]
fn a_count_more_than_fivefold_up_or_down_is_a_spike() {
    let up = spikes(num("20"), num("101"));
    assert_eq!(up.len(), 1, "{up:#?}");
    assert_eq!(up[0].severity, Severity::Warning);
    assert_eq!(
        at(&up[0]),
        (Some(TableId::T3), Some("granted"), Some("natural_person"))
    );
    assert_eq!(up[0].expected, obs("20"));
    assert_eq!(up[0].actual, obs("101"));
    assert!(up[0].message.contains("增加超过 5 倍"), "{}", up[0].message);
    let down = spikes(num("500"), num("99"));
    assert_eq!(down.len(), 1, "{down:#?}");
    assert!(
        down[0].message.contains("减少超过 5 倍"),
        "{}",
        down[0].message
    );
    assert_eq!(down[0].expected, obs("500"));
    assert_eq!(down[0].actual, obs("99"));
}

#[test]
fn exactly_fivefold_or_a_value_under_twenty_is_no_spike() {
    assert_eq!(spikes(num("20"), num("100")), vec![]);
    assert_eq!(spikes(num("500"), num("100")), vec![]);
    // 19 → 1000 is a big change, but small counts swing by chance.
    assert_eq!(spikes(num("19"), num("1000")), vec![]);
    assert_eq!(spikes(num("1000"), num("19")), vec![]);
    // Blank reads as 0: under the floor.
    assert_eq!(spikes(Cell::blank("", None), num("1000")), vec![]);
}

#[test]
fn a_spike_needs_both_values_unless_one_is_under_twenty() {
    // A missing previous value beside a large one: the rule says it could not be evaluated.
    let f = spikes(Cell::missing(), num("1000"));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(f[0].message.starts_with("无法核验"), "{}", f[0].message);
    assert!(f[0].message.contains("上一年度报告"), "{}", f[0].message);
    let f = spikes(num("1000"), Cell::placeholder("/", None));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("本年度报告"), "{}", f[0].message);
    // A value under the floor decides without the other one.
    assert_eq!(spikes(Cell::missing(), num("7")), vec![]);
    assert_eq!(
        spikes(num("3"), Cell::invalid("123456789012345", None)),
        vec![]
    );
}

#[test]
fn spikes_look_at_counts_only_and_apply_to_consecutive_years() {
    // The F2019 change may swing in sign and size: it is not compared.
    let mut prev = clean_f2019();
    prev.year = Some(2019);
    set(&mut prev, TableId::T2, "licensing", "change", num("-30"));
    let mut this = clean_f2019();
    set(&mut this, TableId::T2, "licensing", "change", num("400"));
    let f = check_against_previous(&this, &prev);
    assert!(of(&f, "X-SPIKE").is_empty(), "{f:#?}");
    // Not the previous year: not applicable.
    let (this, mut prev) = spike_pair(num("20"), num("1000"));
    prev.year = Some(2020);
    let f = check_against_previous(&this, &prev);
    let s = of(&f, "X-SPIKE");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].severity, Severity::Info);
}

// ---- no input makes a rule panic -------------------------------------------------------------

mod properties {
    use super::*;
    use crate::catalogue::rule_info;
    use gongkai_model::{Decimal, Report};
    use proptest::prelude::*;

    fn arbitrary_cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            (any::<i64>(), 0u32..8).prop_map(|(n, scale)| {
                let v = Decimal::new(n, scale);
                Cell::number(v, v.to_string(), None)
            }),
            // Every Decimal there is, up to 29 digits and scale 28: a report built otherwise
            // than by the reader may hold any of them.
            (any::<(u32, u32, u32, bool)>(), 0u32..=28).prop_map(
                |((lo, mid, hi, negative), scale)| {
                    let v = Decimal::from_parts(lo, mid, hi, negative, scale);
                    Cell::number(v, v.to_string(), None)
                }
            ),
            "[1-9][0-9]{10,40}".prop_map(|t| Cell::invalid(t, None)),
            Just(Cell::blank("", None)),
            "[/—无-]{1,2}".prop_map(|t| Cell::placeholder(t, None)),
            Just(Cell::missing()),
            Just(Cell::ambiguous("123", vec![Decimal::ONE], None)),
        ]
    }

    fn arbitrary_report() -> impl Strategy<Value = Report> {
        let templates = prop_oneof![
            Just(Template::F2019),
            Just(Template::F2021),
            Just(Template::Mixed),
            Just(Template::Legacy),
            Just(Template::Unknown),
        ];
        (
            any::<bool>(),
            templates,
            proptest::option::of(any::<u16>()),
            proptest::collection::vec((0usize..3, 0usize..30, 0usize..8, arbitrary_cell()), 0..40),
            proptest::collection::vec(".{0,80}", 6),
            proptest::collection::vec(any::<bool>(), 6),
            proptest::collection::vec(any::<bool>(), 3),
        )
            .prop_map(
                |(f2019, template, year, cells, texts, found, drop_tables)| {
                    let mut r = if f2019 { clean_f2019() } else { clean_f2021() };
                    r.template = template;
                    r.year = year;
                    for (t, row, col, cell) in cells {
                        let id = TableId::ALL[t];
                        let Some(table) = r.tables.get_mut(id).as_mut() else {
                            continue;
                        };
                        let Some((_, cols)) = table.get_index_mut(row % table.len()) else {
                            continue;
                        };
                        let n = cols.len();
                        if let Some((_, c)) = cols.get_index_mut(col % n) {
                            *c = cell;
                        }
                    }
                    for ((s, text), found) in r.sections.iter_mut().zip(texts).zip(found) {
                        s.text = text;
                        s.found = found;
                        s.content_without_heading = !found;
                    }
                    for (id, drop) in TableId::ALL.into_iter().zip(drop_tables) {
                        if drop {
                            *r.tables.get_mut(id) = None;
                        }
                    }
                    r
                },
            )
    }

    proptest! {
        #[test]
        fn every_report_gets_well_formed_findings(r in arbitrary_report(), p in arbitrary_report()) {
            let findings = check(&r);
            for f in findings.iter().chain(check_against_previous(&r, &p).iter()) {
                let info = rule_info(&f.rule);
                prop_assert!(info.is_some(), "unknown rule {}", f.rule);
                prop_assert!(!f.message.is_empty());
                prop_assert!(f.message_en.is_some());
                // Nothing is worse than its rule's catalogue severity.
                prop_assert!(f.severity <= info.map_or(Severity::Error, |i| i.severity), "{f:?}");
            }
        }

        #[test]
        fn prose_figures_of_any_length_are_read_without_panic(
            digits in proptest::collection::vec("[0-9]{1,40}", 1..6),
        ) {
            let mut r = clean_f2021();
            let prose: String = digits
                .iter()
                .map(|d| format!("收到申请{d}件，办结{d}件，行政复议{d}件。"))
                .collect();
            r.sections[0].text = prose;
            for f in check(&r) {
                prop_assert!(!f.message.is_empty());
            }
        }

        #[test]
        fn prose_rules_take_any_text(text in "\\PC{0,200}") {
            let mut r = clean_f2021();
            for s in &mut r.sections {
                s.text = text.clone();
            }
            let _ = check(&r);
        }
    }
}
