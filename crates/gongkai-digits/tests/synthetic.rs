//! Tables of known values rendered the way web dumps flatten them (labels, then every cell's
//! digits run together, here and there a space), decoded back. Whatever the values, the
//! decoding must contain them: each cell is either that number or ambiguous with it among
//! the candidates, and each ambiguous run lists the original among its decodings.

// Helpers outside `#[test]` functions unwrap too: a broken fixture should fail the test loudly.
#![allow(clippy::unwrap_used)]

use gongkai_digits::{FlatTable, read_flattened_table};
use gongkai_model::schema::{self, RowSpec};
use gongkai_model::{CellState, Decimal, Position, TableId, Template, ValueKind};
use proptest::prelude::*;
use std::str::FromStr;

fn origin() -> Position {
    Position::Line { line: 1, column: 1 }
}

/// How to join two cells of a run: nothing (the usual case) or a space.
fn render_run(values: &[String], spaces: &[bool]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 && spaces.get(i).copied().unwrap_or(false) {
            out.push(' ');
        }
        out.push_str(v);
    }
    out
}

/// The t3 block headings as the dumps print them before a row.
fn t3_prefix(row: &RowSpec, previous_block: &mut Option<&'static str>) -> String {
    let mut out = String::new();
    if row.block != *previous_block {
        // `三、本年度办理结果（三）不予公开` — the dumps print the parent heading once.
        if let Some(block) = row.block
            && (block != "三、本年度办理结果" || previous_block.is_none())
        {
            out.push_str(block);
        }
        *previous_block = row.block;
    }
    out
}

fn render_t3(template: Template, values: &[Vec<u32>], spaces: &[Vec<bool>]) -> String {
    let rows = schema::rows(template, TableId::T3);
    let mut text = String::from(
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他",
    );
    let mut block = None;
    for (i, row) in rows.iter().enumerate() {
        text.push_str(&t3_prefix(row, &mut block));
        text.push_str(row.label);
        let cells: Vec<String> = values[i].iter().map(u32::to_string).collect();
        text.push_str(&render_run(&cells, &spaces[i]));
    }
    text
}

/// A t3 that satisfies every rule: results and carried figures free, the rest derived.
fn consistent_t3(template: Template, seed: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let rows = schema::rows(template, TableId::T3);
    let index = |key: &str| rows.iter().position(|r| r.key == key).unwrap();
    let mut values: Vec<Vec<u32>> = seed.iter().map(|r| r[..6].to_vec()).collect();
    let results: Vec<usize> = schema::t3_result_rows(template)
        .iter()
        .map(|r| index(r.key))
        .collect();
    let (new, over, processed, forward) = (
        index("new_received"),
        index("carried_over"),
        index("total_processed"),
        index("carried_forward"),
    );
    #[allow(clippy::needless_range_loop)] // `c` indexes several rows at once
    for c in 0..6 {
        let sum: u32 = results.iter().map(|&r| values[r][c]).sum();
        values[processed][c] = sum;
        values[over][c] = values[over][c].min(sum + values[forward][c]);
        values[new][c] = sum + values[forward][c] - values[over][c];
    }
    for row in &mut values {
        let total = row.iter().sum();
        row.push(total);
    }
    values
}

fn decimal(v: &str) -> Decimal {
    Decimal::from_str(v).unwrap()
}

/// Every cell is the original or ambiguous with it; every ambiguous run lists the original.
fn assert_contains_original(
    flat: &FlatTable,
    table: TableId,
    original: &[(String, String, String)],
) {
    for (row, column, value) in original {
        let cell = &flat.table[row.as_str()][column.as_str()];
        let want = decimal(value);
        match cell.state {
            CellState::Number => {
                assert_eq!(
                    cell.value.map(|v| v.to_string()),
                    Some(value.clone()),
                    "{row}.{column}"
                )
            }
            CellState::Ambiguous => {
                assert!(
                    cell.candidates.contains(&want),
                    "{row}.{column}: {cell:?} lacks {value}"
                )
            }
            _ => panic!("{row}.{column}: {cell:?}, expected {value}"),
        }
    }
    for a in &flat.ambiguities {
        assert_eq!(a.table, table);
        let expected: Vec<Decimal> = a
            .cells
            .iter()
            .map(|key| {
                let (r, c) = key.split_once('.').unwrap();
                let (_, _, v) = original
                    .iter()
                    .find(|(or, oc, _)| or == r && oc == c)
                    .unwrap();
                decimal(v)
            })
            .collect();
        assert!(a.decodings.contains(&expected), "{a:?} lacks {expected:?}");
    }
}

fn t3_original(template: Template, values: &[Vec<u32>]) -> Vec<(String, String, String)> {
    let rows = schema::rows(template, TableId::T3);
    rows.iter()
        .zip(values)
        .flat_map(|(row, vals)| {
            row.columns
                .iter()
                .zip(vals)
                .map(|(c, v)| (row.key.to_owned(), c.key.to_owned(), v.to_string()))
        })
        .collect()
}

/// Counts as real tables have them: mostly zero, sometimes one or two digits.
fn small_count() -> impl Strategy<Value = u32> {
    prop_oneof![6 => Just(0u32), 3 => 1u32..10, 2 => 10u32..100, 1 => 100u32..1000]
}

fn t3_seed(rows: usize) -> impl Strategy<Value = (Vec<Vec<u32>>, Vec<Vec<bool>>)> {
    (
        prop::collection::vec(prop::collection::vec(small_count(), 7), rows),
        prop::collection::vec(prop::collection::vec(prop::bool::weighted(0.15), 7), rows),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn t3_f2021_decodes_to_a_set_holding_the_original((seed, spaces) in t3_seed(25)) {
        let template = Template::F2021;
        let values = consistent_t3(template, &seed);
        let text = render_t3(template, &values, &spaces);
        let flat = read_flattened_table(&text, origin(), TableId::T3, template).unwrap();
        assert_contains_original(&flat, TableId::T3, &t3_original(template, &values));
    }

    #[test]
    fn t3_f2019_decodes_to_a_set_holding_the_original((seed, spaces) in t3_seed(23)) {
        let template = Template::F2019;
        let values = consistent_t3(template, &seed);
        let text = render_t3(template, &values, &spaces);
        let flat = read_flattened_table(&text, origin(), TableId::T3, template).unwrap();
        assert_contains_original(&flat, TableId::T3, &t3_original(template, &values));
    }

    #[test]
    fn t4_as_one_run_decodes_to_a_set_holding_the_original(
        parts in prop::collection::vec(prop::collection::vec(small_count(), 4), 3),
        spaces in prop::collection::vec(prop::bool::weighted(0.1), 15),
        labelled in any::<bool>(),
    ) {
        let mut values = Vec::new();
        for block in &parts {
            values.extend(block.iter().map(u32::to_string));
            values.push(block.iter().sum::<u32>().to_string());
        }
        let text = if labelled {
            // Each block after its own label.
            let mut t = String::new();
            for (b, label) in ["行政复议", "未经复议直接起诉", "复议后起诉"].iter().enumerate() {
                t.push_str(label);
                t.push_str(&render_run(&values[b * 5..b * 5 + 5], &spaces[b * 5..b * 5 + 5]));
            }
            t
        } else {
            format!(
                "行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉复议后起诉结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计{}",
                render_run(&values, &spaces)
            )
        };
        let flat = read_flattened_table(&text, origin(), TableId::T4, Template::F2021).unwrap();
        let original: Vec<(String, String, String)> = schema::T4_ROWS
            .iter()
            .enumerate()
            .flat_map(|(r, row)| {
                let values = &values;
                schema::T4_COLUMNS
                    .iter()
                    .enumerate()
                    .map(move |(c, col)| (row.key.to_owned(), col.key.to_owned(), values[r * 5 + c].clone()))
            })
            .collect();
        assert_contains_original(&flat, TableId::T4, &original);
    }

    #[test]
    fn t2_f2019_decodes_to_a_set_holding_the_original(
        counts in prop::collection::vec(small_count(), 16),
        changes in prop::collection::vec(-200i32..200, 5),
        cents in 0u64..100_000_000,
        unit in prop::sample::select(vec!["元", "万元"]),
    ) {
        let rows = schema::T2_F2019;
        let mut original = Vec::new();
        let mut text = String::new();
        let mut counts = counts.into_iter();
        let mut changes = changes.into_iter();
        let mut block = None;
        for row in rows {
            if row.block != block {
                text.push_str(row.block.unwrap_or(""));
                text.push_str("信息内容");
                for c in row.columns {
                    text.push_str(c.label);
                }
                block = row.block;
            }
            text.push_str(row.label);
            for c in row.columns {
                let v = match c.kind {
                    ValueKind::Count => counts.next().unwrap_or(0).to_string(),
                    ValueKind::SignedCount => changes.next().unwrap_or(0).to_string(),
                    ValueKind::Amount => Decimal::new(cents as i64, 2).to_string(),
                };
                text.push_str(&v);
                if c.kind == ValueKind::Amount {
                    text.push_str(unit);
                }
                original.push((row.key.to_owned(), c.key.to_owned(), v));
            }
        }
        let flat = read_flattened_table(&text, origin(), TableId::T2, Template::F2019).unwrap();
        assert_contains_original(&flat, TableId::T2, &original);
        let amount = &flat.table["procurement"]["amount"];
        prop_assert_eq!(amount.unit.as_deref(), Some(unit));
    }

    /// Arbitrary text made of table-like pieces never panics and always yields the template's
    /// shape when anything is found.
    #[test]
    fn arbitrary_text_never_panics(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "0", "1", "7", "23", "00", " ", "-", ".", "2.", ",", "元", "（", "）", "第", "年",
                "新收", "总计", "其他", "予以公开", "行政复议", "规章", "规范性文件", "集中采购",
                "行政许可", "复议后起诉", "结果维持", "１２", "．", "、", "\n",
                // Numbers of any length: beyond the caps, an i64 mantissa, a Decimal.
                "12345678901", "9223372036854775808", "123456789012345.12345678",
                "99999999999999999999999999999999999999", "-99999999999999999999",
            ]),
            0..80,
        ),
        table in prop::sample::select(vec![TableId::T2, TableId::T3, TableId::T4]),
        template in prop::sample::select(vec![Template::F2019, Template::F2021, Template::Mixed]),
    ) {
        let text: String = pieces.concat();
        if let Some(flat) = read_flattened_table(&text, origin(), table, template) {
            let rows = schema::rows(template, table);
            prop_assert_eq!(flat.table.len(), rows.len());
            for (row, spec) in flat.table.values().zip(rows) {
                prop_assert_eq!(row.len(), spec.columns.len());
            }
        }
    }
}

#[test]
fn column_rules_split_rows_that_their_own_totals_cannot() {
    // 平潭 2021's two ambiguous rows in a table of our own: granted `270020130` and
    // unavailable_not_held `220000325` each have two row-consistent cuts; only one pair makes
    // T3-RESULTS hold in every column.
    let template = Template::F2021;
    let mut seed = vec![vec![0u32; 7]; 25];
    let rows = schema::rows(template, TableId::T3);
    let index = |key: &str| rows.iter().position(|r| r.key == key).unwrap();
    seed[index("granted")] = vec![27, 0, 0, 2, 0, 1, 0];
    seed[index("unavailable_not_held")] = vec![22, 0, 0, 0, 0, 3, 0];
    seed[index("partially_granted")] = vec![5, 0, 0, 0, 0, 0, 0];
    let values = consistent_t3(template, &seed);
    let text = render_t3(template, &values, &vec![vec![false; 7]; 25]);
    assert!(text.contains("270020130") && text.contains("220000325"));
    let flat = read_flattened_table(&text, origin(), TableId::T3, template).unwrap();
    assert!(flat.ambiguities.is_empty(), "{:?}", flat.ambiguities);
    assert_eq!(
        flat.table["granted"]["natural_person"].value,
        Some(Decimal::from(27))
    );
    assert_eq!(
        flat.table["unavailable_not_held"]["commercial"].value,
        Some(Decimal::ZERO)
    );
}

#[test]
fn a_rule_the_source_breaks_is_dropped_not_forced() {
    // A row whose printed total is wrong (`5 0 0 0 0 0 9`): no cut satisfies T3-ROW-TOTAL, so
    // the row is cut by the lexical rules alone — seven digits, seven cells, one way.
    let template = Template::F2021;
    let mut values = consistent_t3(template, &vec![vec![0u32; 7]; 25]);
    let rows = schema::rows(template, TableId::T3);
    let granted = rows.iter().position(|r| r.key == "granted").unwrap();
    values[granted] = vec![5, 0, 0, 0, 0, 0, 9];
    let text = render_t3(template, &values, &vec![vec![false; 7]; 25]);
    let flat = read_flattened_table(&text, origin(), TableId::T3, template).unwrap();
    let row = &flat.table["granted"];
    assert_eq!(row["natural_person"].value, Some(Decimal::from(5)));
    assert_eq!(row["total"].value, Some(Decimal::from(9)));
}

#[test]
fn truncated_and_unreadable_rows_stay_missing() {
    // Only the first two t3 rows are printed, the second with too few digits for its cells.
    let text = "一、本年新收政府信息公开申请数量3000003二、上年结转政府信息公开申请数量00";
    let flat = read_flattened_table(text, origin(), TableId::T3, Template::F2021).unwrap();
    assert_eq!(flat.table.len(), 25);
    assert_eq!(
        flat.table["new_received"]["total"].value,
        Some(Decimal::from(3))
    );
    assert_eq!(
        flat.table["carried_over"]["total"].state,
        CellState::Missing
    );
    assert_eq!(
        flat.table["carried_forward"]["total"].state,
        CellState::Missing
    );
    // No row at all: nothing to return.
    assert!(read_flattened_table("无", origin(), TableId::T3, Template::F2021).is_none());
    assert!(read_flattened_table(text, origin(), TableId::T3, Template::Legacy).is_none());
}

#[test]
fn hostile_runs_are_reported_as_too_many_without_hanging() {
    // Thirty digits of `1` for t4's fifteen cells: block totals cannot hold with ones only…
    // and without them the cuts are too many to list.
    let text = format!("尚未审结总计{}", "1".repeat(29));
    let flat = read_flattened_table(&text, origin(), TableId::T4, Template::F2021).unwrap();
    assert!(flat.steps <= gongkai_digits::TABLE_STEP_BUDGET);
    let cell = &flat.table["review"]["upheld"];
    assert_eq!(cell.state, CellState::Ambiguous);
    assert!(cell.candidates.is_empty());
    assert_eq!(flat.ambiguities.len(), 1);
    assert!(flat.ambiguities[0].decodings.is_empty());
}

#[test]
fn a_misprinted_label_between_two_found_rows_still_gets_its_run() {
    // 洪泽 2023 prints `2.其他法律行政止公开` (禁止 lost): the keyword is absent, but the row
    // sits between two found rows and its digits are the only other run in that gap.
    let template = Template::F2021;
    let mut values = consistent_t3(template, &vec![vec![0u32; 7]; 25]);
    let rows = schema::rows(template, TableId::T3);
    let row = rows
        .iter()
        .position(|r| r.key == "denied_prohibited_by_law")
        .unwrap();
    values[row] = vec![3, 0, 0, 0, 0, 0, 3];
    let text = render_t3(template, &values, &vec![vec![false; 7]; 25])
        .replace("其他法律行政法规禁止公开", "其他法律行政止公开");
    assert!(text.contains("行政止公开3000003"));
    let flat = read_flattened_table(&text, origin(), TableId::T3, template).unwrap();
    let cells = &flat.table["denied_prohibited_by_law"];
    assert_eq!(cells["natural_person"].value, Some(Decimal::from(3)));
    assert_eq!(cells["total"].value, Some(Decimal::from(3)));
    assert_eq!(
        flat.table["denied_state_secret"]["total"].value,
        Some(Decimal::ZERO)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Runs of any length under caps of any width: every lexeme the lexer emits is the exact
    /// number its printed prefix says, and no run makes it overflow.
    #[test]
    fn lexemes_of_any_length_are_exact(
        run in "[-+]?[0-9]{1,60}(\\.[0-9]{1,40})?",
        count_digits in 1u8..=255,
        amount_integer_digits in 1u8..=255,
        amount_fraction_digits in 0u8..=255,
        kind in prop::sample::select(vec![ValueKind::Count, ValueKind::SignedCount, ValueKind::Amount]),
    ) {
        use gongkai_digits::lexeme::for_each_lexeme;
        use gongkai_digits::{Caps, Symbol};
        let symbols: Vec<Symbol> = run.chars().filter_map(Symbol::of).collect();
        let caps = Caps { count_digits, amount_integer_digits, amount_fraction_digits };
        let mut emitted = Vec::new();
        for_each_lexeme(&symbols, kind, &caps, |len, value| {
            emitted.push((len, value));
            true
        });
        for (len, value) in emitted {
            let printed: String = run.chars().take(len).collect();
            let expected = Decimal::from_str(printed.trim_start_matches('+')).unwrap();
            prop_assert_eq!(value.to_decimal(), expected, "{}", printed);
            prop_assert_eq!(u32::from(value.scale), expected.scale());
        }
    }
}
