//! `gongkai`: the command-line front of the project.
//!
//! One [`Command`] variant per subcommand, one module per family of commands: `check` reads
//! and checks reports offline; the pipeline commands live in their own modules. Each command
//! returns the process exit code it wants; an error that escapes a command is printed on
//! standard error and exits with 2.

/// mimalloc instead of glibc's allocator: the pipeline allocates and frees many short-lived
/// buffers (JSON artefacts, rows, frames) on several threads, and glibc's malloc/free with its
/// consolidation was 13 % of the CPU of `gongkai up` under `gongkai bench` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod batch;
mod bench;
mod check;
mod client;
mod dlq;
mod metrics;
mod metrics_bench;
mod review;
mod seed;
mod token;
mod up;

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
    /// 提交报告到流水线 / submit reports to the pipeline (`--wait` for each outcome).
    Submit(client::SubmitArgs),
    /// 查看一份已提交的报告 / show one submitted report (`--json` for the JSON of `check`).
    Get(client::GetArgs),
    /// 跟踪报告的处理进度 / follow a report's status changes until it is final.
    Watch(client::WatchArgs),
    /// 列出已提交的报告 / list submitted reports, filtered.
    List(client::ListArgs),
    /// 在本机启动网关和全部处理程序 / run the gateway and every worker in one process.
    Up(up::UpArgs),
    /// 测量流水线吞吐量和延迟 / measure the pipeline's throughput and latency.
    Bench(bench::BenchArgs),
    /// 查看和重新投递死信 / list and redrive dead-lettered messages.
    Dlq(dlq::DlqArgs),
    /// 更正已归档报告的单元格（生成新版本） / correct cells of an archived report (a new version).
    Correct(review::CorrectArgs),
    /// 查看报告的各个版本 / list the versions of a report's series.
    History(review::HistoryArgs),
    /// 对核验结果作出审核判断 / judge a finding (confirmed, to-correct, not-a-problem).
    Judge(review::JudgeArgs),
    /// 按现行规则重新核验已归档报告 / check archived reports again (a batch).
    Revalidate(batch::RevalidateArgs),
    /// 查看、跟踪和重试批次 / list, show, watch and retry batches.
    Batch(batch::BatchArgs),
    /// 全库指标：分组、汇总、百分位 / metrics over the archive, grouped, as an aligned table.
    Metrics(metrics::MetricsArgs),
    /// 导出单元格或指标为 CSV/XLSX/Parquet / export cells or metrics to a file.
    Export(metrics::ExportArgs),
    /// 机关名称别名（管理员） / agency aliases (admin).
    Agency(metrics::AgencyArgs),
    /// 用合成报告填充归档库（测量用） / fill the archive with synthetic reports, for measuring.
    Seed(seed::SeedArgs),
    /// 管理调用方令牌 / issue, list and revoke callers' tokens (talks to the archive database).
    Token(token::TokenArgs),
    /// 查看审计记录 / who did what, when: token changes, redrives, corrections (admins).
    Audit(token::AuditArgs),
    /// 测量全库查询与导出的延迟 / measure the metrics questions and the export on a seeded archive.
    BenchMetrics(metrics_bench::BenchMetricsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules => check::list_rules(),
        Command::Submit(args) => client::run(client::submit(args)),
        Command::Get(args) => client::run(client::get(args)),
        Command::Watch(args) => client::run(client::watch(args)),
        Command::List(args) => client::run(client::list(args)),
        Command::Up(args) => up::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Dlq(args) => dlq::run(args),
        Command::Correct(args) => client::run(review::correct(args)),
        Command::History(args) => client::run(review::history(args)),
        Command::Judge(args) => client::run(review::judge(args)),
        Command::Revalidate(args) => client::run(batch::revalidate(args)),
        Command::Batch(args) => client::run(batch::batch(args)),
        Command::Metrics(args) => client::run(metrics::metrics(args)),
        Command::Export(args) => client::run(metrics::export(args)),
        Command::Agency(args) => client::run(metrics::agency(args)),
        Command::Seed(args) => client::run(seed::run(args)),
        Command::Token(args) => token::run_token(args),
        Command::Audit(args) => token::run_audit(args),
        Command::BenchMetrics(args) => client::run(metrics_bench::run(args)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            let error: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!(
                "gongkai: 出错 / error: {}",
                gongkai_telemetry::error_chain(error)
            );
            ExitCode::from(2)
        }
    }
}
