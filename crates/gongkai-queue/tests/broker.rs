//! Integration tests against the local RabbitMQ, each in a vhost of its own: topology,
//! confirmed publishing, dead-lettering, retry, DLQ list/redrive, recovery after the broker
//! closed the connections, and shutdown with messages in hand.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use gongkai_queue::dlq;
use gongkai_queue::message::HEADER_LAST_ERROR;
use gongkai_queue::testkit::TestVhost;
use gongkai_queue::topology::{EXCHANGE, ready_count};
use gongkai_queue::{
    Broker, ConsumerConfig, FieldTable, Handler, Incoming, Outcome, PublishError, Publisher, Stage,
    StageMessage, declare_topology, run_consumer,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

fn message(n: usize) -> StageMessage {
    let sha = format!("{n:064x}");
    StageMessage {
        report_id: Uuid::now_v7(),
        blob_key: format!("sha256/{sha}"),
        sha256: sha,
        filename: format!("report-{n}.txt"),
        source_system: Some("broker-test".to_owned()),
        attempt: 0,
        kind: gongkai_queue::MessageKind::Submission,
        batch: None,
    }
}

/// Polls `check` every 100 ms until it holds; panics with `what` after `timeout`.
async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ready(broker: &Broker, queue: &str) -> u32 {
    let channel = broker.channel().await.unwrap();
    let count = ready_count(&channel, queue).await.unwrap();
    let _ = channel.close(200, "ok".into()).await;
    count
}

/// Records what it saw; the behaviour per report is scripted.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Incoming>>,
    /// Outcomes to give, in order, per report id; `Done` when the script is exhausted.
    script: Mutex<HashMap<Uuid, Vec<Outcome>>>,
    /// Reports whose next handling panics (once each).
    panic_once: Mutex<Vec<Uuid>>,
    delay: Duration,
}

impl Recorder {
    fn count(&self, id: Uuid) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|i| i.message.report_id == id)
            .count()
    }
    fn distinct(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        let mut ids: Vec<Uuid> = seen.iter().map(|i| i.message.report_id).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    }
}

impl Handler for Recorder {
    async fn handle(&self, incoming: Incoming, _publisher: Publisher) -> Outcome {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let id = incoming.message.report_id;
        self.seen.lock().unwrap().push(incoming);
        let panics = {
            let mut panic_once = self.panic_once.lock().unwrap();
            let before = panic_once.len();
            panic_once.retain(|p| *p != id);
            panic_once.len() != before
        };
        assert!(!panics, "scripted panic of the handler");
        let mut script = self.script.lock().unwrap();
        match script.get_mut(&id) {
            Some(outcomes) if !outcomes.is_empty() => outcomes.remove(0),
            _ => Outcome::Done,
        }
    }
}

fn start_consumer(
    vhost: &TestVhost,
    stage: Stage,
    handler: Arc<Recorder>,
    prefetch: u16,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), gongkai_queue::QueueError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = ConsumerConfig::new(vhost.url.clone(), stage, "broker-test");
    config.prefetch = prefetch;
    let task = tokio::spawn(run_consumer(config, handler, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

async fn stop_consumer(
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), gongkai_queue::QueueError>>,
) {
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the consumer stops within 30 s")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn topology_declared_twice_routes_every_stage_and_refuses_the_unroutable() {
    let vhost = TestVhost::create("topology").unwrap();
    let first = Broker::connect(&vhost.url, "topology-1").await.unwrap();
    let second = Broker::connect(&vhost.url, "topology-2").await.unwrap();
    let channel = second.channel().await.unwrap();
    declare_topology(&channel).await.unwrap();
    declare_topology(&channel).await.unwrap();

    let publisher = first.publisher().await.unwrap();
    for stage in Stage::ALL {
        publisher
            .publish(stage, &message(1), FieldTable::default())
            .await
            .unwrap();
    }
    for stage in Stage::ALL {
        assert_eq!(ready(&first, &stage.queue()).await, 1, "{stage}");
        assert_eq!(ready(&first, &stage.dead_letter_queue()).await, 0);
        assert_eq!(ready(&first, &stage.retry_queue()).await, 0);
    }

    let properties = publisher.properties(FieldTable::default());
    let unroutable = publisher
        .publish_raw(EXCHANGE, "nowhere", b"{}", properties)
        .await;
    assert!(
        matches!(unroutable, Err(PublishError::Unroutable { .. })),
        "{unroutable:?}"
    );
    // The channel survives a returned message.
    publisher
        .publish(Stage::Parse, &message(2), FieldTable::default())
        .await
        .unwrap();
    assert_eq!(ready(&first, &Stage::Parse.queue()).await, 2);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn undecodable_and_rejected_messages_are_dead_lettered_listed_and_redriven() {
    let vhost = TestVhost::create("dlq").unwrap();
    let broker = Broker::connect(&vhost.url, "dlq-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let rejected = message(7);
    recorder.script.lock().unwrap().insert(
        rejected.report_id,
        vec![Outcome::Reject("无法读取: test".to_owned())],
    );
    let (stop, task) = start_consumer(&vhost, Stage::Parse, recorder.clone(), 4);

    let properties = publisher.properties(FieldTable::default());
    publisher
        .publish_raw(EXCHANGE, "parse", b"\xff not json", properties)
        .await
        .unwrap();
    publisher
        .publish(Stage::Parse, &rejected, FieldTable::default())
        .await
        .unwrap();
    let dlq_name = Stage::Parse.dead_letter_queue();
    eventually(Duration::from_secs(20), "two dead letters", || async {
        ready(&broker, &dlq_name).await == 2
    })
    .await;
    stop_consumer(stop, task).await;
    assert_eq!(recorder.count(rejected.report_id), 1);

    let letters = dlq::list(&broker, Some(Stage::Parse), 100).await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let garbage = letters.iter().find(|l| !l.decodable).unwrap();
    assert!(
        garbage.reason.starts_with("undecodable message"),
        "{garbage:?}"
    );
    let refused = letters.iter().find(|l| l.decodable).unwrap();
    assert_eq!(refused.report_id, Some(rejected.report_id));
    assert_eq!(refused.reason, "无法读取: test");
    // Listing leaves the messages where they were (the quorum queue takes them back a moment
    // after the listing channel closes).
    eventually(
        Duration::from_secs(10),
        "the listed messages back",
        || async { ready(&broker, &dlq_name).await == 2 },
    )
    .await;
    assert!(
        dlq::list(&broker, Some(Stage::Validate), 100)
            .await
            .unwrap()
            .is_empty()
    );

    let moved = dlq::redrive(&broker, None).await.unwrap();
    let parse_moved = moved.iter().find(|r| r.stage == Stage::Parse).unwrap();
    assert_eq!(parse_moved.moved, 2);
    assert_eq!(ready(&broker, &dlq_name).await, 0);
    assert_eq!(ready(&broker, &Stage::Parse.queue()).await, 2);

    // Redriven again through a worker: the garbage dies again, the other is processed now.
    let (stop, task) = start_consumer(&vhost, Stage::Parse, recorder.clone(), 4);
    eventually(
        Duration::from_secs(20),
        "redriven messages handled",
        || async {
            recorder.count(rejected.report_id) == 2 && ready(&broker, &dlq_name).await == 1
        },
    )
    .await;
    stop_consumer(stop, task).await;
    let letters = dlq::list(&broker, Some(Stage::Parse), 100).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].redriven, 1);
    broker.close().await;
}

/// A handler that panics fails its message, not the worker: the message is retried like a
/// transient failure, with the panic as its last error, and the consumer goes on.
#[tokio::test]
async fn a_panicking_handler_fails_the_message_not_the_worker() {
    let vhost = TestVhost::create("panic").unwrap();
    let broker = Broker::connect(&vhost.url, "panic-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let doomed = message(7);
    let fine = message(8);
    recorder.panic_once.lock().unwrap().push(doomed.report_id);
    let (stop, task) = start_consumer(&vhost, Stage::Archive, recorder.clone(), 2);
    for m in [&doomed, &fine] {
        publisher
            .publish(Stage::Archive, m, FieldTable::default())
            .await
            .unwrap();
    }
    eventually(Duration::from_secs(30), "the retried delivery", || async {
        recorder.count(doomed.report_id) == 2 && recorder.count(fine.report_id) == 1
    })
    .await;
    stop_consumer(stop, task).await;
    let seen = recorder.seen.lock().unwrap().clone();
    let retried = seen
        .iter()
        .find(|i| i.message.report_id == doomed.report_id && i.message.attempt == 1)
        .expect("the retry copy");
    let last_error =
        gongkai_queue::message::header_text(&retried.headers, HEADER_LAST_ERROR).unwrap();
    assert!(
        last_error.contains("the handler failed: scripted panic"),
        "{last_error}"
    );
    for queue in [Stage::Archive.queue(), Stage::Archive.dead_letter_queue()] {
        assert_eq!(ready(&broker, &queue).await, 0, "{queue}");
    }
    broker.close().await;
}

#[tokio::test]
async fn transient_failures_wait_in_the_retry_queue_and_come_back() {
    let vhost = TestVhost::create("retry").unwrap();
    let broker = Broker::connect(&vhost.url, "retry-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let flaky = message(3);
    recorder.script.lock().unwrap().insert(
        flaky.report_id,
        vec![Outcome::Retry("database down".to_owned())],
    );
    let (stop, task) = start_consumer(&vhost, Stage::Validate, recorder.clone(), 2);
    let started = tokio::time::Instant::now();
    publisher
        .publish(Stage::Validate, &flaky, FieldTable::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the retried delivery", || async {
        recorder.count(flaky.report_id) == 2
    })
    .await;
    assert!(started.elapsed() >= gongkai_queue::RETRY_DELAY);
    stop_consumer(stop, task).await;
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen[0].message.attempt, 0);
    assert_eq!(seen[1].message.attempt, 1);
    assert_eq!(
        gongkai_queue::message::header_text(&seen[1].headers, HEADER_LAST_ERROR).as_deref(),
        Some("database down")
    );
    for queue in [
        Stage::Validate.queue(),
        Stage::Validate.retry_queue(),
        Stage::Validate.dead_letter_queue(),
    ] {
        assert_eq!(ready(&broker, &queue).await, 0, "{queue}");
    }
    broker.close().await;
}

#[tokio::test]
async fn a_consumer_recovers_after_the_broker_closed_its_connection() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("gongkai_queue=info")
        .try_init();
    let vhost = TestVhost::create("recover").unwrap();
    let broker = Broker::connect(&vhost.url, "recover-test-publisher")
        .await
        .unwrap();
    let recorder = Arc::new(Recorder {
        delay: Duration::from_millis(50),
        ..Recorder::default()
    });
    let (stop, task) = start_consumer(&vhost, Stage::Archive, recorder.clone(), 4);
    let publisher = broker.publisher().await.unwrap();
    let total = 60;
    let mut ids = Vec::new();
    for n in 0..total {
        let m = message(n);
        ids.push(m.report_id);
        publisher
            .publish(Stage::Archive, &m, FieldTable::default())
            .await
            .unwrap();
        if n == total / 3 || n == 2 * total / 3 {
            let closed = vhost.close_connections().unwrap();
            assert!(closed >= 1, "no connection to close");
        }
    }
    eventually(Duration::from_secs(60), "every message handled", || async {
        recorder.distinct() == total
    })
    .await;
    eventually(Duration::from_secs(30), "the queue drained", || async {
        ready(&broker, &Stage::Archive.queue()).await == 0
    })
    .await;
    // Still consuming after the recoveries, without a restart.
    let late = message(999);
    publisher
        .publish(Stage::Archive, &late, FieldTable::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "a message after recovery",
        || async { recorder.count(late.report_id) >= 1 },
    )
    .await;
    stop_consumer(stop, task).await;
    for id in ids {
        assert!(recorder.count(id) >= 1);
    }
    assert_eq!(ready(&broker, &Stage::Archive.dead_letter_queue()).await, 0);
    broker.close().await;
}

#[tokio::test]
async fn shutdown_finishes_the_messages_in_hand() {
    let vhost = TestVhost::create("shutdown").unwrap();
    let broker = Broker::connect(&vhost.url, "shutdown-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let recorder = Arc::new(Recorder {
        delay: Duration::from_millis(1500),
        ..Recorder::default()
    });
    let (stop, task) = start_consumer(&vhost, Stage::Parse, recorder.clone(), 3);
    for n in 0..5 {
        publisher
            .publish(Stage::Parse, &message(n), FieldTable::default())
            .await
            .unwrap();
    }
    // Let the consumer take the first three (the prefetch), then ask it to stop.
    eventually(Duration::from_secs(10), "three in hand", || async {
        ready(&broker, &Stage::Parse.queue()).await == 2
    })
    .await;
    stop_consumer(stop, task).await;
    // The three in hand were finished; the two not taken are still ready.
    assert_eq!(recorder.distinct(), 3);
    assert_eq!(ready(&broker, &Stage::Parse.queue()).await, 2);
    broker.close().await;
}

#[tokio::test]
async fn publish_never_hangs_while_the_broker_is_away_and_works_again_after() {
    let vhost = TestVhost::create("away").unwrap();
    let broker = Broker::connect(&vhost.url, "away-test").await.unwrap();
    let publisher = broker
        .publisher()
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    publisher
        .publish(Stage::Parse, &message(1), FieldTable::default())
        .await
        .unwrap();

    vhost.limit_connections(Some(0)).unwrap();
    assert!(vhost.close_connections().unwrap() >= 1);
    let started = tokio::time::Instant::now();
    let away = publisher
        .publish(Stage::Parse, &message(2), FieldTable::default())
        .await;
    let waited = started.elapsed();
    assert!(
        matches!(
            away,
            Err(PublishError::Timeout { .. } | PublishError::Broker { .. })
        ),
        "{away:?}"
    );
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");

    // The broker is back: the same publisher (recovered by lapin, or reconnected after lapin
    // gave up) is confirmed again, as a client retrying UNAVAILABLE would see it.
    vhost.limit_connections(None).unwrap();
    let publisher = publisher.with_timeout(Duration::from_secs(5));
    let back = tokio::time::Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match publisher
            .publish(Stage::Parse, &message(3), FieldTable::default())
            .await
        {
            Ok(()) => break,
            Err(error) => assert!(
                back.elapsed() < Duration::from_secs(90),
                "still failing after 90 s ({attempts} attempts): {error}"
            ),
        }
    }
    let checker = Broker::connect(&vhost.url, "away-check").await.unwrap();
    assert!(ready(&checker, &Stage::Parse.queue()).await >= 2);
    checker.close().await;
}

#[tokio::test]
async fn a_message_returned_too_often_is_dead_lettered_by_the_delivery_limit() {
    use gongkai_queue::topology::DELIVERY_LIMIT;
    use lapin::options::{BasicGetOptions, BasicNackOptions};

    let vhost = TestVhost::create("limit").unwrap();
    let broker = Broker::connect(&vhost.url, "limit-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let poison = message(5);
    publisher
        .publish(Stage::Archive, &poison, FieldTable::default())
        .await
        .unwrap();
    // A consumer that gives the message back every time, as a crashing worker would.
    let channel = broker.channel().await.unwrap();
    let queue = Stage::Archive.queue();
    let mut returned = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        match channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .unwrap()
        {
            Some(fetched) => {
                fetched
                    .delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .unwrap();
                returned += 1;
            }
            None if ready(&broker, &Stage::Archive.dead_letter_queue()).await == 1 => break,
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(
        returned,
        DELIVERY_LIMIT + 1,
        "deliveries before dead-lettering"
    );
    let letters = dlq::list(&broker, Some(Stage::Archive), 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].report_id, Some(poison.report_id));
    assert_eq!(letters[0].reason, "delivery_limit");
    broker.close().await;
}

#[tokio::test]
async fn a_consumer_resumes_after_the_broker_refused_it_for_a_while() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("gongkai_queue=info,lapin=warn")
        .try_init();
    let vhost = TestVhost::create("refused").unwrap();
    let recorder = Arc::new(Recorder::default());
    let (stop, task) = start_consumer(&vhost, Stage::Validate, recorder.clone(), 2);
    let first = message(1);
    {
        let broker = Broker::connect(&vhost.url, "refused-before").await.unwrap();
        let publisher = broker.publisher().await.unwrap();
        publisher
            .publish(Stage::Validate, &first, FieldTable::default())
            .await
            .unwrap();
        eventually(Duration::from_secs(20), "the first message", || async {
            recorder.count(first.report_id) == 1
        })
        .await;
        broker.close().await;
    }

    // The broker refuses every connection to the vhost for a few seconds.
    vhost.limit_connections(Some(0)).unwrap();
    assert!(vhost.close_connections().unwrap() >= 1);
    tokio::time::sleep(Duration::from_secs(4)).await;
    vhost.limit_connections(None).unwrap();

    let second = message(2);
    let broker = Broker::connect(&vhost.url, "refused-after").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    publisher
        .publish(Stage::Validate, &second, FieldTable::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "a message after the refusal",
        || async { recorder.count(second.report_id) == 1 },
    )
    .await;
    stop_consumer(stop, task).await;
    broker.close().await;
}
