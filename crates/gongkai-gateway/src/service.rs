//! `gongkai.v1.ReportService`: validation of each request, then the blob store, the archive
//! and the broker in the order that keeps a submission safe — bytes stored before they are
//! recorded, recorded before they are queued, and the caller answered only once the broker
//! has confirmed the message.

use crate::Caller;
use crate::config::GatewayConfig;
use crate::convert;
use crate::error::{archive_status, blob_status, publish_status, timeout_status};
use crate::limits::{ByteBounded, Limits, Permit, caller_key};
use crate::outbox::QueuedNotes;
use bytes::Bytes;
use chrono::Utc;
use futures::stream::{BoxStream, StreamExt};
use gongkai_archive::{
    Archive, EventRecord, ListFilter, NewSubmission, Outcome, Stage as ArchiveStage, Status,
};
use gongkai_blob::BlobStore;
use gongkai_model::Template;
use gongkai_proto::v1;
use gongkai_queue::{Publisher, Stage, StageMessage};
use gongkai_telemetry::Metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status as GrpcStatus, Streaming};
use uuid::Uuid;

/// Longest accepted file name, source system and idempotency key, in characters.
const MAX_NAME_CHARS: usize = 1024;
/// The size of the chunks GetDocument sends.
const DOCUMENT_CHUNK_BYTES: usize = 256 * 1024;
/// How many items of one SubmitReports stream are in flight at once.
const BULK_CONCURRENCY: usize = 16;

/// The service's state; cheap to clone.
#[derive(Clone)]
pub struct ReportServiceImpl {
    pub(crate) blobs: BlobStore,
    pub(crate) archive: Archive,
    pub(crate) publisher: Publisher,
    pub(crate) metrics: Option<Metrics>,
    pub(crate) max_report_bytes: usize,
    pub(crate) archive_timeout: Duration,
    /// Where confirmed publishes are noted (see [`crate::outbox`]).
    pub(crate) queued: QueuedNotes,
    /// The bounds on streams, watchers and submission rates (see [`crate::limits`]).
    pub(crate) limits: Arc<Limits>,
}

impl std::fmt::Debug for ReportServiceImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportServiceImpl")
            .field("blobs", &self.blobs)
            .field("max_report_bytes", &self.max_report_bytes)
            .finish_non_exhaustive()
    }
}

impl ReportServiceImpl {
    pub(crate) fn new(
        config: &GatewayConfig,
        blobs: BlobStore,
        archive: Archive,
        publisher: Publisher,
        metrics: Option<Metrics>,
        queued: QueuedNotes,
    ) -> ReportServiceImpl {
        ReportServiceImpl {
            queued,
            blobs,
            archive,
            publisher: publisher.with_timeout(config.confirm_timeout()),
            metrics,
            max_report_bytes: config.max_report_bytes,
            archive_timeout: config.archive_timeout(),
            limits: Arc::new(Limits::new(config)),
        }
    }

    /// A place for one more watch stream (WatchReport, WatchBatch) of the request's caller,
    /// held for as long as the returned permit lives (move it into the response stream), or
    /// RESOURCE_EXHAUSTED with a retry hint beyond the caller's or the gateway's cap.
    pub(crate) fn admit_watcher<T>(&self, request: &Request<T>) -> Result<Permit, GrpcStatus> {
        self.limits.watchers.admit(&caller_key(request))
    }

    /// Runs an archive call with the archive timeout: a database that hangs is UNAVAILABLE.
    pub(crate) async fn archive_call<T>(
        &self,
        what: &str,
        call: impl Future<Output = gongkai_archive::Result<T>>,
    ) -> Result<T, GrpcStatus> {
        match tokio::time::timeout(self.archive_timeout, call).await {
            Ok(result) => result.map_err(archive_status),
            Err(_) => Err(timeout_status(what, self.archive_timeout)),
        }
    }

    fn validate(&self, request: &v1::SubmitReportRequest) -> Result<(), GrpcStatus> {
        if request.content.is_empty() {
            return Err(GrpcStatus::invalid_argument(
                "content is empty: send the bytes of the report document",
            ));
        }
        if request.content.len() > self.max_report_bytes {
            return Err(GrpcStatus::resource_exhausted(format!(
                "content is {} bytes; the largest report accepted is {} bytes (MAX_REPORT_BYTES)",
                request.content.len(),
                self.max_report_bytes
            )));
        }
        for (field, value) in [
            ("filename", Some(request.filename.as_str())),
            ("source_system", Some(request.source_system.as_str())),
            ("media_type", request.media_type.as_deref()),
            ("idempotency_key", request.idempotency_key.as_deref()),
            ("batch", request.batch.as_deref()),
            ("region", request.region.as_deref()),
        ] {
            if let Some(value) = value
                && value.chars().count() > MAX_NAME_CHARS
            {
                return Err(GrpcStatus::invalid_argument(format!(
                    "{field} is longer than {MAX_NAME_CHARS} characters"
                )));
            }
            if value.is_some_and(|v| v.chars().any(char::is_control)) {
                return Err(GrpcStatus::invalid_argument(format!(
                    "{field} contains control characters"
                )));
            }
        }
        if request.batch.as_deref().is_some_and(|b| {
            b.trim()
                .starts_with(gongkai_archive::REVALIDATION_BATCH_PREFIX)
        }) {
            return Err(GrpcStatus::invalid_argument(format!(
                "batch labels starting with {:?} are the re-validations' own",
                gongkai_archive::REVALIDATION_BATCH_PREFIX
            )));
        }
        if request
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.trim().is_empty())
        {
            return Err(GrpcStatus::invalid_argument(
                "idempotency_key is empty; leave it unset instead",
            ));
        }
        Ok(())
    }

    /// [`Self::submit`], counted in `gongkai_reports_total{stage="submit"}` and its duration.
    async fn submit_counted(
        &self,
        request: v1::SubmitReportRequest,
    ) -> Result<v1::SubmitReportResponse, GrpcStatus> {
        let started = std::time::Instant::now();
        let result = self.submit(request).await;
        if let Some(metrics) = &self.metrics {
            let outcome = match &result {
                Ok(response) if response.duplicate => gongkai_telemetry::Outcome::Duplicate,
                Ok(_) => gongkai_telemetry::Outcome::Ok,
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::InvalidArgument | tonic::Code::ResourceExhausted
                    ) =>
                {
                    gongkai_telemetry::Outcome::Rejected
                }
                Err(_) => gongkai_telemetry::Outcome::Failed,
            };
            metrics.stage_finished(gongkai_telemetry::Stage::Submit, outcome, started.elapsed());
        }
        result
    }

    /// The whole submission of one report.
    pub(crate) async fn submit(
        &self,
        request: v1::SubmitReportRequest,
    ) -> Result<v1::SubmitReportResponse, GrpcStatus> {
        let received_at = Utc::now();
        self.validate(&request)?;
        let size_bytes = request.content.len() as u64;
        let stored = self
            .blobs
            .put_content(Bytes::from(request.content))
            .await
            .map_err(blob_status)?;
        let filename = if request.filename.trim().is_empty() {
            "unnamed".to_owned()
        } else {
            request.filename
        };
        let source_system = Some(request.source_system).filter(|s| !s.trim().is_empty());
        let region = request.region.filter(|r| !r.trim().is_empty());
        let submission = NewSubmission {
            sha256: stored.sha256.clone(),
            idempotency_key: request.idempotency_key,
            filename: filename.clone(),
            media_type: request.media_type.filter(|m| !m.trim().is_empty()),
            size_bytes,
            blob_key: stored.key.clone(),
            source_system: source_system.clone(),
            received_at,
            batch: request.batch,
        };
        let submitted = self
            .archive_call(
                "the archive (recording the submission)",
                self.archive.record_submission(&submission),
            )
            .await?;
        gongkai_telemetry::record_report(
            &tracing::Span::current(),
            &submitted.report_id.to_string(),
            None,
            None,
        );
        let message = StageMessage {
            report_id: submitted.report_id,
            sha256: stored.sha256.clone(),
            blob_key: stored.key,
            filename,
            source_system,
            attempt: 0,
            kind: gongkai_queue::MessageKind::Submission,
            batch: None,
        };
        if submitted.duplicate {
            let status = self.settle_duplicate(&message).await?;
            tracing::debug!(report_id = %submitted.report_id, status = status.as_str(), "duplicate submission");
            return Ok(v1::SubmitReportResponse {
                report_id: submitted.report_id.to_string(),
                status: convert::status(status) as i32,
                duplicate: true,
                sha256: stored.sha256,
                index: 0,
                error: None,
            });
        }
        if let Some(region) = &region {
            // Before the report is queued, so that archiving finds it.
            self.archive_call(
                "the archive (recording the region)",
                self.archive
                    .set_submitted_region(submitted.report_id, region),
            )
            .await?;
        }
        self.publish(&message, 1).await?;
        tracing::debug!(report_id = %submitted.report_id, size_bytes, "report received");
        Ok(v1::SubmitReportResponse {
            report_id: submitted.report_id.to_string(),
            status: v1::ReportStatus::Received as i32,
            duplicate: false,
            sha256: stored.sha256,
            index: 0,
            error: None,
        })
    }

    /// Publishes the parse message and waits for the confirm. When the broker does not
    /// confirm, the failure is recorded as a `receive` run to retry (`attempt`), so that
    /// resubmitting the same report queues it instead of being taken for a duplicate that is
    /// already in the pipeline.
    async fn publish(&self, message: &StageMessage, attempt: u32) -> Result<(), GrpcStatus> {
        let started_at = Utc::now();
        // The publisher adds the trace context of its PRODUCER span (a child of this call's).
        match self
            .publisher
            .publish(Stage::Parse, message, gongkai_queue::FieldTable::default())
            .await
        {
            Ok(()) => {
                self.queued.note(message.report_id);
                if let Some(metrics) = &self.metrics {
                    metrics.published(Stage::Parse.as_str());
                }
                Ok(())
            }
            Err(error) => {
                let chain = gongkai_telemetry::error_chain(&error);
                tracing::warn!(report_id = %message.report_id, error = %chain, "publish not confirmed");
                let record = EventRecord {
                    stage: ArchiveStage::Receive,
                    attempt: attempt + 1,
                    status: None,
                    outcome: Outcome::Retrying,
                    detail: Some(format!("not queued: {chain}")),
                    started_at,
                    finished_at: Utc::now(),
                };
                if let Err(status) = self
                    .archive_call(
                        "the archive (recording the failed publish)",
                        self.archive.record_event(message.report_id, &record),
                    )
                    .await
                {
                    tracing::error!(report_id = %message.report_id, %status, "cannot record the failed publish; a resubmission will be taken as a duplicate");
                }
                Err(publish_status(&error))
            }
        }
    }

    /// A duplicate is answered with the earlier report's status. If that report was recorded
    /// but its message never confirmed (the last `receive` run is `retrying`), it is queued now.
    async fn settle_duplicate(&self, message: &StageMessage) -> Result<Status, GrpcStatus> {
        let status = self
            .archive_call(
                "the archive (status)",
                self.archive.status(message.report_id),
            )
            .await?;
        if status != Status::Received {
            return Ok(status);
        }
        let events = self
            .archive_call(
                "the archive (events)",
                self.archive.events(message.report_id),
            )
            .await?;
        let last_receive = events
            .iter()
            .filter(|e| e.stage == ArchiveStage::Receive)
            .max_by_key(|e| e.seq);
        let Some(last) = last_receive.filter(|e| e.outcome == Outcome::Retrying) else {
            return Ok(status);
        };
        let started_at = Utc::now();
        self.publish(message, last.attempt).await?;
        let record = EventRecord {
            stage: ArchiveStage::Receive,
            attempt: last.attempt,
            status: Some(Status::Received),
            outcome: Outcome::Succeeded,
            detail: Some("queued on resubmission".to_owned()),
            started_at,
            finished_at: Utc::now(),
        };
        self.archive_call(
            "the archive (recording the publish)",
            self.archive.record_event(message.report_id, &record),
        )
        .await?;
        tracing::info!(report_id = %message.report_id, "queued a report whose first publish was not confirmed");
        Ok(status)
    }
}

pub(crate) fn parse_report_id(text: &str) -> Result<Uuid, GrpcStatus> {
    if text.trim().is_empty() {
        return Err(GrpcStatus::invalid_argument("report_id is empty"));
    }
    Uuid::parse_str(text.trim()).map_err(|_| {
        // Only the start of what the caller sent is echoed back.
        let shown: String = text.chars().take(40).collect();
        let cut = if shown.len() < text.len() { "…" } else { "" };
        GrpcStatus::invalid_argument(format!("report_id {shown:?}{cut} is not a UUID"))
    })
}

pub(crate) type ResponseStream<T> = BoxStream<'static, Result<T, GrpcStatus>>;

#[tonic::async_trait]
impl v1::report_service_server::ReportService for ReportServiceImpl {
    async fn submit_report(
        &self,
        request: Request<v1::SubmitReportRequest>,
    ) -> Result<Response<v1::SubmitReportResponse>, GrpcStatus> {
        let caller = Caller::of(&request).cloned();
        self.limits.check_submit_rate(&caller_key(&request))?;
        let mut submission = request.into_inner();
        // An authenticated caller's submissions are recorded under its token's name (§7).
        if let Some(caller) = caller {
            submission.source_system = caller.name;
        }
        self.submit_counted(submission).await.map(Response::new)
    }

    type SubmitReportsStream = ResponseStream<v1::SubmitReportResponse>;

    async fn submit_reports(
        &self,
        request: Request<Streaming<v1::SubmitReportRequest>>,
    ) -> Result<Response<Self::SubmitReportsStream>, GrpcStatus> {
        let service = self.clone();
        let max_report_bytes = self.max_report_bytes;
        let key = caller_key(&request);
        let stream_permit = self.limits.submit_streams.admit(&key)?;
        let source_system = Caller::of(&request).map(|c| c.name.clone());
        let limits = self.limits.clone();
        let inbound = request.into_inner();
        // Items are handled while the response streams, after this call's span has closed:
        // each report gets a trace of its own, linked to the call that carried it.
        let call = gongkai_telemetry::current_context();
        let handle = move |(index, item): (usize, Result<v1::SubmitReportRequest, GrpcStatus>)| {
            let service = service.clone();
            let limits = limits.clone();
            let key = key.clone();
            let source_system = source_system.clone();
            let item_span = gongkai_telemetry::linked_root_span(
                "gongkai.v1.ReportService/SubmitReports item",
                &call,
            );
            tracing::Instrument::instrument(
                async move {
                    // A broken inbound stream (a message over tonic's limit, a reset) ends the
                    // call; a bad report is answered in its place and the stream goes on.
                    let mut request = item.map_err(|status| {
                        crate::oversized::oversized(&status, max_report_bytes).unwrap_or(status)
                    })?;
                    if let Some(name) = source_system {
                        request.source_system = name;
                    }
                    // A stream over the caller's rate is paced, not refused.
                    if let Some(limiter) = &limits.submit_rate {
                        limiter.pace(&key).await;
                    }
                    let index = index as u64;
                    Ok(match service.submit_counted(request).await {
                        Ok(response) => v1::SubmitReportResponse { index, ..response },
                        Err(status) => v1::SubmitReportResponse {
                            index,
                            error: Some(v1::ItemError {
                                code: status.code() as i32,
                                message: status.message().to_owned(),
                            }),
                            ..Default::default()
                        },
                    })
                },
                item_span,
            )
        };
        // The items in hand are bounded in count and in bytes: the next one is read off the
        // connection only when there is room, so a fast client waits on flow control.
        let outbound = ByteBounded::new(
            inbound.enumerate().boxed(),
            BULK_CONCURRENCY,
            self.limits.submit_stream_bytes,
            |(_, item)| item.as_ref().map_or(0, |r| r.content.len()),
            handle,
        )
        .map(move |item| {
            // The stream's place is held until its last answer is sent (or the client left).
            let _ = &stream_permit;
            item
        })
        .boxed();
        Ok(Response::new(outbound))
    }

    async fn get_report(
        &self,
        request: Request<v1::GetReportRequest>,
    ) -> Result<Response<v1::Report>, GrpcStatus> {
        let id = parse_report_id(&request.get_ref().report_id)?;
        let stored = self
            .archive_call("the archive (report)", self.archive.get_report(id))
            .await?;
        Ok(Response::new(convert::report(&stored)))
    }

    type WatchReportStream = ResponseStream<v1::ReportEvent>;

    async fn watch_report(
        &self,
        request: Request<v1::WatchReportRequest>,
    ) -> Result<Response<Self::WatchReportStream>, GrpcStatus> {
        let id = parse_report_id(&request.get_ref().report_id)?;
        let permit = self.admit_watcher(&request)?;
        let mut events = self.archive.watch(id).boxed();
        // The first item is taken before answering, so that an unknown id is NOT_FOUND as the
        // call's status, not as a first stream item. A known report always has its `receive`
        // event, so this is the history's first read, no extra query.
        let first = self
            .archive_call("the archive (events)", async {
                events.next().await.transpose()
            })
            .await?;
        let events = futures::stream::iter(first.map(Ok))
            .chain(events)
            .map(move |item| {
                // The watcher's place is held for as long as the stream lives.
                let _ = &permit;
                item.map(|e| convert::event(&e)).map_err(archive_status)
            })
            .boxed();
        Ok(Response::new(events))
    }

    async fn list_reports(
        &self,
        request: Request<v1::ListReportsRequest>,
    ) -> Result<Response<v1::ListReportsResponse>, GrpcStatus> {
        let request = request.into_inner();
        let status = v1::ReportStatus::try_from(request.status).map_err(|_| {
            GrpcStatus::invalid_argument(format!("unknown status {}", request.status))
        })?;
        let template = match request.template.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(id) => Some(Template::from_id(id).ok_or_else(|| {
                GrpcStatus::invalid_argument(format!(
                    "unknown template {id:?} (F2019, F2021, mixed, legacy, unknown)"
                ))
            })?),
        };
        let year =
            match request.year {
                None => None,
                Some(y) => Some(u16::try_from(y).map_err(|_| {
                    GrpcStatus::invalid_argument(format!("year {y} is out of range"))
                })?),
            };
        let filter = ListFilter {
            agency_contains: request.agency.filter(|a| !a.is_empty()),
            year,
            template,
            status: convert::status_filter(status),
            has_errors: request.has_errors,
            unjudged_errors: request.unjudged_errors.unwrap_or(false),
        };
        let page = self
            .archive_call(
                "the archive (listing)",
                self.archive.list_reports(
                    &filter,
                    request.page_size,
                    Some(request.page_token.as_str()).filter(|t| !t.is_empty()),
                ),
            )
            .await?;
        Ok(Response::new(v1::ListReportsResponse {
            reports: page.reports.iter().map(convert::summary).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn correct_report(
        &self,
        request: Request<v1::CorrectReportRequest>,
    ) -> Result<Response<v1::CorrectReportResponse>, GrpcStatus> {
        self.correct_report(request).await.map(Response::new)
    }

    async fn list_versions(
        &self,
        request: Request<v1::ListVersionsRequest>,
    ) -> Result<Response<v1::ListVersionsResponse>, GrpcStatus> {
        self.list_versions(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn set_finding_disposition(
        &self,
        request: Request<v1::SetFindingDispositionRequest>,
    ) -> Result<Response<v1::SetFindingDispositionResponse>, GrpcStatus> {
        self.set_finding_disposition(request)
            .await
            .map(Response::new)
    }

    async fn revalidate_reports(
        &self,
        request: Request<v1::RevalidateReportsRequest>,
    ) -> Result<Response<v1::RevalidateReportsResponse>, GrpcStatus> {
        self.revalidate_reports(request).await.map(Response::new)
    }

    async fn get_batch(
        &self,
        request: Request<v1::GetBatchRequest>,
    ) -> Result<Response<v1::Batch>, GrpcStatus> {
        self.get_batch(&request.get_ref().batch)
            .await
            .map(Response::new)
    }

    async fn list_batches(
        &self,
        request: Request<v1::ListBatchesRequest>,
    ) -> Result<Response<v1::ListBatchesResponse>, GrpcStatus> {
        self.list_batches(request.get_ref().limit)
            .await
            .map(Response::new)
    }

    type WatchBatchStream = ResponseStream<v1::Batch>;

    async fn watch_batch(
        &self,
        request: Request<v1::WatchBatchRequest>,
    ) -> Result<Response<Self::WatchBatchStream>, GrpcStatus> {
        let permit = self.admit_watcher(&request)?;
        let stream = self.watch_batch(&request.get_ref().batch).await?;
        let stream = stream
            .map(move |item| {
                // The watcher's place is held for as long as the stream lives.
                let _ = &permit;
                item
            })
            .boxed();
        Ok(Response::new(stream))
    }

    async fn retry_batch(
        &self,
        request: Request<v1::RetryBatchRequest>,
    ) -> Result<Response<v1::RetryBatchResponse>, GrpcStatus> {
        let caller = crate::review::caller_name(&request);
        self.retry_batch(&request.get_ref().batch, &caller)
            .await
            .map(Response::new)
    }

    type GetDocumentStream = ResponseStream<v1::DocumentChunk>;

    async fn get_document(
        &self,
        request: Request<v1::GetDocumentRequest>,
    ) -> Result<Response<Self::GetDocumentStream>, GrpcStatus> {
        let id = parse_report_id(&request.get_ref().report_id)?;
        let document = self
            .archive_call("the archive (document)", self.archive.document_ref(id))
            .await?;
        let chunks = self
            .blobs
            .get_stream(&document.blob_key)
            .await
            .map_err(blob_status)?;
        let stream = chunks
            .flat_map(|chunk| {
                let pieces: Vec<Result<v1::DocumentChunk, GrpcStatus>> = match chunk {
                    Ok(bytes) => split(bytes)
                        .into_iter()
                        .map(|data| {
                            Ok(v1::DocumentChunk {
                                data: data.to_vec(),
                            })
                        })
                        .collect(),
                    Err(error) => vec![Err(blob_status(error))],
                };
                futures::stream::iter(pieces)
            })
            .boxed();
        Ok(Response::new(stream))
    }

    async fn list_metrics(
        &self,
        request: Request<v1::ListMetricsRequest>,
    ) -> Result<Response<v1::ListMetricsResponse>, GrpcStatus> {
        self.list_metrics_rpc(request).await
    }

    async fn query_metrics(
        &self,
        request: Request<v1::QueryMetricsRequest>,
    ) -> Result<Response<v1::QueryMetricsResponse>, GrpcStatus> {
        self.query_metrics_rpc(request).await
    }

    type ExportCellsStream = ResponseStream<v1::DocumentChunk>;

    async fn export_cells(
        &self,
        request: Request<v1::ExportCellsRequest>,
    ) -> Result<Response<Self::ExportCellsStream>, GrpcStatus> {
        self.export_cells_rpc(request).await
    }

    type ExportMetricsStream = ResponseStream<v1::DocumentChunk>;

    async fn export_metrics(
        &self,
        request: Request<v1::ExportMetricsRequest>,
    ) -> Result<Response<Self::ExportMetricsStream>, GrpcStatus> {
        self.export_metrics_rpc(request).await
    }

    async fn set_agency_alias(
        &self,
        request: Request<v1::SetAgencyAliasRequest>,
    ) -> Result<Response<v1::AgencyAlias>, GrpcStatus> {
        self.set_agency_alias_rpc(request).await
    }

    async fn list_agency_aliases(
        &self,
        request: Request<v1::ListAgencyAliasesRequest>,
    ) -> Result<Response<v1::ListAgencyAliasesResponse>, GrpcStatus> {
        self.list_agency_aliases_rpc(request).await
    }
}

/// Splits a storage chunk into message-sized pieces (clients keep their default 4 MiB limit).
fn split(mut bytes: Bytes) -> Vec<Bytes> {
    let mut pieces = Vec::with_capacity(bytes.len() / DOCUMENT_CHUNK_BYTES + 1);
    while bytes.len() > DOCUMENT_CHUNK_BYTES {
        pieces.push(bytes.split_to(DOCUMENT_CHUNK_BYTES));
    }
    if !bytes.is_empty() {
        pieces.push(bytes);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_must_be_uuids() {
        assert_eq!(
            parse_report_id("").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            parse_report_id("42").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let id = Uuid::now_v7();
        assert_eq!(parse_report_id(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn chunks_are_split_without_losing_bytes() {
        let data: Vec<u8> = (0..(DOCUMENT_CHUNK_BYTES * 2 + 17))
            .map(|i| (i % 256) as u8)
            .collect();
        let pieces = split(Bytes::from(data.clone()));
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.len() <= DOCUMENT_CHUNK_BYTES));
        assert_eq!(pieces.concat(), data);
        assert!(split(Bytes::new()).is_empty());
    }
}
