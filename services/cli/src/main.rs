//! `gongkai`: the command-line front of the project.
//!
//! One [`Command`] variant per subcommand, one module per family of commands: `check` reads
//! and checks reports offline; the pipeline commands live in their own modules. Each command
//! returns the process exit code it wants; an error that escapes a command is printed on
//! standard error and exits with 2.

mod check;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gongkai",
    version,
    about = "政府信息公开工作年度报告：读取、核验、归档 (read, check, archive annual disclosure reports)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands. Add a variant here and a module beside `check.rs` for a new family.
#[derive(Subcommand)]
enum Command {
    /// 读取并核验年度报告（离线） / read and check reports offline.
    Check(check::CheckArgs),
    /// 列出全部核验规则 / list every rule with its severity.
    Rules,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules => check::list_rules(),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gongkai: 出错 / error: {e:#}");
            ExitCode::from(2)
        }
    }
}
