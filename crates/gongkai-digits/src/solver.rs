//! A small, bounded constraint solver over runs of concatenated digits.
//!
//! A *variable* is one table cell with a [`ValueKind`]. A *run* is the printed text of
//! consecutive cells (`2648-18538`, `23 0 00 0 023`): it is split at whitespace into tokens,
//! each token must be cut into one or more consecutive cells, and the whole run into exactly the
//! run's cells, each cut a well-formed lexeme of its cell's kind ([`crate::lexeme`]). A
//! *constraint* is a linear equality `Σ coef·cell = constant` among cells (a row total, a block
//! total, a column identity).
//!
//! The solver enumerates every assignment that fits all of it. It works in two layers, both
//! public because the table reader uses them separately:
//!
//! 1. [`decode_run`] cuts one run by backtracking, checking each constraint local to the run as
//!    soon as its last cell is fixed (on running sums, kept as cells are fixed) and pruning on
//!    what is left (remaining tokens need a cell each; remaining symbols must fit the remaining
//!    cells' caps). A state (cell, position, sums of the constraints still open) searched once
//!    without result is remembered and never searched again: the backtracking is a memoised
//!    dynamic programme over them. [`decode_run_counted`] also reports the steps spent.
//! 2. [`combine`] chooses one decoding per run when constraints link runs (column totals),
//!    checking each constraint as soon as its last run is chosen and pruning with the exact
//!    minimum and maximum that the unchosen runs can still add.
//!
//! [`Problem`] puts the two together for callers that just want every solution.
//!
//! Work is bounded ([`Limits`]): a hostile run (hundreds of digits, thousands of decodings)
//! yields [`Outcome::TooMany`] after a fixed number of search steps instead of hanging.

use crate::lexeme::{Caps, Symbol, Value, for_each_lexeme};
use gongkai_model::ValueKind;
use std::borrow::Borrow;
use std::ops::Range;

/// Errors in how a problem was put together (never in the text being decoded: text that does
/// not fit simply has no decoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SolverError {
    #[error("run text {text:?} holds {character:?} at byte {offset}, which no number contains")]
    UnexpectedCharacter {
        text: String,
        character: char,
        offset: usize,
    },
    #[error("variable {0} does not exist")]
    UnknownVariable(u32),
    #[error("variable {0} belongs to more than one run")]
    VariableInTwoRuns(u32),
    #[error("variable {0} belongs to no run, so nothing can give it a value")]
    VariableWithoutRun(u32),
    #[error("a run has {cells} cells; at most {max} are supported")]
    TooManyCells { cells: usize, max: usize },
}

/// Search steps before dead states are remembered: below it, hashing them costs more than
/// searching again (real runs take a few hundred steps at most).
const MEMO_AFTER_STEPS: u64 = 256;

/// The most cells one run may have (bounds the recursion depth).
pub const MAX_RUN_CELLS: usize = 256;

/// A cell of a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

impl VarId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// One term `coef · var` of a linear constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub var: VarId,
    pub coef: i64,
}

/// `Σ coef·var = constant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub terms: Vec<Term>,
    pub constant: Value,
}

impl Constraint {
    /// `Σ parts = total` (coefficients +1 … and −1).
    pub fn sum(parts: &[VarId], total: VarId) -> Constraint {
        let mut terms: Vec<Term> = parts.iter().map(|&var| Term { var, coef: 1 }).collect();
        terms.push(Term {
            var: total,
            coef: -1,
        });
        Constraint {
            terms,
            constant: Value::ZERO,
        }
    }
}

/// Bounds on the work of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// More solutions than this is reported as [`Outcome::TooMany`].
    pub max_solutions: usize,
    /// Search nodes visited before giving up with [`Outcome::TooMany`].
    pub max_steps: u64,
    pub caps: Caps,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_solutions: 4096,
        max_steps: 200_000,
        caps: Caps::DEFAULT,
    };

    /// The same limits, stopping at the first solution (a feasibility test).
    pub fn first_only(self) -> Limits {
        Limits {
            max_solutions: 1,
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Every solution (none: the constraints cannot all hold). With
    /// [`Limits::first_only`], at most the first one.
    Found(Vec<T>),
    /// More solutions than the limit, or more search steps than allowed: nothing is listed,
    /// because an incomplete list would look like the complete one.
    TooMany,
}

impl<T> Outcome<T> {
    pub fn solutions(&self) -> Option<&[T]> {
        match self {
            Outcome::Found(s) => Some(s),
            Outcome::TooMany => None,
        }
    }

    /// At least one solution, or too many to count.
    pub fn is_feasible(&self) -> bool {
        match self {
            Outcome::Found(s) => !s.is_empty(),
            Outcome::TooMany => true,
        }
    }
}

/// A run of printed digits: tokens separated by whitespace, each a sequence of symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    symbols: Vec<Symbol>,
    /// Byte range of each symbol in the run's text.
    spans: Vec<Range<u32>>,
    /// Symbol range of each token.
    tokens: Vec<Range<usize>>,
}

impl Run {
    /// Splits `text` at whitespace; every other character must belong to a number
    /// (digits, also full-width, `.`, `-`, `+`, `,`).
    pub fn parse(text: &str) -> Result<Run, SolverError> {
        let mut run = Run {
            symbols: Vec::with_capacity(text.len()),
            spans: Vec::with_capacity(text.len()),
            tokens: Vec::new(),
        };
        let mut token_start = None;
        for (offset, c) in text.char_indices() {
            if c.is_whitespace() {
                if let Some(start) = token_start.take() {
                    run.tokens.push(start..run.symbols.len());
                }
                continue;
            }
            let Some(symbol) = Symbol::of(c) else {
                return Err(SolverError::UnexpectedCharacter {
                    text: text.to_owned(),
                    character: c,
                    offset,
                });
            };
            token_start.get_or_insert(run.symbols.len());
            run.symbols.push(symbol);
            let start = u32::try_from(offset).unwrap_or(u32::MAX);
            let end = u32::try_from(offset + c.len_utf8()).unwrap_or(u32::MAX);
            run.spans.push(start..end);
        }
        if let Some(start) = token_start {
            run.tokens.push(start..run.symbols.len());
        }
        Ok(run)
    }

    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    pub fn symbol_count(&self) -> usize {
        self.symbols.len()
    }

    pub fn digit_count(&self) -> usize {
        self.symbols.iter().filter(|s| s.is_digit()).count()
    }

    /// Whether `cells` cells could possibly cover the run (one per token at least, one symbol
    /// per cell at most): a quick test before any search.
    pub fn could_hold(&self, cells: usize) -> bool {
        !self.tokens.is_empty() && self.tokens.len() <= cells && cells <= self.symbols.len()
    }

    fn byte_range(&self, symbols: Range<usize>) -> Range<u32> {
        let start = self.spans.get(symbols.start).map_or(0, |s| s.start);
        let end = symbols
            .end
            .checked_sub(1)
            .and_then(|last| self.spans.get(last))
            .map_or(start, |s| s.end);
        start..end
    }
}

/// One cell as cut from a run: its value and the byte range of its text in the run's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexeme {
    pub value: Value,
    pub start: u32,
    pub end: u32,
}

/// Sums `Σ coef·value − constant` exactly at a common scale; zero means the constraint holds.
fn residual(terms: impl Iterator<Item = (i64, Value)> + Clone, constant: Value) -> Option<i128> {
    let scale = terms
        .clone()
        .map(|(_, v)| v.scale)
        .fold(constant.scale, u8::max);
    let mut sum: i128 = 0;
    for (coef, value) in terms {
        sum = sum.checked_add(i128::from(coef).checked_mul(value.at_scale(scale)?)?)?;
    }
    sum.checked_sub(constant.at_scale(scale)?)
}

struct RunSearch<'a> {
    run: &'a Run,
    kinds: &'a [ValueKind],
    constraints: &'a [Constraint],
    /// For each cell but the last, the constraints completed when it is fixed (the last cell
    /// is fixed first, see [`decode_run`]).
    check_at: CellSets,
    /// For each cell, the integer constraints that name it but are not complete there: their
    /// bounds are checked as soon as the cell is fixed.
    bound_at: CellSets,
    /// For each cell, the most symbols the cells from it up to the last one (excluded) take.
    max_symbols_from: Vec<usize>,
    limits: Limits,
    steps: u64,
    stack: Vec<Lexeme>,
    found: Vec<Vec<Lexeme>>,
    aborted: bool,
    /// The current choice for the last cell, and what it leaves to the others: the symbols
    /// before it and the tokens they form (the last one possibly cut short).
    last: Lexeme,
    prefix_len: usize,
    prefix_tokens: usize,
    /// The common scale at which every constraint is summed (the largest of the constants'
    /// and, if an amount takes part, of the amount caps), so that sums run incrementally.
    scale: u8,
    /// For each cell, the (constraint, coefficient) terms it contributes to.
    terms_of: Vec<Vec<(usize, i128)>>,
    /// Per constraint, `Σ coef·value − constant` over the cells fixed so far (at `scale`):
    /// zero when a complete constraint holds. Kept as running sums, never recomputed.
    partial: Vec<i128>,
    /// Per cell, the constraints not yet complete there: with the position they are all a
    /// subtree depends on, so they key the memo of dead ends.
    open_at: Vec<Vec<usize>>,
    /// States (cell, position, prefix length, open partial sums) already searched without
    /// finding anything: met again, they are skipped, which turns the backtracking into a
    /// dynamic programme over (position, cells used, running sums).
    dead: std::collections::HashSet<(u32, u32, u32, Vec<i128>)>,
}

impl RunSearch<'_> {
    /// `value` at the search's common scale; `None` if it does not fit (no sum can use it).
    fn scaled(&self, value: Value) -> Option<i128> {
        value.at_scale(self.scale)
    }

    /// Adds (or with `sign` −1 removes) a cell's contribution to its constraints' running
    /// sums. False, with nothing changed, if a sum would overflow (then no decoding uses it).
    fn apply(&mut self, cell: usize, value: Value, sign: i128) -> bool {
        let Some(v) = self.scaled(value) else {
            return false;
        };
        let terms = std::mem::take(&mut self.terms_of[cell]);
        let mut ok = true;
        let mut done = 0;
        // Coefficients and signs are almost always ±1: those are a copy or a negation, not
        // an overflow-checked 128-bit multiplication (the same result and the same overflow).
        let times = |a: i128, b: i128| match a {
            1 => Some(b),
            -1 => b.checked_neg(),
            _ => a.checked_mul(b),
        };
        for &(c, coef) in &terms {
            match times(coef, v)
                .and_then(|x| times(sign, x))
                .and_then(|x| self.partial[c].checked_add(x))
            {
                Some(sum) => {
                    self.partial[c] = sum;
                    done += 1;
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            // Undo the part already applied (cannot overflow: it was there before).
            for &(c, coef) in &terms[..done] {
                self.partial[c] -= coef * v * sign;
            }
        }
        self.terms_of[cell] = terms;
        ok
    }

    fn complete_hold(&self, checks: impl IntoIterator<Item = usize>) -> bool {
        checks.into_iter().all(|c| self.partial[c] == 0)
    }

    fn value_of(&self, j: usize) -> Value {
        if j + 1 == self.kinds.len() {
            self.last.value
        } else {
            self.stack[j].value
        }
    }

    /// Whether the integer constraints touched at `cell` can still hold once it and the last
    /// cell are fixed and the symbols from `next` to the last cell remain for the cells in
    /// between. Two tests: each unfixed count lies between 0 and the largest number its share
    /// of the remaining symbols can print; and when the unfixed cells of a sum are all the
    /// remaining cells, none can have more digits than what is left of the sum, so the
    /// remaining symbols must fit that many digits per cell. The second one is what keeps a
    /// long t3 row from being cut in every way before its total is compared.
    fn within_bounds(&self, cell: usize, next: usize) -> bool {
        let last = self.kinds.len() - 1;
        let remaining_cells = last.saturating_sub(cell + 1);
        if remaining_cells == 0 {
            return true;
        }
        let remaining_symbols = self.prefix_len.saturating_sub(next);
        let widest = remaining_symbols.saturating_sub(remaining_cells - 1);
        let digits = widest.min(usize::from(self.limits.caps.count_digits));
        let any_max = 10i128
            .checked_pow(u32::try_from(digits).unwrap_or(u32::MAX))
            .map_or(i128::MAX / 4, |p| p - 1);
        // A bound whose arithmetic would overflow (only with coefficients no table has) prunes
        // nothing: the search then decides, with its own checked sums.
        self.bound_at.iter(cell).all(|c| {
            self.bounds_hold(c, cell, last, remaining_cells, remaining_symbols, any_max)
                != Some(false)
        })
    }

    /// The two tests of [`Self::within_bounds`] for one constraint; `None` on overflow.
    fn bounds_hold(
        &self,
        c: usize,
        cell: usize,
        last: usize,
        remaining_cells: usize,
        remaining_symbols: usize,
        any_max: i128,
    ) -> Option<bool> {
        let constraint = &self.constraints[c];
        let (mut lo, mut hi, mut fixed) = (0i128, 0i128, 0i128);
        let mut unfixed = 0;
        let mut same_sign: Option<i64> = None;
        let mut uniform = true;
        for t in &constraint.terms {
            let j = t.var.index();
            let coef = i128::from(t.coef);
            if j <= cell || j == last {
                fixed =
                    fixed.checked_add(i128::from(self.value_of(j).mantissa).checked_mul(coef)?)?;
                continue;
            }
            unfixed += 1;
            let sign = t.coef.signum();
            uniform &= t.coef.abs() == 1
                && self.kinds[j] == ValueKind::Count
                && *same_sign.get_or_insert(sign) == sign;
            let min = if self.kinds[j] == ValueKind::SignedCount {
                -any_max
            } else {
                0
            };
            let (a, b) = (coef.checked_mul(min)?, coef.checked_mul(any_max)?);
            lo = lo.checked_add(a.min(b))?;
            hi = hi.checked_add(a.max(b))?;
        }
        let target = i128::from(constraint.constant.mantissa);
        if !(fixed.checked_add(lo)? <= target && target <= fixed.checked_add(hi)?) {
            return Some(false);
        }
        if uniform && unfixed == remaining_cells {
            let need = target
                .checked_sub(fixed)?
                .checked_mul(i128::from(same_sign.unwrap_or(1)))?;
            if need < 0 {
                return Some(false);
            }
            let need_digits = need.checked_ilog10().map_or(1, |d| d as usize + 1);
            let per_cell = need_digits + (need_digits - 1) / 3;
            if remaining_symbols > remaining_cells.saturating_mul(per_cell) {
                return Some(false);
            }
        }
        Some(true)
    }

    fn search(&mut self, cell: usize, pos: usize, token: usize) {
        if self.aborted {
            return;
        }
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            self.aborted = true;
            return;
        }
        let last = self.kinds.len() - 1;
        let cells_left = last - cell;
        if cells_left == 0 {
            if token == self.prefix_tokens {
                if self.found.len() >= self.limits.max_solutions {
                    self.aborted = true;
                } else {
                    let mut solution = Vec::with_capacity(self.kinds.len());
                    solution.extend_from_slice(&self.stack);
                    solution.push(self.last);
                    self.found.push(solution);
                }
            }
            return;
        }
        if token >= self.prefix_tokens {
            return;
        }
        let symbols_left = self.prefix_len - pos;
        if cells_left < self.prefix_tokens - token
            || symbols_left < cells_left
            || symbols_left > self.max_symbols_from[cell]
        {
            return;
        }
        // Small searches (every real run) finish before a memo pays for its hashing.
        let memo = self.steps > MEMO_AFTER_STEPS;
        let key = memo.then(|| {
            (
                u32::try_from(cell).unwrap_or(u32::MAX),
                u32::try_from(pos).unwrap_or(u32::MAX),
                u32::try_from(self.prefix_len).unwrap_or(u32::MAX),
                self.open_at[cell]
                    .iter()
                    .map(|&c| self.partial[c])
                    .collect::<Vec<i128>>(),
            )
        });
        if key.as_ref().is_some_and(|k| self.dead.contains(k)) {
            return;
        }
        let found_before = self.found.len();
        let token_end = self.run.tokens[token].end.min(self.prefix_len);
        // `run`, `kinds` and `caps` are copied out so that the closure may borrow `self`
        // mutably while the lexemes are read from the run.
        let run = self.run;
        let kind = self.kinds[cell];
        let caps = self.limits.caps;
        for_each_lexeme(&run.symbols[pos..token_end], kind, &caps, |len, value| {
            let end = pos + len;
            let bytes = run.byte_range(pos..end);
            if !self.apply(cell, value, 1) {
                return true;
            }
            self.stack.push(Lexeme {
                value,
                start: bytes.start,
                end: bytes.end,
            });
            if self.complete_hold(self.check_at.iter(cell)) && self.within_bounds(cell, end) {
                let next_token = if end == token_end { token + 1 } else { token };
                self.search(cell + 1, end, next_token);
            }
            self.stack.pop();
            self.apply(cell, value, -1);
            !self.aborted
        });
        if let Some(key) = key
            && !self.aborted
            && self.found.len() == found_before
        {
            self.dead.insert(key);
        }
    }
}

/// For each cell, a set of constraint indices, as one bit set per cell in a single buffer.
struct CellSets {
    words: usize,
    bits: Vec<u64>,
}

impl CellSets {
    fn new(cells: usize, constraints: usize) -> CellSets {
        let words = constraints.div_ceil(64);
        CellSets {
            words,
            bits: vec![0; cells * words],
        }
    }

    fn insert(&mut self, cell: usize, constraint: usize) {
        if let Some(w) = self.bits.get_mut(cell * self.words + constraint / 64) {
            *w |= 1 << (constraint % 64);
        }
    }

    fn iter(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let row = self
            .bits
            .get(cell * self.words..(cell + 1) * self.words)
            .unwrap_or(&[]);
        row.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

/// The run has exactly as many symbols as cells, so the only possible cut gives each cell one
/// symbol (`0000000`, `110024001510102`): check that cut instead of searching.
fn one_symbol_per_cell(
    run: &Run,
    kinds: &[ValueKind],
    constraints: &[Constraint],
    caps: &Caps,
) -> Outcome<Vec<Lexeme>> {
    let mut cells = Vec::with_capacity(kinds.len());
    for (i, &kind) in kinds.iter().enumerate() {
        let symbol = &run.symbols[i..=i];
        let mut value = None;
        for_each_lexeme(symbol, kind, caps, |len, v| {
            if len == 1 {
                value = Some(v);
            }
            true
        });
        let Some(value) = value else {
            return Outcome::Found(Vec::new());
        };
        let bytes = run.byte_range(i..i + 1);
        cells.push(Lexeme {
            value,
            start: bytes.start,
            end: bytes.end,
        });
    }
    let holds = constraints.iter().all(|c| {
        let terms = c.terms.iter().map(|t| (t.coef, cells[t.var.index()].value));
        residual(terms, c.constant) == Some(0)
    });
    Outcome::Found(if holds { vec![cells] } else { Vec::new() })
}

/// Every way to cut `run` into cells of `kinds` (in order) that satisfies `constraints`, whose
/// variables are indices into `kinds` (`VarId(0)` is the run's first cell).
///
/// The last cell is chosen first (it is a suffix of the last token): in the format's sums it
/// is the total, and a known total bounds every other cell of the row at once. The other cells
/// are then cut from the left. Solutions come out ordered by their cut positions.
pub fn decode_run(
    run: &Run,
    kinds: &[ValueKind],
    constraints: &[Constraint],
    limits: Limits,
) -> Result<Outcome<Vec<Lexeme>>, SolverError> {
    decode_run_counted(run, kinds, constraints, limits).map(|(outcome, _)| outcome)
}

/// [`decode_run`], also returning the work done in search steps (one per search node; each
/// node tries at most [`Caps::max_symbols`] lexemes). Steps are a deterministic measure of
/// work, never above `limits.max_steps + 1`, for callers that share one budget among runs.
pub fn decode_run_counted(
    run: &Run,
    kinds: &[ValueKind],
    constraints: &[Constraint],
    limits: Limits,
) -> Result<(Outcome<Vec<Lexeme>>, u64), SolverError> {
    if kinds.len() > MAX_RUN_CELLS {
        return Err(SolverError::TooManyCells {
            cells: kinds.len(),
            max: MAX_RUN_CELLS,
        });
    }
    if let Some(t) = constraints
        .iter()
        .flat_map(|c| &c.terms)
        .find(|t| t.var.index() >= kinds.len())
    {
        return Err(SolverError::UnknownVariable(t.var.0));
    }
    let (Some(&last_kind), Some(last_token)) = (kinds.last(), run.tokens.last()) else {
        return Ok((Outcome::Found(Vec::new()), 0));
    };
    if !run.could_hold(kinds.len()) {
        return Ok((Outcome::Found(Vec::new()), 0));
    }
    if run.symbols.len() == kinds.len() {
        return Ok((
            one_symbol_per_cell(run, kinds, constraints, &limits.caps),
            1,
        ));
    }
    let last = kinds.len() - 1;
    let mut check_at = CellSets::new(kinds.len(), constraints.len());
    let mut check_last = Vec::new();
    let mut bound_at = CellSets::new(kinds.len(), constraints.len());
    for (i, c) in constraints.iter().enumerate() {
        let completes = c
            .terms
            .iter()
            .map(|t| t.var.index())
            .filter(|&j| j != last)
            .max();
        match completes {
            Some(j) => check_at.insert(j, i),
            None => check_last.push(i),
        }
        // Bounds apply to integer constraints only (counts; amounts carry scales).
        let integer = c.constant.scale == 0
            && c.terms
                .iter()
                .all(|t| kinds[t.var.index()] != ValueKind::Amount);
        if integer {
            for t in &c.terms {
                let j = t.var.index();
                if j != last && Some(j) != completes {
                    bound_at.insert(j, i);
                }
            }
        }
    }
    let mut max_symbols_from = vec![0usize; kinds.len()];
    for i in (0..last).rev() {
        max_symbols_from[i] = max_symbols_from[i + 1] + limits.caps.max_symbols(kinds[i]);
    }
    let scale = constraints
        .iter()
        .map(|c| c.constant.scale)
        .chain(
            kinds
                .iter()
                .filter(|&&k| k == ValueKind::Amount)
                .map(|_| limits.caps.amount_fraction_digits),
        )
        .max()
        .unwrap_or(0);
    let mut terms_of: Vec<Vec<(usize, i128)>> = vec![Vec::new(); kinds.len()];
    let mut complete_at = vec![None; constraints.len()];
    for (i, c) in constraints.iter().enumerate() {
        for t in &c.terms {
            terms_of[t.var.index()].push((i, i128::from(t.coef)));
        }
        complete_at[i] = c
            .terms
            .iter()
            .map(|t| t.var.index())
            .filter(|&j| j != last)
            .max();
    }
    let open_at: Vec<Vec<usize>> = (0..kinds.len())
        .map(|cell| {
            (0..constraints.len())
                .filter(|&c| complete_at[c].is_some_and(|j| j >= cell))
                .collect()
        })
        .collect();
    let mut search = RunSearch {
        run,
        kinds,
        constraints,
        check_at,
        bound_at,
        max_symbols_from,
        limits,
        steps: 0,
        stack: Vec::with_capacity(kinds.len()),
        found: Vec::new(),
        aborted: false,
        last: Lexeme {
            value: Value::ZERO,
            start: 0,
            end: 0,
        },
        prefix_len: 0,
        prefix_tokens: 0,
        scale,
        terms_of,
        partial: vec![0; constraints.len()],
        open_at,
        dead: std::collections::HashSet::new(),
    };
    let last_token_index = run.tokens.len() - 1;
    let token_end = last_token.end;
    for start in (last_token.start..token_end).rev() {
        let suffix = &run.symbols[start..token_end];
        let mut whole = None;
        for_each_lexeme(suffix, last_kind, &limits.caps, |len, value| {
            if len == suffix.len() {
                whole = Some(value);
            }
            true
        });
        let Some(value) = whole else { continue };
        let bytes = run.byte_range(start..token_end);
        search.last = Lexeme {
            value,
            start: bytes.start,
            end: bytes.end,
        };
        search.prefix_len = start;
        search.prefix_tokens = if start > last_token.start {
            last_token_index + 1
        } else {
            last_token_index
        };
        // The running sums start from the constants and the last cell's share.
        let mut fits = true;
        for (c, constraint) in constraints.iter().enumerate() {
            match constraint.constant.at_scale(scale) {
                Some(k) => search.partial[c] = -k,
                None => fits = false,
            }
        }
        if fits && search.apply(last, value, 1) && search.complete_hold(check_last.iter().copied())
        {
            search.search(0, 0, 0);
        }
        if search.aborted {
            return Ok((Outcome::TooMany, search.steps));
        }
    }
    let mut found = search.found;
    found.sort_by(|a, b| a.iter().map(|l| l.end).cmp(b.iter().map(|l| l.end)));
    Ok((Outcome::Found(found), search.steps))
}

/// The possible values of some variables: one row per decoding, one value per variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub vars: Vec<VarId>,
    pub decodings: Vec<Vec<Value>>,
}

struct CombineConstraint {
    constant: i128,
    /// Per domain in search order: the contribution of each decoding, at the common scale.
    contributions: Vec<Option<Vec<i128>>>,
    /// Per search depth: the least and most the domains from that depth on can still add.
    rest_min: Vec<i128>,
    rest_max: Vec<i128>,
}

/// Chooses one decoding per domain so that every constraint holds; returns every such choice
/// as the decoding index per domain (in the order of `domains`). A constraint that names a
/// variable of no domain is an error.
pub fn combine<D: Borrow<Domain>>(
    domains: &[D],
    constraints: &[Constraint],
    limits: Limits,
) -> Result<Outcome<Vec<usize>>, SolverError> {
    let domains: Vec<&Domain> = domains.iter().map(Borrow::borrow).collect();
    // Where each variable lives: sorted for binary search (no hashing on this hot path).
    let mut home: Vec<(VarId, usize, usize)> = domains
        .iter()
        .enumerate()
        .flat_map(|(d, domain)| {
            domain
                .vars
                .iter()
                .enumerate()
                .map(move |(p, &var)| (var, d, p))
        })
        .collect();
    home.sort_unstable_by_key(|h| h.0);
    if let Some(w) = home.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(SolverError::VariableInTwoRuns(w[0].0.0));
    }
    let locate = |var: VarId| {
        home.binary_search_by_key(&var, |h| h.0)
            .ok()
            .map(|i| (home[i].1, home[i].2))
    };
    if domains.iter().any(|d| d.decodings.is_empty()) {
        return Ok(Outcome::Found(Vec::new()));
    }
    // Small domains first: fixed rows settle the constraints before any branching.
    let mut order: Vec<usize> = (0..domains.len()).collect();
    order.sort_by_key(|&d| domains[d].decodings.len());
    let depth_of: Vec<usize> = {
        let mut v = vec![0; domains.len()];
        for (depth, &d) in order.iter().enumerate() {
            v[d] = depth;
        }
        v
    };

    let mut compiled = Vec::with_capacity(constraints.len());
    for c in constraints {
        let mut scale = c.constant.scale;
        for t in &c.terms {
            let (d, p) = locate(t.var).ok_or(SolverError::UnknownVariable(t.var.0))?;
            for dec in &domains[d].decodings {
                if let Some(v) = dec.get(p) {
                    scale = scale.max(v.scale);
                }
            }
        }
        let mut contributions: Vec<Option<Vec<i128>>> = vec![None; domains.len()];
        let mut overflow = false;
        for t in &c.terms {
            let Some((d, p)) = locate(t.var) else {
                continue;
            };
            let depth = depth_of[d];
            let slot =
                contributions[depth].get_or_insert_with(|| vec![0; domains[d].decodings.len()]);
            for (k, dec) in domains[d].decodings.iter().enumerate() {
                let term = dec
                    .get(p)
                    .and_then(|v| v.at_scale(scale))
                    .and_then(|v| v.checked_mul(i128::from(t.coef)))
                    .and_then(|v| slot[k].checked_add(v));
                match term {
                    Some(v) => slot[k] = v,
                    None => overflow = true,
                }
            }
        }
        let constant = c.constant.at_scale(scale);
        let (Some(constant), false) = (constant, overflow) else {
            // Values this large cannot come from capped lexemes; such a constraint cannot hold.
            return Ok(Outcome::Found(Vec::new()));
        };
        let mut rest_min = vec![0i128; domains.len() + 1];
        let mut rest_max = vec![0i128; domains.len() + 1];
        for depth in (0..domains.len()).rev() {
            let (lo, hi) = contributions[depth].as_ref().map_or((0, 0), |v| {
                (
                    v.iter().copied().min().unwrap_or(0),
                    v.iter().copied().max().unwrap_or(0),
                )
            });
            rest_min[depth] = rest_min[depth + 1].saturating_add(lo);
            rest_max[depth] = rest_max[depth + 1].saturating_add(hi);
        }
        compiled.push(CombineConstraint {
            constant,
            contributions,
            rest_min,
            rest_max,
        });
    }

    struct State<'a> {
        domains: &'a [&'a Domain],
        order: &'a [usize],
        constraints: &'a [CombineConstraint],
        partial: Vec<i128>,
        choice: Vec<usize>,
        found: Vec<Vec<usize>>,
        steps: u64,
        limits: Limits,
        aborted: bool,
    }

    fn search(s: &mut State<'_>, depth: usize) {
        if s.aborted {
            return;
        }
        s.steps += 1;
        if s.steps > s.limits.max_steps {
            s.aborted = true;
            return;
        }
        if depth == s.order.len() {
            if s.found.len() >= s.limits.max_solutions {
                s.aborted = true;
            } else {
                s.found.push(s.choice.clone());
            }
            return;
        }
        let d = s.order[depth];
        for k in 0..s.domains[d].decodings.len() {
            let mut fits = true;
            for (ci, c) in s.constraints.iter().enumerate() {
                let add = c.contributions[depth].as_ref().map_or(0, |v| v[k]);
                let partial = s.partial[ci] + add;
                if partial + c.rest_min[depth + 1] > c.constant
                    || partial + c.rest_max[depth + 1] < c.constant
                {
                    fits = false;
                    break;
                }
            }
            if !fits {
                continue;
            }
            for (ci, c) in s.constraints.iter().enumerate() {
                s.partial[ci] += c.contributions[depth].as_ref().map_or(0, |v| v[k]);
            }
            s.choice[d] = k;
            search(s, depth + 1);
            for (ci, c) in s.constraints.iter().enumerate() {
                s.partial[ci] -= c.contributions[depth].as_ref().map_or(0, |v| v[k]);
            }
            if s.aborted {
                return;
            }
        }
    }

    let mut state = State {
        domains: &domains,
        order: &order,
        constraints: &compiled,
        partial: vec![0; compiled.len()],
        choice: vec![0; domains.len()],
        found: Vec::new(),
        steps: 0,
        limits,
        aborted: false,
    };
    search(&mut state, 0);
    Ok(if state.aborted {
        Outcome::TooMany
    } else {
        Outcome::Found(state.found)
    })
}

/// A whole problem: variables, runs that give them values, constraints among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    kinds: Vec<ValueKind>,
    runs: Vec<(Run, Vec<VarId>)>,
    constraints: Vec<Constraint>,
}

/// One solution of a [`Problem`]: a lexeme per variable, indexed by [`VarId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    pub cells: Vec<Lexeme>,
}

impl Problem {
    pub fn new() -> Problem {
        Problem::default()
    }

    pub fn add_var(&mut self, kind: ValueKind) -> VarId {
        self.kinds.push(kind);
        VarId(u32::try_from(self.kinds.len() - 1).unwrap_or(u32::MAX))
    }

    /// `run` must be cut into exactly `vars`, in order.
    pub fn add_run(&mut self, run: Run, vars: &[VarId]) -> Result<(), SolverError> {
        for v in vars {
            if v.index() >= self.kinds.len() {
                return Err(SolverError::UnknownVariable(v.0));
            }
            if self.runs.iter().any(|(_, vs)| vs.contains(v)) {
                return Err(SolverError::VariableInTwoRuns(v.0));
            }
        }
        if vars.len() > MAX_RUN_CELLS {
            return Err(SolverError::TooManyCells {
                cells: vars.len(),
                max: MAX_RUN_CELLS,
            });
        }
        self.runs.push((run, vars.to_vec()));
        Ok(())
    }

    pub fn add_constraint(&mut self, constraint: Constraint) -> Result<(), SolverError> {
        if let Some(t) = constraint
            .terms
            .iter()
            .find(|t| t.var.index() >= self.kinds.len())
        {
            return Err(SolverError::UnknownVariable(t.var.0));
        }
        self.constraints.push(constraint);
        Ok(())
    }

    /// Every assignment of every variable that fits the runs and all constraints.
    pub fn solve(&self, limits: Limits) -> Result<Outcome<Solution>, SolverError> {
        let mut run_of = vec![None; self.kinds.len()];
        for (r, (_, vars)) in self.runs.iter().enumerate() {
            for (p, v) in vars.iter().enumerate() {
                run_of[v.index()] = Some((r, p));
            }
        }
        if let Some(v) = run_of.iter().position(Option::is_none) {
            return Err(SolverError::VariableWithoutRun(
                u32::try_from(v).unwrap_or(u32::MAX),
            ));
        }
        let run_of: Vec<(usize, usize)> = run_of.into_iter().flatten().collect();

        // Constraints inside one run are checked while cutting it; the others link runs.
        let mut local: Vec<Vec<Constraint>> = vec![Vec::new(); self.runs.len()];
        let mut linking = Vec::new();
        for c in &self.constraints {
            let mut runs = c.terms.iter().map(|t| run_of[t.var.index()].0);
            match runs.next() {
                Some(first) if runs.all(|r| r == first) => {
                    let terms = c
                        .terms
                        .iter()
                        .map(|t| Term {
                            var: VarId(u32::try_from(run_of[t.var.index()].1).unwrap_or(u32::MAX)),
                            coef: t.coef,
                        })
                        .collect();
                    local[first].push(Constraint {
                        terms,
                        constant: c.constant,
                    });
                }
                Some(_) => linking.push(c.clone()),
                // No terms: `0 = constant`.
                None => {
                    if c.constant.mantissa != 0 {
                        return Ok(Outcome::Found(Vec::new()));
                    }
                }
            }
        }

        let mut per_run = Vec::with_capacity(self.runs.len());
        for ((run, vars), local) in self.runs.iter().zip(&local) {
            let kinds: Vec<ValueKind> = vars.iter().map(|v| self.kinds[v.index()]).collect();
            match decode_run(run, &kinds, local, limits)? {
                Outcome::Found(d) if d.is_empty() => return Ok(Outcome::Found(Vec::new())),
                Outcome::Found(d) => per_run.push(d),
                Outcome::TooMany => return Ok(Outcome::TooMany),
            }
        }
        let domains: Vec<Domain> = self
            .runs
            .iter()
            .zip(&per_run)
            .map(|((_, vars), decodings)| Domain {
                vars: vars.clone(),
                decodings: decodings
                    .iter()
                    .map(|d| d.iter().map(|l| l.value).collect())
                    .collect(),
            })
            .collect();
        let choices = match combine(&domains, &linking, limits)? {
            Outcome::Found(c) => c,
            Outcome::TooMany => return Ok(Outcome::TooMany),
        };
        let solutions = choices
            .into_iter()
            .map(|choice| Solution {
                cells: run_of
                    .iter()
                    .map(|&(r, p)| per_run[r][choice[r]][p])
                    .collect(),
            })
            .collect();
        Ok(Outcome::Found(solutions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValueKind::{Amount, Count, SignedCount};

    fn values(outcome: &Outcome<Vec<Lexeme>>) -> Vec<Vec<String>> {
        outcome
            .solutions()
            .unwrap()
            .iter()
            .map(|s| s.iter().map(|l| l.value.to_decimal().to_string()).collect())
            .collect()
    }

    fn decode(text: &str, kinds: &[ValueKind], constraints: &[Constraint]) -> Outcome<Vec<Lexeme>> {
        decode_run(
            &Run::parse(text).unwrap(),
            kinds,
            constraints,
            Limits::DEFAULT,
        )
        .unwrap()
    }

    fn v(i: u32) -> VarId {
        VarId(i)
    }

    #[test]
    fn a_row_sum_makes_a_run_unique() {
        let kinds = [Count; 7];
        let total = Constraint::sum(&[v(0), v(1), v(2), v(3), v(4), v(5)], v(6));
        let out = decode("200 000121", &kinds, std::slice::from_ref(&total));
        assert_eq!(
            values(&out),
            vec![vec!["20", "0", "0", "0", "0", "1", "21"]]
        );
        // Without the sum the same run has several cuts.
        assert!(values(&decode("200 000121", &kinds, &[])).len() > 1);
    }

    #[test]
    fn ambiguous_runs_list_every_decoding() {
        let out = decode("350", &[Count, SignedCount], &[]);
        assert_eq!(values(&out), vec![vec!["3", "50"], vec!["35", "0"]]);
        let out = decode("898989", &[Count; 3], &[]);
        assert_eq!(values(&out).len(), 10);
    }

    #[test]
    fn infeasible_runs_have_no_decoding() {
        // Seven cells cannot come from five digits, nor a sum that never holds.
        assert_eq!(decode("12345", &[Count; 7], &[]), Outcome::Found(vec![]));
        let c = Constraint::sum(&[v(0)], v(1));
        assert_eq!(decode("12", &[Count; 2], &[c]), Outcome::Found(vec![]));
        // A sign where the cell is not signed.
        assert_eq!(decode("3-5", &[Count; 2], &[]), Outcome::Found(vec![]));
    }

    #[test]
    fn signs_start_negative_cells() {
        let out = decode("2648-18538", &[Count, SignedCount, Count], &[]);
        assert_eq!(
            values(&out),
            vec![
                vec!["2648", "-1", "8538"],
                vec!["2648", "-18", "538"],
                vec!["2648", "-185", "38"],
                vec!["2648", "-1853", "8"],
            ]
        );
        assert_eq!(
            values(&decode("35-15", &[Count, SignedCount], &[])),
            vec![vec!["35", "-15"]]
        );
    }

    #[test]
    fn decimals_belong_to_amounts_and_keep_their_digits() {
        let out = decode("39573802895.90", &[Count, Amount], &[]);
        let all = values(&out);
        assert_eq!(all.len(), 9);
        assert!(all.contains(&vec!["395".to_owned(), "73802895.90".to_owned()]));
        assert_eq!(
            values(&decode("24252.311082", &[Amount], &[])),
            vec![vec!["24252.311082"]]
        );
    }

    #[test]
    fn tokens_each_take_at_least_one_cell_and_cells_never_cross_spaces() {
        let kinds = [Count; 7];
        let total = Constraint::sum(&[v(0), v(1), v(2), v(3), v(4), v(5)], v(6));
        let out = decode("23 0 00 0 023", &kinds, &[total]);
        assert_eq!(
            values(&out),
            vec![vec!["23", "0", "0", "0", "0", "0", "23"]]
        );
        let out = decode("1 23", &[Count; 2], &[]);
        assert_eq!(values(&out), vec![vec!["1", "23"]]);
        // Three tokens cannot be two cells.
        assert_eq!(decode("1 2 3", &[Count; 2], &[]), Outcome::Found(vec![]));
        // Lexemes point at their bytes, spaces excluded.
        let out = decode("7 12", &[Count; 3], &[]);
        let first = &out.solutions().unwrap()[0];
        assert_eq!(
            first.iter().map(|l| (l.start, l.end)).collect::<Vec<_>>(),
            vec![(0, 1), (2, 3), (3, 4)]
        );
    }

    #[test]
    fn block_sums_split_a_table_four_run() {
        let kinds = [Count; 15];
        let blocks: Vec<Constraint> = (0..3)
            .map(|b| {
                let base = b * 5;
                Constraint::sum(
                    &[v(base), v(base + 1), v(base + 2), v(base + 3)],
                    v(base + 4),
                )
            })
            .collect();
        let out = decode("21317000001324019", &kinds, &blocks);
        assert_eq!(
            values(&out),
            vec![vec![
                "2", "1", "3", "1", "7", "0", "0", "0", "0", "0", "13", "2", "4", "0", "19"
            ]]
        );
    }

    #[test]
    fn hostile_runs_hit_the_work_bound_instead_of_hanging() {
        let text = "1".repeat(120);
        let run = Run::parse(&text).unwrap();
        let kinds = [Count; 60];
        let limits = Limits {
            max_steps: 10_000,
            ..Limits::DEFAULT
        };
        let started = std::time::Instant::now();
        assert_eq!(
            decode_run(&run, &kinds, &[], limits).unwrap(),
            Outcome::TooMany
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Too long for the cells' caps: rejected without search.
        let run = Run::parse(&"9".repeat(200)).unwrap();
        assert_eq!(
            decode_run(&run, &[Count; 7], &[], Limits::DEFAULT).unwrap(),
            Outcome::Found(vec![])
        );
        // Too many solutions.
        let limits = Limits {
            max_solutions: 5,
            ..Limits::DEFAULT
        };
        let run = Run::parse("898989").unwrap();
        assert_eq!(
            decode_run(&run, &[Count; 3], &[], limits).unwrap(),
            Outcome::TooMany
        );
    }

    #[test]
    fn long_rows_of_large_numbers_need_few_steps() {
        // A big agency's t3 row: 3161157, 2735, 52, 5508, 1159, 1, 1719 … whatever the cut,
        // the known total bounds every cell, so the search stays far below the table budget.
        let kinds = [Count; 7];
        let total = Constraint::sum(&[v(0), v(1), v(2), v(3), v(4), v(5)], v(6));
        for text in ["31611572735525508115911719", "2500030001050200174030000"] {
            let run = Run::parse(text).unwrap();
            let limits = Limits {
                max_steps: 5_000,
                ..Limits::DEFAULT
            };
            let out = decode_run(&run, &kinds, std::slice::from_ref(&total), limits).unwrap();
            assert!(
                out.solutions().is_some(),
                "{text} needed more than 5000 steps"
            );
        }
        // Twenty-eight nines leave the bounds little to cut; the default budget still ends it.
        let run = Run::parse(&"9".repeat(28)).unwrap();
        let out = decode_run(&run, &kinds, std::slice::from_ref(&total), Limits::DEFAULT);
        assert!(out.unwrap().solutions().is_some());
        let run = Run::parse("2500030001050200174030000").unwrap();
        let out = decode_run(&run, &kinds, &[total], Limits::DEFAULT).unwrap();
        assert!(values(&out).contains(&vec![
            "25000".to_owned(),
            "3000".into(),
            "10".into(),
            "50".into(),
            "200".into(),
            "1740".into(),
            "30000".into()
        ]));
    }

    #[test]
    fn column_constraints_link_runs() {
        // Two rows, each ambiguous alone; a column total fixes both (平潭 2021's shape).
        let mut p = Problem::new();
        let a: Vec<VarId> = (0..3).map(|_| p.add_var(Count)).collect();
        let b: Vec<VarId> = (0..3).map(|_| p.add_var(Count)).collect();
        p.add_run(Run::parse("11213").unwrap(), &a).unwrap();
        p.add_run(Run::parse("22325").unwrap(), &b).unwrap();
        p.add_constraint(Constraint::sum(&a[..2], a[2])).unwrap();
        p.add_constraint(Constraint::sum(&b[..2], b[2])).unwrap();
        let both = p.solve(Limits::DEFAULT).unwrap();
        assert_eq!(both.solutions().unwrap().len(), 4);
        // Column 0 must add up to 33: only 11 + 22.
        p.add_constraint(Constraint {
            terms: vec![Term { var: a[0], coef: 1 }, Term { var: b[0], coef: 1 }],
            constant: Value::integer(33),
        })
        .unwrap();
        let out = p.solve(Limits::DEFAULT).unwrap();
        let sols = out.solutions().unwrap();
        assert_eq!(sols.len(), 1);
        let got: Vec<i64> = sols[0].cells.iter().map(|l| l.value.mantissa).collect();
        assert_eq!(got, vec![11, 2, 13, 22, 3, 25]);
    }

    #[test]
    fn problems_reject_malformed_input() {
        let mut p = Problem::new();
        let a = p.add_var(Count);
        assert!(matches!(
            p.solve(Limits::DEFAULT),
            Err(SolverError::VariableWithoutRun(0))
        ));
        assert!(matches!(
            Run::parse("12a"),
            Err(SolverError::UnexpectedCharacter { character: 'a', .. })
        ));
        p.add_run(Run::parse("1").unwrap(), &[a]).unwrap();
        assert!(p.add_run(Run::parse("2").unwrap(), &[a]).is_err());
        assert!(p.add_constraint(Constraint::sum(&[VarId(9)], a)).is_err());
    }
}
