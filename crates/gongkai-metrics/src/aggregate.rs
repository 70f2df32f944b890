//! What a group of reports comes to for one metric (`archive.md` §5): counts summed, a rate
//! the ratio of the summed numerators to the summed denominators over the reports where both
//! are available (never a mean of ratios), NA when that denominator is 0, rates and percentiles
//! with 4 decimal places rounded half to even, percentiles of the per-report values by linear
//! interpolation between closest ranks (`PERCENTILE.INC`, numpy's default `linear`).

use crate::dictionary::{Metric, MetricKind, Parts};
use gongkai_model::Decimal;
use rust_decimal::RoundingStrategy;

/// The decimal places of rates and percentiles.
pub const RATE_DECIMALS: u32 = 4;

/// `value` with exactly 4 decimal places, rounded half to even (`0.81245` → `0.8124`).
pub fn round_rate(value: Decimal) -> Decimal {
    let mut rounded =
        value.round_dp_with_strategy(RATE_DECIMALS, RoundingStrategy::MidpointNearestEven);
    rounded.rescale(RATE_DECIMALS);
    rounded
}

/// The `p`-th percentile (0–100) of `sorted` (ascending) by linear interpolation between
/// closest ranks: rank `p/100 × (n − 1)` from 0, as Excel's `PERCENTILE.INC` and numpy's
/// default. Unrounded; `None` for no values or `p` over 100.
pub fn percentile_inc(sorted: &[Decimal], p: u32) -> Option<Decimal> {
    if sorted.is_empty() || p > 100 {
        return None;
    }
    let last = Decimal::from(sorted.len() - 1);
    let rank = Decimal::from(p)
        .checked_mul(last)?
        .checked_div(Decimal::ONE_HUNDRED)?;
    let low = rank.floor();
    let fraction = rank.checked_sub(low)?;
    let index = usize::try_from(low.mantissa()).ok()?;
    let below = *sorted.get(index)?;
    if fraction.is_zero() {
        return Some(below);
    }
    let above = *sorted.get(index + 1)?;
    below.checked_add(fraction.checked_mul(above.checked_sub(below)?)?)
}

/// One metric over one group, as a QueryMetrics answer row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// The count (exact, scale kept) or the rate (4 places); `None` is NA.
    pub value: Option<Decimal>,
    /// Reports that contributed (the metric available for them).
    pub reports: u64,
    /// Reports of the group left out because the metric is NA for them.
    pub excluded: u64,
    /// The percentiles asked for, in the order asked, each with 4 places; `None` when no
    /// report has a value.
    pub percentiles: Vec<(u32, Option<Decimal>)>,
}

/// Sums of one metric over one group, fed report by report ([`Accumulator::add`]) or from sums
/// the database made ([`Accumulator::from_sums`]).
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    numerator: Decimal,
    denominator: Decimal,
    reports: u64,
    excluded: u64,
    /// A sum overflowed: the value is NA.
    overflowed: bool,
    /// The per-report values (count, or ratio where the denominator is not 0).
    values: Vec<Decimal>,
}

impl Accumulator {
    /// Adds one report's parts (`None`: NA for this report, counted as excluded).
    pub fn add(&mut self, parts: Option<Parts>) {
        let Some(parts) = parts else {
            self.excluded += 1;
            return;
        };
        self.reports += 1;
        match (
            self.numerator.checked_add(parts.numerator),
            self.denominator.checked_add(parts.denominator),
        ) {
            (Some(n), Some(d)) => {
                self.numerator = n;
                self.denominator = d;
            }
            _ => self.overflowed = true,
        }
        if let Some(value) = parts.value() {
            self.values.push(value);
        }
    }

    /// An accumulator from a database's sums: `reports` contributed, `excluded` did not, and
    /// `values` are the per-report values (any order) for percentiles.
    pub fn from_sums(
        numerator: Decimal,
        denominator: Decimal,
        reports: u64,
        excluded: u64,
        values: Vec<Decimal>,
    ) -> Accumulator {
        Accumulator {
            numerator,
            denominator,
            reports,
            excluded,
            overflowed: false,
            values,
        }
    }

    /// The group's value of `metric` with the `percentiles` asked for.
    pub fn finish(mut self, metric: &Metric, percentiles: &[u32]) -> GroupValue {
        let value = if self.reports == 0 || self.overflowed {
            None
        } else {
            match metric.kind {
                MetricKind::Count => Some(self.numerator),
                MetricKind::Rate if self.denominator.is_zero() => None,
                MetricKind::Rate => self.numerator.checked_div(self.denominator).map(round_rate),
            }
        };
        if !percentiles.is_empty() {
            self.values.sort_unstable();
        }
        let percentiles = percentiles
            .iter()
            .map(|p| (*p, percentile_inc(&self.values, *p).map(round_rate)))
            .collect();
        GroupValue {
            value,
            reports: self.reports,
            excluded: self.excluded,
            percentiles,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dictionary::metric;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rates_have_four_places_rounded_half_to_even() {
        assert_eq!(round_rate(d("0.8125")).to_string(), "0.8125");
        assert_eq!(round_rate(d("0.81245")).to_string(), "0.8124");
        assert_eq!(round_rate(d("0.81255")).to_string(), "0.8126");
        assert_eq!(round_rate(d("0.5")).to_string(), "0.5000");
        assert_eq!(round_rate(d("2")).to_string(), "2.0000");
    }

    /// numpy.percentile([15, 20, 35, 40, 50], [0, 25, 40, 50, 75, 90, 100]) (method
    /// 'linear', the default) is [15, 20, 29, 35, 40, 46, 50]: rank p/100 × 4.
    #[test]
    fn percentiles_are_numpys_linear_and_excels_percentile_inc() {
        let values: Vec<Decimal> = [15, 20, 35, 40, 50]
            .into_iter()
            .map(Decimal::from)
            .collect();
        let expected = [
            (0, "15"),
            (25, "20"),
            (40, "29"),
            (50, "35"),
            (75, "40"),
            (90, "46"),
            (100, "50"),
        ];
        for (p, e) in expected {
            assert_eq!(percentile_inc(&values, p), Some(d(e)), "P{p}");
        }
        // Excel: PERCENTILE.INC({1,2,3,4}, 0.25) = 1.75; numpy.percentile([1,2,3,4], 25) = 1.75.
        let four: Vec<Decimal> = (1..=4).map(Decimal::from).collect();
        assert_eq!(percentile_inc(&four, 25), Some(d("1.75")));
        assert_eq!(percentile_inc(&four, 50), Some(d("2.5")));
        assert_eq!(percentile_inc(&[d("7")], 33), Some(d("7")));
        assert_eq!(percentile_inc(&[], 50), None);
        assert_eq!(percentile_inc(&four, 101), None);
    }

    #[test]
    fn a_rate_over_a_group_is_the_ratio_of_the_sums_not_a_mean_of_ratios() {
        let (_, m) = metric("disclosure_rate").unwrap();
        let mut acc = Accumulator::default();
        acc.add(Some(Parts {
            numerator: d("1"),
            denominator: d("1"),
        }));
        acc.add(Some(Parts {
            numerator: d("12"),
            denominator: d("15"),
        }));
        acc.add(None);
        acc.add(Some(Parts {
            numerator: d("0"),
            denominator: d("0"),
        }));
        let value = acc.finish(m, &[50]);
        // (1 + 12 + 0) / (1 + 15 + 0) = 0.8125; the mean of ratios would be 0.9.
        assert_eq!(value.value.unwrap().to_string(), "0.8125");
        assert_eq!((value.reports, value.excluded), (3, 1));
        // Per-report values 1 and 0.8 (the 0/0 report has none): the median is 0.9.
        assert_eq!(value.percentiles, vec![(50, Some(d("0.9000")))]);
    }

    #[test]
    fn na_when_nothing_contributes_or_the_denominator_is_zero() {
        let (_, rate) = metric("not_held_rate").unwrap();
        let mut acc = Accumulator::default();
        acc.add(Some(Parts {
            numerator: d("0"),
            denominator: d("0"),
        }));
        assert_eq!(acc.finish(rate, &[]).value, None);
        let (_, count) = metric("applications_new").unwrap();
        let mut acc = Accumulator::default();
        acc.add(None);
        let value = acc.finish(count, &[25]);
        assert_eq!((value.value, value.reports, value.excluded), (None, 0, 1));
        assert_eq!(value.percentiles, vec![(25, None)]);
    }

    #[test]
    fn counts_are_exact_sums_keeping_scale() {
        let (_, fees) = metric("fees_amount").unwrap();
        let mut acc = Accumulator::default();
        for v in ["18759.694", "73802895.90", "0.006"] {
            acc.add(Some(Parts {
                numerator: d(v),
                denominator: Decimal::ONE,
            }));
        }
        assert_eq!(
            acc.finish(fees, &[]).value.unwrap().to_string(),
            "73821655.600"
        );
    }

    proptest! {
        /// A percentile lies between the smallest and the largest value and grows with p.
        #[test]
        fn percentiles_are_monotone_and_bounded(mut values in prop::collection::vec(-1_000_000i64..1_000_000, 1..60), p in 0u32..100) {
            values.sort_unstable();
            let values: Vec<Decimal> = values.into_iter().map(Decimal::from).collect();
            let a = percentile_inc(&values, p).unwrap();
            let b = percentile_inc(&values, p + 1).unwrap();
            prop_assert!(a <= b);
            prop_assert!(values[0] <= a && b <= values[values.len() - 1]);
        }
    }
}
