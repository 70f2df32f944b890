//! Reading one flattened table: rows located by their labels, runs cut by the solver under the
//! format's arithmetic rules, the result written into a [`Table`] of the template's shape.
//!
//! The decoding policy (see the crate documentation for the reasons) is:
//!
//! 1. Each run is decoded with the rules local to it: T3-ROW-TOTAL for a t3 row, T4-TOTAL for
//!    each t4 block the run covers; t2 has no arithmetic rule. A local rule that no decoding
//!    satisfies is dropped (the published row breaks it); when a run has several, they are
//!    admitted one by one in table order and each kept only if some decoding still fits.
//! 2. Only t3 rows that are still ambiguous bring in the column rules: T3-BALANCE per column,
//!    then T3-RESULTS per column, each admitted only if it touches an ambiguous row and some
//!    combination of the rows' decodings still satisfies it together with the rules admitted
//!    before it. Rows that are already unique take part as fixed values; a rule that the
//!    fixed rows alone break is never used to choose anything.
//! 3. A cell whose value is the same in every remaining decoding is a number; the others are
//!    `ambiguous` with every value they take, and the run is listed as an [`Ambiguity`] with
//!    all its decodings.

use crate::FlatTable;
use crate::scan::{Locator, NumberRun, find_keyword, number_runs};
use crate::solver::{Constraint, Lexeme, Limits, Outcome, Run, VarId, decode_run_counted};
use gongkai_model::schema::{self, RowSpec, T3_TOTAL_COLUMN};
use gongkai_model::{
    Ambiguity, AmbiguityKind, Cell, Decimal, Position, TableId, Template, ValueKind,
};
use std::sync::LazyLock;

/// The words of t4's header: the flat 15-number run comes after the last of them.
const T4_HEADER_WORDS: [&str; 10] = [
    "行政复议",
    "行政诉讼",
    "未经复议",
    "直接起诉",
    "复议后起诉",
    "结果维持",
    "结果纠正",
    "其他结果",
    "尚未审结",
    "总计",
];

/// How many following rows are looked for before accepting a row's label: a label found after
/// the next row's label is a word elsewhere (`其他` beyond `（七）总计`), not this row. Only the
/// next row: generic keywords of rows further on (`其他` of `3.其他`) also occur in the labels in
/// between (`（六）其他处理`) and would hide rows that are there.
const LOOKAHEAD_ROWS: usize = 1;

/// A run and the cells it must be cut into.
struct Segment<'t> {
    text: &'t str,
    start: usize,
    unit: Option<&'static str>,
    /// (row index in the template, column index) of each cell, in printed order.
    cells: Vec<(usize, usize)>,
    kinds: Vec<ValueKind>,
    /// Local rules, in admission order, over the segment's cell indices.
    rules: &'static [Constraint],
    outcome: Outcome<Vec<Lexeme>>,
}

pub(crate) fn read(
    text: &str,
    origin: Position,
    table: TableId,
    template: Template,
) -> Option<FlatTable> {
    let rows = schema::rows(template, table);
    if rows.is_empty() {
        return None;
    }
    let runs = number_runs(text);
    let limits = Limits {
        max_steps: crate::RUN_STEP_BUDGET,
        ..Limits::DEFAULT
    };
    let mut budget = Budget {
        left: crate::TABLE_STEP_BUDGET,
        used: 0,
    };

    let mut segments = match table {
        TableId::T4 => t4_segments(text, rows, &runs),
        TableId::T2 | TableId::T3 => row_segments(text, rows, &runs),
    }?;

    for segment in &mut segments {
        segment.outcome = decode_with_admission(segment, limits, &mut budget);
    }
    if table == TableId::T3 {
        resolve_with_columns(&mut segments, rows, template, limits);
    }
    let mut flat = fill(text, origin, table, rows, &segments);
    flat.steps = budget.used;
    Some(flat)
}

/// The search steps left to one table's runs, shared by all of them, and those spent.
struct Budget {
    left: u64,
    used: u64,
}

impl Budget {
    /// Decodes within what is left of the budget (and the per-run bound); a run met with the
    /// budget spent is too many to enumerate, like one that exhausts it.
    fn decode(
        &mut self,
        run: &Run,
        kinds: &[ValueKind],
        rules: &[Constraint],
        limits: Limits,
    ) -> Outcome<Vec<Lexeme>> {
        if self.left == 0 {
            return Outcome::TooMany;
        }
        let limits = Limits {
            max_steps: limits.max_steps.min(self.left),
            ..limits
        };
        let (outcome, steps) = decode_run_counted(run, kinds, rules, limits)
            .unwrap_or((Outcome::Found(Vec::new()), 0));
        let steps = steps.min(limits.max_steps);
        self.left -= steps;
        self.used += steps;
        outcome
    }
}

/// Locates every row label in order and takes the run that follows it. `None` when no row of
/// the table is found at all.
fn row_segments<'t>(
    text: &'t str,
    rows: &[RowSpec],
    runs: &[NumberRun],
) -> Option<Vec<Segment<'t>>> {
    let hits = locate_rows(text, rows, runs);
    if hits.iter().all(Option::is_none) {
        return None;
    }
    // The run after each label, up to the next label found.
    let next_start = |i: usize| {
        hits.iter()
            .skip(i + 1)
            .flatten()
            .next()
            .map_or(text.len(), |&(s, _)| s)
    };
    let mut run_of_row: Vec<Option<&NumberRun>> = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            let (_, label_end) = (*hit)?;
            let limit = next_start(i);
            runs.iter()
                .find(|r| r.start >= label_end && r.start < limit)
        })
        .collect();
    // A row whose label was misprinted (`其他法律行政止公开`) between two rows that were found:
    // when the gap holds exactly the previous row's run and one more, the second is this row's.
    for i in 1..rows.len().saturating_sub(1) {
        let (Some((_, before_end)), None, Some((after_start, _))) =
            (hits[i - 1], hits[i], hits[i + 1])
        else {
            continue;
        };
        let mut gap = runs
            .iter()
            .filter(|r| r.start >= before_end && r.start < after_start);
        let (Some(first), Some(second), None) = (gap.next(), gap.next(), gap.next()) else {
            continue;
        };
        if run_of_row[i - 1].is_some_and(|r| r == first) && second.could_hold(rows[i].columns.len())
        {
            run_of_row[i] = Some(second);
        }
    }
    let mut segments = Vec::new();
    for (i, run) in run_of_row.iter().enumerate() {
        let Some(run) = *run else { continue };
        let row = &rows[i];
        let cells: Vec<(usize, usize)> = (0..row.columns.len()).map(|c| (i, c)).collect();
        let kinds = row.columns.iter().map(|c| c.kind).collect();
        let rules: &'static [Constraint] = if row.columns == schema::T3_COLUMNS {
            &T3_ROW_RULES[..]
        } else if row.columns == schema::T4_COLUMNS {
            &T4_BLOCK_RULES[..1]
        } else {
            &[]
        };
        segments.push(segment(text, run, cells, kinds, rules));
    }
    Some(segments)
}

fn segment<'t>(
    text: &'t str,
    run: &NumberRun,
    cells: Vec<(usize, usize)>,
    kinds: Vec<ValueKind>,
    rules: &'static [Constraint],
) -> Segment<'t> {
    Segment {
        text: text.get(run.start..run.end).unwrap_or(""),
        start: run.start,
        unit: run.unit,
        cells,
        kinds,
        rules,
        outcome: Outcome::Found(Vec::new()),
    }
}

/// T3-ROW-TOTAL over one row's seven cells.
static T3_ROW_RULES: LazyLock<[Constraint; 1]> = LazyLock::new(|| [row_total(0, T3_TOTAL_COLUMN)]);

/// T4-TOTAL for each of the three blocks of t4 printed as one run of fifteen cells; the first
/// alone serves a block printed after its own label.
static T4_BLOCK_RULES: LazyLock<[Constraint; 3]> =
    LazyLock::new(|| [row_total(0, 4), row_total(5, 4), row_total(10, 4)]);

/// `cells[first..first+total) sum to cells[first+total]` in segment-local indices.
fn row_total(first: usize, total: usize) -> Constraint {
    let parts: Vec<VarId> = (first..first + total).map(local).collect();
    Constraint::sum(&parts, local(first + total))
}

fn local(i: usize) -> VarId {
    VarId(u32::try_from(i).unwrap_or(u32::MAX))
}

/// A byte range of the section text.
type Span = (usize, usize);

/// The byte range of each row's label, in template order; `None` for rows not printed.
fn locate_rows(text: &str, rows: &[RowSpec], runs: &[NumberRun]) -> Vec<Option<(usize, usize)>> {
    // The first label of each row at or after some offset, remembered: the search for row
    // i + 1 made while placing row i answers most later questions about row i + 1.
    let mut memo: Vec<Option<(usize, Option<Span>)>> = vec![None; rows.len()];
    let mut first_hit = |i: usize, from: usize| -> Option<(usize, usize)> {
        if let Some(Some((searched, found))) = memo.get(i)
            && *searched <= from
            && found.is_none_or(|(s, _)| s >= from)
        {
            return *found;
        }
        let found = rows.get(i).and_then(|row| {
            row.keywords
                .iter()
                .filter_map(|k| find_keyword(text, from, k))
                .min_by_key(|&(s, _)| s)
        });
        if let Some(slot) = memo.get_mut(i) {
            *slot = Some((from, found));
        }
        found
    };
    let mut hits = vec![None; rows.len()];
    let mut cursor = 0;
    for (i, row) in rows.iter().enumerate() {
        let mut from = cursor;
        let mut chosen = None;
        let mut fallback = None;
        // A few occurrences are tried: prose before the table may mention a label with a
        // number that cannot be the row (`新收申请21件`), the table's own label follows.
        for _ in 0..4 {
            let Some(hit) = first_hit(i, from) else {
                break;
            };
            let later_row_first = (i + 1..(i + 1 + LOOKAHEAD_ROWS).min(rows.len()))
                .filter_map(|j| first_hit(j, cursor))
                .any(|(s, _)| s < hit.0);
            if later_row_first {
                break;
            }
            fallback.get_or_insert(hit);
            let next_label = first_hit(i + 1, hit.1).map_or(text.len(), |(s, _)| s);
            let fits = runs
                .iter()
                .find(|r| r.start >= hit.1)
                .is_some_and(|r| r.start < next_label && r.could_hold(row.columns.len()));
            if fits {
                chosen = Some(hit);
                break;
            }
            from = hit.1;
        }
        if let Some(hit) = chosen.or(fallback) {
            hits[i] = Some(hit);
            cursor = hit.1;
        }
    }
    hits
}

/// t4 either as three labelled rows each followed by its five numbers, or, as web dumps print
/// it, the whole header and then one run of fifteen numbers.
fn t4_segments<'t>(
    text: &'t str,
    rows: &[RowSpec],
    runs: &[NumberRun],
) -> Option<Vec<Segment<'t>>> {
    let columns = schema::T4_COLUMNS.len();
    let by_rows = row_segments(text, rows, runs).unwrap_or_default();
    let labelled = by_rows
        .iter()
        .filter(|s| Run::parse(s.text).is_ok_and(|r| r.could_hold(columns)))
        .count();
    if labelled >= 2 {
        return Some(by_rows);
    }
    let header_end = T4_HEADER_WORDS
        .iter()
        .filter_map(|w| {
            let mut last = None;
            let mut from = 0;
            while let Some((_, e)) = find_keyword(text, from, w) {
                last = Some(e);
                from = e;
            }
            last
        })
        .max();
    let total_cells = rows.len() * columns;
    let flat = runs
        .iter()
        .find(|r| r.start >= header_end.unwrap_or(0) && r.could_hold(total_cells));
    match flat {
        Some(run) => {
            let cells = (0..rows.len())
                .flat_map(|r| (0..columns).map(move |c| (r, c)))
                .collect();
            let kinds = vec![ValueKind::Count; total_cells];
            let rules = T4_BLOCK_RULES.get(..rows.len()).unwrap_or(&[]);
            Some(vec![segment(text, run, cells, kinds, rules)])
        }
        None if header_end.is_some() || !by_rows.is_empty() => Some(by_rows),
        None => None,
    }
}

/// Decodes a segment with as many of its local rules as some decoding satisfies.
fn decode_with_admission(
    segment: &Segment<'_>,
    limits: Limits,
    budget: &mut Budget,
) -> Outcome<Vec<Lexeme>> {
    let Ok(run) = Run::parse(segment.text) else {
        return Outcome::Found(Vec::new());
    };
    if segment.rules.len() == T4_BLOCK_RULES.len() && segment.kinds.len() == 15 {
        let mut decode = |admitted: [bool; 3], limits: Limits| {
            decode_by_blocks(segment.text, &segment.kinds, admitted, limits, budget)
        };
        let all = decode([true; 3], limits);
        if all.is_feasible() {
            return all;
        }
        let mut admitted = [false; 3];
        for b in 0..admitted.len() {
            admitted[b] = true;
            // Feasible, or too much work to tell: kept (the final decoding then says which).
            admitted[b] = decode(admitted, limits.first_only()).is_feasible();
        }
        return decode(admitted, limits);
    }
    let mut decode =
        |rules: &[Constraint], limits: Limits| budget.decode(&run, &segment.kinds, rules, limits);
    let all = decode(segment.rules, limits);
    if all.is_feasible() || segment.rules.is_empty() {
        return all;
    }
    let mut admitted: Vec<Constraint> = Vec::new();
    for rule in segment.rules {
        admitted.push(rule.clone());
        // With `first_only`, more than one decoding comes back as `TooMany`: still feasible.
        if !decode(&admitted, limits.first_only()).is_feasible() {
            admitted.pop();
        }
    }
    decode(&admitted, limits)
}

/// t4 printed as one run of fifteen numbers under the T4-TOTAL rules of the `admitted` blocks,
/// as a dynamic
/// programme over the two block boundaries: each block is a run of five cells whose first four
/// sum to the fifth, decoded once per (start, end) that the neighbouring blocks leave possible
/// (the first block starts at the run's start, the last ends at its end), so the work grows
/// with the square of the run's length instead of with the product of the blocks' choices.
/// Every decoding of the whole run is the concatenation of one decoding per block. With
/// `limits.max_solutions` of one (a feasibility test) it stops at the first decoding.
fn decode_by_blocks(
    text: &str,
    kinds: &[ValueKind],
    admitted: [bool; 3],
    limits: Limits,
    budget: &mut Budget,
) -> Outcome<Vec<Lexeme>> {
    let wanted = limits.max_solutions;
    // Each block is listed in full: the count that matters is that of the whole run.
    let limits = Limits {
        max_solutions: Limits::DEFAULT.max_solutions,
        ..limits
    };
    const CELLS: usize = 5;
    // Byte offset of every place a block may start or end: before each symbol, and the end.
    let mut cuts: Vec<usize> = text
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, _)| i)
        .collect();
    let symbols = cuts.len();
    cuts.push(text.len());
    if symbols < 3 * CELLS {
        return Outcome::Found(Vec::new());
    }
    let rule = std::slice::from_ref(&T4_BLOCK_RULES[0]);
    let rules_of = |b: usize| if admitted[b] { rule } else { &[] };
    let mut too_many = false;
    // Decodings of block `b` over symbols [s, e), offsets made relative to the whole run.
    let mut block = |b: usize, s: usize, e: usize, budget: &mut Budget| -> Vec<Vec<Lexeme>> {
        let (Some(&from), Some(&to)) = (cuts.get(s), cuts.get(e)) else {
            return Vec::new();
        };
        let Some(Ok(run)) = text.get(from..to).map(Run::parse) else {
            return Vec::new();
        };
        let block_kinds = kinds.get(b * CELLS..(b + 1) * CELLS).unwrap_or(&[]);
        match budget.decode(&run, block_kinds, rules_of(b), limits) {
            Outcome::Found(found) => found
                .into_iter()
                .map(|d| {
                    d.into_iter()
                        .map(|l| Lexeme {
                            start: l.start + u32::try_from(from).unwrap_or(u32::MAX),
                            end: l.end + u32::try_from(from).unwrap_or(u32::MAX),
                            ..l
                        })
                        .collect()
                })
                .collect(),
            Outcome::TooMany => {
                too_many = true;
                Vec::new()
            }
        }
    };
    let first: Vec<(usize, Vec<Vec<Lexeme>>)> = (CELLS..=symbols - 2 * CELLS)
        .map(|e| (e, block(0, 0, e, budget)))
        .filter(|(_, d)| !d.is_empty())
        .collect();
    if first.is_empty() {
        // Nothing for the first block: the others need not be cut at all.
        return if too_many {
            Outcome::TooMany
        } else {
            Outcome::Found(Vec::new())
        };
    }
    let third: Vec<(usize, Vec<Vec<Lexeme>>)> = (2 * CELLS..=symbols - CELLS)
        .map(|s| (s, block(2, s, symbols, budget)))
        .filter(|(_, d)| !d.is_empty())
        .collect();
    let mut found: Vec<Vec<Lexeme>> = Vec::new();
    for (s, first_decodings) in &first {
        for (e, third_decodings) in &third {
            if e < s || e - s < CELLS {
                continue;
            }
            let second = block(1, *s, *e, budget);
            let count = first_decodings.len() * second.len() * third_decodings.len();
            if wanted == 1 && count > 0 {
                let (a, m, z) = (&first_decodings[0], &second[0], &third_decodings[0]);
                return Outcome::Found(vec![a.iter().chain(m).chain(z).copied().collect()]);
            }
            if found.len().saturating_add(count) > wanted {
                return Outcome::TooMany;
            }
            for a in first_decodings {
                for m in &second {
                    for z in third_decodings {
                        found.push(a.iter().chain(m).chain(z).copied().collect());
                    }
                }
            }
        }
    }
    if too_many {
        return Outcome::TooMany;
    }
    found.sort_by(|a, b| a.iter().map(|l| l.end).cmp(b.iter().map(|l| l.end)));
    Outcome::Found(found)
}

/// The distinct values of one cell over a segment's decodings, in order of appearance.
fn distinct_values(decodings: &[Vec<Lexeme>], cell: usize) -> Vec<Decimal> {
    // Compared as printed (mantissa and scale), converted once: `Decimal` equality is slow.
    let mut seen: Vec<crate::lexeme::Value> = Vec::new();
    for d in decodings {
        if let Some(l) = d.get(cell)
            && !seen.contains(&l.value)
        {
            seen.push(l.value);
        }
    }
    seen.into_iter()
        .map(crate::lexeme::Value::to_decimal)
        .collect()
}

/// Step 2 of the policy: column rules for the t3 rows that are still ambiguous. Rows with one
/// decoding enter the rules as constants, so the search runs over the ambiguous rows only.
fn resolve_with_columns(
    segments: &mut [Segment<'_>],
    rows: &[RowSpec],
    template: Template,
    limits: Limits,
) {
    let decodings_of = |s: &Segment<'_>| match &s.outcome {
        Outcome::Found(d) if !d.is_empty() => Some(d.len()),
        _ => None,
    };
    if !segments
        .iter()
        .any(|s| decodings_of(s).is_some_and(|n| n > 1))
    {
        return;
    }
    let columns = schema::T3_COLUMNS.len();
    let row_index = |key: &str| rows.iter().position(|r| r.key == key);
    // The segment holding each row, if the row was decoded at all.
    let mut segment_of_row = vec![None; rows.len()];
    for (s, seg) in segments.iter().enumerate() {
        if decodings_of(seg).is_some()
            && let Some(&(r, _)) = seg.cells.first()
        {
            segment_of_row[r] = Some(s);
        }
    }

    // The rules in admission order, each as (row, coefficient) terms for one column.
    let balance: Option<Vec<(usize, i64)>> = [
        ("new_received", 1),
        ("carried_over", 1),
        ("total_processed", -1),
        ("carried_forward", -1),
    ]
    .iter()
    .map(|&(k, coef)| row_index(k).map(|r| (r, coef)))
    .collect();
    let alternatives = [
        "other_handling",
        "other_overdue_correction",
        "other_overdue_fee",
        "other_other",
    ];
    let results: Option<Vec<(usize, i64)>> = row_index("total_processed").map(|total| {
        schema::t3_result_rows(template)
            .iter()
            .filter_map(|r| row_index(r.key))
            // In a mixed report only the （六） rows it printed count.
            .filter(|&r| {
                template != Template::Mixed
                    || !alternatives.contains(&rows[r].key)
                    || segment_of_row[r].is_some()
            })
            .map(|r| (r, 1))
            .chain(std::iter::once((total, -1)))
            .collect()
    });

    // The ambiguous rows are the unknowns; every rule is checked on every combination of
    // their decodings that the rules admitted so far allow. With the few ambiguous rows of a
    // real table (two of two decodings each in 平潭 2021 and 2023) this is a handful of sums;
    // a rule that would multiply the combinations beyond the work bound is left out.
    let mut unknown_of_segment = vec![None; segments.len()];
    let mut unknowns: Vec<usize> = Vec::new(); // segment index of each unknown
    for (s, seg) in segments.iter().enumerate() {
        if decodings_of(seg).is_some_and(|n| n > 1) {
            unknown_of_segment[s] = Some(unknowns.len());
            unknowns.push(s);
        }
    }
    let decoded = |s: usize, k: usize, column: usize| -> i64 {
        match &segments[s].outcome {
            Outcome::Found(d) => d
                .get(k)
                .and_then(|dec| dec.get(column))
                .map_or(0, |l| l.value.mantissa),
            Outcome::TooMany => 0,
        }
    };
    // `involved[i]` is an unknown; each combination holds one decoding index per involved one.
    let mut involved: Vec<usize> = Vec::new();
    let mut combinations: Vec<Vec<usize>> = vec![Vec::new()];
    let mut admitted_any = false;
    for terms in [balance, results].iter().flatten() {
        for column in 0..columns {
            // A rule needs every row it names decoded, and is of use only if one is ambiguous.
            let Some(used) = terms
                .iter()
                .map(|&(r, coef)| segment_of_row[r].map(|s| (s, coef)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let mut constant: i64 = 0;
            let mut variable: Vec<(usize, i64)> = Vec::new(); // (unknown, coefficient)
            let mut overflow = false;
            for &(s, coef) in &used {
                match unknown_of_segment[s] {
                    Some(u) => variable.push((u, coef)),
                    None => match decoded(s, 0, column)
                        .checked_mul(coef)
                        .and_then(|v| constant.checked_sub(v))
                    {
                        Some(c) => constant = c,
                        None => overflow = true,
                    },
                }
            }
            if overflow || variable.is_empty() {
                continue;
            }
            let mut with = involved.clone();
            for &(u, _) in &variable {
                if !with.contains(&u) {
                    with.push(u);
                }
            }
            // Extend the combinations over the unknowns this rule brings in.
            let mut extended = combinations.clone();
            let mut too_many = false;
            for &u in &with[involved.len()..] {
                let n = decodings_of(&segments[unknowns[u]]).unwrap_or(0);
                if extended.len().saturating_mul(n) > limits.max_solutions {
                    too_many = true;
                    break;
                }
                extended = extended
                    .iter()
                    .flat_map(|c| {
                        (0..n).map(move |k| {
                            let mut next = c.clone();
                            next.push(k);
                            next
                        })
                    })
                    .collect();
            }
            if too_many {
                continue;
            }
            extended.retain(|combination| {
                let sum = variable.iter().try_fold(0i64, |acc, &(u, coef)| {
                    let at = with.iter().position(|&w| w == u)?;
                    let k = *combination.get(at)?;
                    decoded(unknowns[u], k, column)
                        .checked_mul(coef)
                        .and_then(|v| acc.checked_add(v))
                });
                sum == Some(constant)
            });
            if !extended.is_empty() {
                involved = with;
                combinations = extended;
                admitted_any = true;
            }
        }
    }
    if !admitted_any {
        return;
    }
    for (at, &u) in involved.iter().enumerate() {
        let s = unknowns[u];
        if let Outcome::Found(decodings) = &mut segments[s].outcome {
            let mut k = 0;
            decodings.retain(|_| {
                let keep = combinations.iter().any(|c| c.get(at) == Some(&k));
                k += 1;
                keep
            });
        }
    }
}

/// Writes the decoded segments into a table of the template's shape.
fn fill(
    text: &str,
    origin: Position,
    table: TableId,
    rows: &[RowSpec],
    segments: &[Segment<'_>],
) -> FlatTable {
    // Cells by index first, the keyed table once at the end: one hash per key, not three.
    let mut grid: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| vec![Cell::missing(); r.columns.len()])
        .collect();
    let mut ambiguities = Vec::new();
    let mut locator = Locator::new(text, &origin);
    let slice = |s: &Segment<'_>, l: &Lexeme| -> String {
        let start = l.start as usize;
        let end = l.end as usize;
        s.text.get(start..end).unwrap_or("").to_owned()
    };
    for seg in segments {
        let key = |&(r, c): &(usize, usize)| -> (&'static str, &'static str) {
            let row = &rows[r];
            (row.key, row.columns.get(c).map_or("", |col| col.key))
        };
        let unit_for = |i: usize, lexeme_end: Option<u32>| -> Option<&'static str> {
            let unit = seg.unit?;
            let is_amount = seg.kinds.get(i) == Some(&ValueKind::Amount);
            let at_end = lexeme_end.is_none_or(|e| e as usize == seg.text.len());
            (is_amount && at_end).then_some(unit)
        };
        let mut put = |&(r, c): &(usize, usize), cell: Cell| {
            if let Some(slot) = grid.get_mut(r).and_then(|row| row.get_mut(c)) {
                *slot = cell;
            }
        };
        match &seg.outcome {
            Outcome::Found(decodings) if decodings.is_empty() => {
                // Digits that no cut fits (too few, too many, a stray sign): nothing can be
                // read, the cells stay missing rather than invented.
            }
            Outcome::Found(decodings) => {
                let run_position = locator.position(seg.start);
                for (i, cell_ref) in seg.cells.iter().enumerate() {
                    let first = decodings[0][i];
                    let agreed = decodings.iter().all(|d| {
                        d[i].start == first.start
                            && d[i].end == first.end
                            && d[i].value == first.value
                    });
                    let cell = if agreed {
                        let mut printed = slice(seg, &first);
                        let unit = unit_for(i, Some(first.end));
                        if let Some(u) = unit {
                            printed.push_str(u);
                        }
                        let position = locator.position(seg.start + first.start as usize);
                        let cell = Cell::number(first.value.to_decimal(), printed, Some(position));
                        match unit {
                            Some(u) => cell.with_unit(u),
                            None => cell,
                        }
                    } else {
                        let same_start = decodings.iter().all(|d| d[i].start == first.start);
                        let position = if same_start {
                            locator.position(seg.start + first.start as usize)
                        } else {
                            run_position.clone()
                        };
                        let cell = Cell::ambiguous(
                            seg.text,
                            distinct_values(decodings, i),
                            Some(position),
                        );
                        match unit_for(i, None) {
                            Some(u) => cell.with_unit(u),
                            None => cell,
                        }
                    };
                    put(cell_ref, cell);
                }
                if decodings.len() > 1 {
                    ambiguities.push(Ambiguity {
                        table,
                        kind: AmbiguityKind::Digits,
                        text: seg.text.to_owned(),
                        cells: seg
                            .cells
                            .iter()
                            .map(|c| {
                                let (r, col) = key(c);
                                format!("{r}.{col}")
                            })
                            .collect(),
                        decodings: decodings
                            .iter()
                            .map(|d| d.iter().map(|l| l.value.to_decimal()).collect())
                            .collect(),
                        position: Some(run_position),
                    });
                }
            }
            Outcome::TooMany => {
                // More decodings than can be listed: every cell is ambiguous and the run is
                // reported with an empty list of decodings (too many to enumerate).
                let run_position = locator.position(seg.start);
                for (i, cell_ref) in seg.cells.iter().enumerate() {
                    let cell = Cell::ambiguous(seg.text, Vec::new(), Some(run_position.clone()));
                    let cell = match unit_for(i, None) {
                        Some(u) => cell.with_unit(u),
                        None => cell,
                    };
                    put(cell_ref, cell);
                }
                ambiguities.push(Ambiguity {
                    table,
                    kind: AmbiguityKind::Digits,
                    text: seg.text.to_owned(),
                    cells: seg
                        .cells
                        .iter()
                        .map(|c| {
                            let (r, col) = key(c);
                            format!("{r}.{col}")
                        })
                        .collect(),
                    decodings: Vec::new(),
                    position: Some(run_position),
                });
            }
        }
    }
    let table = rows
        .iter()
        .zip(grid)
        .map(|(row, cells)| {
            let cells = row
                .columns
                .iter()
                .zip(cells)
                .map(|(c, cell)| (c.key.to_owned(), cell))
                .collect();
            (row.key.to_owned(), cells)
        })
        .collect();
    FlatTable {
        table,
        ambiguities,
        steps: 0,
    }
}
