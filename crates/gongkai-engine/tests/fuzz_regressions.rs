//! Inputs the fuzzers (`fuzz/`, see its README) found to crash, hang or run too long, kept as
//! ordinary tests so that `cargo test -p gongkai-engine` holds the engine to them.

// Tests may unwrap (project standard); a failed read is a failed test.
#![allow(clippy::unwrap_used)]

/// The t3 rows of F2021 in printed order, each followed by a run of 49 digits `2` and no
/// separator (group headings without a run), and t4 as one more such run: 2.6 KB of text.
///
/// Minimised by hand from the `check_text` timeout artifact
/// `timeout-b8458d495a5d89bb395a1bceefa7a4e86d0059b7` (one run of 43 `2`s after
/// 二、上年结转…, 13 s under ASan). Each run cost the digit solver (`gongkai_digits::solver::
/// RunSearch::search`, mostly `residual` inside `holds`) 50–100 ms in a release build before
/// it gave up, so the time grew with the number of such rows: 1.2–1.5 s of CPU for these
/// 2.6 KB in release, 30 s in debug — a cheap way to tie up a parse worker. Since
/// gongkai-digits f4eda9d (bounded work per run): 0.12 s in release, 1.4 s in debug.
fn long_digit_runs_in_every_t3_row() -> String {
    const ROWS: &[&str] = &[
        "一、本年新收政府信息公开申请数量",
        "二、上年结转政府信息公开申请数量",
        "三、本年度办理结果",
        "（一）予以公开",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        "（三）不予公开",
        "1.属于国家秘密",
        "2.其他法律行政法规禁止公开",
        "3.危及“三安全一稳定”",
        "4.保护第三方合法权益",
        "5.属于三类内部事务信息",
        "6.属于四类过程性信息",
        "7.属于行政执法案卷",
        "8.属于行政查询事项",
        "（四）无法提供",
        "1.本机关不掌握相关政府信息",
        "2.没有现成信息需要另行制作",
        "3.补正后申请内容仍不明确",
        "（五）不予处理",
        "1.信访举报投诉类申请",
        "2.重复申请",
        "3.要求提供公开出版物",
        "4.无正当理由大量反复申请",
        "5.要求行政机关确认或重新出具已获取信息",
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "3.其他",
        "（七）总计",
        "四、结转下年度继续办理",
    ];
    const GROUPS: &[&str] = &["三、", "（三）", "（四）", "（五）", "（六）其"];
    let run = "2".repeat(49);
    let mut t3 = String::new();
    for row in ROWS {
        t3.push_str(row);
        if !GROUPS.iter().any(|g| row.starts_with(g)) {
            t3.push_str(&run);
        }
    }
    format!(
        "某某区人民政府2021年政府信息公开工作年度报告\n一、总体情况\n无\n\
         三、收到和处理政府信息公开申请情况\n{t3}\n\
         四、政府信息公开行政复议、行政诉讼情况\n{run}\n\
         五、存在的主要问题及改进情况\n无\n六、其他需要报告的事项\n无\n"
    )
}

/// The fuzzer's slow input. Its cost is bounded by the digit solver's step budget per table,
/// which `gongkai-digits`' `tests/work_bound.rs` asserts in steps (never in wall time: a timed
/// assertion would only measure the machine). Here: the engine reads it, invents no number for
/// the runs that fit no rule, and says what it could not decode.
#[test]
fn long_digit_runs_are_reported_not_invented() {
    let text = long_digit_runs_in_every_t3_row();
    let checked = gongkai_engine::check(text.as_bytes(), "fuzz.txt").unwrap();
    assert_eq!(checked.report.template, gongkai_model::Template::F2021);
    let t3 = checked.report.tables.t3.as_ref().expect("t3 is located");
    let natural = &t3["new_received"]["natural_person"];
    assert!(
        matches!(
            natural.state,
            gongkai_model::CellState::Ambiguous | gongkai_model::CellState::Missing
        ),
        "a run of 49 '2's decodes to no single row: {natural:?}"
    );
    assert!(
        checked
            .findings
            .iter()
            .any(|f| f.rule == "C-AMBIGUOUS" || f.rule == "S-TABLE-INCOMPLETE"),
        "{:#?}",
        checked.findings
    );
}

/// A t3 row whose first cell holds a 29-digit number (issue 10, item 1): it fits a `Decimal`,
/// so the reader kept it as a number and T3-ROW-TOTAL's sum overflowed ("Addition
/// overflowed", exit 101 in `gongkai check`, a dead-lettered message in the pipeline). The
/// fuzzers never produced it: their inputs rarely grow a digit run that long, which
/// `fuzz/dict/numbers.dict` now supplies. Out of §9's range, the cell is `invalid` with a
/// `C-RANGE` error, and the sums it belongs to are not evaluated.
#[test]
fn a_29_digit_number_in_a_t3_row_is_invalid_not_an_overflow() {
    let long = "12345678901234567890123456789";
    let text = format!(
        "某某区人民政府2021年政府信息公开工作年度报告\n一、总体情况\n无\n\
         三、收到和处理政府信息公开申请情况\n\
         一、本年新收政府信息公开申请数量\t{long}\t{long}\t0\t0\t0\t0\t{long}\n\
         四、政府信息公开行政复议、行政诉讼情况\n无\n\
         五、存在的主要问题及改进情况\n无\n六、其他需要报告的事项\n无\n"
    );
    let checked = gongkai_engine::check(text.as_bytes(), "long.txt").unwrap();
    let t3 = checked.report.tables.t3.as_ref().expect("t3 is located");
    let cell = &t3["new_received"]["natural_person"];
    assert_eq!(cell.state, gongkai_model::CellState::Invalid, "{cell:?}");
    assert_eq!(cell.text, long);
    let ranges = checked
        .findings
        .iter()
        .filter(|f| f.rule == "C-RANGE")
        .count();
    assert_eq!(ranges, 3, "{:#?}", checked.findings);
}
