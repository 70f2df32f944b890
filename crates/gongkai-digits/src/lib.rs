//! Decoding of the statistics tables of a 政府信息公开工作年度报告 when a web page or a text dump
//! flattened them to text without cell separators: `规范性文件7777166` is 77, 77, 166;
//! `21317000001324019` is t4 as 2,1,3,1,7 / 0,0,0,0,0 / 13,2,4,0,19; `（七）总计23 0 00 0 023`
//! mixes spaces and concatenation.
//!
//! The crate has three layers:
//!
//! - [`lexeme`]: what one cell may look like when printed (no leading zeros, a sign only on a
//!   signed cell, a decimal point only in an amount, digit caps).
//! - [`solver`]: a generic, bounded solver that cuts runs of tokens into cells and enumerates
//!   every assignment consistent with linear equalities among the cells.
//! - [`read_flattened_table`]: the format's side — row labels, the runs after them, the
//!   arithmetic rules of §6 of the spec, and the decoding policy below.
//!
//! # Decoding policy
//!
//! Every decoding that fits is found; one is chosen only when it is the only one. The rules
//! are used to tell decodings apart, never to force one: a published table may break them
//! (平潭 2020 breaks T3-RESULTS), and a rule that the source breaks must not pick digits that
//! make it hold. Therefore:
//!
//! 1. Each run is decoded first with the rules that lie inside it: T3-ROW-TOTAL for a t3 row,
//!    T4-TOTAL for each t4 block (three of them when t4 is printed as one run of fifteen
//!    numbers). If no decoding satisfies such a rule, the rule is dropped for that run; when a
//!    run has several, they are admitted one at a time in table order, each kept only if some
//!    decoding still fits. t2 has no arithmetic rule: its runs are cut by the lexical rules
//!    alone, and most stay ambiguous.
//! 2. Only t3 rows still ambiguous after step 1 bring in the column rules, in this order:
//!    T3-BALANCE for each of the seven columns, then T3-RESULTS for each column. A column rule
//!    is considered only when every row it names was decoded and at least one of them is
//!    ambiguous, and it is admitted only if some combination of the rows' decodings satisfies
//!    it together with the rules admitted before it; otherwise it is dropped. Rows that are
//!    already unique enter as fixed values; the combinations of the ambiguous rows' decodings
//!    are checked directly, and a rule that would multiply them beyond the work bound
//!    (`Limits::max_solutions`) is left out rather than searched.
//! 3. A cell that has the same value (and the same printed digits) in every remaining decoding
//!    is a `number`; the other cells of an ambiguous run are `ambiguous` with every value they
//!    take as `candidates`, and the run becomes an [`Ambiguity`] listing all its decodings.
//!    A run with more decodings than the work bound allows listing makes its cells `ambiguous`
//!    without candidates and an [`Ambiguity`] with an empty `decodings` list. A run that no cut
//!    fits at all (too few digits for its cells, a sign on an unsigned cell) leaves its cells
//!    `missing`: nothing is invented.
//!
//! # Bounded work
//!
//! Decoding a table costs at most [`TABLE_STEP_BUDGET`] search steps, shared by all its runs
//! (and at most [`RUN_STEP_BUDGET`] per run); [`FlatTable::steps`] says how many were spent.
//! A run met once the budget is spent, or that exhausts it, is too many to enumerate (step 3
//! above). Within a run the solver sums incrementally and remembers the states (cell,
//! position, open sums) that led nowhere, so it never searches the same remainder twice; t4
//! printed as one run is decoded block by block over the two block boundaries. Each run's
//! listing stops at `Limits::max_solutions` (4096) decodings: beyond it the run is too many
//! to enumerate, never a partial list.
//!
//! Rows are located by the model's keywords in template order (a keyword found after the next
//! row's keyword belongs to something else); the run of a row is the first number run after
//! its label and before the next row's label. Numbers inside labels are never values: list
//! numbers (`…00000002.其他法律…` ends the previous run before `2.`), `第…条`, `（2）`, dates.
//! t4 printed as its header followed by one run of fifteen numbers is one run of fifteen cells.
//! A row whose label is misprinted beyond recognition still gets the only other run between
//! its two neighbours.
//!
//! Placeholders (`/`, `—`) and blanks cannot be told apart from missing cells once a table
//! is flattened, so this crate never produces `placeholder` or `blank` cells.

pub mod lexeme;
pub mod scan;
pub mod solver;
mod table;

pub use lexeme::{Caps, Symbol, Value};
pub use solver::{
    Constraint, Domain, Lexeme, Limits, Outcome, Problem, Run, Solution, SolverError, Term, VarId,
    combine, decode_run, decode_run_counted,
};

use gongkai_model::{Ambiguity, Position, Table, TableId, Template};

/// A table decoded from flattened text, with the runs that fit the rules in more than one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatTable {
    /// Every row and column of the template; cells the text lacks are `missing`.
    pub table: Table,
    pub ambiguities: Vec<Ambiguity>,
    /// The work spent decoding, in solver search steps (a deterministic count, see
    /// [`decode_run_counted`]); never more than [`TABLE_STEP_BUDGET`].
    pub steps: u64,
}

/// Search steps one run may take before it counts as too many to enumerate. Real runs take a
/// few hundred at most (the 平潭 dumps: at most 432 per table); a t4 printed as one run of
/// fifteen numbers of up to five digits takes a few thousand (25,000 at most in 2,000 random
/// ones, see `examples/t4_steps.rs`).
pub const RUN_STEP_BUDGET: u64 = 50_000;

/// Search steps all the runs of one table may take together, so that a section made of
/// hostile runs costs a bounded amount of work however many rows it has. Once it is spent,
/// the remaining runs are too many to enumerate (cells `ambiguous`, no candidates).
pub const TABLE_STEP_BUDGET: u64 = 100_000;

/// Reads `table` of `template` from `text`, the normalised text of the table's section, which
/// starts at `origin` (a `Position::Line`; cell positions are counted from it). Returns `None`
/// when no row of the table is found in the text, and for templates without tables (`legacy`,
/// `unknown`).
pub fn read_flattened_table(
    text: &str,
    origin: Position,
    table: TableId,
    template: Template,
) -> Option<FlatTable> {
    table::read(text, origin, table, template)
}
