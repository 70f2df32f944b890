//! `gongkai bench`: end-to-end throughput and latency of the running pipeline (submit →
//! ARCHIVED, seen by WatchReport), and in the same run the broker's own ceiling for messages of
//! the pipeline's size (persistent, confirmed publishes to a scratch quorum queue), so that the
//! two figures can be compared on the same machine at the same moment.
//!
//! Every submitted report is made distinct (a unique comment line appended) so that none is
//! taken for a duplicate.

use crate::client::{GatewayClient, ServerArgs, connect};
use anyhow::{Context, bail};
use futures::StreamExt;
use gongkai_proto::v1::{self, ReportStatus};
use gongkai_queue::{Broker, FieldTable, StageMessage};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Reports to submit (after the warm-up).
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub count: usize,
    /// Concurrent clients; each submits a report and waits for it to be ARCHIVED before the next.
    #[arg(long, short = 'c', default_value_t = 32)]
    pub concurrency: usize,
    /// Open loop instead: submit at this many reports per second, whatever the pipeline does.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Reports submitted first and not measured (fills caches and pools).
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// Where the reports come from (default `samples/`, else `../shared/corpus`). HTML,
    /// Markdown and text files are used; PDFs too with --all-formats.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Also use PDF files (a comment line appended after `%%EOF`).
    #[arg(long)]
    pub all_formats: bool,
    /// Confirmed publishes for the broker ceiling; 0 skips it.
    #[arg(long, default_value_t = 20_000)]
    pub broker_messages: usize,
    /// Publishes in flight for the broker ceiling.
    #[arg(long, default_value_t = 64)]
    pub broker_window: usize,
    /// The broker for the ceiling measurement.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Keep each source's agency in every copy (all copies of one source then fall into one
    /// (agency, year) version series, which the archive serialises). By default each copy's
    /// agency gets a unique prefix, as in a bulk load of many agencies.
    #[arg(long)]
    pub same_agency: bool,
    /// Give up on a report after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Then re-validate the whole archive (RevalidateReports, forced) and measure it, beside
    /// the submission pipeline's figure of the same run.
    #[arg(long)]
    pub revalidate: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(bench(args))
}

struct Document {
    name: String,
    bytes: Vec<u8>,
    pdf: bool,
    /// The agency as it is encoded in `bytes`, and the encoding, when it can be varied.
    agency: Option<(String, &'static encoding_rs::Encoding)>,
}

/// The agency named in `bytes` and the encoding of the text, read the way the pipeline reads
/// them, when that name occurs literally in the bytes.
fn agency_of(bytes: &[u8], name: &str) -> Option<(String, &'static encoding_rs::Encoding)> {
    let (source, report) = gongkai_engine::read(bytes, name).ok()?;
    let agency = report.agency?;
    let encoding = source
        .encoding
        .as_deref()
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (encoded, _, unmappable) = encoding.encode(&agency);
    (!unmappable && contains(bytes, &encoded)).then_some((agency, encoding))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace_all(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len() + replacement.len() * 4);
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(replacement);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// `index` in Chinese digits (`一二〇`), so that a varied agency name holds no Arabic digits
/// that a reader could take for part of the year.
fn chinese_digits(index: usize) -> String {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    index
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10).map(|d| DIGITS[d as usize]))
        .collect()
}

fn load_documents(args: &BenchArgs) -> anyhow::Result<Vec<Document>> {
    let dir = match &args.from {
        Some(dir) => dir.clone(),
        None => ["samples", "../shared/corpus"]
            .iter()
            .map(PathBuf::from)
            .find(|d| d.is_dir())
            .context("no samples/ directory here; name one with --from")?,
    };
    let mut documents = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for path in entries {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let pdf = extension == "pdf";
        let text = matches!(extension.as_str(), "html" | "htm" | "md" | "txt");
        if !(text || (pdf && args.all_formats)) {
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = file_name(&path);
        let agency = if args.same_agency || pdf {
            None
        } else {
            agency_of(&bytes, &name)
        };
        documents.push(Document {
            name,
            bytes,
            pdf,
            agency,
        });
    }
    if documents.is_empty() {
        bail!("no usable reports in {}", dir.display());
    }
    Ok(documents)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `index`-th document of the run, made unique by a trailing comment.
fn distinct(document: &Document, run: &str, index: usize) -> Vec<u8> {
    let mut bytes = match &document.agency {
        Some((agency, encoding)) => {
            let (from, _, _) = encoding.encode(agency);
            let varied = format!("基准{}{agency}", chinese_digits(index));
            let (to, _, _) = encoding.encode(&varied);
            replace_all(&document.bytes, &from, &to)
        }
        None => document.bytes.clone(),
    };
    if document.pdf {
        bytes.extend_from_slice(format!("\n%gongkai-bench {run} {index}\n").as_bytes());
    } else {
        bytes.extend_from_slice(format!("\n<!-- gongkai-bench {run} {index} -->\n").as_bytes());
    }
    bytes
}

#[derive(Default)]
struct Tally {
    archived: AtomicUsize,
    failed: AtomicUsize,
    errors: AtomicUsize,
}

/// Submits one report and follows it to its final status; the time from the submit call to
/// the final event.
async fn one_report(
    mut client: GatewayClient,
    name: String,
    content: Vec<u8>,
    timeout: Duration,
    tally: &Tally,
) -> Option<Duration> {
    let started = Instant::now();
    let outcome = async {
        let submitted = client
            .submit_report(v1::SubmitReportRequest {
                content,
                filename: name,
                media_type: None,
                source_system: "gongkai-bench".to_owned(),
                idempotency_key: None,
                batch: None,
                region: None,
            })
            .await?
            .into_inner();
        let mut events = client
            .watch_report(v1::WatchReportRequest {
                report_id: submitted.report_id,
            })
            .await?
            .into_inner();
        let mut last = ReportStatus::Unspecified;
        while let Some(event) = events.next().await {
            last = ReportStatus::try_from(event?.status).unwrap_or(ReportStatus::Unspecified);
            if last.is_final() {
                break;
            }
        }
        Ok::<_, tonic::Status>(last)
    };
    match tokio::time::timeout(timeout, outcome).await {
        Ok(Ok(ReportStatus::Archived)) => {
            tally.archived.fetch_add(1, Ordering::Relaxed);
            Some(started.elapsed())
        }
        Ok(Ok(ReportStatus::Failed)) => {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            Some(started.elapsed())
        }
        Ok(Ok(other)) => {
            eprintln!("bench: watch ended at {}", other.word());
            tally.errors.fetch_add(1, Ordering::Relaxed);
            None
        }
        Ok(Err(status)) => {
            eprintln!("bench: {}: {}", status.code(), status.message());
            tally.errors.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            eprintln!("bench: a report did not finish within {timeout:?}");
            tally.errors.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn clients(server: &ServerArgs, n: usize) -> anyhow::Result<Vec<GatewayClient>> {
    let mut clients = Vec::new();
    for _ in 0..n.clamp(1, 8) {
        clients.push(connect(server).await?);
    }
    Ok(clients)
}

/// Runs `count` reports with `concurrency` closed-loop clients (or at `rate` per second).
async fn pipeline(
    args: &BenchArgs,
    documents: &Arc<Vec<Document>>,
    count: usize,
    run: &str,
    offset: usize,
) -> anyhow::Result<(Duration, Vec<Duration>, Arc<Tally>)> {
    let channels = clients(&args.server, args.concurrency).await?;
    let tally = Arc::new(Tally::default());
    let timeout = Duration::from_secs(args.timeout);
    let started = Instant::now();
    let latencies: Vec<Duration> = match args.rate {
        None => {
            let next = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for c in 0..args.concurrency.max(1) {
                let client = channels[c % channels.len()].clone();
                let (next, documents, tally, run) = (
                    next.clone(),
                    documents.clone(),
                    tally.clone(),
                    run.to_owned(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let document = &documents[i % documents.len()];
                        let content = distinct(document, &run, offset + i);
                        if let Some(latency) = one_report(
                            client.clone(),
                            document.name.clone(),
                            content,
                            timeout,
                            &tally,
                        )
                        .await
                        {
                            mine.push(latency);
                        }
                    }
                    mine
                }));
            }
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await?);
            }
            all
        }
        Some(rate) => {
            if !rate.is_finite() || rate <= 0.0 {
                bail!("--rate must be positive");
            }
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = Vec::with_capacity(count);
            for i in 0..count {
                ticker.tick().await;
                let client = channels[i % channels.len()].clone();
                let document = &documents[i % documents.len()];
                let content = distinct(document, run, offset + i);
                let (name, tally) = (document.name.clone(), tally.clone());
                tasks.push(tokio::spawn(async move {
                    one_report(client, name, content, timeout, &tally).await
                }));
            }
            let mut all = Vec::new();
            for task in tasks {
                if let Some(latency) = task.await? {
                    all.push(latency);
                }
            }
            all
        }
    };
    Ok((started.elapsed(), latencies, tally))
}

/// Persistent, mandatory, confirmed publishes of `size`-byte bodies to a scratch quorum queue,
/// `window` in flight; messages per second.
async fn broker_ceiling(args: &BenchArgs, body: &[u8]) -> anyhow::Result<f64> {
    use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
    let broker = Broker::connect(&args.amqp_url, "gongkai-bench").await?;
    let channel = broker.channel().await?;
    let queue = format!("gongkai.bench.{}", uuid::Uuid::new_v4().simple());
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            gongkai_queue::topology::dead_letter_queue_arguments(),
        )
        .await
        .context("declaring the scratch queue")?;
    let publisher = broker.publisher().await?;
    let started = Instant::now();
    let results: Vec<Result<(), gongkai_queue::PublishError>> =
        futures::stream::iter(0..args.broker_messages)
            .map(|_| {
                let publisher = publisher.clone();
                let queue = queue.clone();
                async move {
                    publisher
                        .publish_raw(
                            "",
                            &queue,
                            body,
                            publisher.properties(FieldTable::default()),
                        )
                        .await
                }
            })
            .buffer_unordered(args.broker_window.max(1))
            .collect()
            .await;
    let elapsed = started.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let _ = channel
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    broker.close().await;
    if failed > 0 {
        bail!(
            "{failed} of {} publishes were not confirmed",
            args.broker_messages
        );
    }
    Ok(args.broker_messages as f64 / elapsed.as_secs_f64())
}

/// Re-validates every current archived report (forced) and follows its batch to the end:
/// how many, in how many seconds (from the request to the last report finished), how many
/// failed.
async fn revalidate_archive(args: &BenchArgs) -> anyhow::Result<(u32, f64, u32)> {
    let mut client = connect(&args.server).await?;
    let started = Instant::now();
    let answer = client
        .revalidate_reports(v1::RevalidateReportsRequest {
            force: true,
            ..Default::default()
        })
        .await
        .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
        .into_inner();
    let mut views = client
        .watch_batch(v1::WatchBatchRequest {
            batch: answer.batch.clone(),
        })
        .await
        .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
        .into_inner();
    let mut failed = 0;
    while let Some(view) = views.next().await {
        let view = view.map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
        failed = view.failed;
    }
    Ok((answer.queued, started.elapsed().as_secs_f64(), failed))
}

async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let documents = Arc::new(load_documents(&args)?);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let names: Vec<&str> = documents.iter().map(|d| d.name.as_str()).collect();
    let mean_size = documents.iter().map(|d| d.bytes.len()).sum::<usize>() / documents.len().max(1);
    let varied = documents.iter().filter(|d| d.agency.is_some()).count();
    println!(
        "reports: {} distinct sources ({}), mean {} bytes, each copy made unique; {varied} of {} sources with a unique agency per copy",
        documents.len(),
        names.join(", "),
        mean_size,
        documents.len()
    );
    let mode = match args.rate {
        Some(rate) => format!("open loop at {rate} reports/s"),
        None => format!("{} concurrent clients", args.concurrency.max(1)),
    };

    if args.warmup > 0 {
        let (_, _, tally) = pipeline(&args, &documents, args.warmup, &run, 0).await?;
        if tally.errors.load(Ordering::Relaxed) > 0 {
            bail!(
                "the warm-up failed; is `gongkai up` running at {}?",
                args.server.server
            );
        }
    }
    let (elapsed, mut latencies, tally) =
        pipeline(&args, &documents, args.count, &run, args.warmup).await?;
    latencies.sort();
    let finished = latencies.len();
    let throughput = finished as f64 / elapsed.as_secs_f64();
    println!(
        "pipeline: {} reports, {mode}: {finished} finished in {:.2} s = {throughput:.1} reports/s end to end",
        args.count,
        elapsed.as_secs_f64()
    );
    println!(
        "  latency submit -> final: p50 {}  p90 {}  p99 {}  max {}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "  outcomes: {} archived, {} failed, {} not finished",
        tally.archived.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed)
    );

    if args.revalidate {
        let (reports, seconds, failed) = revalidate_archive(&args).await?;
        let rate = reports as f64 / seconds;
        println!(
            "re-validation: {reports} archived reports (forced) in {seconds:.2} s = {rate:.1} reports/s, {failed} failed; {:.2}x the pipeline's {throughput:.1} reports/s",
            rate / throughput
        );
    }

    if args.broker_messages > 0 {
        let sample = StageMessage {
            report_id: uuid::Uuid::now_v7(),
            sha256: "0".repeat(64),
            blob_key: format!("sha256/{}", "0".repeat(64)),
            filename: documents[0].name.clone(),
            source_system: Some("gongkai-bench".to_owned()),
            attempt: 0,
            kind: gongkai_queue::MessageKind::Submission,
            batch: None,
        };
        let body = sample.to_json()?;
        let rate = broker_ceiling(&args, &body).await?;
        println!(
            "broker ceiling: {} persistent confirmed publishes of {} bytes to a scratch quorum queue, {} in flight: {rate:.0} msg/s (the pipeline publishes 3 per report: {:.0} reports/s)",
            args.broker_messages,
            body.len(),
            args.broker_window.max(1),
            rate / 3.0
        );
    }
    Ok(if tally.errors.load(Ordering::Relaxed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
