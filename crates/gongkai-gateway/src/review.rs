//! The review RPCs of archive.md §1–§2: `CorrectReport` (record a correction as a report of its
//! own and hand it to the validate stage), `ListVersions` and `SetFindingDisposition`. Each
//! records who acted: the authenticated [`Caller`], or [`UNAUTHENTICATED_CALLER`] when the
//! gateway runs without authentication.

use crate::caller::Caller;
use crate::convert;
use crate::error::publish_status;
use crate::service::{ReportServiceImpl, parse_report_id};
use gongkai_archive::{
    CellCorrection, FindingKey, NewCorrection, NewDisposition, SeriesKey, Stage as ArchiveStage,
    StageRun,
};
use gongkai_proto::v1;
use gongkai_queue::{MessageKind, Stage, StageMessage};
use tonic::{Request, Status as GrpcStatus};

/// The caller recorded for a request that carries no authenticated identity (a gateway running
/// with `AUTH=off`, e.g. the README's local run).
pub const UNAUTHENTICATED_CALLER: &str = "anonymous";

/// Who made `request`: the authenticated caller's name, else [`UNAUTHENTICATED_CALLER`].
pub(crate) fn caller_name<T>(request: &Request<T>) -> String {
    Caller::of(request).map_or_else(|| UNAUTHENTICATED_CALLER.to_owned(), |c| c.name.clone())
}

impl ReportServiceImpl {
    /// `CorrectReport`: checks and records the correction (every refusal of §1), then publishes
    /// its validate message and answers once the broker confirmed it. A correction that cannot
    /// be queued is marked FAILED (so that the parent can be corrected again) and the call is
    /// UNAVAILABLE.
    pub(crate) async fn correct_report(
        &self,
        request: Request<v1::CorrectReportRequest>,
    ) -> Result<v1::CorrectReportResponse, GrpcStatus> {
        let caller = caller_name(&request);
        let request = request.into_inner();
        let parent = parse_report_id(&request.report_id)?;
        if request.reason.trim().is_empty() {
            return Err(GrpcStatus::invalid_argument(
                "reason is empty: say why the report is corrected",
            ));
        }
        let correction = NewCorrection {
            parent_report_id: parent,
            cells: request
                .cells
                .into_iter()
                .map(|c| CellCorrection {
                    table: c.table,
                    row: c.row,
                    column: c.column,
                    value: c.value,
                })
                .collect(),
            reason: request.reason,
            caller: caller.clone(),
            idempotency_key: request.idempotency_key,
        };
        let recorded = self
            .archive_call(
                "the archive (recording the correction)",
                self.archive.record_correction(&correction),
            )
            .await?;
        let answer = v1::CorrectReportResponse {
            report_id: recorded.report_id.to_string(),
            version: recorded.version,
            status: convert::status(recorded.status) as i32,
            duplicate: recorded.duplicate,
        };
        if recorded.duplicate {
            return Ok(answer);
        }
        let message = StageMessage {
            report_id: recorded.report_id,
            sha256: recorded.sha256,
            blob_key: recorded.blob_key,
            filename: recorded.filename,
            source_system: Some(caller),
            attempt: 0,
            kind: MessageKind::Correction,
            batch: None,
        };
        if let Err(error) = self
            .publisher
            .publish(
                Stage::Validate,
                &message,
                gongkai_queue::FieldTable::default(),
            )
            .await
        {
            tracing::warn!(report_id = %message.report_id, %error, "correction not queued");
            let reason = format!("更正未能排队处理 / the correction could not be queued: {error}");
            if let Err(status) = self
                .archive_call(
                    "the archive (failing the unqueued correction)",
                    self.archive.archive_failed(
                        message.report_id,
                        ArchiveStage::Receive,
                        &reason,
                        StageRun::now(),
                    ),
                )
                .await
            {
                tracing::error!(report_id = %message.report_id, %status, "cannot fail the unqueued correction");
            }
            return Err(publish_status(&error));
        }
        if let Some(metrics) = &self.metrics {
            metrics.published(Stage::Validate.as_str());
        }
        tracing::info!(report_id = %message.report_id, %parent, "correction queued");
        Ok(answer)
    }

    /// `SetFindingDisposition`.
    pub(crate) async fn set_finding_disposition(
        &self,
        request: Request<v1::SetFindingDispositionRequest>,
    ) -> Result<v1::SetFindingDispositionResponse, GrpcStatus> {
        let caller = caller_name(&request);
        let request = request.into_inner();
        let report_id = parse_report_id(&request.report_id)?;
        let disposition = convert::disposition_of(request.disposition).ok_or_else(|| {
            GrpcStatus::invalid_argument(format!(
                "disposition {} is not one of CONFIRMED_AS_PUBLISHED, TO_BE_CORRECTED, \
                 NOT_A_PROBLEM",
                request.disposition
            ))
        })?;
        if request.rule.trim().is_empty() {
            return Err(GrpcStatus::invalid_argument("rule is empty"));
        }
        let place = |p: Option<String>| p.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let judgement = NewDisposition {
            report_id,
            key: FindingKey {
                rule: request.rule.trim().to_owned(),
                table: place(request.table),
                row: place(request.row),
                column: place(request.column),
            },
            disposition,
            note: request.note,
            caller: caller.clone(),
        };
        let judged = self
            .archive_call(
                "the archive (recording the disposition)",
                self.archive.set_disposition(&judgement),
            )
            .await?;
        Ok(v1::SetFindingDispositionResponse {
            agency: judged.agency,
            year: u32::from(judged.year),
            caller,
        })
    }

    /// `ListVersions`.
    pub(crate) async fn list_versions(
        &self,
        request: v1::ListVersionsRequest,
    ) -> Result<v1::ListVersionsResponse, GrpcStatus> {
        let key = if !request.report_id.trim().is_empty() {
            SeriesKey::Report(parse_report_id(&request.report_id)?)
        } else {
            match (
                request.agency.filter(|a| !a.trim().is_empty()),
                request.year,
            ) {
                (Some(agency), Some(year)) => SeriesKey::AgencyYear {
                    agency,
                    year: u16::try_from(year).map_err(|_| {
                        GrpcStatus::invalid_argument(format!("year {year} is out of range"))
                    })?,
                },
                _ => {
                    return Err(GrpcStatus::invalid_argument(
                        "name the series: report_id, or agency and year",
                    ));
                }
            }
        };
        let series = self
            .archive_call("the archive (versions)", self.archive.list_versions(&key))
            .await?;
        Ok(convert::series(&series))
    }
}
