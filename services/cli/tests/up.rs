//! `gongkai up` as a child process on a vhost and a database of its own: it says when it is
//! ready, `gongkai submit --wait` prints each report's outcome, `get --json` carries exact
//! decimals, and SIGTERM stops everything cleanly.

mod common;

use common::{free_port, services_available};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn up_serves_submit_wait_and_stops_on_sigterm() {
    if !services_available() {
        return;
    }
    // The project's own damaged sample: every checkout has it.
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let vhost = gongkai_queue::testkit::TestVhost::create("cli-up").unwrap();
    let db = gongkai_archive::testing::TestDatabase::new("cli_up");
    let blobs = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let gongkai = env!("CARGO_BIN_EXE_gongkai");

    let mut up = Command::new(gongkai)
        .arg("up")
        .env("AMQP_URL", &vhost.url)
        .env("DATABASE_URL", db.url())
        .env("BLOB_STORE", blobs.path())
        .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(up.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("gongkai up: ready"), "{ready:?}");
    assert!(ready.contains(&server), "{ready:?}");

    let sample = samples.join("qingxi-2020-damaged.md");
    let submit = Command::new(gongkai)
        .args(["submit", "--wait", "--server", &server])
        .arg(&sample)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&submit.stdout);
    assert!(
        submit.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&submit.stderr)
    );
    assert!(printed.contains("ARCHIVED"), "{printed}");
    assert!(printed.contains("青溪镇人民政府 2020 F2019"), "{printed}");
    assert!(printed.contains("errors "), "{printed}");
    let report_id = printed
        .split_whitespace()
        .find(|w| uuid::Uuid::parse_str(w).is_ok())
        .unwrap()
        .to_owned();

    let get = Command::new(gongkai)
        .args(["get", &report_id, "--json", "--server", &server])
        .output()
        .unwrap();
    assert!(get.status.success());
    let json = String::from_utf8_lossy(&get.stdout);
    assert!(json.contains("\"value\": 1236.480"), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["status"], "ARCHIVED");
    assert_eq!(parsed["report"]["agency"], "青溪镇人民政府");
    assert_eq!(parsed["events"].as_array().unwrap().len(), 4);

    let missing = Command::new(gongkai)
        .args([
            "get",
            &uuid::Uuid::now_v7().to_string(),
            "--server",
            &server,
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let complaint = String::from_utf8_lossy(&missing.stderr);
    assert!(complaint.contains("no report"), "{complaint}");

    let killed = Command::new("kill")
        .args(["-TERM", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = up.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "gongkai up did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "gongkai up exited with {status}");
}

#[test]
fn up_without_a_broker_names_the_cause_once() {
    if !services_available() {
        return;
    }
    // The database is there; the broker's port has nothing listening.
    let db = gongkai_archive::testing::TestDatabase::new("cli_up_nobroker");
    let blobs = tempfile::tempdir().unwrap();
    let closed = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .arg("up")
        .env(
            "AMQP_URL",
            format!("amqp://guest:guest@127.0.0.1:{closed}/%2f"),
        )
        .env("DATABASE_URL", db.url())
        .env("BLOB_STORE", blobs.path())
        .env("GRPC_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("METRICS_ADDR", "off")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Every step of the chain, each cause once: the context, the gateway's step, the queue's
    // step with the broker's address, and the refusal itself.
    assert!(err.contains("cannot start"), "{err}");
    assert!(err.contains("cannot connect to the broker"), "{err}");
    assert!(
        err.contains("cannot connect to the AMQP broker at"),
        "{err}"
    );
    assert_eq!(
        err.to_lowercase().matches("connection refused").count(),
        1,
        "{err}"
    );
}
