//! `docs/metrics.md`, generated from the dictionary: the page people read is the code's own
//! statement of each metric (a test in the crate fails when the file and the code differ;
//! `GONGKAI_WRITE_DOCS=1 cargo test -p gongkai-metrics` rewrites it).

use crate::dictionary::{METRICS, METRICS_VERSION};

/// The Markdown of `docs/metrics.md`.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# 指标字典 / The metric dictionary\n\n");
    out.push_str(&format!(
        "`METRICS_VERSION` = {METRICS_VERSION}. Generated from `crates/gongkai-metrics` \
         (`gongkai_metrics::docs::markdown`); do not edit by hand: a test compares this file \
         with the code, and `GONGKAI_WRITE_DOCS=1 cargo test -p gongkai-metrics` rewrites it. \
         `ListMetrics` serves the same dictionary; `archive.md` §5 is the contract.\n\n"
    ));
    out.push_str(
        "Semantics, the same everywhere:\n\n\
         - A cell that is `missing`, `ambiguous`, `invalid` or `placeholder` (or absent from the \
         report's template) makes the metric NA for that report: the report is left out and \
         counted as `excluded`, never read as 0. A `blank` cell is 0. A `corrected` cell has its \
         corrected value.\n\
         - Over a group, counts are summed (amounts keep their exact digits); a rate is the ratio \
         of the sums of its numerator and denominator over the reports where both are \
         available (not a mean of ratios); NA when the denominator is 0. Rates have 4 decimal \
         places, rounded half to even (`0.8125`).\n\
         - Percentiles are of the per-report values of the group (a rate's per-report value \
         exists where its denominator is not 0), by linear interpolation between closest ranks \
         (Excel's `PERCENTILE.INC`, numpy's default), 4 decimal places, half to even.\n\
         - Only each series' current report counts, unless all versions are asked for.\n\n",
    );
    out.push_str("| key | 名称 | name | unit | kind | formula (one report) |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for m in METRICS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | `{}` |\n",
            m.key,
            m.name_zh,
            m.name_en,
            m.unit,
            m.kind.as_str(),
            m.formula()
        ));
    }
    out.push_str("\n## Caveats\n\n");
    for m in METRICS {
        out.push_str(&format!("- `{}` ({}): {}\n", m.key, m.name_zh, m.caveats));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// docs/metrics.md is what the code says.
    #[test]
    fn docs_metrics_md_is_generated_from_the_dictionary() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
        let generated = super::markdown();
        if std::env::var_os("GONGKAI_WRITE_DOCS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/metrics.md differs from the dictionary: run GONGKAI_WRITE_DOCS=1 cargo test -p gongkai-metrics"
        );
    }
}
