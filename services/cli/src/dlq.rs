//! `gongkai dlq list` and `gongkai dlq redrive`: what is in the dead-letter queues and why,
//! and sending it back to its stage once the cause is fixed. The work is done by
//! `gongkai_queue::dlq`, which the tests share.

use crate::token::AdminArgs;
use anyhow::Context;
use gongkai_archive::AuditEntry;
use gongkai_queue::{Broker, DeadLetter, Stage, dlq};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DlqArgs {
    /// The RabbitMQ broker (and vhost).
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        global = true
    )]
    amqp_url: String,
    /// The archive, where a redrive is recorded in the audit log.
    #[command(flatten)]
    admin: AdminArgs,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(clap::Subcommand)]
enum DlqCommand {
    /// 列出死信 / list dead-lettered messages: report, stage, reason, deaths.
    List {
        /// Only this stage: parse, validate or archive.
        #[arg(long)]
        stage: Option<Stage>,
        /// At most this many messages per stage.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// 重新投递死信 / move dead-lettered messages back to their stage queue.
    Redrive {
        /// Only this stage: parse, validate or archive.
        #[arg(long)]
        stage: Option<Stage>,
    },
}

pub fn run(args: DlqArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(execute(args))
}

async fn execute(args: DlqArgs) -> anyhow::Result<ExitCode> {
    let broker = Broker::connect(&args.amqp_url, "gongkai-cli-dlq")
        .await
        .context("cannot reach the broker")?;
    let result = match args.command {
        DlqCommand::List { stage, limit, json } => list(&broker, stage, limit, json).await,
        DlqCommand::Redrive { stage } => redrive(&broker, &args.admin, stage).await,
    };
    broker.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn list(
    broker: &Broker,
    stage: Option<Stage>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let letters = dlq::list(broker, stage, limit)
        .await
        .context("cannot list the dead-letter queues")?;
    if json {
        for letter in &letters {
            println!("{}", serde_json::to_string(letter)?);
        }
        return Ok(());
    }
    if letters.is_empty() {
        println!("没有死信 / no dead letters");
        return Ok(());
    }
    println!("阶段/stage  报告/report_id                        次数/deaths  原因/reason");
    for letter in &letters {
        println!("{}", line(letter));
    }
    println!("共 {} 条 / {} dead letter(s)", letters.len(), letters.len());
    Ok(())
}

fn line(letter: &DeadLetter) -> String {
    let report = letter
        .report_id
        .map_or_else(|| "(undecodable)".to_owned(), |id| id.to_string());
    let mut reason = letter.reason.clone();
    if let Some(last) = &letter.last_error
        && !reason.contains(last.as_str())
    {
        reason.push_str(&format!(" [last error: {last}]"));
    }
    let deaths: Vec<String> = letter
        .deaths
        .iter()
        .map(|d| format!("{} in {} ×{}", d.reason, d.queue, d.count))
        .collect();
    if !deaths.is_empty() {
        reason.push_str(&format!(" [x-death: {}]", deaths.join("; ")));
    }
    if letter.redriven > 0 {
        reason.push_str(&format!(" [redriven {}×]", letter.redriven));
    }
    format!(
        "{:<11} {:<37} {:<12} {}",
        letter.stage.as_str(),
        report,
        letter.death_count,
        reason
    )
}

/// Moves the dead letters back and records who did it: the archive is opened first, so a
/// redrive that could not be audited does not happen.
async fn redrive(broker: &Broker, admin: &AdminArgs, stage: Option<Stage>) -> anyhow::Result<()> {
    let archive = admin.archive().await?;
    let moved = dlq::redrive(broker, stage)
        .await
        .context("cannot redrive the dead-letter queues")?;
    let recorded = archive
        .record_audit(&AuditEntry {
            actor: admin.actor(),
            action: "dlq.redrive".to_owned(),
            subject: Some(stage.map_or("all", |s| s.as_str()).to_owned()),
            detail: serde_json::json!({
                "moved": moved
                    .iter()
                    .map(|e| serde_json::json!({ "stage": e.stage.as_str(), "messages": e.moved }))
                    .collect::<Vec<_>>(),
            }),
        })
        .await;
    archive.close().await;
    recorded.context("the messages were redriven, but the audit entry could not be written")?;
    for entry in &moved {
        println!(
            "{}: 重新投递 {} 条 / {} message(s) moved back to {}",
            entry.stage,
            entry.moved,
            entry.moved,
            entry.stage.queue()
        );
    }
    Ok(())
}
