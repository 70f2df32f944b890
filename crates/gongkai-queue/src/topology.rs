//! The broker topology every gongkai service declares at start: exchanges, the stage queues,
//! their dead-letter and retry queues, and the bindings between them.
//!
//! Declaring is idempotent: every service declares the whole topology with the same
//! arguments, so whichever starts first creates it and the others confirm it. The arguments are
//! constants for that reason: a queue redeclared with different arguments is a channel error
//! (`PRECONDITION_FAILED`), so they are not configuration.
//!
//! ```text
//!  publish ──▶ gongkai (topic) ──parse──▶ gongkai.parse (quorum) ──consumer──▶ worker
//!                    ▲                       │ x-delivery-limit exceeded / rejected
//!                    │                       ▼
//!                    │               gongkai.dlx (direct) ──parse──▶ gongkai.parse.dlq
//!                    │ TTL expired
//!  gongkai.parse.retry (quorum, x-message-ttl) ◀──parse── gongkai.retry (direct) ◀── transient failure
//! ```

use crate::error::QueueError;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The topic exchange the gateway and the workers publish stage messages to.
pub const EXCHANGE: &str = "gongkai";
/// Where messages that cannot be processed go: one `<queue>.dlq` per stage.
pub const DEAD_LETTER_EXCHANGE: &str = "gongkai.dlx";
/// Where transient failures wait before they return to their stage queue.
pub const RETRY_EXCHANGE: &str = "gongkai.retry";

/// How often the broker delivers one message before it dead-letters it (`x-delivery-limit`).
/// Counts deliveries that were never acknowledged: a worker that crashes or loses its
/// connection while holding the message, or a negative acknowledgement with requeue.
pub const DELIVERY_LIMIT: i64 = 10;
/// How long a transient failure waits in `<queue>.retry` before it is delivered again.
pub const RETRY_DELAY: Duration = Duration::from_secs(5);
/// How many times a handler may report a transient failure for one message before the message
/// is dead-lettered (the first processing included).
pub const MAX_ATTEMPTS: u32 = 8;

/// A stage of the pipeline; each has its own queue, dead-letter queue and retry queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Read the submitted bytes into a report.
    Parse,
    /// Check the parsed report against the rules.
    Validate,
    /// Store the checked report in PostgreSQL.
    Archive,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Parse, Stage::Validate, Stage::Archive];

    /// The routing key of the stage on every exchange.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Validate => "validate",
            Stage::Archive => "archive",
        }
    }

    /// `gongkai.parse`, … : the queue workers of this stage consume.
    pub fn queue(self) -> String {
        format!("{EXCHANGE}.{}", self.as_str())
    }

    /// `gongkai.parse.dlq`, … : where the stage's dead letters wait for a person.
    pub fn dead_letter_queue(self) -> String {
        format!("{}.dlq", self.queue())
    }

    /// `gongkai.parse.retry`, … : where transient failures wait for [`RETRY_DELAY`].
    pub fn retry_queue(self) -> String {
        format!("{}.retry", self.queue())
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Stage, QueueError> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| QueueError::UnknownStage(s.to_owned()))
    }
}

fn long(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn arguments(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in entries {
        table.insert(ShortString::from(*key), value.clone());
    }
    table
}

/// The arguments of a stage queue.
pub fn stage_queue_arguments(stage: Stage) -> FieldTable {
    arguments(&[
        ("x-queue-type", long("quorum")),
        ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
        ("x-dead-letter-exchange", long(DEAD_LETTER_EXCHANGE)),
        ("x-dead-letter-routing-key", long(stage.as_str())),
    ])
}

/// The arguments of a retry queue: messages expire after [`RETRY_DELAY`] and are dead-lettered
/// back to the stage's routing key on the main exchange.
pub fn retry_queue_arguments(stage: Stage) -> FieldTable {
    let ttl_ms = i64::try_from(RETRY_DELAY.as_millis()).unwrap_or(i64::MAX);
    arguments(&[
        ("x-queue-type", long("quorum")),
        ("x-message-ttl", AMQPValue::LongLongInt(ttl_ms)),
        ("x-dead-letter-exchange", long(EXCHANGE)),
        ("x-dead-letter-routing-key", long(stage.as_str())),
    ])
}

/// The arguments of a dead-letter queue: kept until a person looks (no limit, no TTL).
pub fn dead_letter_queue_arguments() -> FieldTable {
    arguments(&[("x-queue-type", long("quorum"))])
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

async fn declare_queue(
    channel: &Channel,
    queue: &str,
    arguments: FieldTable,
    exchange: &str,
    routing_key: &str,
) -> Result<(), QueueError> {
    let context = |what: &'static str| {
        let queue = queue.to_owned();
        move |source| QueueError::Declare {
            what,
            name: queue,
            source: Box::new(source),
        }
    };
    channel
        .queue_declare(queue.into(), durable_queue(), arguments)
        .await
        .map_err(context("queue"))?;
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(context("binding"))?;
    Ok(())
}

/// Declares the whole topology on `channel`. Safe to call any number of times, from any
/// number of services at once.
pub async fn declare_topology(channel: &Channel) -> Result<(), QueueError> {
    for (name, kind) in [
        (EXCHANGE, ExchangeKind::Topic),
        (DEAD_LETTER_EXCHANGE, ExchangeKind::Direct),
        (RETRY_EXCHANGE, ExchangeKind::Direct),
    ] {
        channel
            .exchange_declare(name.into(), kind, durable_exchange(), FieldTable::default())
            .await
            .map_err(|source| QueueError::Declare {
                what: "exchange",
                name: name.to_owned(),
                source: Box::new(source),
            })?;
    }
    for stage in Stage::ALL {
        let key = stage.as_str();
        declare_queue(
            channel,
            &stage.dead_letter_queue(),
            dead_letter_queue_arguments(),
            DEAD_LETTER_EXCHANGE,
            key,
        )
        .await?;
        declare_queue(
            channel,
            &stage.queue(),
            stage_queue_arguments(stage),
            EXCHANGE,
            key,
        )
        .await?;
        declare_queue(
            channel,
            &stage.retry_queue(),
            retry_queue_arguments(stage),
            RETRY_EXCHANGE,
            key,
        )
        .await?;
    }
    Ok(())
}

/// The number of messages ready in `queue` (not counting those delivered and not yet
/// acknowledged).
pub async fn ready_count(channel: &Channel, queue: &str) -> Result<u32, QueueError> {
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|source| QueueError::Declare {
            what: "queue (passive)",
            name: queue.to_owned(),
            source: Box::new(source),
        })?;
    Ok(declared.message_count())
}
