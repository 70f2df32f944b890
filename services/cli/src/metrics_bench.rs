//! `gongkai bench-metrics`: the latencies of the questions of the whole archive (BENCHMARKS.md,
//! "Questions of the whole archive") on the archive `DATABASE_URL` names, through the archive's
//! API as the gateway calls it: QueryMetrics of three metrics grouped by year, percentiles of a
//! rate for one year grouped by region, one agency's five-year trend of every metric, and an
//! export of every report's cells to Parquet with the process's peak memory.

use anyhow::Context;
use gongkai_archive::{Archive, GroupBy, MetricsQuery, ReportSelection};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[derive(Debug, clap::Args)]
pub struct BenchMetricsArgs {
    /// The archive database (seeded with `gongkai seed`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Runs of each question.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// The year of the percentile question.
    #[arg(long, default_value_t = 2024)]
    pub year: u16,
    /// How many seeded agencies to pick the trend's agency from.
    #[arg(long, default_value_t = 20_000)]
    pub agencies: u64,
    /// Also export every report's cells to this Parquet file and time it.
    #[arg(long)]
    pub parquet: Option<std::path::PathBuf>,
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn time_runs(
    name: &str,
    runs: usize,
    mut question: impl FnMut(usize) -> MetricsQuery,
    archive: &Archive,
) -> anyhow::Result<()> {
    // One run first, not counted: the plan and the pages are warm after it, as in service.
    archive.query_metrics(&question(0)).await?;
    let mut times = Vec::with_capacity(runs);
    let mut groups = 0;
    for run in 0..runs {
        let q = question(run + 1);
        let started = Instant::now();
        let rows = archive.query_metrics(&q).await?;
        times.push(started.elapsed());
        groups = rows.len();
    }
    times.sort_unstable();
    println!(
        "{name}: runs {runs}, groups {groups}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        quantile(&times, 0.5).as_secs_f64() * 1e3,
        quantile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    Ok(())
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub async fn run(args: BenchMetricsArgs) -> anyhow::Result<i32> {
    let archive = Archive::connect_with_pool_size(&args.database_url, 4)
        .await
        .context("cannot open the archive")?;
    let reports: i64 = sqlx_count(&archive).await?;
    println!("archive: {reports} current reports");

    time_runs(
        "three metrics, all reports, by year",
        args.runs,
        |_| MetricsQuery {
            metrics: vec![
                "applications_new".into(),
                "disclosure_rate".into(),
                "review_cases".into(),
            ],
            group_by: vec![GroupBy::Year],
            ..Default::default()
        },
        &archive,
    )
    .await?;
    time_runs(
        "P25/P50/P75 of disclosure_rate, one year, by region",
        args.runs,
        |_| MetricsQuery {
            metrics: vec!["disclosure_rate".into()],
            selection: ReportSelection {
                year_from: Some(args.year),
                year_to: Some(args.year),
                ..Default::default()
            },
            group_by: vec![GroupBy::Region],
            percentiles: vec![25, 50, 75],
        },
        &archive,
    )
    .await?;
    let agencies = args.agencies.max(1);
    time_runs(
        "one agency's five-year trend of every metric",
        args.runs,
        |run| MetricsQuery {
            selection: ReportSelection {
                agency: Some(gongkai_archive::seed::synthetic_agency(
                    (run as u64).wrapping_mul(7919) % agencies,
                )),
                ..Default::default()
            },
            group_by: vec![GroupBy::Year],
            ..Default::default()
        },
        &archive,
    )
    .await?;

    if let Some(path) = args.parquet {
        let before = peak_mib();
        let started = Instant::now();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let writer_archive = archive.clone();
        let export = tokio::spawn(async move {
            gongkai_export::export_cells(
                &writer_archive,
                &ReportSelection::default(),
                gongkai_export::Format::Parquet,
                sender,
            )
            .await;
        });
        let mut file = tokio::fs::File::create(&path)
            .await
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut bytes = 0u64;
        while let Some(chunk) = receiver.recv().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        export.await?;
        println!(
            "ExportCells of all to Parquet: {:.1} s, {:.1} MiB written, peak RSS {:.0} MiB (before {:.0} MiB)",
            started.elapsed().as_secs_f64(),
            bytes as f64 / 1048576.0,
            peak_mib().unwrap_or(0.0),
            before.unwrap_or(0.0),
        );
    }
    archive.close().await;
    Ok(0)
}

async fn sqlx_count(archive: &Archive) -> anyhow::Result<i64> {
    let rows = archive
        .query_metrics(&MetricsQuery {
            metrics: vec!["applications_new".into()],
            ..Default::default()
        })
        .await?;
    Ok(rows
        .first()
        .map_or(0, |r| i64::try_from(r.reports).unwrap_or(0)))
}
