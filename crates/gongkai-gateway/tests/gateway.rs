//! The gateway against the local RabbitMQ and PostgreSQL, without workers: validation and
//! status codes, duplicates, the original bytes, a broker that drops its connections, health
//! and reflection.

mod common;

use common::{request, services_available, start};
use futures::StreamExt;
use gongkai_proto::v1;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_mistakes_get_precise_codes() {
    if !services_available() {
        return;
    }
    let gw = start("codes", |c| c.max_report_bytes = 1000).await;
    let mut client = gw.client().await;

    let empty = client
        .submit_report(request(b"", "empty.html"))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    assert!(empty.message().contains("empty"), "{}", empty.message());

    // 1001 reaches our own check; 2 MiB is over tonic's decoding limit (limit + 1 MiB), which
    // tonic refuses before our code runs: the same code and message either way.
    for size in [1001, 500_000, 2 * 1024 * 1024] {
        let big = client
            .submit_report(request(&vec![b'x'; size], "big.txt"))
            .await
            .unwrap_err();
        assert_eq!(big.code(), Code::ResourceExhausted, "{size}: {big:?}");
        assert!(big.message().contains("1000"), "{}", big.message());
    }
    let at_limit = client
        .submit_report(request(&vec![b'y'; 1000], "limit.txt"))
        .await
        .unwrap()
        .into_inner();
    assert!(!at_limit.duplicate);

    let mut key = request(b"x", "k.txt");
    key.idempotency_key = Some("   ".to_owned());
    assert_eq!(
        client.submit_report(key).await.unwrap_err().code(),
        Code::InvalidArgument
    );

    let unknown = uuid::Uuid::now_v7().to_string();
    let get = client
        .get_report(v1::GetReportRequest {
            report_id: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(get.code(), Code::NotFound, "{get:?}");
    let watch = client
        .watch_report(v1::WatchReportRequest {
            report_id: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(watch.code(), Code::NotFound, "{watch:?}");
    let document = client
        .get_document(v1::GetDocumentRequest { report_id: unknown })
        .await
        .unwrap_err();
    assert_eq!(document.code(), Code::NotFound, "{document:?}");
    let malformed = client
        .get_report(v1::GetReportRequest {
            report_id: "not-a-uuid".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let bad_filter = client
        .list_reports(v1::ListReportsRequest {
            template: Some("F1999".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_filter.code(), Code::InvalidArgument);
    let bad_token = client
        .list_reports(v1::ListReportsRequest {
            page_token: "garbage".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument, "{bad_token:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_return_the_first_report_and_queue_nothing() {
    if !services_available() {
        return;
    }
    let gw = start("dups", |_| {}).await;
    let mut client = gw.client().await;
    let content = "平潭综合实验区2021年政府信息公开工作年度报告 duplicate test".as_bytes();

    let first = client
        .submit_report(request(content, "a.txt"))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.duplicate);
    assert_eq!(first.status, v1::ReportStatus::Received as i32);
    assert_eq!(first.sha256, gongkai_blob::sha256_hex(content));
    let again = client
        .submit_report(request(content, "a-copy.txt"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(again.report_id, first.report_id);

    let mut keyed = request(b"first bytes under a key", "k1.txt");
    keyed.idempotency_key = Some("batch-7/item-1".to_owned());
    let k1 = client.submit_report(keyed).await.unwrap().into_inner();
    let mut keyed_again = request(b"other bytes, same key", "k2.txt");
    keyed_again.idempotency_key = Some("batch-7/item-1".to_owned());
    let k2 = client
        .submit_report(keyed_again)
        .await
        .unwrap()
        .into_inner();
    assert!(!k1.duplicate);
    assert!(k2.duplicate);
    assert_eq!(k2.report_id, k1.report_id);

    // Concurrent submissions of one new document: exactly one is new.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .submit_report(request(b"raced document", "race.txt"))
                    .await
                    .unwrap()
                    .into_inner()
            })
        })
        .collect();
    let mut raced = Vec::new();
    for racer in racers {
        raced.push(racer.await.unwrap());
    }
    assert_eq!(raced.iter().filter(|r| !r.duplicate).count(), 1);
    assert_eq!(
        raced
            .iter()
            .map(|r| &r.report_id)
            .collect::<HashSet<_>>()
            .len(),
        1
    );

    let listed = client
        .list_reports(v1::ListReportsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.reports.len(), 3, "{:?}", listed.reports);

    let queued = gw.drain("gongkai.parse").await;
    let mut ids: Vec<String> = queued.iter().map(|m| m.report_id.to_string()).collect();
    ids.sort();
    let mut expected = vec![
        first.report_id.clone(),
        k1.report_id.clone(),
        raced[0].report_id.clone(),
    ];
    expected.sort();
    assert_eq!(ids, expected, "one message per report, none for duplicates");
    let message = queued
        .iter()
        .find(|m| m.report_id.to_string() == first.report_id)
        .unwrap();
    assert_eq!(message.sha256, first.sha256);
    assert_eq!(message.blob_key, format!("sha256/{}", first.sha256));
    assert_eq!(message.filename, "a.txt");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_document_returns_the_exact_bytes() {
    if !services_available() {
        return;
    }
    let gw = start("doc", |_| {}).await;
    let mut client = gw.client().await;
    // Not valid UTF-8, over one chunk, with every byte value.
    let content: Vec<u8> = (0..1_700_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let submitted = client
        .submit_report(request(&content, "binary.pdf"))
        .await
        .unwrap()
        .into_inner();
    let mut chunks = client
        .get_document(v1::GetDocumentRequest {
            report_id: submitted.report_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut back = Vec::new();
    let mut count = 0;
    while let Some(chunk) = chunks.next().await {
        back.extend_from_slice(&chunk.unwrap().data);
        count += 1;
    }
    assert!(count > 1, "streamed in more than one chunk");
    assert_eq!(back.len(), content.len());
    assert!(
        back == content,
        "GetDocument must return the submitted bytes"
    );

    let report = client
        .get_report(v1::GetReportRequest {
            report_id: submitted.report_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.status, v1::ReportStatus::Received as i32);
    let source = report.source.unwrap();
    assert_eq!(source.filename, "binary.pdf");
    assert_eq!(source.bytes, content.len() as u64);
    assert_eq!(source.source_system, "gateway-test");
    assert_eq!(report.events.len(), 1);
    assert_eq!(report.events[0].stage, "receive");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_submissions_answer_each_item_in_order() {
    if !services_available() {
        return;
    }
    let gw = start("bulk", |c| c.max_report_bytes = 10_000).await;
    let mut client = gw.client().await;
    let mut requests = Vec::new();
    for i in 0..20 {
        requests.push(request(
            format!("bulk report {i}").as_bytes(),
            &format!("{i}.txt"),
        ));
    }
    requests.push(request(b"", "empty.txt"));
    requests.push(request(b"bulk report 3", "dup.txt"));
    requests.push(request(&vec![b'z'; 10_001], "big.txt"));
    let responses: Vec<v1::SubmitReportResponse> = client
        .submit_reports(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(responses.len(), 23);
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.index, i as u64);
    }
    assert!(
        responses[..20]
            .iter()
            .all(|r| r.error.is_none() && !r.duplicate)
    );
    assert_eq!(
        responses[20].error.as_ref().unwrap().code,
        Code::InvalidArgument as i32
    );
    assert!(responses[21].duplicate);
    assert_eq!(responses[21].report_id, responses[3].report_id);
    assert_eq!(
        responses[22].error.as_ref().unwrap().code,
        Code::ResourceExhausted as i32
    );
    assert_eq!(gw.drain("gongkai.parse").await.len(), 20);

    // An item over tonic's own decoding limit breaks the stream (tonic cannot skip it): the
    // items before it are answered, then the call ends with RESOURCE_EXHAUSTED, not
    // OUT_OF_RANGE.
    let huge = gw.config.max_report_bytes + 2 * 1024 * 1024;
    let mut stream = client
        .submit_reports(futures::stream::iter(vec![
            request(b"before the huge one", "before.txt"),
            request(&vec![b'h'; huge], "huge.txt"),
        ]))
        .await
        .unwrap()
        .into_inner();
    let mut answered = Vec::new();
    let ended = loop {
        match stream.next().await {
            Some(Ok(response)) => answered.push(response),
            Some(Err(status)) => break status,
            None => panic!("the stream ended without an error: {answered:?}"),
        }
    };
    assert_eq!(ended.code(), Code::ResourceExhausted, "{ended:?}");
    assert!(answered.iter().all(|r| r.error.is_none()), "{answered:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_broker_connections_cost_a_delay_or_unavailable_never_a_hang() {
    if !services_available() {
        return;
    }
    let gw = start("broker", |c| c.confirm_timeout_ms = 3000).await;
    let mut client = gw.client().await;
    client
        .submit_report(request(b"before the cut", "before.txt"))
        .await
        .unwrap();

    let mut accepted = HashSet::new();
    let mut refused = Vec::new();
    for round in 0..3 {
        let closed = gw.vhost.close_connections().unwrap();
        assert!(closed >= 1, "the gateway's connection is on the test vhost");
        let content = format!("during the cut, round {round}");
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            client.submit_report(request(content.as_bytes(), "during.txt")),
        )
        .await
        .expect("SubmitReport must answer within seconds while the broker is away");
        let elapsed = started.elapsed();
        match answer {
            Ok(response) => {
                accepted.insert(response.into_inner().report_id);
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
                refused.push(content);
            }
        }
    }

    // The same gateway recovers: within seconds, new submissions succeed again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        match client
            .submit_report(request(b"after the cut", "after.txt"))
            .await
        {
            Ok(response) => break response.into_inner(),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(Instant::now() < deadline, "no recovery within 30 s");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    accepted.insert(after.report_id.clone());

    // A report refused with UNAVAILABLE is queued when the caller submits it again.
    for content in &refused {
        let retry = client
            .submit_report(request(content.as_bytes(), "during.txt"))
            .await
            .unwrap()
            .into_inner();
        assert!(retry.duplicate);
        accepted.insert(retry.report_id);
    }
    let queued: HashSet<String> = gw
        .drain("gongkai.parse")
        .await
        .iter()
        .map(|m| m.report_id.to_string())
        .collect();
    for id in &accepted {
        assert!(queued.contains(id), "accepted report {id} is not queued");
    }
    eprintln!(
        "broker cut: {} accepted during/after, {} refused with UNAVAILABLE then queued on resubmission",
        accepted.len(),
        refused.len()
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer() {
    if !services_available() {
        return;
    }
    let gw = start("meta", |_| {}).await;
    let channel = gw.channel().await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "gongkai.v1.ReportService"] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    {
        use tonic_reflection::pb::v1::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(channel.clone());
        let requests = vec![
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            },
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::FileContainingSymbol(
                    "gongkai.v1.ReportService".to_owned(),
                )),
            },
        ];
        let mut answers = client
            .server_reflection_info(futures::stream::iter(requests))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"gongkai.v1.ReportService"), "{names:?}");
        assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
        let Some(MessageResponse::FileDescriptorResponse(files)) =
            answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected file descriptors");
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }
    {
        use tonic_reflection::pb::v1alpha::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(channel);
        let mut answers = client
            .server_reflection_info(futures::stream::iter(vec![ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            }]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        assert!(
            list.service
                .iter()
                .any(|s| s.name == "gongkai.v1.ReportService")
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_is_unavailable_then_recovers() {
    if !services_available() {
        return;
    }
    let proxy = common::DbProxy::start().await;
    let gw = start("dbdown", |c| {
        c.archive_timeout_ms = 3000;
        c.database_url = proxy.url(c.database_url.rsplit('/').next().expect("a database name"));
    })
    .await;
    let mut client = gw.client().await;
    let first = client
        .submit_report(request(b"while the database is up", "up.txt"))
        .await
        .unwrap()
        .into_inner();

    proxy.cut();
    let started = Instant::now();
    let submit = tokio::time::timeout(
        Duration::from_secs(10),
        client.submit_report(request(b"while the database is down", "down.txt")),
    )
    .await
    .expect("SubmitReport answers while the database is down")
    .unwrap_err();
    assert_eq!(submit.code(), Code::Unavailable, "{submit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let get = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_report(v1::GetReportRequest {
            report_id: first.report_id.clone(),
        }),
    )
    .await
    .expect("GetReport answers while the database is down")
    .unwrap_err();
    assert_eq!(get.code(), Code::Unavailable, "{get:?}");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    let retried = loop {
        match client
            .submit_report(request(b"while the database is down", "down.txt"))
            .await
        {
            Ok(response) => break response.into_inner(),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(Instant::now() < deadline, "no recovery within 30 s");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    assert!(
        !retried.duplicate,
        "the refused submission was not recorded"
    );
    let report = client
        .get_report(v1::GetReportRequest {
            report_id: first.report_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.status, v1::ReportStatus::Received as i32);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_the_broker_refused_is_queued_when_submitted_again() {
    if !services_available() {
        return;
    }
    let gw = start("refused", |_| {}).await;
    let mut client = gw.client().await;
    // Without its queue the broker returns the mandatory message as unroutable.
    let connection =
        lapin::Connection::connect(&gw.vhost.url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_delete(
            "gongkai.parse".into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    let content = b"refused by the broker at first";
    let refused = client
        .submit_report(request(content, "refused.txt"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    // The queue is back (any service declares the topology when it connects).
    let broker = gongkai_queue::Broker::connect(&gw.vhost.url, "test")
        .await
        .unwrap();
    let retried = client
        .submit_report(request(content, "refused.txt"))
        .await
        .unwrap()
        .into_inner();
    assert!(retried.duplicate, "the first attempt was recorded");
    assert_eq!(retried.status, v1::ReportStatus::Received as i32);
    let queued = gw.drain("gongkai.parse").await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].report_id.to_string(), retried.report_id);

    // Once queued, a further resubmission is an ordinary duplicate: nothing more is queued.
    let again = client
        .submit_report(request(content, "refused.txt"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    assert!(gw.drain("gongkai.parse").await.is_empty());
    let report = client
        .get_report(v1::GetReportRequest {
            report_id: retried.report_id,
        })
        .await
        .unwrap()
        .into_inner();
    let receive: Vec<&str> = report
        .events
        .iter()
        .filter(|e| e.stage == "receive")
        .map(|e| e.outcome.as_str())
        .collect();
    assert_eq!(
        receive,
        ["succeeded", "retrying", "succeeded"],
        "{:?}",
        report.events
    );
    broker.close().await;
    let _ = connection.close(200, "done".into()).await;
    gw.stop().await;
}
