//! The values that go into and come out of the archive: pipeline statuses, stages and event
//! outcomes (stored as the text of their `as_str`), submissions, events, stored reports,
//! listing filters and pages.

use chrono::{DateTime, Utc};
use gongkai_model::{CellState, CheckedReport, Finding, Position, Report, TableId, Template};
use rust_decimal::Decimal;
use std::fmt;
use uuid::Uuid;

/// Where a report stands in the pipeline. It only moves forward
/// (`RECEIVED → PARSED → VALIDATED → ARCHIVED`, or to `FAILED` from any non-final status);
/// `ARCHIVED` and `FAILED` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The bytes are stored and the submission recorded.
    Received,
    /// The parse stage read a `Report` from the bytes.
    Parsed,
    /// The validate stage ran the rules.
    Validated,
    /// The checked report is in the archive (with or without error findings).
    Archived,
    /// The report could not be read at all (or processing gave up); the reason is kept.
    Failed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::Parsed,
        Status::Validated,
        Status::Archived,
        Status::Failed,
    ];

    /// The stored and wire form: `RECEIVED`, `PARSED`, `VALIDATED`, `ARCHIVED`, `FAILED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Received => "RECEIVED",
            Status::Parsed => "PARSED",
            Status::Validated => "VALIDATED",
            Status::Archived => "ARCHIVED",
            Status::Failed => "FAILED",
        }
    }

    pub fn from_id(id: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == id)
    }

    /// `ARCHIVED` or `FAILED`: nothing more will happen to the report.
    pub const fn is_final(self) -> bool {
        matches!(self, Status::Archived | Status::Failed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The gateway accepted the bytes (recorded by [`crate::Archive::record_submission`]).
    Receive,
    Parse,
    Validate,
    Archive,
    /// A re-validation of an archived report (archive.md §3) rewrote its findings; the event
    /// says the rule versions and the finding counts before and after.
    Revalidate,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Receive,
        Stage::Parse,
        Stage::Validate,
        Stage::Archive,
        Stage::Revalidate,
    ];

    /// The stored form: `receive`, `parse`, `validate`, `archive`, `revalidate`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Receive => "receive",
            Stage::Parse => "parse",
            Stage::Validate => "validate",
            Stage::Archive => "archive",
            Stage::Revalidate => "revalidate",
        }
    }

    pub fn from_id(id: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == id)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one run of a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The stage did its work.
    Succeeded,
    /// The stage failed in a way that may pass on a later attempt (the message goes to retry).
    Retrying,
    /// The stage failed for good.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Succeeded, Outcome::Retrying, Outcome::Failed];

    /// The stored form: `succeeded`, `retrying`, `failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Retrying => "retrying",
            Outcome::Failed => "failed",
        }
    }

    pub fn from_id(id: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|s| s.as_str() == id)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document the gateway accepted, after its bytes were stored in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubmission {
    /// Lower-case hex SHA-256 of the bytes (64 characters). Unique: the same bytes submitted
    /// again are the same report.
    pub sha256: String,
    /// The client's idempotency key, if it sent one (blank counts as none). Unique: the same
    /// key is the same report, whatever the bytes.
    pub idempotency_key: Option<String>,
    pub filename: String,
    /// The media type the client declared, if any; replaced by the sniffed one on archiving.
    pub media_type: Option<String>,
    pub size_bytes: u64,
    /// Where the bytes are in the blob store (`sha256/<hex>`).
    pub blob_key: String,
    /// Which system submitted the document (free text from the client).
    pub source_system: Option<String>,
    /// When the gateway started receiving the document: the start of the `receive` event.
    pub received_at: DateTime<Utc>,
    /// The caller's batch label (archive.md §4), if any.
    pub batch: Option<String>,
}

/// The answer to [`crate::Archive::record_submission`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub report_id: Uuid,
    /// The same bytes or the same idempotency key were submitted before: `report_id` is the
    /// earlier report's, nothing new was recorded and nothing should be published.
    pub duplicate: bool,
}

/// One run of one stage, to record with [`crate::Archive::record_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub stage: Stage,
    /// 1 for the first delivery of the stage's message, counted up by retries. With the
    /// report id, the stage and the outcome it identifies the event: recording it again (a
    /// redelivered message) keeps the first record and changes nothing.
    pub attempt: u32,
    /// The status the stage moves the report to (`PARSED`, `VALIDATED`, `FAILED`), or `None`
    /// when it does not move it (a run that will be retried). `ARCHIVED` is refused here: it is
    /// set by [`crate::Archive::archive_checked`] together with the content.
    pub status: Option<Status>,
    pub outcome: Outcome,
    /// What happened, for people (the failure reason when `status` is `FAILED`).
    pub detail: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// The run of the archive stage that calls [`crate::Archive::archive_checked`] or
/// [`crate::Archive::archive_failed`]: its start (the event's `started_at`; it finishes when the
/// transaction commits) and its attempt number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageRun {
    pub started_at: DateTime<Utc>,
    pub attempt: u32,
}

impl StageRun {
    /// A first attempt that started now.
    pub fn now() -> StageRun {
        StageRun {
            started_at: Utc::now(),
            attempt: 1,
        }
    }
}

/// A report recorded but never queued: what the gateway needs to publish its parse message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unqueued {
    pub report_id: Uuid,
    pub sha256: String,
    pub blob_key: String,
    pub filename: String,
    pub source_system: Option<String>,
}

/// A recorded event, as [`crate::Archive::watch`] and [`StoredReport::events`] give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Archive-wide order of recording; events of one report come in this order.
    pub seq: i64,
    pub report_id: Uuid,
    pub stage: Stage,
    pub attempt: u32,
    /// The report's status once this event was recorded.
    pub status: Status,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// The answer to [`crate::Archive::archive_checked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archived {
    /// The version of the report within its (agency, year), `None` when the report names no
    /// agency or no year (it then belongs to no series).
    pub version: Option<u32>,
    /// The report was archived before (a redelivered message): nothing was changed.
    pub already_archived: bool,
}

/// One value cell as stored in the `cells` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCell {
    pub table: TableId,
    pub row: String,
    pub column: String,
    /// Exact, with the scale it was printed with (`73802895.90`).
    pub value: Option<Decimal>,
    pub text: String,
    pub state: CellState,
    pub unit: Option<String>,
    pub position: Option<Position>,
    pub candidates: Vec<Decimal>,
}

/// Everything the archive knows about one report (what GetReport returns).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub report_id: Uuid,
    pub status: Status,
    /// For `FAILED` reports: the stage that failed and why.
    pub failure_stage: Option<Stage>,
    pub failure_reason: Option<String>,
    // The submission.
    pub filename: String,
    pub sha256: String,
    pub blob_key: String,
    pub media_type: Option<String>,
    pub size_bytes: u64,
    pub source_system: Option<String>,
    pub idempotency_key: Option<String>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the report reached `ARCHIVED` or `FAILED`.
    pub finished_at: Option<DateTime<Utc>>,
    // The archived content (all `None`/empty before `ARCHIVED`).
    pub agency: Option<String>,
    pub year: Option<u16>,
    pub template: Option<Template>,
    pub rules_version: Option<String>,
    /// Version within (agency, year), and whether it is the current one.
    pub version: Option<u32>,
    pub is_current: bool,
    /// The checked report exactly as archived (tables in printed order, exact decimals).
    pub checked: Option<CheckedReport>,
    /// The cells from the `cells` table, in printed order (t2, t3, t4).
    pub cells: Vec<StoredCell>,
    /// Every event of the report, in order.
    pub events: Vec<Event>,
    /// `SUBMISSION` or `CORRECTION` (archive.md §1).
    pub kind: String,
    /// Corrections: the report corrected, why, and who corrected it.
    pub parent_report_id: Option<Uuid>,
    pub reason: Option<String>,
    pub caller: Option<String>,
    /// The batch label the submission came with.
    pub batch: Option<String>,
    /// The next version of the series, once archived: the report that replaced this one.
    pub superseded_by: Option<Uuid>,
    /// The reviewers' judgements kept for the report's series (archive.md §2); a finding's is
    /// the one whose key is the finding's ([`StoredReport::disposition`]).
    pub dispositions: Vec<DispositionRecord>,
}

impl StoredReport {
    /// The findings of the archived report (none before it is archived).
    pub fn findings(&self) -> &[Finding] {
        self.checked.as_ref().map_or(&[], |c| c.findings.as_slice())
    }

    /// The judgement of `finding` in this report's series, if a reviewer made one.
    pub fn disposition(&self, finding: &Finding) -> Option<&DispositionRecord> {
        let key = FindingKey::of(finding);
        self.dispositions.iter().find(|d| d.key == key)
    }

    /// The parsed report, once archived.
    pub fn report(&self) -> Option<&Report> {
        self.checked.as_ref().map(|c| &c.report)
    }
}

/// What [`crate::Archive::list_reports`] selects; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// The agency name contains this text (exact characters, no wildcards).
    pub agency_contains: Option<String>,
    pub year: Option<u16>,
    pub template: Option<Template>,
    pub status: Option<Status>,
    /// `Some(true)`: only archived reports with at least one error finding; `Some(false)`:
    /// only archived reports without one.
    pub has_errors: Option<bool>,
    /// Only archived reports with an error finding that no reviewer has judged.
    pub unjudged_errors: bool,
}

/// One line of a report listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    pub report_id: Uuid,
    pub status: Status,
    pub filename: String,
    pub agency: Option<String>,
    pub year: Option<u16>,
    pub template: Option<Template>,
    pub version: Option<u32>,
    pub is_current: bool,
    pub errors: u32,
    pub warnings: u32,
    pub infos: u32,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of a listing, newest submission first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPage {
    pub reports: Vec<ReportSummary>,
    /// Pass it back to get the next page; `None` on the last page. Opaque.
    pub next_page_token: Option<String>,
}

/// Where a report's original bytes are (for GetDocument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    pub report_id: Uuid,
    pub blob_key: String,
    pub filename: String,
    pub media_type: Option<String>,
    pub size_bytes: u64,
    pub sha256: String,
}

/// A reviewer's judgement of a finding (archive.md §2), stored as the text of `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The agency's own figures are wrong as published; keep them.
    ConfirmedAsPublished,
    /// The report should be corrected.
    ToBeCorrected,
    /// The finding is not a problem.
    NotAProblem,
}

impl Disposition {
    pub const ALL: [Disposition; 3] = [
        Disposition::ConfirmedAsPublished,
        Disposition::ToBeCorrected,
        Disposition::NotAProblem,
    ];

    /// The stored form: `CONFIRMED_AS_PUBLISHED`, `TO_BE_CORRECTED`, `NOT_A_PROBLEM`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Disposition::ConfirmedAsPublished => "CONFIRMED_AS_PUBLISHED",
            Disposition::ToBeCorrected => "TO_BE_CORRECTED",
            Disposition::NotAProblem => "NOT_A_PROBLEM",
        }
    }

    pub fn from_id(id: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == id)
    }
}

/// Where a finding is: its rule and location. The identity a disposition is kept under, so
/// that it carries over to every version and re-validation in which the same finding recurs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FindingKey {
    pub rule: String,
    pub table: Option<String>,
    pub row: Option<String>,
    pub column: Option<String>,
}

impl FindingKey {
    /// The key of `finding`.
    pub fn of(finding: &Finding) -> FindingKey {
        FindingKey {
            rule: finding.rule.clone(),
            table: finding.table.map(|t| t.as_str().to_owned()),
            row: finding.row.clone(),
            column: finding.column.clone(),
        }
    }
}

/// A judgement as recorded, with who made it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionRecord {
    pub key: FindingKey,
    pub disposition: Disposition,
    pub note: String,
    pub caller: String,
    /// The report the reviewer judged it on.
    pub report_id: Uuid,
    pub set_at: DateTime<Utc>,
}
