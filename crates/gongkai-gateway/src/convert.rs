//! From the archive's and the model's types to the `gongkai.v1` messages. Decimals become
//! their exact text (`Decimal`'s `Display` keeps the printed scale: `73802895.90`).

use chrono::{DateTime, Utc};
use gongkai_archive::{Disposition, DispositionRecord, Event, Status, StoredReport};
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
                previous_state: cell.previous_state.map(|s| cell_state(s) as i32),
                previous_value: cell.previous_value.map(|d| d.to_string()),
            })
        })
        .collect();
    v1::Table {
        table: id.as_str().to_owned(),
        cells,
    }
}

pub(crate) fn finding(finding: &Finding, judged: Option<&DispositionRecord>) -> v1::Finding {
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
        disposition: judged.map_or(v1::Disposition::Unspecified, |d| disposition(d.disposition))
            as i32,
        disposition_note: judged.map(|d| d.note.clone()),
        disposition_caller: judged.map(|d| d.caller.clone()),
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
        findings: stored
            .findings()
            .iter()
            .map(|f| finding(f, stored.disposition(f)))
            .collect(),
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
        superseded_by: stored.superseded_by.map(|id| id.to_string()),
        kind: kind(&stored.kind) as i32,
        parent_report_id: stored.parent_report_id.map(|id| id.to_string()),
        version: stored.version,
        reason: stored.reason.clone(),
        caller: stored.caller.clone(),
        batch: stored.batch.clone(),
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

fn kind(kind: &str) -> v1::ReportKind {
    match kind {
        "SUBMISSION" => v1::ReportKind::Submission,
        "CORRECTION" => v1::ReportKind::Correction,
        _ => v1::ReportKind::Unspecified,
    }
}

pub(crate) fn series(series: &gongkai_archive::Series) -> v1::ListVersionsResponse {
    v1::ListVersionsResponse {
        agency: series.agency.clone(),
        year: u32::from(series.year),
        versions: series
            .versions
            .iter()
            .map(|v| v1::Version {
                report_id: v.report_id.to_string(),
                version: v.version,
                kind: kind(&v.kind) as i32,
                parent_report_id: v.parent_report_id.map(|id| id.to_string()),
                reason: v.reason.clone(),
                caller: v.caller.clone(),
                created_at: Some(timestamp(v.created_at)),
                changed_cells: v
                    .changed_cells
                    .iter()
                    .map(|c| v1::ChangedCell {
                        table: c.table.as_str().to_owned(),
                        row: c.row.clone(),
                        column: c.column.clone(),
                        before: c.before.map(|d| d.to_string()),
                        before_state: cell_state(c.before_state) as i32,
                        after: c.after.map(|d| d.to_string()),
                        text: c.text.clone(),
                    })
                    .collect(),
                errors: v.errors,
                current: v.current,
                status: status(v.status) as i32,
            })
            .collect(),
    }
}

pub(crate) fn disposition(disposition: Disposition) -> v1::Disposition {
    match disposition {
        Disposition::ConfirmedAsPublished => v1::Disposition::ConfirmedAsPublished,
        Disposition::ToBeCorrected => v1::Disposition::ToBeCorrected,
        Disposition::NotAProblem => v1::Disposition::NotAProblem,
    }
}

/// The disposition a request names; UNSPECIFIED (or an unknown number) is none.
pub(crate) fn disposition_of(code: i32) -> Option<Disposition> {
    match v1::Disposition::try_from(code).ok()? {
        v1::Disposition::Unspecified => None,
        v1::Disposition::ConfirmedAsPublished => Some(Disposition::ConfirmedAsPublished),
        v1::Disposition::ToBeCorrected => Some(Disposition::ToBeCorrected),
        v1::Disposition::NotAProblem => Some(Disposition::NotAProblem),
    }
}
