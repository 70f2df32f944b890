//! Prints the work (search steps) `read_flattened_table` spends on hostile and long runs
//! (`cargo run --release -p gongkai-digits --example steps`); with `REPEAT=n` it decodes each
//! n times, a fixed amount of work for callgrind.
use gongkai_digits::read_flattened_table;
use gongkai_model::{Position, TableId, Template, schema};

fn t3_with_runs(run: &str) -> String {
    let mut text = String::new();
    for row in schema::rows(Template::F2021, TableId::T3) {
        text.push_str(row.label);
        text.push_str(run);
        text.push('\n');
    }
    text
}

fn main() {
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let cases = [
        (
            "t3 rows of 49 × '2'",
            TableId::T3,
            t3_with_runs(&"2".repeat(49)),
        ),
        (
            "t3 rows of 43 × '2'",
            TableId::T3,
            t3_with_runs(&"2".repeat(43)),
        ),
        (
            "t3 rows of 200 digits",
            TableId::T3,
            t3_with_runs(&"1234567890".repeat(20)),
        ),
        (
            "t3 rows of signs and points",
            TableId::T3,
            t3_with_runs(&"1.2-3+4.5".repeat(5)),
        ),
        (
            "t4 of 49 × '2'",
            TableId::T4,
            format!("总计{}", "2".repeat(49)),
        ),
        (
            "t4 of 48 digits",
            TableId::T4,
            "总计10002000300040001000050006000700080002600010001000100010004000".to_owned(),
        ),
    ];
    let only: Option<usize> = std::env::var("CASE").ok().and_then(|c| c.parse().ok());
    for (i, (name, table, text)) in cases.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let mut steps = 0;
        let start = std::time::Instant::now();
        for _ in 0..repeat {
            let flat = read_flattened_table(
                text,
                Position::Line { line: 1, column: 1 },
                *table,
                Template::F2021,
            );
            steps = flat.map_or(0, |f| f.steps);
        }
        println!(
            "{name}: {steps} steps, {:?}",
            start.elapsed() / u32::try_from(repeat).unwrap_or(1)
        );
    }
}
