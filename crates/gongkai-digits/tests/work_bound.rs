//! The work of decoding is bounded per table, whatever the text: hostile runs (one digit
//! repeated, hundreds of digits, signs and points everywhere) cost at most
//! [`TABLE_STEP_BUDGET`] search steps and never panic, and realistic long runs (t4 printed as
//! one run of fifteen numbers) decode well within it. Work is counted in steps, never timed.

// Helpers outside `#[test]` functions unwrap too: a broken fixture should fail the test loudly.
#![allow(clippy::unwrap_used)]

use gongkai_digits::{
    Constraint, Limits, Outcome, RUN_STEP_BUDGET, Run, TABLE_STEP_BUDGET, VarId,
    decode_run_counted, read_flattened_table,
};
use gongkai_model::schema::{self, T4_COLUMNS, T4_ROWS};
use gongkai_model::{CellState, Decimal, Position, TableId, Template, ValueKind};
use proptest::prelude::*;

fn origin() -> Position {
    Position::Line { line: 1, column: 1 }
}

/// Every t3 row label of F2021 followed by the same run (QA's fuzz input has one in every row).
fn t3_with_runs(run: &str) -> String {
    let mut text = String::new();
    for row in schema::rows(Template::F2021, TableId::T3) {
        text.push_str(row.label);
        text.push_str(run);
        text.push('\n');
    }
    text
}

fn t4_flat(run: &str) -> String {
    format!(
        "行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计{run}"
    )
}

/// Decodes and checks the work bound and the shape of what comes back.
fn bounded(text: &str, table: TableId) -> gongkai_digits::FlatTable {
    let flat = read_flattened_table(text, origin(), table, Template::F2021).unwrap();
    assert!(
        flat.steps <= TABLE_STEP_BUDGET,
        "{} steps for {table}",
        flat.steps
    );
    for a in &flat.ambiguities {
        // Listed decodings, or none at all when too many to enumerate.
        for d in &a.decodings {
            assert_eq!(d.len(), a.cells.len());
        }
    }
    flat
}

#[test]
fn repeated_digits_in_every_t3_row_stay_within_the_table_budget() {
    for len in [43, 45, 49] {
        let flat = bounded(&t3_with_runs(&"2".repeat(len)), TableId::T3);
        // No cut of `22…2` into six counts sums to a `22…2` total: nothing is decoded, and
        // nothing is invented.
        for row in flat.table.values() {
            for cell in row.values() {
                assert!(
                    matches!(cell.state, CellState::Missing | CellState::Ambiguous),
                    "{cell:?}"
                );
                assert!(cell.value.is_none());
            }
        }
    }
}

#[test]
fn long_and_malformed_runs_stay_within_the_table_budget() {
    let runs = [
        "1234567890".repeat(20),
        "2".repeat(200),
        "1.2-3+4.5".repeat(12),
        "-+.,".repeat(30),
        "0".repeat(120),
        "9 9 9 9 9 99999 9 9 99 9".repeat(4),
    ];
    for run in &runs {
        bounded(&t3_with_runs(run), TableId::T3);
        bounded(&t4_flat(run), TableId::T4);
        bounded(&format!("规范性文件{run}"), TableId::T2);
    }
}

#[test]
fn one_run_never_takes_more_than_its_limit() {
    let run = Run::parse(&"2".repeat(49)).unwrap();
    let kinds = [ValueKind::Count; 7];
    let parts: Vec<VarId> = (0..6).map(VarId).collect();
    let total = [Constraint::sum(&parts, VarId(6))];
    let limits = Limits {
        max_steps: 1000,
        ..Limits::DEFAULT
    };
    let (outcome, steps) = decode_run_counted(&run, &kinds, &total, limits).unwrap();
    assert_eq!(outcome, Outcome::TooMany);
    assert!(steps <= 1001, "{steps}");
    // The same run with no rule is cut in more ways than can be listed.
    let limits = Limits {
        max_steps: RUN_STEP_BUDGET,
        ..Limits::DEFAULT
    };
    let (outcome, steps) = decode_run_counted(&run, &kinds, &[], limits).unwrap();
    assert_eq!(outcome, Outcome::TooMany);
    assert!(steps <= RUN_STEP_BUDGET + 1, "{steps}");
}

/// t4's fifteen values as the flat run prints them, and the expected cells.
fn t4_values(parts: &[[u32; 4]; 3]) -> Vec<u32> {
    parts
        .iter()
        .flat_map(|p| p.iter().copied().chain(std::iter::once(p.iter().sum())))
        .collect()
}

fn assert_t4_holds(flat: &gongkai_digits::FlatTable, values: &[u32]) {
    for (r, row) in T4_ROWS.iter().enumerate() {
        for (c, column) in T4_COLUMNS.iter().enumerate() {
            let want = Decimal::from(values[r * 5 + c]);
            let cell = &flat.table[row.key][column.key];
            match cell.state {
                CellState::Number => {
                    assert_eq!(cell.value, Some(want), "{}.{}", row.key, column.key)
                }
                CellState::Ambiguous => assert!(
                    cell.candidates.contains(&want),
                    "{}.{}: {cell:?} lacks {want}",
                    row.key,
                    column.key
                ),
                _ => panic!("{}.{}: {cell:?}", row.key, column.key),
            }
        }
    }
}

#[test]
fn a_long_realistic_t4_run_decodes_with_little_work() {
    let parts = [
        [1000, 2000, 3000, 4000],
        [5000, 6000, 7000, 8000],
        [1000, 1000, 1000, 1000],
    ];
    let values = t4_values(&parts);
    let run: String = values.iter().map(u32::to_string).collect();
    assert!(run.len() >= 60);
    let flat = bounded(&t4_flat(&run), TableId::T4);
    assert_t4_holds(&flat, &values);
    assert!(flat.steps < 20_000, "{} steps", flat.steps);
}

/// A count as reports have them: mostly small, sometimes five digits (QA's round-trip mix).
fn count() -> impl Strategy<Value = u32> {
    (0u8..10, 0u32..100_000).prop_map(|(size, n)| match size {
        0..=3 => 0,
        4..=6 => n % 20,
        7..=8 => n % 1000,
        _ => n,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flat_t4_runs_keep_the_original_within_budget(
        parts in prop::array::uniform3(prop::array::uniform4(count())),
    ) {
        let values = t4_values(&parts);
        let run: String = values.iter().map(u32::to_string).collect();
        let flat = bounded(&t4_flat(&run), TableId::T4);
        assert_t4_holds(&flat, &values);
    }

    #[test]
    fn arbitrary_digit_runs_stay_within_budget(
        run in "[0-9 .,+-]{0,120}",
        table in prop::sample::select(vec![TableId::T2, TableId::T3, TableId::T4]),
    ) {
        let text = match table {
            TableId::T3 => t3_with_runs(&run),
            TableId::T4 => t4_flat(&run),
            _ => format!("规范性文件{run}"),
        };
        if let Some(flat) = read_flattened_table(&text, origin(), table, Template::F2021) {
            prop_assert!(flat.steps <= TABLE_STEP_BUDGET);
        }
    }
}
