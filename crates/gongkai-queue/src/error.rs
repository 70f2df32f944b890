//! The errors of this crate, each saying what it was doing when the broker or the data failed.

use std::time::Duration;

/// An error of the broker connection, the topology or the stage messages.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot connect to the AMQP broker at {url}")]
    Connect {
        url: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("cannot open an AMQP channel")]
    Channel(#[source] Box<lapin::Error>),
    #[error("cannot declare {what} {name:?}")]
    Declare {
        what: &'static str,
        name: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("cannot consume from {queue:?}")]
    Consume {
        queue: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("cannot fetch from or acknowledge on {queue:?}")]
    Fetch {
        queue: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("cannot encode a stage message")]
    Encode(#[source] serde_json::Error),
    #[error("the message body is not a stage message")]
    Decode(#[source] serde_json::Error),
    #[error("unknown stage {0:?} (expected parse, validate or archive)")]
    UnknownStage(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Why a message was not accepted by the broker. The gateway answers UNAVAILABLE to all of
/// these: the submission was not queued and may be sent again.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "the broker did not confirm the message to {exchange}/{routing_key} within {timeout:?}"
    )]
    Timeout {
        exchange: String,
        routing_key: String,
        timeout: Duration,
    },
    #[error("the broker refused (nacked) the message to {exchange}/{routing_key}")]
    Nacked {
        exchange: String,
        routing_key: String,
    },
    #[error(
        "the broker returned the message to {exchange}/{routing_key} as unroutable: {reply_code} {reply_text}"
    )]
    Unroutable {
        exchange: String,
        routing_key: String,
        reply_code: u16,
        reply_text: String,
    },
    #[error("cannot publish to {exchange}/{routing_key}")]
    Broker {
        exchange: String,
        routing_key: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("cannot encode the message")]
    Encode(#[source] serde_json::Error),
}
