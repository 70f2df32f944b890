//! The rule catalogue of §6: every rule's id, the severity of a failure, and what it checks,
//! in the spec's order (which is also the order findings of one part of a report come in).

use gongkai_model::Severity;

/// One rule of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// The stable id (`T3-BALANCE`).
    pub id: &'static str,
    /// The severity of a failure of this rule. A rule that cannot be evaluated reports a
    /// warning instead; a few findings are milder than this (see the crate documentation).
    pub severity: Severity,
    /// What the rule checks, in Chinese.
    pub description: &'static str,
    /// The same in English.
    pub description_en: &'static str,
    /// The rule needs the previous year's report (only [`crate::check_against_previous`]).
    pub needs_previous: bool,
}

const fn rule(
    id: &'static str,
    severity: Severity,
    description: &'static str,
    description_en: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        severity,
        description,
        description_en,
        needs_previous: false,
    }
}

const fn cross(
    id: &'static str,
    description: &'static str,
    description_en: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        severity: Severity::Warning,
        description,
        description_en,
        needs_previous: true,
    }
}

use Severity::{Error, Info, Warning};

static CATALOGUE: &[RuleInfo] = &[
    rule(
        "S-SECTION",
        Warning,
        "六个部分齐全且顺序正确；标题丢失而内容仍在的部分也在此报告",
        "each of the six sections is present, in order; a lost heading whose content survives is reported",
    ),
    rule(
        "S-TABLE-MISSING",
        Error,
        "表二、表三、表四均存在",
        "each of t2, t3, t4 is present",
    ),
    rule(
        "S-TABLE-INCOMPLETE",
        Error,
        "格式版本规定的每一行、每个单元格均存在（列出缺失的行）",
        "every value row and cell of the format version is present (names the missing rows)",
    ),
    rule(
        "S-TEMPLATE",
        Warning,
        "格式版本与报告年度相符（2020年及以前用2019年版，2021年起用2021年版），且未混用两版",
        "the format version matches the year (≤2020 F2019, ≥2021 F2021) and is not a mix",
    ),
    rule(
        "S-METADATA",
        Warning,
        "找到了报告机关和报告年度",
        "the agency and the year were found",
    ),
    rule(
        "C-BLANK",
        Warning,
        "空白单元格按0计",
        "a blank cell was read as zero",
    ),
    rule(
        "C-PLACEHOLDER",
        Warning,
        "应填数字处为占位符（/、-、无等）",
        "a placeholder stands where a number belongs",
    ),
    rule(
        "C-AMBIGUOUS",
        Error,
        "连写数字串有多种拆分方式",
        "a run of concatenated digits has more than one decoding",
    ),
    rule(
        "C-NEGATIVE",
        Error,
        "件数为负（仅2019年版“本年增/减”可为负）",
        "a negative count (only F2019 change may be negative)",
    ),
    rule(
        "C-NOT-INTEGER",
        Error,
        "件数带小数",
        "a count with decimals",
    ),
    rule(
        "C-RANGE",
        Error,
        "数字超出任何真实件数或金额的位数（件数最多 10 位，金额最多 15 位整数、8 位小数），不参与计算",
        "a number longer than any real count or amount (counts up to 10 digits, amounts up to 15 integer and 8 decimal digits); left out of every sum",
    ),
    cross(
        "X-SPIKE",
        "件数与同一机关上一年度报告相比变化超过五倍（增加或减少），且两个数值均不小于 20",
        "a count changed more than fivefold up or down from the previous report, both values at least 20",
    ),
    rule(
        "T3-BALANCE",
        Error,
        "表三每列：本年新收＋上年结转＝办理结果总计＋结转下年度",
        "per t3 column: new_received + carried_over = total_processed + carried_forward",
    ),
    rule(
        "T3-RESULTS",
        Error,
        "表三每列：（七）总计＝各项办理结果之和",
        "per t3 column: total_processed = the sum of the result rows",
    ),
    rule(
        "T3-ROW-TOTAL",
        Error,
        "表三每行：总计＝六类申请人之和",
        "per t3 row: total = the sum of the six applicant columns",
    ),
    rule(
        "T4-TOTAL",
        Error,
        "表四每组：结果维持＋结果纠正＋其他结果＋尚未审结＝总计",
        "per t4 block: upheld + corrected + other + pending = total",
    ),
    cross(
        "X-CARRY-OVER",
        "本年“上年结转”等于同一机关上一年度报告的“结转下年度继续办理”",
        "carried_over equals the previous year's carried_forward",
    ),
    cross(
        "X-IN-FORCE",
        "2021年版：现行有效件数＝上年现行有效件数＋本年制发件数－本年废止件数",
        "F2021: in_force = previous in_force + issued - repealed",
    ),
    cross(
        "X-PREVIOUS",
        "2019年版：上一年项目数量＝上年报告的上一年项目数量＋本年增/减",
        "F2019: previous = the previous report's previous + change",
    ),
    rule(
        "P-NUMBERS",
        Warning,
        "正文所述数字（收到、办结、结转、行政复议、行政诉讼件数）与表格一致；统计范围不同时予以说明",
        "figures in the prose agree with the tables; a narrower scope is noted, not called a contradiction",
    ),
    rule(
        "P-YEAR",
        Warning,
        "正文所述为报告本年度",
        "the prose speaks of the report's own year",
    ),
    rule(
        "P-FEES",
        Warning,
        "2021年版：有逾期未缴费不再处理的申请时，第六部分报告信息处理费",
        "F2021: when other_overdue_fee > 0, section 6 reports on 信息处理费",
    ),
    rule(
        "P-EMPTY",
        Warning,
        "第五部分有内容（第六部分可为“无”）",
        "sections 5 and 6 have content (6 may be 无)",
    ),
    rule(
        "P-TEXT-DAMAGE",
        Info,
        "正文有损坏迹象：替换字符、乱码、中文句中夹杂英文单词",
        "signs of damage in the prose: U+FFFD, mojibake, stray Latin words",
    ),
];

/// Every rule, in the spec's order.
pub fn catalogue() -> &'static [RuleInfo] {
    CATALOGUE
}

/// The catalogue entry of `id`.
pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    CATALOGUE.iter().find(|r| r.id == id)
}

/// The place of `id` in the catalogue, for sorting; unknown ids sort last.
pub(crate) fn rule_rank(id: &str) -> usize {
    CATALOGUE
        .iter()
        .position(|r| r.id == id)
        .unwrap_or(CATALOGUE.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_rule_of_the_spec_once() {
        let ids: Vec<&str> = catalogue().iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), 24);
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(rule_info("T3-BALANCE").map(|r| r.severity), Some(Error));
        assert_eq!(rule_info("P-TEXT-DAMAGE").map(|r| r.severity), Some(Info));
        assert!(rule_info("X-IN-FORCE").is_some_and(|r| r.needs_previous));
        assert!(rule_info("X-SPIKE").is_some_and(|r| r.needs_previous && r.severity == Warning));
        assert_eq!(rule_info("C-RANGE").map(|r| r.severity), Some(Error));
        assert!(rule_rank("S-SECTION") < rule_rank("P-TEXT-DAMAGE"));
    }
}
