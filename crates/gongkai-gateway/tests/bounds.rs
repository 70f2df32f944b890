//! The bounds that keep one client from exhausting the gateway, against the local RabbitMQ and
//! PostgreSQL: small requests for every method but the submissions, page tokens cut short in
//! errors, watchers capped per caller and in total, SubmitReports streams capped per caller,
//! and a per-caller submission rate. (The gateway's memory under 2,000 watchers and under a
//! stream larger than its in-flight bound is measured on the gateway process itself, in
//! `services/gateway/tests/bounded_memory.rs`.)

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{authorized, issue_token, request, services_available, start};
use futures::StreamExt;
use gongkai_gateway::{AuthMode, SubmitRate};
use gongkai_proto::v1;
use std::time::{Duration, Instant};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_submissions_carry_large_requests_and_echoes_are_cut_short() {
    if !services_available() {
        return;
    }
    let gw = start("bounds_size", |_| {}).await;
    let mut client = gw.client().await;
    let limit = gongkai_gateway::DEFAULT_MAX_REQUEST_BYTES;

    let big_read = client
        .get_report(v1::GetReportRequest {
            report_id: "x".repeat(limit + 1),
        })
        .await
        .unwrap_err();
    assert_eq!(big_read.code(), Code::ResourceExhausted, "{big_read:?}");
    assert!(
        big_read.message().contains("MAX_REQUEST_BYTES"),
        "{big_read:?}"
    );
    let big_list = client
        .list_reports(v1::ListReportsRequest {
            agency: Some("机".repeat(limit)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(big_list.code(), Code::ResourceExhausted, "{big_list:?}");

    // A document of the same size is what submissions are for.
    client
        .submit_report(request(&vec![b'a'; limit * 4], "large.txt"))
        .await
        .unwrap();

    // What the caller sent comes back cut short.
    let echoed = client
        .list_reports(v1::ListReportsRequest {
            page_token: "z".repeat(limit / 2),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(echoed.code(), Code::InvalidArgument, "{echoed:?}");
    assert!(echoed.message().len() < 200, "{}", echoed.message());
    let bad_id = client
        .get_report(v1::GetReportRequest {
            report_id: "y".repeat(limit / 2),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Code::InvalidArgument, "{bad_id:?}");
    assert!(bad_id.message().len() < 200, "{}", bad_id.message());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_watchers_of_one_caller_are_held_at_the_cap() {
    if !services_available() {
        return;
    }
    let gw = start("bounds_watch", |c| {
        c.auth = Some(AuthMode::Required);
        c.watchers_per_caller = 50;
        c.watchers_total = 80;
    })
    .await;
    let greedy = issue_token(&gw, "greedy", &["submit", "read"]).await;
    let other = issue_token(&gw, "other", &["read"]).await;
    let client = gw.client().await;
    // A report that stays RECEIVED (no workers run here), so that its watchers stay open.
    let report_id = client
        .clone()
        .submit_report(authorized(request(b"watched", "w.txt"), &greedy))
        .await
        .unwrap()
        .into_inner()
        .report_id;

    let watch = |token: String, count: usize| {
        let client = client.clone();
        let report_id = report_id.clone();
        async move {
            let calls = (0..count).map(|_| {
                let mut client = client.clone();
                let request = authorized(
                    v1::WatchReportRequest {
                        report_id: report_id.clone(),
                    },
                    &token,
                );
                async move { client.watch_report(request).await }
            });
            futures::future::join_all(calls).await
        }
    };
    let answers = watch(greedy.clone(), 2000).await;
    let (held, refused): (Vec<_>, Vec<_>) = answers.into_iter().partition(Result::is_ok);
    assert_eq!(held.len(), 50, "one caller is held at its cap");
    assert_eq!(refused.len(), 1950);
    for status in refused.iter().map(|r| r.as_ref().unwrap_err()) {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("retry in"), "{status:?}");
        assert!(
            status.metadata().get("grpc-retry-pushback-ms").is_some(),
            "{status:?}"
        );
    }
    // Another caller gets what is left of the gateway's total.
    let others = watch(other.clone(), 40).await;
    assert_eq!(others.iter().filter(|r| r.is_ok()).count(), 30);
    let total = others.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(total.message().contains("the gateway has 80"), "{total:?}");

    // The held streams are live: each has the report's first event.
    let mut held: Vec<_> = held.into_iter().map(|r| r.unwrap().into_inner()).collect();
    let first = held[0].next().await.unwrap().unwrap();
    assert_eq!(first.report_id, report_id);

    // Closing streams gives their places back.
    held.truncate(40);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = watch(greedy.clone(), 5).await;
        if again.iter().all(|r| r.is_ok()) {
            break;
        }
        assert!(Instant::now() < deadline, "closed watchers were not freed");
        drop(again);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    drop(others);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_streams_are_capped_per_caller_and_submissions_rate_limited() {
    if !services_available() {
        return;
    }
    let gw = start("bounds_streams", |c| {
        c.submit_streams_per_caller = 2;
        c.submit_rate = Some(SubmitRate(Some(2.0)));
    })
    .await;
    let client = gw.client().await;

    // Two open streams (their senders kept), the third refused.
    let mut senders = Vec::new();
    let mut open = Vec::new();
    for _ in 0..2 {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<v1::SubmitReportRequest>();
        senders.push(sender);
        open.push(client.clone().submit_reports(receiver).await.unwrap());
    }
    let (_sender, receiver) = futures::channel::mpsc::unbounded::<v1::SubmitReportRequest>();
    let third = client.clone().submit_reports(receiver).await.unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted, "{third:?}");
    assert!(third.message().contains("SubmitReports"), "{third:?}");

    // 2 a second with a burst of 4: the fifth quick submission is refused, with a hint.
    let mut unary = client.clone();
    for i in 0..4 {
        unary
            .submit_report(request(format!("rate {i}").as_bytes(), "r.txt"))
            .await
            .unwrap();
    }
    let refused = unary
        .submit_report(request(b"rate 4", "r.txt"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("SUBMIT_RATE"), "{refused:?}");
    assert!(
        refused.metadata().get("grpc-retry-pushback-ms").is_some(),
        "{refused:?}"
    );

    // A stream over the rate is paced, not refused: every item is answered.
    let sender = senders.pop().unwrap();
    let responses = open.pop().unwrap().into_inner();
    for i in 0..3 {
        sender
            .unbounded_send(request(format!("paced {i}").as_bytes(), "p.txt"))
            .unwrap();
    }
    drop(sender);
    let answered: Vec<_> = responses.collect().await;
    assert_eq!(answered.len(), 3);
    for answer in answered {
        let answer = answer.unwrap();
        assert!(answer.error.is_none(), "{answer:?}");
    }
    drop(senders);
    drop(open);
    gw.stop().await;
}
