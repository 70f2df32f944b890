//! The consumer loop every worker runs: competing consumers on a stage queue, one task per
//! message in hand, acknowledgement only after the handler's output is durable.
//!
//! What happens to a message is decided by the handler's [`Outcome`]:
//! - [`Outcome::Done`]: the handler's output is confirmed by the broker or committed in
//!   PostgreSQL; the message is acknowledged.
//! - [`Outcome::Retry`]: a transient failure (database down, blob store error). A copy with
//!   `attempt + 1` goes to `<queue>.retry`, which returns it to the stage queue after
//!   [`RETRY_DELAY`]; after [`MAX_ATTEMPTS`] the message is dead-lettered instead.
//! - [`Outcome::Reject`]: the message can never succeed; it is dead-lettered at once.
//!
//! A body that is not a [`StageMessage`] is dead-lettered at once without reaching the handler.
//! A handler that panics counts as a transient failure. The copy to the retry or dead-letter
//! queue is confirmed by the broker before the original is acknowledged; if that fails the
//! original is returned to its queue, whose `x-delivery-limit` bounds how often that happens.
//!
//! Recovery: the connection uses lapin's automatic recovery, which reconnects with backoff and
//! replays channels, QoS and the consumer. The loop waits for it when the consumer reports a
//! connection error; should lapin give up, the loop drops the connection and starts a fresh
//! one (supervised reconnect with backoff), so a worker never needs a restart. Messages held
//! while the connection was lost cannot be acknowledged any more; the broker delivers them
//! again, which is why every handler must be idempotent.
//!
//! Shutdown: when the `shutdown` future completes, the consumer is cancelled (no new
//! messages), the messages in hand are finished and acknowledged, and the loop returns.

use crate::error::QueueError;
use crate::message::{
    HEADER_DELIVERY_COUNT, HEADER_ERROR, HEADER_LAST_ERROR, HEADER_STAGE, Incoming, StageMessage,
    header_number, set_header_text,
};
use crate::publisher::{Broker, Publisher};
use crate::topology::{DEAD_LETTER_EXCHANGE, MAX_ATTEMPTS, RETRY_EXCHANGE, Stage};
use futures::{FutureExt as _, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
};
use lapin::types::FieldTable;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

/// What a handler made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed; the output is durable. Acknowledge.
    Done,
    /// A transient failure; try again after a delay.
    Retry(String),
    /// Can never succeed; dead-letter now.
    Reject(String),
}

/// The stage logic of a worker.
pub trait Handler: Send + Sync + 'static {
    /// Processes one message. `publisher` is a confirmed publisher on the worker's connection
    /// for the output to the next stage. Must be idempotent: a message may arrive again after
    /// its output was made durable (a lost acknowledgement).
    fn handle(
        &self,
        incoming: Incoming,
        publisher: Publisher,
    ) -> impl Future<Output = Outcome> + Send;

    /// Called after a message of this stage was dead-lettered (its copy is confirmed in
    /// `<queue>.dlq`); `message` is `None` when the body was undecodable. For bookkeeping such
    /// as marking the report failed and counting; errors are the handler's to log.
    fn dead_lettered(
        &self,
        stage: Stage,
        message: Option<&StageMessage>,
        reason: &str,
    ) -> impl Future<Output = ()> + Send {
        let _ = (stage, message, reason);
        async {}
    }
}

/// How a consumer loop runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `amqp://…` URL of the broker and vhost.
    pub url: String,
    pub stage: Stage,
    /// How many unacknowledged messages the broker hands this consumer at once; they are
    /// processed concurrently.
    pub prefetch: u16,
    /// Shown in the broker's connection list and used in the consumer tag.
    pub name: String,
    /// How long shutdown waits for the messages in hand before it gives up on them (they go
    /// back to the queue).
    pub drain_timeout: Duration,
    /// Test hook: wait this long before handing each message to the handler, so that a test
    /// can kill or disconnect a worker while it holds messages. Workers read it from the
    /// environment variable `GONGKAI_TEST_HOLD_MS`; never set in production.
    pub test_hold: Option<Duration>,
    /// Readiness to keep in step with the broker connection: component [`AMQP_COMPONENT`] is up
    /// while this loop is connected and consuming, down while it reconnects.
    pub health: Option<gongkai_telemetry::Health>,
}

/// The readiness component the consumer loop maintains.
pub const AMQP_COMPONENT: &str = "amqp";

impl ConsumerConfig {
    fn mark_broker(&self, up: bool) {
        if let Some(health) = &self.health {
            health.set(AMQP_COMPONENT, up);
        }
    }

    pub fn new(url: impl Into<String>, stage: Stage, name: impl Into<String>) -> ConsumerConfig {
        ConsumerConfig {
            url: url.into(),
            stage,
            prefetch: 8,
            name: name.into(),
            drain_timeout: Duration::from_secs(60),
            test_hold: None,
            health: None,
        }
    }
}

const RECONNECT_MIN: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

enum SessionEnd {
    Shutdown,
    Lost(String),
}

/// Runs the consumer loop of `config.stage` until `shutdown` completes. Reconnects on its own
/// after connection loss; returns an error only for what a reconnect cannot fix (the topology
/// cannot be declared as this version expects).
pub async fn run_consumer<H: Handler>(
    config: ConsumerConfig,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), QueueError> {
    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let run = async {
        let mut delay = RECONNECT_MIN;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let mut stop_while_connecting = stop.clone();
            let connected = tokio::select! {
                connected = Broker::connect(&config.url, &config.name) => connected,
                () = stopped(&mut stop_while_connecting) => return Ok(()),
            };
            let broker = match connected {
                Ok(broker) => broker,
                Err(QueueError::Declare { what, name, source }) if !source.can_be_recovered() => {
                    return Err(QueueError::Declare { what, name, source });
                }
                Err(error) => {
                    config.mark_broker(false);
                    tracing::warn!(error = %gongkai_telemetry::error_chain(&error), retry_in = ?delay, "cannot reach the broker");
                    if sleep_or_stop(delay, stop.clone()).await {
                        return Ok(());
                    }
                    delay = (delay * 2).min(RECONNECT_MAX);
                    continue;
                }
            };
            delay = RECONNECT_MIN;
            let end = session(&config, &broker, handler.clone(), stop.clone()).await;
            config.mark_broker(false);
            broker.close().await;
            match end {
                Ok(SessionEnd::Shutdown) => return Ok(()),
                Ok(SessionEnd::Lost(why)) => {
                    tracing::warn!(reason = %why, "consumer lost; reconnecting");
                }
                Err(error) => {
                    tracing::warn!(error = %gongkai_telemetry::error_chain(&error), "consumer failed; reconnecting")
                }
            }
            if sleep_or_stop(delay, stop.clone()).await {
                return Ok(());
            }
        }
    };
    let mut run = std::pin::pin!(run);
    tokio::select! {
        result = &mut run => result,
        () = &mut shutdown => {
            tracing::info!(stage = %config.stage, "shutdown requested; finishing the messages in hand");
            let _ = stop_sender.send(true);
            run.await
        }
    }
}

/// How often the consumer loop checks that lapin has not given up on its connection.
const WATCHDOG_PERIOD: Duration = Duration::from_secs(1);

/// Completes once lapin has given up on the broker's connection.
async fn given_up(broker: &Broker) {
    while !broker.is_dead() {
        tokio::time::sleep(WATCHDOG_PERIOD).await;
    }
}

/// Completes once a stop is requested (or the requester is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; it must not live in a select's output.
    let _ = stop.wait_for(|stopped| *stopped).await.is_ok();
}

/// Sleeps for `delay`; true when a stop was requested meanwhile.
async fn sleep_or_stop(delay: Duration, mut stop: tokio::sync::watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stopped(&mut stop) => true,
    }
}

async fn session<H: Handler>(
    config: &ConsumerConfig,
    broker: &Broker,
    handler: Arc<H>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<SessionEnd, QueueError> {
    let queue = config.stage.queue();
    let publisher = broker.publisher().await?;
    let channel = broker.channel().await?;
    channel
        .basic_qos(config.prefetch.max(1), BasicQosOptions::default())
        .await
        .map_err(|e| QueueError::Channel(Box::new(e)))?;
    let tag = format!(
        "{}-{}-{}",
        config.name,
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|source| QueueError::Consume {
            queue: queue.clone(),
            source: Box::new(source),
        })?;
    tracing::info!(%queue, prefetch = config.prefetch, consumer = %tag, "consuming");
    config.mark_broker(true);

    let mut in_hand: JoinSet<()> = JoinSet::new();
    let mut stop_while_recovering = stop.clone();
    let mut watchdog = tokio::time::interval(WATCHDOG_PERIOD);
    let end = loop {
        tokio::select! {
            _ = watchdog.tick() => {
                // lapin often recovers without the consumer seeing an error; readiness follows
                // the connection itself.
                config.mark_broker(broker.is_connected());
                if broker.is_dead() {
                    config.mark_broker(false);
                    break SessionEnd::Lost("lapin gave up on the connection".to_owned());
                }
            }
            () = stopped(&mut stop) => break SessionEnd::Shutdown,
            Some(finished) = in_hand.join_next(), if !in_hand.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(%error, "message task failed");
                }
            }
            next = consumer.next() => match next {
                None => break SessionEnd::Lost("the consumer was cancelled by the broker".to_owned()),
                Some(Ok(delivery)) => {
                    in_hand.spawn(process(
                        config.stage,
                        delivery,
                        handler.clone(),
                        publisher.clone(),
                        config.test_hold,
                    ));
                }
                Some(Err(error)) => {
                    config.mark_broker(false);
                    tracing::warn!(%error, "connection to the broker lost; waiting for recovery");
                    let recovered = tokio::select! {
                        () = stopped(&mut stop_while_recovering) => None,
                        recovered = channel.wait_for_recovery(error) => Some(recovered),
                        () = given_up(broker) => Some(Err(lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Error)))),
                    };
                    match recovered {
                        None => break SessionEnd::Shutdown,
                        Some(Ok(())) => {
                            config.mark_broker(true);
                            tracing::info!(%queue, "connection recovered; consuming again");
                        }
                        Some(Err(error)) => break SessionEnd::Lost(error.to_string()),
                    }
                }
            }
        }
    };

    if matches!(end, SessionEnd::Shutdown)
        && let Err(error) = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await
    {
        tracing::debug!(%error, "cancelling the consumer");
    }
    let drained = tokio::time::timeout(config.drain_timeout, async {
        while let Some(finished) = in_hand.join_next().await {
            if let Err(error) = finished {
                tracing::error!(%error, "message task failed");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = in_hand.len(),
            "messages still in hand after the drain timeout; they return to the queue"
        );
        in_hand.abort_all();
    }
    if let Err(error) = channel.close(200, "done".into()).await {
        tracing::debug!(%error, "closing the consumer channel");
    }
    Ok(end)
}

async fn process<H: Handler>(
    stage: Stage,
    delivery: Delivery,
    handler: Arc<H>,
    publisher: Publisher,
    test_hold: Option<Duration>,
) {
    let headers = delivery.properties.headers().clone().unwrap_or_default();
    let delivery_count = header_number(&headers, HEADER_DELIVERY_COUNT).unwrap_or(0);
    // The CONSUMER span of this message: child of the PRODUCER span whose context the headers
    // carry (and linked to it), so every stage of a report is one trace. The handler, the retry
    // or dead-letter copy and every log line of this message happen inside it.
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default();
    let span = gongkai_telemetry::consumer_span(
        &stage.queue(),
        delivery.routing_key.as_str(),
        &message_id,
        Some(&headers),
    );
    {
        use gongkai_telemetry::OpenTelemetrySpanExt as _;
        span.set_attribute("messaging.rabbitmq.delivery_count", delivery_count);
        span.set_attribute("messaging.rabbitmq.redelivered", delivery.redelivered);
    }
    async {
        let message = match StageMessage::from_json(&delivery.data) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "undecodable message; dead-lettering it");
                let reason = format!("undecodable message: {error}");
                if dead_letter(
                    stage,
                    &delivery,
                    &publisher,
                    &headers,
                    &delivery.data,
                    &reason,
                )
                .await
                {
                    handler.dead_lettered(stage, None, &reason).await;
                }
                return;
            }
        };
        let span = tracing::Span::current();
        gongkai_telemetry::record_report(&span, &message.report_id.to_string(), None, None);
        gongkai_telemetry::record_attempt(&span, message.attempt + 1);

        if let Some(hold) = test_hold {
            tokio::time::sleep(hold).await;
        }
        let incoming = Incoming {
            stage,
            message: message.clone(),
            headers: headers.clone(),
            redelivered: delivery.redelivered,
            delivery_count,
        };
        // A panicking handler is a failed message, not a dead worker. Caught here rather than
        // by running the handler as a task of its own: one task spawn and hand-off fewer per
        // message.
        let outcome = std::panic::AssertUnwindSafe(handler.handle(incoming, publisher.clone()))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Outcome::Retry(format!(
                    "the handler failed: {}",
                    panic_message(panic.as_ref())
                ))
            });

        match outcome {
            Outcome::Done => {
                tracing::debug!("done");
                ack(&delivery).await;
            }
            Outcome::Reject(reason) => {
                tracing::warn!(%reason, "rejected; dead-lettering");
                let body = delivery.data.clone();
                if dead_letter(stage, &delivery, &publisher, &headers, &body, &reason).await {
                    handler.dead_lettered(stage, Some(&message), &reason).await;
                }
            }
            Outcome::Retry(reason) if message.attempt + 1 >= MAX_ATTEMPTS => {
                tracing::warn!(%reason, "transient failure, attempts exhausted; dead-lettering");
                let reason = format!("{reason} (after {MAX_ATTEMPTS} attempts)");
                if dead_letter(
                    stage,
                    &delivery,
                    &publisher,
                    &headers,
                    &delivery.data,
                    &reason,
                )
                .await
                {
                    handler.dead_lettered(stage, Some(&message), &reason).await;
                }
            }
            Outcome::Retry(reason) => {
                tracing::warn!(%reason, "transient failure; retrying after a delay");
                retry(stage, &delivery, &publisher, &headers, &message, &reason).await;
            }
        }
    }
    .instrument(span)
    .await;
}

/// The message a caught panic carries (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

async fn ack(delivery: &Delivery) {
    if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
        // The connection was lost after the output was made durable: the broker delivers the
        // message again and the idempotent handler does nothing new.
        tracing::warn!(%error, "cannot acknowledge; the message will be delivered again");
    }
}

async fn requeue(delivery: &Delivery) {
    let options = BasicNackOptions {
        requeue: true,
        ..BasicNackOptions::default()
    };
    if let Err(error) = delivery.acker.nack(options).await {
        tracing::warn!(%error, "cannot return the message; the broker will on reconnect");
    }
}

/// Copies the message to the stage's dead-letter queue with the reason, then acknowledges it;
/// true when the copy was confirmed.
async fn dead_letter(
    stage: Stage,
    delivery: &Delivery,
    publisher: &Publisher,
    headers: &FieldTable,
    body: &[u8],
    reason: &str,
) -> bool {
    let mut headers = headers.clone();
    set_header_text(&mut headers, HEADER_ERROR, reason);
    set_header_text(&mut headers, HEADER_STAGE, stage.as_str());
    let mut properties = publisher.properties(headers);
    if let Some(id) = delivery.properties.message_id() {
        properties = properties.with_message_id(id.clone());
    }
    match publisher
        .publish_raw(DEAD_LETTER_EXCHANGE, stage.as_str(), body, properties)
        .await
    {
        Ok(()) => {
            ack(delivery).await;
            true
        }
        Err(error) => {
            tracing::error!(%error, "cannot dead-letter; returning the message to its queue");
            requeue(delivery).await;
            false
        }
    }
}

/// Sends a copy with `attempt + 1` to the stage's retry queue, then acknowledges the original.
async fn retry(
    stage: Stage,
    delivery: &Delivery,
    publisher: &Publisher,
    headers: &FieldTable,
    message: &StageMessage,
    reason: &str,
) {
    let next = StageMessage {
        attempt: message.attempt + 1,
        ..message.clone()
    };
    let body = match next.to_json() {
        Ok(body) => body,
        Err(error) => {
            let reason = format!("{reason}; and the retry copy cannot be encoded: {error}");
            dead_letter(stage, delivery, publisher, headers, &delivery.data, &reason).await;
            return;
        }
    };
    let mut headers = headers.clone();
    set_header_text(&mut headers, HEADER_LAST_ERROR, reason);
    let properties = publisher
        .properties(headers)
        .with_message_id(message.report_id.to_string().into());
    match publisher
        .publish_raw(RETRY_EXCHANGE, stage.as_str(), &body, properties)
        .await
    {
        Ok(()) => ack(delivery).await,
        Err(error) => {
            tracing::error!(%error, "cannot schedule the retry; returning the message to its queue");
            requeue(delivery).await;
        }
    }
}
