//! The metrics of the whole archive (`archive.md` §5) as pure functions, so that the archive,
//! the gateway, the exports and the tests compute them one way:
//!
//! * [`dictionary`]: the versioned metric dictionary ([`METRICS_VERSION`], [`METRICS`]), each
//!   metric's formula over the cells of one report as a numerator and a denominator, and the
//!   NA semantics of one report (a `missing`, `ambiguous`, `invalid` or `placeholder` cell makes
//!   the metric NA, never 0; `blank` is 0; `corrected` is its corrected value);
//! * [`aggregate`]: what a group of reports comes to — sums, rates as ratios of sums, 4 decimal
//!   places rounded half to even, percentiles by linear interpolation between closest ranks
//!   (Excel's `PERCENTILE.INC`, numpy's default);
//! * [`agency`]: the canonical agency key (region path + body name, normalised) and the region
//!   read from the administrative names that lead an agency's printed name;
//! * [`catalogue`]: a stable small id for every cell of either template, the order in which the
//!   archive stores a report's cells as arrays;
//! * [`docs`]: `docs/metrics.md`, generated from the dictionary (a test keeps the file true).
//!
//! Depends on `gongkai-model` only; no I/O. Every sum is checked arithmetic: a value that
//! would overflow makes the result NA rather than wrong.

#![forbid(unsafe_code)]

pub mod agency;
pub mod aggregate;
pub mod catalogue;
pub mod dictionary;
pub mod docs;

pub use aggregate::{Accumulator, GroupValue, percentile_inc, round_rate};
pub use dictionary::{
    CellSource, METRICS, METRICS_VERSION, Metric, MetricKind, Parts, Term, metric, parts_of,
};
