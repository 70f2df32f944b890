//! The three stage handlers: what a parse, validate or archive worker does with one message.
//!
//! Each stage reads its input by claim check (the submitted bytes, or the previous stage's
//! artefact in the blob store), writes its output durably (an artefact plus an event in
//! PostgreSQL, then the next stage's message confirmed by the broker; or the archived report
//! committed), and only then reports [`Outcome::Done`] so that the message is acknowledged.
//!
//! Failures are sorted by whether a later attempt can succeed:
//! - the report itself cannot be read (an unsupported format, damaged bytes): a result, not a
//!   fault. The report is marked `FAILED` with the reason and the message is done;
//! - the database or the blob store is unreachable, the broker does not confirm: transient,
//!   [`Outcome::Retry`];
//! - the message names a report the archive does not know, or an artefact is unreadable:
//!   [`Outcome::Reject`], the message goes to the dead-letter queue for a person.
//!
//! Every stage is idempotent: artefacts are overwritten with the same content, events are keyed
//! by (report, stage, attempt, outcome), `archive_checked` does nothing for an archived report,
//! and a stage skips a report that is already archived.

use crate::error::WorkerError;
use bytes::Bytes;
use chrono::Utc;
use gongkai_archive::{
    Archive, ArchiveError, EventRecord, Outcome as EventOutcome, Stage as ArchiveStage, StageRun,
    Status,
};
use gongkai_blob::{BlobError, BlobStore, derived_key};
use gongkai_model::{CheckedReport, Report, Source, Summary};
use gongkai_queue::message::TRACEPARENT;
use gongkai_queue::{
    FieldTable, Handler, Incoming, MessageKind, Outcome, Publisher, Stage, StageMessage,
};
use gongkai_telemetry::{Metrics, Outcome as MetricOutcome, Stage as MetricStage};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

/// The artefact the parse stage writes: `derived/<xy>/<report_id>.parsed.json` (see [`derived_key`]).
pub const PARSED_ARTEFACT: &str = "parsed.json";
/// The artefact the validate stage writes: `derived/<xy>/<report_id>.checked.json`.
pub const CHECKED_ARTEFACT: &str = "checked.json";

/// The content of `parsed.json`: what was read, and the report read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedReport {
    pub source: Source,
    pub report: Report,
}

/// Documents up to this size are read on the consumer's task rather than on the blocking pool.
const INLINE_READ_MAX_BYTES: usize = 64 * 1024;

/// What every stage handler shares: the archive, the blob store and the metrics.
#[derive(Clone, Debug)]
pub struct StageContext {
    pub archive: Archive,
    pub blobs: BlobStore,
    pub metrics: Option<Metrics>,
    /// `MAX_REPORT_BYTES`: a larger document is a FAILED report naming the limit.
    pub max_report_bytes: usize,
    /// Deletes archived reports' intermediate artefacts after a grace period.
    pub artefacts: crate::artefacts::ArtefactReaper,
}

impl StageContext {
    /// Starts the sweep of artefacts left behind ([`crate::artefacts::start_sweeper`]) that
    /// `config` asks for (`artefact_sweep`), on this context's store and archive: once per
    /// process that archives.
    pub fn start_sweeper(&self, config: &crate::WorkerConfig) -> Option<crate::artefacts::Sweeper> {
        config.artefact_sweep.map(|period| {
            crate::artefacts::start_sweeper(
                self.blobs.clone(),
                self.archive.clone(),
                config.artefact_grace,
                period,
            )
        })
    }
}

fn metric_stage(stage: Stage) -> MetricStage {
    match stage {
        Stage::Parse => MetricStage::Parse,
        Stage::Validate => MetricStage::Validate,
        Stage::Archive => MetricStage::Archive,
    }
}

fn archive_stage(stage: Stage) -> ArchiveStage {
    match stage {
        Stage::Parse => ArchiveStage::Parse,
        Stage::Validate => ArchiveStage::Validate,
        Stage::Archive => ArchiveStage::Archive,
    }
}

/// How one run of a stage ended, before it becomes the consumer's [`Outcome`].
enum Step {
    /// Output durable; `published` when a next-stage message was confirmed.
    Done,
    /// The report cannot be read; it was marked FAILED.
    ReportFailed,
    /// The report was archived before; nothing was done.
    AlreadyArchived,
    Transient(String),
    Permanent(String),
}

fn from_archive(error: ArchiveError) -> Step {
    match error {
        ArchiveError::NotFound { report_id } => {
            Step::Permanent(format!("report {report_id} is not in the archive"))
        }
        ArchiveError::Corrupt { .. }
        | ArchiveError::InvalidArgument(_)
        | ArchiveError::FailedPrecondition(_) => {
            Step::Permanent(gongkai_telemetry::error_chain(&error))
        }
        // Unavailable, and database errors that may be passing (a deadlock, a restart):
        // retried, and after the attempts are used up, dead-lettered.
        other => Step::Transient(gongkai_telemetry::error_chain(&other)),
    }
}

fn from_blob(error: BlobError) -> Step {
    match error {
        BlobError::Storage { .. } | BlobError::Config { .. } => {
            Step::Transient(gongkai_telemetry::error_chain(&error))
        }
        BlobError::NotFound { .. } | BlobError::InvalidKey { .. } | BlobError::Corrupt { .. } => {
            Step::Permanent(gongkai_telemetry::error_chain(&error))
        }
    }
}

/// The trace context for the next stage's message: the current span's, injected by the
/// telemetry crate; the incoming headers' when no tracer is installed (so the trace still
/// connects across the stages).
fn next_headers(incoming: &Incoming) -> FieldTable {
    let injected = gongkai_telemetry::inject_amqp(&gongkai_telemetry::current_context());
    if gongkai_queue::message::header_text(&injected, TRACEPARENT).is_some() {
        injected
    } else {
        gongkai_queue::message::trace_headers(&incoming.headers)
    }
}

impl StageContext {
    fn run(&self, stage: Stage, message: &StageMessage) -> StageRun {
        let _ = (stage, message);
        StageRun {
            started_at: Utc::now(),
            attempt: message.attempt + 1,
        }
    }

    /// Whether the report was archived already, asked only of a message that may have been
    /// handled before (redelivered, or a retry): a first delivery of a report that an earlier
    /// copy of the message took to the end is caught by [`StageContext::record`]'s answer, one
    /// round trip fewer for every other report.
    async fn skip_if_archived(&self, incoming: &Incoming) -> Result<bool, Step> {
        if !incoming.redelivered && incoming.message.attempt == 0 {
            return Ok(false);
        }
        let message = &incoming.message;
        if message.kind.is_revalidation() {
            // The report is archived throughout; what may be over is this re-validation.
            let batch = revalidation_batch(message)?;
            return self
                .archive
                .revalidation_finished(batch, message.report_id)
                .await
                .map_err(from_archive);
        }
        match self.archive.status(incoming.message.report_id).await {
            Ok(status) => Ok(status == Status::Archived),
            Err(error) => Err(from_archive(error)),
        }
    }

    async fn record(
        &self,
        stage: Stage,
        message: &StageMessage,
        run: StageRun,
        status: Option<Status>,
        outcome: EventOutcome,
        detail: Option<String>,
    ) -> Result<Status, ArchiveError> {
        if message.kind.is_revalidation() {
            // A re-validation leaves the archived report's status and events alone until the
            // archive stage records it; its progress is kept in its batch.
            return Ok(Status::Validated);
        }
        let record = EventRecord {
            stage: archive_stage(stage),
            attempt: run.attempt,
            status,
            outcome,
            detail,
            started_at: run.started_at,
            finished_at: Utc::now(),
        };
        self.archive
            .record_event(message.report_id, &record)
            .instrument(gongkai_telemetry::db_span("record_event"))
            .await
    }

    async fn put_json<T: Serialize>(
        &self,
        report_id: Uuid,
        name: &str,
        value: &T,
    ) -> Result<(), Step> {
        let json = serde_json::to_vec(value)
            .map_err(|e| Step::Permanent(format!("cannot encode {name}: {e}")))?;
        self.blobs
            .put_derived(report_id, name, Bytes::from(json))
            .instrument(gongkai_telemetry::blob_span("put", name))
            .await
            .map(|_| ())
            .map_err(from_blob)
    }

    /// The bytes of an artefact the previous stage wrote.
    async fn get_artefact(&self, report_id: Uuid, name: &str) -> Result<Bytes, Step> {
        self.blobs
            .get_derived(report_id, name)
            .instrument(gongkai_telemetry::blob_span("get", name))
            .await
            .map_err(|error| match error {
                // The previous stage writes the artefact before it publishes this message, so a
                // missing one is a store that has not caught up (or lost it): worth a retry.
                BlobError::NotFound { .. } => Step::Transient(error.to_string()),
                other => from_blob(other),
            })
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        report_id: Uuid,
        name: &str,
    ) -> Result<T, Step> {
        let bytes = self.get_artefact(report_id, name).await?;
        decode_artefact(report_id, name, &bytes)
    }

    async fn publish(
        &self,
        publisher: &Publisher,
        stage: Stage,
        incoming: &Incoming,
    ) -> Result<(), Step> {
        let headers = next_headers(incoming);
        publisher
            .publish(stage, &incoming.message.for_next_stage(), headers)
            .await
            .map_err(|e| Step::Transient(gongkai_telemetry::error_chain(&e)))?;
        if let Some(metrics) = &self.metrics {
            metrics.published(stage.as_str());
        }
        Ok(())
    }

    /// Marks the report FAILED because it cannot be read; the run is over either way.
    async fn fail_report(
        &self,
        stage: Stage,
        message: &StageMessage,
        run: StageRun,
        reason: &str,
    ) -> Step {
        if message.kind.is_revalidation() {
            let batch = match revalidation_batch(message) {
                Ok(batch) => batch,
                Err(step) => return step,
            };
            return match self
                .archive
                .fail_revalidation(batch, message.report_id, stage.as_str(), reason)
                .await
            {
                Ok(()) => Step::ReportFailed,
                Err(error) => from_archive(error),
            };
        }
        match self
            .archive
            .archive_failed(message.report_id, archive_stage(stage), reason, run)
            .await
        {
            Ok(_) => Step::ReportFailed,
            Err(error) => from_archive(error),
        }
    }

    async fn parse(&self, incoming: &Incoming, publisher: &Publisher) -> Step {
        let message = &incoming.message;
        let run = self.run(Stage::Parse, message);
        match self.skip_if_archived(incoming).await {
            Ok(true) => return Step::AlreadyArchived,
            Ok(false) => {}
            Err(step) => return step,
        }
        let bytes = match self
            .blobs
            .get(&message.blob_key)
            .instrument(gongkai_telemetry::blob_span("get", &message.blob_key))
            .await
        {
            Ok(bytes) => bytes,
            Err(error @ (BlobError::NotFound { .. } | BlobError::Corrupt { .. })) => {
                let reason = format!(
                    "无法取得报告文件（{}）：{}",
                    message.blob_key,
                    gongkai_telemetry::error_chain(&error)
                );
                return self.fail_report(Stage::Parse, message, run, &reason).await;
            }
            Err(error) => return from_blob(error),
        };
        let filename = message.filename.clone();
        // In the consumer span, so that the steps nest under it.
        let consumer = tracing::Span::current();
        let size = bytes.len();
        let limit = self.max_report_bytes;
        if size > limit {
            // Refused before any work, as the gateway would have: a configuration that lets
            // the gateway take more than the workers read ends here, saying why.
            let error = gongkai_engine::ReadError::TooLarge { size, limit };
            let reason = format!(
                "无法读取报告：{}（{error}，MAX_REPORT_BYTES）",
                error.message_zh()
            );
            return self.fail_report(Stage::Parse, message, run, &reason).await;
        }
        let read_report = move || {
            consumer.in_scope(|| {
                let document = gongkai_telemetry::step_span("decode")
                    .in_scope(|| gongkai_engine::read_format(&bytes, &filename, limit))?;
                // Section location, metadata, template and table reading.
                let report = gongkai_telemetry::step_span("read_document")
                    .in_scope(|| gongkai_engine::read_document(&document));
                Ok::<_, gongkai_engine::ReadError>((
                    gongkai_engine::source(&bytes, &filename, &document),
                    report,
                ))
            })
        };
        // Reading is CPU work. A typical report (text, HTML, tens of kilobytes) takes 0.1 to
        // 0.5 ms, less than handing it to the blocking pool and back costs, so it is read
        // here; larger documents (PDF layout, big Word pages: milliseconds) go to the blocking
        // pool so as not to hold up the other messages. A panic is a failed read either way.
        let read: Result<_, String> = if size <= INLINE_READ_MAX_BYTES {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(read_report))
                .map_err(|panic| gongkai_queue::panic_message(panic.as_ref()))
        } else {
            tokio::task::spawn_blocking(read_report)
                .await
                .map_err(|error| error.to_string())
        };
        let (source, report) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                let reason = format!("无法读取报告：{}", error.message_en());
                return self.fail_report(Stage::Parse, message, run, &reason).await;
            }
            Err(panicked) => {
                let reason = format!("读取报告时内部出错：{panicked}");
                return self.fail_report(Stage::Parse, message, run, &reason).await;
            }
        };
        gongkai_telemetry::record_report(
            &tracing::Span::current(),
            &message.report_id.to_string(),
            report.agency.as_deref(),
            report.year.map(i64::from),
        );
        tracing::info!(
            agency = report.agency.as_deref().unwrap_or(""),
            year = report.year,
            template = %report.template,
            "parsed"
        );
        let parsed = ParsedReport { source, report };
        if let Err(step) = self
            .put_json(message.report_id, PARSED_ARTEFACT, &parsed)
            .await
        {
            return step;
        }
        match self
            .record(
                Stage::Parse,
                message,
                run,
                Some(Status::Parsed),
                EventOutcome::Succeeded,
                None,
            )
            .await
        {
            // An earlier copy of this message went all the way.
            Ok(Status::Archived) => return Step::AlreadyArchived,
            Ok(_) => {}
            Err(error) => return from_archive(error),
        }
        match self.publish(publisher, Stage::Validate, incoming).await {
            Ok(()) => Step::Done,
            Err(step) => step,
        }
    }

    async fn validate(&self, incoming: &Incoming, publisher: &Publisher) -> Step {
        let message = &incoming.message;
        let run = self.run(Stage::Validate, message);
        match self.skip_if_archived(incoming).await {
            Ok(true) => return Step::AlreadyArchived,
            Ok(false) => {}
            Err(step) => return step,
        }
        let parsed = match self.validate_input(message).await {
            Ok(parsed) => parsed,
            Err(step) => return self.unless_finished(message, step).await,
        };
        gongkai_telemetry::record_report(
            &tracing::Span::current(),
            &message.report_id.to_string(),
            parsed.report.agency.as_deref(),
            parsed.report.year.map(i64::from),
        );
        let mut findings =
            gongkai_telemetry::step_span("rules").in_scope(|| gongkai_rules::check(&parsed.report));
        if let (Some(agency), Some(year)) = (parsed.report.agency.as_deref(), parsed.report.year) {
            match self
                .archive
                .previous_year(agency, year)
                .instrument(gongkai_telemetry::db_span("previous_year"))
                .await
            {
                Ok(Some(previous)) => {
                    findings.extend(
                        gongkai_telemetry::step_span("rules against previous year").in_scope(
                            || gongkai_rules::check_against_previous(&parsed.report, &previous),
                        ),
                    );
                }
                Ok(None) => {}
                Err(error) => return from_archive(error),
            }
        }
        let checked = CheckedReport {
            summary: Summary::of(&findings),
            findings,
            source: parsed.source,
            report: parsed.report,
            rules_version: gongkai_rules::RULES_VERSION.to_owned(),
        };
        if let Some(metrics) = &self.metrics {
            for finding in &checked.findings {
                metrics.finding(&finding.rule, finding.severity.as_str());
            }
        }
        gongkai_telemetry::record_findings(
            &tracing::Span::current(),
            checked.findings.len(),
            usize::try_from(checked.summary.errors).unwrap_or(usize::MAX),
            usize::try_from(checked.summary.warnings).unwrap_or(usize::MAX),
        );
        tracing::info!(
            errors = checked.summary.errors,
            warnings = checked.summary.warnings,
            "checked"
        );
        if let Err(step) = self
            .put_json(message.report_id, CHECKED_ARTEFACT, &checked)
            .await
        {
            return step;
        }
        let detail = format!(
            "{} error(s), {} warning(s)",
            checked.summary.errors, checked.summary.warnings
        );
        match self
            .record(
                Stage::Validate,
                message,
                run,
                Some(Status::Validated),
                EventOutcome::Succeeded,
                Some(detail),
            )
            .await
        {
            Ok(Status::Archived) => return Step::AlreadyArchived,
            Ok(_) => {}
            Err(error) => return from_archive(error),
        }
        match self.publish(publisher, Stage::Archive, incoming).await {
            Ok(()) => Step::Done,
            Err(step) => step,
        }
    }

    /// What the validate stage checks: the parse stage's artefact for a submission and a
    /// re-validation that reads the document again; for a correction, its parent's archived
    /// content with the corrected cells, rebuilt from the archive (a correction is never
    /// parsed); for a re-validation, the archived content.
    async fn validate_input(&self, message: &StageMessage) -> Result<ParsedReport, Step> {
        match message.kind {
            MessageKind::Submission => self.get_json(message.report_id, PARSED_ARTEFACT).await,
            MessageKind::Correction => self
                .archive
                .corrected_content(message.report_id)
                .instrument(gongkai_telemetry::db_span("corrected_content"))
                .await
                .map(|(source, report)| ParsedReport { source, report })
                .map_err(from_archive),
            // Re-validation without reading again: the content as archived.
            MessageKind::Revalidation => self
                .archive
                .archived_content(message.report_id)
                .instrument(gongkai_telemetry::db_span("archived_content"))
                .await
                .map(|(source, report)| ParsedReport { source, report })
                .map_err(from_archive),
            MessageKind::Reparse => self.get_json(message.report_id, PARSED_ARTEFACT).await,
        }
    }

    async fn archive(&self, incoming: &Incoming) -> Step {
        let message = &incoming.message;
        let run = self.run(Stage::Archive, message);
        let json = match self.get_artefact(message.report_id, CHECKED_ARTEFACT).await {
            Ok(json) => json,
            Err(step) => return self.unless_finished(message, step).await,
        };
        // The artefact is the checked report as the validate stage wrote it: archived as it is.
        // The archive reads what it needs of it (not the tables: most of the document).
        let Ok(json) = std::str::from_utf8(&json) else {
            return Step::Permanent(format!(
                "{} is not UTF-8",
                derived_key(message.report_id, CHECKED_ARTEFACT)
            ));
        };
        if message.kind.is_revalidation() {
            let batch = match revalidation_batch(message) {
                Ok(batch) => batch,
                Err(step) => return step,
            };
            return match self
                .archive
                .archive_revalidation(batch, message.report_id, json, run.started_at)
                .instrument(gongkai_telemetry::db_span(
                    "archive_revalidation transaction",
                ))
                .await
            {
                Ok(true) => Step::AlreadyArchived,
                Ok(false) => {
                    tracing::info!(batch, "re-validated");
                    self.forget_artefacts(message.report_id);
                    Step::Done
                }
                Err(error) => from_archive(error),
            };
        }
        match self
            .archive
            .archive_checked_json(message.report_id, json, run)
            .instrument(gongkai_telemetry::db_span("archive_checked transaction"))
            .await
        {
            Ok(archived) if archived.already_archived => Step::AlreadyArchived,
            Ok(archived) => {
                tracing::info!(version = archived.version, "archived");
                self.forget_artefacts(message.report_id);
                Step::Done
            }
            Err(error) => from_archive(error),
        }
    }

    /// `step`, unless it is a transient failure (an input artefact not found) of a message whose
    /// work is over: the artefacts go once the report is archived, so a copy of a message that
    /// comes after that (a duplicate publish, a redelivery) finds none and has nothing left to
    /// do.
    async fn unless_finished(&self, message: &StageMessage, step: Step) -> Step {
        let Step::Transient(reason) = step else {
            return step;
        };
        let finished = if message.kind.is_revalidation() {
            match revalidation_batch(message) {
                Ok(batch) => self
                    .archive
                    .revalidation_finished(batch, message.report_id)
                    .await
                    .map_err(from_archive),
                Err(step) => Err(step),
            }
        } else {
            self.archive
                .status(message.report_id)
                .await
                .map(|status| status == Status::Archived)
                .map_err(from_archive)
        };
        match finished {
            Ok(true) => Step::AlreadyArchived,
            Ok(false) => Step::Transient(reason),
            Err(step) => step,
        }
    }

    /// Deletes a report's intermediate artefacts once what they led to is archived (after a
    /// grace period: `crate::artefacts`): the archive holds the checked document,
    /// re-validation reads it from there and re-parsing reads the submitted bytes, so nothing
    /// reads them again. Best effort: one left behind (the store failed, the worker was killed
    /// in between) costs space, not correctness.
    fn forget_artefacts(&self, report_id: Uuid) {
        self.artefacts.forget(report_id);
    }

    async fn run_stage(&self, stage: Stage, incoming: Incoming, publisher: Publisher) -> Outcome {
        let started = Instant::now();
        // The CONSUMER span the consumer loop opened for this message (child of the producer
        // whose context the message carries).
        let span = tracing::Span::current();
        let _in_flight = self
            .metrics
            .as_ref()
            .map(|metrics| metrics.in_flight(&stage.queue()));
        if incoming.redelivered
            && let Some(metrics) = &self.metrics
        {
            metrics.redelivered(&stage.queue());
        }
        let step = async {
            match stage {
                Stage::Parse => self.parse(&incoming, &publisher).await,
                Stage::Validate => self.validate(&incoming, &publisher).await,
                Stage::Archive => self.archive(&incoming).await,
            }
        }
        .instrument(span.clone())
        .await;
        let (outcome, metric) = match step {
            Step::Done => (Outcome::Done, MetricOutcome::Ok),
            Step::AlreadyArchived => {
                tracing::info!(report_id = %incoming.message.report_id, "already archived; nothing to do");
                (Outcome::Done, MetricOutcome::Duplicate)
            }
            Step::ReportFailed => (Outcome::Done, MetricOutcome::Rejected),
            Step::Transient(reason) => {
                gongkai_telemetry::record_error(&span, &reason);
                let run = self.run(stage, &incoming.message);
                // Best effort: the database may be the thing that is down.
                if let Err(error) = self
                    .record(
                        stage,
                        &incoming.message,
                        run,
                        None,
                        EventOutcome::Retrying,
                        Some(reason.clone()),
                    )
                    .await
                {
                    tracing::debug!(%error, "cannot record the retry");
                }
                (Outcome::Retry(reason), MetricOutcome::Retried)
            }
            Step::Permanent(reason) => {
                gongkai_telemetry::record_error(&span, &reason);
                (Outcome::Reject(reason), MetricOutcome::DeadLettered)
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.stage_finished(metric_stage(stage), metric, started.elapsed());
        }
        outcome
    }

    /// After a message was dead-lettered: count it, and mark its report FAILED so that a person
    /// watching the report sees that the pipeline gave up (a redrive that succeeds moves it on).
    async fn after_dead_letter(&self, stage: Stage, message: Option<&StageMessage>, reason: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.dead_lettered(&stage.queue());
        }
        let Some(message) = message else { return };
        let reason = format!(
            "处理中止，消息已转入死信队列（{}）：{reason}",
            stage.as_str()
        );
        let run = self.run(stage, message);
        if let Step::ReportFailed = self.fail_report(stage, message, run, &reason).await {
            return;
        }
        tracing::warn!(report_id = %message.report_id, "cannot mark the dead-lettered report failed");
    }
}

/// The batch of a re-validation message (a message without one cannot be recorded anywhere).
fn revalidation_batch(message: &StageMessage) -> Result<&str, Step> {
    message.batch.as_deref().ok_or_else(|| {
        Step::Permanent(format!(
            "re-validation message for report {} names no batch",
            message.report_id
        ))
    })
}

fn decode_artefact<T: for<'de> Deserialize<'de>>(
    report_id: Uuid,
    name: &str,
    bytes: &[u8],
) -> Result<T, Step> {
    serde_json::from_slice(bytes).map_err(|e| {
        Step::Permanent(format!(
            "{} is not readable: {e}",
            derived_key(report_id, name)
        ))
    })
}

/// A stage handler: the [`StageContext`] working as one stage.
#[derive(Clone, Debug)]
pub struct StageHandler {
    pub stage: Stage,
    pub context: StageContext,
}

impl Handler for StageHandler {
    async fn handle(&self, incoming: Incoming, publisher: Publisher) -> Outcome {
        self.context
            .run_stage(self.stage, incoming, publisher)
            .await
    }

    async fn dead_lettered(&self, stage: Stage, message: Option<&StageMessage>, reason: &str) {
        self.context.after_dead_letter(stage, message, reason).await;
    }
}

/// Opens the archive and the blob store of `config`.
pub async fn open_context(
    config: &crate::WorkerConfig,
    metrics: Option<Metrics>,
) -> Result<StageContext, WorkerError> {
    let archive = Archive::connect_with_pool_size(&config.database_url, config.db_pool)
        .await
        .map_err(WorkerError::Archive)?;
    let blobs = BlobStore::open(&config.blob_store).map_err(WorkerError::Blob)?;
    let artefacts = crate::artefacts::ArtefactReaper::start(blobs.clone(), config.artefact_grace);
    Ok(StageContext {
        archive,
        blobs,
        metrics,
        max_report_bytes: config.max_report_bytes,
        artefacts,
    })
}
