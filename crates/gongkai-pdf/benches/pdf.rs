//! Times `read_pdf` on each real PDF of the shared corpus (skipped when the corpus is absent),
//! so that the reader's cost per report can be compared with `pdftotext -layout` (README.md).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;

const REPORTS: [&str; 3] = [
    "淮安市人民政府_2024.pdf",
    "淮安市洪泽区人民政府_2023.pdf",
    "淮安市洪泽区人民政府_2024.pdf",
];

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn bench_reports(c: &mut Criterion) {
    for name in REPORTS {
        let Ok(bytes) = std::fs::read(corpus().join(name)) else {
            eprintln!("corpus file {name} not found: skipped");
            continue;
        };
        c.bench_function(&format!("read_pdf {name}"), |b| {
            b.iter(|| gongkai_pdf::read_pdf(black_box(&bytes)))
        });
    }
}

criterion_group!(benches, bench_reports);
criterion_main!(benches);
