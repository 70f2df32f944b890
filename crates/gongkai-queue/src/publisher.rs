//! The broker connection and the confirmed publisher.
//!
//! [`Broker::connect`] opens a connection with lapin's automatic recovery (the connection, its
//! channels, their QoS, confirm mode, the declared topology and the consumers are replayed on
//! a new connection after a network failure or a broker restart) and declares the topology.
//!
//! [`Publisher::publish`] sends a stage message persistent and mandatory on a channel in
//! confirm mode, and returns only once the broker has confirmed it (the message is in a
//! queue), refused it, returned it as unroutable, or a timeout passed: it never hangs. A publish
//! that meets a connection being recovered waits for the recovery within the same timeout and
//! tries again, so a closed connection costs a delay, not a failed submission.

use crate::error::{PublishError, QueueError};
use crate::message::StageMessage;
use crate::topology::{EXCHANGE, Stage, declare_topology};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// How long [`Publisher::publish`] waits for the broker's confirm by default.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// An AMQP connection with automatic recovery, the topology declared.
#[derive(Clone)]
pub struct Broker {
    connection: Arc<Connection>,
    name: String,
    url: String,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("name", &self.name).finish()
    }
}

fn connection_properties(name: &str) -> ConnectionProperties {
    ConnectionProperties::default()
        .with_connection_name(name.into())
        .enable_auto_recover()
        // Try often, so that a worker resumes within seconds of the broker's return, but not
        // forever: after about 20 s lapin gives up on the connection, and the consumer loop or
        // the publisher opens a new one (a supervised reconnect that never gives up, and whose
        // attempts can be cancelled, unlike a connect that lapin retries without end).
        .configure_backoff(|backoff| {
            backoff
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(5))
                .with_max_times(8)
        })
}

impl Broker {
    /// Connects to `url` (`amqp://user:pass@host:port/vhost`) and declares the topology.
    /// `name` shows in the broker's connection list.
    pub async fn connect(url: &str, name: &str) -> Result<Broker, QueueError> {
        let connection = Connection::connect(url, connection_properties(name))
            .await
            .map_err(|source| QueueError::Connect {
                url: redact(url),
                source: Box::new(source),
            })?;
        let broker = Broker {
            connection: Arc::new(connection),
            name: name.to_owned(),
            url: url.to_owned(),
        };
        let channel = broker.channel().await?;
        declare_topology(&channel).await?;
        // Everything declared is durable, so it outlives this channel and broker restarts.
        if let Err(error) = channel.close(200, "topology declared".into()).await {
            tracing::debug!(%error, "closing the declaring channel");
        }
        Ok(broker)
    }

    /// Opens a new channel.
    pub async fn channel(&self) -> Result<Channel, QueueError> {
        self.connection
            .create_channel()
            .await
            .map_err(|e| QueueError::Channel(Box::new(e)))
    }

    /// A publisher on a new channel in confirm mode.
    pub async fn publisher(&self) -> Result<Publisher, QueueError> {
        let channel = self.confirm_channel().await?;
        Ok(Publisher {
            shared: Arc::new(Shared {
                url: self.url.clone(),
                name: self.name.clone(),
                session: tokio::sync::Mutex::new(Session {
                    broker: self.clone(),
                    channel,
                }),
            }),
            app_id: self.name.clone(),
            timeout: DEFAULT_CONFIRM_TIMEOUT,
        })
    }

    async fn confirm_channel(&self) -> Result<Channel, QueueError> {
        let channel = self.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| QueueError::Channel(Box::new(e)))?;
        Ok(channel)
    }

    /// The connection is open (not closed, not being recovered).
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    /// lapin gave up on this connection (closed, or failed beyond its automatic recovery): only
    /// a new connection helps.
    pub fn is_dead(&self) -> bool {
        let status = self.connection.status();
        status.errored() || status.closed()
    }

    /// Closes the connection (normal shutdown).
    pub async fn close(&self) {
        if let Err(error) = self.connection.close(200, "shutdown".into()).await {
            tracing::debug!(%error, "closing the AMQP connection");
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Publishes with publisher confirms; cheap to clone (clones share the channel).
///
/// Should lapin give up on the connection (its recovery failed for good), the next publish
/// opens a new connection: a publisher never stays broken.
#[derive(Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
    app_id: String,
    timeout: Duration,
}

struct Shared {
    url: String,
    name: String,
    session: tokio::sync::Mutex<Session>,
}

struct Session {
    broker: Broker,
    channel: Channel,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("app_id", &self.app_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Publisher {
    /// The same publisher with another confirm timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Publisher {
        self.timeout = timeout;
        self
    }

    /// Publishes `message` to `stage`'s queue (through [`EXCHANGE`]), with `headers` (the
    /// trace context) as AMQP headers, and waits for the broker's confirm.
    pub async fn publish(
        &self,
        stage: Stage,
        message: &StageMessage,
        headers: FieldTable,
    ) -> Result<(), PublishError> {
        let body = serde_json::to_vec(message).map_err(PublishError::Encode)?;
        let message_id = message.report_id.to_string();
        // The PRODUCER span of this publish; the headers carry its context so that the next
        // stage's CONSUMER span is its child.
        let mut headers = headers;
        let span =
            gongkai_telemetry::start_publish(EXCHANGE, stage.as_str(), &message_id, &mut headers);
        let properties = self
            .properties(headers)
            .with_message_id(message_id.as_str().into())
            .with_type(stage.as_str().into());
        let result = self
            .publish_raw(EXCHANGE, stage.as_str(), &body, properties)
            .instrument(span.clone())
            .await;
        if let Err(error) = &result {
            gongkai_telemetry::record_error(&span, error);
        }
        result
    }

    /// The properties of every message: persistent JSON with our name and the time.
    pub fn properties(&self, headers: FieldTable) -> BasicProperties {
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_app_id(ShortString::from(self.app_id.as_str()))
            .with_timestamp(now_seconds())
            .with_headers(headers)
    }

    /// Publishes `body` mandatory to `exchange` with `routing_key` and waits for the confirm.
    pub async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let deadline = Instant::now() + self.timeout;
        let timeout_error = || PublishError::Timeout {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            timeout: self.timeout,
        };
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timeout_error());
            }
            let channel = match tokio::time::timeout(remaining, self.channel()).await {
                Err(_elapsed) => return Err(timeout_error()),
                Ok(Ok(channel)) => channel,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot reconnect the publisher");
                    tokio::time::sleep(Duration::from_millis(200).min(remaining)).await;
                    continue;
                }
            };
            let attempt = tokio::time::timeout(
                remaining,
                publish_once(&channel, exchange, routing_key, body, properties.clone()),
            )
            .await;
            let error = match attempt {
                Err(_elapsed) => return Err(timeout_error()),
                Ok(Ok(confirmation)) => return self.judge(exchange, routing_key, confirmation),
                Ok(Err(error)) => error,
            };
            if !error.can_be_recovered() {
                return Err(PublishError::Broker {
                    exchange: exchange.to_owned(),
                    routing_key: routing_key.to_owned(),
                    source: Box::new(error),
                });
            }
            tracing::warn!(%error, exchange, routing_key, "publish failed; waiting for the connection to recover");
            let remaining = deadline.saturating_duration_since(Instant::now());
            // `wait_for_recovery` returns at once when the error carries no recovery to wait
            // for; the short sleep keeps that case from spinning.
            let _ = tokio::time::timeout(remaining, async {
                if channel.wait_for_recovery(error).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
        }
    }

    /// The channel to publish on: the current one, or one on a new connection when lapin has
    /// given up on the current connection.
    async fn channel(&self) -> Result<Channel, QueueError> {
        let mut session = self.shared.session.lock().await;
        if session.broker.is_dead() {
            tracing::warn!("the publisher's connection is gone; opening a new one");
            let broker = Broker::connect(&self.shared.url, &self.shared.name).await?;
            let channel = broker.confirm_channel().await?;
            *session = Session { broker, channel };
        }
        Ok(session.channel.clone())
    }

    fn judge(
        &self,
        exchange: &str,
        routing_key: &str,
        confirmation: Confirmation,
    ) -> Result<(), PublishError> {
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(PublishError::Unroutable {
                    exchange: exchange.to_owned(),
                    routing_key: routing_key.to_owned(),
                    reply_code: returned.reply_code,
                    reply_text: returned.reply_text.as_str().to_owned(),
                })
            }
            Confirmation::Nack(None) => Err(PublishError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            }),
            // Only possible on a channel without confirm mode, which this type never has.
            Confirmation::NotRequested => Err(PublishError::Nacked {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            }),
        }
    }
}

async fn publish_once(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<Confirmation, lapin::Error> {
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        )
        .await?
        .await
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1"), "amqp://127.0.0.1");
    }
}
