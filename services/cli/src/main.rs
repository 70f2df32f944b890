//! `gongkai`: the command-line front of the project.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "gongkai",
    version,
    about = "政府信息公开工作年度报告: read, check, archive"
)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
