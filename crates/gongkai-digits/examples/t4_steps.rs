//! The most work a flat t4 run of random realistic counts takes, and how often it is too many
//! to enumerate (`cargo run --release -p gongkai-digits --example t4_steps`).
use gongkai_digits::read_flattened_table;
use gongkai_model::{Position, TableId, Template};

fn main() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let (mut max, mut too_many, mut sum) = (0, 0, 0);
    let cases = 2000;
    for _ in 0..cases {
        let mut run = String::new();
        for _ in 0..3 {
            let parts: Vec<u64> = (0..4)
                .map(|_| match next(10) {
                    0..=3 => 0,
                    4..=6 => next(20),
                    7..=8 => next(1000),
                    _ => next(100_000),
                })
                .collect();
            for p in &parts {
                run.push_str(&p.to_string());
            }
            run.push_str(&parts.iter().sum::<u64>().to_string());
        }
        let text = format!("结果维持结果纠正其他结果尚未审结总计{run}");
        let flat = read_flattened_table(
            &text,
            Position::Line { line: 1, column: 1 },
            TableId::T4,
            Template::F2021,
        );
        if let Some(flat) = flat {
            max = max.max(flat.steps);
            sum += flat.steps;
            too_many += usize::from(flat.ambiguities.iter().any(|a| a.decodings.is_empty()));
        }
    }
    println!(
        "{cases} flat t4 runs: at most {max} steps, {} on average, {too_many} too many to enumerate",
        sum / cases
    );
}
