//! The stable identifiers of the report format: template versions, tables, rows and columns.
//!
//! Everything here mirrors §2–§4 of `shared/spec/annual-report.md`. The keys are part of the
//! project's public contract (JSON, protobuf, archive), so they are `&'static str` constants
//! that never change; the labels are the canonical Chinese labels of the official template, and
//! the keywords are the distinctive fragments a reader may use to recognise a label that was
//! printed with typos, spaces or line breaks.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which version of the State Council format a report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Template {
    /// 国办公开办函〔2019〕60号: the 2019 and 2020 reports.
    F2019,
    /// 国办公开办函〔2021〕30号: the 2021 reports and later.
    F2021,
    /// F2021 tables with F2019 rows left in (the single （六）其他处理 row of t3).
    #[serde(rename = "mixed")]
    Mixed,
    /// The 2008-era format with one statistics table; recognised, never parsed.
    #[serde(rename = "legacy")]
    Legacy,
    /// No table or heading told the version apart.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Template {
    pub const fn as_str(self) -> &'static str {
        match self {
            Template::F2019 => "F2019",
            Template::F2021 => "F2021",
            Template::Mixed => "mixed",
            Template::Legacy => "legacy",
            Template::Unknown => "unknown",
        }
    }

    /// Parses the identifier written by [`Template::as_str`].
    pub fn from_id(id: &str) -> Option<Template> {
        [
            Template::F2019,
            Template::F2021,
            Template::Mixed,
            Template::Legacy,
            Template::Unknown,
        ]
        .into_iter()
        .find(|t| t.as_str() == id)
    }

    /// The template the format rules require for a report of `year`.
    pub const fn expected_for_year(year: u16) -> Template {
        if year <= 2020 {
            Template::F2019
        } else {
            Template::F2021
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three statistics tables of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum TableId {
    /// 二、主动公开政府信息情况
    T2,
    /// 三、收到和处理政府信息公开申请情况
    T3,
    /// 四、政府信息公开行政复议、行政诉讼情况
    T4,
}

impl TableId {
    pub const ALL: [TableId; 3] = [TableId::T2, TableId::T3, TableId::T4];

    pub const fn as_str(self) -> &'static str {
        match self {
            TableId::T2 => "t2",
            TableId::T3 => "t3",
            TableId::T4 => "t4",
        }
    }

    pub fn from_id(id: &str) -> Option<TableId> {
        TableId::ALL.into_iter().find(|t| t.as_str() == id)
    }

    /// The section (1-based, as numbered in the report) that holds this table.
    pub const fn section(self) -> u8 {
        match self {
            TableId::T2 => 2,
            TableId::T3 => 3,
            TableId::T4 => 4,
        }
    }

    /// The Chinese name of the table, for messages.
    pub const fn label(self) -> &'static str {
        match self {
            TableId::T2 => "主动公开政府信息情况",
            TableId::T3 => "收到和处理政府信息公开申请情况",
            TableId::T4 => "政府信息公开行政复议、行政诉讼情况",
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of number a column holds; drives parsing and the `C-*` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A non-negative whole number (件, 项, 个).
    Count,
    /// A whole number that may be negative (F2019 `change`, 本年增/减).
    SignedCount,
    /// A decimal amount; its exact printed digits are kept (万元 or 元).
    Amount,
}

/// One value column of a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: ValueKind,
}

/// One value row of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpec {
    pub key: &'static str,
    /// The canonical label of the official template.
    pub label: &'static str,
    /// The block heading the row stands under (t2: `第二十条第（一）项` …; t3: `三、本年度办理结果` …).
    pub block: Option<&'static str>,
    /// Distinctive fragments of the label; a printed label that contains all of them (after
    /// normalisation, spaces removed) is this row. Ordered from most to least distinctive.
    pub keywords: &'static [&'static str],
    pub columns: &'static [ColumnSpec],
}

impl RowSpec {
    pub fn column(&self, key: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.key == key)
    }
}

const fn count(key: &'static str, label: &'static str) -> ColumnSpec {
    ColumnSpec {
        key,
        label,
        kind: ValueKind::Count,
    }
}

// ---- t2, F2021 -------------------------------------------------------------------------

const T2_F2021_DOCS: &[ColumnSpec] = &[
    count("issued", "本年制发件数"),
    count("repealed", "本年废止件数"),
    count("in_force", "现行有效件数"),
];
const T2_F2021_DECISIONS: &[ColumnSpec] = &[count("decisions", "本年处理决定数量")];
const T2_F2021_FEES: &[ColumnSpec] = &[ColumnSpec {
    key: "amount",
    label: "本年收费金额（单位：万元）",
    kind: ValueKind::Amount,
}];

const B1: Option<&str> = Some("第二十条第（一）项");
const B5: Option<&str> = Some("第二十条第（五）项");
const B6: Option<&str> = Some("第二十条第（六）项");
const B8: Option<&str> = Some("第二十条第（八）项");
const B9: Option<&str> = Some("第二十条第（九）项");

pub const T2_F2021: &[RowSpec] = &[
    RowSpec {
        key: "regulations",
        label: "规章",
        block: B1,
        keywords: &["规章"],
        columns: T2_F2021_DOCS,
    },
    RowSpec {
        key: "normative_documents",
        label: "行政规范性文件",
        block: B1,
        keywords: &["规范性文件"],
        columns: T2_F2021_DOCS,
    },
    RowSpec {
        key: "licensing",
        label: "行政许可",
        block: B5,
        keywords: &["行政许可"],
        columns: T2_F2021_DECISIONS,
    },
    RowSpec {
        key: "punishment",
        label: "行政处罚",
        block: B6,
        keywords: &["行政处罚"],
        columns: T2_F2021_DECISIONS,
    },
    RowSpec {
        key: "enforcement",
        label: "行政强制",
        block: B6,
        keywords: &["行政强制"],
        columns: T2_F2021_DECISIONS,
    },
    RowSpec {
        key: "fees",
        label: "行政事业性收费",
        block: B8,
        keywords: &["事业性收费"],
        columns: T2_F2021_FEES,
    },
];

// ---- t2, F2019 -------------------------------------------------------------------------

const T2_F2019_DOCS: &[ColumnSpec] = &[
    count("made", "本年新制作数量"),
    count("published", "本年新公开数量"),
    count("total_published", "对外公开总数量"),
];
const T2_F2019_ITEMS: &[ColumnSpec] = &[
    count("previous", "上一年项目数量"),
    ColumnSpec {
        key: "change",
        label: "本年增/减",
        kind: ValueKind::SignedCount,
    },
    count("decisions", "处理决定数量"),
];
const T2_F2019_FEES: &[ColumnSpec] = &[
    count("previous", "上一年项目数量"),
    ColumnSpec {
        key: "change",
        label: "本年增/减",
        kind: ValueKind::SignedCount,
    },
];
const T2_F2019_PROCUREMENT: &[ColumnSpec] = &[
    count("items", "采购项目数量"),
    ColumnSpec {
        key: "amount",
        label: "采购总金额",
        kind: ValueKind::Amount,
    },
];

pub const T2_F2019: &[RowSpec] = &[
    RowSpec {
        key: "regulations",
        label: "规章",
        block: B1,
        keywords: &["规章"],
        columns: T2_F2019_DOCS,
    },
    RowSpec {
        key: "normative_documents",
        label: "规范性文件",
        block: B1,
        keywords: &["规范性文件"],
        columns: T2_F2019_DOCS,
    },
    RowSpec {
        key: "licensing",
        label: "行政许可",
        block: B5,
        keywords: &["行政许可"],
        columns: T2_F2019_ITEMS,
    },
    RowSpec {
        key: "other_services",
        label: "其他对外管理服务事项",
        block: B5,
        keywords: &["对外管理", "服务事项"],
        columns: T2_F2019_ITEMS,
    },
    RowSpec {
        key: "punishment",
        label: "行政处罚",
        block: B6,
        keywords: &["行政处罚"],
        columns: T2_F2019_ITEMS,
    },
    RowSpec {
        key: "enforcement",
        label: "行政强制",
        block: B6,
        keywords: &["行政强制"],
        columns: T2_F2019_ITEMS,
    },
    RowSpec {
        key: "fees",
        label: "行政事业性收费",
        block: B8,
        keywords: &["事业性收费"],
        columns: T2_F2019_FEES,
    },
    RowSpec {
        key: "procurement",
        label: "政府集中采购",
        block: B9,
        keywords: &["集中采购"],
        columns: T2_F2019_PROCUREMENT,
    },
];

// ---- t3 ----------------------------------------------------------------------------------

/// The seven value columns of t3, the same in both versions, in the order printed.
pub const T3_COLUMNS: &[ColumnSpec] = &[
    count("natural_person", "自然人"),
    count("commercial", "商业企业"),
    count("research", "科研机构"),
    count("social_welfare", "社会公益组织"),
    count("legal_service", "法律服务机构"),
    count("other_org", "其他"),
    count("total", "总计"),
];

/// The index of t3's `total` column in [`T3_COLUMNS`].
pub const T3_TOTAL_COLUMN: usize = 6;

const R3: Option<&str> = Some("三、本年度办理结果");
const R3_DENIED: Option<&str> = Some("（三）不予公开");
const R3_UNAVAILABLE: Option<&str> = Some("（四）无法提供");
const R3_NOT_HANDLED: Option<&str> = Some("（五）不予处理");
const R3_OTHER: Option<&str> = Some("（六）其他处理");

macro_rules! t3_row {
    ($key:literal, $label:literal, $block:expr, [$($kw:literal),+]) => {
        RowSpec { key: $key, label: $label, block: $block, keywords: &[$($kw),+], columns: T3_COLUMNS }
    };
}

const T3_HEAD: [RowSpec; 20] = [
    t3_row!(
        "new_received",
        "一、本年新收政府信息公开申请数量",
        None,
        ["新收"]
    ),
    t3_row!(
        "carried_over",
        "二、上年结转政府信息公开申请数量",
        None,
        ["上年结转"]
    ),
    t3_row!("granted", "（一）予以公开", R3, ["予以公开"]),
    t3_row!(
        "partially_granted",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        R3,
        ["部分公开"]
    ),
    t3_row!(
        "denied_state_secret",
        "1.属于国家秘密",
        R3_DENIED,
        ["国家秘密"]
    ),
    t3_row!(
        "denied_prohibited_by_law",
        "2.其他法律行政法规禁止公开",
        R3_DENIED,
        ["禁止公开"]
    ),
    t3_row!(
        "denied_security_stability",
        "3.危及“三安全一稳定”",
        R3_DENIED,
        ["三安全一稳定"]
    ),
    t3_row!(
        "denied_third_party",
        "4.保护第三方合法权益",
        R3_DENIED,
        ["第三方"]
    ),
    t3_row!(
        "denied_internal_affairs",
        "5.属于三类内部事务信息",
        R3_DENIED,
        ["内部事务"]
    ),
    t3_row!(
        "denied_process_info",
        "6.属于四类过程性信息",
        R3_DENIED,
        ["过程性信息"]
    ),
    t3_row!(
        "denied_enforcement_file",
        "7.属于行政执法案卷",
        R3_DENIED,
        ["执法案卷"]
    ),
    t3_row!(
        "denied_query_matter",
        "8.属于行政查询事项",
        R3_DENIED,
        ["查询事项"]
    ),
    t3_row!(
        "unavailable_not_held",
        "1.本机关不掌握相关政府信息",
        R3_UNAVAILABLE,
        ["不掌握"]
    ),
    t3_row!(
        "unavailable_needs_creation",
        "2.没有现成信息需要另行制作",
        R3_UNAVAILABLE,
        ["另行制作"]
    ),
    t3_row!(
        "unavailable_unclear",
        "3.补正后申请内容仍不明确",
        R3_UNAVAILABLE,
        ["不明确"]
    ),
    t3_row!(
        "not_handled_petition",
        "1.信访举报投诉类申请",
        R3_NOT_HANDLED,
        ["信访"]
    ),
    t3_row!(
        "not_handled_repeated",
        "2.重复申请",
        R3_NOT_HANDLED,
        ["重复申请"]
    ),
    t3_row!(
        "not_handled_publication",
        "3.要求提供公开出版物",
        R3_NOT_HANDLED,
        ["出版物"]
    ),
    t3_row!(
        "not_handled_excessive",
        "4.无正当理由大量反复申请",
        R3_NOT_HANDLED,
        ["大量反复"]
    ),
    t3_row!(
        "not_handled_confirmation",
        "5.要求行政机关确认或重新出具已获取信息",
        R3_NOT_HANDLED,
        ["重新出具"]
    ),
];

const T3_OTHER_HANDLING: RowSpec = t3_row!("other_handling", "（六）其他处理", R3, ["其他处理"]);
const T3_OTHER_SUBROWS: [RowSpec; 3] = [
    t3_row!(
        "other_overdue_correction",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        R3_OTHER,
        ["逾期不补正"]
    ),
    t3_row!(
        "other_overdue_fee",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        R3_OTHER,
        ["缴纳费用"]
    ),
    t3_row!("other_other", "3.其他", R3_OTHER, ["其他"]),
];
const T3_TAIL: [RowSpec; 2] = [
    t3_row!("total_processed", "（七）总计", R3, ["总计"]),
    t3_row!(
        "carried_forward",
        "四、结转下年度继续办理",
        None,
        ["结转下年度"]
    ),
];

const fn concat_rows<const N: usize>(parts: &[&[RowSpec]]) -> [RowSpec; N] {
    let mut out = [T3_OTHER_HANDLING; N];
    let mut n = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N, "row count mismatch");
    out
}

/// F2019 t3: 23 value rows, `other_handling` a value row.
pub const T3_F2019: &[RowSpec] = &concat_rows::<23>(&[&T3_HEAD, &[T3_OTHER_HANDLING], &T3_TAIL]);

/// F2021 t3: 25 value rows; （六）其他处理 is a group heading over three rows.
pub const T3_F2021: &[RowSpec] = &concat_rows::<25>(&[&T3_HEAD, &T3_OTHER_SUBROWS, &T3_TAIL]);

/// Every t3 key of either version (26 rows): the shape of a `mixed` report's t3, in which the
/// rows its source does not contain are `missing`.
pub const T3_ALL: &[RowSpec] =
    &concat_rows::<26>(&[&T3_HEAD, &[T3_OTHER_HANDLING], &T3_OTHER_SUBROWS, &T3_TAIL]);

// ---- t4 ----------------------------------------------------------------------------------

/// The five value columns of each t4 block.
pub const T4_COLUMNS: &[ColumnSpec] = &[
    count("upheld", "结果维持"),
    count("corrected", "结果纠正"),
    count("other", "其他结果"),
    count("pending", "尚未审结"),
    count("total", "总计"),
];

/// The three blocks of t4 (one printed data row of 15 numbers).
pub const T4_ROWS: &[RowSpec] = &[
    RowSpec {
        key: "review",
        label: "行政复议",
        block: None,
        keywords: &["行政复议"],
        columns: T4_COLUMNS,
    },
    RowSpec {
        key: "litigation_direct",
        label: "行政诉讼 › 未经复议直接起诉",
        block: Some("行政诉讼"),
        keywords: &["未经复议"],
        columns: T4_COLUMNS,
    },
    RowSpec {
        key: "litigation_after_review",
        label: "行政诉讼 › 复议后起诉",
        block: Some("行政诉讼"),
        keywords: &["复议后起诉"],
        columns: T4_COLUMNS,
    },
];

/// The value rows of `table` in `template`, in printed order. `mixed` uses the F2021 t2 and
/// every t3 key of both versions; `legacy` and `unknown` have no rows.
pub fn rows(template: Template, table: TableId) -> &'static [RowSpec] {
    match (table, template) {
        (TableId::T2, Template::F2019) => T2_F2019,
        (TableId::T2, Template::F2021 | Template::Mixed) => T2_F2021,
        (TableId::T3, Template::F2019) => T3_F2019,
        (TableId::T3, Template::F2021) => T3_F2021,
        (TableId::T3, Template::Mixed) => T3_ALL,
        (TableId::T4, Template::F2019 | Template::F2021 | Template::Mixed) => T4_ROWS,
        (_, Template::Legacy | Template::Unknown) => &[],
    }
}

/// The spec of one row, if the template has it.
pub fn row(template: Template, table: TableId, key: &str) -> Option<&'static RowSpec> {
    rows(template, table).iter().find(|r| r.key == key)
}

/// The kind of number the cell `row`/`column` of `table` holds: as `template` has it, else as
/// either version of the format has it (a report whose version is unknown or mixed), else an
/// amount, the widest kind, so that an unknown column is never judged too strictly.
pub fn column_kind(template: Template, table: TableId, row: &str, column: &str) -> ValueKind {
    [template, Template::F2021, Template::F2019, Template::Mixed]
        .into_iter()
        .find_map(|t| self::row(t, table, row).and_then(|r| r.column(column)))
        .map_or(ValueKind::Amount, |c| c.kind)
}

/// The t3 rows whose sum is `total_processed` (T3-RESULTS) in `template`: for F2021 the three
/// `other_*` rows stand in for `other_handling`; a `mixed` report uses whichever it printed.
pub fn t3_result_rows(template: Template) -> &'static [RowSpec] {
    let rows = rows(template, TableId::T3);
    let start = rows
        .iter()
        .position(|r| r.key == "granted")
        .unwrap_or(rows.len());
    let end = rows
        .iter()
        .position(|r| r.key == "total_processed")
        .unwrap_or(rows.len());
    rows.get(start..end).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_match_the_spec() {
        assert_eq!(T2_F2021.iter().map(|r| r.columns.len()).sum::<usize>(), 10);
        assert_eq!(T2_F2019.iter().map(|r| r.columns.len()).sum::<usize>(), 22);
        assert_eq!(T3_F2019.len(), 23);
        assert_eq!(T3_F2021.len(), 25);
        assert_eq!(T3_ALL.len(), 26);
        assert_eq!(T4_ROWS.len() * T4_COLUMNS.len(), 15);
        assert_eq!(T3_F2021[20].key, "other_overdue_correction");
        assert_eq!(T3_F2019[20].key, "other_handling");
        assert_eq!(T3_F2019[22].key, "carried_forward");
    }

    #[test]
    fn result_rows_span_granted_to_other() {
        let f19 = t3_result_rows(Template::F2019);
        assert_eq!(f19.first().map(|r| r.key), Some("granted"));
        assert_eq!(f19.last().map(|r| r.key), Some("other_handling"));
        assert_eq!(f19.len(), 19);
        let f21 = t3_result_rows(Template::F2021);
        assert_eq!(f21.last().map(|r| r.key), Some("other_other"));
        assert_eq!(f21.len(), 21);
    }

    #[test]
    fn template_ids_round_trip() {
        for t in [
            Template::F2019,
            Template::F2021,
            Template::Mixed,
            Template::Legacy,
            Template::Unknown,
        ] {
            assert_eq!(Template::from_id(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).expect("serialize");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
