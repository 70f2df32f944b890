//! From the archive's and the model's types to the `gongkai.v1` messages. Decimals become
//! their exact text (`Decimal`'s `Display` keeps the printed scale: `73802895.90`).

use chrono::{DateTime, Utc};
use gongkai_archive::{Event, Status, StoredReport};
use gongkai_model::{CellState, Finding, Severity, Table, TableId};
use gongkai_proto::v1;

pub(crate) fn status(status: Status) -> v1::ReportStatus {
    match status {
        Status::Received => v1::ReportStatus::Received,
        Status::Parsed => v1::ReportStatus::Parsed,
        Status::Validated => v1::ReportStatus::Validated,
        Status::Archived => v1::ReportStatus::Archived,
        Status::Failed => v1::ReportStatus::Failed,
    }
}

/// The archive status a listing filter asks for; UNSPECIFIED means any.
pub(crate) fn status_filter(status: v1::ReportStatus) -> Option<Status> {
    match status {
        v1::ReportStatus::Unspecified => None,
        v1::ReportStatus::Received => Some(Status::Received),
        v1::ReportStatus::Parsed => Some(Status::Parsed),
        v1::ReportStatus::Validated => Some(Status::Validated),
        v1::ReportStatus::Archived => Some(Status::Archived),
        v1::ReportStatus::Failed => Some(Status::Failed),
    }
}

pub(crate) fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub(crate) fn event(event: &Event) -> v1::ReportEvent {
    v1::ReportEvent {
        report_id: event.report_id.to_string(),
        status: status(event.status) as i32,
        stage: event.stage.as_str().to_owned(),
        started_at: Some(timestamp(event.started_at)),
        finished_at: Some(timestamp(event.finished_at)),
        outcome: event.outcome.as_str().to_owned(),
        detail: event.detail.clone(),
    }
}

fn cell_state(state: CellState) -> v1::CellState {
    v1::CellState::from(state)
}

fn severity(severity: Severity) -> v1::Severity {
    match severity {
        Severity::Info => v1::Severity::Info,
        Severity::Warning => v1::Severity::Warning,
        Severity::Error => v1::Severity::Error,
    }
}

pub(crate) fn table(id: TableId, table: &Table) -> v1::Table {
    let cells = table
        .iter()
        .flat_map(|(row, columns)| {
            columns.iter().map(move |(column, cell)| v1::Cell {
                row: row.clone(),
                column: column.clone(),
                value: cell.value.map(|d| d.to_string()),
                text: cell.text.clone(),
                state: cell_state(cell.state) as i32,
                unit: cell.unit.clone(),
                candidates: cell.candidates.iter().map(|d| d.to_string()).collect(),
            })
        })
        .collect();
    v1::Table {
        table: id.as_str().to_owned(),
        cells,
    }
}

pub(crate) fn finding(finding: &Finding) -> v1::Finding {
    v1::Finding {
        rule: finding.rule.clone(),
        severity: severity(finding.severity) as i32,
        table: finding.table.map(|t| t.as_str().to_owned()),
        row: finding.row.clone(),
        column: finding.column.clone(),
        expected: finding.expected.as_ref().map(|o| o.to_string()),
        found: finding.actual.as_ref().map(|o| o.to_string()),
        message: finding.message.clone(),
        message_en: finding.message_en.clone(),
    }
}

pub(crate) fn report(stored: &StoredReport) -> v1::Report {
    let checked = stored.checked.as_ref();
    let parsed = checked.map(|c| &c.report);
    let source = v1::Source {
        filename: stored.filename.clone(),
        sha256: stored.sha256.clone(),
        media_type: checked
            .map(|c| c.source.media_type.clone())
            .or_else(|| stored.media_type.clone())
            .unwrap_or_default(),
        encoding: checked.and_then(|c| c.source.encoding.clone()),
        bytes: stored.size_bytes,
        source_system: stored.source_system.clone().unwrap_or_default(),
    };
    let tables = parsed
        .map(|r| {
            TableId::ALL
                .into_iter()
                .filter_map(|id| r.tables.get(id).map(|t| table(id, t)))
                .collect()
        })
        .unwrap_or_default();
    let sections = parsed
        .map(|r| {
            r.sections
                .iter()
                .map(|s| v1::Section {
                    number: u32::from(s.number),
                    heading: s.heading.clone(),
                    found: s.found,
                    text: s.text.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = checked.map(|c| v1::Summary {
        errors: c.summary.errors,
        warnings: c.summary.warnings,
        infos: c.summary.infos,
    });
    v1::Report {
        report_id: stored.report_id.to_string(),
        status: status(stored.status) as i32,
        agency: stored
            .agency
            .clone()
            .or_else(|| parsed.and_then(|r| r.agency.clone())),
        year: stored
            .year
            .or_else(|| parsed.and_then(|r| r.year))
            .map(u32::from),
        template: stored
            .template
            .or_else(|| parsed.map(|r| r.template))
            .map(|t| t.as_str().to_owned()),
        title: parsed.and_then(|r| r.title.clone()),
        source: Some(source),
        sections,
        tables,
        findings: stored.findings().iter().map(finding).collect(),
        summary,
        rules_version: stored
            .rules_version
            .clone()
            .or_else(|| checked.map(|c| c.rules_version.clone()))
            .unwrap_or_default(),
        events: stored.events.iter().map(event).collect(),
        received_at: Some(timestamp(stored.received_at)),
        superseded: stored.status == Status::Archived
            && stored.version.is_some()
            && !stored.is_current,
    }
}

pub(crate) fn summary(line: &gongkai_archive::ReportSummary) -> v1::ReportSummary {
    v1::ReportSummary {
        report_id: line.report_id.to_string(),
        status: status(line.status) as i32,
        agency: line.agency.clone(),
        year: line.year.map(u32::from),
        template: line.template.map(|t| t.as_str().to_owned()),
        filename: line.filename.clone(),
        summary: Some(v1::Summary {
            errors: line.errors,
            warnings: line.warnings,
            infos: line.infos,
        }),
        received_at: Some(timestamp(line.received_at)),
    }
}
