//! The dead-letter queues for people: list what is in them and why, and send it back.
//!
//! Listing fetches the messages without acknowledging them and then closes the channel, which
//! returns every one of them to its dead-letter queue unchanged: a listing takes nothing away.
//! Redriving republishes each message (confirmed) to its stage queue and only then removes it
//! from the dead-letter queue, so a failure halfway loses nothing (at worst one message is in
//! both queues, which the idempotent stages absorb). Redrive takes at most the messages that
//! were in the queue when it started, so a message that fails again at once is not redriven in
//! a loop.

use crate::error::QueueError;
use crate::message::{
    HEADER_ERROR, HEADER_LAST_ERROR, HEADER_REDRIVEN, HEADER_STAGE, StageMessage, header_number,
    header_text, value_number, value_text,
};
use crate::publisher::Broker;
use crate::topology::{EXCHANGE, Stage, ready_count};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use serde::Serialize;
use uuid::Uuid;

/// One entry of the broker's `x-death` header: one queue the message died in, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Death {
    pub queue: String,
    /// `rejected`, `expired`, `maxlen` or `delivery_limit`.
    pub reason: String,
    /// How many times the message died in that queue for that reason.
    pub count: i64,
}

/// A dead-lettered message as `gongkai dlq list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub stage: Stage,
    /// The report, when the body is a stage message.
    pub report_id: Option<Uuid>,
    pub filename: Option<String>,
    /// Why: the worker's reason (`x-gongkai-error`), else the broker's first death reason.
    pub reason: String,
    /// The last transient failure before the message was given up, when there was one.
    pub last_error: Option<String>,
    /// The broker's `x-death` entries (empty when a worker dead-lettered it directly).
    pub deaths: Vec<Death>,
    /// How many times it died in all (the `x-death` counts added up; at least 1).
    pub death_count: i64,
    /// How many times it was redriven before.
    pub redriven: i64,
    /// The body could be read as a stage message.
    pub decodable: bool,
}

fn deaths(headers: &FieldTable) -> Vec<Death> {
    let Some(AMQPValue::FieldArray(entries)) = headers.inner().get("x-death") else {
        return Vec::new();
    };
    entries
        .as_slice()
        .iter()
        .filter_map(|entry| match entry {
            AMQPValue::FieldTable(table) => {
                let get = |name: &str| table.inner().get(name);
                Some(Death {
                    queue: get("queue").and_then(value_text).unwrap_or_default(),
                    reason: get("reason").and_then(value_text).unwrap_or_default(),
                    count: get("count").and_then(value_number).unwrap_or(1),
                })
            }
            _ => None,
        })
        .collect()
}

fn describe(stage: Stage, headers: &FieldTable, body: &[u8]) -> DeadLetter {
    let message = StageMessage::from_json(body).ok();
    let deaths = deaths(headers);
    let broker_reason = header_text(headers, "x-first-death-reason")
        .or_else(|| deaths.first().map(|d| d.reason.clone()));
    let reason = header_text(headers, HEADER_ERROR)
        .or(broker_reason)
        .unwrap_or_else(|| "unknown".to_owned());
    let death_count = deaths.iter().map(|d| d.count).sum::<i64>().max(1);
    DeadLetter {
        stage,
        report_id: message.as_ref().map(|m| m.report_id),
        filename: message.as_ref().map(|m| m.filename.clone()),
        reason,
        last_error: header_text(headers, HEADER_LAST_ERROR),
        deaths,
        death_count,
        redriven: header_number(headers, HEADER_REDRIVEN).unwrap_or(0),
        decodable: message.is_some(),
    }
}

fn stages(stage: Option<Stage>) -> Vec<Stage> {
    stage.map_or_else(|| Stage::ALL.to_vec(), |s| vec![s])
}

/// The dead letters of `stage` (every stage when `None`), at most `limit` per stage, oldest
/// first. Leaves the queues as they were.
pub async fn list(
    broker: &Broker,
    stage: Option<Stage>,
    limit: usize,
) -> Result<Vec<DeadLetter>, QueueError> {
    let mut letters = Vec::new();
    for stage in stages(stage) {
        let queue = stage.dead_letter_queue();
        let channel = broker.channel().await?;
        let ready = usize::try_from(ready_count(&channel, &queue).await?).unwrap_or(usize::MAX);
        for _ in 0..ready.min(limit) {
            let fetched = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|source| QueueError::Fetch {
                    queue: queue.clone(),
                    source: Box::new(source),
                })?;
            let Some(fetched) = fetched else { break };
            let delivery = fetched.delivery;
            let headers = delivery.properties.headers().clone().unwrap_or_default();
            letters.push(describe(stage, &headers, &delivery.data));
        }
        // Closing without acknowledging returns every fetched message to the queue.
        if let Err(error) = channel.close(200, "listed".into()).await {
            tracing::debug!(%error, "closing the listing channel");
        }
        wait_until_returned(broker, &queue, ready).await?;
    }
    Ok(letters)
}

/// A quorum queue takes messages back a moment after the channel that held them closed; wait
/// for that (briefly), so that a redrive right after a listing finds them all.
async fn wait_until_returned(
    broker: &Broker,
    queue: &str,
    expected: usize,
) -> Result<(), QueueError> {
    let channel = broker.channel().await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while usize::try_from(ready_count(&channel, queue).await?).unwrap_or(usize::MAX) < expected
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if let Err(error) = channel.close(200, "listed".into()).await {
        tracing::debug!(%error, "closing the listing channel");
    }
    Ok(())
}

/// What a redrive moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redriven {
    pub stage: Stage,
    pub moved: u32,
}

/// Moves the dead letters of `stage` (every stage when `None`) back to their stage queue.
pub async fn redrive(broker: &Broker, stage: Option<Stage>) -> Result<Vec<Redriven>, QueueError> {
    let publisher = broker.publisher().await?;
    let mut result = Vec::new();
    for stage in stages(stage) {
        let queue = stage.dead_letter_queue();
        let channel = broker.channel().await?;
        let ready = ready_count(&channel, &queue).await?;
        let mut moved = 0;
        for _ in 0..ready {
            let fetched = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|source| QueueError::Fetch {
                    queue: queue.clone(),
                    source: Box::new(source),
                })?;
            let Some(fetched) = fetched else { break };
            let delivery = fetched.delivery;
            let mut headers = delivery.properties.headers().clone().unwrap_or_default();
            let redriven = header_number(&headers, HEADER_REDRIVEN).unwrap_or(0) + 1;
            let mut kept = FieldTable::default();
            for (key, value) in headers.inner() {
                // The reasons of the last death go; the broker's x-death history stays.
                if ![HEADER_ERROR, HEADER_STAGE, HEADER_LAST_ERROR].contains(&key.as_str()) {
                    kept.insert(key.clone(), value.clone());
                }
            }
            headers = kept;
            headers.insert(
                ShortString::from(HEADER_REDRIVEN),
                AMQPValue::LongLongInt(redriven),
            );
            // A fresh start: the transient-failure count begins again.
            let body = match StageMessage::from_json(&delivery.data) {
                Ok(message) => StageMessage {
                    attempt: 0,
                    ..message
                }
                .to_json()?,
                Err(_) => delivery.data.clone(),
            };
            let mut properties = publisher.properties(headers);
            if let Some(id) = delivery.properties.message_id() {
                properties = properties.with_message_id(id.clone());
            }
            publisher
                .publish_raw(EXCHANGE, stage.as_str(), &body, properties)
                .await?;
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(|source| QueueError::Fetch {
                    queue: queue.clone(),
                    source: Box::new(source),
                })?;
            moved += 1;
        }
        if let Err(error) = channel.close(200, "redriven".into()).await {
            tracing::debug!(%error, "closing the redrive channel");
        }
        result.push(Redriven { stage, moved });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    #[test]
    fn describes_a_worker_dead_letter_and_a_broker_one() {
        let mut headers = FieldTable::default();
        crate::message::set_header_text(&mut headers, HEADER_ERROR, "undecodable message: x");
        let letter = describe(Stage::Parse, &headers, b"not json");
        assert_eq!(letter.reason, "undecodable message: x");
        assert!(!letter.decodable);
        assert_eq!(letter.report_id, None);
        assert_eq!(letter.death_count, 1);

        let mut death = FieldTable::default();
        death.insert(
            "queue".into(),
            AMQPValue::LongString(LongString::from("gongkai.parse")),
        );
        death.insert(
            "reason".into(),
            AMQPValue::LongString(LongString::from("delivery_limit")),
        );
        death.insert("count".into(), AMQPValue::LongLongInt(2));
        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        let id = Uuid::now_v7();
        let body = format!(r#"{{"report_id":"{id}","sha256":"s","blob_key":"k","filename":"f"}}"#);
        let letter = describe(Stage::Validate, &headers, body.as_bytes());
        assert_eq!(letter.reason, "delivery_limit");
        assert_eq!(letter.report_id, Some(id));
        assert_eq!(letter.death_count, 2);
        assert_eq!(letter.deaths[0].queue, "gongkai.parse");
    }
}
