//! The prose rules about whole sections: P-YEAR (the prose speaks of the report's year),
//! P-FEES (F2021: requests dropped for unpaid fees ⇒ section 6 reports 信息处理费), P-EMPTY
//! (section 5 has content; section 6 has content or says 无).

use crate::eval::{describe_cells, effective_template, value};
use crate::findings::{DOCUMENT, Findings, cell_ref, finding};
use crate::labels::cell_label;
use crate::structure::mixed_t3_uses_single_other_row;
use crate::text::{compact, years};
use gongkai_model::schema::{TableId, Template};
use gongkai_model::{Decimal, Observed, Report, Severity};

/// P-YEAR: the prose mentions the report's own year, and section 1 is mostly about it.
/// `compacted` holds [`compact`] of each of `report.sections`, in order.
pub(crate) fn year(report: &Report, compacted: &[String], out: &mut Findings) {
    let Some(year) = report.year else {
        return;
    };
    let per_section: Vec<Vec<u16>> = compacted.iter().map(|t| years(t)).collect();
    let all: Vec<u16> = per_section.iter().flatten().copied().collect();
    if all.is_empty() {
        return;
    }
    let most_common_other = |ys: &[u16]| -> Option<(u16, usize)> {
        let mut counts: Vec<(u16, usize)> = Vec::new();
        for &y in ys.iter().filter(|&&y| y != year) {
            match counts.iter_mut().find(|(c, _)| *c == y) {
                Some((_, n)) => *n += 1,
                None => counts.push((y, 1)),
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(y, n)| (n, std::cmp::Reverse(y)))
    };
    if !all.contains(&year) {
        let other = most_common_other(&all);
        let named = other.map_or(String::new(), |(y, n)| format!("，而提到 {y} 年 {n} 次"));
        out.push(
            DOCUMENT,
            finding(
                "P-YEAR",
                Severity::Warning,
                format!("正文没有提到报告年度 {year} 年{named}；正文可能沿用了其他年度的报告。"),
                format!("the prose never mentions the report's year {year}"),
            )
            .expected_actual(
                Some(Observed::Number(Decimal::from(year))),
                other.map(|(y, _)| Observed::Number(Decimal::from(y))),
            ),
        );
        return;
    }
    // The first section numbered 1, as `Report::section` finds it.
    let Some(ys) = report
        .sections
        .iter()
        .position(|s| s.number == 1)
        .and_then(|i| per_section.get(i))
    else {
        return;
    };
    let own = ys.iter().filter(|&&y| y == year).count();
    if let Some((other, n)) = most_common_other(ys)
        && n >= 2
        && n > own
    {
        out.push(
            1,
            finding(
                "P-YEAR",
                Severity::Warning,
                format!(
                    "第一部分“总体情况”提到 {other} 年 {n} 次，多于报告年度 {year} 年（{own} 次）；请核对是否沿用了其他年度的内容。"
                ),
                format!("section 1 mentions {other} {n} times, the report's year {year} {own} times"),
            )
            .expected_actual(
                Some(Observed::Number(Decimal::from(year))),
                Some(Observed::Number(Decimal::from(other))),
            ),
        );
    }
}

/// P-FEES: F2021 reports with `other_overdue_fee` > 0 report 信息处理费 in section 6.
pub(crate) fn fees(report: &Report, out: &mut Findings) {
    let applies = match effective_template(report) {
        Some(Template::F2021) => true,
        Some(Template::Mixed) => !mixed_t3_uses_single_other_row(report),
        _ => false,
    };
    if !applies || report.tables.t3.is_none() {
        return;
    }
    let (row, col) = ("other_overdue_fee", "total");
    let label = cell_label(Template::F2021, TableId::T3, row, col);
    let at = |f: gongkai_model::Finding| {
        f.at(TableId::T3, Some(row), Some(col))
            .with_cells(vec![cell_ref(TableId::T3, row, col)])
    };
    match value(report, TableId::T3, row, col) {
        Err(bad) => {
            let (zh, en) = describe_cells(Template::F2021, &[bad]);
            out.push(
                6,
                at(finding(
                    "P-FEES",
                    Severity::Warning,
                    format!("无法核验：{label}缺失或无法确定（{zh}），不知道第六部分是否应报告信息处理费。"),
                    format!("P-FEES cannot be checked: {en}"),
                )),
            );
        }
        Ok(v) if v > Decimal::ZERO => {
            let section6 = report.section(6);
            let text = section6.map(|s| compact(&s.text)).unwrap_or_default();
            if text.contains("信息处理费") || text.contains("处理费") {
                return;
            }
            let where_ = if section6.is_some_and(|s| s.found || s.content_without_heading) {
                "第六部分“其他需要报告的事项”未提及信息处理费"
            } else {
                "未找到第六部分“其他需要报告的事项”，无处报告信息处理费"
            };
            out.push(
                6,
                at(finding(
                    "P-FEES",
                    Severity::Warning,
                    format!("{label}为 {v}（有申请因逾期未缴纳费用不再处理），但{where_}。"),
                    format!(
                        "other_overdue_fee total is {v} but section 6 does not report 信息处理费"
                    ),
                )
                .expected_actual(Some(Observed::from("信息处理费")), None)),
            );
        }
        Ok(_) => {}
    }
}

/// True when a section says nothing beyond “none”.
fn says_nothing(text: &str) -> bool {
    // The longest accepted form has 10 characters besides punctuation and spaces.
    if text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '。' | '.' | '；' | ';' | '，' | ','))
        .nth(10)
        .is_some()
    {
        return false;
    }
    let t: String = compact(text)
        .chars()
        .filter(|c| !matches!(c, '。' | '.' | '；' | ';' | '，' | ','))
        .collect();
    matches!(t.as_str(), "" | "无" | "暂无" | "无其他需要报告的事项")
}

/// P-EMPTY: section 5 has content; section 6 has content or says 无.
pub(crate) fn empty(report: &Report, out: &mut Findings) {
    for (number, heading, may_say_none) in [
        (5u8, "五、存在的主要问题及改进情况", false),
        (6u8, "六、其他需要报告的事项", true),
    ] {
        // A section that was not found is S-SECTION's business.
        let Some(s) = report
            .section(number)
            .filter(|s| s.found || s.content_without_heading)
        else {
            continue;
        };
        // Some readers keep a short content on the heading's line (`六、其他需要报告的事项 无`).
        let on_heading = s
            .heading
            .split_once(char::is_whitespace)
            .map_or("", |(_, rest)| rest.trim());
        let content = format!("{on_heading}{}", s.text);
        // Compacting only removes whitespace.
        let empty = content.trim().is_empty();
        let zh = if empty {
            format!(
                "第{}部分“{heading}”没有内容。",
                if number == 5 { "五" } else { "六" }
            )
        } else if !may_say_none && says_nothing(&content) {
            format!(
                "第五部分“{heading}”只写了“{}”；该部分应说明存在的问题和改进情况。",
                compact(&content)
            )
        } else {
            continue;
        };
        out.push(
            number,
            finding(
                "P-EMPTY",
                Severity::Warning,
                zh,
                format!("section {number} has no content"),
            ),
        );
    }
}
