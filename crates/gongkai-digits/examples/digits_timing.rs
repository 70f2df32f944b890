//! Times `read_flattened_table` on the 平潭 dumps of the shared corpus (release build:
//! `cargo run --release -p gongkai-digits --example digits_timing`).
use gongkai_digits::read_flattened_table;
use gongkai_model::{Position, TableId, Template};
fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    for (year, template) in [
        (2019, Template::F2019),
        (2020, Template::F2019),
        (2021, Template::F2021),
        (2022, Template::F2021),
        (2023, Template::F2021),
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("平潭综合实验区_{year}.txt")))
        else {
            continue;
        };
        let t2 = text.find("二、主动公开政府信息情况").unwrap_or(0);
        let t3 = text.find("三、收到和处理政府信息公开申请情况").unwrap_or(0);
        let t4 = t3 + text[t3..].find("四、政府信息公开行政").unwrap_or(0);
        let end = t4 + text[t4..].find("五、").unwrap_or(0);
        let parts = [
            (TableId::T2, &text[t2..t3]),
            (TableId::T3, &text[t3..t4]),
            (TableId::T4, &text[t4..end]),
        ];
        if std::env::var_os("PROFILE_ONCE").is_some() {
            // For callgrind: a fixed amount of work, no timing.
            for _ in 0..10 {
                for &(table, section) in &parts {
                    std::hint::black_box(read_flattened_table(
                        section,
                        Position::Line { line: 1, column: 1 },
                        table,
                        template,
                    ));
                }
            }
            continue;
        }
        // The best of many short batches: the machine is shared, the minimum is the cost.
        let best = |tables: &[(TableId, &str)]| {
            (0..50)
                .map(|_| {
                    let start = std::time::Instant::now();
                    for _ in 0..40 {
                        for &(table, section) in tables {
                            std::hint::black_box(read_flattened_table(
                                section,
                                Position::Line { line: 1, column: 1 },
                                table,
                                template,
                            ));
                        }
                    }
                    start.elapsed() / 40
                })
                .min()
                .unwrap_or_default()
        };
        let steps: Vec<String> = parts
            .iter()
            .map(|&(table, section)| {
                let flat = read_flattened_table(
                    section,
                    Position::Line { line: 1, column: 1 },
                    table,
                    template,
                );
                format!("{table} {}", flat.map_or(0, |f| f.steps))
            })
            .collect();
        println!("{year}: steps {}", steps.join(", "));
        let per = best(&parts);
        let each: Vec<String> = parts
            .iter()
            .map(|p| format!("{} {:?}", p.0, best(std::slice::from_ref(p))))
            .collect();
        println!("{year}: {per:?} per report ({})", each.join(", "));
    }
}
