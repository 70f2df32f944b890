//! `gongkai metrics`, `gongkai export` and `gongkai agency`: the questions of the whole
//! archive (archive.md §5–§6) from a terminal — an aligned table of metrics per group, the
//! metric dictionary, exports written to a file as they stream, and the admin's agency aliases.

use crate::client::{ServerArgs, connect};
use anyhow::{Context, bail};
use futures::StreamExt;
use gongkai_proto::v1;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use unicode_width::UnicodeWidthStr;

/// The report selection shared by `metrics` and `export` (`ReportFilter`).
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only agencies whose printed name contains this text.
    #[arg(long)]
    pub agency: Option<String>,
    /// Only regions under this path (`江苏省/淮安市`).
    #[arg(long)]
    pub region: Option<String>,
    /// The first year, inclusive.
    #[arg(long)]
    pub year_from: Option<u32>,
    /// The last year, inclusive.
    #[arg(long)]
    pub year_to: Option<u32>,
    /// One year (sets both --year-from and --year-to).
    #[arg(long, conflicts_with_all = ["year_from", "year_to"])]
    pub year: Option<u32>,
    /// F2019, F2021, mixed, legacy, unknown.
    #[arg(long)]
    pub template: Option<String>,
    /// Every archived version, not only each series' current report.
    #[arg(long)]
    pub all_versions: bool,
}

impl FilterArgs {
    fn filter(&self) -> v1::ReportFilter {
        v1::ReportFilter {
            agency: self.agency.clone(),
            region: self.region.clone(),
            year_from: self.year.or(self.year_from),
            year_to: self.year.or(self.year_to),
            template: self.template.clone(),
        }
    }
}

/// What to ask of the metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// Metric keys (comma-separated or repeated); none: every metric. `--list` shows them.
    #[arg(long = "metric", value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Group by any of year, agency, region (comma-separated, in order).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Percentiles of the per-report values, e.g. 25,50,75.
    #[arg(long, value_delimiter = ',')]
    pub percentiles: Vec<u32>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

impl QueryArgs {
    fn request(&self) -> v1::QueryMetricsRequest {
        v1::QueryMetricsRequest {
            metrics: self.metrics.clone(),
            filter: Some(self.filter.filter()),
            group_by: self.group_by.clone(),
            percentiles: self.percentiles.clone(),
            all_versions: self.filter.all_versions,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Print the metric dictionary (ListMetrics) instead of values.
    #[arg(long)]
    pub list: bool,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub query: QueryArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// csv, xlsx or parquet.
    #[arg(long)]
    pub format: String,
    /// The file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Export the metrics answer (ExportMetrics, with --metric, --group-by, --percentiles)
    /// instead of the cells (ExportCells).
    #[arg(long)]
    pub metrics: bool,
    #[command(flatten)]
    pub query: QueryArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct AgencyArgs {
    #[command(subcommand)]
    pub command: AgencyCommand,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum AgencyCommand {
    /// 声明同一机关的另一名称 / declare that the body printed OLD is the body printed NEW.
    Alias {
        /// The name (or agency key) the reports to move printed: `洪泽区人民政府`.
        old: String,
        /// The name (or agency key) of the body they are of: `淮安市洪泽区人民政府`.
        new: String,
    },
    /// 列出全部机关别名 / list the declared aliases.
    Aliases,
}

fn grpc(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", status.code(), status.message())
}

/// Prints `rows` with every column as wide as its widest cell (CJK counted double), numbers
/// right-aligned from column `first_number` on.
fn print_table(header: &[String], rows: &[Vec<String>], first_number: usize) {
    let mut widths: Vec<usize> = header
        .iter()
        .map(|h| UnicodeWidthStr::width(h.as_str()))
        .collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(UnicodeWidthStr::width(cell.as_str()));
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(width.saturating_sub(UnicodeWidthStr::width(cell.as_str())));
            if i > 0 {
                out.push_str("  ");
            }
            if i >= first_number {
                out.push_str(&pad);
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_owned()
    };
    println!("{}", line(header));
    for row in rows {
        println!("{}", line(row));
    }
}

pub async fn metrics(args: MetricsArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    if args.list {
        let dictionary = client
            .list_metrics(v1::ListMetricsRequest {})
            .await
            .map_err(grpc)?
            .into_inner();
        println!("METRICS_VERSION {}", dictionary.metrics_version);
        let header = ["key", "名称", "unit", "formula"].map(str::to_owned);
        let rows: Vec<Vec<String>> = dictionary
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.key.clone(),
                    m.name_zh.clone(),
                    m.unit.clone(),
                    m.formula.clone(),
                ]
            })
            .collect();
        print_table(&header, &rows, usize::MAX);
        return Ok(0);
    }
    let request = args.query.request();
    let answer = client
        .query_metrics(request.clone())
        .await
        .map_err(grpc)?
        .into_inner();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer_json(&answer))?);
        return Ok(0);
    }
    let mut header: Vec<String> = request.group_by.clone();
    if request.group_by.iter().any(|g| g == "agency") {
        header.push("agency_name".into());
    }
    let first_number = header.len() + 1;
    header.extend(["metric", "value", "reports", "excluded"].map(str::to_owned));
    header.extend(request.percentiles.iter().map(|p| format!("P{p}")));
    let mut rows = Vec::new();
    for group in &answer.groups {
        let mut keys: Vec<String> = request
            .group_by
            .iter()
            .map(|g| match g.as_str() {
                "year" => group.year.map(|y| y.to_string()).unwrap_or_default(),
                "agency" => group.agency.clone().unwrap_or_default(),
                _ => group.region.clone().unwrap_or_default(),
            })
            .collect();
        if request.group_by.iter().any(|g| g == "agency") {
            keys.push(group.agency_name.clone().unwrap_or_default());
        }
        for value in &group.values {
            let mut row = keys.clone();
            row.push(value.metric.clone());
            row.push(value.value.clone().unwrap_or_else(|| "NA".into()));
            row.push(value.reports.to_string());
            row.push(value.excluded.to_string());
            row.extend(
                value
                    .percentiles
                    .iter()
                    .map(|p| p.value.clone().unwrap_or_else(|| "NA".into())),
            );
            rows.push(row);
        }
    }
    // The metric name column is text, the rest numbers.
    print_table(&header, &rows, first_number);
    Ok(0)
}

fn answer_json(answer: &v1::QueryMetricsResponse) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = answer
        .groups
        .iter()
        .map(|g| {
            let values: serde_json::Map<String, serde_json::Value> = g
                .values
                .iter()
                .map(|v| {
                    let percentiles: serde_json::Map<String, serde_json::Value> = v
                        .percentiles
                        .iter()
                        .map(|p| (format!("p{}", p.percentile), p.value.clone().into()))
                        .collect();
                    (
                        v.metric.clone(),
                        serde_json::json!({
                            "value": v.value, "na": v.na, "reports": v.reports,
                            "excluded": v.excluded, "percentiles": percentiles,
                        }),
                    )
                })
                .collect();
            serde_json::json!({
                "year": g.year, "agency": g.agency, "agency_name": g.agency_name,
                "region": g.region, "reports": g.reports, "metrics": values,
            })
        })
        .collect();
    serde_json::json!({ "metrics_version": answer.metrics_version, "groups": groups })
}

pub async fn export(args: ExportArgs) -> anyhow::Result<i32> {
    let format = match args.format.as_str() {
        "csv" => v1::ExportFormat::Csv,
        "xlsx" => v1::ExportFormat::Xlsx,
        "parquet" => v1::ExportFormat::Parquet,
        other => bail!("unknown format {other:?}: csv, xlsx or parquet"),
    };
    let mut client = connect(&args.server).await?;
    let mut chunks = if args.metrics {
        client
            .export_metrics(v1::ExportMetricsRequest {
                query: Some(args.query.request()),
                format: format as i32,
            })
            .await
    } else {
        client
            .export_cells(v1::ExportCellsRequest {
                filter: Some(args.query.filter.filter()),
                format: format as i32,
                all_versions: args.query.filter.all_versions,
            })
            .await
    }
    .map_err(grpc)?
    .into_inner();
    // Written beside the target and renamed at the end: a failed export leaves no partial file.
    let partial = args.output.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut bytes = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(status) => {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(grpc(status));
            }
        };
        bytes += chunk.data.len() as u64;
        file.write_all(&chunk.data)
            .await
            .with_context(|| format!("cannot write {}", partial.display()))?;
    }
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&partial, &args.output)
        .await
        .with_context(|| format!("cannot rename to {}", args.output.display()))?;
    eprintln!("{} bytes → {}", bytes, args.output.display());
    Ok(0)
}

pub async fn agency(args: AgencyArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let show = |a: &v1::AgencyAlias| {
        let at = a
            .created_at
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        vec![
            a.alias_key.clone(),
            a.agency_key.clone(),
            a.created_by.clone(),
            at,
        ]
    };
    let header = ["alias", "agency", "by", "at"].map(str::to_owned);
    match args.command {
        AgencyCommand::Alias { old, new } => {
            let alias = client
                .set_agency_alias(v1::SetAgencyAliasRequest {
                    alias: old,
                    agency: new,
                })
                .await
                .map_err(grpc)?
                .into_inner();
            print_table(&header, &[show(&alias)], usize::MAX);
            eprintln!(
                "{} 份报告已归入 / reports moved: {}",
                alias.reports_moved, alias.agency_key
            );
        }
        AgencyCommand::Aliases => {
            let aliases = client
                .list_agency_aliases(v1::ListAgencyAliasesRequest {})
                .await
                .map_err(grpc)?
                .into_inner()
                .aliases;
            let rows: Vec<Vec<String>> = aliases.iter().map(show).collect();
            print_table(&header, &rows, usize::MAX);
        }
    }
    Ok(0)
}
