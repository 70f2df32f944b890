//! The metric dictionary (`archive.md` §5), version [`METRICS_VERSION`].
//!
//! A metric is a numerator and a denominator, each a signed sum of cells of one report
//! ([`Term`]); a count's denominator is the constant 1. [`parts_of`] reads both from a report's
//! tables with the NA semantics of §5, and the same two numbers are what a group sums
//! ([`crate::aggregate`]), so a rate over a group is the ratio of the sums, never a mean of
//! ratios. Keys are public (gRPC, CLI, CSV): add metrics, never rename or reorder them — the
//! archive stores each report's parts in this order.

use gongkai_model::{CellState, Decimal, TableId, Tables};

/// The version of the dictionary: bump it when a formula changes (the archive's stored parts
/// are then computed again by re-validation).
pub const METRICS_VERSION: u32 = 1;

/// Whether a metric is a count (summed) or a rate (ratio of sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Summed over a group; its denominator is 1 for every report.
    Count,
    /// The ratio of the summed numerators to the summed denominators.
    Rate,
}

impl MetricKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Count => "count",
            MetricKind::Rate => "rate",
        }
    }
}

/// One cell of a formula with its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// +1 or −1.
    pub sign: i8,
    pub table: TableId,
    pub row: &'static str,
    pub column: &'static str,
}

const fn plus(table: TableId, row: &'static str, column: &'static str) -> Term {
    Term {
        sign: 1,
        table,
        row,
        column,
    }
}

const fn minus(table: TableId, row: &'static str, column: &'static str) -> Term {
    Term {
        sign: -1,
        table,
        row,
        column,
    }
}

/// One metric of the dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The public key (`disclosure_rate`).
    pub key: &'static str,
    /// 名称.
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// `件`, `万元`, or `ratio` for rates.
    pub unit: &'static str,
    pub kind: MetricKind,
    /// The numerator's cells.
    pub numerator: &'static [Term],
    /// The denominator's cells; empty for a count (denominator 1).
    pub denominator: &'static [Term],
    /// What a reader of the figure should know.
    pub caveats: &'static str,
}

impl Metric {
    /// The formula as the spec writes it: `t3.granted.total + t3.partially_granted.total`, and
    /// for a rate `(…) / (…)`.
    pub fn formula(&self) -> String {
        let side = |terms: &[Term]| {
            let mut out = String::new();
            for (i, term) in terms.iter().enumerate() {
                match (i, term.sign < 0) {
                    (0, false) => {}
                    (0, true) => out.push('−'),
                    (_, false) => out.push_str(" + "),
                    (_, true) => out.push_str(" − "),
                }
                out.push_str(&format!(
                    "{}.{}.{}",
                    term.table.as_str(),
                    term.row,
                    term.column
                ));
            }
            out
        };
        match self.kind {
            MetricKind::Count => side(self.numerator),
            MetricKind::Rate => {
                let wrap = |terms: &[Term]| {
                    if terms.len() > 1 {
                        format!("({})", side(terms))
                    } else {
                        side(terms)
                    }
                };
                format!("{} / {}", wrap(self.numerator), wrap(self.denominator))
            }
        }
    }

    /// Every cell the metric reads, numerator first.
    pub fn cells(&self) -> impl Iterator<Item = &'static Term> {
        self.numerator.iter().chain(self.denominator)
    }
}

use TableId::{T2, T3, T4};

const COUNT_CAVEAT: &str = "单份报告中该单元格为缺失、歧义、无效或占位符时记为 NA（不计为 0），空白计为 0。\
     NA when the cell is missing, ambiguous, invalid or a placeholder; a blank cell is 0.";

/// The metrics of version [`METRICS_VERSION`], in their stored order.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "applications_new",
        name_zh: "本年新收申请数",
        name_en: "New applications received",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T3, "new_received", "total")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "applications_carried_over",
        name_zh: "上年结转申请数",
        name_en: "Applications carried over from the previous year",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T3, "carried_over", "total")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "applications_processed",
        name_zh: "办理结果总计",
        name_en: "Applications processed",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T3, "total_processed", "total")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "applications_carried_forward",
        name_zh: "结转下年度数",
        name_en: "Applications carried forward to the next year",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T3, "carried_forward", "total")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "applications_from_organisations",
        name_zh: "法人或其他组织申请数",
        name_en: "New applications from legal persons and other organisations",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[
            plus(T3, "new_received", "commercial"),
            plus(T3, "new_received", "research"),
            plus(T3, "new_received", "social_welfare"),
            plus(T3, "new_received", "legal_service"),
            plus(T3, "new_received", "other_org"),
        ],
        denominator: &[],
        caveats: "五个申请人列之和；任一列不可用即为 NA。The sum of the five organisation \
             columns; NA when any of them is unavailable.",
    },
    Metric {
        key: "disclosure_rate",
        name_zh: "公开率",
        name_en: "Disclosure rate",
        unit: "ratio",
        kind: MetricKind::Rate,
        numerator: &[
            plus(T3, "granted", "total"),
            plus(T3, "partially_granted", "total"),
        ],
        denominator: &[plus(T3, "total_processed", "total")],
        caveats: "予以公开与部分公开之和占办理结果总计的比例；分组时为分子之和除以分母之和；\
             分母为 0 时为 NA。Granted plus partially granted over all processed; over a group \
             the ratio of the sums; NA when the denominator is 0.",
    },
    Metric {
        key: "not_held_rate",
        name_zh: "不掌握信息率",
        name_en: "Information-not-held rate",
        unit: "ratio",
        kind: MetricKind::Rate,
        numerator: &[plus(T3, "unavailable_not_held", "total")],
        denominator: &[plus(T3, "total_processed", "total")],
        caveats: "本机关不掌握相关政府信息的占比；分母为 0 时为 NA。Share answered \"not held by \
             this body\"; NA when the denominator is 0.",
    },
    Metric {
        key: "review_cases",
        name_zh: "行政复议数",
        name_en: "Administrative review cases",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T4, "review", "total")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "review_corrected_rate",
        name_zh: "复议纠错率",
        name_en: "Review correction rate",
        unit: "ratio",
        kind: MetricKind::Rate,
        numerator: &[plus(T4, "review", "corrected")],
        denominator: &[plus(T4, "review", "total"), minus(T4, "review", "pending")],
        caveats: "结果纠正占已审结复议的比例（不含尚未审结）；分母为 0 时为 NA。Corrected over \
             concluded reviews (pending excluded); NA when none concluded.",
    },
    Metric {
        key: "litigation_cases",
        name_zh: "行政诉讼数",
        name_en: "Administrative litigation cases",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[
            plus(T4, "litigation_direct", "total"),
            plus(T4, "litigation_after_review", "total"),
        ],
        denominator: &[],
        caveats: "未经复议直接起诉与复议后起诉之和。Direct suits plus suits after review.",
    },
    Metric {
        key: "litigation_corrected_rate",
        name_zh: "诉讼纠错率",
        name_en: "Litigation correction rate",
        unit: "ratio",
        kind: MetricKind::Rate,
        numerator: &[
            plus(T4, "litigation_direct", "corrected"),
            plus(T4, "litigation_after_review", "corrected"),
        ],
        denominator: &[
            plus(T4, "litigation_direct", "total"),
            minus(T4, "litigation_direct", "pending"),
            plus(T4, "litigation_after_review", "total"),
            minus(T4, "litigation_after_review", "pending"),
        ],
        caveats: "结果纠正占已审结诉讼的比例；分母为 0 时为 NA。Corrected over concluded suits; \
             NA when none concluded.",
    },
    Metric {
        key: "dispute_rate",
        name_zh: "复议诉讼率",
        name_en: "Dispute rate",
        unit: "ratio",
        kind: MetricKind::Rate,
        numerator: &[
            plus(T4, "review", "total"),
            plus(T4, "litigation_direct", "total"),
            plus(T4, "litigation_after_review", "total"),
        ],
        denominator: &[plus(T3, "total_processed", "total")],
        caveats: "（行政复议数 + 行政诉讼数）/ 办理结果总计；复议诉讼可能涉及往年申请，比值可超过 1。\
             (review_cases + litigation_cases) / applications_processed; disputes may concern \
             earlier years' applications, so the ratio can exceed 1.",
    },
    Metric {
        key: "licensing_decisions",
        name_zh: "行政许可处理决定数",
        name_en: "Administrative licensing decisions",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T2, "licensing", "decisions")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "punishment_decisions",
        name_zh: "行政处罚处理决定数",
        name_en: "Administrative punishment decisions",
        unit: "件",
        kind: MetricKind::Count,
        numerator: &[plus(T2, "punishment", "decisions")],
        denominator: &[],
        caveats: COUNT_CAVEAT,
    },
    Metric {
        key: "fees_amount",
        name_zh: "行政事业性收费金额",
        name_en: "Administrative fees charged",
        unit: "万元",
        kind: MetricKind::Count,
        numerator: &[plus(T2, "fees", "amount")],
        denominator: &[],
        caveats: "仅 F2021 格式有本年收费金额（万元），F2019 报告为 NA。Only the F2021 format \
             reports the amount (in 万元); NA for F2019 reports.",
    },
];

/// The metric with `key`.
pub fn metric(key: &str) -> Option<(usize, &'static Metric)> {
    METRICS.iter().enumerate().find(|(_, m)| m.key == key)
}

/// One report's contribution to a metric: numerator and denominator (1 for a count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub numerator: Decimal,
    pub denominator: Decimal,
}

impl Parts {
    /// The report's own value: the count, or the ratio (`None` when the denominator is 0).
    pub fn value(&self) -> Option<Decimal> {
        if self.denominator.is_zero() {
            None
        } else {
            self.numerator.checked_div(self.denominator)
        }
    }
}

/// What the formulas read of a report's cells: a cell's value and state. The model's
/// [`Tables`] is one; the archive reads the few fields it needs of a stored document into a
/// lighter one of its own instead of decoding every cell whole.
pub trait CellSource {
    /// The value and the state of the cell, if the report has it.
    fn value_and_state(
        &self,
        table: TableId,
        row: &str,
        column: &str,
    ) -> Option<(Option<Decimal>, CellState)>;
}

impl CellSource for Tables {
    fn value_and_state(
        &self,
        table: TableId,
        row: &str,
        column: &str,
    ) -> Option<(Option<Decimal>, CellState)> {
        self.cell(table, row, column).map(|c| (c.value, c.state))
    }
}

/// The value a formula may use of one cell: numbers, blanks (0) and reviewers' corrections;
/// `None` for anything else (missing, ambiguous, invalid, placeholder, or a cell the report
/// does not have). States are compared by their public ids so that a state added to the model
/// is NA until this list says otherwise.
pub fn usable(
    tables: &(impl CellSource + ?Sized),
    table: TableId,
    row: &str,
    column: &str,
) -> Option<Decimal> {
    let (value, state) = tables.value_and_state(table, row, column)?;
    match state.as_str() {
        "number" | "corrected" => value,
        "blank" => Some(value.unwrap_or(Decimal::ZERO)),
        _ => None,
    }
}

fn sum(tables: &(impl CellSource + ?Sized), terms: &[Term]) -> Option<Decimal> {
    terms.iter().try_fold(Decimal::ZERO, |acc, term| {
        let value = usable(tables, term.table, term.row, term.column)?;
        if term.sign < 0 {
            acc.checked_sub(value)
        } else {
            acc.checked_add(value)
        }
    })
}

/// `metric`'s parts for one report, `None` (NA) when a cell it needs is unavailable.
pub fn parts_of(metric: &Metric, tables: &(impl CellSource + ?Sized)) -> Option<Parts> {
    let numerator = sum(tables, metric.numerator)?;
    let denominator = match metric.kind {
        MetricKind::Count => Decimal::ONE,
        MetricKind::Rate => sum(tables, metric.denominator)?,
    };
    Some(Parts {
        numerator,
        denominator,
    })
}

/// Every metric's parts for one report, in dictionary order.
pub fn all_parts(tables: &(impl CellSource + ?Sized)) -> Vec<Option<Parts>> {
    METRICS.iter().map(|m| parts_of(m, tables)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gongkai_model::schema::{self, Template};
    use gongkai_model::{Cell, Table};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tables_with(cells: &[(TableId, &str, &str, Cell)]) -> Tables {
        let mut tables = Tables::default();
        for (table, row, column, cell) in cells {
            let t = tables.get_mut(*table).get_or_insert_with(Table::default);
            t.entry((*row).to_owned())
                .or_default()
                .insert((*column).to_owned(), cell.clone());
        }
        tables
    }

    #[test]
    fn the_fifteen_metrics_of_the_spec_with_unique_keys() {
        assert_eq!(METRICS.len(), 15);
        let mut keys: Vec<_> = METRICS.iter().map(|m| m.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 15);
        for m in METRICS {
            assert_eq!(
                m.kind == MetricKind::Rate,
                !m.denominator.is_empty(),
                "{}",
                m.key
            );
            assert_eq!(m.kind == MetricKind::Rate, m.unit == "ratio", "{}", m.key);
        }
    }

    #[test]
    fn every_cell_a_formula_reads_exists_in_some_template() {
        for m in METRICS {
            for term in m.cells() {
                let exists = [Template::F2019, Template::F2021].iter().any(|t| {
                    schema::row(*t, term.table, term.row)
                        .is_some_and(|r| r.column(term.column).is_some())
                });
                assert!(exists, "{} reads {}.{}", m.key, term.row, term.column);
            }
        }
    }

    #[test]
    fn formulas_read_as_the_spec_writes_them() {
        let (_, rate) = metric("disclosure_rate").unwrap();
        assert_eq!(
            rate.formula(),
            "(t3.granted.total + t3.partially_granted.total) / t3.total_processed.total"
        );
        let (_, review) = metric("review_corrected_rate").unwrap();
        assert_eq!(
            review.formula(),
            "t4.review.corrected / (t4.review.total − t4.review.pending)"
        );
    }

    #[test]
    fn na_blank_and_corrected_follow_the_spec() {
        let (_, m) = metric("disclosure_rate").unwrap();
        let full = tables_with(&[
            (T3, "granted", "total", Cell::number(d("3"), "3", None)),
            (T3, "partially_granted", "total", Cell::blank("", None)),
            (
                T3,
                "total_processed",
                "total",
                Cell::number(d("4"), "4", None),
            ),
        ]);
        let parts = parts_of(m, &full).unwrap();
        assert_eq!((parts.numerator, parts.denominator), (d("3"), d("4")));
        assert_eq!(parts.value(), Some(d("0.75")));
        for unavailable in [
            Cell::missing(),
            Cell::placeholder("/", None),
            Cell::ambiguous("1213", vec![d("1"), d("12")], None),
        ] {
            let t = tables_with(&[
                (T3, "granted", "total", Cell::number(d("3"), "3", None)),
                (T3, "partially_granted", "total", unavailable),
                (
                    T3,
                    "total_processed",
                    "total",
                    Cell::number(d("4"), "4", None),
                ),
            ]);
            assert_eq!(parts_of(m, &t), None, "never read as 0");
        }
        // A cell the report does not have at all (F2019 has no t2.fees.amount).
        let (_, fees) = metric("fees_amount").unwrap();
        assert_eq!(parts_of(fees, &full), None);
        let zero_denominator = tables_with(&[
            (T3, "granted", "total", Cell::blank("", None)),
            (T3, "partially_granted", "total", Cell::blank("", None)),
            (T3, "total_processed", "total", Cell::blank("", None)),
        ]);
        let parts = parts_of(m, &zero_denominator).unwrap();
        assert_eq!(parts.value(), None, "a rate over nothing is NA");
    }

    #[test]
    fn an_amount_keeps_its_digits() {
        let (_, fees) = metric("fees_amount").unwrap();
        let t = tables_with(&[(
            T2,
            "fees",
            "amount",
            Cell::number(d("18759.694"), "18,759.694", None),
        )]);
        let parts = parts_of(fees, &t).unwrap();
        assert_eq!(parts.numerator.to_string(), "18759.694");
        assert_eq!(parts.denominator, Decimal::ONE);
    }
}
