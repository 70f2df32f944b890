//! Parse and check one report, for every report of the shared corpus and every sample of the
//! project: the figures of BENCHMARKS.md.
//!
//! `cargo bench -p gongkai-engine --bench engine`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("samples")];
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        dirs.push(corpus);
    } else {
        eprintln!("../shared/corpus is absent: benchmarking the samples only");
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).ok()?;
            let dir = p.parent()?.file_name()?.to_string_lossy().into_owned();
            Some((format!("{dir}/{name}"), bytes))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    for (name, bytes) in inputs() {
        if gongkai_engine::check(&bytes, &name).is_err() {
            continue;
        }
        group.bench_function(&name, |b| {
            b.iter(|| gongkai_engine::check(black_box(&bytes), black_box(&name)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
