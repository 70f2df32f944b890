//! `gongkai submit`, `get`, `watch` and `list`: the gRPC client side of the pipeline, for
//! people at a terminal and for scripts (`--json`).

use anyhow::{Context, bail};
use futures::StreamExt;
use gongkai_proto::ReportServiceClient;
use gongkai_proto::v1::{self, ReportStatus};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use unicode_width::UnicodeWidthStr;

/// The gateway to talk to, and how to show who we are.
#[derive(Clone, clap::Args)]
pub struct ServerArgs {
    /// The gateway's address; `https://…` for a gateway serving TLS.
    #[arg(
        long,
        global = true,
        env = "GONGKAI_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// The caller's bearer token (`gongkai token create`), for a gateway with AUTH=required.
    #[arg(long, global = true, env = "GONGKAI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) to trust for the gateway's TLS certificate, instead of the
    /// system's roots.
    #[arg(long, global = true, env = "GONGKAI_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) to present, for a gateway with GRPC_TLS_CLIENT_CA.
    #[arg(long, global = true, env = "GONGKAI_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, global = true, env = "GONGKAI_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl std::fmt::Debug for ServerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerArgs")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .finish_non_exhaustive()
    }
}

/// Adds `authorization: Bearer <token>` to every call, when there is a token.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client of the gateway that presents the caller's token.
pub type GatewayClient = ReportServiceClient<InterceptedService<Channel, BearerToken>>;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The report documents (HTML, PDF, DOCX, text, Markdown), or directories of them (their
    /// files, not their subdirectories, in name order).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A batch label grouping these submissions (`gongkai batch show LABEL`).
    #[arg(long)]
    pub batch: Option<String>,
    /// Wait for each report to be archived (or to fail) and print its outcome.
    #[arg(long)]
    pub wait: bool,
    /// Who is submitting, recorded with each report.
    #[arg(long, default_value = "gongkai-cli")]
    pub source_system: String,
    /// An idempotency key (only with a single file): a second submission with the same key
    /// returns the first report.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// The agency's region path (`江苏省/淮安市/洪泽区`); without it the region is read from
    /// the agency's name.
    #[arg(long)]
    pub region: Option<String>,
    /// How long --wait waits for one report, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The report id (a UUID).
    pub id: String,
    /// Print the report as JSON (the shape of `check --json`, with status and events).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The report id (a UUID).
    pub id: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only agencies whose name contains this text.
    #[arg(long)]
    pub agency: Option<String>,
    #[arg(long)]
    pub year: Option<u32>,
    /// F2019, F2021, mixed, legacy, unknown.
    #[arg(long)]
    pub template: Option<String>,
    /// received, parsed, validated, archived, failed.
    #[arg(long)]
    pub status: Option<String>,
    /// Only reports with an error finding.
    #[arg(long, conflicts_with = "no_errors")]
    pub errors: bool,
    /// Only reports without an error finding.
    #[arg(long)]
    pub no_errors: bool,
    /// Only archived reports with an error finding that no reviewer has judged (`gongkai judge`).
    #[arg(long)]
    pub unjudged: bool,
    /// Reports per page.
    #[arg(long, default_value_t = 50)]
    pub page_size: u32,
    /// Continue after this page token.
    #[arg(long)]
    pub page_token: Option<String>,
    /// Follow the page tokens to the end.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Connects to the gateway (over TLS for an `https://` address), with message limits large
/// enough for any accepted report, presenting the token when there is one.
pub async fn connect(args: &ServerArgs) -> anyhow::Result<GatewayClient> {
    let server = &args.server;
    let mut endpoint = Channel::from_shared(server.clone())
        .with_context(|| format!("{server:?} is not a gateway address"))?
        .connect_timeout(Duration::from_secs(5));
    if server.starts_with("https://") || args.tls_ca.is_some() || args.tls_cert.is_some() {
        let mut tls = ClientTlsConfig::new();
        match &args.tls_ca {
            Some(ca) => tls = tls.ca_certificate(Certificate::from_pem(read_pem(ca).await?)),
            None => tls = tls.with_enabled_roots(),
        }
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            tls = tls.identity(Identity::from_pem(
                read_pem(cert).await?,
                read_pem(key).await?,
            ));
        }
        endpoint = endpoint
            .tls_config(tls)
            .context("cannot set up TLS to the gateway")?;
    }
    let channel = endpoint.connect().await.with_context(|| {
        format!("cannot reach the gateway at {server} (is `gongkai up` running?)")
    })?;
    let token = match &args.token {
        Some(token) => Some(
            format!("Bearer {}", token.trim())
                .parse::<MetadataValue<Ascii>>()
                .context("the token holds characters a header cannot carry")?,
        ),
        None => None,
    };
    Ok(
        ReportServiceClient::with_interceptor(channel, BearerToken(token))
            .max_decoding_message_size(256 * 1024 * 1024)
            .max_encoding_message_size(usize::MAX),
    )
}

async fn read_pem(path: &Path) -> anyhow::Result<Vec<u8>> {
    tokio::fs::read(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))
}

fn status_word(code: i32) -> &'static str {
    ReportStatus::try_from(code)
        .unwrap_or(ReportStatus::Unspecified)
        .word()
}

fn status_of(code: i32) -> ReportStatus {
    ReportStatus::try_from(code).unwrap_or(ReportStatus::Unspecified)
}

/// One line about a finished report: status, agency, year, template, finding counts.
pub fn outcome_line(report: &v1::Report) -> String {
    let summary = report.summary.unwrap_or_default();
    let mut line = format!(
        "{:<9} {} {} {}",
        status_word(report.status).to_uppercase(),
        report.agency.as_deref().unwrap_or("(agency unknown)"),
        report
            .year
            .map(|y| y.to_string())
            .unwrap_or_else(|| "(year unknown)".to_owned()),
        report.template.as_deref().unwrap_or("-"),
    );
    if status_of(report.status) == ReportStatus::Failed {
        let reason = report
            .events
            .iter()
            .rev()
            .find_map(|e| e.detail.clone())
            .unwrap_or_default();
        line.push_str(&format!("  failed: {reason}"));
    } else {
        line.push_str(&format!(
            "  errors {} warnings {} infos {}",
            summary.errors, summary.warnings, summary.infos
        ));
    }
    line
}

/// Follows a report until it is final (WatchReport), then reads it (GetReport).
pub async fn wait_final(
    client: &mut GatewayClient,
    report_id: &str,
    timeout: Duration,
) -> anyhow::Result<v1::Report> {
    let follow = async {
        let mut events = client
            .watch_report(v1::WatchReportRequest {
                report_id: report_id.to_owned(),
            })
            .await?
            .into_inner();
        while let Some(event) = events.next().await {
            if status_of(event?.status).is_final() {
                break;
            }
        }
        Ok::<_, tonic::Status>(())
    };
    tokio::time::timeout(timeout, follow)
        .await
        .with_context(|| format!("report {report_id} did not finish within {timeout:?}"))?
        .with_context(|| format!("watching report {report_id}"))?;
    let report = client
        .get_report(v1::GetReportRequest {
            report_id: report_id.to_owned(),
        })
        .await
        .with_context(|| format!("reading report {report_id}"))?
        .into_inner();
    Ok(report)
}

async fn submit_one(
    mut client: GatewayClient,
    path: &Path,
    args: &SubmitArgs,
) -> anyhow::Result<(v1::SubmitReportResponse, Option<v1::Report>)> {
    let content = tokio::fs::read(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let response = client
        .submit_report(v1::SubmitReportRequest {
            content,
            filename: path.display().to_string(),
            media_type: None,
            source_system: args.source_system.clone(),
            idempotency_key: args.idempotency_key.clone(),
            batch: args.batch.clone(),
            region: args.region.clone(),
        })
        .await
        .map_err(|status| anyhow::anyhow!("{}: {}", status.code(), status.message()))?
        .into_inner();
    let report = if args.wait {
        Some(
            wait_final(
                &mut client,
                &response.report_id,
                Duration::from_secs(args.timeout),
            )
            .await?,
        )
    } else {
        None
    };
    Ok((response, report))
}

/// The files named, with each directory replaced by its files (not its subdirectories, hidden
/// files left out) in name order.
fn expand_directories(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the directory {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        inside.sort();
        files.extend(inside);
    }
    if files.is_empty() {
        bail!("no files to submit");
    }
    Ok(files)
}

/// `gongkai submit FILE|DIR... [--batch LABEL] [--wait]`. Exit code: 0 when every file was accepted (and, with
/// `--wait`, archived), 1 when a report FAILED in the pipeline, 2 when a file could not be
/// submitted at all.
pub async fn submit(args: SubmitArgs) -> anyhow::Result<i32> {
    if args.idempotency_key.is_some() && args.files.len() > 1 {
        bail!(
            "--idempotency-key applies to one file; {} given",
            args.files.len()
        );
    }
    let files = expand_directories(&args.files)?;
    let client = connect(&args.server).await?;
    let width = files
        .iter()
        .map(|f| UnicodeWidthStr::width(f.display().to_string().as_str()))
        .max()
        .unwrap_or(0);
    let mut results = futures::stream::iter(files.iter())
        .map(|path| {
            let client = client.clone();
            let args = &args;
            async move { (path, submit_one(client, path, args).await) }
        })
        .buffered(8);
    // A long submission at a terminal shows its progress; the lines go to standard output
    // above the bar (and alone when standard error is not a terminal).
    let progress = (files.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} 份  {per_sec}  剩余 {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let say = |line: String| match &progress {
        Some(bar) => bar.suspend(|| println!("{line}")),
        None => println!("{line}"),
    };
    let mut exit = 0;
    while let Some((path, result)) = results.next().await {
        if let Some(bar) = &progress {
            bar.inc(1);
        }
        let name = path.display().to_string();
        let padding = width.saturating_sub(UnicodeWidthStr::width(name.as_str()));
        match result {
            Ok((response, report)) => {
                let duplicate = if response.duplicate {
                    " (duplicate)"
                } else {
                    ""
                };
                match report {
                    Some(report) => {
                        if status_of(report.status) == ReportStatus::Failed {
                            exit = exit.max(1);
                        }
                        say(format!(
                            "{name}{:padding$}  {}{duplicate}  {}",
                            "",
                            response.report_id,
                            outcome_line(&report)
                        ));
                    }
                    None => say(format!(
                        "{name}{:padding$}  {}{duplicate}  {}",
                        "",
                        response.report_id,
                        status_word(response.status).to_uppercase()
                    )),
                }
            }
            Err(error) => {
                exit = 2;
                let line = format!("{name}{:padding$}  not submitted: {error:#}", "");
                match &progress {
                    Some(bar) => bar.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(batch) = &args.batch {
        println!("batch {batch}: gongkai batch show {batch:?}");
    }
    Ok(exit)
}

/// `gongkai get ID [--json]`.
pub async fn get(args: GetArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let report = client
        .get_report(v1::GetReportRequest {
            report_id: args.id.clone(),
        })
        .await
        .map_err(|status| anyhow::anyhow!("{}: {}", status.code(), status.message()))?
        .into_inner();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    } else {
        print_report(&report);
    }
    Ok(0)
}

/// `gongkai watch ID`: every status change until the report is final.
pub async fn watch(args: WatchArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let mut events = client
        .watch_report(v1::WatchReportRequest {
            report_id: args.id.clone(),
        })
        .await
        .map_err(|status| anyhow::anyhow!("{}: {}", status.code(), status.message()))?
        .into_inner();
    let mut last = ReportStatus::Unspecified;
    while let Some(event) = events.next().await {
        let event = event.map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
        println!("{}", event_line(&event));
        last = status_of(event.status);
    }
    Ok(if last == ReportStatus::Failed { 1 } else { 0 })
}

/// `gongkai list [filters]`.
pub async fn list(args: ListArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let status = match &args.status {
        None => ReportStatus::Unspecified,
        Some(word) => {
            ReportStatus::from_word(word).with_context(|| format!("unknown status {word:?}"))?
        }
    };
    let has_errors = match (args.errors, args.no_errors) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let mut token = args.page_token.clone().unwrap_or_default();
    loop {
        let page = client
            .list_reports(v1::ListReportsRequest {
                agency: args.agency.clone(),
                year: args.year,
                template: args.template.clone(),
                status: status as i32,
                has_errors,
                page_size: args.page_size,
                page_token: token.clone(),
                unjudged_errors: args.unjudged.then_some(true),
            })
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
            .into_inner();
        for line in &page.reports {
            let summary = line.summary.unwrap_or_default();
            println!(
                "{}  {:<9}  {:<6} {:<7}  E{:<3} W{:<3}  {}  {}",
                line.report_id,
                status_word(line.status).to_uppercase(),
                line.year.map(|y| y.to_string()).unwrap_or_default(),
                line.template.as_deref().unwrap_or("-"),
                summary.errors,
                summary.warnings,
                line.agency.as_deref().unwrap_or("-"),
                line.filename
            );
        }
        if page.next_page_token.is_empty() {
            break;
        }
        if !args.all {
            eprintln!("more: --page-token {}", page.next_page_token);
            break;
        }
        token = page.next_page_token;
    }
    Ok(0)
}

fn time_text(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn millis_between(a: Option<&prost_types::Timestamp>, b: Option<&prost_types::Timestamp>) -> i64 {
    match (a, b) {
        (Some(a), Some(b)) => {
            (b.seconds - a.seconds) * 1000 + i64::from(b.nanos - a.nanos) / 1_000_000
        }
        _ => 0,
    }
}

pub fn event_line(event: &v1::ReportEvent) -> String {
    format!(
        "{} {:<8} {:<9} {:>5} ms  -> {}{}",
        time_text(event.started_at.as_ref()),
        event.stage,
        event.outcome,
        millis_between(event.started_at.as_ref(), event.finished_at.as_ref()),
        status_word(event.status).to_uppercase(),
        event
            .detail
            .as_deref()
            .map(|d| format!("  ({d})"))
            .unwrap_or_default()
    )
}

fn severity_word(code: i32) -> &'static str {
    match v1::Severity::try_from(code).unwrap_or(v1::Severity::Unspecified) {
        v1::Severity::Error => "error",
        v1::Severity::Warning => "warning",
        v1::Severity::Info => "info",
        v1::Severity::Unspecified => "?",
    }
}

/// A finding's judgement as `gongkai judge` spells it; `None` when no one judged it.
fn disposition_word(code: i32) -> Option<&'static str> {
    match v1::Disposition::try_from(code).unwrap_or(v1::Disposition::Unspecified) {
        v1::Disposition::Unspecified => None,
        v1::Disposition::ConfirmedAsPublished => Some("confirmed"),
        v1::Disposition::ToBeCorrected => Some("to-correct"),
        v1::Disposition::NotAProblem => Some("not-a-problem"),
    }
}

fn cell_state_word(code: i32) -> &'static str {
    v1::CellState::try_from(code)
        .unwrap_or(v1::CellState::Unspecified)
        .word()
}

fn print_report(report: &v1::Report) {
    println!("report   {}", report.report_id);
    println!("status   {}", outcome_line(report));
    if let Some(title) = &report.title {
        println!("title    {title}");
    }
    if let Some(source) = &report.source {
        println!(
            "source   {} ({} bytes, {}, sha256 {})",
            source.filename, source.bytes, source.media_type, source.sha256
        );
    }
    if !report.rules_version.is_empty() {
        println!("rules    {}", report.rules_version);
    }
    if let Some(version) = report.version {
        let kind = if report.kind == v1::ReportKind::Correction as i32 {
            "correction"
        } else {
            "submission"
        };
        println!("version  {version} ({kind})");
    }
    if let Some(parent) = &report.parent_report_id {
        println!(
            "corrects {parent}{}",
            report
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    if let Some(next) = &report.superseded_by {
        println!("replaced by {next}");
    }
    for table in &report.tables {
        let read = table
            .cells
            .iter()
            .filter(|c| c.state == v1::CellState::Number as i32)
            .count();
        println!(
            "table    {}: {read} of {} cells read",
            table.table,
            table.cells.len()
        );
    }
    if !report.findings.is_empty() {
        println!("findings");
        for f in &report.findings {
            let place = [f.table.as_deref(), f.row.as_deref(), f.column.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(".");
            let numbers = match (&f.expected, &f.found) {
                (Some(e), Some(a)) => format!(" (expected {e}, found {a})"),
                _ => String::new(),
            };
            println!(
                "  {:<7} {:<18} {place}  {}{numbers}",
                severity_word(f.severity),
                f.rule,
                f.message
            );
            if let Some(judged) = disposition_word(f.disposition) {
                println!(
                    "          审核 / judged: {judged}{}{}",
                    f.disposition_caller
                        .as_deref()
                        .map(|c| format!(" by {c}"))
                        .unwrap_or_default(),
                    f.disposition_note
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .map(|n| format!(" — {n}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    if !report.events.is_empty() {
        println!("events");
        for e in &report.events {
            println!("  {}", event_line(e));
        }
    }
}

/// An exact decimal text as a JSON number (the model's JSON writes decimals as numbers).
fn exact_number(text: &str) -> serde_json::Value {
    text.parse::<serde_json::Number>()
        .map(serde_json::Value::Number)
        .unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// The report in the JSON shape of §8 of the spec, plus id, status and events.
pub fn report_json(report: &v1::Report) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut tables = Map::new();
    for table in &report.tables {
        let mut rows: Map<String, Value> = Map::new();
        for cell in &table.cells {
            let mut value = Map::new();
            value.insert(
                "value".to_owned(),
                cell.value
                    .as_deref()
                    .map(exact_number)
                    .unwrap_or(Value::Null),
            );
            value.insert("text".to_owned(), Value::String(cell.text.clone()));
            value.insert(
                "state".to_owned(),
                Value::String(cell_state_word(cell.state).to_owned()),
            );
            if let Some(unit) = &cell.unit {
                value.insert("unit".to_owned(), Value::String(unit.clone()));
            }
            if !cell.candidates.is_empty() {
                value.insert(
                    "candidates".to_owned(),
                    Value::Array(cell.candidates.iter().map(|c| exact_number(c)).collect()),
                );
            }
            let row = rows
                .entry(cell.row.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(row) = row {
                row.insert(cell.column.clone(), Value::Object(value));
            }
        }
        tables.insert(table.table.clone(), Value::Object(rows));
    }
    let observed = |v: &Option<String>| match v.as_deref() {
        None => Value::Null,
        Some(text) => match text.parse::<serde_json::Number>() {
            Ok(n) => Value::Number(n),
            Err(_) => Value::String(text.to_owned()),
        },
    };
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": severity_word(f.severity),
                "table": f.table,
                "row": f.row,
                "column": f.column,
                "expected": observed(&f.expected),
                "actual": observed(&f.found),
                "message": f.message,
                "message_en": f.message_en,
                "disposition": disposition_word(f.disposition),
                "disposition_note": f.disposition_note,
                "disposition_caller": f.disposition_caller,
            })
        })
        .collect();
    let summary = report.summary.unwrap_or_default();
    let source = report.source.clone().unwrap_or_default();
    json!({
        "report_id": report.report_id,
        "status": status_word(report.status).to_uppercase(),
        "source": {
            "name": source.filename,
            "sha256": source.sha256,
            "media_type": source.media_type,
            "encoding": source.encoding,
            "bytes": source.bytes,
            "source_system": source.source_system,
        },
        "report": {
            "title": report.title,
            "agency": report.agency,
            "year": report.year,
            "template": report.template,
            "sections": report.sections.iter().map(|s| json!({
                "number": s.number, "heading": s.heading, "found": s.found, "text": s.text,
            })).collect::<Vec<_>>(),
            "tables": Value::Object(tables),
        },
        "findings": findings,
        "summary": { "errors": summary.errors, "warnings": summary.warnings, "infos": summary.infos },
        "rules_version": report.rules_version,
        "superseded": report.superseded,
        "events": report.events.iter().map(|e| json!({
            "stage": e.stage,
            "outcome": e.outcome,
            "status": status_word(e.status).to_uppercase(),
            "started_at": time_iso(e.started_at.as_ref()),
            "finished_at": time_iso(e.finished_at.as_ref()),
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    })
}

fn time_iso(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Runs one client command on a fresh runtime and turns its exit code into the process's.
pub fn run(
    command: impl std::future::Future<Output = anyhow::Result<i32>>,
) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(command)?;
    Ok(std::process::ExitCode::from(
        u8::try_from(code).unwrap_or(2),
    ))
}
