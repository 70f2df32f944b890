//! RabbitMQ for the gongkai pipeline: the topology every service declares ([`topology`]), the
//! stage message that moves between stages by claim check ([`message`]), the broker
//! connection and the confirmed publisher the gateway and the workers publish with
//! ([`publisher`]), the consumer loop the workers run ([`consumer`]), and the dead-letter
//! queues' list and redrive ([`dlq`]).

pub mod consumer;
pub mod dlq;
pub mod error;
pub mod message;
pub mod publisher;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod topology;

pub use consumer::{ConsumerConfig, Handler, Outcome, panic_message, run_consumer};
pub use dlq::{DeadLetter, Death, Redriven};
pub use error::{PublishError, QueueError};
pub use lapin::types::FieldTable;
pub use message::{Incoming, MessageKind, StageMessage};
pub use publisher::{Broker, DEFAULT_CONFIRM_TIMEOUT, Publisher};
pub use topology::{DELIVERY_LIMIT, MAX_ATTEMPTS, RETRY_DELAY, Stage, declare_topology};
