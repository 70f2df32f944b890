//! The batch and re-validation RPCs of archive.md §3–§4: `RevalidateReports` (plan the batch in
//! the archive, then queue each report), `GetBatch`, `ListBatches`, `WatchBatch` (the batch's
//! counts each time they change) and `RetryBatch` (the batch's FAILED reports queued again).

use crate::convert;
use crate::review::caller_name;
use crate::service::ReportServiceImpl;
use futures::stream::{self, BoxStream, StreamExt};
use gongkai_archive::{BatchView, QueueItem, RevalidationRequest};
use gongkai_model::Template;
use gongkai_proto::v1;
use gongkai_queue::{MessageKind, Stage, StageMessage};
use std::time::Duration;
use tonic::{Request, Status as GrpcStatus};

/// How many stage messages of one batch are published at once.
const PUBLISH_CONCURRENCY: usize = 32;
/// How often `WatchBatch` reads the batch's counts.
pub const BATCH_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The default and largest `ListBatches` page.
const DEFAULT_BATCHES: u32 = 20;

pub(crate) fn batch_message(view: &BatchView) -> v1::Batch {
    v1::Batch {
        batch: view.batch.clone(),
        kind: view.kind.clone(),
        total: view.total,
        counts: view
            .counts
            .iter()
            .map(|(status, count)| v1::StatusCount {
                status: status.clone(),
                count: *count,
            })
            .collect(),
        failed: view.failed,
        complete: view.complete,
        failures: view
            .failures
            .iter()
            .map(|f| v1::BatchFailure {
                report_id: f.report_id.to_string(),
                filename: f.filename.clone(),
                stage: f.stage.clone(),
                reason: f.reason.clone(),
            })
            .collect(),
        started_at: view.started_at.map(convert::timestamp),
        finished_at: view.finished_at.map(convert::timestamp),
        created_at: Some(convert::timestamp(view.created_at)),
        caller: view.caller.clone(),
    }
}

fn batch_name(batch: &str) -> Result<&str, GrpcStatus> {
    let batch = batch.trim();
    if batch.is_empty() {
        return Err(GrpcStatus::invalid_argument("batch is empty"));
    }
    Ok(batch)
}

impl ReportServiceImpl {
    /// Publishes one stage message per item (`kind`, `batch`), at most
    /// [`PUBLISH_CONCURRENCY`] at once, each confirmed by the broker; returns the items whose
    /// message was not confirmed, with the error.
    async fn queue_items(
        &self,
        items: Vec<QueueItem>,
        kind: MessageKind,
        batch: Option<&str>,
    ) -> Vec<(QueueItem, String)> {
        let stage = match kind {
            MessageKind::Submission | MessageKind::Reparse => Stage::Parse,
            MessageKind::Correction | MessageKind::Revalidation => Stage::Validate,
        };
        let results: Vec<Option<(QueueItem, String)>> = stream::iter(items)
            .map(|item| async move {
                let message = StageMessage {
                    report_id: item.report_id,
                    sha256: item.sha256.clone(),
                    blob_key: item.blob_key.clone(),
                    filename: item.filename.clone(),
                    source_system: item.source_system.clone(),
                    attempt: 0,
                    kind,
                    batch: batch.map(str::to_owned),
                };
                match self
                    .publisher
                    .publish(stage, &message, gongkai_queue::FieldTable::default())
                    .await
                {
                    Ok(()) => {
                        if let Some(metrics) = &self.metrics {
                            metrics.published(stage.as_str());
                        }
                        None
                    }
                    Err(error) => Some((item, error.to_string())),
                }
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().flatten().collect()
    }

    /// `RevalidateReports`.
    pub(crate) async fn revalidate_reports(
        &self,
        request: Request<v1::RevalidateReportsRequest>,
    ) -> Result<v1::RevalidateReportsResponse, GrpcStatus> {
        let caller = caller_name(&request);
        let request = request.into_inner();
        let filter = request.filter.unwrap_or_default();
        let year = |y: Option<u32>, field: &str| -> Result<Option<u16>, GrpcStatus> {
            y.map(|y| {
                u16::try_from(y).map_err(|_| {
                    GrpcStatus::invalid_argument(format!("filter.{field} {y} is out of range"))
                })
            })
            .transpose()
        };
        let template = match filter.template.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(id) => Some(Template::from_id(id).ok_or_else(|| {
                GrpcStatus::invalid_argument(format!(
                    "filter.template {id:?} is not one of F2019, F2021, mixed, legacy, unknown"
                ))
            })?),
        };
        let plan_request = RevalidationRequest {
            agency_contains: filter.agency.filter(|a| !a.is_empty()),
            region: filter.region.filter(|r| !r.trim().is_empty()),
            year_from: year(filter.year_from, "year_from")?,
            year_to: year(filter.year_to, "year_to")?,
            template,
            rules_version_below: request.rules_version_below.filter(|v| !v.trim().is_empty()),
            current_rules_version: gongkai_rules::RULES_VERSION.to_owned(),
            force: request.force,
            reparse: request.reparse,
            caller,
        };
        let plan = self
            .archive_call(
                "the archive (planning the re-validation)",
                self.archive.plan_revalidation(&plan_request),
            )
            .await?;
        let queued = u32::try_from(plan.queued.len()).unwrap_or(u32::MAX);
        let kind = if request.reparse {
            MessageKind::Reparse
        } else {
            MessageKind::Revalidation
        };
        let unqueued = self.queue_items(plan.queued, kind, Some(&plan.batch)).await;
        // What the broker did not take is FAILED in the batch, for RetryBatch to queue again.
        for (item, error) in &unqueued {
            let reason = format!("未能排队 / not queued: {error}");
            if let Err(status) = self
                .archive_call(
                    "the archive (failing an unqueued re-validation)",
                    self.archive
                        .fail_revalidation(&plan.batch, item.report_id, "receive", &reason),
                )
                .await
            {
                tracing::error!(report_id = %item.report_id, %status, "cannot fail an unqueued re-validation");
            }
        }
        tracing::info!(batch = %plan.batch, queued, skipped = plan.skipped, unqueued = unqueued.len(), "re-validation planned");
        Ok(v1::RevalidateReportsResponse {
            batch: plan.batch,
            queued,
            skipped: plan.skipped,
        })
    }

    /// `GetBatch`.
    pub(crate) async fn get_batch(&self, batch: &str) -> Result<v1::Batch, GrpcStatus> {
        let batch = batch_name(batch)?;
        let view = self
            .archive_call("the archive (batch)", self.archive.get_batch(batch, true))
            .await?;
        Ok(batch_message(&view))
    }

    /// `ListBatches`.
    pub(crate) async fn list_batches(
        &self,
        limit: u32,
    ) -> Result<v1::ListBatchesResponse, GrpcStatus> {
        let limit = if limit == 0 { DEFAULT_BATCHES } else { limit };
        let views = self
            .archive_call("the archive (batches)", self.archive.list_batches(limit))
            .await?;
        Ok(v1::ListBatchesResponse {
            batches: views.iter().map(batch_message).collect(),
        })
    }

    /// `WatchBatch`: the first view at once (NOT_FOUND-like errors as the call's status), then
    /// each changed view, until the batch is complete.
    pub(crate) async fn watch_batch(
        &self,
        batch: &str,
    ) -> Result<BoxStream<'static, Result<v1::Batch, GrpcStatus>>, GrpcStatus> {
        let first = self.get_batch(batch).await?;
        let service = self.clone();
        let name = first.batch.clone();
        let stream = stream::unfold(
            (Some(first), None::<v1::Batch>, false),
            move |(next, last, done)| {
                let service = service.clone();
                let name = name.clone();
                async move {
                    if done {
                        return None;
                    }
                    let mut current = match next {
                        Some(view) => view,
                        None => loop {
                            tokio::time::sleep(BATCH_POLL_INTERVAL).await;
                            match service.get_batch(&name).await {
                                Ok(view) if Some(&view) != last.as_ref() => break view,
                                Ok(_) => continue,
                                Err(status) => return Some((Err(status), (None, last, true))),
                            }
                        },
                    };
                    // The failures are in GetBatch; a watcher gets the counts.
                    current.failures.clear();
                    let complete = current.complete;
                    Some((Ok(current.clone()), (None, Some(current), complete)))
                }
            },
        );
        Ok(stream.boxed())
    }

    /// `RetryBatch`.
    pub(crate) async fn retry_batch(
        &self,
        batch: &str,
        caller: &str,
    ) -> Result<v1::RetryBatchResponse, GrpcStatus> {
        let batch = batch_name(batch)?;
        let retry = self
            .archive_call(
                "the archive (retrying a batch)",
                self.archive.retry_batch(batch, caller),
            )
            .await?;
        let revalidation = retry.kind == "REVALIDATION";
        let kind = match (revalidation, retry.reparse) {
            (false, _) => MessageKind::Submission,
            (true, true) => MessageKind::Reparse,
            (true, false) => MessageKind::Revalidation,
        };
        let report_ids: Vec<String> = retry
            .items
            .iter()
            .map(|i| i.report_id.to_string())
            .collect();
        let unqueued = self
            .queue_items(retry.items, kind, revalidation.then_some(batch))
            .await;
        if let Some((item, error)) = unqueued.first() {
            if revalidation {
                for (item, error) in &unqueued {
                    let reason = format!("未能排队 / not queued: {error}");
                    let _ = self
                        .archive
                        .fail_revalidation(batch, item.report_id, "receive", &reason)
                        .await;
                }
            }
            return Err(GrpcStatus::unavailable(format!(
                "{} of {} reports could not be queued again (first: {}: {error}); retry the batch",
                unqueued.len(),
                report_ids.len(),
                item.report_id
            )));
        }
        tracing::info!(batch, requeued = report_ids.len(), "batch retried");
        Ok(v1::RetryBatchResponse {
            requeued: u32::try_from(report_ids.len()).unwrap_or(u32::MAX),
            report_ids,
        })
    }
}
