//! `gongkai batch list|show|watch|retry` and `gongkai revalidate`: batches of submissions and
//! re-validations (archive.md §3–§4).

use crate::client::{ServerArgs, connect};
use futures::StreamExt;
use gongkai_proto::v1;

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: BatchCommand,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum BatchCommand {
    /// 列出批次（最新在前） / list the batches, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// 查看一个批次：各状态数量与失败原因 / a batch's counts and failures.
    Show {
        batch: String,
        #[arg(long)]
        json: bool,
    },
    /// 跟踪批次进度直到完成 / follow a batch until nothing of it is in flight.
    Watch { batch: String },
    /// 重新排队批次中失败的报告 / queue the batch's FAILED reports again.
    Retry { batch: String },
}

#[derive(Debug, clap::Args)]
pub struct RevalidateArgs {
    /// Only agencies whose name contains this text.
    #[arg(long)]
    pub agency: Option<String>,
    /// The first year, inclusive.
    #[arg(long)]
    pub year_from: Option<u32>,
    /// The last year, inclusive.
    #[arg(long)]
    pub year_to: Option<u32>,
    /// F2019, F2021, mixed, legacy, unknown.
    #[arg(long)]
    pub template: Option<String>,
    /// Only reports checked by a rule set older than this version.
    #[arg(long)]
    pub rules_version_below: Option<String>,
    /// Read the stored documents again, not only the rules.
    #[arg(long)]
    pub reparse: bool,
    /// Also the reports already checked by the current rules.
    #[arg(long)]
    pub force: bool,
    /// Follow the batch until it completes.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", status.code(), status.message())
}

fn time_text(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// `2 ARCHIVED, 1 FAILED` …
pub fn counts_line(batch: &v1::Batch) -> String {
    let counts: Vec<String> = batch
        .counts
        .iter()
        .map(|c| format!("{} {}", c.count, c.status))
        .collect();
    format!(
        "{} of {}{}",
        counts.join(", "),
        batch.total,
        if batch.complete { ", complete" } else { "" }
    )
}

fn print_batch(batch: &v1::Batch) {
    println!("batch    {} ({})", batch.batch, batch.kind);
    println!("reports  {}", counts_line(batch));
    println!(
        "time     {} – {}",
        time_text(batch.started_at.as_ref()),
        time_text(batch.finished_at.as_ref())
    );
    if let Some(caller) = &batch.caller {
        println!("by       {caller}");
    }
    if !batch.failures.is_empty() {
        println!("failures");
        for f in &batch.failures {
            println!(
                "  {}  {}  [{}] {}",
                f.report_id,
                f.filename,
                f.stage.as_deref().unwrap_or("?"),
                f.reason.as_deref().unwrap_or("")
            );
        }
    }
}

async fn watch(client: &mut crate::client::GatewayClient, batch: &str) -> anyhow::Result<i32> {
    let mut views = client
        .watch_batch(v1::WatchBatchRequest {
            batch: batch.to_owned(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let mut failed = 0;
    while let Some(view) = views.next().await {
        let view = view.map_err(status_error)?;
        println!("{}", counts_line(&view));
        failed = view.failed;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// `gongkai batch …`.
pub async fn batch(args: BatchArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    match args.command {
        BatchCommand::List { limit } => {
            let list = client
                .list_batches(v1::ListBatchesRequest { limit })
                .await
                .map_err(status_error)?
                .into_inner();
            for b in &list.batches {
                println!(
                    "{}  {:<12} {}  {}",
                    time_text(b.created_at.as_ref()),
                    b.kind,
                    b.batch,
                    counts_line(b)
                );
            }
            Ok(0)
        }
        BatchCommand::Show { batch, json } => {
            let view = client
                .get_batch(v1::GetBatchRequest { batch })
                .await
                .map_err(status_error)?
                .into_inner();
            if json {
                let value = serde_json::json!({
                    "batch": view.batch,
                    "kind": view.kind,
                    "total": view.total,
                    "counts": view.counts.iter().map(|c| (c.status.clone(), c.count)).collect::<std::collections::BTreeMap<_, _>>(),
                    "failed": view.failed,
                    "complete": view.complete,
                    "started_at": time_text(view.started_at.as_ref()),
                    "finished_at": view.finished_at.as_ref().map(|t| time_text(Some(t))),
                    "failures": view.failures.iter().map(|f| serde_json::json!({
                        "report_id": f.report_id, "filename": f.filename,
                        "stage": f.stage, "reason": f.reason,
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_batch(&view);
            }
            Ok(0)
        }
        BatchCommand::Watch { batch } => watch(&mut client, &batch).await,
        BatchCommand::Retry { batch } => {
            let retried = client
                .retry_batch(v1::RetryBatchRequest { batch })
                .await
                .map_err(status_error)?
                .into_inner();
            println!("queued again: {}", retried.requeued);
            for id in &retried.report_ids {
                println!("  {id}");
            }
            Ok(0)
        }
    }
}

/// `gongkai revalidate [filters] [--reparse] [--force] [--wait]`.
pub async fn revalidate(args: RevalidateArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let answer = client
        .revalidate_reports(v1::RevalidateReportsRequest {
            filter: Some(v1::ReportFilter {
                agency: args.agency.clone(),
                year_from: args.year_from,
                year_to: args.year_to,
                template: args.template.clone(),
                ..Default::default()
            }),
            rules_version_below: args.rules_version_below.clone(),
            reparse: args.reparse,
            force: args.force,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!(
        "batch {}: {} queued, {} skipped (already at the current rules)",
        answer.batch, answer.queued, answer.skipped
    );
    if args.wait {
        return watch(&mut client, &answer.batch).await;
    }
    Ok(0)
}
