//! `gongkai correct`, `history` and `judge`: the reviewer's commands of archive.md §1–§2 —
//! correct cells of an archived report (a new version), list a series' versions, judge a
//! finding.

use crate::client::{ServerArgs, connect, wait_final};
use anyhow::{Context, bail};
use gongkai_proto::v1;

#[derive(Debug, clap::Args)]
pub struct CorrectArgs {
    /// The report to correct (ARCHIVED and current).
    pub id: String,
    /// The cells: `TABLE.ROW.COLUMN=VALUE` (`t3.granted.total=71`); an empty value makes the
    /// cell blank (`t3.granted.total=`).
    #[arg(required = true)]
    pub cells: Vec<String>,
    /// Why the report is corrected (required; kept with the version).
    #[arg(long)]
    pub reason: String,
    /// The same key gives the same answer (the correction made the first time).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Wait until the correction is archived (or fails) and print its outcome.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Any report of the series (or give --agency and --year).
    #[arg(required_unless_present_all = ["agency", "year"])]
    pub id: Option<String>,
    #[arg(long, requires = "year")]
    pub agency: Option<String>,
    #[arg(long, requires = "agency")]
    pub year: Option<u32>,
    /// Print the versions as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// A judgement, as `gongkai judge` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Judgement {
    /// DISPOSITION_CONFIRMED_AS_PUBLISHED: the agency's figures are wrong as published; keep them.
    Confirmed,
    /// DISPOSITION_TO_BE_CORRECTED.
    ToCorrect,
    /// DISPOSITION_NOT_A_PROBLEM.
    NotAProblem,
}

impl Judgement {
    fn disposition(self) -> v1::Disposition {
        match self {
            Judgement::Confirmed => v1::Disposition::ConfirmedAsPublished,
            Judgement::ToCorrect => v1::Disposition::ToBeCorrected,
            Judgement::NotAProblem => v1::Disposition::NotAProblem,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    /// The report whose finding is judged.
    pub id: String,
    /// The finding's rule (`C-AMBIGUOUS`).
    pub rule: String,
    /// The judgement.
    #[arg(value_enum)]
    pub judgement: Judgement,
    /// The finding's table (`t3`), when it has one; taken from --row when that is TABLE.ROW.
    #[arg(long)]
    pub table: Option<String>,
    /// The finding's row (`granted`, or `t3.granted`).
    #[arg(long)]
    pub row: Option<String>,
    /// The finding's column (`total`).
    #[arg(long)]
    pub column: Option<String>,
    /// The reviewer's note.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `gongkai judge ID RULE [--row R --column C] confirmed|to-correct|not-a-problem --note "…"`.
pub async fn judge(args: JudgeArgs) -> anyhow::Result<i32> {
    let (table, row) = match (&args.table, &args.row) {
        (None, Some(row)) => match row.split_once('.') {
            Some((t, r)) => (Some(t.to_owned()), Some(r.to_owned())),
            None => (None, Some(row.clone())),
        },
        (table, row) => (table.clone(), row.clone()),
    };
    let mut client = connect(&args.server).await?;
    // `--row R --column C` without a table: the table of the report's finding at that place.
    let table = match (table, &row) {
        (None, Some(row)) => {
            let report = client
                .get_report(v1::GetReportRequest {
                    report_id: args.id.clone(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let tables: std::collections::BTreeSet<String> = report
                .findings
                .iter()
                .filter(|f| {
                    f.rule == args.rule
                        && f.row.as_deref() == Some(row.as_str())
                        && f.column == args.column
                })
                .filter_map(|f| f.table.clone())
                .collect();
            match tables.len() {
                0 => None,
                1 => tables.into_iter().next(),
                _ => bail!(
                    "{} has findings {} at row {row} of several tables ({}): give --table",
                    args.id,
                    args.rule,
                    tables.into_iter().collect::<Vec<_>>().join(", ")
                ),
            }
        }
        (table, _) => table,
    };
    let answer = client
        .set_finding_disposition(v1::SetFindingDispositionRequest {
            report_id: args.id.clone(),
            rule: args.rule.clone(),
            table,
            row,
            column: args.column.clone(),
            disposition: args.judgement.disposition() as i32,
            note: args.note.clone(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!(
        "{} judged {} for {} {} by {}",
        args.rule,
        args.judgement.disposition().as_str_name(),
        answer.agency,
        answer.year,
        answer.caller
    );
    Ok(0)
}

/// `TABLE.ROW.COLUMN=VALUE` as a cell correction.
pub fn parse_cell(text: &str) -> anyhow::Result<v1::CellCorrection> {
    let (id, value) = text
        .split_once('=')
        .with_context(|| format!("{text:?}: write TABLE.ROW.COLUMN=VALUE (t3.granted.total=71)"))?;
    let mut parts = id.trim().splitn(3, '.');
    let (Some(table), Some(row), Some(column)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("{text:?}: the cell is TABLE.ROW.COLUMN (t3.granted.total)");
    };
    let value = value.trim();
    Ok(v1::CellCorrection {
        table: table.to_owned(),
        row: row.to_owned(),
        column: column.to_owned(),
        value: (!value.is_empty()).then(|| value.to_owned()),
    })
}

fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", status.code(), status.message())
}

/// `gongkai correct ID CELL=VALUE… --reason "…"`.
pub async fn correct(args: CorrectArgs) -> anyhow::Result<i32> {
    let cells = args
        .cells
        .iter()
        .map(|c| parse_cell(c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut client = connect(&args.server).await?;
    let answer = client
        .correct_report(v1::CorrectReportRequest {
            report_id: args.id.clone(),
            cells,
            reason: args.reason.clone(),
            idempotency_key: args.idempotency_key.clone(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!(
        "{}  version {}{}",
        answer.report_id,
        answer.version,
        if answer.duplicate {
            "  (the same key was used before: this is that correction)"
        } else {
            ""
        }
    );
    if !args.wait {
        return Ok(0);
    }
    let report = wait_final(
        &mut client,
        &answer.report_id,
        std::time::Duration::from_secs(args.timeout),
    )
    .await?;
    println!("{}", crate::client::outcome_line(&report));
    Ok(if report.status == v1::ReportStatus::Archived as i32 {
        0
    } else {
        1
    })
}

fn kind_word(code: i32) -> &'static str {
    match v1::ReportKind::try_from(code).unwrap_or(v1::ReportKind::Unspecified) {
        v1::ReportKind::Submission => "SUBMISSION",
        v1::ReportKind::Correction => "CORRECTION",
        v1::ReportKind::Unspecified => "?",
    }
}

fn time_text(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn changed_text(c: &v1::ChangedCell) -> String {
    format!(
        "{}.{}.{} {} → {}",
        c.table,
        c.row,
        c.column,
        c.before.as_deref().unwrap_or("—"),
        c.after.as_deref().unwrap_or("空"),
    )
}

/// `gongkai history ID` (or `--agency A --year Y`).
pub async fn history(args: HistoryArgs) -> anyhow::Result<i32> {
    let mut client = connect(&args.server).await?;
    let series = client
        .list_versions(v1::ListVersionsRequest {
            report_id: args.id.clone().unwrap_or_default(),
            agency: args.agency.clone(),
            year: args.year,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if args.json {
        let versions: Vec<serde_json::Value> = series
            .versions
            .iter()
            .map(|v| {
                serde_json::json!({
                    "report_id": v.report_id,
                    "version": v.version,
                    "kind": kind_word(v.kind),
                    "parent_report_id": v.parent_report_id,
                    "reason": v.reason,
                    "caller": v.caller,
                    "created_at": time_text(v.created_at.as_ref()),
                    "errors": v.errors,
                    "current": v.current,
                    "status": v1::ReportStatus::try_from(v.status)
                        .unwrap_or(v1::ReportStatus::Unspecified)
                        .word()
                        .to_uppercase(),
                    "changed_cells": v.changed_cells.iter().map(|c| serde_json::json!({
                        "table": c.table, "row": c.row, "column": c.column,
                        "before": c.before, "after": c.after, "text": c.text,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "agency": series.agency, "year": series.year, "versions": versions,
            }))?
        );
        return Ok(0);
    }
    println!("{} {}", series.agency, series.year);
    for v in &series.versions {
        println!(
            "{} v{:<3} {:<10} {}  {} error(s)  {}{}",
            if v.current { "*" } else { " " },
            v.version
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            kind_word(v.kind),
            v.report_id,
            v.errors,
            time_text(v.created_at.as_ref()),
            v.caller
                .as_deref()
                .map(|c| format!("  by {c}"))
                .unwrap_or_default(),
        );
        if let Some(reason) = &v.reason {
            println!("        reason: {reason}");
        }
        for c in &v.changed_cells {
            println!("        {}", changed_text(c));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_table_row_column_equals_value() {
        let c = parse_cell("t3.granted.total=71").unwrap();
        assert_eq!(
            (c.table.as_str(), c.row.as_str(), c.column.as_str()),
            ("t3", "granted", "total")
        );
        assert_eq!(c.value.as_deref(), Some("71"));
        assert_eq!(parse_cell("t3.granted.total=").unwrap().value, None);
        assert!(parse_cell("t3.granted=71").is_err());
        assert!(parse_cell("t3.granted.total").is_err());
    }
}
