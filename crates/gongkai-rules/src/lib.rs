//! The rule set of §6 of the spec: what is wrong with a parsed 政府信息公开工作年度报告.
//!
//! [`check`] runs every rule that needs nothing but the report itself; [`check_against_previous`]
//! runs the cross-year rules (`X-*`) that need the same agency's report of the previous year.
//! [`catalogue`] lists every rule with its id, severity and Chinese description.
//!
//! # Evaluation policy
//!
//! - A rule that cannot be evaluated because cells it needs are missing, ambiguous or a
//!   placeholder says so with a *warning* finding under its own id, whose message starts with
//!   `无法核验` and lists the cells; it never passes silently and never computes with invented
//!   numbers. Blank cells count as 0 (they carry their own `C-BLANK` warning).
//! - Per-row rules (`T3-ROW-TOTAL`, `T4-TOTAL`) skip rows the source does not contain at all
//!   (every cell `missing`): `S-TABLE-INCOMPLETE` already reports those as errors. Whole-table
//!   identities (`T3-BALANCE`, `T3-RESULTS`) need the missing rows and report themselves as not
//!   evaluable.
//! - A `legacy` (2008-era) report gets `S-METADATA`, one `S-TEMPLATE` finding saying its tables
//!   are not checked (info for reports of 2018 and earlier, for which that format was right;
//!   warning otherwise) and `P-TEXT-DAMAGE`; no table rule runs.
//! - Rules that depend on the report's year (`S-TEMPLATE`'s version check, `P-YEAR`) are not
//!   run when the year is unknown; the `S-METADATA` warning says so.
//! - `P-NUMBERS`: a prose figure that disagrees with the table is a warning; when the sentence
//!   speaks of a narrower scope (区政府办、本机关…) the finding is *info* and says that the
//!   scope differs instead of claiming a contradiction.
//! - Not-applicable cross-year checks (the previous report is in another version of the format
//!   or not of the previous year) are *info*: nothing is wrong with either report.
//!
//! # Order
//!
//! Findings come sorted by the part of the report they concern (0 = the document as a whole,
//! then sections 1 to 6, tables under their sections 2–4), then by the rule's place in
//! [`catalogue`], then by row and column in the template's printed order, then in the order
//! the rule produced them.

#![forbid(unsafe_code)]

mod arithmetic;
mod catalogue;
mod cells;
mod cross_year;
mod eval;
mod findings;
mod labels;
mod prose_damage;
mod prose_numbers;
mod prose_sections;
mod structure;
mod text;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use catalogue::{RuleInfo, catalogue, rule_info};

use gongkai_model::{Finding, Report, Template};

/// The version of this rule set, stored with every finding in the archive. Bump it whenever a
/// rule's outcome for some report changes.
pub const RULES_VERSION: &str = "2026.12.1";

/// Every §6 rule that needs no archive, findings in the documented stable order.
pub fn check(report: &Report) -> Vec<Finding> {
    let mut out = findings::Findings::default();
    structure::metadata(report, &mut out);
    structure::template(report, &mut out);
    if report.template == Template::Legacy {
        prose_damage::text_damage(report, &mut out);
        return out.into_sorted();
    }
    structure::sections(report, &mut out);
    structure::tables_missing(report, &mut out);
    structure::tables_incomplete(report, &mut out);
    cells::check(report, &mut out);
    arithmetic::t3_balance(report, &mut out);
    arithmetic::t3_results(report, &mut out);
    arithmetic::t3_row_total(report, &mut out);
    arithmetic::t4_total(report, &mut out);
    // The prose rules read each section compacted; compact it once for all of them.
    let compacted: Vec<String> = report
        .sections
        .iter()
        .map(|s| text::compact(&s.text))
        .collect();
    prose_numbers::numbers(report, &compacted, &mut out);
    prose_sections::year(report, &compacted, &mut out);
    prose_sections::fees(report, &mut out);
    prose_sections::empty(report, &mut out);
    prose_damage::text_damage(report, &mut out);
    out.into_sorted()
}

/// The cross-year rules (X-SPIKE, X-CARRY-OVER, X-IN-FORCE, X-PREVIOUS) of `report` against the same
/// agency's report of the previous year, in the same order as [`check`].
pub fn check_against_previous(report: &Report, previous: &Report) -> Vec<Finding> {
    let mut out = findings::Findings::default();
    cross_year::check(report, previous, &mut out);
    out.into_sorted()
}
