//! `gongkai dlq list` and `gongkai dlq redrive` as a person runs them, on a vhost of their own:
//! a dead letter is listed with its reason, then moved back to its stage queue.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use gongkai_archive::testing::TestDatabase;
use gongkai_queue::message::{HEADER_ERROR, set_header_text};
use gongkai_queue::testkit::TestVhost;
use gongkai_queue::topology::{DEAD_LETTER_EXCHANGE, ready_count};
use gongkai_queue::{Broker, FieldTable, Stage, StageMessage};
use std::process::Command;

fn gongkai(vhost: &TestVhost, db: &TestDatabase, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .env("AMQP_URL", &vhost.url)
        .env("DATABASE_URL", db.url())
        .env("USER", "operator-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gongkai {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn ready(broker: &Broker, queue: &str) -> u32 {
    let channel = broker.channel().await.unwrap();
    ready_count(&channel, queue).await.unwrap()
}

#[tokio::test]
async fn dlq_list_shows_the_reason_and_redrive_moves_the_message_back() {
    let vhost = TestVhost::create("cli-dlq").unwrap();
    let db = TestDatabase::new("cli_dlq");
    let broker = Broker::connect(&vhost.url, "cli-dlq-test").await.unwrap();
    let publisher = broker.publisher().await.unwrap();
    let message = StageMessage {
        report_id: uuid::Uuid::now_v7(),
        sha256: "0".repeat(64),
        blob_key: format!("sha256/{}", "0".repeat(64)),
        filename: "报告.pdf".to_owned(),
        source_system: None,
        attempt: 3,
        kind: gongkai_queue::MessageKind::Submission,
        batch: None,
    };
    let mut headers = FieldTable::default();
    set_header_text(
        &mut headers,
        HEADER_ERROR,
        "blob store down (after 8 attempts)",
    );
    let properties = publisher.properties(headers);
    publisher
        .publish_raw(
            DEAD_LETTER_EXCHANGE,
            "validate",
            &message.to_json().unwrap(),
            properties,
        )
        .await
        .unwrap();
    let properties = publisher.properties(FieldTable::default());
    publisher
        .publish_raw(DEAD_LETTER_EXCHANGE, "parse", b"garbage", properties)
        .await
        .unwrap();

    let listing = gongkai(&vhost, &db, &["dlq", "list", "--stage", "validate"]);
    assert!(
        listing.contains(&message.report_id.to_string()),
        "{listing}"
    );
    assert!(listing.contains("blob store down"), "{listing}");
    assert!(!listing.contains("(undecodable)"), "{listing}");
    let all = gongkai(&vhost, &db, &["dlq", "list", "--json"]);
    assert_eq!(all.lines().count(), 2, "{all}");

    let redriven = gongkai(&vhost, &db, &["dlq", "redrive", "--stage", "validate"]);
    assert!(redriven.contains("1 message(s)"), "{redriven}");
    assert_eq!(
        ready(&broker, &Stage::Validate.dead_letter_queue()).await,
        0
    );
    assert_eq!(ready(&broker, &Stage::Validate.queue()).await, 1);
    // The other stage was left alone.
    assert_eq!(ready(&broker, &Stage::Parse.dead_letter_queue()).await, 1);
    broker.close().await;

    // The redrive is in the audit log: who, when, what.
    let audit = gongkai(&vhost, &db, &["audit", "--action", "dlq.redrive", "--json"]);
    let entries: Vec<serde_json::Value> = audit
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "cli:operator-1");
    assert_eq!(entries[0]["subject"], "validate");
    assert_eq!(entries[0]["detail"]["moved"][0]["messages"], 1);
}
