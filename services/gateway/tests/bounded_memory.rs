//! The gateway's memory under a hostile client, measured on the `gongkai-gateway` process
//! itself (its resident set from `/proc`), against the local RabbitMQ and PostgreSQL:
//!
//! * a SubmitReports stream of 96 MiB, sent as fast as the client can to a gateway that
//!   takes one submission a second from it (SUBMIT_RATE: the stream is paced, so the client is
//!   far ahead and the reports pile up wherever the gateway lets them), is answered item by
//!   item while the gateway's peak memory stays within its in-flight bound (8 MiB here) plus
//!   fixed buffers — far below the 16 items (64 MiB) an unbounded `buffered(16)` would hold,
//!   and a fraction of the stream;
//! * 2,000 concurrent WatchReport calls of one caller are held at the cap (64 here), the rest
//!   refused, with the gateway's memory barely moving.
//!
//! Linux only (it reads `/proc/<pid>/status`).

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use futures::StreamExt;
use gongkai_proto::ReportServiceClient;
use gongkai_proto::v1;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const MIB: u64 = 1024 * 1024;
/// SUBMIT_STREAM_BYTES of the gateway under test.
const IN_FLIGHT_BOUND: u64 = 8 * MIB;
/// The size of each submitted report, and how many the stream carries (96 MiB in all).
const ITEM_BYTES: usize = 4 * 1024 * 1024;
const ITEMS: usize = 24;
const WATCHERS_PER_CALLER: usize = 64;
/// Submissions per second the gateway takes from the test (a burst of twice as many).
const SUBMIT_RATE: u32 = 1;

fn services_available() -> bool {
    let up = std::net::TcpStream::connect("127.0.0.1:5672").is_ok()
        && std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    if up {
        return true;
    }
    assert!(
        std::env::var_os("GONGKAI_SKIP_SERVICE_TESTS").is_some(),
        "RabbitMQ (127.0.0.1:5672) or PostgreSQL (127.0.0.1:5432) is not running: start them \
         (see README.md) or set GONGKAI_SKIP_SERVICE_TESTS=1 to skip the service tests"
    );
    eprintln!("skipping: GONGKAI_SKIP_SERVICE_TESTS is set");
    false
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

struct Gateway {
    child: Child,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}

async fn connect(port: u16) -> ReportServiceClient<Channel> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ReportServiceClient::connect(format!("http://127.0.0.1:{port}")).await {
            Ok(client) => {
                return client
                    .max_decoding_message_size(usize::MAX)
                    .max_encoding_message_size(usize::MAX);
            }
            Err(error) => {
                assert!(Instant::now() < deadline, "gateway not up: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn report(index: usize) -> v1::SubmitReportRequest {
    let mut content = vec![b'x'; ITEM_BYTES];
    let tag = format!("report {index} of a large stream\n");
    content[..tag.len()].copy_from_slice(tag.as_bytes());
    v1::SubmitReportRequest {
        content,
        filename: format!("large-{index}.txt"),
        media_type: None,
        source_system: "memory-test".to_owned(),
        idempotency_key: None,
        batch: None,
        region: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_client_does_not_grow_the_gateways_memory() {
    if !services_available() {
        return;
    }
    let vhost = gongkai_queue::testkit::TestVhost::create("gw-memory").unwrap();
    let db = gongkai_archive::testing::TestDatabase::new("gw_memory");
    let blobs = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_gongkai-gateway"))
        .env("AMQP_URL", &vhost.url)
        .env("DATABASE_URL", db.url())
        .env("SUBMIT_RATE", SUBMIT_RATE.to_string())
        .env("BLOB_STORE", blobs.path())
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", "off")
        .env("SUBMIT_STREAM_BYTES", IN_FLIGHT_BOUND.to_string())
        .env("WATCHERS_PER_CALLER", WATCHERS_PER_CALLER.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let gateway = Gateway { child };
    let mut client = connect(port).await;

    // Warm up: the gateway's pools, buffers and allocator see reports of this size first.
    let warm: Vec<_> = client
        .submit_reports(futures::stream::iter((0..4).map(|i| report(ITEMS + i))))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert!(warm.iter().all(|r| r.as_ref().unwrap().error.is_none()));
    let report_id = warm[0].as_ref().unwrap().report_id.clone();
    let baseline = proc_status_bytes(pid, "VmRSS");

    // The stream carries 96 MiB, generated lazily as the connection takes it.
    let started = Instant::now();
    let answers: Vec<_> = client
        .submit_reports(futures::stream::iter(0..ITEMS).map(report))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(answers.len(), ITEMS);
    for (index, answer) in answers.into_iter().enumerate() {
        let answer = answer.unwrap();
        assert_eq!(answer.index, index as u64);
        assert!(answer.error.is_none(), "{answer:?}");
        assert!(!answer.duplicate);
    }
    let peak = proc_status_bytes(pid, "VmHWM");
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "stream of {} MiB in {:?}: gateway resident {} MiB before, peak {} MiB (+{} MiB)",
        (ITEMS * ITEM_BYTES) as u64 / MIB,
        started.elapsed(),
        baseline / MIB,
        peak / MIB,
        growth / MIB
    );
    // The bound, one item over it, tonic's decode buffer for one message and the HTTP/2
    // windows: a fixed amount, well under the 16 items (64 MiB) that an unbounded
    // `buffered(16)` would hold, and a fraction of the stream.
    assert!(
        growth < IN_FLIGHT_BOUND + 40 * MIB,
        "the gateway grew by {} MiB for a stream bounded at {} MiB in flight",
        growth / MIB,
        IN_FLIGHT_BOUND / MIB
    );

    // 2,000 concurrent watchers of one caller: held at the cap, the rest refused.
    let before_watchers = proc_status_bytes(pid, "VmRSS");
    let calls = (0..2000).map(|_| {
        let mut client = client.clone();
        let request = v1::WatchReportRequest {
            report_id: report_id.clone(),
        };
        async move { client.watch_report(request).await }
    });
    let answers = futures::future::join_all(calls).await;
    let held = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(held, WATCHERS_PER_CALLER);
    assert!(
        answers
            .iter()
            .filter_map(|a| a.as_ref().err())
            .all(|s| s.code() == tonic::Code::ResourceExhausted
                && s.metadata().get("grpc-retry-pushback-ms").is_some())
    );
    let after_watchers = proc_status_bytes(pid, "VmRSS");
    eprintln!(
        "2000 watch calls, {held} held: gateway resident {} MiB before, {} MiB after",
        before_watchers / MIB,
        after_watchers / MIB
    );
    assert!(
        after_watchers.saturating_sub(before_watchers) < 16 * MIB,
        "2,000 watch calls grew the gateway by {} MiB",
        after_watchers.saturating_sub(before_watchers) / MIB
    );
    drop(answers);
    drop(gateway);
}
