//! `gongkai seed --reports N`: fills the archive that `DATABASE_URL` names with N synthetic
//! reports (gongkai_archive::seed) straight through the archive's API, for measuring the
//! questions of the whole archive at scale.

use anyhow::Context;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// How many reports (five years per agency).
    #[arg(long)]
    pub reports: u64,
    /// The index of the first synthetic report (seeding again from 0 adds nothing).
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// Reports archived at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// The archive database.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<i32> {
    let pool = u32::try_from(args.concurrency.clamp(1, 64)).unwrap_or(16);
    let archive = gongkai_archive::Archive::connect_with_pool_size(&args.database_url, pool)
        .await
        .context("cannot open the archive")?;
    let started = Instant::now();
    let step = (args.reports / 20).max(1);
    let created = gongkai_archive::seed::seed(
        &archive,
        args.first,
        args.reports,
        args.concurrency,
        |done| {
            if done % step == 0 || done == args.reports {
                eprintln!(
                    "{done}/{} reports, {:.0} s",
                    args.reports,
                    started.elapsed().as_secs_f64()
                );
            }
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {created} new reports ({} asked) in {seconds:.1} s ({:.0} reports/s)",
        args.reports,
        args.reports as f64 / seconds.max(0.001)
    );
    archive.close().await;
    Ok(0)
}
