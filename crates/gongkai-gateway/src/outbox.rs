//! Making sure every recorded report reaches the queue, even when the gateway stops between
//! recording a submission and publishing its message.
//!
//! A submission is recorded first (so that the parse worker finds the report) and published
//! second; a gateway killed in between, or a broker that never confirms, would leave the report
//! `RECEIVED` for ever. So the archive keeps the reports whose message is not confirmed yet
//! (`unqueued_reports`, written with the submission), and forgets each once the broker
//! confirmed its message ([`QueuedNotes`], batched off the request path: a note lost with a crash only means
//! one harmless extra message), and every gateway runs a [`sweep`] that publishes the parse
//! message of each report still `RECEIVED` and unnoted after [`GatewayConfig::requeue_after`].
//! Two gateways sweeping at once may both publish a report; the stages are idempotent and the
//! archive writes a report once, so that costs work, not correctness.

use crate::config::GatewayConfig;
use gongkai_archive::Archive;
use gongkai_queue::{FieldTable, Publisher, Stage, StageMessage};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Reports noted at most per statement.
const NOTE_BATCH: usize = 1_000;
/// Notes kept while the archive cannot take them; beyond this the oldest are dropped (the
/// sweep then publishes those reports once more).
const MAX_PENDING_NOTES: usize = 100_000;
/// Reports the sweep takes at a time.
const SWEEP_BATCH: u32 = 200;

/// The sending end of the queued-notes writer: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub(crate) struct QueuedNotes {
    sender: mpsc::UnboundedSender<Uuid>,
}

impl QueuedNotes {
    /// The handle and the writer task's input.
    pub(crate) fn new() -> (QueuedNotes, mpsc::UnboundedReceiver<Uuid>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (QueuedNotes { sender }, receiver)
    }

    /// Notes (soon) that the parse message of `report_id` was confirmed.
    pub(crate) fn note(&self, report_id: Uuid) {
        // No writer (the gateway is stopping): the sweep will catch the report if needed.
        let _ = self.sender.send(report_id);
    }
}

/// Writes the notes in batches until every [`QueuedNotes`] is dropped and the rest is written
/// (or the archive stays unreachable).
pub(crate) async fn write_notes(archive: Archive, mut receiver: mpsc::UnboundedReceiver<Uuid>) {
    let mut pending: Vec<Uuid> = Vec::new();
    loop {
        if pending.is_empty() {
            match receiver.recv().await {
                Some(id) => pending.push(id),
                None => return,
            }
        }
        while pending.len() < NOTE_BATCH {
            match receiver.try_recv() {
                Ok(id) => pending.push(id),
                Err(_) => break,
            }
        }
        match archive.mark_queued(&pending).await {
            Ok(()) => pending.clear(),
            Err(error) => {
                tracing::warn!(error = %gongkai_telemetry::error_chain(&error), pending = pending.len(), "cannot note queued reports; trying again");
                if pending.len() > MAX_PENDING_NOTES {
                    let excess = pending.len() - MAX_PENDING_NOTES;
                    pending.drain(..excess);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                if receiver.is_closed() && receiver.is_empty() {
                    // Stopping: one last try above failed; the sweep covers what is left.
                    return;
                }
            }
        }
    }
}

/// Every `config.requeue_interval()`, publishes the parse message of each report recorded but
/// never queued for longer than `config.requeue_after()`. Runs until aborted.
pub(crate) async fn sweep(archive: Archive, publisher: Publisher, config: GatewayConfig) {
    let older_than = config.requeue_after();
    let mut ticks = tokio::time::interval(config.requeue_interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sweep_once(&archive, &publisher, older_than).await {
            Ok(0) => {}
            Ok(queued) => {
                tracing::warn!(queued, "queued reports that were recorded but never queued")
            }
            Err(error) => tracing::warn!(%error, "the recovery sweep failed; trying again later"),
        }
    }
}

/// One pass of the sweep; returns how many reports it queued.
pub(crate) async fn sweep_once(
    archive: &Archive,
    publisher: &Publisher,
    older_than: Duration,
) -> Result<usize, String> {
    let mut queued = 0;
    loop {
        let reports = archive
            .unqueued(older_than, SWEEP_BATCH)
            .await
            .map_err(|e| gongkai_telemetry::error_chain(&e))?;
        if reports.is_empty() {
            return Ok(queued);
        }
        let mut confirmed = Vec::with_capacity(reports.len());
        for report in &reports {
            let message = StageMessage {
                report_id: report.report_id,
                sha256: report.sha256.clone(),
                blob_key: report.blob_key.clone(),
                filename: report.filename.clone(),
                source_system: report.source_system.clone(),
                attempt: 0,
                kind: gongkai_queue::MessageKind::Submission,
                batch: None,
            };
            publisher
                .publish(Stage::Parse, &message, FieldTable::default())
                .await
                .map_err(|e| gongkai_telemetry::error_chain(&e))?;
            tracing::info!(report_id = %report.report_id, "queued a report recorded but never queued");
            confirmed.push(report.report_id);
        }
        archive
            .mark_queued(&confirmed)
            .await
            .map_err(|e| gongkai_telemetry::error_chain(&e))?;
        queued += confirmed.len();
        if reports.len() < SWEEP_BATCH as usize {
            return Ok(queued);
        }
    }
}
